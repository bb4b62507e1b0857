"""A GAN on MNIST-format images (the lecture's third hands-on), scored honestly, and put to use.

The adversarial update (D, then G every `d_steps` batches; nnlab.training.adversarial) is this
task's `train_step` inside the one Trainer. Latent vectors are drawn from each process's global
torch RNG, which the Trainer saves and restores per rank, so a resumed run draws the latents it
would have drawn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnlab.data.image_arrays import save_images_npy
from nnlab.data.registry import describe_sources, load_images
from nnlab.data.splits import stratified_subset
from nnlab.errors import ConfigError
from nnlab.evaluation.fid_cnn import FeatureSpace, memorisation, real_sample, scores
from nnlab.evaluation.image_generation import report_lines, spread
from nnlab.files import require_space
from nnlab.models.gan import GAN_ARCHS, build_gan
from nnlab.plots.images import image_grid, labelled_rows
from nnlab.progress import Progress
from nnlab.results import Files
from nnlab.tasks.base import Option, Report, Task, VerbOption, reject_options
from nnlab.tasks.gan_config import DEFAULT_LATENT, GANConfig, recipe
from nnlab.training import distributed
from nnlab.training.adversarial import AdversarialLoss, accuracies, adversarial_step
from nnlab.training.ema import GeneratorAverage
from nnlab.training.gan_losses import BCE_LOSSES, LOSSES
from nnlab.training.rundir import RunDir
from nnlab.training.runtime import autocast, derived_seed
from nnlab.training.schedules import make_optimizer
from nnlab.training.trainer import Metrics, Step, TrainingError

EPOCH_SCORES = ("spread", "fid_cnn", "precision", "recall")  # metrics.csv columns epoch_end adds
HISTORY_TITLES = {"spread": "samples' spread, share of the data's (near 0: collapse)",
                  "fid_cnn": "FID-CNN against training images (lower is better)",
                  "precision": "precision: samples that look real", "recall": "recall: data the samples cover",
                  "d_real_acc": "D's accuracy on real images", "d_fake_acc": "D's accuracy on generated images",
                  "d_loss": "D's loss", "g_loss": "G's loss"}
SLIDERS = 10  # latent sliders: the lecture's latent has 10 values; a wider one gets its 10 strongest directions
COLLAPSE_CHECK_FROM = 3  # epoch: a freshly initialised G draws near-identical images, which is not collapse
GRID = 64  # fixed latent vectors followed through training, an 8 x 8 sheet per epoch
SHEET_MAX = 256  # samples drawn on sample's PNG sheet (16 x 16); its .npy holds all of them
SAMPLE_CHUNK = 10_000  # images `sample` generates at a time (its .npy is written in parts: memory bounded, whatever -n)
WALK_MAX = 64  # images in a latent walk's strip


class GANTask(GeneratorAverage, Task):
    """G maps z (and a label) to an image in [-1, 1]; D maps an image (and a label) to a logit."""

    name = "gan"
    config_class = GANConfig
    monitor = ("fid_cnn", "min")  # without scores every epoch counts as the best so far
    # runs saved before these keys existed: no G average, plain dcgan, one learning rate
    saved_run_defaults = {"gan": {"g_average": 0.0, "g_lr_factor": 1.0},
                          "model": {"refine": False, "g_batchnorm": False}}
    options = (
        Option("--data", "data.source", describe_sources()),
        Option("--data-dir", "data.data_dir", "folder holding the MNIST or Fashion-MNIST files"),
        Option("--model", "model.arch", f"one of {', '.join(GAN_ARCHS)} (default dcgan)"),
        Option("--loss", "gan.loss", f"one of {', '.join(LOSSES)} (default nonsaturating)"),
        Option("--classifier", "score.classifier", "cnn run whose features score the samples (FID-CNN)"),
        Option("--conditional", "model.conditional", "condition G and D on the class label", switch=True),
    )
    verbs = {
        "evaluate": (VerbOption(("--classifier",), "classifier", "gan: cnn run whose features score the samples "
                                "(default: the run's, else the cached default for its data set)"),),
        "sample": (VerbOption(("--label",), "label", "gan: class to draw (conditional GANs)", {"type": int}),
                   VerbOption(("--interpolate",), "interpolate", "gan: also write a latent walk of STEPS images "
                              "between two samples", {"type": int, "default": 0, "metavar": "STEPS"})),
        "restore": (),
    }

    @classmethod
    def recipe(cls, config: GANConfig) -> Mapping[str, Any]:
        return recipe(config)

    def build(self, *, training: bool) -> None:
        cfg = self.config
        if cfg.gan.d_label_smoothing and cfg.gan.loss not in BCE_LOSSES:
            raise ConfigError(f"gan.d_label_smoothing softens a BCE label: it needs --loss {' or '.join(BCE_LOSSES)}, "
                              f"not {cfg.gan.loss}")
        data = load_images(cfg.data.source, data_dir=cfg.data.data_dir or None, search_dirs=self.data_dirs,
                           seed=cfg.data.subset_seed)
        self.class_names, self.image_shape = data.class_names, (1, *data.image_shape)
        x, y = stratified_subset(data.train_images, data.train_labels, n=cfg.data.n_train, seed=cfg.data.subset_seed)
        self.train_data = (torch.from_numpy(x), torch.from_numpy(y))
        self.test_data = (torch.from_numpy(data.test_images), torch.from_numpy(data.test_labels))
        self.latent_dim = cfg.model.latent_dim or DEFAULT_LATENT[cfg.model.arch]
        n_classes = data.n_classes if cfg.model.conditional else 0
        init = torch.Generator().manual_seed(cfg.train.seed)
        G, D = build_gan(cfg.model.arch, latent_dim=self.latent_dim, n_classes=n_classes,
                         image_shape=self.image_shape, dropout=cfg.model.d_dropout, refine=cfg.model.refine,
                         batchnorm=cfg.model.g_batchnorm, generator=init)
        memory_format = torch.channels_last if cfg.model.channels_last else torch.contiguous_format
        self.models = {"G": G.to(self.device, memory_format=memory_format),
                       "D": D.to(self.device, memory_format=memory_format)}
        # no optimiser, no gradients: saved and resumed like G
        self.add_generator_average(cfg.gan.g_average, cfg.gan.g_average_warmup)
        if training:
            rates = {"G": cfg.train.lr * cfg.gan.g_lr_factor, "D": cfg.train.lr}
            self.optimizers = {name: make_optimizer(self.models[name].parameters(), cfg.train, lr=rate)
                               for name, rate in rates.items()}
        self._feature_space: FeatureSpace | None = None
        self._feature_cache: dict[str, np.ndarray] = {}
        if training and cfg.score.every and not distributed.is_active():
            self._space()  # epochs are scored: find (or first train) the classifier now, not after epoch 1

    # -- training -----------------------------------------------------------------------------

    def train_step(self, batch: tuple[torch.Tensor, ...], step: Step) -> Metrics:
        """One D update on real and fresh fake images; every `d_steps`-th batch also one G update."""
        cfg = self.config.gan
        real, labels = self._pixels(batch[0]), self._labels(batch[1])
        losses = AdversarialLoss(loss=cfg.loss, d_steps=cfg.d_steps, gp_weight=cfg.gp_weight,
                                 label_smoothing=cfg.d_label_smoothing)
        return adversarial_step(step, real, (labels,), losses=losses, critic_metrics=accuracies,
                                draw=lambda G: G(self._latents(len(real)), labels),  # (B, 1, 28, 28)
                                after_generator_step=self.update_generator_average)

    def epoch_end(self, epoch: int, run: RunDir) -> dict[str, float]:
        """The fixed-latent sample sheet, the samples' spread, and (when due) FID-CNN, precision and recall."""
        images = self.generate(GRID, seed=self.config.train.seed, labels=self._grid_labels())
        _write_sheet(images, run.plots_dir / "samples" / f"epoch_{epoch + 1:03d}.png")
        row = {"spread": spread(images, self.train_data[0][:len(images)])}
        threshold = self.config.gan.collapse_threshold
        if row["spread"] < threshold and epoch + 1 >= COLLAPSE_CHECK_FROM:
            raise TrainingError(f"the generator collapsed in epoch {epoch + 1}: its samples' spread is "
                                f"{row['spread']:.3f} of the data's (threshold {threshold}); the last good "
                                f"checkpoint is kept in {run.path} (try --lr, --loss wgan-gp or more d_steps)")
        every = self.config.score.every
        if every and (epoch + 1) % every == 0:  # against training images: the test set stays out of model choice
            space = self._space()
            generated = self.generate(self.config.score.n_epoch, seed=10_000 + epoch)
            found = scores(space, generated, self._features("train"), n_classes=len(self.class_names))
            row.update({k: found[k] for k in ("fid_cnn", "precision", "recall")})
        return row

    # -- using the generator --------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, n: int, *, seed: int, labels: torch.Tensor | None = None,
                 batch_size: int = 1000) -> np.ndarray:
        """n images (n, H, W) float32 in [0, 1] from latents seeded by `seed` (same seed, same images)."""
        G = self.sampler
        was_training = G.training
        G.eval()
        z = _seeded_latents(n, self.latent_dim, seed)
        labels = self._labels(labels if labels is not None else self._cycling_labels(n))
        parts = []
        for i in range(0, n, batch_size):
            chunk = None if labels is None else labels[i:i + batch_size]
            with autocast(self.device, self.config.train.precision):
                parts.append(G(z[i:i + batch_size].to(self.device), chunk).float().cpu())
        G.train(was_training)
        return _from_tanh(torch.cat(parts))

    def sample(self, n: int, *, seed: int, out_dir: Path, label: int | None = None, interpolate: int = 0,
               **unsupported: Any) -> Files:
        """Write n samples as a PNG sheet and a .npy array (uint8, like MNIST); optionally a latent walk."""
        reject_options(unsupported, self.name)
        if interpolate and not 2 <= interpolate <= WALK_MAX:  # before anything is drawn or written
            raise ConfigError(f"--interpolate takes 2 to {WALK_MAX} steps (one strip of images), got {interpolate}")
        if label is not None:
            if not self.config.model.conditional:
                raise ConfigError("--label needs a conditional GAN (train it with --conditional)")
            if not 0 <= label < len(self.class_names):
                raise ConfigError(f"--label {label} is not a class (0..{len(self.class_names) - 1})")
        stem = f"samples_seed{seed}" + (f"_label{label}" if label is not None else "")
        _, height, width = self.image_shape
        require_space(out_dir / f"{stem}.npy", n * height * width, request=f"-n {n}")

        def parts() -> Iterator[np.ndarray]:  # the first part from `seed` itself: what a small request always drew
            for start in range(0, n, SAMPLE_CHUNK):
                size = min(SAMPLE_CHUNK, n - start)
                labels = (torch.full((size,), label) if label is not None
                          else torch.arange(start, start + size) % len(self.class_names))
                yield self.generate(size, seed=derived_seed(seed, start), labels=labels)

        files = [save_images_npy(parts(), (n, height, width), out_dir / f"{stem}.npy")]
        images = np.load(files[0], mmap_mode="r")[:SHEET_MAX]
        sheet = _write_sheet(images.astype(np.float32) / 255.0, out_dir / f"{stem}.png", n_cols=8 if n <= GRID else 16)
        shown = f" (the first {SHEET_MAX} of {n}; all of them in the .npy)" if n > SHEET_MAX else ""
        if interpolate:
            files.append(self._walk(interpolate, seed=seed, label=label, path=out_dir / f"walk_seed{seed}.png"))
        return Files([sheet, *files], measured={"n": n},
                     lines=[f"wrote {sheet}{shown}", *(f"wrote {path}" for path in files)])

    def latent_view(self, *, seed: int, coordinates: Sequence[float], label: int | None = None,
                    walk: int = 0) -> dict[str, Any]:
        """The image at a point of the latent space: the latent drawn from `seed`, moved by `coordinates` along
        its axes (a latent of at most 10 values, as the lecture's) or along the 10 directions that change the
        image most there (a wider latent); with `walk`, also `walk` images from there to the latent of seed + 1.
        Images (H, W) in 0..1."""
        from nnlab.evaluation.latent_search import interpolate, strongest_directions

        if self.config.model.conditional != (label is not None):
            raise ConfigError("give a class for a conditional GAN, and none otherwise")
        if label is not None and not 0 <= label < len(self.class_names):
            raise ConfigError(f"class {label} is not one of the {len(self.class_names)} classes")
        z = _seeded_latents(2, self.latent_dim, seed).to(self.device)
        axes = self.latent_dim <= SLIDERS
        n_sliders = min(self.latent_dim, SLIDERS)
        if len(coordinates) > n_sliders:
            raise ConfigError(f"{len(coordinates)} coordinates for {n_sliders} sliders")
        moved = z[0]
        if len(coordinates):  # the directions only when a slider moved: a wide latent's cost a forward pass
            directions = (torch.eye(self.latent_dim, device=self.device) if axes
                          else strongest_directions(self.sampler, z[0], labels=label, k=SLIDERS))
            moved = moved + torch.as_tensor(coordinates, dtype=z.dtype, device=z.device) @ directions[:len(coordinates)]
        images = _from_tanh(interpolate(self.sampler, moved, z[1], n_steps=max(walk, 2), labels=label))
        return {"image": images[0], "walk": images[:walk], "latent_dim": self.latent_dim,
                "sliders": "axes" if axes else "strongest directions", "n_sliders": n_sliders,
                "classes": list(self.class_names) if self.config.model.conditional else []}

    def inpaint_test_image(self, index: int, erased: np.ndarray, *, steps: int = 200, seed: int = 0) -> dict[str, Any]:
        """Held-out test image `index` with the pixels `erased` (H, W; true where erased) filled by the generator:
        the clean, erased and filled images (H, W, 0..1) and the PSNR (dB) of the erased and the filled images
        against the clean one (None where nothing was erased)."""
        from nnlab.evaluation.latent_search import inpaint, psnr

        n = len(self.test_data[0])
        if not 0 <= index < n:
            raise ConfigError(f"test image {index}: there are {n}, numbered 0 to {n - 1}")
        erased = torch.as_tensor(np.asarray(erased, dtype=bool))
        if tuple(erased.shape) != tuple(self.test_data[0].shape[1:]):
            raise ConfigError(f"the erased pixels are a {tuple(self.test_data[0].shape[1:])} grid, "
                              f"got {tuple(erased.shape)}")
        clean = self._pixels(self.test_data[0][index:index + 1]).float().contiguous()
        kept = (~erased).float()[None, None].to(self.device)
        corrupted = clean * kept - (1.0 - kept)  # erased pixels black
        labels = self._labels(self.test_data[1][index:index + 1])
        filled = inpaint(self.sampler, clean, kept, labels=labels, steps=steps, seed=seed) if erased.any() else clean

        def decibels(image: torch.Tensor) -> float | None:
            return float(psnr(image, clean)) if erased.any() else None

        clean_unit, erased_unit, filled_unit = _from_tanh(torch.cat([clean, corrupted, filled]))
        return {"index": index, "clean": clean_unit, "erased": erased_unit, "filled": filled_unit,
                "psnr_erased": decibels(corrupted), "psnr_filled": decibels(filled)}

    def _walk(self, n_steps: int, *, seed: int, label: int | None, path: Path) -> Path:
        """The walk from the latent of `seed` to that of seed + 1 as one strip (a conditional G draws class 0 unless
        told another)."""
        label = label if label is not None else (0 if self.config.model.conditional else None)
        images = self.latent_view(seed=seed, coordinates=(), label=label, walk=n_steps)["walk"]
        return _write_sheet(images, path, n_cols=n_steps)

    def restore(self, mode: str, *, n: int, seed: int, steps: int) -> tuple[dict[str, float], np.ndarray]:
        """In-paint a square hole in, or denoise, n held-out test images; PSNR (dB) before and after.

        Returns the PSNRs and a (3n, H, W) stack (clean, corrupted, restored) for a picture. A
        conditional G is given the test images' true labels.
        """
        from nnlab.evaluation.latent_search import restore

        images, labels = self.test_data[0][:n], self.test_data[1][:n]
        clean = self._pixels(images).float()  # (n, 1, H, W) in [-1, 1]
        cfg = self.config.score
        return restore(self.sampler, clean, mode=mode, labels=self._labels(labels), seed=seed, steps=steps,
                       hole=cfg.hole, noise_sigma=cfg.noise_sigma)

    def restore_report(self, mode: str, *, n: int, seed: int, steps: int, folder: Path) -> Files:
        """`restore`, plus a picture (rows: clean, corrupted, restored) and lines for the terminal."""
        psnrs, stack = self.restore(mode, n=n, seed=seed, steps=steps)
        path = self._restore_sheet(mode, stack, n, psnrs, folder / f"{mode}_seed{seed}.png")
        return Files([path], measured={"mode": mode, "n": n, **psnrs},
                     lines=[f"{mode}: mean PSNR {psnrs['psnr_input']:.2f} dB (corrupted) -> "
                            f"{psnrs['psnr_output']:.2f} dB (restored), {psnrs['psnr_gain']:+.2f} dB over {n} "
                            "held-out test images", f"wrote {path} (rows: clean, corrupted, restored)"])

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self, run: RunDir, *, classifier: str | None = None, **unsupported: Any) -> Report:
        """FID-CNN against its floor, precision/recall, mode coverage, memorisation, in-painting and denoising.

        `classifier`: a cnn run whose features score the samples instead of the run's own choice.
        """
        from nnlab.plots.generated import plot_class_histogram

        reject_options(unsupported, self.name)
        if classifier:  # scored as if the run had been trained with --classifier: _space loads it
            score = dataclasses.replace(self.config.score, classifier=classifier)
            self.config = dataclasses.replace(self.config, score=score)
            self._feature_space, self._feature_cache = None, {}
        cfg = self.config.score
        space, test = self._space(), self._features("test")
        n = min(cfg.n_eval, len(self.train_data[0]))
        plots = run.plots_dir
        with Progress(f"scoring {n:,} samples (FID-CNN, KID, precision, recall, memorisation)", total=4,
                      unit="part") as phase:
            generated = self.generate(n, seed=1)
            real = real_sample(self.train_data[0], n)  # n real images the generator must match
            phase.update()
            found = scores(space, generated, test, n_classes=len(self.class_names), real=real)
            phase.update()
            nearest, ratio = memorisation(space, generated[:2000], self._features("train"), test)
            found["memorisation_ratio"] = ratio
            phase.update()
            files = [image_grid(generated[:GRID], plots / "samples.png", n_cols=8, value_range=(0.0, 1.0),
                                suptitle=f"{GRID} samples of {run.path.name}: its best epoch's weights, latent seed 1"),
                     self._neighbour_sheet(generated[:8], nearest[:8], plots / "nearest_training_images.png"),
                     plot_class_histogram(found["class_histogram"], self.class_names, plots / "class_histogram.png"),
                     self._walk(10, seed=1, label=None, path=plots / "interpolation.png")]
            phase.update()
        for mode in ("inpaint", "denoise"):
            found[mode], stack = self.restore(mode, n=cfg.n_restore, seed=2, steps=cfg.restore_steps)
            files.append(self._restore_sheet(mode, stack, cfg.n_restore, found[mode], plots / f"{mode}.png"))
        history = run.read_metrics()
        if history:
            from nnlab.plots.training import plot_history

            files.append(plot_history(history, plots / "history.png", extra=EPOCH_SCORES, titles=HISTORY_TITLES,
                                      run=run.path.name))
        report = Report({"scores": found, "classifier": space.source}, report_lines(found, space.source), files)
        report.save(run)
        return report

    def _features(self, split: str) -> np.ndarray:
        """Classifier features of all the train or test images, computed once."""
        if split not in self._feature_cache:
            images = (self.train_data if split == "train" else self.test_data)[0]
            self._feature_cache[split] = self._space().embed(_unit(images))[0]
        return self._feature_cache[split]

    def _space(self) -> FeatureSpace:
        """The scoring classifier: the configured cnn run, else the cached default for this data set."""
        if self._feature_space is None:
            if self.classifiers is None:
                raise ConfigError("scoring needs a classifier: pass --classifier RUN (a cnn run on the same data)")
            path = self.config.score.classifier
            self._feature_space = (self.classifiers.load(path) if path
                                   else self.classifiers.default(self.config.data.source))
        return self._feature_space

    def _neighbour_sheet(self, generated: np.ndarray, nearest: np.ndarray, path: Path) -> Path:
        """Top row: generated images; bottom row: the training image nearest to each in feature space."""
        neighbours = _unit(self.train_data[0][torch.from_numpy(nearest.astype(np.int64))])
        return labelled_rows([generated, neighbours], ["generated", "nearest\ntraining\nimage"], path,
                             title="Each sample above the training image nearest to it in the classifier's features "
                                   "(a copy would look the same)")

    def _restore_sheet(self, mode: str, stack: np.ndarray, n: int, psnrs: Mapping[str, float], path: Path) -> Path:
        """Up to 8 held-out test images: clean, corrupted and restored, in rows, with the PSNR in the title."""
        k = min(8, n)
        cfg = self.config.score
        corrupted = f"{cfg.hole}x{cfg.hole}\nhole" if mode == "inpaint" else f"noise\nsigma {cfg.noise_sigma:g}"
        rows = [stack[i * n:i * n + k] for i in range(3)]
        return labelled_rows(rows, ["clean", corrupted, "restored"], path,
                             title=f"{'In-painting' if mode == 'inpaint' else 'Denoising'} held-out test images: "
                                   f"PSNR {psnrs['psnr_input']:.1f} -> {psnrs['psnr_output']:.1f} dB "
                                   f"(mean over {n})")

    # -- pixels, labels, latents ----------------------------------------------------------------

    def _pixels(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images (B, H, W) -> float (B, 1, H, W) in [-1, 1], the range of G's tanh."""
        x = x.to(self.device).unsqueeze(1).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=torch.channels_last) if self.config.model.channels_last else x

    def _labels(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        return labels.to(self.device) if self.config.model.conditional and labels is not None else None

    def _latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim).to(self.device)  # the global RNG: saved and resumed per rank

    def _cycling_labels(self, n: int) -> torch.Tensor | None:
        return torch.arange(n) % len(self.class_names) if self.config.model.conditional else None

    def _grid_labels(self) -> torch.Tensor | None:
        """Conditional sheets: one class per row of 8 (rows 0..7), so a row is one class throughout."""
        return torch.arange(GRID) // 8 % len(self.class_names) if self.config.model.conditional else None


def _seeded_latents(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """n latents (n, latent_dim) drawn from their own generator seeded by `seed`: the same seed, the same latents."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def _from_tanh(images: torch.Tensor) -> np.ndarray:
    """G's images (B, 1, H, W) in [-1, 1] -> float32 (B, H, W) in [0, 1]."""
    return images.float().cpu().squeeze(1).add(1.0).div(2.0).clamp(0.0, 1.0).numpy()


def _unit(images: torch.Tensor) -> np.ndarray:
    """uint8 images -> float32 in [0, 1], the classifier's input."""
    return images.float().div(255.0).numpy()


def _write_sheet(images: np.ndarray, path: Path, *, n_cols: int = 8) -> Path:
    from nnlab.plots.images import write_image_grid_png

    return write_image_grid_png(images, path, n_cols=n_cols)
