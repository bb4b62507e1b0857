"""What a user sees while nnlab works: progress for every phase that can take a while, and where log lines go.

On a terminal (stderr is a TTY) or in a Jupyter kernel a phase draws a tqdm bar with its total,
rate and time left (tqdm.auto draws Jupyter's widget). Anywhere else, a log file, CI or a pipe,
a bar would be one long line of carriage returns, so the phase logs a line after FIRST_LINE_S
and then every LINE_EVERY_S: what it does, how far it is, and the time left at its rate so far;
a phase that logged such lines ends with one saying it is done.
A timer thread writes those lines too, so a phase whose units are few and long (one 40-second
step) still reports on time. Both follow the "nnlab" logger: set below INFO, neither appears.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

log = logging.getLogger("nnlab")

# a phase that ends sooner logs no progress line, only its result; with start-up and loading before it, nothing
# is silent for more than about 10 s (benchmarks/silences.py)
FIRST_LINE_S = 6.0
LINE_EVERY_S = 30.0
TIMER_FIRST_S = 1.0  # the timer thread never speaks sooner than this: a phase that quick needs no line

Item = TypeVar("Item")


class Progress:
    """A phase's count of done units, `update(n)` after each piece of work; use it as a context manager."""

    def __init__(self, desc: str, *, total: int | None, unit: str, enabled: bool = True):
        self.desc, self.total, self.unit, self.done = desc, total, unit, 0
        self._on = enabled and log.isEnabledFor(logging.INFO)
        self._bar = None
        if self._on and _interactive():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
        self._started = time.monotonic()
        self._next_line = self._started + FIRST_LINE_S
        self._lock, self._closed, self._logged = threading.Lock(), threading.Event(), False
        if self._on and self._bar is None:
            threading.Thread(target=self._timer, name=f"progress: {desc}", daemon=True).start()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._on:
            self._line_if_due()

    def _line_if_due(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now >= self._next_line and not self._closed.is_set():
                self._next_line = now + LINE_EVERY_S
                self._logged = True
                log.info(self.line(now - self._started))

    def _timer(self) -> None:
        """Write the due line while no update comes, until the phase closes."""
        wait = max(TIMER_FIRST_S, self._next_line - time.monotonic())
        while not self._closed.wait(wait):
            self._line_if_due()
            wait = max(0.05, self._next_line - time.monotonic())

    def line(self, elapsed: float) -> str:
        """'epoch 2/7: 412/938 batches (44%), 1:01, about 1:17 left': the log line after `elapsed` seconds."""
        done = f"{self.done:,}/{self.total:,} {_plural(self.unit)} ({self.done / self.total:.0%})" if self.total \
            else f"{self.done:,} {_plural(self.unit)}"
        left = f", about {_clock(elapsed * (self.total - self.done) / self.done)} left" if self.total and self.done \
            else ""
        return f"{self.desc}: {done}, {_clock(elapsed)}{left}"

    def close(self) -> None:
        """End the phase; one that logged how far it was also logs that it is done, so a log shows where the
        next phase begins."""
        with self._lock:
            if self._logged and not self._closed.is_set():
                log.info(f"{self.desc}: done in {_clock(time.monotonic() - self._started)}")
            self._closed.set()
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(items: Iterable[Item], desc: str, *, total: int | None = None, unit: str = "item",
             enabled: bool = True) -> Iterator[Item]:
    """`items` as they come, counted as done once the caller asks for the next (a bar or log lines)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    with Progress(desc, total=total, unit=unit, enabled=enabled) as counter:
        for item in items:
            yield item
            counter.update()


def log_to_console(*, defer_to_user: bool = True) -> None:
    """Send nnlab's INFO lines to stderr, through tqdm so that bars and lines do not collide.

    Once: nothing changes if the "nnlab" logger has a handler. `defer_to_user` (the API) also
    leaves alone a level set on that logger or a handler on the root logger (logging.basicConfig):
    the user's choice. The CLI owns its process and does not defer.
    """
    if log.handlers or (defer_to_user and (log.level != logging.NOTSET or logging.getLogger().handlers)):
        return

    class TqdmHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            from tqdm.auto import tqdm

            tqdm.write(self.format(record), file=sys.stderr)

    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def logs_like_the_cli(function: Callable) -> Callable:
    """An API verb that logs what it does (epoch lines, progress, notes) to stderr as the CLI does, unless the
    user has set up logging; `logging.getLogger("nnlab").setLevel(logging.WARNING)` silences it."""
    @functools.wraps(function)
    def logged(*args: Any, **kwargs: Any) -> Any:
        log_to_console()
        return function(*args, **kwargs)
    return logged


def _interactive() -> bool:
    """Whether a bar can be redrawn in place: a terminal, or a Jupyter kernel (whose output is no TTY)."""
    return bool(sys.stderr is not None and sys.stderr.isatty()) or _in_jupyter_kernel()


def _in_jupyter_kernel() -> bool:
    """Whether this process is a running Jupyter kernel (not merely one that imported ipykernel, as a test
    runner that executes notebooks does)."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _plural(unit: str) -> str:
    return unit + ("es" if unit.endswith(("ch", "sh", "s", "x")) else "s")


def _clock(seconds: float) -> str:
    """12 s, 3:05, 1:02:03."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
