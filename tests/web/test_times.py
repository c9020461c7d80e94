"""Times as pages show them (issue 17): one zone for every page (YBZ_TIMEZONE, Asia/Shanghai by
default; stored in UTC), dates 2026-12-06, <time datetime> for machines, and deadlines in words
(逾期264天, never "-264")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.web.conftest import csrf_of
from yibenzhang import workdays
from yibenzhang.config import get_settings, reset_settings
from yibenzhang.web.formats import day, due_text, num, when

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def default_zone(monkeypatch):
    monkeypatch.delenv("YBZ_TIMEZONE", raising=False)
    reset_settings()
    yield
    reset_settings()


def test_utc_evening_is_the_next_morning_in_shanghai(default_zone) -> None:
    at = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
    assert get_settings().timezone == "Asia/Shanghai"
    assert when(at) == '<time datetime="2026-12-07T00:30:00+08:00">2026-12-07 00:30</time>'
    assert when(at.replace(tzinfo=None)) == when(at)  # naive means UTC (how the store returns it)
    assert when("2026-12-06T16:30:00+00:00") == when(at)
    assert day(at) == '<time datetime="2026-12-07">2026-12-07</time>'
    assert when(date(2026, 1, 2)) == '<time datetime="2026-01-02">2026-01-02</time>'
    assert when(None) == "" and when("") == "" and when("不是时间") == "不是时间"
    assert str(when("<b>")) == "&lt;b&gt;"  # escaped, never raw HTML


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_every_instant_is_shown_in_the_one_zone(at: datetime) -> None:
    reset_settings()
    shown = str(when(at, seconds=True))
    stamp, text = re.fullmatch(r'<time datetime="([^"]+)">([^<]+)</time>', shown).groups()
    assert datetime.fromisoformat(stamp) == at.replace(microsecond=0)
    assert datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI) == at.replace(microsecond=0)


def test_the_zone_is_one_setting(monkeypatch) -> None:
    monkeypatch.setenv("YBZ_TIMEZONE", "Europe/Berlin")
    reset_settings()
    try:
        assert "2026-12-06 17:30" in when(datetime(2026, 12, 6, 16, 30, tzinfo=UTC))
        monkeypatch.setenv("YBZ_TIMEZONE", "Mars/Olympus")
        reset_settings()
        with pytest.raises(ValueError, match="YBZ_TIMEZONE"):
            get_settings()
    finally:
        monkeypatch.delenv("YBZ_TIMEZONE")
        reset_settings()


@given(st.integers(min_value=-100_000, max_value=100_000))
def test_deadlines_in_words_never_negative(days: int) -> None:
    for unit in ("天", "个工作日"):
        template, params = due_text(days, unit)
        text = template.format(**params)
        assert "-" not in text
        assert text.startswith("逾期") == (days < 0) and (text == "今天到期") == (days == 0)
        assert str(abs(days)) in text or days == 0
    assert due_text(None) is None


def test_numbers_are_grouped() -> None:
    assert num(1234567) == "1,234,567" and num(12.5) == "12.5" and num(3.0) == "3" and num(None) == ""


def test_the_compliance_calendar_says_overdue_in_days(client, world, signed_in, default_zone) -> None:
    csrf = signed_in("reviewer")
    ordered = workdays.today() - timedelta(days=400)  # its 90 working days ran out long ago
    r = client.post("/console/calendar/audits", data={"org_id": world.orgs["police"].id, "kind": "ordered",
                                                      "ordered_on": ordered.isoformat(), "basis": "责令整改",
                                                      "firm_id": "", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/console/calendar")
    table = page.text.split('id="calendar-entries"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"逾期\d+天", table), table[:2000]
    assert not re.search(r"<td[^>]*>\s*-\d+\s*</td>", table)
    en = client.get("/console/calendar?lang=en").text.split('id="calendar-entries"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"\d+ days overdue", en)
    assert csrf_of(page.text)
