"""The console's side navigation offers each user only the sections their role may open, and every
link it offers opens (no 403 one click away)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import login

NAV = re.compile(r'<nav class="side".*?</nav>', re.S)
HREF = re.compile(r'href="(/[^"]*)"')


@pytest.mark.parametrize("username, shown, hidden", [
    ("citizen", {"/console/objections", "/console/open"}, {"/console/ledger", "/console/review", "/console/assess",
                                                           "/console/quality", "/console/calendar",
                                                           "/console/libraries"}),
    ("police_approver", {"/console/share", "/console/calendar"}, {"/console/review", "/console/assess",
                                                                  "/console/ledger"}),
    ("police_steward", {"/console/catalog", "/console/assess", "/console/jobs", "/console/libraries"},
     {"/console/review", "/console/ledger"}),
    ("reviewer", {"/console/review", "/console/assess", "/console/ledger"}, set()),
    ("admin", {"/console/review", "/console/ledger", "/console/jobs"}, set()),
])
def test_side_navigation_follows_the_role(client, world, username, shown, hidden):
    assert login(client, username).status_code == 303
    nav = NAV.search(client.get("/console/objections").text)
    assert nav
    links = set(HREF.findall(nav.group(0)))
    assert shown <= links and not (hidden & links)
    for href in links - {"/"}:
        assert client.get(href).status_code == 200, (username, href)
