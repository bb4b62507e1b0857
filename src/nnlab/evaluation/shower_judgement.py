"""Everything nnlab says of generated showers against reference ones, for one particle, in one call: separation
powers, nnlab's classifier test, the CaloChallenge protocol's, the plots and a Markdown page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.evaluation import calo_observables as obs
from nnlab.evaluation import shower_classifiers as classifiers
from nnlab.evaluation import shower_validation as validation
from nnlab.progress import Progress


def parts(protocol: classifiers.Protocol | None) -> int:
    """How many parts of a Progress `judge` reports."""
    return 4 + (2 if protocol else 0)


def judge(particle: str, reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray], folder: Path, *,
          title: str, classifier_epochs: int, protocol: classifiers.Protocol | None,
          phase: Progress) -> tuple[dict[str, Any], list[str], list[Path]]:
    """Separation powers (overall and by energy), nnlab's classifier AUCs on observables and cells, the
    CaloChallenge protocol's AUC and JSD on low- and high-level features (unless `protocol` is None), the share
    of showers whose layer 1 is in whole multiples of one energy (a quantum the reference may lack), the
    histogram and mean-image plots and folder/report.md; the values, the lines to print, the files."""
    rows = validation.compare_observables(reference, generated)
    phase.update()
    aucs = {}
    for features in ("observables", "cells"):
        aucs[features] = classifiers.classifier_test(reference, generated, features=features, epochs=classifier_epochs)
        phase.update()
    challenge = {}
    for level in ("low", "high") if protocol else ():
        challenge[level] = classifiers.protocol_test(reference, generated, level=level, protocol=protocol)
        phase.update()
    plots = validation.plot_observable_grid(reference, generated, folder)
    plots.append(validation.plot_average_images(reference, generated, folder / "average_images.png"))
    settings = f"{protocol.depth} x {protocol.width}, {protocol.epochs} epochs" if protocol else ""
    quanta = {"generated": obs.quantised_share(generated["layer_1"]),
              "reference": obs.quantised_share(reference["layer_1"])}
    quantum_line = (f"layer 1 in whole multiples of one energy in {quanta['generated']:.1%} of the generated showers, "
                    f"{quanta['reference']:.1%} of the reference")
    page = validation.write_report(folder / "report.md", {
        "title": title, "separation": rows, "classifier_auc": aucs, "images": plots,
        "notes": [quantum_line[0].upper() + quantum_line[1:] + ".", ""],
        "protocol": challenge, "protocol_settings": settings,
        "n_reference": len(reference["energy"]), "n_generated": len(generated["energy"])})
    phase.update()
    powers = {r["observable"]: r["separation_power"] for r in rows if r["separation_power"] is not None}
    worst = max(powers, key=powers.get)
    lines = [f"{particle}: classifier AUC {aucs['observables']:.3f} on observables, {aucs['cells']:.3f} on cells "
             f"(0.5 = indistinguishable, 1.0 = always told apart)"]
    if challenge:
        lines.append(f"{particle}: CaloChallenge classifier ({settings}) AUC {challenge['low']['auc']:.3f} low level, "
                     f"{challenge['high']['auc']:.3f} high level; JSD {challenge['low']['jsd']:.3f} and "
                     f"{challenge['high']['jsd']:.3f} bits")
    lines += [f"{particle}: separation power mean {np.mean(list(powers.values())):.3f}, worst {worst} "
              f"{powers[worst]:.3f}; {sum(v < 0.05 for v in powers.values())} of {len(powers)} below 0.05",
              f"{particle}: {quantum_line}", f"{particle}: report {page}"]
    values = {"classifier_auc": aucs, "separation": rows, "whole_quanta": quanta}
    if challenge:
        values["calochallenge"] = {**challenge, "settings": settings}
    return values, lines, [*plots, page]
