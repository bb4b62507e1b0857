"""Image classification with the CNN family on MNIST-format data (the lecture's second hands-on).

Also transfer learning (`--init-from RUN`, `--freeze features`), prediction on the user's own
images, and the pictures of what the network learned (`nnlab inspect`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nnlab.config import TrainConfig, choices, in_range
from nnlab.data.augment import random_affine, random_shift, unit_pixels
from nnlab.data.registry import describe_sources, load_images
from nnlab.data.splits import hold_out, stratified_subset
from nnlab.errors import CheckpointError, ConfigError, DataError
from nnlab.files import write_text_atomic
from nnlab.models.cnn import CNN_NAMES, build_cnn
from nnlab.models.image_classifier import ImageClassifier
from nnlab.progress import Progress
from nnlab.tasks.base import Option
from nnlab.tasks.classification import ClassifierTask
from nnlab.training.checkpoint import load_state, read_weights, submodule_state
from nnlab.results import Files, Predictions, written
from nnlab.training.rundir import RunDir
from nnlab.training.schedules import make_optimizer
from nnlab.training.trainer import Metrics, Step


@dataclasses.dataclass(frozen=True)
class ImageDataConfig:
    source: str = "mnist-5k"  # mnist-5k, mnist, fashion-mnist, synthetic, or a folder of IDX files
    data_dir: str = ""  # where mnist / fashion-mnist live; else $NNLAB_DATA, then the user cache
    n_train: int = in_range("[0, inf)", default=0)  # use only this many training images (stratified, seeded); 0 = all
    # held out from training for validation; 0 = train on all, test at the end
    val_fraction: float = in_range("[0, 1)", default=0.0)
    subset_seed: int = in_range("[0, inf)", default=0)
    max_shift: int = in_range("[0, inf)", default=2)  # augmentation: random shifts by up to this many pixels; 0 = off
    # augmentation: random rotations by up to this many degrees; 0 = off
    max_rotation: float = in_range("[0, 180]", default=10.0)
    # augmentation: random scaling by a factor in [1 - z, 1 + z]; 0 = off
    max_zoom: float = in_range("[0, 1)", default=0.1)


@dataclasses.dataclass(frozen=True)
class CNNModelConfig:
    arch: str = choices(*CNN_NAMES, default="fast")
    # channels per stage (fast: 3; resnet, vgg: 1-4); empty = the architecture's own
    widths: tuple[int, ...] = in_range("[1, inf)", default=())
    # before the classifier layer (fast, inception, vgg); empty = the architecture's own
    dropout: float | None = in_range("[0, 1)", default=None)
    channels_last: bool = True  # faster convolutions on CPU (oneDNN) and on GPUs with tensor cores
    init_from: str = ""  # a cnn run whose trained features start this model (transfer learning)
    freeze: str = choices("none", "features", default="none")


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    data: ImageDataConfig = dataclasses.field(default_factory=ImageDataConfig)
    model: CNNModelConfig = dataclasses.field(default_factory=CNNModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(
        epochs=30, batch_size=128, lr=1e-2, optimizer="adamw", weight_decay=5e-4, scheduler="onecycle",
        label_smoothing=0.1))


# The defaults serve a 2-core AVX2-only CPU in float32 (docs/benchmarks.md#precision-and-the-cpu-nnlab-6):
# 30 epochs of the 4,000 mnist-5k images take 77 s there for the whole command, and rotations and zooms
# on top of the shifts lifted the mean of 5 seeds from 98.8% to 99.1%. On all 60,000 Fashion-MNIST images
# four epochs with a short warm-up and no augmentation end at 92.4-92.5% (3 seeds) with `fast` of widths
# (16, 32, 160): the 14x14 stage, where (16, 64, 160) spent half a step, narrowed to 32 channels, 40%
# of the convolutions' work (the command takes 62 s; 3 epochs of (16, 64, 160) took 104 s for 92.8%);
# without its head dropout a full set ends 0.6-0.8 points higher. A subset (data.n_train) keeps the
# general defaults.
# 10% of the training set held out for a validation curve: on Fashion-MNIST 92.35% either way (56.6 s against
# 61.7 s, class AVX2). mnist-5k keeps all 4,000 images for training: held out, they cost 99.10 -> 98.90%.
FULL_SET_RECIPE = {"train": {"epochs": 4, "warmup": 0.1},
                   "data": {"max_shift": 0, "max_rotation": 0, "max_zoom": 0, "val_fraction": 0.1}}
FULL_SET_MODELS = {"fast": {"widths": (16, 32, 160), "dropout": 0.0}}
DATA_RECIPES = {"fashion-mnist": FULL_SET_RECIPE, "mnist": FULL_SET_RECIPE}


class CNNTask(ClassifierTask):
    """A CNN on 28x28 grey images; pixels stay uint8 in memory and become floats per batch."""

    name = "cnn"
    config_class = CNNConfig
    options = (
        Option("--data", "data.source", describe_sources()),
        Option("--data-dir", "data.data_dir", "folder holding the MNIST or Fashion-MNIST files"),
        Option("--model", "model.arch", f"one of {', '.join(CNN_NAMES)} (default fast)"),
        Option("--init-from", "model.init_from", "start from the features of this trained cnn run"),
        Option("--freeze", "model.freeze", "none or features: train only the head"),
    )
    verbs = {"evaluate": (), "predict": (), "inspect": ()}

    @classmethod
    def recipe(cls, config: CNNConfig) -> Mapping[str, Any]:
        recipe = DATA_RECIPES.get(config.data.source) if config.data.n_train == 0 else None
        if recipe is None:
            return {}
        model = FULL_SET_MODELS.get(config.model.arch)
        return {**recipe, "model": model} if model else recipe

    def build(self, *, training: bool) -> None:
        cfg = self.config
        if cfg.model.freeze == "features" and not cfg.model.init_from:  # random features, kept: surely a slip
            raise ConfigError("--freeze features keeps trained features fixed: name them with --init-from RUN")
        data = load_images(cfg.data.source, data_dir=cfg.data.data_dir or None, search_dirs=self.data_dirs,
                           seed=cfg.data.subset_seed)
        self.class_names = data.class_names
        if 2 * cfg.data.max_shift >= min(data.image_shape):
            side = "x".join(map(str, data.image_shape))
            raise ConfigError(f"data.max_shift={cfg.data.max_shift} would shift the {side} images out of their frame: "
                              f"use less than half a side")
        x, y = stratified_subset(data.train_images, data.train_labels, n=cfg.data.n_train, seed=cfg.data.subset_seed)
        (x, y), val = hold_out(x, y, fraction=cfg.data.val_fraction, seed=cfg.data.subset_seed)
        self.train_data = (torch.from_numpy(x), torch.from_numpy(y))
        self.val_data = (torch.from_numpy(val[0]), torch.from_numpy(val[1])) if val else None
        self.test_data = (torch.from_numpy(data.test_images), torch.from_numpy(data.test_labels))
        pixels = x.astype(np.float32) / 255.0
        try:
            network = build_cnn(cfg.model.arch, n_classes=data.n_classes, widths=cfg.model.widths,
                                dropout=cfg.model.dropout)
        except ValueError as error:
            raise ConfigError(f"model: {error}") from None
        model = ImageClassifier(network, float(pixels.mean()), float(pixels.std()),
                                freeze_features=cfg.model.freeze == "features")
        with torch.no_grad():
            model.eval()(torch.zeros(1, 1, *data.image_shape))  # materialise lazy layers
        if training and cfg.model.init_from:
            _load_features(network, cfg.model.init_from, arch=cfg.model.arch, widths=cfg.model.widths)
        memory_format = torch.channels_last if cfg.model.channels_last else torch.contiguous_format
        self.models = {"model": model.to(self.device, memory_format=memory_format)}
        if training:
            self.optimizers = {"model": make_optimizer(model.parameters(), cfg.train)}
        self.shifts = torch.Generator().manual_seed(cfg.train.seed)

    def train_step(self, batch: tuple[torch.Tensor, ...], step: Step) -> Metrics:
        x, y = batch
        data = self.config.data
        if data.max_rotation > 0 or data.max_zoom > 0:
            x = random_affine(x, max_shift=data.max_shift, max_rotation=data.max_rotation, max_zoom=data.max_zoom,
                              generator=self.shifts)
        else:
            x = random_shift(x, max_shift=data.max_shift, generator=self.shifts)
        return super().train_step((x, y), step)

    def logits(self, model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return model(self._pixels(inputs[0]))

    def _pixels(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, H, W), uint8 0..255 or float 0..1 -> float (B, 1, H, W), channels-last when configured."""
        x = unit_pixels(x.to(self.device).unsqueeze(1))
        return x.contiguous(memory_format=torch.channels_last) if self.config.model.channels_last else x

    def extra_plots(self, run: RunDir, probs: np.ndarray) -> list[Path]:
        """The 25 test images the network got wrong with the highest confidence."""
        from nnlab.plots.images import image_grid

        images, labels = (t.numpy() for t in self.test_data)
        predicted = probs.argmax(1)
        wrong = np.flatnonzero(predicted != labels)
        worst = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:25]
        if len(worst) == 0:
            return []
        titles = [f"true {self.class_names[labels[i]]}\npred {self.class_names[predicted[i]]} "
                  f"({probs[i, predicted[i]]:.2f})" for i in worst]
        return [image_grid(images[worst], run.plots_dir / "confidently_wrong.png", titles=titles,
                           suptitle="most confidently wrong test images")]

    def inspect(self, run: RunDir, *, index: int = 0, steps: int = 200) -> Files:
        """First-layer filters, feature maps of test image `index`, and one maximising image per class."""
        from nnlab.evaluation.inspection import activation_maximisation, feature_maps, first_layer_filters
        from nnlab.plots.images import image_grid

        if steps < 1:
            raise ConfigError(f"--steps must be at least 1, got {steps}")
        if not 0 <= index < len(self.test_data[0]):
            raise ConfigError(f"--index {index} is outside the {len(self.test_data[0])} test images")
        model, folder = self.models["model"].eval(), run.plots_dir / "inspect"
        image = self._pixels(self.test_data[0][index:index + 1])
        label = self.class_names[int(self.test_data[1][index])]
        digit = image[0, 0].float().cpu().numpy()[None]  # (1, H, W): the input, first panel of every sheet
        layers, n = feature_maps(model, image), len(self.class_names)
        with Progress(f"inspect: filters, {len(layers)} feature-map sheets, the input that maximises each of {n} "
                      f"classes ({steps} steps each)", total=1 + len(layers) + n, unit="part") as phase:
            files = [image_grid(first_layer_filters(model), folder / "filters.png", normalise_each=True, signed=True,
                                suptitle="first-layer filters: red weights positive, blue negative (each its own "
                                         "scale)")]
            phase.update()
            for name, maps in layers:
                sheet = np.concatenate([digit, _resized(maps, digit.shape[1:])])  # maps drawn at the input's size
                files.append(image_grid(sheet, folder / f"feature_maps_{name}.png", normalise_each=True,
                                        titles=[f"input: {label}", *(f"map {k}" for k in range(len(maps)))],
                                        suptitle=f"{name}: feature maps of test image {index} ({label}), each on its "
                                                 f"own grey scale"))
                phase.update()
            dreams = []
            for k in range(n):
                dreams.append(activation_maximisation(model, target=k, steps=steps, seed=k))
                phase.update()
            files.append(image_grid(np.stack(dreams), folder / "activation_maximisation.png",
                                    titles=list(self.class_names), suptitle="inputs optimised to maximise each class"))
        return Files(files, lines=[written(path) for path in files])

    def look(self, picture: np.ndarray) -> dict[str, Any]:
        """A grey picture (H, W), 0..1, made MNIST-like, through the network: the image it saw, how it was made
        so, every class's probability, the first layer's filters and every convolution's feature maps."""
        from nnlab.data.image_files import like_mnist
        from nnlab.evaluation.inspection import feature_maps, first_layer_filters

        picture = np.asarray(picture, dtype=np.float32)
        if picture.ndim != 2 or min(picture.shape) < 4 or not np.isfinite(picture).all():
            raise DataError(f"a picture is a grid of finite grey values, at least 4x4; got shape {picture.shape}")
        image, notes = like_mnist(np.clip(picture, 0.0, 1.0), size=self.test_data[0].shape[-1])
        x = torch.from_numpy(image[None])
        probs = self.probabilities((x,))[0]
        model = self.models["model"].eval()
        return {"input": image, "notes": notes, "classes": list(self.class_names), "probabilities": probs.tolist(),
                "predicted": self.class_names[int(probs.argmax())], "filters": first_layer_filters(model),
                "feature_maps": feature_maps(model, self._pixels(x))}

    def state_dict(self) -> dict[str, Any]:
        return {"shifts": self.shifts.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.shifts.set_state(state["shifts"])

    def predict(self, source: str, *, output_path: Path | None = None) -> Predictions:
        """Classify the user's images (a picture, a .npy array or a folder), saying what was done to them.

        The CSV is quoted by the csv module and printed lines escape control characters, so a file
        name holding a comma or a newline cannot forge a row or a line."""
        import csv
        import io

        from nnlab.data.image_files import printable, read_user_images

        images = read_user_images(source, size=self.test_data[0].shape[-1])
        probs = self.probabilities((torch.from_numpy(images.images),))
        best = probs.argmax(1)
        lines = [f"note: {note}" for note in images.notes]
        lines += [f"{name} -> {self.class_names[k]} ({p[k]:.3f})" for name, k, p in zip(images.names, best, probs)]
        if output_path is not None:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["input", "predicted", *(f"p_{c}" for c in self.class_names)])
            writer.writerows([name, self.class_names[k], *(f"{q:.6f}" for q in p)]
                             for name, k, p in zip(images.names, best, probs))
            write_text_atomic(output_path, text.getvalue())
            lines.append(f"wrote {output_path}")
        return Predictions(list(images.names), list(self.class_names), [self.class_names[k] for k in best],
                           probs.tolist(), notes=list(images.notes), output=output_path,
                           lines=[printable(line) for line in lines])


def _load_features(network: nn.Module, run_path: str, *, arch: str, widths: tuple[int, ...]) -> None:
    """Copy the trained convolutional features of another cnn run into `network` (its head stays new)."""
    run = RunDir.open(run_path)
    other = run.read_config()
    if other.get("task") != "cnn":
        raise CheckpointError(f"--init-from {run.path} is a run of task '{other.get('task')}', not a cnn run")
    trained = other.get("model", {}).get("arch")
    if trained != arch:
        raise CheckpointError(f"--init-from {run.path} trained model '{trained}', this run uses '{arch}' "
                              f"(pass --model {trained})")
    trained_widths = tuple(other.get("model", {}).get("widths") or ())
    if trained_widths != tuple(widths):
        shown = ",".join(map(str, trained_widths))
        raise CheckpointError(f"--init-from {run.path} trained {arch} with widths {shown or 'default'}, this run "
                              f"uses {','.join(map(str, widths)) or 'default'} (pass --set model.widths={shown})")
    tensors, _ = read_weights(run.weights_path)
    load_state(network.features, submodule_state(tensors, "model.network.features."), what="features",
               source=run.weights_path)


def _resized(images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Images (N, H, W) resized to `shape` by nearest pixels: maps of a coarser resolution beside their input."""
    rows = (np.arange(shape[0]) * images.shape[1] // shape[0])[:, None]
    cols = (np.arange(shape[1]) * images.shape[2] // shape[1])[None, :]
    return images[:, rows, cols]
