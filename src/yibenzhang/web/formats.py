"""Times, dates and numbers as pages show them (issue 17): every timestamp in the one configured
zone (YBZ_TIMEZONE, Asia/Shanghai by default; stored in UTC), dates as 2026-12-06, numbers with
thousands separators; each time inside <time datetime=…> so machines read the exact instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup, escape

from ..config import get_settings
from ..i18n import N_


def _instant(value: Any) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text) if ("T" in text or " " in text or ":" in text) else date.fromisoformat(text)
    except ValueError:
        return None


def local(value: Any) -> datetime | date | None:
    """`value` (a datetime, naive meaning UTC, an ISO text or a date) in the configured zone."""
    at = _instant(value)
    if isinstance(at, datetime):
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(get_settings().tz)
    return at


def when(value: Any, seconds: bool = False) -> Markup:
    """A timestamp as 2026-12-06 15:42 in the configured zone; a date as 2026-12-06."""
    at = local(value)
    if at is None:
        return Markup("") if value in (None, "") else Markup(escape(str(value)))
    if isinstance(at, datetime):
        shown = at.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
        return Markup(f'<time datetime="{at.isoformat(timespec="seconds")}">{shown}</time>')
    return Markup(f'<time datetime="{at.isoformat()}">{at.isoformat()}</time>')


def day(value: Any) -> Markup:
    """The calendar day (in the configured zone) of a timestamp or date."""
    at = local(value)
    if at is None:
        return Markup("") if value in (None, "") else Markup(escape(str(value)))
    d = at.date() if isinstance(at, datetime) else at
    return Markup(f'<time datetime="{d.isoformat()}">{d.isoformat()}</time>')


def num(value: Any) -> str:
    """12,345 (zh-CN groups digits in threes, as English does); anything else as it is."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    return str(value)


def due_text(days: int | None, unit: str = "天") -> tuple[str, dict[str, int]] | None:
    """A deadline in words, never a negative number: 逾期264天, 今天到期, 剩余5天 (unit 天 or 个工作日).
    Returns the Chinese template and its parameters, for the page's translator."""
    if days is None:
        return None
    if days < 0:
        return (N_("逾期{n}天") if unit == "天" else N_("逾期{n}个工作日")), {"n": -days}
    if days == 0:
        return N_("今天到期"), {}
    return (N_("剩余{n}天") if unit == "天" else "剩余{n}个工作日"), {"n": days}


def register(env: Any) -> None:
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["num"] = num
    env.globals["due_text"] = due_text
