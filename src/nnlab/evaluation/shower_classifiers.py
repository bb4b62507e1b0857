"""Classifier tests of generated showers: can a fresh network tell them from reference showers?

Two tests, one procedure: generated (1) and reference (0) showers split 60/20/20 per class into
train, validation and test; inputs standardised on the training split; a network fitted by Adam on
the binary cross-entropy, kept at its epoch of lowest validation loss; judged on the test split.

* `classifier_test`, nnlab's own: a small MLP (2 x 64 ReLU) on nnlab's observables or log1p of the
  cells, cheap enough to score every epoch; its test AUC.
* `protocol_test`, the CaloChallenge 2022 classifier metric (arXiv:2410.21611, its evaluation code):
  an MLP of three hidden layers of 2048 LeakyReLU(0.2) units, Adam at 2e-4, batches of 1,000;
  low-level inputs (log10 of the incident energy in MeV, every cell over the incident energy) or
  high-level ones (per layer its energy, the centre and width of its energy along both axes and the
  share of its cells lit, plus the total over the incident energy); the outputs calibrated by an
  isotonic regression fitted on the validation split; reported: the test AUC and the Jensen-Shannon
  divergence the calibrated classifier reveals, log 2 minus its test binary cross-entropy, in bits
  (0: indistinguishable, 1: disjoint). `QUICK` scales it for 2 CPU cores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnlab.data.calo import check_calogan_layout
from nnlab.errors import ConfigError
from nnlab.evaluation import calo_observables as obs
from nnlab.evaluation.roc import roc_auc
from nnlab.evaluation.shower_validation import LOG_SCALED, gan_observables
from nnlab.physics.geometry import N_LAYERS

CLASSIFIER_SPLIT = (0.6, 0.2)  # train and validation fractions; the rest is the held-out test set
MIN_CLASSIFIER_SHOWERS = 5  # per side: the fewest that put both classes in all three splits
PROBABILITY_FLOOR = 1e-7  # calibrated probabilities are clipped to [floor, 1 - floor] in the cross-entropy


@dataclasses.dataclass(frozen=True)
class Protocol:
    """The CaloChallenge classifier's size and training."""

    width: int = 2048
    depth: int = 3
    epochs: int = 50
    lr: float = 2e-4
    batch_size: int = 1000


FULL = Protocol()
QUICK = Protocol(width=256, epochs=20)  # for 2 CPU cores: the same procedure, a smaller network, fewer epochs
PROTOCOLS = {"full": FULL, "quick": QUICK}


def classifier_features(showers: Mapping[str, np.ndarray], features: str) -> np.ndarray:
    """nnlab's classifier inputs: high-level observables (MeV ones as log1p) or log1p of all 504 cells.

    Both carry log(E_inc), so the classifier judges each shower given its requested energy.
    """
    log_incident = np.log(np.asarray(showers["energy"], dtype=float)[:, :1])  # (N, 1)
    if features == "observables":
        values = gan_observables(showers)
        columns = [np.log1p(values[n]) if n in LOG_SCALED else values[n] for n in sorted(values)]
        return np.column_stack([*columns, log_incident])
    if features == "cells":
        return np.concatenate([np.log1p(_cells(showers)), log_incident], axis=1)
    raise ConfigError(f"unknown classifier features {features!r}: choose 'observables' or 'cells'")


def protocol_features(showers: Mapping[str, np.ndarray], level: str) -> np.ndarray:
    """The CaloChallenge classifier's inputs: "low" (log10 E_inc / MeV, cells / E_inc) or "high" level."""
    incident_mev = np.asarray(showers["energy"], dtype=float)[:, :1] * 1e3
    if level == "low":
        return np.concatenate([np.log10(incident_mev), _cells(showers) / incident_mev], axis=1)
    if level == "high":
        layers = obs.layers_of(showers)
        energies = obs.layer_energies(layers)
        columns = [np.log10(incident_mev[:, 0]), np.log10(energies.sum(axis=1) + 1e-8),
                   energies.sum(axis=1) / incident_mev[:, 0]]
        for k, image in enumerate(layers):
            columns += [np.log10(energies[:, k] + 1e-8), obs.sparsity(image)]
            columns += [f(image, axis=axis) for f in (obs.lateral_centre, obs.lateral_width) for axis in (0, 1)]
        return np.column_stack(columns)
    raise ConfigError(f"unknown protocol features {level!r}: choose 'low' or 'high'")


def _cells(showers: Mapping[str, np.ndarray]) -> np.ndarray:
    n = len(showers["energy"])
    return np.concatenate([np.asarray(showers[f"layer_{k}"], float).reshape(n, -1) for k in range(N_LAYERS)], axis=1)


def classifier_test(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray], *,
                    features: str = "observables", seed: int = 0, epochs: int = 20, hidden_dim: int = 64,
                    batch_size: int = 256, lr: float = 1e-3) -> float:
    """nnlab's test: the test AUC of a small MLP trained to tell generated from reference showers (0.5: it
    cannot tell them apart)."""
    import torch

    def mlp(n_inputs: int) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Linear(n_inputs, hidden_dim), torch.nn.ReLU(),
                                   torch.nn.Linear(hidden_dim, hidden_dim), torch.nn.ReLU(),
                                   torch.nn.Linear(hidden_dim, 1))

    fitted = _fitted_scores(reference, generated, lambda showers: classifier_features(showers, features), mlp,
                            seed=seed, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-5)
    return roc_auc(fitted["test_labels"] == 1, fitted["test_scores"])


def protocol_test(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray], *, level: str,
                  protocol: Protocol = FULL, seed: int = 0) -> dict[str, Any]:
    """The CaloChallenge test on `level` ("low" or "high") features: the calibrated classifier's test AUC and
    JSD (bits), the epoch kept, and how many showers it trained on."""
    import torch

    def mlp(n_inputs: int) -> torch.nn.Module:
        sizes = [n_inputs] + [protocol.width] * protocol.depth
        hidden = [part for n_in, n_out in zip(sizes, sizes[1:])
                  for part in (torch.nn.Linear(n_in, n_out), torch.nn.LeakyReLU(0.2))]
        return torch.nn.Sequential(*hidden, torch.nn.Linear(sizes[-1], 1))

    fitted = _fitted_scores(reference, generated, lambda showers: protocol_features(showers, level), mlp,
                            seed=seed, epochs=protocol.epochs, batch_size=protocol.batch_size, lr=protocol.lr)
    calibrated = isotonic_calibration(fitted["val_scores"], fitted["val_labels"])(fitted["test_scores"])
    labels = fitted["test_labels"]
    p = np.clip(calibrated, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    cross_entropy = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    return {"auc": roc_auc(labels == 1, calibrated), "jsd": max(0.0, (np.log(2) - cross_entropy) / np.log(2)),
            "epoch_kept": fitted["epoch"], "n_train": fitted["n_train"]}


def isotonic_calibration(scores: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The non-decreasing map from score to P(label 1) that fits (`scores`, `labels`) best in least squares
    (pool-adjacent-violators, tied scores pooled first), linear between the scores seen and flat beyond them."""
    from scipy.optimize import isotonic_regression

    unique, where, counts = np.unique(scores, return_inverse=True, return_counts=True)
    means = np.bincount(where, weights=labels) / counts
    fitted = isotonic_regression(means, weights=counts).x
    return lambda new: np.interp(new, unique, fitted)


def _fitted_scores(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray],
                   features: Callable[[Mapping[str, np.ndarray]], np.ndarray], make_model, *, seed: int,
                   epochs: int, batch_size: int, lr: float, weight_decay: float = 0.0) -> dict[str, Any]:
    """The shared procedure: split, standardise, fit; the validation and test splits' logits and labels."""
    import torch

    for showers, name in ((reference, "reference"), (generated, "generated")):
        check_calogan_layout({key: np.shape(value) for key, value in showers.items()}, source=name)
    if min(len(reference["energy"]), len(generated["energy"])) < MIN_CLASSIFIER_SHOWERS:
        raise ConfigError(f"a classifier test needs at least {MIN_CLASSIFIER_SHOWERS} showers on each side")
    if epochs < 1:
        raise ConfigError(f"a classifier test needs epochs >= 1, got {epochs}")
    x = np.concatenate([features(reference), features(generated)])
    y = np.concatenate([np.zeros(len(reference["energy"])), np.ones(len(generated["energy"]))])
    train, val, test = _split(y, np.random.default_rng(seed))
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    x = (x - mean) / np.where(std > 0, std, 1.0)

    def as_tensor(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.as_tensor(x[idx], dtype=torch.float32), torch.as_tensor(y[idx], dtype=torch.float32)

    model, epoch = fit_binary_classifier(as_tensor(train), as_tensor(val), make_model, seed=seed, epochs=epochs,
                                         batch_size=batch_size, lr=lr, weight_decay=weight_decay)
    with torch.no_grad():
        val_scores, test_scores = (model(as_tensor(idx)[0]).squeeze(1).numpy().astype(float) for idx in (val, test))
    return {"val_scores": val_scores, "val_labels": y[val], "test_scores": test_scores, "test_labels": y[test],
            "epoch": epoch, "n_train": len(train)}


def _split(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/validation/test indices, stratified so that every split holds both classes."""
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in (0, 1):
        index = rng.permutation(np.flatnonzero(y == label))
        n_train, n_val = int(CLASSIFIER_SPLIT[0] * len(index)), int(CLASSIFIER_SPLIT[1] * len(index))
        for part, chunk in zip(parts, np.split(index, [n_train, n_train + n_val])):
            part.append(chunk)
    train, val, test = (np.concatenate(part) for part in parts)
    return train, val, test


def fit_binary_classifier(train, val, make_model, *, seed: int, epochs: int, batch_size: int, lr: float,
                          weight_decay: float = 0.0):
    """A network of `make_model(n_inputs)` (one logit out) fitted by Adam on BCE to (inputs, 0/1 labels) `train`;
    returned at its best validation epoch (a held-out guard against overfitting), with that epoch (1-based).
    Seeded: its initial weights and batch order depend on `seed` alone, the caller's RNG untouched."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make_model(train[0].shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    shuffle = torch.Generator().manual_seed(seed)
    best_loss, best_state, best_epoch = float("inf"), None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        for idx in torch.randperm(len(train[1]), generator=shuffle).split(batch_size):
            optimizer.zero_grad()
            loss_fn(model(train[0][idx]).squeeze(1), train[1][idx]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(val[0]).squeeze(1), val[1]))
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model.eval(), best_epoch
