"""Fixtures of the portal tests: the small open catalogue and a live server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.live_server import serve_app
from tests.portal.catalog_data import build_open_catalog


@pytest.fixture
def open_catalog(world) -> dict[str, int]:
    return build_open_catalog(world)


@pytest.fixture
def live(world) -> Iterator[str]:
    """The app under uvicorn on a free port, against the test's database (both backends)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with serve_app(port) as url:
        yield url
