"""The masked preview says why it shows no rows (issue 17): not "尚未归集数据" when rows were
collected but no item has a confirmed grade (ungraded items never leave), and the real reason
in each case, in both languages."""

from __future__ import annotations

import re

import pytest

from tests.classify.test_classify_service import make_people
from tests.factories import published
from tests.web.conftest import login
from yibenzhang.classify import service as svc


def _empty_note(html: str) -> str | None:
    found = re.search(r'id="preview-empty"[^>]*>([^<]*)<', html)
    return found.group(1) if found else None


@pytest.fixture
def steward(client):
    assert login(client, "police_steward").status_code == 303
    return client


def test_rows_collected_but_no_grade_confirmed_says_so(steward, world):
    pytest.importorskip("yibenzhang.classify.policies")
    rid, table = make_people(world)
    page = steward.get(f"/console/resources/{rid}/classification", params={"exit": "开放下载"})
    assert page.status_code == 200
    note = _empty_note(page.text)
    assert note is not None and "尚未归集数据" not in note
    assert f"已归集 {table.num_rows} 行" in note and "确认分级" in note
    en = steward.get(f"/console/resources/{rid}/classification", params={"exit": "开放下载", "lang": "en"})
    note_en = _empty_note(en.text)
    assert note_en is not None and f"{table.num_rows} rows" in note_en and "confirmed" in note_en
    assert not re.search(r"[\u4e00-\u9fff]", note_en)


def test_confirmed_grades_let_the_rows_through(steward, world):
    pytest.importorskip("yibenzhang.classify.policies")
    rid, _ = make_people(world)
    actor = world.actor("police_steward")
    svc.suggest(world.db, actor, rid)
    with world.db.write() as s:
        for it in svc.classification(s, actor, rid)["items"]:
            svc.confirm(s, actor, it["id"])
    page = steward.get(f"/console/resources/{rid}/classification", params={"exit": "共享"})
    assert 'id="preview-rows"' in page.text and _empty_note(page.text) is None


def test_nothing_collected_says_so(steward, world):
    pytest.importorskip("yibenzhang.classify.policies")
    rid = published(world, org="police", name="尚无数据的资源")
    page = steward.get(f"/console/resources/{rid}/classification", params={"exit": "开放下载"})
    assert _empty_note(page.text) == "尚未归集数据"
    assert svc.rows_available(world.db, rid) == 0
