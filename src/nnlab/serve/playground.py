"""The playground's training: a feed-forward net from nnlab.foundations on 2-D points, frame by frame.

A session holds the points, the network's weights and its step count. Each frame is what the page
draws: the loss and accuracy, P(class 1) over a grid (the decision boundary as a heat map), and each
first-layer hidden unit's own activation over the same grid.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import OrderedDict
from typing import Any

import numpy as np

from nnlab.foundations.activations import ACTIVATIONS, cross_entropy, softmax
from nnlab.foundations.network import forward, init_params, loss_and_gradients
from nnlab.foundations.points import make_points

GRID = 40  # cells a side of the heat maps
EXTENT = 1.5  # the heat maps cover [-EXTENT, EXTENT]^2
MAX_SESSIONS = 32  # the oldest is forgotten beyond this


@dataclasses.dataclass(frozen=True)
class Settings:
    points: str = "xor"
    n: int = 200
    noise: float = 0.1
    hidden: tuple[int, ...] = (4,)
    activation: str = "tanh"
    lr: float = 0.3
    seed: int = 0


class Session:
    """One network training on one point set by full-batch gradient descent."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.x, self.labels = make_points(settings.points, settings.n, noise=settings.noise, seed=settings.seed)
        rng = np.random.default_rng(settings.seed)
        self.params = init_params([2, *settings.hidden, 2], rng=rng)
        self.step_count = 0
        axis = np.linspace(-EXTENT, EXTENT, GRID)
        gx, gy = np.meshgrid(axis, -axis)  # row 0 at the top, as an image
        self.grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        self.lock = threading.Lock()  # one step or frame at a time per session

    def step(self, n: int) -> None:
        """`n` steps of gradient descent on all points."""
        with self.lock:
            for _ in range(n):
                _, grads = loss_and_gradients(self.params, self.x, self.labels, activation=self.settings.activation)
                self.params = [(w - self.settings.lr * gw, b - self.settings.lr * gb)
                               for (w, b), (gw, gb) in zip(self.params, grads)]
            self.step_count += n

    def frame(self) -> dict[str, Any]:
        """What the page draws now."""
        with self.lock:
            activation = self.settings.activation
            logits = forward(self.params, self.x, activation=activation).logits
            on_grid = forward(self.params, self.grid, activation=activation)
            phi = ACTIVATIONS[activation][0]
            units = phi(on_grid.pre_activations[0]) if len(self.params) > 1 else np.zeros((len(self.grid), 0))
            return {
                "step": self.step_count,
                "loss": cross_entropy(logits, self.labels),
                "accuracy": float((logits.argmax(axis=1) == self.labels).mean()),
                "boundary": np.round(softmax(on_grid.logits)[:, 1].reshape(GRID, GRID), 3).tolist(),
                "units": [np.round(units[:, i].reshape(GRID, GRID), 3).tolist() for i in range(units.shape[1])],
            }

    def points(self) -> dict[str, Any]:
        return {"x": np.round(self.x, 4).tolist(), "labels": self.labels.tolist(), "extent": EXTENT, "grid": GRID}


class Sessions:
    """The sessions of this server, by id; the oldest is forgotten once there are MAX_SESSIONS."""

    def __init__(self):
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def new(self, settings: Settings) -> tuple[str, Session]:
        session, key = Session(settings), uuid.uuid4().hex
        with self._lock:
            self._sessions[key] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return key, session

    def get(self, key: str) -> Session | None:
        with self._lock:
            return self._sessions.get(key)
