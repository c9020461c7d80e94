"""Fixtures of the portal tests: the small open catalogue and a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.portal.catalog_data import build_open_catalog


@pytest.fixture
def open_catalog(world) -> dict[str, int]:
    return build_open_catalog(world)


@pytest.fixture
def live(world) -> Iterator[str]:
    """The app under uvicorn on a free port, against the test's database (both backends)."""
    import uvicorn

    from yibenzhang.api import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
