"""`ybz worker` and `ybz job …`: the command line of the durable jobs (jobs.py). A stage package
adds its own commands to the `job` group (collect's schedules: cli.ATTACHED); jobs.py itself knows
no stage and no command line."""

from __future__ import annotations

import logging
import logging.config
import signal
import time
from typing import Any

import typer
from sqlalchemy.orm import Session

from .clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from .db import get_database
from .jobs import POLL_SECONDS, Worker, get_job, job_dict, list_jobs, retry_job
from .ops import log_config
from .orgs import service as orgs

log = logging.getLogger("yibenzhang.jobs")


def worker_command(
    once: bool = typer.Option(False, "--once", help="Run the jobs that are due, then exit."),
    max_jobs: int | None = typer.Option(None, "--max-jobs", help="Exit after this many jobs."),
    poll: float = typer.Option(POLL_SECONDS, "--poll", help="Seconds between looks when idle."),
    log_format: str = typer.Option("json", "--log-format", envvar="YBZ_LOG_FORMAT", help="json | text"),
    as_json: bool = JsonOpt,
) -> None:
    """Run background jobs (scheduled pulls, retries). SIGTERM/SIGINT stop after the current job.
    Logs are JSON lines on stderr like `ybz serve`'s (`--log-format text` for people), a job's
    lines carrying its id and kind as fields."""
    logging.config.dictConfig(log_config("text" if log_format == "text" else "json"))
    worker = Worker(get_database(), poll_seconds=poll)

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping after the current job", signum)
        worker.stop()
        signal.signal(signum, signal.SIG_DFL)  # a second signal stops at once

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    started = time.monotonic()
    with domain_errors(as_json):
        ran = worker.run(once=once, max_jobs=max_jobs)
    emit({"worker": worker.name, "jobs_run": ran, "seconds": round(time.monotonic() - started, 2)}, as_json)


# --- `ybz job …` -----------------------------------------------------------------------------

job_app = typer.Typer(help="Background jobs and collection schedules.", no_args_is_help=True)
JOB_COLUMNS = ["id", "kind", "status", "attempts", "max_attempts", "org_id", "run_at", "last_error"]


@job_app.command("list")
def job_list(
    org: str | None = typer.Option(None, "--org", help="Org id or USCC."),
    failed: bool = typer.Option(False, "--failed", help="Only failed and given-up jobs."),
    status: str | None = typer.Option(None, "--status"),
    limit: int = typer.Option(100, "--limit"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """List jobs (a steward sees their org's; admins all)."""
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            org_id = _org_id(s, org)
            rows = [job_dict(j) for j in list_jobs(s, actor, org_id=org_id, failed=failed, status=status,
                                                   limit=limit)]
        emit(rows, as_json, JOB_COLUMNS, title="后台任务 / jobs")


def _org_id(session: Session, org: str | None) -> int | None:
    if not org:
        return None
    if org.isdigit() and len(org) < 18:
        return int(org)
    return orgs.get_org_by_uscc(session, org).id


@job_app.command("show")
def job_show(job_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            emit(job_dict(get_job(s, actor, job_id)), as_json)


@job_app.command("retry")
def job_retry(job_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Send a failed or given-up job back to the queue."""
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            emit(job_dict(retry_job(s, actor, job_id)), as_json)
