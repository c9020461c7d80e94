"""The evidence ledger as a plugin: its table and API."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.ledger.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.ledger.routes"]
