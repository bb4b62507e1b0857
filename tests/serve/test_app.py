"""`nnlab serve`'s endpoints, good and bad requests, through FastAPI's test client on a real run folder."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from nnlab.serve.app import create_app


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder with one real (two-epoch) iris run, and a file beside it that no run may reach."""
    from nnlab.cli import main

    root = tmp_path_factory.mktemp("served") / "runs"
    assert main(["train", "iris", "--epochs", "2", "--out", str(root)]) == 0
    (root.parent / "secret.png").write_bytes(b"\x89PNG not yours")
    return root


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app(runs))


def run_id(client) -> str:
    return client.get("/api/runs").json()["runs"][0]["id"]


def test_the_pages_are_served_from_the_package(client):
    for page in ("/", "/playground.html", "/runs.html", "/run.html", "/common.js", "/style.css"):
        response = client.get(page)
        assert response.status_code == 200, page
    assert "Playground" in client.get("/").text
    assert client.get("/nothing.html").status_code == 404


def test_runs_are_listed_with_their_ids_under_the_folder(client, runs):
    listed = client.get("/api/runs").json()
    assert listed["root"] == str(runs.resolve())
    [row] = listed["runs"]
    assert row["task"] == "iris" and row["status"] == "finished" and row["epochs"] == "2/2"
    assert row["id"].startswith("iris/") and (runs / row["id"] / "config.yaml").is_file()


def test_a_missing_runs_folder_lists_nothing(tmp_path):
    assert TestClient(create_app(tmp_path / "none")).get("/api/runs").json()["runs"] == []


def test_a_run_page_has_its_summary_curves_plots_and_resume_command(client, runs):
    found = client.get(f"/api/runs/{run_id(client)}").json()
    assert [row["epoch"] for row in found["metrics"]] == [1, 2]
    assert "val_loss" in found["metrics"][0]
    assert found["config"]["task"] == "iris"
    assert found["resume"] == f"nnlab train iris --resume {(runs / run_id(client)).resolve()}"
    assert any(line.startswith("task: iris") for line in found["lines"])
    assert found["plots"] and all(plot.startswith("plots/") and plot.endswith(".png") for plot in found["plots"])
    picture = client.get(f"/api/runs/{run_id(client)}/files/{found['plots'][0]}")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("path, status, says", [
    ("/api/runs/iris/nope", 404, "no run 'iris/nope'"),
    ("/api/runs/..%2Fsecret.png", 400, "not a path inside the folder"),
    ("/api/runs/%2Fetc", 400, "not a path inside the folder"),
])
def test_a_run_outside_the_folder_or_missing_is_refused_with_a_message(client, path, status, says):
    response = client.get(path)
    assert response.status_code == status and says in response.json()["detail"]


def test_a_run_file_must_be_inside_the_run_and_of_a_served_kind(client, runs):
    base = f"/api/runs/{run_id(client)}/files"
    assert client.get(f"{base}/..%2F..%2F..%2Fsecret.png").status_code == 400
    assert client.get(f"{base}/model.safetensors").status_code == 404  # weights are not served
    (runs / run_id(client) / "plots" / "link.png").symlink_to(runs.parent / "secret.png")
    escaped = client.get(f"{base}/plots/link.png")
    assert escaped.status_code == 400 and "outside" in escaped.json()["detail"]


def test_the_playground_trains_and_its_loss_falls(client):
    created = client.post("/api/playground", json={"points": "xor", "hidden": [4], "lr": 0.5, "noise": 0.05})
    assert created.status_code == 200
    session, first = created.json()["id"], created.json()["frame"]
    assert len(created.json()["points"]["x"]) == 200
    assert len(first["boundary"]) == len(first["boundary"][0]) == 40 and len(first["units"]) == 4
    later = client.post(f"/api/playground/{session}/step?steps=300").json()
    assert later["step"] == 300 and later["loss"] < first["loss"] / 3 and later["accuracy"] > 0.95


def test_the_playground_streams_frames_as_server_sent_events(client):
    session = client.post("/api/playground", json={"points": "circles"}).json()["id"]
    with client.stream("GET", f"/api/playground/{session}/stream?steps=2&frames=3") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    frames = [json.loads(line[len("data: "):]) for line in events[:-1]]
    assert [frame["step"] for frame in frames] == [2, 4, 6] and events[-1] == "data: {}"


@pytest.mark.parametrize("body, field", [
    ({"points": "stars"}, "points"), ({"n": 3}, "n"), ({"hidden": [0]}, "hidden"), ({"hidden": [4] * 5}, "hidden"),
    ({"activation": "gelu"}, "activation"), ({"lr": 0}, "lr"), ({"noise": 2}, "noise"), ({"seed": -1}, "seed"),
])
def test_bad_playground_settings_are_answered_422_naming_the_field(client, body, field):
    response = client.post("/api/playground", json=body)
    assert response.status_code == 422
    assert field in json.dumps(response.json()["detail"])


def test_an_unknown_session_or_a_bad_step_count_is_refused(client):
    assert client.post("/api/playground/nope/step").status_code == 404
    session = client.post("/api/playground", json={}).json()["id"]
    assert client.post(f"/api/playground/{session}/step?steps=0").status_code == 422
    assert client.post(f"/api/playground/{session}/step?steps=100000").status_code == 422
    assert client.get(f"/api/playground/{session}/stream?frames=0").status_code == 422
