"""The compliance calendar as iCalendar (RFC 5545, with `icalendar`), CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event

from ..config import get_settings
from ..i18n import N_, translate

FORMATS = ("ics", "csv", "xlsx")
MEDIA_TYPES = {
    "ics": "text/calendar; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = ("key", "kind", "org_name", "due_on", "status", "days_left", "done_on")
HEADERS = {"key": N_("编号"), "kind": N_("事项"), "org_name": N_("机构"), "due_on": N_("到期日"), "status": N_("状态"),
           "days_left": N_("剩余天数"), "done_on": N_("完成日期")}


def to_ics(rows: list[dict[str, Any]], lang: str = "zh", now: datetime | None = None) -> str:
    """RFC 5545 through `icalendar` (escaping of every TEXT value, CR included, and line folding
    are the library's, not ours)."""
    ahead = get_settings().rules.audit_reminder_days
    cal = Calendar()
    cal.add("prodid", "-//Yibenzhang//Compliance calendar//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", translate("合规日历", lang))
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    for r in rows:
        due = date.fromisoformat(r["due_on"])
        summary = f"{translate(r['kind'], lang)} — {r['org_name'] or ''}"
        event = Event()
        event.add("uid", f"{r['key'].replace(':', '-')}-{due.strftime('%Y%m%d')}@yibenzhang")
        event.add("dtstamp", stamp)
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(days=1))
        event.add("summary", summary)
        event.add("description", f"{translate('状态', lang)}: {translate(r['status'], lang)}")
        event.add("categories", [translate(r["kind"], lang)])
        event.add("transp", "TRANSPARENT")
        if r.get("done_on") is None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", summary)
            alarm.add("trigger", timedelta(days=-ahead), parameters={"RELATED": "START"})
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def _table(rows: list[dict[str, Any]], lang: str) -> list[list[Any]]:
    out: list[list[Any]] = [[translate(HEADERS[c], lang) for c in COLUMNS]]
    for r in rows:
        out.append([translate(r[c], lang) if c in ("kind", "status") else r[c] for c in COLUMNS])
    return out


def to_csv(rows: list[dict[str, Any]], lang: str = "zh") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(_table(rows, lang))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: spreadsheet programs read it as UTF-8


def to_xlsx(rows: list[dict[str, Any]], lang: str = "zh") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "calendar"
    for row in _table(rows, lang):
        ws.append(row)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export(rows: list[dict[str, Any]], fmt: str, lang: str = "zh") -> bytes:
    if fmt == "ics":
        return to_ics(rows, lang).encode("utf-8")
    if fmt == "csv":
        return to_csv(rows, lang)
    return to_xlsx(rows, lang)
