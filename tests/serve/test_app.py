"""`nnlab serve`'s endpoints, good and bad requests, through FastAPI's test client on a real run folder
(`runs`, tests/serve/conftest.py)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from nnlab.serve.app import create_app


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app(runs))


def run_id(client, task: str = "iris") -> str:
    return next(row["id"] for row in client.get("/api/runs").json()["runs"] if row["task"] == task)


def test_the_pages_are_served_from_the_package(client):
    for page in ("/", "/playground.html", "/showers.html", "/runs.html", "/run.html", "/common.js", "/style.css"):
        response = client.get(page)
        assert response.status_code == 200, page
    assert "Playground" in client.get("/").text
    assert client.get("/nothing.html").status_code == 404


def test_runs_are_listed_with_their_ids_under_the_folder(client, runs):
    listed = client.get("/api/runs").json()
    assert listed["root"] == str(runs.resolve())
    assert sorted(row["task"] for row in listed["runs"]) == ["calogan", "cnn", "gan", "gan", "iris"]
    row = next(row for row in listed["runs"] if row["task"] == "iris")
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
    link = runs / run_id(client) / "plots" / "link.png"
    link.symlink_to(runs.parent / "secret.png")
    try:
        escaped = client.get(f"{base}/plots/link.png")
    finally:
        link.unlink()
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


def a_one() -> list[list[float]]:
    """A drawn "1": a vertical stroke, 28x28, ink 1 on 0."""
    pixels = [[0.0] * 28 for _ in range(28)]
    for row in range(4, 24):
        pixels[row][13] = pixels[row][14] = 1.0
    return pixels


def test_a_drawing_is_classified_and_shown_layer_by_layer(client):
    seen = client.post(f"/api/runs/{run_id(client, 'cnn')}/look", json={"pixels": a_one()})
    assert seen.status_code == 200, seen.text
    found = seen.json()
    assert found["classes"] == [str(k) for k in range(10)] and abs(sum(found["probabilities"]) - 1) < 1e-3
    assert found["predicted"] == found["classes"][max(range(10), key=found["probabilities"].__getitem__)]
    assert len(found["input"]) == 28 and any("20x20" in note for note in found["notes"])  # fitted as MNIST was
    assert len(found["filters"][0]) == 3 and len(found["feature_maps"]) >= 2
    name, maps = found["feature_maps"][0]
    assert name.startswith("features.") and len(maps[0]) == 28


def test_an_uploaded_picture_is_read_like_a_drawing(client, tmp_path):
    import numpy as np
    from PIL import Image

    path = tmp_path / "one.png"
    Image.fromarray((255 - 255 * np.asarray(a_one())).astype(np.uint8)).resize((140, 140)).save(path)  # dark on light
    seen = client.post(f"/api/runs/{run_id(client, 'cnn')}/look-picture", content=path.read_bytes(),
                       headers={"Content-Type": "image/png"})
    assert seen.status_code == 200, seen.text
    assert any("inverted" in note for note in seen.json()["notes"])


@pytest.mark.parametrize("pixels, status", [
    ([[0.0] * 28] * 27, 422), ([[0.0] * 27] * 28, 422), ([[2.0] * 28] * 28, 422), ("ink", 422)])
def test_a_bad_drawing_is_refused_naming_the_problem(client, pixels, status):
    response = client.post(f"/api/runs/{run_id(client, 'cnn')}/look", json={"pixels": pixels})
    assert response.status_code == status and "pixels" in json.dumps(response.json()["detail"])


def test_only_a_cnn_run_looks_and_only_a_small_real_picture_is_read(client):
    not_cnn = client.post(f"/api/runs/{run_id(client)}/look", json={"pixels": a_one()})
    assert not_cnn.status_code == 400 and "not a cnn run" in not_cnn.json()["detail"]
    url = f"/api/runs/{run_id(client, 'cnn')}/look-picture"
    assert client.post(url, content=b"%PDF", headers={"Content-Type": "application/pdf"}).status_code == 415
    too_big = client.post(url, content=b"\0" * 1_000_001, headers={"Content-Type": "image/png"})
    assert too_big.status_code == 413 and "at most 1,000,000 bytes" in too_big.json()["detail"]
    broken = client.post(url, content=b"not a png", headers={"Content-Type": "image/png"})
    assert broken.status_code == 400 and broken.json()["detail"]


def gan_run(client, arch: str) -> str:
    return next(row["id"] for row in client.get("/api/runs").json()["runs"] if row["id"].endswith(f"-{arch}"))


@pytest.mark.parametrize("arch, dim, sliders", [("mlp", 10, "axes"), ("dcgan", 64, "strongest directions")])
def test_a_slider_moves_the_image_and_the_walk_leads_on(client, arch, dim, sliders):
    url = f"/api/runs/{gan_run(client, arch)}/latent"
    still = client.post(url, json={"seed": 3, "walk": 5}).json()
    assert (still["latent_dim"], still["sliders"], still["n_sliders"]) == (dim, sliders, 10)
    assert len(still["image"]) == 28 and len(still["walk"]) == 5 and still["walk"][0] == still["image"]
    moved = client.post(url, json={"seed": 3, "coordinates": [2.5]}).json()
    change = sum(abs(a - b) for row_a, row_b in zip(still["image"], moved["image"]) for a, b in zip(row_a, row_b))
    assert change > 0.1 and moved["walk"] == []  # a barely trained G: still, the image moved
    again = client.post(url, json={"seed": 3, "coordinates": [2.5]}).json()
    assert again["image"] == moved["image"]  # the same point, the same image


@pytest.mark.parametrize("body, status", [
    ({"coordinates": [0.0] * 11}, 422), ({"coordinates": [9.0]}, 422), ({"walk": 17}, 422), ({"seed": -1}, 422),
    ({"label": 3}, 400)])
def test_a_bad_latent_point_is_refused(client, body, status):
    response = client.post(f"/api/runs/{gan_run(client, 'mlp')}/latent", json=body)
    assert response.status_code == status, response.text
    if status == 400:
        assert "class" in response.json()["detail"]


def test_only_a_gan_run_has_a_latent_space(client):
    response = client.post(f"/api/runs/{run_id(client, 'cnn')}/latent", json={})
    assert response.status_code == 400 and "not a gan run" in response.json()["detail"]


def test_a_hole_erased_in_a_test_image_is_filled_and_the_rest_kept(client):
    erased = [[1 if 9 <= i < 19 and 9 <= j < 19 else 0 for j in range(28)] for i in range(28)]
    response = client.post(f"/api/runs/{gan_run(client, 'mlp')}/inpaint", json={"index": 4, "erased": erased,
                                                                                  "steps": 20})
    assert response.status_code == 200, response.text
    done = response.json()
    assert (done["index"], done["steps"]) == (4, 20)
    for i in range(28):
        for j in range(28):
            if erased[i][j]:
                assert done["erased"][i][j] == 0.0  # black where erased
            else:
                assert done["filled"][i][j] == done["clean"][i][j] == done["erased"][i][j]  # kept as it was
    assert any(done["filled"][i][j] > 0.05 for i in range(9, 19) for j in range(9, 19))  # G drew in the hole
    assert isinstance(done["psnr_erased"], float) and isinstance(done["psnr_filled"], float)


def test_nothing_erased_leaves_the_image_and_no_psnr(client):
    done = client.post(f"/api/runs/{gan_run(client, 'mlp')}/inpaint", json={"erased": [[0] * 28] * 28}).json()
    assert done["filled"] == done["clean"] and done["psnr_erased"] is None and done["psnr_filled"] is None


@pytest.mark.parametrize("body, status, says", [
    ({"index": 10_000, "erased": [[0] * 28] * 28}, 400, "numbered 0 to"),
    ({"erased": [[0] * 27] * 28}, 422, "erased"), ({"erased": [[2] * 28] * 28}, 422, "erased"),
    ({"erased": [[0] * 28] * 28, "steps": 0}, 422, "steps")])
def test_a_bad_erasure_is_refused(client, body, status, says):
    response = client.post(f"/api/runs/{gan_run(client, 'mlp')}/inpaint", json=body)
    assert response.status_code == status and says in json.dumps(response.json()["detail"])
