"""CaloGAN: a generator of calorimeter showers conditioned on the particle and its energy (the lecture's close).

Trains on CaloGAN HDF5 files or on nnlab's own simulated showers with the same code, through
the one Trainer (the adversarial update, nnlab.training.adversarial, is `train_step`: the critic
`d_steps` times, then G). What any shower generator does beyond that lives in ShowerGeneratorTask:
`evaluate` judges it the CaloGAN / CaloChallenge way against held-out reference showers;
`nnlab sample RUN --particle gamma --energy 50 -n 10000 -o fake.h5` writes the CaloGAN layout.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import numpy as np
import torch

from nnlab.config import TrainConfig, choices, in_range
from nnlab.errors import ConfigError
from nnlab.models.calogan.consistency import energy_consistency
from nnlab.models.calogan.critic import CaloDiscriminator
from nnlab.models.calogan.generator import LAYER_ENERGIES, CaloGenerator
from nnlab.models.calogan.inference import GENERATE_BATCH, CompiledGenerator, generate
from nnlab.models.calogan.layout import N_CELLS, flatten_layers
from nnlab.models.calogan.spots import SPOT_SAMPLING
from nnlab.physics.simulator import PARTICLES
from nnlab.tasks.base import Option
from nnlab.tasks.shower_generator import ShowerGeneratorTask
from nnlab.training import distributed
from nnlab.training.adversarial import AdversarialLoss, adversarial_step, wasserstein
from nnlab.training.ema import GeneratorAverage
from nnlab.training.gan_losses import LOSSES
from nnlab.training.schedules import make_optimizer
from nnlab.training.trainer import Metrics, Step

log = logging.getLogger("nnlab")


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
    # hidden layers in each of G's streams: one judged as well as two, and samples faster
    # (docs/calogan.md#one-hidden-layer-per-stream-width-256)
    depth: int = in_range("[1, inf)", default=1)
    d_width: int = in_range("[1, inf)", default=128)  # D's hidden width
    # with layer_energies=generator: start G's response E_tot / E at the training showers' mean, not 0.5 (e+,
    # 150 epochs: E_tot/E_inc separation power 0.06 against 0.37, mean over all observables 0.125 against 0.141)
    start_at_response: bool = True
    # round G's cells to whole spots of an energy fitted to the smallest cells: off, since a generator must not
    # assume its file's cells share an energy quantum (real ones do not, nor do nnlab's simulated ones from
    # simulator 2.0); kept for runs trained with it (docs/calogan.md#cells-in-whole-spots-an-option-off-by-default)
    round_to_spots: bool = False
    # each cell's whole spots drawn around G's expected number: dithered (floor(x + u)), like Poisson counts
    # ('random'), or rounded to the nearest; dithering judged as well as random counts and samples faster
    # (docs/calogan.md#cells-in-whole-spots-an-option-off-by-default)
    spot_sampling: str = choices(*SPOT_SAMPLING, default="dither")
    # layers whose critic stream also reads the cells over the layer's hottest: the core's energy sharing
    # (E_ratio) that the log scale hides; the sparse back layer's own view made it worse
    # (docs/calogan.md#what-the-critic-reads)
    critic_linear_views: tuple[int, ...] = (0, 1)
    # the critic also reads log(1 - E_tot / E): the response then no longer drifts with the energy
    # (docs/calogan.md#what-the-critic-reads)
    critic_leakage: bool = True
    # G and the critic read the energy also as this many bumps over 1-100 GeV (0 = the log energy alone):
    # each energy region gets inputs of its own (docs/calogan.md#the-energy-read-as-8-bumps)
    energy_bumps: int = in_range("[0, inf)", default=8)
    # who draws the layer energies: a Gaussian mixture fitted to the training showers by maximum likelihood before
    # the GAN trains, G shaping the layers for them, or G's own streams
    # (docs/calogan.md#the-layer-energies-come-from-a-fitted-mixture)
    layer_energies: str = choices(*LAYER_ENERGIES, default="mixture")
    energy_fit_steps: int = in_range("[1, inf)", default=3000)  # Adam steps of that fit (batches of 2,048)
    # layers whose outer rows' share of the layer's energy (off the rows the axis runs through) the mixture also
    # draws, G's rows scaled to it; the outer rows set most of a layer's lateral width
    # (docs/calogan.md#the-layer-energies-come-from-a-fitted-mixture)
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
    # the gap logged). Off measured no better (docs/calogan.md#calogans-energy-consistency-term-stays-on)
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
    # 400 epochs: more epochs to keep the best from, not a better average epoch
    # (docs/calogan.md#400-epochs-the-epoch-kept-by-a-classifiers-auc). float32 rather than auto: the fidelity
    # targets were measured so, and bf16 autocast bought no speed where it is native
    # (docs/calogan.md#precision-sampling-speed-and-compiling)
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(
        epochs=400, batch_size=256, lr=1e-4, optimizer="adam", betas=(0.5, 0.9), precision="32"))


class CaloGANTask(GeneratorAverage, ShowerGeneratorTask):
    """G(z, E, particle) -> three layers in MeV with exact zeros; D sees the cells, layer energies and E."""

    name = "calogan"
    config_class = CaloGANConfig
    compile_batch = GENERATE_BATCH
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

    def build(self, *, training: bool) -> None:
        cfg = self.config
        if training and cfg.model.layer_energies == "mixture":  # before the showers are read (or simulated)
            _refuse_settings_the_mixture_ignores(cfg)
        self.read_showers()
        self.target_response = self._mean_response(*self.train_data)
        n_particles = len(self.particles)
        G = make_generator(cfg.model, n_particles)
        if cfg.model.round_to_spots:
            G.fit_spot_energy(*self.train_data)
        if G.energy_model is not None and training:  # a resumed or loaded run's fit comes with its weights
            log.info(f"before epoch 1: fitting the layer energies' mixture, {cfg.model.energy_fit_steps:,} Adam "
                     f"steps (--set model.energy_fit_steps=N sets how many)")
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
        # with the mixture, G shapes the training showers' own layer energies: the critic then judges shapes alone
        generator = distributed.unwrap(step.models["G"])
        units = generator.shower_units(real, energy) if generator.energy_model else None
        losses = AdversarialLoss(loss=cfg.loss, d_steps=cfg.d_steps, gp_weight=cfg.gp_weight,
                                 gp_blocks=N_CELLS if cfg.gp_per_layer else None)
        # G's own layer energies: CaloGAN's energy term (given units set them exactly)
        energy_term = functools.partial(self._energy_term, energy=energy, particle=particle) if units is None else None
        return adversarial_step(step, real, (energy, particle), losses=losses, critic_metrics=wasserstein,
                                draw=lambda G: G(self._latents(len(real)), energy, particle, units=units),
                                critic_input=lambda layers: flatten_layers(layers).float(),
                                generator_term=energy_term, after_generator_step=self.update_generator_average)

    def _energy_term(self, layers: list[torch.Tensor], *, energy: torch.Tensor,
                     particle: torch.Tensor) -> tuple[torch.Tensor, Metrics]:
        """CaloGAN's energy-consistency term of G's loss, weighted, and the gap it measures."""
        consistency = energy_consistency(layers, energy, self.target_response.to(energy.device),
                                         particle_index=particle)
        return self.config.gan.energy_weight * consistency, {"energy_gap": consistency.detach()}

    def _latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.model.latent_dim).to(self.device)  # the global RNG, resumed per rank

    # -- drawing showers (ShowerGeneratorTask does the rest) --------------------------------------

    def draw_showers(self, energy_gev: np.ndarray, particle_index: np.ndarray, *, seed: int, bf16: bool = False,
                     compiled: CompiledGenerator | None = None) -> dict[str, np.ndarray]:
        return generate(compiled or self.sampler, energy_gev, particle_index=particle_index, seed=seed,
                        autocast_dtype=torch.bfloat16 if bf16 else None)

    def compile_sampler(self) -> CompiledGenerator:
        return CompiledGenerator(self.sampler)


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
