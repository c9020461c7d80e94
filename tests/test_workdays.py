"""The working-day clock at its edges, with real dates from the State Council's schedules:
National Day 2025 (Oct 1–8 off; Sun Sep 28 and Sat Oct 11 worked) and Spring Festival 2026
(Feb 15–23 off; Sat Feb 14 and Sat Feb 28 worked), a year not yet published (2027), and the
catalogue-update deadline built on it (DOMAIN §1, 004:693; Guangzhou 15 days, 001:1167)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from yibenzhang import workdays
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.schemas import DutyChangeIn
from yibenzhang.config import get_settings, reset_settings
from yibenzhang.workdays import add_workdays, deadline_provisional, is_workday, schedule_known, workdays_between


@pytest.fixture
def clock(home: Path, monkeypatch: pytest.MonkeyPatch):
    """A clean clock: no supplied holidays file, fresh caches before and after."""
    monkeypatch.delenv("YBZ_HOLIDAYS_FILE", raising=False)
    monkeypatch.delenv("YBZ_RULE_CATALOGUE_UPDATE_WORKDAYS", raising=False)
    reset_settings()
    workdays.reset_caches()
    yield
    reset_settings()
    workdays.reset_caches()


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(d) for d in range((end - start).days + 1)]


def test_national_day_2025_schedule(clock):
    off = days(date(2025, 10, 1), date(2025, 10, 8))
    assert not any(is_workday(d) for d in off)
    assert date(2025, 10, 8).weekday() == 2  # a Wednesday off
    assert is_workday(date(2025, 9, 28)) and date(2025, 9, 28).weekday() == 6  # make-up Sunday
    assert is_workday(date(2025, 10, 11)) and date(2025, 10, 11).weekday() == 5  # make-up Saturday
    assert not is_workday(date(2025, 10, 12))  # the Sunday after is an ordinary day off


def test_ten_workdays_across_national_day_from_a_friday(clock):
    friday = date(2025, 9, 26)
    assert friday.weekday() == 4
    counted = [d for d in days(date(2025, 9, 27), date(2025, 10, 16)) if is_workday(d)]
    assert counted == [date(2025, 9, 28), date(2025, 9, 29), date(2025, 9, 30), date(2025, 10, 9),
                       date(2025, 10, 10), date(2025, 10, 11), date(2025, 10, 13), date(2025, 10, 14),
                       date(2025, 10, 15), date(2025, 10, 16)]
    assert add_workdays(friday, 10) == date(2025, 10, 16)  # plain Mon–Fri counting would say Oct 10
    assert add_workdays(friday, 11) == date(2025, 10, 17)
    assert add_workdays(friday, 0) == friday
    assert workdays_between(friday, date(2025, 10, 16)) == 10
    assert workdays_between(friday, date(2025, 10, 17)) == 11
    assert workdays_between(date(2025, 9, 30), date(2025, 10, 8)) == 0  # the whole holiday counts nothing
    assert not deadline_provisional(friday, date(2025, 10, 16))


def test_spring_festival_2026_schedule(clock):
    assert schedule_known(2026)
    off = days(date(2026, 2, 15), date(2026, 2, 23))
    assert not any(is_workday(d) for d in off)
    assert {d.weekday() for d in off if d.weekday() < 5} == {0, 1, 2, 3, 4}  # weekdays off too
    assert is_workday(date(2026, 2, 14)) and date(2026, 2, 14).weekday() == 5
    assert is_workday(date(2026, 2, 28)) and date(2026, 2, 28).weekday() == 5
    assert is_workday(date(2026, 2, 24))


def test_ten_workdays_across_spring_festival_2026(clock):
    # From Friday Feb 6: Feb 9–13 (5), make-up Sat Feb 14 (6), Feb 24–27 (10).
    assert add_workdays(date(2026, 2, 6), 10) == date(2026, 2, 27)
    assert add_workdays(date(2026, 2, 6), 11) == date(2026, 2, 28)  # the 11th falls on a make-up Saturday
    # From Friday Feb 13: Sat Feb 14 (1), Feb 24–28 (6), Mar 2–5 (10).
    assert add_workdays(date(2026, 2, 13), 10) == date(2026, 3, 5)
    # A change made during the holiday starts counting when work resumes.
    assert add_workdays(date(2026, 2, 17), 1) == date(2026, 2, 24)


def test_make_up_saturday_counts_as_a_working_day(clock):
    # Thursday Oct 9 + 2 working days: Fri Oct 10, then make-up Sat Oct 11 (not Mon Oct 13).
    assert add_workdays(date(2025, 10, 9), 2) == date(2025, 10, 11)
    assert workdays_between(date(2025, 10, 10), date(2025, 10, 13)) == 2


def test_deadline_into_2027_is_provisional_until_its_schedule_is_supplied(clock, home, monkeypatch):
    start = date(2026, 12, 24)  # Thursday
    assert not schedule_known(2027)
    # Mon–Fri fallback: Dec 25, 28–31 (5), Fri Jan 1 2027 counted (6), Jan 4–7 (10).
    assert add_workdays(start, 10) == date(2027, 1, 7)
    assert deadline_provisional(start, date(2027, 1, 7))

    notice = home / "holidays-2027.json"
    notice.write_text(json.dumps({"2027": {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
                                           "workdays": ["2027-01-09"]}}), encoding="utf-8")
    monkeypatch.setenv("YBZ_HOLIDAYS_FILE", str(notice))
    reset_settings()
    workdays.reset_caches()
    assert get_settings().holidays_file == notice
    assert schedule_known(2027)
    assert not is_workday(date(2027, 1, 1))
    assert is_workday(date(2027, 1, 9))  # a supplied make-up Saturday
    assert add_workdays(start, 10) == date(2027, 1, 8)
    assert add_workdays(start, 11) == date(2027, 1, 9)
    assert not deadline_provisional(start, date(2027, 1, 8))
    # Years chinesecalendar knows are untouched by a file about another year.
    assert add_workdays(date(2025, 9, 26), 10) == date(2025, 10, 16)


def test_changed_holidays_file_is_reread_after_reset(clock, home, monkeypatch):
    notice = home / "holidays.json"
    notice.write_text(json.dumps({"2027": {"holidays": ["2027-01-04"]}}), encoding="utf-8")
    monkeypatch.setenv("YBZ_HOLIDAYS_FILE", str(notice))
    reset_settings()
    workdays.reset_caches()
    assert not is_workday(date(2027, 1, 4))
    notice.write_text(json.dumps({"2027": {"holidays": []}}), encoding="utf-8")
    workdays.reset_caches()
    assert is_workday(date(2027, 1, 4))


def _record(world, occurred: str) -> object:
    with world.db.write() as s:
        return catalog.record_duty_change(s, world.actor("police_steward"), DutyChangeIn(
            org_id=world.orgs["police"].id, occurred_on=occurred, description="《条例》修订，职责调整"))


def test_duty_change_due_on_the_tenth_working_day_late_on_the_eleventh(clock, world):
    change = _record(world, "2025-09-26")
    assert change.due_on == date(2025, 10, 16)
    assert catalog.duty_change_state(change, date(2025, 10, 16)) == "未到期"  # the due day is on time
    assert catalog.duty_change_state(change, date(2025, 10, 17)) == "已逾期"  # the 11th working day
    # A day off after the due day is late as well.
    assert catalog.duty_change_state(change, date(2025, 10, 18)) == "已逾期"

    with world.db.read() as s:
        board = catalog.duty_change_board(s, world.actor("reviewer"), today=date(2025, 10, 17))
    row = next(r for r in board if r["duty_change_id"] == change.id)
    assert (row["state"], row["workdays_overdue"], row["provisional"]) == ("已逾期", 1, False)
    with world.db.read() as s:
        board = catalog.duty_change_board(s, world.actor("reviewer"), today=date(2025, 9, 30))
    row = next(r for r in board if r["duty_change_id"] == change.id)
    assert (row["state"], row["workdays_left"]) == ("未到期", 7)  # Oct 9, 10, 11, 13, 14, 15, 16

    with world.db.write() as s:
        catalog.confirm_catalogue_reviewed(s, world.actor("police_steward"), world.orgs["police"].id,
                                           on=date(2025, 10, 16))
        fulfilled = s.get(type(change), change.id)
        assert catalog.duty_change_state(fulfilled, date(2025, 12, 1)) == "按时完成"

    late = _record(world, "2025-09-26")
    with world.db.write() as s:
        catalog.confirm_catalogue_reviewed(s, world.actor("police_steward"), world.orgs["police"].id,
                                           on=date(2025, 10, 17))
        assert catalog.duty_change_state(s.get(type(late), late.id), date(2025, 12, 1)) == "逾期完成"


def test_duty_change_into_2027_is_provisional_on_the_board(clock, world):
    change = _record(world, "2026-12-24")
    assert change.due_on == date(2027, 1, 7)
    with world.db.read() as s:
        board = catalog.duty_change_board(s, world.actor("reviewer"), today=date(2026, 12, 28))
    row = next(r for r in board if r["duty_change_id"] == change.id)
    assert row["provisional"] is True and row["state"] == "未到期"


def test_guangzhou_fifteen_workdays_setting(clock, world, monkeypatch):
    assert _record(world, "2025-09-26").due_on == date(2025, 10, 16)
    monkeypatch.setenv("YBZ_RULE_CATALOGUE_UPDATE_WORKDAYS", "15")
    reset_settings()
    assert get_settings().rules.catalogue_update_workdays == 15
    # Oct 16 (10), 17, 20, 21, 22, 23 (15).
    change = _record(world, "2025-09-26")
    assert change.due_on == date(2025, 10, 23)
    assert catalog.duty_change_state(change, date(2025, 10, 23)) == "未到期"
    assert catalog.duty_change_state(change, date(2025, 10, 24)) == "已逾期"


def test_the_one_clock_gives_chinas_date_not_the_servers(monkeypatch):
    """DESIGN rule 4: at 2026-03-31 20:00 UTC it is already 1 April in China, and every stage's
    deadlines count from that day (they all read workdays.today)."""
    from datetime import UTC
    from datetime import datetime as real_datetime

    from yibenzhang import workdays
    from yibenzhang.assets import registration
    from yibenzhang.share import requests

    class Fixed(real_datetime):
        @classmethod
        def now(cls, tz=None):
            return real_datetime(2026, 3, 31, 20, 0, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(workdays, "datetime", Fixed)
    assert workdays.today() == date(2026, 4, 1)
    assert requests._today() == registration._today() == date(2026, 4, 1)
