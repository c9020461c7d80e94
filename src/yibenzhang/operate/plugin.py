"""Authorized operation and data products as a plugin: tables, API, pages, commands and jobs."""

from __future__ import annotations

from typing import Any

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.operate.model", "yibenzhang.operate.products_model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.operate.routes", "yibenzhang.operate.product_routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_operate", "yibenzhang.web.pages_products"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "operate": "yibenzhang.operate.cli:operate_app",
        "product": "yibenzhang.operate.product_cli:product_app",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.operate.jobs"]


@hookimpl
def ybz_valuation_methods() -> dict[str, Any]:
    from . import valuation  # deferred: loaded when a product is first valued

    return dict(valuation.METHODS)
