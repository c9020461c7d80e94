"""Compliance calendar rules at their edges (DOMAIN §8), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.assess import calendar as cal
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.ledger import service as ledger
from yibenzhang.orgs.model import Org


def _registered(world, key: str) -> date:
    with world.db.read() as s:
        org = s.get(Org, world.orgs[key].id)
        return org.created_at.date()


def _routine(world, key: str):
    with world.db.read() as s:
        return cal.routine_due(s, s.get(Org, world.orgs[key].id))


def test_exactly_one_million_people_means_every_two_years(world):
    with world.db.write() as s:
        cal.record_people(s, world.actor("police_steward"), world.orgs["police"].id, 1_000_000)
    due = _routine(world, "police")
    registered = _registered(world, "police")
    assert due.people == 1_000_000 and due.interval_years == 2 and due.base_kind == "registration"
    assert due.due_on == cal.add_years(registered, 2)


def test_one_million_and_one_people_means_yearly_from_the_last_audit(world):
    with world.db.write() as s:
        cal.record_people(s, world.actor("police_steward"), world.orgs["police"].id, 1_000_001)
    assert _routine(world, "police").interval_years == 1
    assert _routine(world, "police").due_on == cal.add_years(_registered(world, "police"), 1)
    with world.db.write() as s:
        audit = cal.open_routine_audit(s, world.actor("reviewer"), world.orgs["police"].id)
        cal.complete_audit(s, world.actor("reviewer"), audit.id, completed_on=date(2026, 3, 10),
                           today=date(2026, 3, 10))
    due = _routine(world, "police")
    assert due.base == date(2026, 3, 10) and due.due_on == date(2027, 3, 10)
    # A later, smaller figure moves the handler back to every two years; the history stays.
    with world.db.write() as s:
        cal.record_people(s, world.actor("police_steward"), world.orgs["police"].id, 999_999)
        history = cal.people_history(s, world.actor("police_steward"), world.orgs["police"].id)
    assert [h["people"] for h in history] == [999_999, 1_000_001]
    assert _routine(world, "police").due_on == date(2028, 3, 10)


def test_leap_day_base_falls_back_to_28_february():
    assert cal.add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert cal.add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_people_count_is_validated_and_only_the_org_or_authority_records_it(world):
    with world.db.write() as s, pytest.raises(ValidationFailed) as bad:
        cal.record_people(s, world.actor("police_steward"), world.orgs["police"].id, -1,
                          as_of=cal._today() + timedelta(days=1))  # the calendar's day is China's
    assert {e.code for e in bad.value.errors} == {"people_invalid", "as_of_future"}
    with world.db.write() as s, pytest.raises(NotFound):
        cal.record_people(s, world.actor("market_steward"), world.orgs["police"].id, 10)
    with world.db.write() as s, pytest.raises(PermissionDenied):
        cal.record_people(s, world.actor("police_approver"), world.orgs["police"].id, 10)
    # Operators are handlers too; their 运营方 users record the figure.
    with world.db.write() as s:
        cal.record_people(s, world.actor("operator_user"), world.orgs["operator"].id, 50_000)


def _expected_workday_deadline(start: date, n: int) -> date:
    """Independent of the platform: step day by day through chinesecalendar's official schedule."""
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            counted += 1
    return day


def test_ordered_audit_due_in_90_working_days_across_national_day(world):
    ordered = date(2025, 9, 1)
    expected = _expected_workday_deadline(ordered, 90)
    # The span holds the 2025 National Day holiday and its make-up working days.
    assert not chinese_calendar.is_workday(date(2025, 10, 3))
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # a Sunday worked in its place
    naive = ordered
    for _ in range(90):
        naive += timedelta(days=1)
        while naive.weekday() >= 5:
            naive += timedelta(days=1)
    assert expected != naive
    with world.db.write() as s:
        audit = cal.order_audit(s, world.actor("reviewer"), world.orgs["police"].id, ordered, "省网信办责令整改通知")
        assert audit.due_on == expected
        ext = cal.extend_audit(s, world.actor("reviewer"), audit.id, expected + timedelta(days=30),
                               "省网信办", "被审计系统迁移", today=date(2025, 12, 1))
        assert ext.due_on == expected + timedelta(days=30) and ext.original_due_on == expected
        first = ext.extensions[0]
        assert first["approver"] == "省网信办" and first["previous_due_on"] == expected.isoformat()
    with world.db.write() as s, pytest.raises(ValidationFailed) as bad:
        cal.extend_audit(s, world.actor("reviewer"), audit.id, expected, "省网信办", "again")
    assert bad.value.errors[0].code == "extension_not_later"
    with world.db.write() as s, pytest.raises(PermissionDenied):
        cal.order_audit(s, world.actor("police_steward"), world.orgs["police"].id, ordered, "x")
    with world.db.write() as s, pytest.raises(NotFound):  # another region's org is not even visible
        cal.order_audit(s, world.actor("other_reviewer"), world.orgs["city_police"].id, ordered, "x")


def _audit_with(world, firm_id: int) -> int:
    with world.db.write() as s:
        return cal.order_audit(s, world.actor("reviewer"), world.orgs["police"].id, date(2026, 1, 5), "依据",
                               firm_id=firm_id).id


def test_a_firm_may_audit_the_same_handler_three_times_in_a_row_not_four(world):
    with world.db.write() as s:
        a = cal.create_firm(s, world.actor("reviewer"), "云岭合规审计事务所").id
        b = cal.create_firm(s, world.actor("reviewer"), "春城信息安全评估中心").id
    for _ in range(3):
        _audit_with(world, a)  # the 3rd in a row is accepted
    with pytest.raises(Conflict) as refused:
        _audit_with(world, a)
    assert refused.value.code == "audit_firm_consecutive"
    assert "3" in refused.value.message_in("en") and "in a row" in refused.value.message_in("en")
    # Another firm in between resets the run.
    _audit_with(world, b)
    for _ in range(3):
        _audit_with(world, a)
    with pytest.raises(Conflict):
        _audit_with(world, a)
    # The run is per handler: another handler may still take firm a.
    with world.db.write() as s:
        cal.order_audit(s, world.actor("reviewer"), world.orgs["market"].id, date(2026, 1, 5), "依据", firm_id=a)


def test_assigning_a_firm_later_counts_the_same_run(world):
    with world.db.write() as s:
        a = cal.create_firm(s, world.actor("admin"), "云岭合规审计事务所").id
    ids = [_audit_with(world, a) for _ in range(3)]
    with world.db.write() as s:
        open_one = cal.order_audit(s, world.actor("reviewer"), world.orgs["police"].id, date(2026, 2, 2), "依据")
        # Re-assigning one of the three to the same firm is not a new run.
        cal.assign_firm(s, world.actor("reviewer"), ids[0], a)
    with world.db.write() as s, pytest.raises(Conflict):
        cal.assign_firm(s, world.actor("reviewer"), open_one.id, a)
    with world.db.write() as s, pytest.raises(PermissionDenied):
        cal.create_firm(s, world.actor("police_steward"), "某机构")


def _reminder_keys(world, today: date) -> set[str]:
    with world.db.write() as s:
        cal.generate_reminders(s, Actor.system(), today=today)
        return {r.duty_key for r in cal.list_reminders(s, Actor.system())}


def test_reminders_at_n_days_before_not_n_plus_one(world, monkeypatch):
    n = 30  # rules.audit_reminder_days
    with world.db.write() as s:
        audit = cal.order_audit(s, world.actor("reviewer"), world.orgs["police"].id, date(2026, 3, 2), "依据")
    key = f"audit:{audit.id}"
    assert key not in _reminder_keys(world, audit.due_on - timedelta(days=n + 1))
    assert key in _reminder_keys(world, audit.due_on - timedelta(days=n))
    # Idempotent: a second run the same day makes no duplicate.
    with world.db.write() as s:
        again = cal.generate_reminders(s, Actor.system(), today=audit.due_on - timedelta(days=n))
        rows = [r for r in cal.list_reminders(s, Actor.system()) if r.duty_key == key]
    assert len(rows) == 1 and again["made"] == 0
    # The steward of the handler sees it; another org's steward does not.
    with world.db.read() as s:
        assert key in {r.duty_key for r in cal.list_reminders(s, world.actor("police_steward"))}
        assert key not in {r.duty_key for r in cal.list_reminders(s, world.actor("market_steward"))}
        assert key in {r.duty_key for r in cal.list_reminders(s, world.actor("auditor"))}


def test_calendar_carries_duty_changes_open_plans_and_operator_disclosure(world):
    from yibenzhang.catalog.model import DutyChange

    with world.db.write() as s:
        s.add(DutyChange(org_id=world.orgs["police"].id, occurred_on=date(2026, 5, 6), description="职责调整",
                         due_on=date(2026, 5, 20), created_by="admin"))
        cal.record_people(s, world.actor("police_steward"), world.orgs["police"].id, 2_000_000)
    year = workdays.today().year
    with world.db.read() as s:
        rows = [e.as_dict(date(year, 1, 2)) for e in cal.entries(
            s, world.actor("reviewer"), start=date(year, 1, 1), end=date(year + 2, 12, 31), today=date(year, 1, 2))]
    kinds = {r["kind"] for r in rows}
    assert {"个人信息合规审计", "目录更新", "年度开放计划", "年度信息披露"} <= kinds
    disclosure = [r for r in rows if r["kind"] == "年度信息披露"]
    assert disclosure and all(r["due_on"].endswith("-03-31") for r in disclosure)
    assert all(r["org_id"] == world.orgs["operator"].id for r in disclosure)
    assert disclosure[0]["due_on"] == f"{year + 1}-03-31"  # registered this year: first one next March
    plans = {r["org_id"] for r in rows if r["kind"] == "年度开放计划"}
    assert world.orgs["police"].id in plans and world.orgs["operator"].id not in plans
    # A steward sees only its own org's duties; the public none.
    with world.db.read() as s:
        own = cal.entries(s, world.actor("police_steward"), start=date(year, 1, 1), end=date(year + 2, 12, 31))
        assert {e.org_id for e in own} == {world.orgs["police"].id}
        with pytest.raises(PermissionDenied):
            cal.entries(s, world.actor("citizen"))


def test_every_act_is_in_the_ledger_without_free_text(world):
    with world.db.write() as s:
        cal.record_people(s, world.actor("police_steward"), world.orgs["police"].id, 1_200_000)
        firm = cal.create_firm(s, world.actor("reviewer"), "云岭合规审计事务所")
        audit = cal.order_audit(s, world.actor("reviewer"), world.orgs["police"].id, date(2026, 1, 5),
                                "机密的责令依据文字", firm_id=firm.id)
        cal.extend_audit(s, world.actor("reviewer"), audit.id, audit.due_on + timedelta(days=10), "张三",
                         "机密的延期理由")
        cal.complete_audit(s, world.actor("reviewer"), audit.id)
        report = ledger.verify(s)
        from sqlalchemy import select

        from yibenzhang.ledger.model import LedgerEvent

        events = s.execute(select(LedgerEvent).where(LedgerEvent.action.like("calendar.%"))).scalars().all()
    assert report.ok
    assert {e.action for e in events} >= {"calendar.people.record", "calendar.firm.create", "calendar.audit.order",
                                          "calendar.audit.extend", "calendar.audit.complete"}
    for e in events:
        assert "机密" not in e.content and "张三" not in e.content


def test_open_duties_for_scorecards(world):
    with world.db.write() as s:
        audit = cal.order_audit(s, world.actor("reviewer"), world.orgs["police"].id, date(2025, 1, 6), "依据")
    with world.db.read() as s:
        overdue = cal.open_duties(s, today=date(2026, 1, 5), overdue_only=True)
        assert [r["key"] for r in overdue] == [f"audit:{audit.id}"]
        mine = cal.open_duties(s, today=date(2026, 1, 5), org_id=world.orgs["market"].id)
        assert all(r["org_id"] == world.orgs["market"].id for r in mine)
