"""Issue 14: one rate limiter on `limits`, its windows counted where every worker counts — the
metadata store (SQLite, PostgreSQL) or Redis. Call N of a limit of N passes, call N+1 is refused
with the seconds left, also when many connections hit the same key at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.redis_support import redis_url  # noqa: F401  (fixture)
from yibenzhang import ratelimit
from yibenzhang.db import Database


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request, monkeypatch) -> ratelimit.Limits:
    """The limiter on each shared storage (a fresh metadata store per test; a flushed Redis)."""
    ratelimit.forget()
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        monkeypatch.setenv("YBZ_REDIS_URL", url)
        db = request.getfixturevalue("sqlite_db")
    else:
        monkeypatch.delenv("YBZ_REDIS_URL", raising=False)
        db = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    lim = ratelimit.limits_for(db)
    lim.reset()
    yield lim
    lim.reset()
    ratelimit.forget()


@pytest.fixture
def pg_db(request, home, monkeypatch) -> Database:
    from tests.conftest import _store

    return _store(request, "postgresql", home, monkeypatch)


def test_the_storage_is_the_one_asked_for(store, request):
    kind = request.node.callspec.params["store"]
    assert type(store.storage).__name__ == {"sqlite": "SqlStorage", "postgresql": "SqlStorage",
                                            "redis": "RedisStorage"}[kind]
    assert store.storage.check()


def test_call_n_passes_and_n_plus_one_is_refused(store):
    got = [store.hit("t", "k", 5) for _ in range(6)]
    assert [d.ok for d in got] == [True] * 5 + [False]
    assert [d.hits for d in got] == [1, 2, 3, 4, 5, 6]
    assert 1 <= got[-1].retry_after <= 60
    assert store.hit("t", "other", 5).ok  # keys are separate …
    assert store.hit("u", "k", 5).ok  # … and so are scopes


def test_exact_under_concurrent_connections(store):
    """16 threads, each on its own connection, 25 hits each on one key with a limit of 100:
    exactly 100 pass (the counter is atomic in the store, not in this process)."""
    passed = []
    lock = threading.Lock()

    def burst(_: int) -> None:
        for _ in range(25):
            ok = store.hit("burst", "grant-1", 100).ok
            with lock:
                passed.append(ok)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(burst, range(16)))
    assert len(passed) == 400 and passed.count(True) == 100


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_window_ends_and_the_next_starts_afresh(kind, request, monkeypatch):
    monkeypatch.delenv("YBZ_REDIS_URL", raising=False)
    ratelimit.forget()
    db = request.getfixturevalue("sqlite_db" if kind == "sqlite" else "pg_db")
    clock = [5000.0]
    ratelimit.set_clock(lambda: clock[0])
    try:
        lim = ratelimit.limits_for(db)
        assert all(lim.hit("w", "k", 2).ok for _ in range(2))
        refused = lim.hit("w", "k", 2)
        assert not refused.ok and refused.retry_after == 60
        clock[0] += 59.9
        assert lim.hit("w", "k", 2).retry_after == 1
        clock[0] += 0.1
        assert lim.hit("w", "k", 2).ok and lim.hit("w", "k", 2).ok and not lim.hit("w", "k", 2).ok
        clock[0] += 7200
        assert lim.storage.prune(clock[0] - 3600) == 1  # long-ended windows are deleted
    finally:
        ratelimit.set_clock(None)
        ratelimit.forget()


@settings(max_examples=15)
@given(limit=st.integers(1, 30), calls=st.integers(0, 40))
def test_any_limit_any_number_of_calls(limit, calls):
    """Property (SQLite store in memory of this run): passes = min(calls, limit)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        from yibenzhang.migrating import migrate

        url = f"sqlite:///{folder}/rl.sqlite3"
        migrate(url)
        db = Database(url)
        try:
            lim = ratelimit.Limits(ratelimit.SqlStorage(database=db))
            got = [lim.hit("p", "k", limit).ok for _ in range(calls)]
            assert got == [True] * min(calls, limit) + [False] * max(0, calls - limit)
        finally:
            db.dispose()
