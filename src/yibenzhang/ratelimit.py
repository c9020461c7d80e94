"""Rate limits that every worker agrees on (issue 14): one implementation on the `limits`
library, fixed windows counted in a storage shared by all processes.

- the metadata store by default (`SqlStorage`: a table of counters, each hit ONE atomic
  statement, INSERT … ON CONFLICT DO UPDATE … RETURNING, on SQLite and on PostgreSQL);
- Redis when YBZ_REDIS_URL is set (limits' own RedisStorage, a Lua script per hit).

A limit of N calls per window: calls 1..N pass, call N+1 is refused until the window that its
first call opened has run out (Retry-After: the seconds left), whichever worker answers. Users:
the data service's grants (share.grants.check_rate) and the open-data rows API
(open.rows_api.check_rate). The sandbox's refusals per hour and login failures are already
counted as facts in the metadata store (and ledgered), so they agree across workers as they are.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import BigInteger, Float, String, delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, Database, get_database

# The clock of the metadata-store counters (seconds since the epoch); tests may replace it.
Clock = Callable[[], float]


class RateCounter(Base):
    """One fixed window of one limit key: its hits so far and when it ends (epoch seconds)."""

    __tablename__ = "rate_counters"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


_INCR = text(
    "INSERT INTO rate_counters (name, hits, expires_at) VALUES (:key, :amount, :expires)"
    " ON CONFLICT (name) DO UPDATE SET"
    " hits = CASE WHEN rate_counters.expires_at <= :now THEN :amount ELSE rate_counters.hits + :amount END,"
    " expires_at = CASE WHEN rate_counters.expires_at <= :now THEN :expires ELSE rate_counters.expires_at END"
    " RETURNING hits, expires_at")
PRUNE_EVERY = 1000  # hits between two deletions of long-ended windows


class SqlStorage(Storage):
    """A `limits` storage on the metadata store. Each `incr` is one statement in its own short
    transaction: PostgreSQL takes the counter row's lock for the upsert, SQLite the database's
    write lock (BEGIN IMMEDIATE), so two workers never both see the same count."""

    STORAGE_SCHEME = ["ybz+sql"]

    def __init__(self, uri: str | None = None, *, database: Database, clock: Clock | None = None,
                 wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.database = database
        self.clock: Clock = clock or time.time
        self._hits = 0
        self._last_expiry: dict[str, float] = {}

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        db = self.database
        with db.engine.connect() as conn:
            if db.is_sqlite:
                conn.info["begin_mode"] = "IMMEDIATE"
            try:
                with conn.begin():
                    hits, expires = conn.execute(_INCR, {"key": key, "amount": amount, "now": now,
                                                         "expires": now + expiry}).one()
            finally:
                conn.info.pop("begin_mode", None)
        self._last_expiry[key] = float(expires)
        self._hits += 1
        if self._hits % PRUNE_EVERY == 0:
            self.prune(now - 3600)
        return int(hits)

    def _row(self, key: str) -> tuple[int, float] | None:
        with self.database.engine.connect() as conn:
            row = conn.execute(select(RateCounter.hits, RateCounter.expires_at)
                               .where(RateCounter.name == key)).first()
        if row is None or row[1] <= self.clock():
            return None
        return int(row[0]), float(row[1])

    def get(self, key: str) -> int:
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row[1] if row else self.clock()

    def check(self) -> bool:
        try:
            with self.database.engine.connect() as conn:
                conn.execute(select(func.count()).select_from(RateCounter).where(RateCounter.name == ""))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.database.engine.begin() as conn:
            return int(conn.execute(delete(RateCounter)).rowcount or 0)

    def clear(self, key: str) -> None:
        with self.database.engine.begin() as conn:
            conn.execute(delete(RateCounter).where(RateCounter.name == key))

    def prune(self, before: float) -> int:
        """Delete windows that ended before `before` (their keys start again from zero anyway)."""
        with self.database.engine.begin() as conn:
            return int(conn.execute(delete(RateCounter).where(RateCounter.expires_at < before)).rowcount or 0)


@dataclass(frozen=True)
class Decision:
    ok: bool
    limit: int
    hits: int
    retry_after: int  # whole seconds until the window ends (≥ 1 when refused)


class Limits:
    """The process's limiter over one shared storage."""

    def __init__(self, storage: Storage, clock: Clock | None = None) -> None:
        self.storage = storage
        self.limiter = FixedWindowRateLimiter(storage)
        self.clock: Clock = clock or time.time

    def hit(self, scope: str, key: str, limit: int, per_seconds: int = 60, cost: int = 1) -> Decision:
        """Count one call of `key` under `scope`'s limit of `limit` calls per `per_seconds`."""
        item = RateLimitItemPerSecond(limit, per_seconds, namespace=f"ybz:{scope}")
        full_key = item.key_for(key)
        hits = self.storage.incr(full_key, item.get_expiry(), amount=cost)
        if hits <= limit:
            return Decision(True, limit, hits, 0)
        expiry = getattr(self.storage, "_last_expiry", {}).get(full_key)
        if expiry is None:
            expiry = self.storage.get_expiry(full_key)
        return Decision(False, limit, hits, max(1, math.ceil(expiry - self.clock())))

    def reset(self) -> None:
        self.storage.reset()


def redis_url() -> str | None:
    return os.environ.get("YBZ_REDIS_URL") or None


_limits: dict[tuple[str, str], Limits] = {}
_lock = threading.Lock()
_clock: list[Clock] = [time.time]


def _now() -> float:
    return _clock[0]()


def set_clock(clock: Clock | None) -> None:
    """Tests: the metadata-store counters' clock (Redis keeps its own time)."""
    _clock[0] = clock or time.time


def limits_for(db: Database) -> Limits:
    """The limiter shared by every worker of this deployment: Redis when YBZ_REDIS_URL is set,
    else the metadata store `db`."""
    url = redis_url()
    key = ("redis", url) if url else ("sql", db.url)
    got = _limits.get(key)
    if got is not None and (url or got.storage.database is db):  # type: ignore[attr-defined]
        return got
    with _lock:
        if url:
            storage: Storage = RedisStorage(url if url.startswith("redis") else f"redis://{url}",
                                            key_prefix="ybz")
            got = Limits(storage)
        else:
            got = Limits(SqlStorage(database=db, clock=_now), clock=_now)
        _limits[key] = got
    return got


def hit(db: Database, scope: str, key: str, limit: int, per_seconds: int = 60) -> Decision:
    return limits_for(db).hit(scope, key, limit, per_seconds)


def reset(db: Database | None = None) -> None:
    """Forget every window (tests, and `ybz` maintenance); with no `db`, the current store's."""
    if db is None:
        db = get_database()
    limits_for(db).reset()


def forget() -> None:
    """Drop the process's limiters (tests switching stores or YBZ_REDIS_URL)."""
    with _lock:
        _limits.clear()
