"""Classification and grading as a plugin: its tables, API, page and command."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.classify.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.classify.routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_classify"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "classify": "yibenzhang.classify.cli:classify_command",
    }
