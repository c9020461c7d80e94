"""Reads of personal data appear in the access log (the ledger) with items and row count and
without values; the audit administrator exports them, the system administrator cannot."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, published
from yibenzhang.access import Actor
from yibenzhang.classify import policies as P
from yibenzhang.errors import PermissionDenied
from yibenzhang.ledger import audit
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec

NAMES = ["欧阳娜娜", "张伟"]
IDS = ["110101199003071234", "530102198512120018"]


@pytest.fixture
def people(world):
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.collect.pipeline import ingest_arrow

    rid = published(world)
    batch = pa.RecordBatch.from_pydict({"姓名": NAMES, "公民身份号码": IDS, "出生日期": ["1990-03-07", "1985-12-12"]})
    ingest_arrow(world.db, world.actor("police_steward"), rid, [batch], source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = "一般-3级"
    return rid


def _admin(world, name: str, role: str) -> Actor:
    with world.db.write() as s:
        user = orgs.create_user(s, Actor.system(), username=name, display_name=name, password=PASSWORD,
                                roles=[RoleSpec(role)])
        return orgs.actor_for(s, user)


def test_a_console_preview_is_logged_with_items_and_rows_never_values(world, people):
    P.preview(world.db, world.actor("police_steward"), people, P.CONSOLE_PREVIEW, limit=5)
    P.preview(world.db, world.actor("police_steward"), people, P.SHARE, limit=1)  # clear values leave here
    with world.db.read() as s:
        events = list(s.execute(select(LedgerEvent.actor, LedgerEvent.subject_id, LedgerEvent.content)
                                .where(LedgerEvent.action == "data.read").order_by(LedgerEvent.seq)).all())
    assert len(events) == 2 and {e.actor for e in events} == {"police_steward"}
    assert all(e.subject_id == str(people) for e in events)
    import json

    first, second = (json.loads(e.content) for e in events)
    assert first == {"exit": f"preview:{P.CONSOLE_PREVIEW}", "items": ["公民身份号码", "出生日期", "姓名"], "rows": 2}
    assert second["rows"] == 1
    for e in events:
        for value in NAMES + IDS + ["欧阳**", "110101********1234"]:
            assert value not in e.content


def test_the_audit_administrator_exports_the_access_log_the_system_administrator_cannot(world, people):
    P.preview(world.db, world.actor("police_steward"), people, P.CONSOLE_PREVIEW)
    auditor = _admin(world, "audadm", "审计管理员")
    with world.db.write() as s:
        rows = audit.export_events(s, auditor, action_prefix="data.read")
    assert [r["action"] for r in rows] == ["data.read"] and rows[0]["actor"] == "police_steward"
    for name, role in (("sysadm", "系统管理员"), ("secadm", "安全管理员")):
        other = _admin(world, name, role)
        with pytest.raises(PermissionDenied), world.db.write() as s:
            audit.export_events(s, other, action_prefix="data.read")
