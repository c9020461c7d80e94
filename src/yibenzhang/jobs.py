"""Durable jobs and the worker loop (`ybz worker`, in jobs_cli.py): a queue in the metadata store,
claimed under a lease.

A job is claimed in one short write transaction (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite:
the database write lock taken by BEGIN IMMEDIATE), which sets a lease (locked_by,
locked_until). The worker renews the lease while its handler runs; a worker that dies stops
renewing, its lease expires and another worker reclaims the job. A worker finishes a job only
while it still holds the lease (same locked_by and attempt), so a job never runs twice at once
and a late finisher cannot overwrite the outcome of the worker that reclaimed it.

A failed attempt is retried after an exponential backoff; after max_attempts the job is given
up (放弃) and stays listed for the steward, who may retry it. A kind may name errors that no retry
can cure (a masking policy that lets nothing leave): those give up at once. Every failure keeps a
stable code and its reason in Chinese and English, and a kind's `on_failure` hook hands them to
the thing the job works for (a delivery), in the same transaction, so the person waiting sees the
state and the reason at the next look. Every state change is a ledger event (kind, ids, attempt,
outcome — never payload values or row data).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dt_time
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, or_, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import plugins, workdays
from .access import Actor, can_administer_system, can_read_all, require
from .config import get_settings
from .db import Base, Database, UTCDateTime, utcnow
from .enums import ChineseEnum, Role
from .errors import Conflict, DomainError, NotFound
from .ledger import service as ledger

log = logging.getLogger(__name__)

# --- tuning (not DOMAIN rules: operational choices of ours) ---------------------------------
DEFAULT_MAX_ATTEMPTS = 5  # 1 try + 4 retries covers a source database's maintenance window
BACKOFF_BASE_SECONDS = 30.0  # first retry after 30 s, then 60, 120, 240 …
BACKOFF_CAP_SECONDS = 3600.0  # … never waiting more than an hour between tries
LEASE_SECONDS = 300.0  # a claim lasts 5 minutes; the running worker renews it every lease/3
POLL_SECONDS = 5.0  # idle worker looks for due jobs this often
ERROR_MAX_CHARS = 500


class JobStatus(ChineseEnum):
    QUEUED = "排队"
    RUNNING = "运行中"
    SUCCEEDED = "成功"
    FAILED = "失败"  # an attempt failed; retried when run_at comes
    GAVE_UP = "放弃"  # max_attempts reached; waits for a steward's retry


ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.FAILED.value)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)  # Chinese, as safe_error made it
    last_error_en: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))  # DomainError code, else the exception type
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    # = dedupe_key while the job is queued, running or awaiting a retry, NULL otherwise: a plain
    # unique column (NULLs are distinct on both backends) stops a second active job per key.
    active_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- handlers ---------------------------------------------------------------------------------

Handler = Callable[[Database, Job], dict[str, Any] | None]
Ticker = Callable[[Database], Any]
FailureHook = Callable[[Session, Job], None]
_handlers: dict[str, Handler] = {}
_final: dict[str, tuple[type[BaseException], ...]] = {}  # errors of a kind that no retry cures
_on_failure: dict[str, FailureHook] = {}
_tickers: list[Ticker] = []

def register(kind: str, *, final: tuple[type[BaseException], ...] = (),
             on_failure: FailureHook | None = None) -> Callable[[Handler], Handler]:
    """Decorator: `handler(db, job) -> dict` runs jobs of `kind`. Raise to fail the attempt.
    `final`: exception types that no retry cures — the job gives up at once. `on_failure(session,
    job)`: called in the transaction that records a failed attempt or the giving up (job.status,
    error_code, last_error and last_error_en set), to show it on the job's subject."""

    def deco(fn: Handler) -> Handler:
        _handlers[kind] = fn
        if final:
            _final[kind] = final
        if on_failure is not None:
            _on_failure[kind] = on_failure
        return fn

    return deco


def periodic(fn: Ticker) -> Ticker:
    """Decorator: `fn(db)` runs on every worker loop before claiming (e.g. enqueue due schedules)."""
    if fn not in _tickers:
        _tickers.append(fn)
    return fn


def daily(kind: str, at: dt_time, handler: Handler) -> Ticker:
    """Run `handler` once a day at `at` (local time): registers the job kind and a worker ticker
    that keeps exactly one such job queued for the next morning (its dedupe key is the kind; a read
    first, so an idle worker does not take the write lock on every loop). Returns the ticker."""
    register(kind)(handler)

    def keep_one_queued(db: Database) -> None:
        with db.read() as s:
            if s.execute(select(Job.id).where(Job.active_key == kind)).first():
                return
        # tomorrow at `at` on the one clock (the configured zone's day and time, not the server's)
        run_at = datetime.combine(workdays.today() + timedelta(days=1), at, tzinfo=get_settings().tz)
        with db.write() as s:
            enqueue(s, Actor.system(), kind, {}, run_at=run_at, dedupe_key=kind)

    keep_one_queued.__name__ = f"daily_{kind.replace('.', '_')}"
    return periodic(keep_one_queued)


def daily_as_platform(kind: str, at: dt_time, work: Callable[[Session, Actor], dict[str, Any]]
                      ) -> tuple[Handler, Ticker]:
    """A daily run of `work(session, actor)` in one write transaction, as the platform itself (the
    escalations of overdue objections and share requests). Returns the handler and the ticker."""

    def handler(db: Database, job: Any = None) -> dict[str, Any]:
        with db.write() as s:
            return work(s, Actor.system())

    handler.__name__ = f"run_{kind.replace('.', '_')}"
    return handler, daily(kind, at, handler)


def load_handlers() -> None:
    """Import the modules whose import registers job kinds and tickers (each plugin's `ybz_jobs`)."""
    plugins.load_modules("ybz_jobs")


# --- service ----------------------------------------------------------------------------------


def _append(session: Session, actor: Actor, action: str, job: Job, **content: Any) -> None:
    ledger.append(session, actor, action, "job", job.id,
                  {"kind": job.kind, "attempt": job.attempts, "status": job.status, **content})


def can_manage_org_jobs(actor: Actor, org_id: int | None) -> bool:
    if can_administer_system(actor):  # the platform admin, or the system administrator (issue 23)
        return True
    return org_id is not None and actor.acts_for_org(org_id, Role.STEWARD)


def enqueue(
    session: Session, actor: Actor, kind: str, payload: dict[str, Any] | None = None, *,
    run_at: datetime | None = None, dedupe_key: str | None = None, org_id: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Queue a job. With a dedupe_key, an existing queued/running/retrying job of that key is
    returned instead of a second one (also under a race: the unique active_key decides)."""
    require(can_manage_org_jobs(actor, org_id), "提交后台任务")
    if dedupe_key:
        existing = _active_by_key(session, dedupe_key)
        if existing is not None:
            return existing
    now = utcnow()
    job = Job(kind=kind, payload=payload or {}, status=JobStatus.QUEUED.value, attempts=0,
              max_attempts=max_attempts, run_at=run_at or now, dedupe_key=dedupe_key,
              active_key=dedupe_key, org_id=org_id, created_by=actor.username, created_at=now, updated_at=now)
    if dedupe_key:
        try:
            with session.begin_nested():
                session.add(job)
                session.flush()
        except IntegrityError:
            existing = _active_by_key(session, dedupe_key)
            if existing is None:
                raise
            return existing
    else:
        session.add(job)
        session.flush()
    _append(session, actor, "job.enqueue", job, org_id=org_id, run_at=job.run_at.isoformat(),
            dedupe_key=dedupe_key)
    return job


def _active_by_key(session: Session, key: str) -> Job | None:
    return session.execute(select(Job).where(Job.active_key == key)).scalar_one_or_none()


def not_found(subject: str, ident: object, code: str) -> NotFound:
    """"<subject> <id>" is data, like catalog's "信息资源 42" (the subject word is in i18n)."""
    return NotFound(f"{subject} {ident}", code)


def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None or not (can_read_all(actor) or can_manage_org_jobs(actor, job.org_id)):
        raise not_found("后台任务", job_id, "job_not_found")
    return job


def list_jobs(
    session: Session, actor: Actor, *, org_id: int | None = None, failed: bool = False,
    status: str | None = None, kind: str | None = None, limit: int = 100,
) -> list[Job]:
    """Admins and auditors see every job; a steward sees the jobs of their orgs."""
    stmt = select(Job)
    if not (can_read_all(actor) or can_administer_system(actor)):
        mine = actor.org_ids(Role.STEWARD)
        if org_id is not None:
            require(org_id in mine, "查看后台任务")
        stmt = stmt.where(Job.org_id.in_(mine or {-1}))
    if org_id is not None:
        stmt = stmt.where(Job.org_id == org_id)
    if failed:
        stmt = stmt.where(Job.status.in_([JobStatus.FAILED.value, JobStatus.GAVE_UP.value]))
    if status:
        parsed = JobStatus.parse(status)
        stmt = stmt.where(Job.status == (parsed.value if parsed else status))
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return list(session.execute(stmt.order_by(Job.id.desc()).limit(limit)).scalars())


def retry_job(session: Session, actor: Actor, job_id: int) -> Job:
    """A steward sends a failed or given-up job back to the queue with a fresh set of attempts."""
    job = get_job(session, actor, job_id)
    require(can_manage_org_jobs(actor, job.org_id), "重试后台任务")
    if job.status not in (JobStatus.FAILED.value, JobStatus.GAVE_UP.value):
        raise Conflict("job_not_failed", "只有失败或放弃的任务可以重试（当前状态：{status}）", status=job.status)
    if job.dedupe_key and job.active_key is None:
        other = _active_by_key(session, job.dedupe_key)
        if other is not None:
            raise Conflict("job_duplicate", "同一来源已有排队或运行中的任务：{other}", other=other.id)
    now = utcnow()
    previous = job.attempts
    job.status, job.attempts, job.run_at, job.updated_at = JobStatus.QUEUED.value, 0, now, now
    job.active_key, job.finished_at, job.locked_by, job.locked_until = job.dedupe_key, None, None, None
    session.flush()
    _append(session, actor, "job.retry", job, previous_attempts=previous)
    return job


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "status_en": JobStatus(job.status).name.lower(),
        "attempts": job.attempts, "max_attempts": job.max_attempts, "run_at": job.run_at,
        "org_id": job.org_id, "dedupe_key": job.dedupe_key, "last_error": job.last_error,
        "last_error_en": job.last_error_en, "error_code": job.error_code,
        "result": job.result, "payload": job.payload, "created_by": job.created_by,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
        "locked_by": job.locked_by, "locked_until": job.locked_until,
    }


def backoff_seconds(attempt: int, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Delay before retrying after failed attempt number `attempt` (1-based): base·2^(n-1), capped."""
    return min(cap, base * 2 ** max(0, attempt - 1))


# Runs of 6+ letters/digits holding a digit: ID numbers, USCCs, phones, bank cards.
_DIGITS = re.compile(r"\b(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{6,}")


def error_code(exc: BaseException) -> str:
    """The stable code of a failure: a DomainError's own, else the exception type (snake case)."""
    if isinstance(exc, DomainError):
        return exc.code[:64]
    inner = getattr(exc, "orig", None) or exc
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(inner).__name__).lower()[:64]


def safe_error(exc: BaseException, lang: str = "zh") -> str:
    """An error text fit for the jobs table and the logs: stable code or exception type and the
    message's first line (a DomainError's in `lang`), without SQL parameters or DETAIL lines
    (which quote row values), and with long digit/code runs (ID numbers, phones, cards) masked.
    Best effort by design: handlers should raise DomainErrors whose messages carry no personal data."""
    if isinstance(exc, DomainError):
        text = f"{exc.code}: {exc.message_in(lang)}"
    else:
        orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
        inner = orig if orig is not None else exc
        text = f"{type(inner).__name__}: {str(inner).splitlines()[0] if str(inner) else ''}"
    text = re.split(r"\[SQL|\[parameters|DETAIL", text)[0].strip()
    return _DIGITS.sub("***", text)[:ERROR_MAX_CHARS]


# --- claiming and finishing ----------------------------------------------------------------


def claim(db: Database, worker: str, *, lease_seconds: float = LEASE_SECONDS,
          kinds: tuple[str, ...] | None = None, now: datetime | None = None) -> Job | None:
    """Take the next due job (or one whose lease expired) under a lease, or None."""
    now = now or utcnow()
    due = or_(
        (Job.status.in_([JobStatus.QUEUED.value, JobStatus.FAILED.value])) & (Job.run_at <= now),
        (Job.status == JobStatus.RUNNING.value) & (Job.locked_until < now),
    )
    stmt = select(Job).where(due)
    if kinds:
        stmt = stmt.where(Job.kind.in_(kinds))
    stmt = stmt.order_by(Job.run_at, Job.id).limit(1).with_for_update(skip_locked=True)
    system = Actor.system()
    with db.write() as s:
        job = s.execute(stmt).scalar_one_or_none()
        if job is None:
            return None
        reclaimed = job.locked_by if job.status == JobStatus.RUNNING.value else None
        job.status = JobStatus.RUNNING.value
        job.attempts += 1
        job.locked_by, job.locked_until = worker, now + timedelta(seconds=lease_seconds)
        job.started_at = job.updated_at = now
        s.flush()
        _append(s, system, "job.start", job, worker=worker, reclaimed_from=reclaimed)
        return job


def _held(job: Job, worker: str) -> Any:
    return (Job.id == job.id) & (Job.locked_by == worker) & (Job.attempts == job.attempts) & (
        Job.status == JobStatus.RUNNING.value)


def renew(db: Database, job: Job, worker: str, lease_seconds: float = LEASE_SECONDS) -> bool:
    """Extend the lease while the handler runs; False when it was lost (reclaimed)."""
    with db.write() as s:
        done = s.execute(update(Job).where(_held(job, worker))
                         .values(locked_until=utcnow() + timedelta(seconds=lease_seconds)))
        return done.rowcount == 1


def finish(db: Database, job: Job, worker: str, *, result: dict[str, Any] | None = None,
           error: BaseException | None = None, backoff_base: float = BACKOFF_BASE_SECONDS,
           backoff_cap: float = BACKOFF_CAP_SECONDS) -> str | None:
    """Record the outcome of the attempt this worker holds. Returns the new status, or None when
    the lease was lost meanwhile (the outcome is then discarded: another worker owns the job)."""
    now = utcnow()
    with db.write() as s:
        current = s.execute(select(Job).where(_held(job, worker)).with_for_update()).scalar_one_or_none()
        if current is None:
            return None
        current.locked_by = current.locked_until = None
        current.updated_at = now
        if error is None:
            current.status, current.result, current.last_error = JobStatus.SUCCEEDED.value, result or {}, None
            current.last_error_en = current.error_code = None
            current.finished_at, current.active_key = now, None
            _append(s, Actor.system(), "job.succeed", current, worker=worker, result=_counts(result))
            return current.status
        current.last_error, current.last_error_en = safe_error(error), safe_error(error, "en")
        current.error_code = error_code(error)
        final = isinstance(error, _final.get(current.kind, ()))
        if final or current.attempts >= current.max_attempts:
            current.status = JobStatus.GAVE_UP.value
            current.finished_at, current.active_key = now, None
            _append(s, Actor.system(), "job.give_up", current, worker=worker, error=current.last_error,
                    final=final)
        else:
            delay = backoff_seconds(current.attempts, backoff_base, backoff_cap)
            current.status = JobStatus.FAILED.value
            current.run_at = now + timedelta(seconds=delay)
            _append(s, Actor.system(), "job.fail", current, worker=worker, error=current.last_error,
                    retry_in_seconds=delay)
        hook = _on_failure.get(current.kind)
        if hook is not None:
            hook(s, current)
        return current.status


def _counts(result: dict[str, Any] | None) -> dict[str, Any]:
    """Only the numbers and ids of a result go into the ledger."""
    return {k: v for k, v in (result or {}).items() if isinstance(v, int | float) and not isinstance(v, bool)}


# --- the worker -------------------------------------------------------------------------------


class Worker:
    def __init__(self, db: Database, *, name: str | None = None, lease_seconds: float = LEASE_SECONDS,
                 poll_seconds: float = POLL_SECONDS, kinds: tuple[str, ...] | None = None,
                 backoff_base: float = BACKOFF_BASE_SECONDS, backoff_cap: float = BACKOFF_CAP_SECONDS,
                 run_tickers: bool = True) -> None:
        self.db = db
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_seconds, self.poll_seconds, self.kinds = lease_seconds, poll_seconds, kinds
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.run_tickers = run_tickers
        self.stopping = threading.Event()
        load_handlers()

    def stop(self) -> None:
        self.stopping.set()

    def tick(self) -> None:
        for fn in list(_tickers):
            try:
                fn(self.db)
            except Exception as exc:  # a broken schedule must not stop the queue
                log.error("ticker %s failed: %s", getattr(fn, "__name__", fn), safe_error(exc))

    def run_one(self) -> Job | None:
        """Claim one due job and run it to its recorded outcome; None when nothing is due."""
        job = claim(self.db, self.name, lease_seconds=self.lease_seconds, kinds=self.kinds)
        if job is None:
            return None
        handler = _handlers.get(job.kind)
        lost = threading.Event()
        done = threading.Event()

        def keep_lease() -> None:
            while not done.wait(self.lease_seconds / 3):
                try:
                    if not renew(self.db, job, self.name, self.lease_seconds):
                        lost.set()
                        return
                except Exception as exc:  # the store is briefly unreachable: try again next time
                    log.warning("lease renewal of job %s failed: %s", job.id, safe_error(exc))

        keeper = threading.Thread(target=keep_lease, name=f"lease-{job.id}", daemon=True)
        keeper.start()
        result: dict[str, Any] | None = None
        error: BaseException | None = None
        try:
            if handler is None:
                raise not_found("任务类型", job.kind, "job_kind_unknown")
            result = handler(self.db, job) or {}
        except Exception as exc:
            error = exc
            log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, safe_error(exc),
                        extra={"job_id": job.id, "job_kind": job.kind, "attempt": job.attempts})
        finally:
            done.set()
            keeper.join()
        status = self._finish(job, result, error)
        if status is None or lost.is_set():
            log.warning("job %s: lease lost to another worker; outcome discarded", job.id)
        else:  # the outcome as recorded (never the payload or the result: they may name people)
            log.info("job %s (%s): %s", job.id, job.kind, status,
                     extra={"job_id": job.id, "job_kind": job.kind, "attempt": job.attempts, "status": status})
        job.status = status or job.status
        return job

    def _finish(self, job: Job, result: dict[str, Any] | None, error: BaseException | None) -> str | None:
        """Record the outcome; while the store is unreachable, keep trying (the lease is still
        ours), so a restart of the store delays the outcome instead of stalling the job until its
        lease runs out."""
        while True:
            try:
                return finish(self.db, job, self.name, result=result, error=error,
                              backoff_base=self.backoff_base, backoff_cap=self.backoff_cap)
            except (OperationalError, InterfaceError) as exc:
                if self.stopping.is_set():
                    raise
                log.warning("job %s: outcome not recorded yet, store unavailable: %s", job.id, safe_error(exc))
                self.stopping.wait(self.poll_seconds)

    def run(self, *, once: bool = False, max_jobs: int | None = None) -> int:
        """Loop until stopped (or, with once, until nothing is due). Returns jobs run."""
        ran = 0
        while not self.stopping.is_set():
            try:
                if self.run_tickers:
                    self.tick()
                job = self.run_one()
            except (OperationalError, InterfaceError) as exc:
                # The store is restarting or unreachable (issue 20's chaos pass): wait and look
                # again. A job whose outcome could not be recorded keeps its lease, which expires,
                # and the job is retried.
                log.warning("metadata store unavailable, retrying in %ss: %s", self.poll_seconds, safe_error(exc))
                if once:
                    raise
                self.stopping.wait(self.poll_seconds)
                continue
            if job is not None:
                ran += 1
                if max_jobs is not None and ran >= max_jobs:
                    break
                continue
            if once:
                break
            self.stopping.wait(self.poll_seconds)
        return ran
