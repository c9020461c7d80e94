"""Sessions (GB/T 22239-2019 8.1.4.1 c): the idle timeout to the second, the absolute lifetime,
and sign-out ending every session of the user."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.conftest import csrf_of, login
from yibenzhang.api import create_app
from yibenzhang.config import get_security
from yibenzhang.orgs import sessions
from yibenzhang.orgs.model import User, WebSession


def _idle() -> timedelta:
    return timedelta(minutes=get_security().session_idle_minutes)


def test_an_idle_session_ends_at_the_timeout_and_not_one_second_before(world, clock):
    with world.db.write() as s:
        raw, _ = sessions.start(s, s.get(User, world.users["police_steward"]))
    start = clock.now
    with world.db.read() as s:
        assert sessions.lookup(s, raw, start + _idle() - timedelta(seconds=1)) is not None
        assert sessions.lookup(s, raw, start + _idle()) is None


def test_a_request_resets_the_idle_clock_through_the_pages(client, world, clock):
    assert login(client, "police_steward").status_code == 303
    clock.advance(seconds=_idle().total_seconds() - 1)
    assert client.get("/console", follow_redirects=False).status_code == 200  # seen: the clock restarts
    clock.advance(seconds=_idle().total_seconds() - 1)
    assert client.get("/console", follow_redirects=False).status_code == 200
    clock.advance(seconds=_idle().total_seconds())
    r = client.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_busy_session_still_ends_at_its_absolute_lifetime(client, world, clock):
    assert login(client, "police_steward").status_code == 303
    life = timedelta(hours=get_security().session_absolute_hours)
    step = _idle() / 2
    elapsed = timedelta(0)
    while elapsed + step < life:
        clock.advance(seconds=step.total_seconds())
        elapsed += step
        assert client.get("/console", follow_redirects=False).status_code == 200
    clock.advance(seconds=(life - elapsed).total_seconds())
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_the_cookie_lives_no_longer_than_the_session(client, world):
    r = login(client, "police_steward")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("ybz_session="))
    assert f"Max-Age={get_security().session_absolute_hours * 3600}" in cookie


def test_sign_out_ends_every_session_of_the_user(client, world):
    other = TestClient(create_app())
    assert login(client, "police_steward").status_code == 303
    assert login(other, "police_steward").status_code == 303
    assert login(other, "market_steward").status_code == 303  # someone else's session stays
    csrf = csrf_of(client.get("/console").text)
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    with world.db.read() as s:
        left = s.execute(select(WebSession.user_id, func.count()).group_by(WebSession.user_id)).all()
    assert dict(left) == {world.users["market_steward"]: 1}
