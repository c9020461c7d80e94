"""Login failure handling (GB/T 22239-2019 8.1.4.1 b): the lock at the Nth failure, the same
answer for locked, unknown and wrong, throttling per source, and the lock on every path."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from tests.factories import PASSWORD
from tests.web.conftest import login
from yibenzhang.config import get_security, reset_settings
from yibenzhang.errors import Unauthenticated
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.orgs import security
from yibenzhang.orgs.model import LoginFailure, LoginLock
from yibenzhang.orgs.service import user_for_token

ALERT = re.compile(r'<p class="alert error" role="alert" id="login-error">([^<]+)</p>')


def _attempt(db, username: str, password: str, source: str = "10.0.0.1") -> bool:
    """A whole sign-in without a second factor: the password, then the session."""
    try:
        user_id = security.check_password(db, username, password, source=source)
    except Unauthenticated:
        return False
    security.open_session(db, user_id, factor="password")
    return True


def _actions(db, *names: str) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(LedgerEvent.action).where(LedgerEvent.action.in_(names))
                              .order_by(LedgerEvent.seq)).scalars())


def test_the_fifth_failure_locks_the_fourth_does_not(world, clock):
    db = world.db
    for _ in range(4):
        assert not _attempt(db, "police_steward", "wrong-Password-1")
    assert _attempt(db, "police_steward", PASSWORD)  # four failures: not locked
    for _ in range(5):
        assert not _attempt(db, "police_steward", "wrong-Password-1")
    assert not _attempt(db, "police_steward", PASSWORD)  # the fifth locked it
    assert _actions(db, "auth.lock") == ["auth.lock"]


def test_the_lock_ends_after_m_minutes_and_not_before(world, clock):
    db = world.db
    for _ in range(get_security().login_max_failures):
        _attempt(db, "police_steward", "wrong-Password-1")
    clock.advance(minutes=get_security().login_lock_minutes, seconds=-1)
    assert not _attempt(db, "police_steward", PASSWORD)
    clock.advance(seconds=1)
    assert _attempt(db, "police_steward", PASSWORD)


def test_failures_outside_the_window_do_not_add_up(world, clock):
    db = world.db
    for _ in range(get_security().login_max_failures - 1):
        _attempt(db, "police_steward", "wrong-Password-1")
    clock.advance(minutes=get_security().login_failure_window_minutes)
    _attempt(db, "police_steward", "wrong-Password-1")
    assert _attempt(db, "police_steward", PASSWORD)


def _model(events: list[tuple[int, bool]], n: int, window: int, lock: int) -> list[bool]:
    """The rule in a few lines: failures (not while locked) within `window` seconds; the nth
    locks for `lock` seconds; a success clears the count."""
    t, fails, until, out = 0, [], -1, []
    for dt, correct in events:
        t += dt
        if t < until:
            out.append(False)
            continue
        if correct:
            fails, _ = [], out.append(True)
            continue
        fails = [f for f in fails if f > t - window] + [t]
        out.append(False)
        if len(fails) >= n:
            until, fails = t + lock, []
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(st.tuples(st.sampled_from([0, 1, 60, 299, 300, 600, 1799, 1800]), st.booleans()),
                       min_size=1, max_size=14))
def test_any_sequence_of_attempts_follows_the_rule(world, clock, monkeypatch, events):
    monkeypatch.setenv("YBZ_LOGIN_SOURCE_MAX_FAILURES", "10000")
    monkeypatch.setenv("YBZ_LOGIN_FAILURE_WINDOW_MINUTES", "10")
    reset_settings()
    db = world.db
    with db.write() as s:
        s.execute(delete(LoginFailure))
        s.execute(delete(LoginLock))
    sec = get_security()
    want = _model(events, sec.login_max_failures, sec.login_failure_window_minutes * 60,
                  sec.login_lock_minutes * 60)
    got = []
    for dt, correct in events:
        clock.advance(seconds=dt)
        got.append(_attempt(db, "police_steward", PASSWORD if correct else "wrong-Password-1"))
    clock.advance(days=1)  # the next example starts from no lock
    assert got == want


def test_locked_unknown_and_wrong_get_the_same_page(client, world, clock):
    for _ in range(get_security().login_max_failures):
        login(client, "police_steward", "wrong-Password-1")
    locked = login(client, "police_steward")  # the right password, but locked
    wrong = login(client, "market_steward", "wrong-Password-1")
    unknown = login(client, "nobody-here", "wrong-Password-1")
    assert locked.status_code == wrong.status_code == unknown.status_code == 401
    alerts = [ALERT.findall(r.text) for r in (locked, wrong, unknown)]
    assert alerts == [["用户名或密码错误"]] * 3
    for r in (locked, wrong, unknown):
        assert "ybz_session" not in r.cookies and "ybz_mfa" not in r.cookies


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x9fff), min_size=1, max_size=30))
def test_unknown_names_cost_the_same_work_as_known_ones(world, clock, monkeypatch, name):
    """One argon2 verification and the same rows written, whether the name exists or not."""
    from yibenzhang.orgs import service as orgs

    calls: list[str] = []
    real = orgs._hasher

    class Spy:
        def verify(self, hash_: str, password: str) -> bool:
            calls.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(orgs, "_hasher", Spy())
    db = world.db

    def footprint(username: str) -> tuple[int, int, int]:
        calls.clear()
        with db.read() as s:
            before = (s.execute(select(func.count()).select_from(LoginFailure)).scalar_one(),
                      s.execute(select(func.count()).select_from(LedgerEvent)).scalar_one())
        assert not _attempt(db, username, "wrong-Password-1", source=f"src-{len(username)}")
        with db.read() as s:
            after = (s.execute(select(func.count()).select_from(LoginFailure)).scalar_one(),
                     s.execute(select(func.count()).select_from(LedgerEvent)).scalar_one())
        return len(calls), after[0] - before[0], after[1] - before[1]

    if name.strip() in world.users:
        return
    assert footprint(name) == footprint("police_steward") == (1, 2, 1)
    clock.advance(days=1)


def test_a_source_that_fails_too_often_is_throttled(client, world, clock, monkeypatch):
    monkeypatch.setenv("YBZ_LOGIN_SOURCE_MAX_FAILURES", "6")
    reset_settings()
    for i in range(6):  # spread over many names: no account is locked
        assert login(client, f"guess-{i}", "wrong-Password-1").status_code == 401
    r = login(client, "police_steward")  # even the right password is held back from this source
    assert r.status_code == 429 and "ybz_session" not in r.cookies
    assert ALERT.findall(r.text) == ["登录尝试过于频繁，请稍后再试"]
    assert _attempt(world.db, "police_steward", PASSWORD, source="10.9.9.9")  # another source is not
    assert _actions(world.db, "auth.source_throttled") == ["auth.source_throttled"]
    clock.advance(minutes=get_security().login_source_block_minutes)
    assert login(client, "police_steward").status_code == 303


def test_the_lock_ends_every_session_and_refuses_tokens(client, world, clock, signed_in):
    signed_in("police_steward")
    token = world.token("police_steward")
    assert client.get("/console", follow_redirects=False).status_code == 200
    for _ in range(get_security().login_max_failures):
        _attempt(world.db, "police_steward", "wrong-Password-1")
    assert client.get("/console", follow_redirects=False).status_code == 303  # back to /login
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["code"] == "bad_token"
    with world.db.read() as s, pytest.raises(Unauthenticated):
        user_for_token(s, token)
    lock = [e for e in _actions(world.db, "auth.lock")]
    assert lock == ["auth.lock"]


def test_the_ledger_holds_failures_and_locks_without_names_or_addresses(world, clock):
    for _ in range(get_security().login_max_failures):
        _attempt(world.db, "someone-unknown", "wrong-Password-1", source="192.0.2.77")
    with world.db.read() as s:
        events = list(s.execute(select(LedgerEvent.action, LedgerEvent.content, LedgerEvent.subject_id)
                                .where(LedgerEvent.action.like("auth.%"))).all())
    assert [e.action for e in events].count("auth.login_failed") == 5
    assert "auth.lock" in [e.action for e in events]
    for e in events:
        assert "someone-unknown" not in e.content + e.subject_id and "192.0.2.77" not in e.content


def test_the_security_admin_lifts_a_lock(world, clock):
    from yibenzhang.access import Actor, Grant
    from yibenzhang.enums import Role
    from yibenzhang.errors import PermissionDenied

    for _ in range(get_security().login_max_failures):
        _attempt(world.db, "police_steward", "wrong-Password-1")
    sysadmin = Actor(user_id=None, username="sys", grants=(Grant(Role.SYSTEM_ADMIN),))
    secadmin = Actor(user_id=None, username="sec", grants=(Grant(Role.SECURITY_ADMIN),))
    with world.db.write() as s, pytest.raises(PermissionDenied):
        security.unlock(s, sysadmin, "police_steward")
    with world.db.write() as s:
        security.unlock(s, secadmin, "police_steward")
    assert _attempt(world.db, "police_steward", PASSWORD)
