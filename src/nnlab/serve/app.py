"""`nnlab serve`: the local web app. FastAPI for the JSON API and the static pages shipped in the package.

FastAPI (on Starlette, served by uvicorn) because its request models validate every parameter and
answer a bad one with a 4xx and a message, and its test client drives the app in-process in the
tests. The pages are plain HTML, CSS and JavaScript in nnlab/serve/static: nothing is fetched
from the internet and nothing is built with Node. Every number a page shows comes from an endpoint
below, which calls nnlab.api or nnlab's modules; the pages format nothing of their own.

Only runs under the runs folder are served: a run id is a path relative to it, refused when it is
absolute, holds "..", or resolves (through a symlink) outside it. Nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from nnlab.errors import NnlabError
from nnlab.results import Result, plain
from nnlab.serve.playground import Sessions, Settings

STATIC = Path(__file__).parent / "static"
SERVED_SUFFIXES = {".png": "image/png", ".md": "text/markdown", ".csv": "text/csv", ".yaml": "text/yaml",
                   ".json": "application/json"}
MAX_FRAMES = 2000  # of one playground stream
MAX_UPLOAD = 1_000_000  # bytes of an uploaded picture
SIDE = 28  # a drawing is SIDE x SIDE grey values
MAX_STEPS = 1000  # per playground frame


class PlaygroundRequest(BaseModel):
    points: Literal["and", "or", "xor", "circles", "moons", "spiral"] = "xor"
    n: int = Field(200, ge=4, le=2000)
    noise: float = Field(0.1, ge=0.0, le=1.0)
    hidden: list[Annotated[int, Field(ge=1, le=16)]] = Field(default_factory=lambda: [4], max_length=4)
    activation: Literal["sigmoid", "tanh", "relu"] = "tanh"
    lr: float = Field(0.3, gt=0.0, le=10.0)
    seed: int = Field(0, ge=0, le=2**31 - 1)


def _grid(value: Any) -> Any:
    """The type of SIDE rows of SIDE values, each a `value` (a drawing's grey values, an erasure's flags)."""
    return Annotated[list[Annotated[list[value], Field(min_length=SIDE, max_length=SIDE)]],
                     Field(min_length=SIDE, max_length=SIDE)]


class Drawing(BaseModel):
    pixels: _grid(Annotated[float, Field(ge=0.0, le=1.0)])  # grey values, ink 1 on background 0


class LatentPoint(BaseModel):
    seed: int = Field(0, ge=0, le=2**31 - 1)
    coordinates: list[Annotated[float, Field(ge=-5.0, le=5.0)]] = Field(default_factory=list, max_length=10)
    label: int | None = Field(None, ge=0)
    walk: int = Field(0, ge=0, le=16)


class Erasure(BaseModel):
    index: int = Field(0, ge=0)
    erased: _grid(Annotated[int, Field(ge=0, le=1)])  # 1 erased, 0 kept
    steps: int = Field(200, ge=1, le=1000)


class ShowerRequest(BaseModel):
    particle: str | None = Field(None, max_length=32)  # default: the run's first
    energy: str = Field("50", max_length=40)  # GeV: one value or LOW:HIGH
    n: int = 1000  # nnlab.live bounds it
    seed: int = Field(0, ge=0, le=2**31 - 1)


def create_app(runs_root: str | Path = "runs") -> FastAPI:
    """The app, serving the runs under `runs_root` (which need not exist yet)."""
    app = FastAPI(title="nnlab", docs_url=None, redoc_url=None, openapi_url=None)
    root = Path(runs_root).resolve()
    sessions = Sessions()

    @app.exception_handler(NnlabError)
    async def nnlab_error(request: Request, error: NnlabError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.get("/api/runs")
    def runs() -> dict[str, Any]:
        from nnlab import runs as run_folders

        if not root.is_dir():
            return {"root": str(root), "runs": []}
        rows = [run_folders.describe(run) for run in run_folders.find_runs(root)]
        for row in rows:
            row["id"] = Path(row.pop("run")).resolve().relative_to(root).as_posix()
        return {"root": str(root), "runs": plain(rows)}

    @app.get("/api/runs/{run_id:path}/files/{name:path}")
    def run_file(run_id: str, name: str) -> FileResponse:
        folder = _run_folder(root, run_id)
        path = _inside(folder, name)
        if path.suffix not in SERVED_SUFFIXES or not path.is_file():
            raise HTTPException(404, f"no {name} in run {run_id} (served: {', '.join(SERVED_SUFFIXES)} files)")
        return FileResponse(path, media_type=SERVED_SUFFIXES[path.suffix])

    @app.get("/api/runs/{run_id:path}")
    def run(run_id: str) -> dict[str, Any]:
        from nnlab.reporting import summarize_run
        from nnlab.training.rundir import RunDir

        folder = _run_folder(root, run_id)
        values, lines = summarize_run(folder)
        opened = RunDir(folder)
        plots = sorted(p.relative_to(folder).as_posix() for p in folder.glob("plots/**/*.png"))
        task = values.get("task") or "TASK"
        return plain({"id": run_id, "summary": values, "lines": lines, "config": opened.read_config(),
                      "metrics": opened.read_metrics(), "plots": plots,
                      "resume": f"nnlab train {task} --resume {folder}"})

    @app.post("/api/runs/{run_id:path}/look")
    def look(run_id: str, drawing: Drawing) -> Response:
        from nnlab import live

        return _answer(live.look(_run_folder(root, run_id), np.asarray(drawing.pixels, dtype=np.float32)))

    @app.post("/api/runs/{run_id:path}/look-picture")
    async def look_picture(run_id: str, request: Request) -> Response:
        from nnlab import live
        from nnlab.data.image_files import IMAGE_SUFFIXES, read_image_file

        folder = _run_folder(root, run_id)
        suffix = "." + request.headers.get("content-type", "").removeprefix("image/").split(";")[0].strip()
        if suffix not in IMAGE_SUFFIXES:
            raise HTTPException(415, f"send a picture ({', '.join(IMAGE_SUFFIXES)}) as the body, with its "
                                     f"Content-Type image/...")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD:
                raise HTTPException(413, f"a picture may be at most {MAX_UPLOAD:,} bytes")
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"upload{suffix}"
            path.write_bytes(body)
            image, note = read_image_file(path)
        seen = live.look(folder, image)
        return _answer(dataclasses.replace(seen, notes=[note.removeprefix(f"{path.name}: "), *seen.notes]))

    @app.post("/api/runs/{run_id:path}/latent")
    def latent(run_id: str, point: LatentPoint) -> Response:
        from nnlab import live

        return _answer(live.latent_view(_run_folder(root, run_id), seed=point.seed, coordinates=point.coordinates,
                                        label=point.label, walk=point.walk))

    @app.post("/api/runs/{run_id:path}/inpaint")
    def inpaint(run_id: str, erasure: Erasure) -> Response:
        from nnlab import live

        return _answer(live.inpaint(_run_folder(root, run_id), erasure.index,
                                    np.asarray(erasure.erased, dtype=bool), steps=erasure.steps))

    @app.post("/api/runs/{run_id:path}/showers")
    def showers(run_id: str, asked: ShowerRequest) -> Response:
        from nnlab import live

        return _answer(live.showers(_run_folder(root, run_id), particle=asked.particle, energy=asked.energy,
                                    n=asked.n, seed=asked.seed))

    @app.post("/api/playground")
    def playground_new(request: PlaygroundRequest) -> dict[str, Any]:
        key, session = sessions.new(Settings(**{**request.model_dump(), "hidden": tuple(request.hidden)}))
        return {"id": key, "points": session.points(), "frame": session.frame()}

    @app.post("/api/playground/{key}/step")
    def playground_step(key: str, steps: int = Query(1, ge=1, le=MAX_STEPS)) -> dict[str, Any]:
        session = _session(sessions, key)
        session.step(steps)
        return session.frame()

    @app.get("/api/playground/{key}/stream")
    def playground_stream(key: str, steps: int = Query(5, ge=1, le=MAX_STEPS),
                          frames: int = Query(200, ge=1, le=MAX_FRAMES)) -> StreamingResponse:
        session = _session(sessions, key)

        def events() -> Iterator[str]:  # a sync generator: Starlette runs it in a worker thread
            for _ in range(frames):
                session.step(steps)
                yield f"data: {json.dumps(session.frame())}\n\n"
            yield "event: end\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    app.mount("/", StaticFiles(directory=STATIC, html=True), name="pages")
    return app


def _answer(result: Result) -> Response:
    """A result of nnlab.live as JSON, its arrays to 3 decimals (each page draws an image on its own scale),
    encoded at once: FastAPI's own encoder walks a drawing's 50,000 numbers one by one, which took most of a
    round trip."""
    def encoded(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return np.round(value.astype(np.float64), 3).tolist()
        if isinstance(value, (list, tuple)):
            return [encoded(item) for item in value]
        return plain(value)

    fields = [field.name for field in dataclasses.fields(result) if field.repr]
    return Response(json.dumps({name: encoded(getattr(result, name)) for name in fields}),
                    media_type="application/json")


def _inside(folder: Path, relative: str) -> Path:
    """`relative` under `folder`, refused when it is absolute, climbs with "..", or resolves outside."""
    parts = Path(relative).parts
    if not relative or Path(relative).is_absolute() or ".." in parts or "\\" in relative:
        raise HTTPException(400, f"'{relative}' is not a path inside the folder")
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise HTTPException(400, f"'{relative}' leads outside the folder (a link?)")
    return path


def _run_folder(root: Path, run_id: str) -> Path:
    folder = _inside(root, run_id)
    if not (folder / "config.yaml").is_file():
        raise HTTPException(404, f"no run '{run_id}' under {root}")
    return folder


def _session(sessions: Sessions, key: str):
    session = sessions.get(key)
    if session is None:
        raise HTTPException(404, f"no playground session {key} (the server forgets all but the newest 32)")
    return session
