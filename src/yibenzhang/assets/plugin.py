"""Data assets as a plugin: products and their asset chain — tables, API, pages, command and
valuation methods."""

from __future__ import annotations

from typing import Any

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.assets.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.assets.routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_products"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {"product": "yibenzhang.assets.cli:product_app"}


@hookimpl
def ybz_valuation_methods() -> dict[str, Any]:
    from . import valuation  # deferred: loaded when a product is first valued

    return dict(valuation.METHODS)
