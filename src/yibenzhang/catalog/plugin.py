"""The catalogue as a plugin: its tables, API (resources, import and export) and commands."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.catalog.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return [
        "yibenzhang.catalog.routes",
        "yibenzhang.catalog.io_routes",
    ]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "catalog": "yibenzhang.catalog.cli:catalog_app",
        "system": "yibenzhang.catalog.system_cli:system_app",
    }


@hookimpl
def ybz_zone_holdings() -> object:
    # deferred: a plugin module names its stage's modules and imports them only when asked
    from .holdings import HOLDINGS

    return HOLDINGS


@hookimpl
def ybz_search_terms() -> list[str]:
    """The item names of the classification (the short ones: words people search by)."""
    from .taxonomy import ITEMS  # deferred: keeps `ybz --help` from loading the catalogue

    return [name for items in ITEMS.values() for name, _ in items.values() if len(name) <= 6]
