"""The signed-in user's security page: turn on the second factor, change the password."""

from __future__ import annotations

import re

import pyotp

from tests.factories import PASSWORD
from tests.web.conftest import csrf_of, login


def test_a_user_turns_on_the_second_factor_and_is_asked_for_it_next_time(client, world, clock, signed_in):
    csrf = signed_in("police_steward")
    page = client.get("/account/security")
    assert page.status_code == 200 and "totp-secret" not in page.text
    begun = client.post("/account/security/2fa", data={"csrf_token": csrf})
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', begun.text).group(1)
    code = pyotp.TOTP(secret).at(clock.now)
    other = str((int(code) + 1) % 10**6).zfill(6)
    wrong = client.post("/account/security/2fa", data={"csrf_token": csrf, "code": other})
    assert wrong.status_code == 401 and "mfa-error" in wrong.text
    done = client.post("/account/security/2fa", data={"csrf_token": csrf, "code": code})
    assert done.status_code == 200 and len(re.findall(r"<li><code>", done.text)) == 10
    assert 'id="mfa-state"' in client.get("/account/security").text
    client.cookies.clear()
    r = login(client, "police_steward")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/2fa")


def test_a_password_change_checks_the_rules_and_signs_out_everywhere(client, world, signed_in):
    csrf = signed_in("police_steward")
    weak = client.post("/account/security/password", data={"csrf_token": csrf, "current": PASSWORD, "new": "short"})
    assert weak.status_code == 422 and 'id="pw-error"' in weak.text
    ok = client.post("/account/security/password", data={"csrf_token": csrf, "current": PASSWORD,
                                                          "new": "A-much-better-1"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/login"
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert login(client, "police_steward", "A-much-better-1").status_code == 303
    assert login(client, "police_steward", PASSWORD).status_code == 401


def test_the_page_needs_a_session(client, world):
    r = client.get("/account/security", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.post("/account/security/password", data={"csrf_token": csrf_of(client.get("/login").text)},
                       follow_redirects=False).status_code == 303
