"""The second factor (GB/T 22239-2019 8.1.4.1 d): TOTP codes from `pyotp` at the window edges,
replay refused, recovery codes hashed and single-use, and the sign-in flow for a role that
must use it."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from tests.factories import PASSWORD
from tests.web.conftest import csrf_of, login
from yibenzhang.access import Actor
from yibenzhang.config import reset_settings
from yibenzhang.errors import Unauthenticated
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.orgs import mfa
from yibenzhang.orgs.model import MfaRecoveryCode, UserMfa

STEP = mfa.STEP_SECONDS


def _enrol(world, clock, username: str = "reviewer") -> tuple[pyotp.TOTP, list[str]]:
    uid = world.users[username]
    with world.db.write() as s:
        secret = mfa.begin_enrolment(s, uid)
    totp = pyotp.TOTP(secret)
    with world.db.write() as s:
        codes = mfa.confirm_enrolment(s, Actor.system(), uid, totp.at(clock.now), clock.now)
    clock.advance(seconds=STEP)  # the enrolment used the current window
    return totp, codes


def _verify(world, code: str, now, username: str = "reviewer") -> str:
    with world.db.write() as s:
        return mfa.verify(s, world.users[username], code, now)


def test_a_current_code_is_accepted_once(world, clock):
    totp, _ = _enrol(world, clock)
    assert _verify(world, totp.at(clock.now), clock.now) == "totp"
    with pytest.raises(Unauthenticated) as info:
        _verify(world, totp.at(clock.now), clock.now)  # the same code again: a replay
    assert info.value.code == "bad_second_factor"


@pytest.mark.parametrize("accept_previous", [True, False])
def test_the_previous_window_only_by_the_setting(world, clock, monkeypatch, accept_previous):
    monkeypatch.setenv("YBZ_TOTP_ACCEPT_PREVIOUS", "1" if accept_previous else "0")
    reset_settings()
    totp, _ = _enrol(world, clock)
    clock.advance(seconds=STEP)
    previous = totp.at(clock.now.timestamp() - STEP)
    if accept_previous:
        assert _verify(world, previous, clock.now) == "totp"
    else:
        with pytest.raises(Unauthenticated):
            _verify(world, previous, clock.now)
    with pytest.raises(Unauthenticated):  # two windows back: never
        _verify(world, totp.at(clock.now.timestamp() - 2 * STEP), clock.now)


def test_an_earlier_window_is_refused_after_a_later_one_was_used(world, clock):
    totp, _ = _enrol(world, clock)
    clock.advance(seconds=STEP)
    previous = totp.at(clock.now.timestamp() - STEP)
    assert _verify(world, totp.at(clock.now), clock.now) == "totp"
    with pytest.raises(Unauthenticated):
        _verify(world, previous, clock.now)


def test_recovery_codes_are_hashed_and_good_once(world, clock):
    _, codes = _enrol(world, clock)
    with world.db.read() as s:
        stored = list(s.execute(select(MfaRecoveryCode.digest)).scalars())
        sealed = s.execute(select(UserMfa.secret_sealed)).scalar_one()
    assert len(stored) == len(codes) and not set(stored) & set(codes)
    assert all(c.replace("-", "") not in "".join(stored) for c in codes)
    assert not re.fullmatch(r"[A-Z2-7]{32}", sealed)  # the TOTP secret is sealed, not base32 in clear
    assert _verify(world, codes[0], clock.now) == "recovery_code"
    with pytest.raises(Unauthenticated):
        _verify(world, codes[0], clock.now)


def test_a_role_that_must_use_a_second_factor_enrols_then_signs_in_with_it(client, world, clock, monkeypatch):
    monkeypatch.setenv("YBZ_MFA_REQUIRED_ROLES", "主管部门审核员,security_admin")
    reset_settings()
    r = login(client, "reviewer")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/2fa")
    assert "ybz_session" not in r.cookies  # no session before the second factor
    assert client.get("/console", follow_redirects=False).status_code == 303
    page = client.get("/login/2fa")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    totp = pyotp.TOTP(secret)
    wrong = client.post("/login/2fa", data={"code": "000000" if totp.at(clock.now) != "000000" else "111111",
                                            "csrf_token": csrf_of(page.text), "next": "/console"})
    assert wrong.status_code == 401
    done = client.post("/login/2fa", data={"code": totp.at(clock.now), "csrf_token": csrf_of(page.text),
                                           "next": "/console"}, follow_redirects=False)
    assert done.status_code == 200 and len(re.findall(r"<li><code>", done.text)) == 10  # recovery codes
    assert client.get("/console", follow_redirects=False).status_code == 200
    client.cookies.clear()
    clock.advance(seconds=STEP)
    r = login(client, "reviewer")
    assert r.headers["location"].startswith("/login/2fa")
    page = client.get("/login/2fa")
    assert "totp-secret" not in page.text  # enrolled: only the code is asked for
    done = client.post("/login/2fa", data={"code": totp.at(clock.now), "csrf_token": csrf_of(page.text),
                                           "next": "/console"}, follow_redirects=False)
    assert done.status_code == 303 and "ybz_session" in done.cookies
    with world.db.read() as s:
        actions = list(s.execute(select(LedgerEvent.action).where(
            LedgerEvent.subject_id == str(world.users["reviewer"]))).scalars())
    assert "mfa.enrol" in actions and actions.count("web.login") == 2


def test_wrong_codes_count_toward_the_lock(client, world, clock):
    totp, _ = _enrol(world, clock, "police_steward")
    for _ in range(5):
        r = login(client, "police_steward")
        assert r.headers["location"].startswith("/login/2fa")
        page = client.get("/login/2fa")
        bad = "000000" if totp.at(clock.now) != "000000" else "111111"
        client.post("/login/2fa", data={"code": bad, "csrf_token": csrf_of(page.text), "next": "/console"})
    r = login(client, "police_steward", PASSWORD)
    assert r.status_code == 401  # locked: the password step now answers like a wrong password


def test_by_default_the_administrators_must_use_a_second_factor_and_others_need_not(client, world, monkeypatch):
    """GB/T 22239-2019 8.1.4.1 d) with no setting: the administrator roles are sent to the second
    step (enrolment on first use); a steward signs in with the password alone."""
    monkeypatch.delenv("YBZ_MFA_REQUIRED_ROLES", raising=False)
    reset_settings()
    r = login(client, "admin")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/2fa")
    assert "ybz_session" not in r.cookies
    client.cookies.clear()
    r = login(client, "police_steward")
    assert r.status_code == 303 and r.headers["location"] == "/console" and "ybz_session" in r.cookies
    monkeypatch.setenv("YBZ_MFA_REQUIRED_ROLES", "")  # an explicit empty setting turns it off
    reset_settings()
    client.cookies.clear()
    assert "ybz_session" in login(client, "admin").cookies
