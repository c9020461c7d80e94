"""Assessment as a plugin: targets, KPIs and scorecards, the compliance calendar; tables, API, pages, commands, jobs."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.assess.model", "yibenzhang.assess.calendar_model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.assess.routes", "yibenzhang.assess.calendar_routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_assess", "yibenzhang.web.pages_calendar"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "assess": "yibenzhang.assess.cli:assess_command",
        "target": "yibenzhang.assess.cli:target_app",
        "calendar": "yibenzhang.assess.calendar_cli:calendar_app",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.assess.jobs"]
