"""Authorized operation as a plugin: tables, API, pages, commands and jobs."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.operate.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.operate.routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_operate"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {"operate": "yibenzhang.operate.cli:operate_app"}


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.operate.jobs"]
