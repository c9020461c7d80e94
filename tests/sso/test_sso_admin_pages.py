"""The security administrator's page of SSO identities (/console/security/sso): link a provider's
subject to a user, disable, enable and unlink from the console; the subject is never shown or
echoed; nobody else may open or post it."""

from __future__ import annotations

import re

from tests.factories import PASSWORD
from tests.sso.test_oidc_login import events, sso_login
from tests.web.conftest import csrf_of, signed_in  # noqa: F401  (the `signed_in` fixture)
from yibenzhang.access import Actor
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec

PAGE = "/console/security/sso"


def security_admin(world) -> str:
    with world.db.write() as s:
        orgs.create_user(s, Actor.system(), username="sec_admin", display_name="安全管理员甲",
                         password=PASSWORD,
                         roles=[RoleSpec("安全管理员", None, None)])
    return "sec_admin"


def test_link_disable_enable_unlink_from_the_console(oidc_env, world, client, signed_in):  # noqa: F811
    csrf = signed_in("secadmin")
    page = client.get(PAGE)
    assert page.status_code == 200 and 'id="sso-link-form"' in page.text and "云岭省统一身份认证" in page.text
    linked = client.post(PAGE, data={"csrf_token": csrf, "provider": "gov", "subject": "police.steward",
                                     "username": "police_steward"}, follow_redirects=False)
    assert linked.status_code == 303 and linked.headers["location"] == f"{PAGE}?done=link"
    listing = client.get(f"{PAGE}?done=link")
    assert 'id="sso-done"' in listing.text and "police_steward" in listing.text
    assert "police.steward" not in listing.text  # the subject is kept as a digest only
    ident = int(re.search(r'id="identity-(\d+)"', listing.text).group(1))
    # a second link of the same subject: refused in the page, the subject not echoed back
    again = client.post(PAGE, data={"csrf_token": csrf, "provider": "gov", "subject": "police.steward",
                                    "username": "consumer"})
    assert again.status_code == 409 and "已关联" in again.text and 'value="police.steward"' not in again.text
    disabled = client.post(f"{PAGE}/{ident}/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert disabled.status_code == 303
    assert f'id="identity-{ident}" data-disabled="yes"' in client.get(PAGE).text
    client.post(f"{PAGE}/{ident}/enable", data={"csrf_token": csrf})
    assert f'id="identity-{ident}" data-disabled="no"' in client.get(PAGE).text
    client.post(f"{PAGE}/{ident}/unlink", data={"csrf_token": csrf})
    assert f'id="identity-{ident}"' not in client.get(PAGE).text
    assert [len(events(world, a)) for a in ("sso.link", "sso.disable", "sso.enable", "sso.unlink")] == [1, 1, 1, 1]


def test_the_security_administrator_links_and_the_person_signs_in(oidc_env, world, client, signed_in):  # noqa: F811
    csrf = signed_in(security_admin(world))
    assert f'href="{PAGE}"' in client.get("/console").text  # in the side navigation
    client.post(PAGE, data={"csrf_token": csrf, "provider": "gov", "subject": "police.steward",
                            "username": "police_steward"})
    client.cookies.clear()
    response = sso_login(client, "police.steward")
    assert response.status_code == 303 and response.headers["location"] == "/console"


def test_others_may_not_open_or_post(oidc_env, world, client, signed_in):  # noqa: F811
    csrf = signed_in("police_steward")
    assert f'href="{PAGE}"' not in client.get("/console").text
    assert client.get(PAGE).status_code == 403
    refused = client.post(PAGE, data={"csrf_token": csrf, "provider": "gov", "subject": "x", "username": "consumer"})
    assert refused.status_code == 403 and events(world, "sso.link") == []
    assert client.post(PAGE, data={"csrf_token": "wrong", "provider": "gov", "subject": "x",
                                   "username": "consumer"}).status_code in (400, 403)
