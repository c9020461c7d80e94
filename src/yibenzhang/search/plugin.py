"""Search as a plugin: its index tables and its API. The tables are dialect-specific (an FTS5
table, a tsvector column) and created by the baseline migration (legacy 0002 and 0007), not from `db.Base`; naming
the module keeps them with the other stages' tables. Its words come from `ybz_search_terms`."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.search.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.search.routes"]
