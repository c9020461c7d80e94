"""Dead ends and messages (issue 17): a citizen's sign-in lands on the portal's 我的 space, not the
government console; success messages say what was done, for every action the pages redirect with."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.conftest import csrf_of, login
from yibenzhang.web.messages import GENERIC, done_message

WEB = Path(__file__).resolve().parents[2] / "src" / "yibenzhang" / "web"
# redirect(f"/console/share/{rid}?done=create") and redirect("/open/my?done=revoke")
DONE_LITERAL = re.compile(r'redirect\(f?"([^"?]+)\?(?:[^"]*&)?done=([a-z_]+)')


def test_every_success_redirect_has_its_own_message() -> None:
    found = []
    for path in sorted(WEB.glob("*.py")):
        for target, done in DONE_LITERAL.findall(path.read_text(encoding="utf-8")):
            found.append((re.sub(r"\{[^}]+\}", "7", target), done))
    assert len(found) >= 20
    generic = [(t, d) for t, d in found if done_message(t, d) == GENERIC]
    assert generic == []


def test_messages_depend_on_the_page() -> None:
    assert done_message("/console/share/3", "create") != done_message("/demands/3", "create")
    assert done_message("/console/share/grants/3", "revoke") != done_message("/open/my", "revoke")
    assert done_message("/open/my", "nonsense") == GENERIC and done_message("/open/my", None) == GENERIC


def test_a_citizen_lands_on_my_space_not_the_government_console(client, world) -> None:
    assert login(client, "citizen").status_code == 303
    console = client.get("/console", follow_redirects=False)
    assert console.status_code == 303 and console.headers["location"] == "/open/my"
    my = client.get("/open/my")
    assert my.status_code == 200
    assert "政府工作台" not in my.text and 'href="/open/my" aria-current="page"' in my.text
    for section in ("my-applications", "my-keys", "my-demands", "my-objections"):
        assert f'id="{section}"' in my.text
    assert 'action="/logout"' in my.text  # and a way out, on the portal side
    en = client.get("/open/my?lang=en")
    assert "My space" in en.text and "My objections" in en.text


def test_government_users_still_reach_their_console(client, world) -> None:
    assert login(client, "police_steward").status_code == 303
    page = client.get("/console")
    assert page.status_code == 200 and "政府工作台" in page.text
    portal = client.get("/datasets")
    assert 'href="/console"' in portal.text and 'href="/open/my"' not in portal.text


def test_a_filed_demand_says_it_was_filed(client, world) -> None:
    assert login(client, "citizen").status_code == 303
    form = client.get("/demands/new")
    response = client.post("/demands/new", data={
        "csrf_token": csrf_of(form.text), "title": "全省体育场馆开放时间", "description": "场馆名称、地址和开放时间",
        "domain": "体育"})
    assert response.status_code == 200, response.text[:500]
    assert re.search(r'id="done">需求已提交', response.text)
    assert "操作已完成" not in response.text
