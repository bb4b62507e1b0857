"""CaloGAN: a generator of calorimeter showers conditioned on the particle and its energy (the lecture's close).

Trains on CaloGAN HDF5 files or on nnlab's own simulated showers with the same code, through
the one Trainer (the adversarial update is `train_step`: the critic `d_steps` times, then G).
`evaluate` judges it the CaloGAN / CaloChallenge way against held-out reference showers;
`nnlab sample RUN --particle gamma --energy 50 -n 10000 -o fake.h5` writes the CaloGAN layout.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnlab.config import TrainConfig, choices, in_range
from nnlab.data.calo import CALOGAN_KEYS, SHOWER_BYTES, CaloWriter, check_particle, read_calogan
from nnlab.errors import ConfigError
from nnlab.files import require_space
from nnlab.evaluation import shower_validation as validation
from nnlab.models.calogan.consistency import energy_consistency
from nnlab.models.calogan.critic import CaloDiscriminator
from nnlab.models.calogan.generator import LAYER_ENERGIES, CaloGenerator
from nnlab.models.calogan.inference import GENERATE_BATCH, CompiledGenerator, generate
from nnlab.models.calogan.layout import N_CELLS, flatten_layers
from nnlab.models.calogan.spots import SPOT_SAMPLING
from nnlab.physics.simulator import PARTICLES, parse_energy_gev
from nnlab.tasks.base import Option, Report, Task, reject_options
from nnlab.tasks.calo_classifier import load_showers, split_showers
from nnlab.training import distributed
from nnlab.training.ema import GeneratorAverage
from nnlab.training.gan_losses import LOSSES, discriminator_loss, generator_loss, gradient_penalty
from nnlab.training.rundir import RunDir
from nnlab.training.runtime import PRECISION_NAMES, resolve_precision
from nnlab.training.schedules import make_optimizer
from nnlab.training.trainer import Metrics, Step, TrainingError

WATCHED = ("E_tot/E_inc", "f_0", "f_1", "s_d", "lateral_width_1", "sparsity_1")  # scored every epoch
# the epoch kept has the lowest AUC plus this times the watched separation power: where the AUC saturates at 1
# (early in training, or a short run) the separation power still tells the epochs apart
TIE_BREAK = 1e-3
SEPARATION_BOUND = 0.05  # the target for every observable: each epoch logs how many are at or above it (n_above)
SAMPLE_CHUNK = 16384  # showers `sample` generates and writes at a time: ~66 MB as float64, whatever -n


@dataclasses.dataclass(frozen=True)
class CaloGANDataConfig:
    particles: tuple[str, ...] = ("eplus",)
    files: tuple[str, ...] = ()  # one CaloGAN HDF5 file per particle; empty: simulate the showers
    n_per_particle: int = in_range("[1, inf)", default=20_000)
    energy_gev: tuple[float, ...] = in_range("(0, inf)", default=(1.0, 100.0))  # simulated incident energies, uniform
    sim_seed: int = in_range("[0, inf)", default=0)
    test_fraction: float = in_range("(0, 1)", default=0.2)  # held-out reference showers for evaluate
    split_seed: int = in_range("[0, inf)", default=0)


@dataclasses.dataclass(frozen=True)
class CaloGANModelConfig:
    latent_dim: int = in_range("[1, inf)", default=64)
    width: int = in_range("[1, inf)", default=256)  # G's hidden width
    # hidden layers in each of G's streams: one gave AUC e+ 0.658, gamma 0.668 against 0.723 and 0.699 with two, all
    # 24 observables below 0.05, and samples 12% faster (docs/benchmarks.md)
    depth: int = in_range("[1, inf)", default=1)
    d_width: int = in_range("[1, inf)", default=128)  # D's hidden width
    # with layer_energies=generator: start G's response E_tot / E at the training showers' mean, not 0.5 (e+,
    # 150 epochs: E_tot/E_inc separation power 0.06 against 0.37, mean over all observables 0.125 against 0.141)
    start_at_response: bool = True
    # round G's cells to whole spots of a fitted energy, like the simulator's deposits (150 epochs,
    # mean separation power: e+ 0.080 against 0.122, gamma 0.053 against 0.109; docs/benchmarks.md)
    round_to_spots: bool = True
    # each cell's whole spots drawn around G's expected number: dithered (floor(x + u)), like Poisson counts
    # ('random'), or rounded to the nearest (e+, 150 epochs, random against nearest: classifier AUC 0.93
    # against 0.95, mean separation power 0.022 against 0.028). The default run, dither against random:
    # AUC e+ 0.711 against 0.719, gamma 0.693 against 0.698; G in bf16 at batch 10,000: 102-123k showers/s
    # against 75-86k (docs/benchmarks.md)
    spot_sampling: str = choices(*SPOT_SAMPLING, default="dither")
    # layers whose critic stream also reads the cells over the layer's hottest: with layers 0 and 1, their
    # E_ratio fell from 0.22-0.29 to 0.01 (e+); the sparse back layer's own view made it worse (docs/benchmarks.md)
    critic_linear_views: tuple[int, ...] = (0, 1)
    # the critic also reads log(1 - E_tot / E): e+ E_tot/E_inc separation power 0.022 against 0.064, and
    # the response no longer drifts with the energy (docs/benchmarks.md)
    critic_leakage: bool = True
    # G and the critic read the energy also as this many bumps over 1-100 GeV (0 = the log energy alone):
    # held-out AUC e+ 0.850, 0.809, 0.857 (seeds 0-2) against 0.870, 0.863, 0.873, gamma 0.836, 0.874, 0.885
    # against 0.867, 0.879, 0.891; the benchmark e+ 0.825 against 0.821, gamma 0.862 against 0.855 (docs/benchmarks.md)
    energy_bumps: int = in_range("[0, inf)", default=8)
    # who draws the layer energies: a Gaussian mixture fitted to the training showers by maximum likelihood before
    # the GAN trains, G shaping the layers for them, or G's own streams (held-out AUC, 250 epochs, seeds 0 and 1:
    # e+ 0.791, 0.771 against 0.850, 0.809; gamma 0.809, 0.825 against 0.836, 0.874; docs/benchmarks.md)
    layer_energies: str = choices(*LAYER_ENERGIES, default="mixture")
    energy_fit_steps: int = in_range("[1, inf)", default=3000)  # Adam steps of that fit (batches of 2,048)
    # layers whose outer rows' share of the layer's energy (off the rows the axis runs through) the mixture also
    # draws, G's rows scaled to it; the outer rows set most of a layer's lateral width. Held-out AUC, 250 epochs,
    # seeds 0 and 1: layer 0 alone e+ 0.781, 0.783, gamma 0.757, 0.782 against 0.791, 0.771 and 0.809, 0.825
    # without; layers 0 and 1 e+ 0.737, 0.694, gamma 0.711, 0.667; all 24 observables below 0.05 (docs/benchmarks.md)
    outer_shares: tuple[int, ...] = (0, 1)


@dataclasses.dataclass(frozen=True)
class CaloGANLossConfig:
    loss: str = choices(*LOSSES, default="wgan-gp")  # measured: wgan-gp beat nonsaturating (mean S 0.15 vs 0.37)
    # critic updates per G update: 3 rather than WGAN-GP's usual 5 (150 epochs, mean separation power
    # e+ 0.059 and 0.075 for seeds 0 and 1 against 0.080 and 0.082, gamma 0.039 against 0.053)
    d_steps: int = in_range("[1, inf)", default=3)
    gp_weight: float = in_range("[0, inf)", default=10.0)
    gp_per_layer: bool = True  # hold each layer's gradient norm to 1, not the three layers' together
    # weight of CaloGAN's energy-consistency term in G's loss when G splits the energies itself (layer_energies=
    # generator; with the mixture, the energies are set, the term is not used and setting it is an error; 0 = off,
    # the gap logged). Off measured no better (250 epochs, held-out AUC e+ 0.863, 0.863, 0.907 for seeds 0-2 against
    # 0.870, 0.863, 0.873 on; gamma 0.854, 0.868 against 0.867, 0.879; docs/benchmarks.md), and e+ is the default
    energy_weight: float = in_range("[0, inf)", default=1.0)
    # generate from a moving average of G's weights with this decay per G step; 0 = off (the default:
    # e+, 150 epochs, mean separation power 0.141 from G itself, 0.163 averaged at 0.99, 0.170 at 0.999)
    g_average: float = in_range("[0, 1)", default=0.0)


@dataclasses.dataclass(frozen=True)
class CaloGANScoreConfig:
    # training showers each epoch is scored against (as many as evaluate's held-out set)
    n_epoch: int = in_range("[1, inf)", default=4000)
    classifier_epochs: int = in_range("[1, inf)", default=20)
    # the epoch kept: the lowest AUC of a fresh classifier telling its showers from training showers, or the
    # lowest mean separation power of WATCHED (the same trainings, seeds 0 and 1, judged on the held-out
    # showers: AUC e+ 0.870 and 0.868 against 0.898 and 0.899, gamma 0.904 and 0.906 against 0.914 and 0.930)
    select_by: str = choices("classifier", "separation", default="classifier")


@dataclasses.dataclass(frozen=True)
class CaloGANConfig:
    data: CaloGANDataConfig = dataclasses.field(default_factory=CaloGANDataConfig)
    model: CaloGANModelConfig = dataclasses.field(default_factory=CaloGANModelConfig)
    gan: CaloGANLossConfig = dataclasses.field(default_factory=CaloGANLossConfig)
    score: CaloGANScoreConfig = dataclasses.field(default_factory=CaloGANScoreConfig)
    # 400 epochs (about 11 minutes on 2 cores, each epoch scored): more epochs to keep the best from, not
    # a better average epoch (docs/benchmarks.md; held-out AUC, one thread, seeds 0 and 1: e+ 0.765, 0.778
    # against 0.791, 0.771 at 250 epochs, gamma 0.778, 0.767 against 0.809, 0.825)
    # float32 rather than auto: the fidelity targets were measured so, and bf16 autocast bought no speed where
    # it is native (0.45-0.53 s an epoch either way, AVX512-BF16; docs/benchmarks.md, "Precision and the CPU")
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(
        epochs=400, batch_size=256, lr=1e-4, optimizer="adam", betas=(0.5, 0.9), precision="32"))


class CaloGANTask(GeneratorAverage, Task):
    """G(z, E, particle) -> three layers in MeV with exact zeros; D sees the cells, layer energies and E."""

    name = "calogan"
    config_class = CaloGANConfig
    # what runs saved before these settings existed were trained without
    saved_run_defaults = {"model": {"round_to_spots": False, "spot_sampling": "nearest", "critic_linear_views": (),
                                    "critic_leakage": False, "energy_bumps": 0,
                                    "layer_energies": "generator", "outer_shares": (), "depth": 2},
                          "gan": {"gp_per_layer": False}, "score": {"select_by": "separation"}}
    options = (
        Option("--particle", "data.particles", f"one or more of {', '.join(PARTICLES)}, comma-separated"),
        Option("--data", "data.files", "CaloGAN HDF5 files, one per particle, comma-separated"),
        Option("--loss", "gan.loss", f"one of {', '.join(LOSSES)} (default wgan-gp)"),
    )

    @property
    def monitor(self) -> tuple[str, str]:  # type: ignore[override]
        """The epoch kept: by the classifier's AUC or the watched separation power (`score.select_by`)."""
        return ("auc_then_sep" if self.config.score.select_by == "classifier" else "sep_watched", "min")

    def build(self, *, training: bool) -> None:
        cfg = self.config
        if training and cfg.model.layer_energies == "mixture":  # before the showers are read (or simulated)
            _refuse_settings_the_mixture_ignores(cfg)
        showers, self.source = load_showers(cfg.data, min_particles=1)
        self.particles = tuple(cfg.data.particles)
        index = np.concatenate([np.full(len(s["energy"]), i) for i, s in enumerate(showers)])
        merged = {key: np.concatenate([s[key] for s in showers]) for key in CALOGAN_KEYS}
        parts = split_showers(index, test=cfg.data.test_fraction, val=0.0, seed=cfg.data.split_seed)
        train, test = parts["train"], parts["test"]
        held_out = np.bincount(index[test], minlength=len(self.particles))
        fewest = held_out.argmin()
        if held_out[fewest] < validation.MIN_CLASSIFIER_SHOWERS:  # said before training, not after an epoch
            raise ConfigError(f"data.test_fraction {cfg.data.test_fraction} holds out {held_out[fewest]} of the "
                              f"{len(showers[fewest]['energy'])} {self.particles[fewest]} showers; the scores need at "
                              f"least {validation.MIN_CLASSIFIER_SHOWERS} (give more: data.n_per_particle)")
        self.reference = {"train": _take(merged, index, train), "test": _take(merged, index, test)}
        cells = flatten_layers([torch.from_numpy(merged[f"layer_{k}"].astype(np.float32)) for k in range(3)])
        energy = torch.from_numpy(merged["energy"][:, 0].astype(np.float32))
        particle = torch.from_numpy(index.astype(np.int64))
        self.train_data = tuple(t[torch.from_numpy(train)] for t in (cells, energy, particle))
        self.target_response = self._mean_response(*self.train_data)
        n_particles = len(self.particles)
        G = make_generator(cfg.model, n_particles)
        if cfg.model.round_to_spots:
            G.fit_spot_energy(*self.train_data)
        if G.energy_model is not None and training:  # a resumed or loaded run's fit comes with its weights
            G.fit_layer_energies(*self.train_data, steps=cfg.model.energy_fit_steps, seed=cfg.train.seed)
        if cfg.model.start_at_response:
            G.start_at_response(float(self.target_response.mean()))
        D = CaloDiscriminator(n_particles, cfg.model.d_width, linear_views=cfg.model.critic_linear_views,
                              leakage=cfg.model.critic_leakage, energy_bumps=cfg.model.energy_bumps)
        self.models = {"G": G.to(self.device), "D": D.to(self.device)}
        self.add_generator_average(cfg.gan.g_average)  # no optimiser, no gradients: saved and resumed like G
        if training:
            self.optimizers = {name: make_optimizer(self.models[name].parameters(), cfg.train) for name in ("G", "D")}

    def _mean_response(self, cells: torch.Tensor, energy: torch.Tensor, particle: torch.Tensor) -> torch.Tensor:
        """Each particle's mean deposited / incident energy in the training showers: the energy term's target."""
        response = cells.double().sum(1) / (energy.double() * 1e3)
        return torch.stack([response[particle == i].mean() for i in range(len(self.particles))]).float()

    # -- training ---------------------------------------------------------------------------

    def train_step(self, batch: tuple[torch.Tensor, ...], step: Step) -> Metrics:
        """One critic update; every `d_steps`-th batch also one G update (adversarial + energy terms)."""
        cfg = self.config.gan
        real, energy, particle = batch
        G, D = step.models["G"], step.models["D"]
        # with the mixture, G shapes the training showers' own layer energies: the critic then judges shapes alone
        generator = distributed.unwrap(G)
        units = generator.shower_units(real, energy) if generator.energy_model else None
        with torch.no_grad(), step.autocast():
            fake = flatten_layers(generator(self._latents(len(real)), energy, particle, units=units)).float()
        with step.autocast():
            logits = D(torch.cat([real, fake]), energy.repeat(2), particle.repeat(2)).float()
            real_logits, fake_logits = logits.chunk(2)
            d_loss = discriminator_loss(cfg.loss, real_logits, fake_logits)
            if cfg.loss == "wgan-gp":
                critic = functools.partial(distributed.unwrap(D), particle_index=particle)
                blocks = N_CELLS if cfg.gp_per_layer else None
                d_loss = d_loss + cfg.gp_weight * gradient_penalty(critic, real, fake, labels=energy, blocks=blocks,
                                                                   generator=torch.default_generator)
        step.update(d_loss, "D")
        metrics = {"d_loss": d_loss.detach(), "wasserstein": (real_logits.mean() - fake_logits.mean()).detach()}
        if step.global_step % cfg.d_steps == cfg.d_steps - 1:
            metrics.update(self._generator_update(step, energy, particle, units))
        return metrics

    def _generator_update(self, step: Step, energy: torch.Tensor, particle: torch.Tensor,
                          units: torch.Tensor | None) -> Metrics:
        with step.frozen("D") as D:
            with step.autocast():
                layers = step.models["G"](self._latents(len(energy)), energy, particle, units=units)
                g_loss = generator_loss(self.config.gan.loss, D(layers, energy, particle).float())
                if units is None:  # G's own layer energies: CaloGAN's energy term (given units set them exactly)
                    consistency = energy_consistency(layers, energy, self.target_response.to(energy.device),
                                                     particle_index=particle)
                    g_loss = g_loss + self.config.gan.energy_weight * consistency
            step.update(g_loss, "G")
        self.update_generator_average(step.models["G"])
        metrics = {"g_loss": g_loss.detach()}
        if units is None:
            metrics["energy_gap"] = consistency.detach()
        return metrics

    def _latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.model.latent_dim).to(self.device)  # the global RNG, resumed per rank

    def epoch_end(self, epoch: int, run: RunDir) -> dict[str, float]:
        """Each particle's showers of the epoch against training showers (never the held-out ones): the mean
        separation power of WATCHED, the number of observables at SEPARATION_BOUND or more (summed over
        particles) and, to choose the epoch kept by, the classifier's AUC on the observables (mean over particles)."""
        score = self.config.score
        reference = _first(self.reference["train"], score.n_epoch)
        generated = self.generate_like(reference, seed=epoch)
        generated["particle"] = reference["particle"]
        pairs = [(_select(reference, i), _select(generated, i)) for i in range(len(self.particles))]
        rows = [row for pair in pairs for row in validation.compare_observables(*pair, by_energy=False)
                if row["separation_power"] is not None]
        scores = {"sep_watched": float(np.mean([r["separation_power"] for r in rows if r["observable"] in WATCHED])),
                  "n_above": float(sum(r["separation_power"] >= SEPARATION_BOUND for r in rows))}
        if score.select_by == "classifier":
            aucs = [validation.classifier_test(*pair, seed=0, epochs=score.classifier_epochs) for pair in pairs]
            scores["auc_watched"] = float(np.mean(aucs))
            scores["auc_then_sep"] = scores["auc_watched"] + TIE_BREAK * scores["sep_watched"]
        return scores

    # -- using and judging the generator ------------------------------------------------------

    def generate_like(self, reference: Mapping[str, np.ndarray], *, seed: int, precision: str = "32",
                      compiled: CompiledGenerator | None = None) -> dict[str, np.ndarray]:
        """One generated shower per reference shower, at its particle and incident energy (`precision`: auto,
        32 or bf16-mixed, G's products under bf16 autocast; `compiled`: the sampler compiled, to draw them)."""
        bf16 = resolve_precision(precision, self.device) == "bf16-mixed"
        return _finite(generate(compiled or self.sampler, reference["energy"][:, 0],
                                particle_index=reference["particle"], seed=seed,
                                autocast_dtype=torch.bfloat16 if bf16 else None))

    def sample(self, n: int, *, seed: int, out_dir: Path, particle: str | None = None, energy: str | None = None,
               output: str | None = None, precision: str | None = None, compile: bool = False,
               **unsupported: Any) -> list[str]:
        """`n` showers of one particle at one energy or a uniform range, written in the CaloGAN HDF5 layout.

        `precision` (default auto): bf16-mixed runs G's matrix products under bf16 autocast, as
        `benchmarks/calogan_speed.py` times it (`evaluate --bf16` judges those showers); auto takes it where
        the device computes bf16 natively. `compile`: G compiled by torch.compile first (its time is not in
        the rate printed, which it pays back only over many showers; see `CompiledGenerator`)."""
        reject_options(unsupported, self.name)
        precision = resolve_precision(precision or "auto", self.device)
        particle = particle or self.particles[0]
        if particle not in self.particles:
            raise ConfigError(f"--particle {particle}: this generator knows {', '.join(self.particles)}")
        path = Path(output) if output else out_dir / f"{particle}_seed{seed}.h5"
        require_space(path, n * SHOWER_BYTES, request=f"-n {n}")
        index = self.particles.index(particle)
        compiling, compiled = "", CompiledGenerator(self.sampler) if compile else None
        if compiled:  # a first call compiles (per batch size and dtype): time the showers apart from it
            started = time.perf_counter()
            self._finite_showers(_energies(energy or "1:100", seed=seed)(min(n, GENERATE_BATCH)), index, seed=seed,
                                 precision=precision, compiled=compiled)
            compiling = f", after {time.perf_counter() - started:.0f} s compiling"
        energies, seconds, redrawn, outside = _energies(energy or "1:100", seed=seed), 0.0, 0, 0
        low, high = self._trained_range(particle)
        attrs = {"generator": "nnlab calogan", "particle": particle, "seed": seed, "precision": precision}
        with CaloWriter(path, attrs=attrs) as writer:
            for part, start in enumerate(range(0, n, SAMPLE_CHUNK)):  # memory bounded by a chunk, whatever n
                energy_gev = energies(min(SAMPLE_CHUNK, n - start))
                started = time.perf_counter()
                showers, bad = self._finite_showers(energy_gev, index, seed=_derived_seed(seed, part),
                                                    precision=precision, compiled=compiled)
                seconds += time.perf_counter() - started
                writer.append(showers)
                redrawn += bad
                outside += int(np.sum((energy_gev < low) | (energy_gev > high)))
        notes = [f"note: {redrawn} of {n} showers came out NaN or infinite and were drawn again"] if redrawn else []
        if outside:
            notes.append(_outside_note(outside, n, low, high, particle))
        return [f"wrote {n} generated {particle} showers to {path} (generated in {seconds:.2f} s: "
                f"{n / max(seconds, 1e-9):,.0f} showers/s in {PRECISION_NAMES[precision]}{compiling})", *notes]

    def _finite_showers(self, energy_gev: np.ndarray, index: int, *, seed: int, precision: str,
                        compiled: CompiledGenerator | None) -> tuple[dict[str, np.ndarray], int]:
        """Showers at `energy_gev`, those with NaN or inf drawn again (from further seeds); and how many there were.

        A briefly trained G gave 3 such showers in 300,000; one that gives more than 1% has diverged,
        and the request is refused before it is written.
        """
        def draw(rows: np.ndarray, seed: int) -> dict[str, np.ndarray]:
            return generate(compiled or self.sampler, energy_gev[rows], particle_index=np.full(len(rows), index),
                            seed=seed, autocast_dtype=torch.bfloat16 if precision == "bf16-mixed" else None)

        showers = draw(np.arange(len(energy_gev)), seed)
        bad = _non_finite_rows(showers)
        first = int(bad.sum())
        if first > max(1, len(bad) // 100):
            raise TrainingError(f"the generator gave NaN or infinite values in {first} of {len(bad)} showers: "
                                "its weights have diverged (train again, or sample an earlier run)")
        for attempt in range(1, 4):
            if not bad.any():
                return showers, first
            rows = np.flatnonzero(bad)
            again = draw(rows, _derived_seed(seed, attempt))
            for key, value in again.items():
                showers[key][rows] = value
            bad[rows] = _non_finite_rows(again)
        raise TrainingError("the generator gave NaN or infinite values for the same energies in 4 draws: "
                            "its weights have diverged (train again, or sample an earlier run)")

    def _trained_range(self, particle: str) -> tuple[float, float]:
        """The training showers' energies of `particle`, rounded outward to two significant figures (1.004-99.98 GeV
        becomes 1-100), so that asking for the range the showers were simulated in is not extrapolating."""
        _, energy, index = self.train_data
        trained = energy[index == self.particles.index(particle)].double()
        return _two_figures(float(trained.min()), np.floor), _two_figures(float(trained.max()), np.ceil)

    def _extrapolated(self, energy_gev: np.ndarray, particle: str, what: str = "energies") -> list[str]:
        """A note when requested energies lie outside the training showers' range: G was never judged there."""
        low, high = self._trained_range(particle)
        outside = int(np.sum((energy_gev < low) | (energy_gev > high)))
        return [_outside_note(outside, len(energy_gev), low, high, particle, what)] if outside else []

    def evaluate(self, run: RunDir, *, reference: str | None = None, bf16: bool = False,
                 **unsupported: Any) -> Report:
        """Per particle: separation powers (overall and in energy bins), classifier AUCs, histograms, mean images.

        Against the run's held-out showers, or against `reference`: CaloGAN files, one per particle
        of the run, comma-separated (say, showers simulated with another seed, or real CaloGAN
        files); their report and plots go to plots/vs_<file>/, beside the held-out ones. With `bf16`
        the showers judged are generated under bf16 autocast, and the report goes to a bf16/ folder.
        """
        reject_options(unsupported, self.name)
        if reference:
            paths = [path.strip() for path in reference.split(",")]
            showers, lines = self._reference_files(paths)
            folder = run.plots_dir / ("vs_" + "+".join(Path(path).stem for path in paths))
        else:
            showers = [_select(self.reference["test"], i) for i in range(len(self.particles))]
            lines, folder = [], run.plots_dir
        folder = folder / "bf16" if bf16 else folder
        values: dict[str, Any] = {"data": self.source, "reference": reference or "held-out showers",
                                  "generated in": "bf16 autocast" if bf16 else "float32"}
        files = []
        for particle, showers_of in zip(self.particles, showers):
            generated = self.generate_like(showers_of, seed=1, precision="bf16-mixed" if bf16 else "32")
            values[particle], found, plots = self._judge(particle, showers_of, generated, folder / particle)
            lines += found
            files += plots
        history = run.read_metrics()
        if history and not reference and not bf16:
            from nnlab.plots.training import plot_history

            files.append(plot_history(history, run.plots_dir / "history.png", extra=("sep_watched", "auc_watched")))
        report = Report(values, lines, files)
        report.save(run, folder / "report.json" if reference or bf16 else None)
        return report

    def _reference_files(self, paths: list[str]) -> tuple[list[dict[str, np.ndarray]], list[str]]:
        """One file's showers per particle of the run, refused when labelled as another particle; lines naming
        them, and notes for energies outside the particle's training range (`_extrapolated`)."""
        if len(paths) != len(self.particles) or not all(paths):
            raise ConfigError(f"--reference: give one CaloGAN file per particle of the run "
                              f"({', '.join(self.particles)}), comma-separated; got '{','.join(paths)}'")
        showers, notes = [], []
        for i, (path, particle) in enumerate(zip(paths, self.particles)):
            check_particle(path, particle, option="--reference")
            found = read_calogan(path, empty_ok=False)
            found["particle"] = np.full(len(found["energy"]), i)
            energy = found["energy"][:, 0]
            notes.append(f"{particle}: judged against {path} ({len(energy)} showers)")
            notes += self._extrapolated(energy, particle, what=f"showers of {path}")
            showers.append(found)
        return showers, notes

    def _judge(self, particle: str, reference: dict, generated: dict,
               folder: Path) -> tuple[dict, list[str], list[Path]]:
        """Separation powers, classifier AUCs, plots and a Markdown page for one particle."""
        rows = validation.compare_observables(reference, generated)
        aucs = {features: validation.classifier_test(reference, generated, features=features,
                                                     epochs=self.config.score.classifier_epochs)
                for features in ("observables", "cells")}
        plots = validation.plot_observable_grid(reference, generated, folder)
        plots.append(validation.plot_average_images(reference, generated, folder / "average_images.png"))
        page = validation.write_report(folder / "report.md", {
            "title": f"nnlab calogan: generated {particle} showers against the reference",
            "separation": rows, "classifier_auc": aucs, "images": plots,
            "n_reference": len(reference["energy"]), "n_generated": len(generated["energy"])})
        powers = {r["observable"]: r["separation_power"] for r in rows if r["separation_power"] is not None}
        worst = max(powers, key=powers.get)
        lines = [f"{particle}: classifier AUC {aucs['observables']:.3f} on observables, {aucs['cells']:.3f} on cells "
                 f"(0.5 = indistinguishable; CaloGAN about 1.0)",
                 f"{particle}: separation power mean {np.mean(list(powers.values())):.3f}, worst {worst} "
                 f"{powers[worst]:.3f}; {sum(v < 0.05 for v in powers.values())} of {len(powers)} below 0.05",
                 f"{particle}: report {page}"]
        return {"classifier_auc": aucs, "separation": rows}, lines, [*plots, page]


def make_generator(model: CaloGANModelConfig, n_particles: int) -> CaloGenerator:
    """The generator a model config describes, its spot energies and layer-energy mixture not yet fitted."""
    return CaloGenerator(model.latent_dim, n_particles, model.width, round_to_spots=model.round_to_spots,
                         spot_sampling=model.spot_sampling, energy_bumps=model.energy_bumps,
                         layer_energies=model.layer_energies, outer_shares=model.outer_shares, depth=model.depth)


def _refuse_settings_the_mixture_ignores(cfg: CaloGANConfig) -> None:
    """A setting of G's own energy split changed with the mixture drawing the energies would do nothing: say so."""
    ignored = [name for name, value, default in (
        ("gan.energy_weight", cfg.gan.energy_weight, CaloGANLossConfig.energy_weight),
        ("model.start_at_response", cfg.model.start_at_response, CaloGANModelConfig.start_at_response))
        if value != default]
    if ignored:
        raise ConfigError(f"{' and '.join(ignored)} set G's own split of the layer energies: with "
                          "model.layer_energies=mixture the fitted mixture draws them, so leave them at their defaults "
                          "or set model.layer_energies=generator model.outer_shares=[]")


def _take(showers: Mapping[str, np.ndarray], particle: np.ndarray, index: np.ndarray) -> dict[str, np.ndarray]:
    return {**{key: value[index] for key, value in showers.items()}, "particle": particle[index]}


def _select(showers: Mapping[str, np.ndarray], particle: int) -> dict[str, np.ndarray]:
    keep = showers["particle"] == particle
    return {key: value[keep] for key, value in showers.items()}


def _finite(showers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Generated showers, refused when they hold NaN or inf (diverged weights): never scored or written."""
    bad = [key for key, value in showers.items() if not np.isfinite(value).all()]
    if bad:
        raise TrainingError(f"the generator gave NaN or infinite values in {bad[0]}: its weights have diverged")
    return showers


def _first(showers: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    return {key: value[:n] for key, value in showers.items()}


def _two_figures(value: float, rounding: Callable[[float], float]) -> float:
    """A positive value rounded to two significant figures by `rounding` (np.floor down, np.ceil up)."""
    scale = 10.0 ** (np.floor(np.log10(value)) - 1)
    return float(round(rounding(value / scale) * scale, 12))


def _energies(text: str, *, seed: int) -> Callable[[int], np.ndarray]:
    """--energy "50" -> draws of 50 GeV; "1:100" -> draws uniform in [1, 100] GeV from one stream seeded by
    `seed` (drawn in parts or at once, the same energies)."""
    energy = parse_energy_gev(text)
    if np.ndim(energy) == 0:
        return lambda n: np.full(n, energy)
    rng = np.random.default_rng(seed)
    return lambda n: rng.uniform(energy[0], energy[1], n)


def _derived_seed(seed: int, part: int) -> int:
    """The seed of part `part` of a request (part 0: `seed` itself, so a small request draws what it always did)."""
    return seed if part == 0 else int(np.random.SeedSequence([seed, part]).generate_state(1)[0])


def _non_finite_rows(showers: Mapping[str, np.ndarray]) -> np.ndarray:
    return ~np.all([np.isfinite(value).reshape(len(value), -1).all(axis=1) for value in showers.values()], axis=0)


def _outside_note(outside: int, n: int, low: float, high: float, particle: str, what: str = "energies") -> str:
    return (f"note: {outside} of {n} {what} lie outside the {low:g}-{high:g} GeV of the training {particle} "
            "showers: the generator extrapolates there")
