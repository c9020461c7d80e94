"""The durable outbox of lineage events and its delivery by the worker.

`add` writes an event in the caller's transaction (so the event exists exactly when the act it
describes does). The worker's ticker queues one `lineage.deliver` job while an event is due and
YBZ_LINEAGE_URL is set; the job POSTs the due events in order, one per request (OpenLineage's
HTTP transport: Marquez `/api/v1/lineage`, DataHub `/openapi/openlineage/api/v1/lineage`,
OpenMetadata's OpenLineage endpoint). An event is marked delivered only after a 2xx; a refused
or unreachable endpoint leaves it (and the ones after it, so order is kept) for a later try after
a backoff. Jobs are claimed under a lease, so two workers never send the same event at once.

A run whose process was killed (power cut, kill -9) never writes its COMPLETE or FAIL: the
worker closes such a run with a FAIL once its START is older than YBZ_LINEAGE_ABANDON_MINUTES
(default 360, longer than any batch), so a lineage server never shows it running forever.

Settings: YBZ_LINEAGE_URL (the endpoint; unset = keep events, send nothing), YBZ_LINEAGE_API_KEY
(sent as a bearer token), YBZ_LINEAGE_NAMESPACE (default `yibenzhang`), YBZ_LINEAGE_ABANDON_MINUTES.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from .. import jobs
from ..access import Actor
from ..db import Database, utcnow
from . import events
from .model import LineageEvent

KIND = "lineage.deliver"
BATCH = 200  # events per job: a backlog drains over several jobs, each short
TIMEOUT_SECONDS = 10.0
BACKOFF_BASE_SECONDS = 15.0
BACKOFF_CAP_SECONDS = 900.0  # a lineage server back from maintenance is caught up within 15 minutes


def endpoint() -> str | None:
    return (os.environ.get("YBZ_LINEAGE_URL") or "").strip() or None


def add(session: Session, event: dict[str, Any]) -> LineageEvent:
    row = LineageEvent(run_id=event["run"]["runId"], event_type=event["eventType"], job_name=event["job"]["name"],
                       event=event, created_at=utcnow(), attempts=0, next_attempt_at=utcnow())
    session.add(row)
    session.flush()
    return row


def add_now(db: Database, event: dict[str, Any]) -> None:
    """An event in a transaction of its own (a run's start, a failure after a rollback)."""
    with db.write() as s:
        add(s, event)


def _backoff(attempts: int) -> float:
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)


def pending(session: Session, now: datetime | None = None, limit: int = BATCH) -> list[LineageEvent]:
    """Undelivered events in the order they were written, up to the first that is not yet due."""
    now = now or utcnow()
    rows = list(session.execute(select(LineageEvent).where(LineageEvent.delivered_at.is_(None))
                                .order_by(LineageEvent.id).limit(limit)).scalars())
    due = []
    for row in rows:
        if row.next_attempt_at > now:
            break  # keep the order: nothing overtakes an event that waits for its retry
        due.append(row)
    return due


def deliver(db: Database, url: str | None = None, now: datetime | None = None) -> dict[str, int]:
    """Send the due events; stop at the first refusal. Returns counts (sent, failed, left)."""
    url = url or endpoint()
    if not url:
        return {"sent": 0, "failed": 0}
    headers = {"Content-Type": "application/json"}
    key = (os.environ.get("YBZ_LINEAGE_API_KEY") or "").strip()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    with db.read() as s:
        due = [(row.id, row.event, row.attempts) for row in pending(s, now)]
    sent = 0
    with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
        for event_id, event, attempts in due:
            error: str | None = None
            try:
                response = client.post(url, json=event, headers=headers)
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            with db.write() as s:
                row = s.get(LineageEvent, event_id)
                if row is None or row.delivered_at is not None:
                    continue
                row.attempts = attempts + 1
                if error is None:
                    row.delivered_at, row.last_error = utcnow(), None
                else:
                    row.last_error = error
                    row.next_attempt_at = utcnow() + timedelta(seconds=_backoff(row.attempts))
            if error is not None:
                return {"sent": sent, "failed": 1}
            sent += 1
    return {"sent": sent, "failed": 0}


@jobs.register(KIND)
def _deliver_job(db: Database, job: jobs.Job) -> dict[str, Any]:
    return deliver(db)


@jobs.periodic
def queue_delivery(db: Database) -> None:
    """Keep one delivery job queued while an event is due and an endpoint is set (a read first,
    so an idle worker does not take the write lock on every loop)."""
    if not endpoint():
        return
    with db.read() as s:
        if not pending(s, limit=1):
            return
        if s.execute(select(jobs.Job.id).where(jobs.Job.active_key == KIND)).first():
            return
    with db.write() as s:
        jobs.enqueue(s, Actor.system(), KIND, {}, dedupe_key=KIND)


TERMINAL = ("COMPLETE", "FAIL", "ABORT")
SWEEP_SECONDS = 60.0  # how often a worker looks for abandoned runs
_last_sweep = [0.0]


def abandon_minutes() -> int:
    raw = (os.environ.get("YBZ_LINEAGE_ABANDON_MINUTES") or "").strip()
    return int(raw) if raw else 360


def close_abandoned(db: Database, now: datetime | None = None) -> int:
    """FAIL every run started more than the abandon time ago that has no outcome; returns how many."""
    cutoff = (now or utcnow()) - timedelta(minutes=abandon_minutes())
    done = aliased(LineageEvent)
    stmt = (select(LineageEvent).where(LineageEvent.event_type == "START", LineageEvent.created_at <= cutoff)
            .where(~select(done.id).where(done.run_id == LineageEvent.run_id, done.event_type.in_(TERMINAL))
                   .exists()))
    with db.read() as s:
        open_runs = [row.event for row in s.execute(stmt).scalars()]
    if not open_runs:
        return 0
    with db.write() as s:
        for start in open_runs:
            message = f"abandoned: no outcome within {abandon_minutes()} minutes (the process ended)"
            add(s, events.run_event("FAIL", start["run"]["runId"], start["job"]["name"], inputs=start["inputs"],
                                    outputs=start["outputs"], job_facets=start["job"].get("facets"),
                                    run_facets={"errorMessage": events.error_facet(message)}))
    return len(open_runs)


@jobs.periodic
def sweep_abandoned(db: Database) -> None:
    if time.monotonic() - _last_sweep[0] < SWEEP_SECONDS:
        return
    _last_sweep[0] = time.monotonic()
    close_abandoned(db)
