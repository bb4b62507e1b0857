"""What every generator of calorimeter showers does beyond its training: score, sample, judge.

A shower generator (CaloGAN's, or a next model) trains on showers read or simulated per particle
and is judged the CaloGAN / CaloChallenge way: each epoch against training showers (the epoch kept
scores lowest), `evaluate` against held-out or reference showers, `sample` into the CaloGAN HDF5
layout in parts with a NaN redraw. A subclass builds G, sets `sampler` and draws with `draw_showers`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from nnlab.config import PRECISIONS
from nnlab.data.calo import CALOGAN_KEYS, CALOGAN_SHAPES, SHOWER_BYTES, CaloWriter, check_particle, read_calogan
from nnlab.data.showers import (first_showers, load_showers, merge_showers, non_finite_rows, select_particle,
                                split_showers, take_showers)
from nnlab.data.shards import share_rows
from nnlab.errors import ConfigError
from nnlab.evaluation import shower_classifiers as classifiers
from nnlab.evaluation import shower_judgement as judgement
from nnlab.evaluation import shower_validation as validation
from nnlab.files import require_space
from nnlab.models.calogan.layout import flatten_layers
from nnlab.physics.simulator import parse_energy_gev
from nnlab.progress import Progress
from nnlab.results import Files
from nnlab.tasks.base import Report, Task, VerbOption, reject_options
from nnlab.training.rundir import RunDir
from nnlab.training.runtime import PRECISION_NAMES, derived_seed, resolve_precision
from nnlab.training.trainer import TrainingError

WATCHED = ("E_tot/E_inc", "f_0", "f_1", "s_d", "lateral_width_1", "sparsity_1")  # scored every epoch
# the epoch kept has the lowest AUC plus this times the watched separation power: where the AUC saturates at 1
# (early in training, or a short run) the separation power still tells the epochs apart
TIE_BREAK = 1e-3
HISTORY_TITLES = {"sep_watched": "separation power, mean of the watched observables (0: the same histograms)",
                  "auc_watched": "classifier AUC, generated vs training showers (0.5: indistinguishable)",
                  "d_loss": "critic loss", "g_loss": "generator loss",
                  "wasserstein": "critic's Wasserstein estimate (mean real minus mean fake score)"}
SEPARATION_BOUND = 0.05  # the target for every observable: each epoch logs how many are at or above it (n_above)
SAMPLE_CHUNK = 16384  # showers `sample` generates and writes at a time: ~66 MB as float64, whatever -n


class ShowerGeneratorTask(Task):
    """Showers of `particles` in, generated showers judged: the subclass's config has `data` (particles,
    files, n_per_particle, energy_gev, sim_seed, test_fraction, split_seed) and `score` (n_epoch,
    classifier_epochs, select_by); it draws showers with `draw_showers` (and `compile_sampler`)."""

    compile_batch: ClassVar[int]  # showers a compiled sampler is first called with (it compiles per batch size)
    verbs = {
        "evaluate": (
            VerbOption(("--reference",), "reference", "calogan: CaloGAN HDF5 files to judge against, one per particle, "
                       "comma-separated (default: the run's held-out showers)"),
            VerbOption(("--bf16",), "bf16", "calogan: judge showers generated under bf16 autocast (as `sample` draws "
                       "them on a CPU or GPU with native bf16; the default judges float32 showers)",
                       {"action": "store_true"}),
            VerbOption(("--protocol",), "protocol", "calogan: the CaloChallenge classifier test: quick (the default, "
                       "3 x 256 units, 20 epochs: seconds on 2 cores), full (3 x 2048, 50 epochs, as the challenge) "
                       "or none", {"choices": ("quick", "full", "none")}),
        ),
        "sample": (
            VerbOption(("--particle",), "particle", "calogan: the particle to generate (default: the run's first)"),
            VerbOption(("--energy",), "energy", "calogan: GeV, one value (50) or a uniform range (1:100, the default)"),
            VerbOption(("-o", "--output"), "output", "calogan: the CaloGAN HDF5 file to write"),
            VerbOption(("--precision",), "precision", "calogan: auto (default: bf16 where the device computes it "
                       "natively, else float32), 32 or bf16-mixed (see evaluate --bf16)", {"choices": PRECISIONS}),
            VerbOption(("--bf16",), "precision", "calogan: the same as --precision bf16-mixed",
                       {"action": "store_const", "const": "bf16-mixed"}),
            VerbOption(("--compile",), "compile", "calogan: compile the generator with torch.compile first (20-30 s "
                       "the first time, needs a C++ compiler; then faster: pays off over millions of showers)",
                       {"action": "store_true"}),
        ),
    }
    particles: tuple[str, ...]
    source: str  # where the showers came from, for the report
    reference: dict[str, dict[str, np.ndarray]]  # the train and held-out test showers, with their particle index

    @property
    def monitor(self) -> tuple[str, str]:  # type: ignore[override]
        """The epoch kept: by the classifier's AUC or the watched separation power (`score.select_by`)."""
        return ("auc_then_sep" if self.config.score.select_by == "classifier" else "sep_watched", "min")

    def draw_showers(self, energy_gev: np.ndarray, particle_index: np.ndarray, *, seed: int, bf16: bool = False,
                     compiled: Any = None) -> dict[str, np.ndarray]:
        """One shower per energy (GeV) and particle index, in the CaloGAN layout, drawn from `seed` (`bf16`: G's
        products under bf16 autocast; `compiled`: what `compile_sampler` made, to draw with)."""
        raise NotImplementedError

    def compile_sampler(self) -> Any:
        """The sampler compiled for `sample --compile`, handed back to `draw_showers`."""
        raise ConfigError(f"--compile does not apply to {self.name} runs")

    def read_showers(self) -> None:
        """The showers of `config.data`: `particles`, `source`, `reference` (train and held-out test showers) and
        `train_data` (flattened cells, energy in GeV, particle index), refused when too few are held out."""
        cfg = self.config.data
        showers, self.source = load_showers(cfg, min_particles=1)
        self.particles = tuple(cfg.particles)
        index, merged = merge_showers(showers, keys=CALOGAN_KEYS)
        parts = split_showers(index, test=cfg.test_fraction, val=0.0, seed=cfg.split_seed)
        train, test = parts["train"], parts["test"]
        held_out = np.bincount(index[test], minlength=len(self.particles))
        fewest = held_out.argmin()
        if held_out[fewest] < classifiers.MIN_CLASSIFIER_SHOWERS:  # said before training, not after an epoch
            raise ConfigError(f"data.test_fraction {cfg.test_fraction} holds out {held_out[fewest]} of the "
                              f"{len(showers[fewest]['energy'])} {self.particles[fewest]} showers; the scores need at "
                              f"least {classifiers.MIN_CLASSIFIER_SHOWERS} (give more: data.n_per_particle)")
        self.reference = {"train": take_showers(merged, index, train), "test": take_showers(merged, index, test)}
        cells = flatten_layers([torch.from_numpy(merged[f"layer_{k}"].astype(np.float32)) for k in range(3)])
        energy = torch.from_numpy(merged["energy"][:, 0].astype(np.float32))
        particle = torch.from_numpy(index.astype(np.int64))
        self.train_data = tuple(t[torch.from_numpy(train)] for t in (cells, energy, particle))

    def epoch_end(self, epoch: int, run: RunDir) -> dict[str, float]:
        """Each particle's showers of the epoch against training showers (never the held-out ones): the mean
        separation power of WATCHED, the number of observables at SEPARATION_BOUND or more (summed over
        particles) and, to choose the epoch kept by, the classifier's AUC on the observables (mean over particles)."""
        score = self.config.score
        reference = first_showers(self.reference["train"], score.n_epoch)
        generated = self.generate_like(reference, seed=epoch)
        generated["particle"] = reference["particle"]
        pairs = [(select_particle(reference, i), select_particle(generated, i)) for i in range(len(self.particles))]
        rows = [row for pair in pairs for row in validation.compare_observables(*pair, by_energy=False)
                if row["separation_power"] is not None]
        scores = {"sep_watched": float(np.mean([r["separation_power"] for r in rows if r["observable"] in WATCHED])),
                  "n_above": float(sum(r["separation_power"] >= SEPARATION_BOUND for r in rows))}
        if score.select_by == "classifier":
            aucs = [classifiers.classifier_test(*pair, seed=0, epochs=score.classifier_epochs) for pair in pairs]
            scores["auc_watched"] = float(np.mean(aucs))
            scores["auc_then_sep"] = scores["auc_watched"] + TIE_BREAK * scores["sep_watched"]
        return scores

    # -- using and judging the generator ------------------------------------------------------

    def generate_like(self, reference: Mapping[str, np.ndarray], *, seed: int, precision: str = "32",
                      compiled: Any = None) -> dict[str, np.ndarray]:
        """One generated shower per reference shower, at its particle and incident energy (`precision`: auto,
        32 or bf16-mixed, G's products under bf16 autocast; `compiled`: the sampler compiled, to draw them)."""
        bf16 = resolve_precision(precision, self.device) == "bf16-mixed"
        return _finite(self.draw_showers(reference["energy"][:, 0], reference["particle"], seed=seed, bf16=bf16,
                                         compiled=compiled))

    def side_by_side(self, *, particle: str | None, energy: str, n: int,
                     seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
        """Up to `n` reference showers of `particle` at `energy` ("50" or "1:100" GeV) and as many generated at
        their energies from `seed`; and where the reference came from (a label and a line), what each side took,
        and notes.

        The reference is what the generator learned from: nnlab's simulator (seeded by `seed`) when the run
        trained on simulated showers, else the run's held-out showers of the training file, within 5% of a
        single energy or inside a range."""
        particle = particle or self.particles[0]
        index = self._particle_index(particle, option="particle")
        requested = parse_energy_gev(energy)
        started = time.perf_counter()
        if self.config.data.files:
            held_out = select_particle(self.reference["test"], index)
            low, high = (requested * 0.95, requested * 1.05) if np.ndim(requested) == 0 else requested
            at = held_out["energy"][:, 0]
            keep = np.flatnonzero((at >= low) & (at <= high))[:n]
            if len(keep) < classifiers.MIN_CLASSIFIER_SHOWERS:
                raise ConfigError(f"only {len(keep)} held-out {particle} showers lie within {low:g}-{high:g} GeV: "
                                  f"ask for a range (the file's held out span {at.min():.3g}-{at.max():.3g} GeV)")
            reference = {key: value[keep] for key, value in held_out.items()}
            label, source = "held out", f"held-out showers of {self.config.data.files[index]}"
        else:
            from nnlab.physics.simulator import simulate

            simulated = simulate(particle, n, energy_gev=requested, seed=seed, profile=False)
            reference = {**{key: simulated[key] for key in CALOGAN_KEYS}, "particle": np.full(n, index)}
            label, source = "simulated", f"nnlab's simulator, seed {seed}"
        reference_seconds, started = time.perf_counter() - started, time.perf_counter()
        generated = self.generate_like(reference, seed=seed)
        return reference, generated, {"particle": particle, "reference": source, "label": label,
                                      "reference_seconds": reference_seconds,
                                      "generated_seconds": time.perf_counter() - started,
                                      "notes": self._extrapolated(reference["energy"][:, 0], particle)}

    def sample(self, n: int, *, seed: int, out_dir: Path, particle: str | None = None, energy: str | None = None,
               output: str | None = None, precision: str | None = None, compile: bool = False,
               shard: tuple[int, int] = (0, 1), **unsupported: Any) -> Files:
        """`n` showers of one particle at one energy or a uniform range, written in the CaloGAN HDF5 layout
        (`shard`: rank and world size of a torchrun launch, whose share of the parts of SAMPLE_CHUNK is written;
        the energies and seeds of a part do not depend on who draws it).

        `precision` (default auto): bf16-mixed runs G's matrix products under bf16 autocast, as
        `benchmarks/calogan_speed.py` times it (`evaluate --bf16` judges those showers); auto takes it where
        the device computes bf16 natively. `compile`: G compiled by torch.compile first (its time is not in
        the rate printed, which it pays back only over many showers; see `compile_sampler`)."""
        reject_options(unsupported, self.name)
        precision = resolve_precision(precision or "auto", self.device)
        particle = particle or self.particles[0]
        index = self._particle_index(particle)
        path = Path(output) if output else out_dir / f"{particle}_seed{seed}.h5"
        mine, n_mine = share_rows(n, SAMPLE_CHUNK, *shard)
        require_space(path, n_mine * SHOWER_BYTES, request=f"-n {n}")
        compiling, compiled = "", self.compile_sampler() if compile else None
        if compiled:  # a first call compiles (per batch size and dtype): time the showers apart from it
            started = time.perf_counter()
            self._finite_showers(_energies(energy or "1:100", seed=seed)(min(n, self.compile_batch)), index, seed=seed,
                                 precision=precision, compiled=compiled)
            compiling = f", after {time.perf_counter() - started:.0f} s compiling"
        energies, seconds, redrawn, outside = _energies(energy or "1:100", seed=seed), 0.0, 0, 0
        low, high = self._trained_range(particle)
        attrs = {"generator": f"nnlab {self.name}", "particle": particle, "seed": seed, "precision": precision}
        with CaloWriter(path, attrs=attrs) as writer:
            for part, start in enumerate(range(0, n, SAMPLE_CHUNK)):  # memory bounded by a chunk, whatever n
                energy_gev = energies(min(SAMPLE_CHUNK, n - start))  # drawn for every part: one stream
                if part not in mine:
                    continue
                started = time.perf_counter()
                showers, bad = self._finite_showers(energy_gev, index, seed=derived_seed(seed, part),
                                                    precision=precision, compiled=compiled)
                seconds += time.perf_counter() - started
                writer.append(showers)
                redrawn += bad
                outside += int(np.sum((energy_gev < low) | (energy_gev > high)))
            if n_mine == 0:  # a rank with no part: the (empty) layout
                writer.append({key: np.zeros((0, *shape)) for key, shape in CALOGAN_SHAPES.items()})
        n = n_mine
        notes = [f"note: {redrawn} of {n} showers came out NaN or infinite and were drawn again"] if redrawn else []
        if outside:
            notes.append(_outside_note(outside, n, low, high, particle))
        measured = {"n": n, "particle": particle, "seconds": seconds, "precision": precision, "redrawn": redrawn,
                    "outside_training_energies": outside}
        return Files([path], measured=measured, notes=notes,
                     lines=[f"wrote {n} generated {particle} showers to {path} (generated in {seconds:.2f} s: "
                            f"{n / max(seconds, 1e-9):,.0f} showers/s in {PRECISION_NAMES[precision]}{compiling})",
                            *notes])

    def _particle_index(self, particle: str, option: str = "--particle") -> int:
        if particle not in self.particles:
            raise ConfigError(f"{option} {particle}: this generator knows {', '.join(self.particles)}")
        return self.particles.index(particle)

    def _finite_showers(self, energy_gev: np.ndarray, index: int, *, seed: int, precision: str,
                        compiled: Any) -> tuple[dict[str, np.ndarray], int]:
        """Showers at `energy_gev`, those with NaN or inf drawn again (from further seeds); and how many there were.

        A briefly trained G gave 3 such showers in 300,000; one that gives more than 1% has diverged,
        and the request is refused before it is written.
        """
        def draw(rows: np.ndarray, seed: int) -> dict[str, np.ndarray]:
            return self.draw_showers(energy_gev[rows], np.full(len(rows), index), seed=seed,
                                     bf16=precision == "bf16-mixed", compiled=compiled)

        showers = draw(np.arange(len(energy_gev)), seed)
        bad = non_finite_rows(showers)
        first = int(bad.sum())
        if first > max(1, len(bad) // 100):
            raise TrainingError(f"the generator gave NaN or infinite values in {first} of {len(bad)} showers: "
                                "its weights have diverged (train again, or sample an earlier run)")
        for attempt in range(1, 4):
            if not bad.any():
                return showers, first
            rows = np.flatnonzero(bad)
            again = draw(rows, derived_seed(seed, attempt))
            for key, value in again.items():
                showers[key][rows] = value
            bad[rows] = non_finite_rows(again)
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

    def evaluate(self, run: RunDir, *, reference: str | None = None, bf16: bool = False, protocol: str | None = None,
                 **unsupported: Any) -> Report:
        """Per particle: separation powers (overall and in energy bins), classifier AUCs, histograms, mean images.

        Against the run's held-out showers, or against `reference`: CaloGAN files, one per particle
        of the run, comma-separated (say, showers simulated with another seed, or real CaloGAN
        files); their report and plots go to plots/vs_<file>/, beside the held-out ones. With `bf16`
        the showers judged are generated under bf16 autocast, and the report goes to a bf16/ folder.
        `protocol`: the CaloChallenge classifier test at full size, quick (for 2 CPU cores) or none.
        """
        reject_options(unsupported, self.name)
        protocol = protocol or "quick"
        if protocol not in (*classifiers.PROTOCOLS, "none"):
            raise ConfigError(f"--protocol {protocol}: choose {', '.join(classifiers.PROTOCOLS)} or none")
        chosen = classifiers.PROTOCOLS.get(protocol)
        if reference:
            paths = [path.strip() for path in reference.split(",")]
            showers, lines = self._reference_files(paths)
            folder = run.plots_dir / ("vs_" + "+".join(Path(path).stem for path in paths))
        else:
            showers = [select_particle(self.reference["test"], i) for i in range(len(self.particles))]
            lines, folder = [], run.plots_dir
        folder = folder / "bf16" if bf16 else folder
        values: dict[str, Any] = {"data": self.source, "reference": reference or "held-out showers",
                                  "generated in": "bf16 autocast" if bf16 else "float32"}
        files = []
        for particle, showers_of in zip(self.particles, showers):
            with Progress(f"judging {len(showers_of['energy']):,} generated {particle} showers (separation powers, "
                          f"classifier tests, plots)", total=1 + judgement.parts(chosen), unit="part") as phase:
                generated = self.generate_like(showers_of, seed=1, precision="bf16-mixed" if bf16 else "32")
                phase.update()
                values[particle], found, plots = judgement.judge(
                    particle, showers_of, generated, folder / particle, phase=phase, protocol=chosen,
                    title=f"nnlab {self.name}: generated {particle} showers against the reference",
                    classifier_epochs=self.config.score.classifier_epochs)
            lines += found
            files += plots
        history = run.read_metrics()
        if history and not reference and not bf16:
            from nnlab.plots.training import plot_history

            files.append(plot_history(history, run.plots_dir / "history.png", extra=("sep_watched", "auc_watched"),
                                      titles=HISTORY_TITLES, run=run.path.name))
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


def _finite(showers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Generated showers, refused when they hold NaN or inf (diverged weights): never scored or written."""
    bad = [key for key, value in showers.items() if not np.isfinite(value).all()]
    if bad:
        raise TrainingError(f"the generator gave NaN or infinite values in {bad[0]}: its weights have diverged")
    return showers


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




def _outside_note(outside: int, n: int, low: float, high: float, particle: str, what: str = "energies") -> str:
    return (f"note: {outside} of {n} {what} lie outside the {low:g}-{high:g} GeV of the training {particle} "
            "showers: the generator extrapolates there")
