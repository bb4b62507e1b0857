"""Classification metrics: accuracy, per-class precision and recall, the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_summary(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix, as plain values."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "n": int(len(y_true)),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(class_names, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def format_summary(summary: dict[str, Any]) -> list[str]:
    """The summary as aligned text lines for the terminal."""
    width = max(len(name) for name in summary["per_class"])
    lines = [f"accuracy {summary['accuracy']:.4f} on {summary['n']} test samples",
             f"{'class':<{width}}  precision  recall  support"]
    lines += [f"{name:<{width}}  {m['precision']:9.3f}  {m['recall']:6.3f}  {m['support']:7d}"
              for name, m in summary["per_class"].items()]
    return lines
