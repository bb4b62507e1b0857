"""The shower viewer's endpoint through FastAPI's test client, on the served calogan run (tests/serve/conftest.py):
its showers checked against nnlab's simulator run directly, and bad requests refused with a message."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nnlab.evaluation.calo_observables import average_image
from nnlab.evaluation.shower_validation import FAMILIES
from nnlab.physics.geometry import LAYER_SHAPES
from nnlab.physics.simulator import simulate
from nnlab.serve.app import create_app


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app(runs))


@pytest.fixture(scope="module")
def calogan(client) -> str:
    return "api/runs/" + next(row["id"] for row in client.get("/api/runs").json()["runs"] if row["task"] == "calogan")


def test_generated_showers_stand_beside_the_simulators_at_the_energy_asked(client, calogan):
    response = client.post(f"/{calogan}/showers", json={"energy": "50", "n": 300, "seed": 2})
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["particle"], view["energy"], view["n"], view["seed"]) == ("eplus", "50", 300, 2)
    assert view["reference_label"] == "simulated" and view["reference"] == "nnlab's simulator, seed 2"
    simulated = simulate("eplus", 300, energy_gev=50.0, seed=2, profile=False)
    for k, shape in enumerate(LAYER_SHAPES):  # the reference is the simulator's, shower for shower
        np.testing.assert_allclose(view["means"]["reference"][k], average_image(simulated[f"layer_{k}"]), atol=1e-3)
        np.testing.assert_allclose(view["examples"]["reference"][1][k], simulated[f"layer_{k}"][1], atol=1e-3)
        assert np.shape(view["means"]["generated"][k]) == shape
        assert [np.shape(shower[k]) for shower in view["examples"]["generated"]] == [shape] * 4
    shown = np.concatenate([np.ravel(layer) for side in view["examples"].values() for shower in side
                            for layer in shower])
    low, high = view["example_range_mev"]  # one log scale: from the faintest lit cell to the brightest
    assert low == pytest.approx(shown[shown > 0].min(), abs=1e-3) and high == pytest.approx(shown.max(), abs=1e-3)
    assert all(view["seconds"][part] > 0 for part in ("reference", "generated", "total"))
    again = client.post(f"/{calogan}/showers", json={"energy": "50", "n": 300, "seed": 2}).json()
    other = client.post(f"/{calogan}/showers", json={"energy": "50", "n": 300, "seed": 3}).json()
    assert again["examples"] == view["examples"] and other["examples"]["generated"] != view["examples"]["generated"]


def test_every_observable_has_its_histograms_on_shared_bins(client, calogan):
    view = client.post(f"/{calogan}/showers", json={"energy": "2:80", "n": 200}).json()
    assert [(h["family"], h["observable"]) for h in view["histograms"]] == [
        (family, name) for family, names in FAMILIES.items() for name in names]
    for h in view["histograms"]:
        reference, generated = np.array(h["reference"]), np.array(h["generated"])
        assert len(h["edges"]) == len(reference) + 1 == len(generated) + 1 == len(h["ratio"]) + 1
        assert np.all(np.diff(h["edges"]) > 0) and h["meaning"]
        assert reference.sum() == pytest.approx(1, abs=1e-4) and generated.sum() == pytest.approx(1, abs=1e-4)
        ratio = np.array([np.nan if r is None else r for r in h["ratio"]])
        filled = reference > 0
        assert np.all(np.isnan(ratio[~filled]))  # nothing to divide by
        np.testing.assert_allclose(ratio[filled], generated[filled] / reference[filled], rtol=1e-3, atol=1e-3)
        assert h["separation_power"] is None or 0 <= h["separation_power"] <= 1


def test_energies_beyond_training_are_noted(client, calogan):
    view = client.post(f"/{calogan}/showers", json={"energy": "300", "n": 20}).json()
    assert view["notes"] and "extrapolates" in view["notes"][0]


@pytest.mark.parametrize("body, status, says", [
    ({"n": 0}, 400, "1 to 10,000 showers"), ({"n": 10_001}, 400, "1 to 10,000 showers"),
    ({"energy": "fifty"}, 400, "give GeV"), ({"energy": "100:1"}, 400, "give GeV"),
    ({"particle": "gamma"}, 400, "knows eplus"), ({"seed": -1}, 422, "seed"), ({"n": "many"}, 422, "n")])
def test_a_bad_shower_request_is_refused_with_a_message(client, calogan, body, status, says):
    response = client.post(f"/{calogan}/showers", json=body)
    assert response.status_code == status and says in json.dumps(response.json()["detail"])


def test_only_a_calogan_run_draws_showers(client):
    cnn = next(row["id"] for row in client.get("/api/runs").json()["runs"] if row["task"] == "cnn")
    response = client.post(f"/api/runs/{cnn}/showers", json={})
    assert response.status_code == 400 and "not a calogan run" in response.json()["detail"]
