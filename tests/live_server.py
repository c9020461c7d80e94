"""The app under a real uvicorn server in a thread, for browser and HTTP-client tests: one way
to start and stop it, shared by the e2e, portal and SSO fixtures."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serve_app(port: int) -> Iterator[str]:
    """Serve `create_app()` on 127.0.0.1:port until the block ends; yields its base URL."""
    import uvicorn

    from yibenzhang.api import create_app

    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
