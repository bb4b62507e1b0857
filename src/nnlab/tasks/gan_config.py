"""The gan task's settings, and the recipes that choose them by model and data set (nnlab.tasks.gan)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from nnlab.config import TrainConfig, choices, in_range
from nnlab.models.gan import GAN_ARCHS
from nnlab.training.ema import WARMUP
from nnlab.training.gan_losses import BCE_LOSSES, LOSSES

DEFAULT_LATENT = {"mlp": 10, "dcgan": 64}  # the lecture posits 10; DCGAN-style G draws more from 64


@dataclasses.dataclass(frozen=True)
class GANDataConfig:
    source: str = "mnist-5k"  # mnist-5k, mnist, fashion-mnist, synthetic, or a folder of IDX files
    data_dir: str = ""
    n_train: int = in_range("[0, inf)", default=0)  # use only this many training images (stratified, seeded); 0 = all
    subset_seed: int = in_range("[0, inf)", default=0)


@dataclasses.dataclass(frozen=True)
class GANModelConfig:
    arch: str = choices(*GAN_ARCHS, default="dcgan")
    # 0: the architecture's default (mlp 10, as in the lecture; dcgan 64)
    latent_dim: int = in_range("[0, inf)", default=0)
    conditional: bool = False  # G and D see the class label; `nnlab sample RUN --label 3`
    # dropout in D's hidden layers: D otherwise memorises a small training set
    d_dropout: float = in_range("[0, 1)", default=0.3)
    g_batchnorm: bool = False  # mlp: BatchNorm in G's hidden layers (dcgan's G always has it)
    refine: bool = True  # dcgan: 3x3 convolutions in G (1/4 and 1/2 resolution) and D (1/4); docs/benchmarks.md
    channels_last: bool = True


@dataclasses.dataclass(frozen=True)
class AdversarialConfig:
    loss: str = choices(*LOSSES, default="nonsaturating")
    d_steps: int = in_range("[1, inf)", default=1)  # D updates per G update (5 is usual for wgan-gp)
    gp_weight: float = in_range("[0, inf)", default=10.0)  # wgan-gp: lambda of Gulrajani et al. 2017
    # one-sided: D's real target becomes 1 - this (BCE losses)
    d_label_smoothing: float = in_range("[0, 1)", default=0.0)
    # stop when the fixed samples' spread falls below this share of the data's
    collapse_threshold: float = in_range("[0, inf)", default=0.05)
    # sample from a moving average of G's weights with this decay per G step; 0 = off
    g_average: float = in_range("[0, 1)", default=0.999)
    # the average's warm-up w: its decay is min(g_average, (1 + n) / (w + n)) after n G steps, so it spans about
    # the last n / (w - 1) steps until it reaches g_average
    # (docs/benchmarks-history.md#how-long-gs-average-reaches-back-at-4-epochs-2026-12-08)
    g_average_warmup: float = in_range("(1, inf)", default=WARMUP)
    # G's learning rate is train.lr times this (D's is train.lr): two time scales
    g_lr_factor: float = in_range("(0, inf)", default=1.0)


@dataclasses.dataclass(frozen=True)
class GANScoreConfig:
    classifier: str = ""  # a cnn run for the feature space; empty: the cached default for the data set
    # FID-CNN, precision and recall every this many epochs; 0 = only in evaluate
    every: int = in_range("[0, inf)", default=1)
    # generated images scored per epoch (precision and recall need more than their k = 3 neighbours)
    n_epoch: int = in_range("[4, inf)", default=2000)
    # generated images scored by evaluate (capped at the training set's size)
    n_eval: int = in_range("[4, inf)", default=10000)
    # held-out test images for the in-painting and denoising measurement
    n_restore: int = in_range("[1, inf)", default=64)
    restore_steps: int = in_range("[1, inf)", default=300)  # Adam steps of the latent search
    hole: int = 10  # side of the square hole in-painting fills
    noise_sigma: float = in_range("(0, inf)", default=0.3)  # Gaussian noise on pixels in [0, 1] that denoising removes


@dataclasses.dataclass(frozen=True)
class GANConfig:
    data: GANDataConfig = dataclasses.field(default_factory=GANDataConfig)
    model: GANModelConfig = dataclasses.field(default_factory=GANModelConfig)
    gan: AdversarialConfig = dataclasses.field(default_factory=AdversarialConfig)
    score: GANScoreConfig = dataclasses.field(default_factory=GANScoreConfig)
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(
        epochs=60, batch_size=64, lr=2e-4, optimizer="adam", betas=(0.5, 0.999)))


# mnist-5k: 60 epochs of 63 steps (batch 64 and D dropout 0.3 took FID-CNN from 25.8 to 14.6
# there). The full sets: D's dropout drew its masks for 45% of a step's time on 2 cores (88-97 s
# an epoch with it, 36-45 s without) and 60,000 images need no such brake on D, which scored as
# well without it epoch for epoch; 7 epochs of the refined dcgan (68-84 s each) fit the 10-minute
# budget. In so few epochs faster rates score better: G learning twice as fast as D, and D at 8e-4
# rather than 2e-4 (docs/gan.md#rates-on-the-full-data-sets-d-at-8e-4-g-at-twice-that).
DATA_RECIPES = {name: {"train": {"epochs": 7, "lr": 8e-4}, "model": {"d_dropout": 0.0}, "gan": {"g_lr_factor": 2.0}}
                for name in ("fashion-mnist", "mnist")}


# The lecture's MLP pair, trained so that it draws every digit (docs/gan.md#the-lectures-mlp-gan): BatchNorm in
# G, D's real target 0.9, G learning at twice D's 4e-4, batches of 128. mnist-5k: 450 epochs of 32 steps fit
# 5 minutes on 2 AVX2 cores; the full sets get as many steps (30 epochs). Scored every 50 epochs: scoring 2,000
# samples costs about an epoch.
MLP_RECIPE = {"train": {"epochs": 450, "batch_size": 128, "lr": 4e-4},
              "model": {"g_batchnorm": True}, "gan": {"d_label_smoothing": 0.1, "g_lr_factor": 2.0},
              "score": {"every": 50}}
MLP_FULL_SET_EPOCHS = 30


def recipe(config: GANConfig) -> dict[str, Any]:
    """The settings for the chosen model and data set, layered under whatever the user set."""
    if config.model.arch != "mlp":
        return DATA_RECIPES.get(config.data.source, {})
    chosen = copy.deepcopy(MLP_RECIPE)
    if config.data.source in DATA_RECIPES and config.data.n_train == 0:
        chosen["train"]["epochs"] = MLP_FULL_SET_EPOCHS
    if config.gan.loss not in BCE_LOSSES:  # the real target of 0.9 is a BCE label
        del chosen["gan"]["d_label_smoothing"]
    return chosen
