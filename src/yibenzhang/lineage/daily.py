"""Per-day lineage summaries of the hot paths, written by a daily worker job rather than per call:
- grant data calls (rows and verification calls under a 接口 grant): one COMPLETE run per grant
  and day, read from the usage records (`share_usage`) — from the resource to the consumer
  organization's `<namespace>/org/<uscc>` + `grant/<id>/calls/<day>`, with the day as the run's
  nominal time, the rows returned, and the grant's columns with their masking operators;
- open downloads: one COMPLETE run per dataset and day, read from the download counters
  (`open_usage`) — from the resource to `<namespace>/public` + `resource/<code>/download/<day>`,
  the number of files served as `fileCount`, with the 开放下载 masking of each column.

Days are local days (the counters' days), summarised once they are over, for the last
YBZ_LINEAGE_SUMMARY_DAYS days (default 7: a worker down for less than a week misses none). A
summary's run id is derived from its grant (or dataset) and day, so a job that runs twice, or two
workers, never write the same summary twice. The masking is the one in force when the summary is
written (the per-call record keeps item names only)."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import jobs, workdays
from ..catalog.model import Resource
from ..db import Database
from ..errors import DomainError
from ..open.model import OpenUsage
from ..orgs.model import Org
from ..share.grants import Grant, GrantUsage
from . import events, outbox
from .model import LineageEvent

KIND = "lineage.summaries"
CALL_KINDS = ("rows", "verify")  # the data-service calls; deliveries and downloads have their own events
logger = logging.getLogger(__name__)


def summary_days() -> int:
    raw = (os.environ.get("YBZ_LINEAGE_SUMMARY_DAYS") or "").strip()
    return max(int(raw), 1) if raw else 7


def _local_midnight(day: date) -> datetime:
    return workdays.local_midnight(day)  # the configured zone's day, as the one clock counts it


def grant_calls_job(grant_id: int) -> str:
    return f"share.grant-{grant_id}.calls"


def open_downloads_job(code: str) -> str:
    return f"open.download.{code}"


def _written(session: Session, run_ids: list[str]) -> set[str]:
    if not run_ids:
        return set()
    return set(session.execute(select(LineageEvent.run_id).where(LineageEvent.run_id.in_(run_ids))).scalars())


def _period(day: date) -> dict[str, Any]:
    return {"nominalTime": events.nominal_time(_local_midnight(day), _local_midnight(day + timedelta(days=1)))}


def _masking_of_grant(session: Session, grant: Any) -> list[tuple[str, str, str]]:
    # deferred: keeps duckdb, sqlglot out of this module's import
    from ..share.service_rows import shape

    try:
        sh = shape(session, grant)
    except (DomainError, LookupError, ValueError):  # a grant whose resource has no rows now
        return []
    return [(c.name, sh.types.get(c.name, "VARCHAR"), str(c.operator)) for c in sh.plan.leaving]


def _masking_of_download(session: Session, resource: Resource) -> list[tuple[str, str, str]]:
    # deferred: keeps duckdb, sqlglot out of this module's import
    from ..open.downloads import shape

    try:
        sh = shape(session, resource)
    except (DomainError, LookupError, ValueError):
        return []
    return [(c.name, sh.types.get(c.name, "VARCHAR"), str(c.operator)) for c in sh.plan.leaving]


def _with_columns(output: dict[str, Any], source: dict[str, Any], columns: list[tuple[str, str, str]]) -> None:
    if columns:
        output["facets"] = {"schema": events.schema_facet({n: t for n, t, _ in columns}),
                            "columnLineage": events.column_lineage(source, [(n, op) for n, _, op in columns])}


def grant_calls(session: Session, today: date) -> int:
    """Write the missing per-grant-per-day summaries of the days before `today`."""

    first = today - timedelta(days=summary_days())
    rows = session.execute(select(GrantUsage.grant_id, GrantUsage.at, GrantUsage.rows, GrantUsage.outcome)
                           .where(GrantUsage.kind.in_(CALL_KINDS), GrantUsage.at >= _local_midnight(first),
                                  GrantUsage.at < _local_midnight(today))).all()
    days: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: {"calls": 0, "rows": 0, "refused": 0})
    for gid, at, n, outcome in rows:
        entry = days[(gid, workdays.local_date(at))]
        entry["calls"] += 1
        entry["rows"] += int(n or 0) if outcome == "ok" else 0
        entry["refused"] += 0 if outcome == "ok" else 1
    keys = {k: events.stable_run_id(f"grant-calls:{k[0]}:{k[1].isoformat()}") for k in days}
    done = _written(session, list(keys.values()))
    written = 0
    for (gid, day), run_id in sorted(keys.items()):
        if run_id in done:
            continue
        grant = session.get(Grant, gid)
        resource = session.get(Resource, grant.resource_id) if grant else None
        org = session.get(Org, grant.consumer_org_id) if grant else None
        if grant is None or resource is None or org is None:
            continue
        stats = days[(gid, day)]
        source = events.resource_dataset(resource.code)
        output = events.dataset(events.org_namespace(org.uscc), f"grant/{gid}/calls/{day.isoformat()}",
                                output_facets={"outputStatistics": events.output_statistics(stats["rows"])})
        _with_columns(output, source, _masking_of_grant(session, grant))
        outbox.add(session, events.run_event(
            "COMPLETE", run_id, grant_calls_job(gid), inputs=[source], outputs=[output], run_facets=_period(day),
            job_facets={"jobType": events.job_type("SHARE_CALLS")},
            at=_local_midnight(day + timedelta(days=1))))
        written += 1
    return written


def open_downloads(session: Session, today: date) -> int:
    """Write the missing per-dataset-per-day download summaries of the days before `today`."""

    first = today - timedelta(days=summary_days())
    rows = session.execute(select(OpenUsage.resource_id, OpenUsage.day, OpenUsage.count)
                           .where(OpenUsage.kind.like("download.%"), OpenUsage.day >= first,
                                  OpenUsage.day < today)).all()
    files: dict[tuple[int, date], int] = defaultdict(int)
    for rid, day, n in rows:
        files[(rid, day)] += int(n or 0)
    keys = {k: events.stable_run_id(f"open-downloads:{k[0]}:{k[1].isoformat()}") for k, n in files.items() if n}
    done = _written(session, list(keys.values()))
    written = 0
    for (rid, day), run_id in sorted(keys.items()):
        resource = session.get(Resource, rid)
        if run_id in done or resource is None:
            continue
        source = events.resource_dataset(resource.code)
        output = events.dataset(events.public_namespace(), f"resource/{resource.code}/download/{day.isoformat()}",
                                output_facets={"outputStatistics": events._facet(
                                    events.OUTPUT_STATS_FACET, fileCount=files[(rid, day)])})
        _with_columns(output, source, _masking_of_download(session, resource))
        outbox.add(session, events.run_event(
            "COMPLETE", run_id, open_downloads_job(resource.code), inputs=[source], outputs=[output],
            run_facets=_period(day), job_facets={"jobType": events.job_type("OPEN_DOWNLOAD")},
            at=_local_midnight(day + timedelta(days=1))))
        written += 1
    return written


def summarize(db: Database, today: date | None = None) -> dict[str, int]:
    day = today or workdays.today()
    with db.write() as s:
        calls = grant_calls(s, day)
        downloads = open_downloads(s, day)
    return {"grant_days": calls, "download_days": downloads}


def _handle(db: Database, job: jobs.Job) -> dict[str, Any]:
    return summarize(db)


jobs.daily(KIND, time(0, 20), _handle)
