"""Grants: issue, see, revoke, expire; who may do each (both backends). The fixtures here serve
the data-service and verification tests too."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.share import grants as G

# name, data type, grade, categories (the steward's decision)
ITEMS = [
    ("姓名", "C", "一般-3级", ["person_name"]),
    ("公民身份号码", "C", "一般-3级", ["id_card"]),
    ("宗教信仰", "C", "一般-4级", ["religion"]),  # sensitive: shared only SM4-encrypted
    ("行政区划代码", "C", "一般-1级", []),
    ("内部备注", "C", None, []),  # ungraded: treated as 核心, never leaves
]
ROWS = {
    "姓名": ["欧阳娜娜", "张伟", "李娜", "王芳", "赵强", "孙丽"],
    "公民身份号码": ["990101199003071234", "990101198512120018", "990102197701010011",
                 "990100200002020022", "990201199912120033", "990201198808080044"],
    "宗教信仰": ["佛教", "道教", "伊斯兰教", "天主教", "基督教", "东正教"],
    "行政区划代码": ["990101", "990101", "990102", "990100", "990201", "990201"],
    "内部备注": ["机密备注甲", "机密备注乙", "机密备注丙", "机密备注丁", "机密备注戊", "机密备注己"],
}
# Values that must never leave in clear through a grant.
PROTECTED = [*ROWS["宗教信仰"], *ROWS["内部备注"]]


@pytest.fixture(name="share")
def share_fixture(world):
    """The world plus a published, graded resource of the police with six rows, and consumer
    users of the market (province), the city police and the county civil-affairs bureau."""
    from tests.factories import published
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.catalog.schemas import ItemIn
    from yibenzhang.classify.model import ClassificationDecision
    from yibenzhang.collect.pipeline import ingest_arrow
    from yibenzhang.orgs import service as orgs
    from yibenzhang.orgs.service import RoleSpec

    G.BUCKETS.reset()
    rid = published(world, items=[ItemIn(name=n, data_type=t, length=50, is_key=(n == "公民身份号码"))
                                  for n, t, _, _ in ITEMS])
    ingest_arrow(world.db, world.actor("police_steward"), rid, [pa.RecordBatch.from_pydict(ROWS)],
                 source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            _, _, grade, cats = next(i for i in ITEMS if i[0] == item.name)
            item.grade = grade
            if grade:
                s.add(ClassificationDecision(item_id=item.id, resource_id=rid, kind="调整", grade=grade,
                                             categories=cats, reason="test", decided_by="police_steward"))
        for username, org in (("city_consumer", "city_police"), ("county_consumer", "county_civil")):
            user = orgs.create_user(s, Actor.system(), username=username, display_name=username, password=None,
                                    roles=[RoleSpec("数据使用方", world.orgs[org].uscc, None)])
            world.actors[username] = orgs.actor_for(s, user)
    yield SimpleNamespace(world=world, rid=rid)
    # the data service buffers usage records: write (or drop) them before this database goes away
    from yibenzhang.share import service_rows

    try:
        G.USAGE.flush(world.db)
    finally:
        G.USAGE.discard(world.db)
        service_rows.clear_cache()


def issue(share, *, org: str = "market", items=None, mode: str = "接口", scope=None, by: str = "police_approver",
          valid_from: date | None = None, valid_to: date | None = None, rate: int = 600) -> int:
    w = share.world
    with w.db.write() as s:
        g = G.issue_grant(s, w.actor(by), request_id=None, consumer_org_id=w.orgs[org].id, resource_id=share.rid,
                          items=items or ["姓名", "公民身份号码", "宗教信仰", "行政区划代码", "内部备注"], mode=mode,
                          row_scope=scope, valid_from=valid_from or workdays.today() - timedelta(days=1),
                          valid_to=valid_to or workdays.today() + timedelta(days=30), rate_limit_per_minute=rate)
        return g.id


def test_issue_is_recorded_and_validated(share):
    gid = issue(share)
    w = share.world
    with w.db.read() as s:
        g = G.get_grant(s, w.actor("consumer"), gid)
        assert (g.status, g.mode, g.exit_path) == (G.ACTIVE, "接口", "共享")
        from yibenzhang.ledger.model import LedgerEvent
        ev = s.query(LedgerEvent).filter_by(action="share.grant.issue", subject_id=str(gid)).one()
        assert ev.actor == "police_approver"
    with pytest.raises(ValidationFailed) as bad:
        issue(share, items=["不存在"], mode="外卖", valid_from=workdays.today(),
              valid_to=workdays.today() - timedelta(days=1))
    assert {e.code for e in bad.value.errors} == {"item_unknown", "grant_mode", "grant_period"}
    with pytest.raises(ValidationFailed):
        issue(share, scope={"region_code": "123456"})


@pytest.mark.parametrize("who", ["consumer", "market_steward", "county_steward", "citizen", "other_reviewer",
                                 "city_steward"])
def test_only_the_provider_side_issues_and_revokes(share, who):
    gid = issue(share)
    with pytest.raises(PermissionDenied):
        issue(share, by=who)
    w = share.world
    with pytest.raises((PermissionDenied, NotFound)), w.db.write() as s:
        G.revoke_grant(s, w.actor(who), gid, "不再需要")


def test_revocation_needs_a_reason_and_ends_the_grant(share):
    gid = issue(share)
    w = share.world
    with pytest.raises(ValidationFailed), w.db.write() as s:
        G.revoke_grant(s, w.actor("police_approver"), gid, "  ")
    with w.db.write() as s:
        G.revoke_grant(s, w.actor("reviewer"), gid, "履职需求已结束")
    with w.db.read() as s:
        assert G.get_grant(s, w.actor("consumer"), gid).status == G.REVOKED
        with pytest.raises(G.GrantUnusable) as e:
            G.usable_grant(s, w.actor("consumer"), gid, "接口")
        assert e.value.code == "grant_revoked"


def test_expiry_is_computed_from_the_date(share):
    gid = issue(share, valid_from=workdays.today() - timedelta(days=40), valid_to=workdays.today() - timedelta(days=1))
    later = issue(share, valid_from=workdays.today() + timedelta(days=3))
    w = share.world
    with w.db.read() as s:
        assert G.get_grant(s, w.actor("consumer"), gid).status == G.EXPIRED
        for g, code in ((gid, "grant_expired"), (later, "grant_not_yet_valid")):
            with pytest.raises(G.GrantUnusable) as e:
                G.usable_grant(s, w.actor("consumer"), g, "接口")
            assert e.value.code == code


def test_not_shareable_resources_get_no_grant(share):
    from yibenzhang.catalog.model import Resource

    w = share.world
    with w.db.write() as s:
        s.get(Resource, share.rid).share_type = "不予共享"
    with pytest.raises(DomainError) as e:
        issue(share)
    assert e.value.code == "grant_not_shareable"


def test_unconditional_resources_are_granted_to_the_consumer_itself(share):
    from yibenzhang.catalog.model import Resource

    w = share.world
    with w.db.write() as s:
        s.get(Resource, share.rid).share_type = "无条件共享"
    assert issue(share, by="consumer")
    with pytest.raises(PermissionDenied):  # … but only for its own org
        issue(share, org="city_police", by="consumer")


def test_who_sees_which_grants(share):
    mine, theirs = issue(share), issue(share, org="city_police")
    w = share.world
    with w.db.read() as s:
        seen = {u: {g.id for g in G.grants_for(s, w.actor(u))} for u in
                ("consumer", "city_consumer", "police_steward", "auditor", "citizen", "other_reviewer", "reviewer")}
        assert seen["consumer"] == {mine} and seen["city_consumer"] == {theirs}
        assert seen["police_steward"] == seen["auditor"] == seen["reviewer"] == {mine, theirs}
        assert seen["citizen"] == seen["other_reviewer"] == set()
        assert {g.id for g in G.grants_for(s, w.actor("admin"), org_id=w.orgs["market"].id)} == {mine}
        with pytest.raises(NotFound):
            G.get_grant(s, w.actor("consumer"), theirs)


def test_scope_prefix_by_level():
    assert [G.scope_prefix(c) for c in ("990000", "990100", "990101")] == ["99", "9901", "990101"]


def test_a_grants_limit_is_a_fixed_window_in_the_shared_store(db):
    """Issue 14: calls 1..N of a minute pass, N+1 is refused with the seconds left, the next
    window starts afresh; the counters live in the metadata store (every worker's)."""
    from types import SimpleNamespace

    from yibenzhang import ratelimit

    clock = [1000.0]
    ratelimit.set_clock(lambda: clock[0])
    try:
        grant = SimpleNamespace(id=7, rate_limit_per_minute=3)
        for _ in range(3):
            G.check_rate(grant, "rows", db=db)
        with pytest.raises(G.RateLimited) as refused:
            G.check_rate(grant, "rows", db=db)
        assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "60"}
        clock[0] += 59.5
        with pytest.raises(G.RateLimited) as refused:
            G.check_rate(grant, "rows", db=db)
        assert refused.value.headers == {"Retry-After": "1"}
        clock[0] += 0.5  # the window has ended
        G.check_rate(grant, "rows", db=db)
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(ratelimit.RateCounter)) == 1
    finally:
        ratelimit.set_clock(None)
