"""Browser tests: the real app under uvicorn on a free port, driven by Debian's Chromium.
One browser per test session; SQLite is enough here (the pages' backends are covered in tests/web)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

# The session's one browser (`browser`, in tests/conftest.py: one sync Playwright per process, shared
# with the crawl's accessibility check).
from tests.conftest import ARGS, CHROMIUM, need  # noqa: F401
from tests.live_server import serve_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def e2e_world(request, sqlite_db):
    from tests.conftest import world_copy

    return world_copy(request.getfixturevalue("templates"), "sqlite", sqlite_db)


@pytest.fixture
def server(e2e_world) -> Iterator[str]:
    """The app on http://127.0.0.1:<free port>, against the test's database."""
    with serve_app(_free_port()) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
