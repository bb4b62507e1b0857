"""The classifier tests of generated showers on simulated samples: nnlab's own and the CaloChallenge protocol.
Golden cases: halves of one sample are indistinguishable (AUC ~0.5, JSD ~0), e+ and pi+ are told apart (AUC ~1);
the isotonic calibration is checked against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.errors import ConfigError
from nnlab.evaluation import shower_classifiers as classifiers
from nnlab.physics.simulator import simulate

N = 2000

pytestmark = pytest.mark.usefixtures("one_thread")  # small networks: thread hand-offs cost more than they save


@pytest.fixture(scope="module")
def samples() -> dict[str, dict[str, np.ndarray]]:
    """One e+ and one pi+ sample, 1-100 GeV."""
    return {"eplus": simulate("eplus", N, seed=1, profile=False),
            "piplus": simulate("piplus", N, seed=3, profile=False)}


def _halves(showers: dict[str, np.ndarray]) -> tuple[dict, dict]:
    return ({k: v[: N // 2] for k, v in showers.items()}, {k: v[N // 2:] for k, v in showers.items()})


@pytest.mark.parametrize("features", ["observables", "cells"])
def test_classifier_cannot_tell_halves_of_one_sample_apart(samples, features):
    first, second = _halves(samples["eplus"])
    assert classifiers.classifier_test(first, second, features=features, seed=0) == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("features", ["observables", "cells"])
def test_classifier_tells_eplus_from_piplus(samples, features):
    auc = classifiers.classifier_test(samples["eplus"], samples["piplus"], features=features, seed=0, epochs=5)
    assert auc > 0.9
    assert classifiers.classifier_test(samples["eplus"], samples["piplus"], features=features, seed=0, epochs=5) == auc


@pytest.mark.parametrize("kwargs, match", [({"features": "pixels"}, "features"), ({"epochs": 0}, "epochs")])
def test_bad_classifier_settings_are_config_errors(samples, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        classifiers.classifier_test(samples["eplus"], samples["piplus"], **kwargs)


def test_classifier_needs_a_few_showers_on_each_side(samples):
    few = {k: v[:4] for k, v in samples["piplus"].items()}
    with pytest.raises(ConfigError, match="at least 5 showers"):
        classifiers.classifier_test(samples["eplus"], few)
    assert 0.0 <= classifiers.classifier_test(samples["eplus"], {k: v[:5] for k, v in samples["piplus"].items()}) <= 1.0


SMALL = classifiers.Protocol(width=128, epochs=8, batch_size=256)  # the procedure at test size


@pytest.mark.parametrize("level", ["low", "high"])
def test_the_protocol_cannot_tell_halves_of_one_sample_apart(samples, level):
    found = classifiers.protocol_test(*_halves(samples["eplus"]), level=level, protocol=SMALL)
    assert found["auc"] == pytest.approx(0.5, abs=0.1) and found["jsd"] < 0.05
    assert 1 <= found["epoch_kept"] <= 8 and found["n_train"] == 2 * int(0.6 * N // 2)


@pytest.mark.parametrize("level", ["low", "high"])
def test_the_protocol_tells_eplus_from_piplus(samples, level):
    found = classifiers.protocol_test(samples["eplus"], samples["piplus"], level=level, protocol=SMALL)
    assert found["auc"] > 0.95 and found["jsd"] > 0.6
    assert classifiers.protocol_test(samples["eplus"], samples["piplus"], level=level, protocol=SMALL) == found


def test_the_protocol_features_are_what_the_challenge_reads(samples):
    showers = {k: v[:3] for k, v in samples["eplus"].items()}
    low = classifiers.protocol_features(showers, "low")
    incident = showers["energy"][:, 0] * 1e3
    assert low.shape == (3, 1 + 288 + 144 + 72)
    np.testing.assert_allclose(low[:, 0], np.log10(incident))
    np.testing.assert_allclose(low[:, 1:].sum(axis=1), sum(showers[f"layer_{k}"].sum(axis=(1, 2)) for k in range(3))
                               / incident)
    high = classifiers.protocol_features(showers, "high")
    assert high.shape == (3, 3 + 3 * 6) and np.isfinite(high).all()
    with pytest.raises(ConfigError, match="choose 'low' or 'high'"):
        classifiers.protocol_features(showers, "middle")


def test_the_isotonic_calibration_is_scikit_learns(samples):
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=400), 1)  # ties pooled, as scikit-learn pools them
    labels = (rng.random(400) < 1 / (1 + np.exp(-2 * scores))).astype(float)
    new = np.linspace(-4, 4, 101)  # beyond the scores seen too: flat there
    expected = IsotonicRegression(out_of_bounds="clip").fit(scores, labels).predict(new)
    np.testing.assert_allclose(classifiers.isotonic_calibration(scores, labels)(new), expected, atol=1e-12)
