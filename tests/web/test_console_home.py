"""The console's home per role (issue 17): each person sees the work waiting for them, with counts
and what is overdue first; nobody sees a card for work they may not open."""

from __future__ import annotations

import re

from tests.factories import resource_in
from tests.web.conftest import login
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog


def _cards(html: str) -> dict[str, tuple[int, int]]:
    return {key: (int(count), int(overdue)) for key, count, overdue in
            re.findall(r'<li id="todo-([a-z-]+)" data-count="(\d+)" data-overdue="(\d+)"', html)}


def _home(client, username: str) -> dict[str, tuple[int, int]]:
    assert login(client, username).status_code == 303
    page = client.get("/console")
    assert page.status_code == 200
    return _cards(page.text)


def _resource(world, name: str, *, submit: bool = False, returned: bool = False) -> int:
    with world.db.write() as s:
        r = catalog.create_resource(s, Actor.system(), resource_in(world, "police", name=name))
        if submit or returned:
            catalog.submit_resource(s, Actor.system(), r.id)
        if returned:
            catalog.return_resource(s, world.actor("reviewer"), r.id, "信息项说明不全")
        return r.id


def test_the_reviewer_sees_the_queue_count(client, world) -> None:
    for i in range(3):
        _resource(world, f"待审资源{i}", submit=True)
    cards = _home(client, "reviewer")
    assert cards["review"] == (3, 0)
    # one submitted long ago is past the review limit in working days: the card says so
    from datetime import UTC, datetime

    from yibenzhang.catalog.model import Resource

    waiting = _resource(world, "久候资源", submit=True)
    with world.db.write() as s:
        s.get(Resource, waiting).submitted_at = datetime(2025, 9, 26, 2, tzinfo=UTC)
    assert _home(client, "reviewer")["review"] == (4, 1)
    assert "catalog" not in cards and "operate" not in cards  # not a reviewer's work


def test_the_steward_sees_what_to_fix(client, world) -> None:
    _resource(world, "被退回的资源", returned=True)
    _resource(world, "草稿资源")
    cards = _home(client, "police_steward")
    assert cards["catalog"] == (2, 0)
    assert "review" not in cards
    page = client.get("/console").text
    assert "已退回待修改 1 条，草稿 1 条" in page
    en = client.get("/console?lang=en").text
    assert "1 returned to fix, 1 drafts" in en and "To do" in en


def test_a_steward_of_another_org_sees_none_of_it(client, world) -> None:
    _resource(world, "被退回的资源", returned=True)
    cards = _home(client, "market_steward")
    assert cards.get("catalog") == (0, 0)


def test_the_auditor_has_a_home_without_error(client, world) -> None:
    cards = _home(client, "auditor")
    assert "catalog" not in cards
