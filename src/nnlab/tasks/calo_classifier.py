"""Photon or hadron? A network that reads the three calorimeter layers (the lecture's motivating question).

Showers come from CaloGAN HDF5 files or, by default, from nnlab's simulator (seeded, so
`evaluate` rebuilds the same test split). The report sets the network against a classic
two-variable shower-shape cut, overall and in bins of incident energy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nnlab.config import TrainConfig, in_range
from nnlab.data.showers import load_showers, merge_showers, shower_tensors, split_showers
from nnlab.evaluation.calo_observables import shower_observables
from nnlab.evaluation.classification import classification_summary, format_summary
from nnlab.models.shower_classifier import CaloClassifier
from nnlab.plots.training import plot_confusion, plot_history
from nnlab.tasks.base import Option, Report, reject_options
from nnlab.tasks.classification import ClassifierTask
from nnlab.training.rundir import RunDir
from nnlab.training.schedules import make_optimizer

CUT_VARIABLES = ("s_d", "lateral_width_1")  # shower depth and layer-1 width: pions are deeper and wider


@dataclasses.dataclass(frozen=True)
class CaloDataConfig:
    particles: tuple[str, ...] = ("gamma", "piplus")  # the first is the "signal" of ROC curves
    files: tuple[str, ...] = ()  # one CaloGAN HDF5 file per particle; empty: simulate the showers
    # showers per particle (read from each file, or simulated)
    n_per_particle: int = in_range("[1, inf)", default=20_000)
    energy_gev: tuple[float, ...] = in_range("(0, inf)", default=(1.0, 100.0))  # simulated incident energies, uniform
    sim_seed: int = in_range("[0, inf)", default=0)
    test_fraction: float = in_range("(0, 1)", default=0.2)
    val_fraction: float = in_range("[0, 1)", default=0.1)
    split_seed: int = in_range("[0, inf)", default=0)


@dataclasses.dataclass(frozen=True)
class CaloModelConfig:
    width: int = in_range("[1, inf)", default=16)  # channels of each layer's CNN stream
    hidden_dims: tuple[int, ...] = in_range("[1, inf)", default=(64,))


@dataclasses.dataclass(frozen=True)
class CaloClassifierConfig:
    data: CaloDataConfig = dataclasses.field(default_factory=CaloDataConfig)
    model: CaloModelConfig = dataclasses.field(default_factory=CaloModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(
        epochs=8, batch_size=256, lr=2e-3, optimizer="adamw", scheduler="cosine", weight_decay=1e-4))


class CaloClassifierTask(ClassifierTask):
    """gamma vs pi+ (or any set of particles) from the three layers of the CaloGAN calorimeter."""

    name = "calo-classifier"
    config_class = CaloClassifierConfig
    options = (Option("--particles", "data.particles", "comma-separated, e.g. gamma,piplus or eplus,gamma,piplus"),
               Option("--data", "data.files", "CaloGAN HDF5 files, one per particle, comma-separated"))

    def build(self, *, training: bool) -> None:
        cfg = self.config
        showers, self.source = load_showers(cfg.data)
        self.class_names = tuple(cfg.data.particles)
        labels, merged = merge_showers(showers)
        parts = split_showers(labels, test=cfg.data.test_fraction, val=cfg.data.val_fraction, seed=cfg.data.split_seed)
        tensors = (*shower_tensors(merged), torch.from_numpy(labels.astype(np.int64)))
        self.train_data, self.test_data = _take(tensors, parts["train"]), _take(tensors, parts["test"])
        self.val_data = _take(tensors, parts["val"]) if len(parts["val"]) else None
        self.observables = {name: {k: v[parts[name]] for k, v in shower_observables(merged).items()}
                            for name in ("train", "test")}
        self.test_energy_gev = merged["energy"][parts["test"], 0]
        model = CaloClassifier(n_classes=len(self.class_names), width=cfg.model.width,
                               hidden_dims=cfg.model.hidden_dims)
        with torch.no_grad():
            self.logits(model, tuple(t[:2] for t in self.train_data[:-1]))  # materialise lazy layers
        self.models = {"model": model.to(self.device)}
        if training:
            self.optimizers = {"model": make_optimizer(model.parameters(), cfg.train)}

    def logits(self, model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return model(inputs[:-1], inputs[-1])

    def evaluate(self, run: RunDir, **unsupported: Any) -> Report:
        """Accuracy, confusion matrix, ROC and AUC for every pair, rejection at 90% efficiency, energy bins."""
        from nnlab.evaluation.calo_classification import pairwise_roc, cut_baseline, energy_binned

        reject_options(unsupported, self.name)
        *inputs, y = self.test_data
        probs, y = self.probabilities(tuple(inputs)), y.numpy()
        summary = classification_summary(y, probs.argmax(1), self.class_names)
        pairs = pairwise_roc(probs, y, self.class_names)
        baseline = cut_baseline(self.observables, self.train_data[-1].numpy(), y, variables=CUT_VARIABLES)
        bins = energy_binned(probs, y, self.test_energy_gev, edges_gev=np.linspace(0, 100, 6))
        files = [plot_confusion(summary["confusion_matrix"], self.class_names, run.plots_dir / "confusion_matrix.png"),
                 _plot_rocs(pairs, baseline, run.plots_dir / "roc.png")]
        history = run.read_metrics()
        if history:
            files.append(plot_history(history, run.plots_dir / "history.png", run=run.path.name))
        values = {"test": summary, "pairs": pairs, "cut_baseline": baseline, "energy_bins": bins, "data": self.source}
        report = Report(values, format_summary(summary) + _format_pairs(pairs, baseline, bins), files)
        report.save(run)
        return report


def _take(tensors: tuple[torch.Tensor, ...], index: np.ndarray) -> tuple[torch.Tensor, ...]:
    index = torch.from_numpy(index)
    return tuple(t[index] for t in tensors)


def _format_pairs(pairs: list[dict], baseline: dict, bins: list[dict]) -> list[str]:
    lines = ["pair (signal vs background)      AUC     bkg eff @90% sig   rejection"]
    lines += [f"{p['signal']:>8} vs {p['background']:<8}           {p['auc']:.4f}  "
              f"{p['background_efficiency_at_90']:12.4f}"
              f"   {_rejection_text(p['rejection_at_90'], p['n_background']):>9}" for p in pairs]
    lines.append(f"cut baseline ({' < '.join(baseline['variables'])} cuts): "
                 f"signal eff {baseline['signal_efficiency']:.3f}, "
                 f"bkg eff {baseline['background_efficiency']:.4f}, rejection {baseline['rejection']:.1f}")
    lines += [f"E {b['low_gev']:.0f}-{b['high_gev']:.0f} GeV: n {b['n']}, accuracy {b['accuracy']:.4f}"
              + (f", AUC {b['auc']:.4f}" if b.get("auc") is not None else "") for b in bins]
    return lines


def _rejection_text(rejection: float, n_background: int) -> str:
    """The rejection, or "> N" when none of the N background showers passes (only a bound is known)."""
    return f"> {n_background}" if rejection == float("inf") else f"{rejection:.1f}"


def _plot_rocs(pairs: list[dict], baseline: dict, path: Path) -> Path:
    from nnlab.plots.figures import new_figure, save_figure

    fig, ax = new_figure(size=(5.5, 4.5))
    for pair in pairs:
        ax.plot(pair["tpr"], pair["fpr"], label=f"{pair['signal']} vs {pair['background']} (AUC {pair['auc']:.3f})")
    ax.plot([baseline["signal_efficiency"]], [max(baseline["background_efficiency"], 1e-5)], "k*", markersize=10,
            label="two shower-shape cuts")
    ax.set(xlabel="signal efficiency", ylabel="background efficiency", yscale="log", ylim=(1e-5, 1.05),
           title="ROC on the test showers")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
