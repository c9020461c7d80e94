"""The data zone as a plugin: its tables, compaction's command and job."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.zone.model"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "compact": "yibenzhang.zone.cli:compact_command",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.zone.compact"]
