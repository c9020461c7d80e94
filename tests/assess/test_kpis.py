"""KPIs from a known state, every figure checked exactly (both backends), with working-day
edges around National Day 2025 and its make-up working days (Sun 28 Sep, Sat 11 Oct)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import published
from yibenzhang.access import Actor
from yibenzhang.assess import kpis
from yibenzhang.assess import model as targets
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import Resource
from yibenzhang.catalog.schemas import DutyChangeIn
from yibenzhang.errors import PermissionDenied
from yibenzhang.quality import objections as O
from yibenzhang.quality.model import QualityRun
from yibenzhang.share import requests as R
from yibenzhang.zone.model import Batch

TODAY = date(2025, 10, 20)
# 24 Sep 2025 (Wed): working days after it are 25, 26, 28 (Sun, 调休), 29, 30 Sep, then 1-8 Oct
# are the holiday, then 9, 10, 11 (Sat, 调休), 13, 14 Oct: the 10th is 14 Oct, the 11th 15 Oct.
BEFORE_NATIONAL_DAY = date(2025, 9, 24)
TENTH, ELEVENTH = date(2025, 10, 14), date(2025, 10, 15)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # noon in China


def batch(world, rid: int, rows: int, day: date, seq: int) -> None:
    with world.db.write() as s:
        s.add(Batch(resource_id=rid, seq=seq, mode="全量", status="已发布", path=f"r{rid}/{seq}", files=[],
                    row_count=rows, rejected_count=0, schema={}, source={}, digest="0" * 64, created_by="t",
                    created_at=_at(day), published_at=_at(day)))
        res = s.get(Resource, rid)
        res.record_count = rows


def ask(world, rid: int, day: date) -> int:
    with world.db.write() as s:
        return R.create_request(s, world.actor("consumer"), rid, items=["姓名"], mode="接口", purpose="低保审核",
                                basis="《社会救助暂行办法》", scenario="资格审核", period_from=day,
                                period_to=day + timedelta(days=300), today=day).id


def decide(world, who: str, req: int, day: date) -> None:
    with world.db.write() as s:
        R.decide_request(s, world.actor(who), req, "approve", "符合条件", day)


@pytest.fixture
def state(world):
    return build_state(world)


def build_state(world) -> dict[str, int]:
    """The known state (the browser test builds it on its own store)."""
    daily = published(world, update_cycle="每日")  # police, collected the last working day: fresh
    monthly = published(world, name="户籍迁移信息", update_cycle="每月")  # police, never collected: stale
    opened = published(world, "market", name="企业登记信息", open_type="无条件开放", update_cycle="每年")
    published(world, "market", name="不定期资源", update_cycle="不定期")  # no freshness expectation
    with world.db.write() as s:
        catalog.create_resource(s, Actor.system(), __import__("tests.factories", fromlist=["x"]).resource_in(
            world, "hospital", name="草稿资源"))
        old = s.get(Resource, opened)
        old.published_at = _at(date(2025, 6, 2))
    batch(world, daily, 1_000, date(2025, 10, 17), 1)  # Fri; Mon 20 Oct is the 1st working day after
    batch(world, opened, 500, date(2025, 3, 1), 1)  # yearly: fresh until 1 Mar 2026
    batch(world, opened, 700, date(2025, 10, 10), 2)  # in the last 30 days; record_count 700 (full)

    # Duty changes before National Day: police updates on the 10th working day, market on the 11th.
    with world.db.write() as s:
        for org in ("police", "market", "hospital"):
            catalog.record_duty_change(s, Actor.system(), DutyChangeIn(
                org_id=world.orgs[org].id, occurred_on=BEFORE_NATIONAL_DAY.isoformat(), description="机构改革"))
        catalog.confirm_catalogue_reviewed(s, world.actor("police_steward"), world.orgs["police"].id, on=TENTH)
        catalog.confirm_catalogue_reviewed(s, world.actor("market_steward"), world.orgs["market"].id, on=ELEVENTH)

    # Share: asked Thu 9 Oct, provider approves Mon 13 Oct (across 调休 Sat 11 Oct), authority Tue 14:
    # 4 working days (10, 11, 13, 14). Asked 24 Sep: provider due 14 Oct, decided 15 Oct (late),
    # authority 15 Oct: 11 working days. Asked 24 Sep and left pending: overdue on 20 Oct.
    first = ask(world, daily, date(2025, 10, 9))
    decide(world, "police_approver", first, date(2025, 10, 13))
    decide(world, "reviewer", first, date(2025, 10, 14))
    second = ask(world, daily, BEFORE_NATIONAL_DAY)
    decide(world, "police_approver", second, ELEVENTH)
    decide(world, "reviewer", second, ELEVENTH)
    ask(world, monthly, BEFORE_NATIONAL_DAY)

    # Objections filed 24 Sep: answer due on the 5th working day (30 Sep); one rejected then (on time),
    # one escalated and decided by the authority on 9 Oct (late); one filed 9 Oct, due 15 Oct, still
    # open on 20 Oct (overdue).
    with world.db.write() as s:
        a, b, _ = (O.file_objection(s, world.actor("consumer"), daily, claim="值有误", items=["姓名"], today=d)
                   for d in (BEFORE_NATIONAL_DAY, BEFORE_NATIONAL_DAY, date(2025, 10, 9)))
        O.answer_objection(s, world.actor("police_steward"), a.id, "驳回", "核实无误", today=date(2025, 9, 30))
        O.decide_objection(s, world.actor("reviewer"), b.id, "不支持异议", "核实无误", today=date(2025, 10, 9))
        s.add(QualityRun(resource_id=daily, scope="current", org_id=world.orgs["police"].id,
                         region_id=world.regions["990000"], row_count=1_000, rule_count=1,
                         scores={"准确性": 90.0}, overall=90.0, seconds=0.1, created_by="t"))
        s.add(QualityRun(resource_id=opened, scope="current", org_id=world.orgs["market"].id,
                         region_id=world.regions["990000"], row_count=3_000, rule_count=1,
                         scores={"准确性": 70.0}, overall=70.0, seconds=0.1, created_by="t"))
        targets.seed_targets(s, Actor.system())
    return {"daily": daily, "monthly": monthly, "opened": opened}


def test_every_figure_of_a_known_state(world, state):
    with world.db.read() as s:
        out = kpis.compute(s, world.actor("admin"), day=TODAY)
    t = out["totals"]
    assert t["records_collected"] == 1_700
    assert t["records_last_30d"] == 1_700  # 1,000 on 17 Oct and 700 on 10 Oct
    assert t["records_growth_30d"] is None  # nothing before the window
    assert t["resources_total"] == 5
    assert t["status:已发布"] == 4 and t["status:草稿"] == 1 and t["published"] == 4
    assert t["open_datasets"] == 1
    # gov/institution/enterprise orgs: police, market, hospital, water, city_police, county_civil,
    # other_city_org = 7; police and market have published resources.
    assert (t["orgs_expected"], t["orgs_catalogued"], t["catalogue_coverage"]) == (7, 2, round(2 / 7, 4))
    assert (t["duty_total"], t["duty_on_time"], t["duty_late"], t["duty_overdue"], t["duty_due"]) == (3, 1, 1, 1, 0)
    assert t["duty_on_time_rate"] == round(1 / 3, 4)
    # daily (fresh: 17 Oct + 1 working day = 20 Oct), monthly (never collected), yearly (fresh).
    assert (t["fresh"], t["stale"], t["never_collected"], t["fresh_rate"]) == (2, 1, 1, round(2 / 3, 4))
    assert t["collection_rate"] == round(2 / 3, 4)
    assert (t["share_requests"], t["share_decided"], t["share_on_time"], t["share_late"]) == (3, 2, 1, 1)
    assert (t["share_pending"], t["share_overdue"], t["share_on_time_rate"]) == (1, 1, round(1 / 3, 4))
    assert t["share_median_days"] == 7.5  # 4 and 11 working days
    assert (t["objections_total"], t["objections_on_time"], t["objections_late"]) == (3, 1, 1)
    assert (t["objections_open"], t["objections_overdue"]) == (1, 1)
    assert t["objections_on_time_rate"] == round(1 / 3, 4)
    assert t["quality_overall"] == 75.0  # (90 × 1,000 + 70 × 3,000) / 4,000
    assert t["share_calls"] == 0
    from yibenzhang.registry import module_available

    opened = 0 if module_available("yibenzhang.open.kpi") else None  # engineer O1's figures, when installed
    assert all(t[k] == opened for k in ("downloads", "api_calls", "demands_total", "demands_answered"))
    progress = {(p["metric"], p["due_on"]): p for p in out["targets"]}
    assert progress[("records_collected", "2025-12-31")]["progress"] == round(1_700 / 150_000_000_000, 4)
    assert progress[("open_datasets", "2024-12-31")]["overdue"] is True
    assert progress[("catalogue_coverage", "2025-12-31")]["current"] == round(2 / 7, 4)


def test_breakdown_by_org_and_region(world, state):
    with world.db.read() as s:
        out = kpis.compute(s, world.actor("admin"), day=TODAY)
    orgs = {o["org_id"]: o for o in out["orgs"]}
    police, market = orgs[world.orgs["police"].id], orgs[world.orgs["market"].id]
    assert (police["records_collected"], police["fresh"], police["stale"], police["duty_on_time"]) == (1_000, 1, 1, 1)
    assert (market["records_collected"], market["open_datasets"], market["duty_late"]) == (700, 1, 1)
    assert police["share_median_days"] == 7.5 and market["share_median_days"] is None
    regions = {r["code"]: r for r in out["regions"]}
    assert regions["990000"]["records_collected"] == 1_700
    assert regions["990100"]["records_collected"] == 0 and regions["990100"]["parent_code"] == "990000"
    months = {m["month"]: m["rows"] for m in out["trends"]["records_per_month"]}
    assert months == {"2025-03": 500, "2025-10": 1_700}
    assert out["trends"]["open_datasets"] == [{"month": "2025-06", "open_datasets": 1}]


def test_ninth_working_day_edge_and_growth(world, state):
    """A day before: 14 Oct is still within the limit for the open change; growth once the window moves."""
    with world.db.read() as s:
        t = kpis.compute(s, world.actor("admin"), day=TENTH, breakdown=False)["totals"]
        assert (t["duty_overdue"], t["duty_due"]) == (0, 1)  # the hospital's change is due today
        t = kpis.compute(s, world.actor("admin"), day=ELEVENTH, breakdown=False)["totals"]
        assert (t["duty_overdue"], t["duty_due"]) == (1, 0)
        t = kpis.compute(s, world.actor("admin"), day=date(2025, 11, 20), breakdown=False)["totals"]
        assert t["records_last_30d"] == 0 and t["records_growth_30d"] == 0.0


def test_who_sees_what(world, state):
    with world.db.read() as s:
        city = kpis.compute(s, world.actor("city_reviewer"), day=TODAY)
        assert city["scope"]["region_code"] == "990100" and city["totals"]["records_collected"] == 0
        with pytest.raises(PermissionDenied):
            kpis.compute(s, world.actor("city_reviewer"), region_code="990000", day=TODAY)
        mine = kpis.compute(s, world.actor("police_steward"), day=TODAY)
        assert mine["scope"]["org_id"] == world.orgs["police"].id and mine["totals"]["records_collected"] == 1_000
        with pytest.raises(PermissionDenied):
            kpis.compute(s, world.actor("police_steward"), org_id=world.orgs["market"].id, day=TODAY)
        assert kpis.compute(s, world.actor("auditor"), day=TODAY)["totals"]["published"] == 4
        for who in ("consumer", "citizen"):
            with pytest.raises(PermissionDenied):
                kpis.compute(s, world.actor(who), day=TODAY)
        assert s.execute(select(Resource.id)).first() is not None


def test_set_based_rules_agree_with_the_services(world, state):
    """The SQL forms of objection timeliness, freshness and working days give the services' answers."""
    from yibenzhang.quality import scores as qscores
    from yibenzhang.workdays import workdays_between

    for day in (BEFORE_NATIONAL_DAY, date(2025, 9, 30), date(2025, 10, 1), TENTH, ELEVENTH, TODAY):
        with world.db.read() as s:
            counts = O.objection_counts(s, Actor.system(), today=day)
            out: dict = {}
            kpis._objections(s, kpis.resolve_scope(s, Actor.system()), day, out)
        mine = {org: {k.removeprefix("objections_"): v for k, v in c.items()} for org, c in out.items()}
        assert mine == counts, day
    index = kpis.WorkdayIndex(date(2025, 9, 1), date(2025, 12, 31))
    days = [date(2025, 9, 1) + timedelta(days=i) for i in range(0, 120, 3)]
    assert all(index.between(a, b) == workdays_between(a, b) for a in days for b in days)
    for today in (date(2025, 10, 8), TODAY, date(2026, 2, 16)):
        fresh = kpis.Freshness(today)
        for cycle in qscores.FRESHNESS:
            for back in range(0, 400, 7):
                newest = today - timedelta(days=back)
                expected = qscores.timeliness(cycle, newest, today)
                got = fresh.is_fresh(cycle, newest)
                assert got == (None if expected is None else expected == 100.0), (cycle, newest, today)


def test_quality_sums_equal_weighted_average(world, state):
    from yibenzhang.quality import scores as qscores

    with world.db.write() as s:  # a newer run of the daily resource replaces its first one
        s.add(QualityRun(resource_id=state["daily"], scope="current", org_id=world.orgs["police"].id,
                         region_id=world.regions["990000"], row_count=0, rule_count=1, scores={"准确性": 33.3},
                         overall=33.3, seconds=0.1, created_by="t"))
    with world.db.read() as s:
        t = kpis.compute(s, world.actor("admin"), day=TODAY, breakdown=False)["totals"]
    expected = qscores.weighted_average([({}, 33.3, 0), ({}, 70.0, 3_000)])["overall"]
    assert t["quality_overall"] == expected == round((33.3 * 1 + 70 * 3000) / 3001, 2)
