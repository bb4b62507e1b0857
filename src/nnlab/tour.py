"""The tour `make demo` runs: each part of nnlab once, on bundled data, printing where the results went."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nnlab import api
from nnlab.results import written

GAN_EPOCHS = 8  # of the default's 60 on mnist-5k: 12-15 s an epoch on 2 AVX2 cores, scores included


def run_tour(out_dir: Path, *, echo: Callable[[str], None], quick: bool = False) -> None:
    """Foundations demos; Iris; a CNN and a GAN on 5,000 real MNIST digits; the calorimeter and CaloGAN.

    Sized to take about five minutes on a 2-core AVX2-only CPU in float32
    (docs/benchmarks.md#precision-and-the-cpu-nnlab-6): the GAN and CaloGAN train far fewer epochs than
    their defaults. `quick` trains one short epoch of each network: a smoke test of the whole tour.
    """
    from nnlab.demos import DEMOS, run_demo
    from nnlab.tasks.gan_config import GANConfig

    short = ["train.epochs=1"] if quick else []

    echo("== Foundations, from scratch in NumPy (nnlab foundations NAME)")
    for name in DEMOS:
        echo(f"-- {name}")
        echo(run_demo(name, out_dir / "foundations"))
    echo("\n== Iris with an MLP (nnlab train iris)")
    result = api.train("iris", out_dir=out_dir, overrides=short)
    _echo_run(result, echo)
    echo("\n== Using the trained run (nnlab predict RUN --input 5.1,3.5,1.4,0.2)")
    for line in api.predict(result.run.path, "5.1,3.5,1.4,0.2").text():
        echo(line)
    echo("\n== A CNN on 4,000 real MNIST digits, tested on 1,000 more (nnlab train cnn)")
    result = api.train("cnn", out_dir=out_dir, overrides=short + (["data.n_train=500"] if quick else []))
    _echo_run(result, echo)
    echo("\n== Inside the CNN (nnlab inspect RUN)")
    for line in api.inspect(result.run.path, steps=5 if quick else 200).text():
        echo(line)
    echo(f"\n== A GAN on the same digits, scored with that CNN: {GAN_EPOCHS} of its default "
         f"{GANConfig().train.epochs} epochs (nnlab train gan --classifier RUN --epochs {GAN_EPOCHS})")
    tiny = ["score.n_epoch=200", "score.n_eval=500", "score.restore_steps=5", "data.n_train=500"] if quick else []
    gan = api.train("gan", out_dir=out_dir, overrides=[*tiny, f"score.classifier={result.run.path}",
                                                       f"train.epochs={1 if quick else GAN_EPOCHS}",
                                                       "score.n_restore=16"])
    _echo_run(gan, echo)
    echo("\n== Drawing from it (nnlab sample RUN --seed 1 --interpolate 10)")
    for line in api.sample(gan.run.path, n=64, seed=1, interpolate=10, label=None).text():
        echo(line)
    _calorimeter(out_dir, echo, quick=quick)


def _calorimeter(out_dir: Path, echo: Callable[[str], None], *, quick: bool) -> None:
    """Photon or hadron from simulated showers, then a small CaloGAN and showers drawn from it."""
    n = 300 if quick else 3000
    echo("\n== Photon or hadron? Showers from nnlab's simulator (nnlab train calo-classifier)")
    classifier = api.train("calo-classifier", out_dir=out_dir, overrides=[
        f"data.n_per_particle={n}", f"train.epochs={1 if quick else 4}"])
    _echo_run(classifier, echo)
    echo("\n== CaloGAN: a shower generator for e+ (nnlab train calogan --particle eplus)")
    calogan = api.train("calogan", out_dir=out_dir, overrides=[
        f"data.n_per_particle={n}", f"train.epochs={1 if quick else 10}", "score.n_epoch=300",
        f"score.classifier_epochs={2 if quick else 20}", f"model.energy_fit_steps={50 if quick else 1000}"])
    _echo_run(calogan, echo)
    echo("\n== Drawing showers from it (nnlab sample RUN --energy 50 -n 1000 -o fake.h5)")
    for line in api.sample(calogan.run.path, n=1000, seed=1, energy="50",
                           output=str(calogan.run.path / "samples" / "eplus_50GeV.h5")).text():
        echo(line)


def _echo_run(result: api.TrainResult, echo: Callable[[str], None]) -> None:
    for line in result.report.lines:
        echo(line)
    echo(f"run: {result.run.path}")
    for path in result.report.files:
        echo(written(path))
