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
