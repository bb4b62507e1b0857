"""Classification metrics: accuracy, per-class precision and recall, the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_summary(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix, as plain values.

    In NumPy rather than scikit-learn, whose import alone costs about a second; a class never predicted
    (or never present) gets precision (or recall) 0, as scikit-learn's zero_division=0.
    """
    k = len(class_names)
    confusion = np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)
    hits, support, predicted = np.diag(confusion), confusion.sum(axis=1), confusion.sum(axis=0)
    precision, recall, f1 = (np.divide(top, bottom, out=np.zeros(k), where=bottom > 0)
                             for top, bottom in ((hits, predicted), (hits, support), (2 * hits, support + predicted)))
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "n": int(len(y_true)),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(class_names, precision, recall, f1, support)},
        "confusion_matrix": confusion.tolist(),
    }


def format_summary(summary: dict[str, Any]) -> list[str]:
    """The summary as aligned text lines for the terminal."""
    width = max(len(name) for name in summary["per_class"])
    lines = [f"accuracy {summary['accuracy']:.4f} on {summary['n']} test samples",
             f"{'class':<{width}}  precision  recall  support"]
    lines += [f"{name:<{width}}  {m['precision']:9.3f}  {m['recall']:6.3f}  {m['support']:7d}"
              for name, m in summary["per_class"].items()]
    return lines
