"""Search as a plugin: its API (the index tables are created by migrations 0002 and 0007)."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.search.routes"]
