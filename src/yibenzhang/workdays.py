"""Chinese working-day arithmetic: the only clock for deadlines (DESIGN rule 4).

The official schedule (holidays and make-up working days, 调休) comes from chinesecalendar.
For a year it does not know yet, a province may supply the State Council's notice as a JSON
file (YBZ_HOLIDAYS_FILE: {"2027": {"holidays": [...], "workdays": [...]}}); failing that,
Monday–Friday is assumed and `schedule_known` says so, so a deadline can be shown as
provisional rather than silently wrong.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import chinese_calendar

from .config import get_settings


def today() -> date:
    """The one clock's day (DESIGN rule 4): the date in the configured zone (YBZ_TIMEZONE, China
    by default), not the server's, which is often UTC and eight hours behind after midnight."""
    return datetime.now(get_settings().tz).date()


def local_midnight(day: date) -> datetime:
    """The start of `day` in the configured zone, as an aware datetime (compare it with stored
    UTC timestamps)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=get_settings().tz)


def local_date(at: datetime) -> date:
    """The configured zone's date of a stored (UTC) timestamp."""
    return at.astimezone(get_settings().tz).date()


def local_day_sql(column: Any, dialect: str) -> Any:
    """SQL for the configured zone's date of a UTC timestamp column, to group by day as the one
    clock counts days (PostgreSQL converts by zone name; SQLite by the zone's current offset, which
    for China has no daylight saving)."""
    from sqlalchemy import func

    tz = get_settings().tz
    if dialect == "postgresql":
        return func.date(func.timezone(str(tz), column))
    offset = datetime.now(tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return func.date(column, f"{minutes:+d} minutes")


@lru_cache(maxsize=8)
def _supplied(path: str | None) -> dict[int, tuple[frozenset[date], frozenset[date]]]:
    if not path or not Path(path).exists():
        return {}
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
    for year, spec in raw.items():
        holidays = frozenset(date.fromisoformat(d) for d in spec.get("holidays", []))
        workdays = frozenset(date.fromisoformat(d) for d in spec.get("workdays", []))
        out[int(year)] = (holidays, workdays)
    return out


def _supplied_path() -> str | None:
    path = get_settings().holidays_file
    return str(path) if path else None


def _supplied_schedule() -> dict[int, tuple[frozenset[date], frozenset[date]]]:
    return _supplied(_supplied_path())


def reset_caches() -> None:
    """Forget the supplied schedule and cached answers (after YBZ_HOLIDAYS_FILE or its content
    changed; call config.reset_settings() first when the variable itself changed)."""
    _supplied.cache_clear()
    _is_workday_cached.cache_clear()


def schedule_known(year: int) -> bool:
    """True when the official holiday schedule of `year` is known to the platform."""
    if year in _supplied_schedule():
        return True
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8192)
def _is_workday_cached(day: date, supplied_path: str | None) -> bool:
    # Keyed by the file's path (not the id() of its parsed dict, which may be reused).
    supplied = _supplied(supplied_path).get(day.year)
    if supplied is not None:
        holidays, workdays = supplied
        if day in workdays:
            return True
        if day in holidays:
            return False
        return day.weekday() < 5
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def is_workday(day: date) -> bool:
    return _is_workday_cached(day, _supplied_path())


def add_workdays(start: date, n: int) -> date:
    """The n-th working day after `start` (the start day itself is not counted).

    An act dated on `start` with a 10-working-day limit is on time up to and including
    add_workdays(start, 10).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    day = start
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def workdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def deadline_provisional(start: date, due: date) -> bool:
    """True when a deadline crosses a year whose official schedule is not yet known."""
    return any(not schedule_known(y) for y in range(start.year, due.year + 1))
