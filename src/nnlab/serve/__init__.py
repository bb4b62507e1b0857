"""`nnlab serve`: a local web app over nnlab's runs and foundations (the `serve` extra: FastAPI, uvicorn)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from nnlab.errors import ConfigError

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def serve(runs: str | Path = "runs", *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the app until Ctrl-C. Another host than this machine's own is a conscious choice: it says so."""
    try:
        import uvicorn

        from nnlab.serve.app import create_app
    except ImportError as missing:
        raise ConfigError(f"nnlab serve needs the serve extra ({missing.name} is missing): "
                          f"pip install 'nnlab[serve]'") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be 1 to 65535, got {port}")
    if host not in LOOPBACK and not _is_loopback(host):
        print(f"nnlab serve: warning: listening on {host}, so other machines can reach the runs in {runs}",
              file=sys.stderr)
    print(f"nnlab serve: http://{'localhost' if host in LOOPBACK else host}:{port}/ (the runs in {runs}; "
          f"Ctrl-C stops it)", file=sys.stderr, flush=True)
    uvicorn.run(create_app(runs), host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
