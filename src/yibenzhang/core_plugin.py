"""The platform's core as a plugin: the job queue (its table, API, page, `ybz worker` and `ybz job`), the
shared rate-limit counters, backup and restore."""

from __future__ import annotations

from .hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.jobs", "yibenzhang.ratelimit"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.jobs_routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_jobs"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "worker": "yibenzhang.jobs_cli:worker_command",
        "job": "yibenzhang.jobs_cli:job_app",
        "backup": "yibenzhang.backup:backup_command",
        "restore": "yibenzhang.backup:restore_command",
    }
