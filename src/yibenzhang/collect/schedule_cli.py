"""`ybz job schedule …` and `ybz job tick`: collection schedules (collect.pull) on the command
line. cli.py attaches them to jobs_cli's `job` group, so the jobs core never imports collect."""

from __future__ import annotations

import typer

from .. import jobs
from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database
from . import pull

schedule_app = typer.Typer(help="Scheduled database pulls per resource.", no_args_is_help=True)


def tick_command(as_json: bool = JsonOpt) -> None:
    """Queue the scheduled pulls that are due now (the worker does this on every loop)."""
    with domain_errors(as_json):
        emit({"enqueued": pull.tick(get_database())}, as_json)


@schedule_app.command("add")
def schedule_add(
    resource: str,
    db_url: str = typer.Option(..., "--db", help="SQLAlchemy URL of the source (stored SM4-encrypted)."),
    table: str | None = typer.Option(None, "--table"),
    query: str | None = typer.Option(None, "--query"),
    since_column: str | None = typer.Option(None, "--since-column"),
    mode: str | None = typer.Option(None, "--mode", help="全量 / 追加 / 更新"),
    hour: int = typer.Option(2, "--hour", help="Local hour (0-23) of daily and longer cycles."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Pull RESOURCE from a database on the resource's 更新周期."""
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            sched = pull.create_schedule(s, actor, resource, url=db_url, table=table, query=query,
                                         since_column=since_column, mode=mode, hour=hour)
            emit(pull.schedule_dict(s, sched), as_json)


@schedule_app.command("list")
def schedule_list(resource: str | None = typer.Argument(None), as_user: str | None = AsOpt,
                  as_json: bool = JsonOpt) -> None:
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows = [pull.schedule_dict(s, x) for x in pull.list_schedules(s, actor, resource)]
        emit(rows, as_json, ["id", "resource_code", "update_cycle", "source", "since_column", "mode",
                             "enabled", "next_run_at", "last_job_id"], title="采集计划 / schedules")


@schedule_app.command("run")
def schedule_run(schedule_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Queue a schedule's pull now (also for 不定期 resources)."""
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            emit(jobs.job_dict(pull.run_schedule_now(s, actor, schedule_id)), as_json)


@schedule_app.command("disable")
def schedule_disable(schedule_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            emit(pull.schedule_dict(s, pull.set_schedule_enabled(s, actor, schedule_id, False)), as_json)
