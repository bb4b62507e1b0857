"""Validate simulated showers against the expected physics numbers and plot their observables.

What is expected, with its sources: docs/physics.md (#expected-means-for-e, #charged-pions,
#validation-observables): GFlash and PDG shower maximum, Moliere containment, layer fractions,
pion MIP fraction and response. The entry point of `nnlab evaluate-sim`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.errors import DataError
from nnlab.evaluation import calo_observables as obs
from nnlab.files import write_text_atomic
from nnlab.physics import sampling
from nnlab.physics.geometry import calogan_calorimeter
from nnlab.physics.simulator import PARTICLES
from nnlab.progress import progress

# docs/physics.md#expected-means-for-e: e+ layer-0 fraction at 10, 50, 100 GeV. Tolerance 0.06: the GFlash
# mean profile with the derived constants itself gives 0.31 / 0.18 / 0.14 (docs/physics.md).
EPLUS_L0 = {10.0: 0.36, 50.0: 0.21, 100.0: 0.16}
L0_TOLERANCE = 0.06
ENERGY_WINDOW = 0.1  # showers within +-10 % of a reference energy
PDG_TMAX_OFFSET = {"eplus": -0.5, "gamma": 0.5}  # t_max = ln y + offset (PDG)
# docs/physics.md#energy-resolution-of-leadliquid-argon-calorimeters: a Pb/LAr sampling term about 10 % sqrt(GeV)
# (ATLAS barrel test beam), 9.6 % by the sampling rule of thumb for this stack; constant term about 0.2 %
SAMPLING_TERM = (0.08, 0.12)
CONSTANT_TERM_MAX = 0.01
QUANTISED_MAX = 0.01  # showers whose layer-1 cells share one energy quantum


@dataclasses.dataclass(frozen=True)
class Check:
    """One comparison: a measured value against an accepted range, with the source of the range."""

    particle: str
    name: str
    value: float
    low: float
    high: float
    source: str

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.value) and self.low <= self.value <= self.high)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "passed": self.passed}


def _window(energy_gev: np.ndarray, centre: float) -> np.ndarray:
    return np.abs(energy_gev - centre) <= ENERGY_WINDOW * centre


def em_checks(particle: str, showers: Mapping[str, np.ndarray], *, visible: bool = False) -> list[Check]:
    """e+/gamma: response, layer fractions, shower maximum vs ln y, Moliere containment, leakage; with `visible`
    (the LAr signal) the sampling fraction and the energy resolution instead of the total response."""
    energy = showers["energy"][:, 0]
    if visible:
        checks = [Check(particle, "visible/incident mean", float(obs.response(showers).mean()), 0.20, 0.235,
                        "e/mip x f_mip = 0.69 x 0.315 = 0.217 (GFlash, PDG dE/dx)")]
        checks += resolution_checks(particle, showers)
    else:
        checks = [Check(particle, "deposited/incident mean", float(obs.response(showers).mean()), 0.96, 1.0,
                        "GFlash and PDG: 0.97-0.99 (GFlash has no backscatter: up to 1.0 accepted)")]
    if particle == "eplus":
        fractions = obs.energy_fractions(obs.layers_of(showers))[:, 0]
        for e_ref, expected in EPLUS_L0.items():
            sel = _window(energy, e_ref)
            if sel.sum() >= 20:
                checks.append(Check(particle, f"L0 fraction at {e_ref:g} GeV", float(fractions[sel].mean()),
                                    expected - L0_TOLERANCE, expected + L0_TOLERANCE, "GFlash longitudinal profile"))
    if "truth/containment_rm" in showers:
        checks.append(Check(particle, "energy within 1 R_M", float(showers["truth/containment_rm"].mean()),
                            0.85, 0.95, "PDG rule of thumb: ~90 %"))
    high = energy >= 90.0
    if "truth/leakage_mev" in showers and high.sum() >= 20:
        leak = showers["truth/leakage_mev"][high] / (energy[high] * 1e3)
        checks.append(Check(particle, "leakage fraction at 90-100 GeV", float(leak.mean()), 0.0, 0.02,
                            "24 X0 deep: e+/gamma nearly contained at 100 GeV"))
    fit = tmax_fit(showers)
    if fit is not None:
        slope, intercept = fit
        checks.append(Check(particle, "t_max slope vs ln y", slope, 0.85, 1.15, "PDG: t_max = ln y + const"))
        expected = PDG_TMAX_OFFSET[particle]
        checks.append(Check(particle, "t_max intercept (X0)", intercept, expected - 0.5, expected + 0.5,
                            f"PDG: t_max = ln y {expected:+.1f}; GFlash T = ln y - 0.86"))
    return checks


def resolution_fit(showers: Mapping[str, np.ndarray], edges_gev: np.ndarray = np.linspace(0.0, 100.0, 21)):
    """Stochastic and constant terms (a, c) of sigma/E = sqrt(a^2 / E + c^2), fitted to the response's relative
    variance in bins of incident energy against each bin's mean 1/E, weighted by its precision (bins of fewer than 50
    showers left out); None without three bins."""
    energy = showers["energy"][:, 0]
    stats = obs.binned_stats(energy, obs.response(showers), edges_gev)
    inverse = obs.binned_stats(energy, 1.0 / energy, edges_gev)["mean"]
    use = (stats["count"] >= 50) & (stats["mean"] > 0)
    if use.sum() < 3:
        return None
    relative2 = (stats["std"][use] / stats["mean"][use]) ** 2
    # each bin's variance is known to a relative 2 / sqrt(count - 1): weight by that, not by its size
    weight = np.sqrt(stats["count"][use] - 1.0) / relative2
    design = np.stack([inverse[use], np.ones(use.sum())], axis=1) * weight[:, None]
    (a2, c2), *_ = np.linalg.lstsq(design, relative2 * weight, rcond=None)
    return float(np.sqrt(max(a2, 0.0))), float(np.sqrt(max(c2, 0.0)))


def resolution_checks(particle: str, showers: Mapping[str, np.ndarray]) -> list[Check]:
    """The visible signal's energy resolution against published lead/liquid-argon calorimeters."""
    fit = resolution_fit(showers)
    if fit is None:
        return []
    a, c = fit
    return [Check(particle, "sampling term a (sqrt GeV)", a, *SAMPLING_TERM,
                  "Pb/LAr: ATLAS barrel ~10 %; 2.7 % sqrt(d / f_samp) = 9.6 % for this stack"),
            Check(particle, "constant term c", c, 0.0, CONSTANT_TERM_MAX, "ATLAS barrel: ~0.2 % (local)")]


def quantum_check(particle: str, showers: Mapping[str, np.ndarray]) -> Check:
    """Share of showers whose layer-1 cells all hold whole multiples of one energy: a calorimeter has no quantum."""
    return Check(particle, "layer 1 in whole quanta (share)", obs.quantised_share(showers["layer_1"]), 0.0,
                 QUANTISED_MAX, "continuous deposits: no energy quantum in a layer")


def tmax_fit(showers: Mapping[str, np.ndarray]) -> tuple[float, float] | None:
    """Slope and intercept of the shower-maximum depth (X0) against ln(E / E_c), from the truth profile."""
    if "truth/depth_profile_mev" not in showers or len(showers["energy"]) < 10:
        return None
    calorimeter = calogan_calorimeter()
    material = calorimeter.material
    t_max = obs.shower_max_depth_mm(showers["truth/depth_profile_mev"], bin_mm=calorimeter.period_mm) / material.x0_mm
    ln_y = np.log(showers["energy"][:, 0] * 1e3 / material.critical_energy_mev)
    return obs.fit_line(ln_y, t_max)


def pion_checks(showers: Mapping[str, np.ndarray], *, visible: bool = False) -> list[Check]:
    """pi+: fraction of pure MIP tracks and their deposit, a broad low response, heavy leakage; with `visible`
    the deposits' ranges scaled by the sampling fractions (MIP 0.315, showers 0.217)."""
    energy, resp = showers["energy"][:, 0], obs.response(showers)
    deposited_gev = resp * energy
    mip = _mip_events(showers)
    margin = 2.0 * np.sqrt(0.3 * 0.7 / len(mip))  # two binomial standard errors
    calorimeter = calogan_calorimeter()
    mip_scale = sampling.mip_sampling_fraction(calorimeter) if visible else 1.0
    shower_scale = sampling.em_sampling_fraction(calorimeter) if visible else 1.0
    label = "visible" if visible else "deposited"
    checks = [Check("piplus", "MIP (no interaction) fraction", float(mip.mean()), 0.28 - margin, 0.35 + margin,
                    "lambda_pi = 1.2 lambda_eff (an estimate): 0.28-0.35, +- 2 standard errors"),
              Check("piplus", f"{label}/incident mean", float(resp.mean()), 0.1 * shower_scale, 0.7 * shower_scale,
                    "e/h 1.74 and 1.28 lambda: broad, low response")]
    if mip.any():
        checks.append(Check("piplus", f"MIP {label} (GeV)", float(deposited_gev[mip].mean()), 0.25 * mip_scale,
                            0.35 * mip_scale, "MIP: ~0.3 GeV over the stack"))
    high = energy >= 90.0
    if "truth/leakage_mev" in showers and high.sum() >= 20:
        leak = showers["truth/leakage_mev"][high] / (energy[high] * 1e3)
        checks.append(Check("piplus", "leakage fraction at 90-100 GeV", float(leak.mean()), 0.3, 1.0,
                            "1.28 lambda deep: pi+ mostly not contained"))
    return checks


def _mip_events(showers: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pure MIP tracks: no interaction in the truth, else a deposit under 0.5 GeV above 5 GeV incident."""
    if "truth/shower_start_mm" in showers:
        return showers["truth/shower_start_mm"] >= calogan_calorimeter().depth_mm
    energy = showers["energy"][:, 0]
    return (obs.response(showers) * energy < 0.5) & (energy > 5.0)


def energy_summary(showers: Mapping[str, np.ndarray], edges_gev: np.ndarray) -> dict[str, list[float]]:
    """Deposited/incident mean and spread, and the mean layer fractions, in bins of incident energy."""
    energy = showers["energy"][:, 0]
    resp = obs.binned_stats(energy, obs.response(showers), edges_gev)
    fractions = obs.energy_fractions(obs.layers_of(showers))
    out = {"energy_gev": resp["centre"].tolist(), "count": resp["count"].tolist(),
           "response_mean": resp["mean"].tolist(), "response_std": resp["std"].tolist()}
    for i in range(fractions.shape[1]):
        out[f"f_{i}_mean"] = obs.binned_stats(energy, fractions[:, i], edges_gev)["mean"].tolist()
    return out


def _load(source: Any) -> tuple[str, dict[str, np.ndarray], bool]:
    """(particle, arrays, visible) from a file path or a dict of arrays (with `particle` and `visible` entries or
    attributes; not visible: the total deposit)."""
    if isinstance(source, (str, os.PathLike)):
        from nnlab.data.calo import read_attrs, read_calogan

        attrs = read_attrs(source)
        return (_particle(attrs.get("particle"), source), read_calogan(source, truth=True, empty_ok=False),
                bool(attrs.get("visible", False)))
    arrays = {k: np.asarray(v) for k, v in source.items() if k not in ("particle", "visible")}
    return _particle(source.get("particle"), "showers"), arrays, bool(source.get("visible", False))


def _particle(label: Any, source: Any) -> str:
    """A file's particle label, checked against the known particles before it names a plot file or a report
    line: a value read from a file is data, never a path ('../x', '/tmp/x') or markup (a newline)."""
    if label is None:
        return "unknown"
    if not isinstance(label, str) or label not in PARTICLES:
        raise DataError(f"{source}: its particle label {str(label)!r:.60} is not one of {', '.join(PARTICLES)}")
    return label


def _sources(showers: Any) -> list[Any]:
    if isinstance(showers, (str, os.PathLike)) or (isinstance(showers, Mapping) and "energy" in showers):
        return [showers]
    if isinstance(showers, Mapping):
        return [{**_as_mapping(v), "particle": k} for k, v in showers.items()]
    return list(showers)


def _as_mapping(source: Any) -> Mapping[str, Any]:
    if isinstance(source, (str, os.PathLike)):
        _, arrays, visible = _load(source)
        return {**arrays, "visible": visible}
    return source


def validate_simulation(showers: Any, out_dir: str | os.PathLike, *,
                        energy_edges_gev: Sequence[float] = tuple(np.linspace(0.0, 100.0, 11))) -> dict[str, Any]:
    """Compare simulated showers with the expected numbers (docs/physics.md); write plots, report.json and report.txt.

    `showers`: a CaloGAN file path, a dict of arrays (with a "particle" entry), a list of
    those, or a {particle: path or arrays} mapping. With both e+ and gamma the photon's
    deeper maximum (PDG: +1 X0) is checked too. Returns the report as a dict whose "text"
    holds the printable table.
    """
    from nnlab.plots.showers import plot_particle  # matplotlib only when plots are drawn

    out_dir = Path(out_dir)
    loaded, visible = {}, {}
    for source in _sources(showers):
        particle, loaded[particle], visible[particle] = _load(source)
    checks, summary, plots = [], {}, []
    for particle, arrays in progress(loaded.items(), "checking and plotting the showers", unit="particle"):
        checks_of = pion_checks if particle == "piplus" else functools.partial(em_checks, particle)
        checks += checks_of(arrays, visible=visible[particle]) + [quantum_check(particle, arrays)]
        summary[particle] = energy_summary(arrays, np.asarray(energy_edges_gev))
        plots += plot_particle(particle, arrays, out_dir)
    checks += _photon_offset_check(loaded)
    report = {"passed": all(c.passed for c in checks), "checks": [c.to_dict() for c in checks],
              "summary": summary, "plots": [str(p) for p in plots]}
    report["text"] = format_report(checks, summary, visible=visible)
    write_text_atomic(out_dir / "report.json", json.dumps({k: v for k, v in report.items() if k != "text"}, indent=2))
    write_text_atomic(out_dir / "report.txt", report["text"])
    return report


def _photon_offset_check(loaded: Mapping[str, Mapping[str, np.ndarray]]) -> list[Check]:
    """Photons peak deeper than electrons of the same energy: PDG +1.0 X0 (GFlash: mean conversion 9/7 X0)."""
    if "eplus" not in loaded or "gamma" not in loaded:
        return []
    fits = [tmax_fit(loaded[p]) for p in ("eplus", "gamma")]
    if None in fits:
        return []
    return [Check("gamma-eplus", "t_max offset at ln y = 7 (X0)", (fits[1][0] - fits[0][0]) * 7.0
                  + fits[1][1] - fits[0][1], 0.5, 1.5, "PDG: photons +1.0 X0 deeper")]


def format_report(checks: Sequence[Check], summary: Mapping[str, Mapping[str, list[float]]], *,
                  visible: Mapping[str, bool] | None = None) -> str:
    """The report as a plain-text table: checks first, then response and layer fractions vs energy (`visible`:
    the particles whose files hold the LAr signal, not the total deposit)."""
    lines = [f"{'particle':<12}{'check':<34}{'value':>9}  {'accepted':<17}{'ok':<5}source"]
    for c in checks:
        lines.append(f"{c.particle:<12}{c.name:<34}{c.value:>9.4f}  [{c.low:.3g}, {c.high:.3g}]".ljust(74)
                     + f"{'yes' if c.passed else 'NO':<5}{c.source}")
    for particle, s in summary.items():
        energy = "  visible/incident" if (visible or {}).get(particle) else "deposited/incident"
        lines += ["", f"{particle}: E (GeV)   N   {energy} (mean, std)   f_0    f_1    f_2"]
        for i, e in enumerate(s["energy_gev"]):
            lines.append(f"  {e:8.1f} {int(s['count'][i]):6d}   {s['response_mean'][i]:.4f} {s['response_std'][i]:.4f}"
                         f"              {s['f_0_mean'][i]:.3f}  {s['f_1_mean'][i]:.3f}  {s['f_2_mean'][i]:.3f}")
    return "\n".join(lines) + "\n"
