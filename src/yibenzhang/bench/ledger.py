"""`ybz bench ledger`: how long `ledger verify` takes over a million events, against simply
reading the same rows, and what the ledger append adds to a cheap service call.

(1) Builds 1,000,000 × scale events with the real digest functions (bulk: the chain is computed
    in Python and inserted with executemany / COPY; the SQLite file is cached under ./.bench/),
    seals the anchor, then times `verify` (median of runs) against a plain SELECT of all rows.
    Goal: verify < 20 s at full scale.
(2) Times `catalog.create_system` with its ledger append and the same call with the append
    replaced by a no-op, interleaved, median of the paired differences. Goal: < 1 ms per call.

YBZ_BENCH_DB_URL runs both on PostgreSQL (a database of its own: the bench refuses one whose
ledger holds events that are not the bench's).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from ..access import Actor, Grant
from ..catalog import service as catalog
from ..catalog.schemas import SystemIn
from ..codes import make_uscc
from ..crypto import canonical_json
from ..db import get_database
from ..enums import Role
from ..errors import DomainError
from ..ledger import service as ledger
from ..ledger.model import LedgerAnchor, LedgerEvent
from ..ledger.service import ANCHOR_ID, GENESIS, anchor_mac, content_digest_of, event_digest
from ..orgs import service as orgs
from ..orgs.model import Org, Region
from . import bench_environment

FULL_EVENTS = 1_000_000
GOAL_VERIFY_S = 20.0
GOAL_APPEND_MS = 1.0
BENCH_KEY = "ybz-bench-ledger-key"  # fixed, so the cached chain's anchor seal stays valid
CACHE_VERSION = 2  # bump when the digest format changes
CACHE_DIR = Path(".bench")
ACTOR_PREFIX = "bench-"
_ENV = ("YBZ_HOME", "YBZ_DB_URL", "YBZ_SECRET_KEY", "YBZ_ZONE")

ACTIONS = [("catalog.resource.create", "resource"), ("catalog.resource.update", "resource"),
           ("catalog.resource.submit", "resource"), ("catalog.resource.publish", "resource"),
           ("catalog.system.create", "system"), ("user.create", "user"), ("token.create", "user"),
           ("catalog.duty_change.record", "org")]


@contextmanager
def _environment(home: Path, db_url: str) -> Iterator[None]:

    with bench_environment(YBZ_HOME=str(home), YBZ_DB_URL=db_url, YBZ_SECRET_KEY=BENCH_KEY, YBZ_ZONE=None):
        yield


def _events(n: int, seed: int = 2026) -> Iterator[tuple[Any, ...]]:
    """n chained events shaped like the platform's: (seq, at, actor_id, actor, action, subject_type,
    subject_id, content, content_digest, prev_digest, digest)."""

    rng = random.Random(seed)
    at = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)
    prev = GENESIS
    for seq in range(1, n + 1):
        at += timedelta(seconds=rng.randint(1, 30), microseconds=rng.randint(0, 999_999))
        uid = rng.randint(1, 300)
        action, stype = ACTIONS[rng.randrange(len(ACTIONS))]
        sid = str(rng.randint(1, 50_000))
        body = canonical_json({"code": f"{rng.randint(101001, 399999)}/{rng.randint(1, 999999):06d}",
                               "org_id": rng.randint(1, 900), "items": rng.randint(1, 60),
                               "status": "已发布"}).decode("utf-8")
        cdig = content_digest_of(body)
        actor = f"{ACTOR_PREFIX}user-{uid}"
        digest = event_digest(seq, at, actor, action, stype, sid, cdig, prev, actor_id=uid)
        yield seq, at, uid, actor, action, stype, sid, body, cdig, prev, digest
        prev = digest


def _create_ledger_tables(url: str) -> None:

    engine = create_engine(url)
    try:
        LedgerEvent.metadata.create_all(engine, tables=[LedgerEvent.__table__, LedgerAnchor.__table__])
    finally:
        engine.dispose()


def _build_sqlite(path: Path, n: int) -> None:
    import sqlite3


    _create_ledger_tables(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        last = ""
        batch: list[tuple[Any, ...]] = []
        sql = "INSERT INTO ledger_events VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        cols = [r[1] for r in conn.execute("PRAGMA table_info(ledger_events)")]
        assert cols == ["seq", "at", "actor_id", "actor", "action", "subject_type", "subject_id", "content",
                        "content_digest", "prev_digest", "digest"], cols
        for ev in _events(n):
            # The text SQLAlchemy writes for a UTC timestamp on SQLite.
            batch.append((ev[0], ev[1].strftime("%Y-%m-%d %H:%M:%S.%f"), *ev[2:]))
            last = ev[10]
            if len(batch) >= 50_000:
                conn.executemany(sql, batch)
                batch.clear()
        if batch:
            conn.executemany(sql, batch)
        conn.execute("INSERT INTO ledger_anchor (id, seq, digest, mac) VALUES (?,?,?,?)",
                     (ANCHOR_ID, n, last, anchor_mac(n, last, BENCH_KEY)))
        conn.commit()
    finally:
        conn.close()


def _sqlite_chain(home: Path, n: int) -> tuple[str, float | None]:
    """A copy of the cached chain in the temporary home (built first if not cached)."""
    cache = CACHE_DIR / f"ledger-{n}-v{CACHE_VERSION}.sqlite3"
    built_s = None
    if not cache.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        t0 = time.perf_counter()
        _build_sqlite(partial, n)
        built_s = time.perf_counter() - t0
        partial.rename(cache)  # published only when complete
    target = home / "ledger-bench.sqlite3"
    shutil.copyfile(cache, target)
    return f"sqlite:///{target}", built_s


def _pg_chain(url: str, n: int) -> float | None:
    """The chain in a PostgreSQL database of the bench's own (rebuilt when it has another size)."""
    from ..migrating import migrate  # deferred: Alembic only when a benchmark builds its store

    migrate(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            foreign = conn.execute(text("SELECT count(*) FROM ledger_events WHERE actor NOT LIKE 'bench-%'")).scalar()
            if foreign:
                raise DomainError("bench_foreign_ledger", "基准测试的数据库中已有非基准测试的存证，拒绝覆盖：{url}",
                                  url=engine.url.render_as_string(hide_password=True))
            have = conn.execute(text("SELECT count(*) FROM ledger_events")).scalar()
            anchor = conn.execute(text("SELECT seq FROM ledger_anchor")).scalar()
        if have == n and anchor == n:
            return None
        t0 = time.perf_counter()
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("TRUNCATE ledger_events, ledger_anchor")
            last = ""
            with cur.copy("COPY ledger_events (seq, at, actor_id, actor, action, subject_type, subject_id, content,"
                          " content_digest, prev_digest, digest) FROM STDIN") as copy:
                for ev in _events(n):
                    copy.write_row(ev)
                    last = ev[10]
            cur.execute("INSERT INTO ledger_anchor (id, seq, digest, mac) VALUES (%s, %s, %s, %s)",
                        (ANCHOR_ID, n, last, anchor_mac(n, last, BENCH_KEY)))
            raw.commit()
            cur.execute("ANALYZE ledger_events")
        finally:
            raw.close()
        return time.perf_counter() - t0
    finally:
        engine.dispose()


def _plain_read(session: Any) -> int:
    """The baseline: every column of every event, read once through the driver."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute("SELECT * FROM ledger_events ORDER BY seq")
        count = 0
        while rows := cursor.fetchmany(50_000):
            count += len(rows)
        return count
    finally:
        cursor.close()


def _time_verify(runs: int, n: int) -> dict[str, Any]:

    db = get_database()
    verify_s, read_s = [], []
    for _ in range(max(1, runs)):
        with db.read() as s:
            t0 = time.perf_counter()
            assert _plain_read(s) == n
            read_s.append(time.perf_counter() - t0)
        with db.read() as s:
            t0 = time.perf_counter()
            report = ledger.verify(s)
            verify_s.append(time.perf_counter() - t0)
        if not report.ok or report.events != n:
            raise RuntimeError(f"bench chain does not verify: {report.as_dict()}")
    v, r = statistics.median(verify_s), statistics.median(read_s)
    return {"events": n, "verify_s": round(v, 3), "baseline_select_s": round(r, 3),
            "ratio": round(v / r, 2) if r else None, "events_per_s": round(n / v) if v else None,
            "goal_s": GOAL_VERIFY_S, "goal_met": v < GOAL_VERIFY_S,
            "verify_runs_s": [round(x, 3) for x in verify_s]}


def _bench_setup(db: Any, actor: Actor) -> int:
    """A region and an org for the bench's systems (reused when they are there already)."""

    with db.write() as s:
        region = s.query(Region).filter_by(code="990000").one_or_none()
        if region is None:
            region = orgs.create_region(s, actor, code="990000", name="基准省")
        org = s.query(Org).filter_by(name="基准测试局").one_or_none()
        if org is None:
            org = orgs.create_org(s, actor, name="基准测试局", uscc=make_uscc("11990000MB0009999"),
                                  kind="政府部门", region_code=region.code)
        return org.id


def _time_append(calls: int) -> dict[str, Any]:

    db = get_database()
    actor = Actor(user_id=None, username=f"{ACTOR_PREFIX}appender", grants=(Grant(Role.ADMIN),))
    org_id = _bench_setup(db, actor)
    real_append = ledger.append
    inside: list[float] = []

    def timed_append(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real_append(*args, **kwargs)
        finally:
            inside.append(time.perf_counter() - t0)

    def no_append(*args: Any, **kwargs: Any) -> None:
        return None

    token = uuid.uuid4().hex[:8]  # system names are unique per org; runs may share a database

    def one_call(i: int, append: Any) -> float:
        ledger.append = append  # catalog.service calls ledger.append through the module
        try:
            t0 = time.perf_counter()
            with db.write() as s:
                catalog.create_system(s, actor, SystemIn(org_id=org_id, name=f"基准系统-{token}-{i}"))
            return time.perf_counter() - t0
        finally:
            ledger.append = real_append

    for i in range(1, 21):  # warm up caches, pool and statement compilation
        one_call(-i, timed_append if i % 2 else no_append)
    inside.clear()
    with_ms, without_ms, diffs = [], [], []
    for i in range(calls):
        # Interleave, alternating which goes first, so drift hits both equally.
        if i % 2:
            a = one_call(2 * i, timed_append)
            b = one_call(2 * i + 1, no_append)
        else:
            b = one_call(2 * i + 1, no_append)
            a = one_call(2 * i, timed_append)
        with_ms.append(a * 1000)
        without_ms.append(b * 1000)
        diffs.append((a - b) * 1000)
    added = statistics.median(diffs)
    return {"calls": calls, "service": "catalog.create_system",
            "with_append_ms": round(statistics.median(with_ms), 3),
            "without_append_ms": round(statistics.median(without_ms), 3),
            "added_ms": round(added, 3),
            "append_call_ms": round(statistics.median(inside) * 1000, 3),
            "goal_ms": GOAL_APPEND_MS, "goal_met": added < GOAL_APPEND_MS}


def _restore_anchor(url: str, n: int) -> None:
    """Take the append part's events off the bench chain, so the next run reuses it."""

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_events WHERE seq > :n"), {"n": n})
            last = conn.execute(text("SELECT digest FROM ledger_events WHERE seq = :n"), {"n": n}).scalar()
            conn.execute(text("UPDATE ledger_anchor SET seq = :n, digest = :d, mac = :m WHERE id = :i"),
                         {"n": n, "d": last, "m": anchor_mac(n, last, BENCH_KEY), "i": ANCHOR_ID})
    finally:
        engine.dispose()


def run(runs: int = 5, scale: float = 1.0) -> dict[str, Any]:
    from ..migrating import migrate  # deferred: Alembic only when a benchmark builds its store

    n = max(1000, int(FULL_EVENTS * scale))
    calls = max(50, int(500 * min(scale, 1.0)))
    pg_url = os.environ.get("YBZ_BENCH_DB_URL")
    result: dict[str, Any] = {"benchmark": "ledger", "scale": scale, "runs": runs}
    with tempfile.TemporaryDirectory(prefix="ybz-bench-ledger-") as tmp:
        home = Path(tmp)
        if pg_url:
            result["backend"] = "postgresql"
            built = _pg_chain(pg_url, n)
            chain_url = append_url = pg_url
        else:
            result["backend"] = "sqlite"
            chain_url, built = _sqlite_chain(home, n)
            append_url = f"sqlite:///{home / 'append-bench.sqlite3'}"
            migrate(append_url)
        result["build_s"] = round(built, 1) if built is not None else "cached"
        with _environment(home, chain_url):
            result["verify"] = _time_verify(runs, n)
        with _environment(home, append_url):
            try:
                result["append"] = _time_append(calls)
            finally:
                if pg_url:
                    _restore_anchor(pg_url, n)
    v, a = result["verify"], result["append"]
    result["summary"] = (f"verify {n:,} events: {v['verify_s']} s (plain SELECT {v['baseline_select_s']} s,"
                         f" ×{v['ratio']}); ledger append adds {a['added_ms']} ms per call")
    return json.loads(json.dumps(result, default=str))
