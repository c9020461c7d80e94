"""The compliance calendar as iCalendar (RFC 5545, written directly), CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..config import get_settings
from ..i18n import translate

FORMATS = ("ics", "csv", "xlsx")
MEDIA_TYPES = {
    "ics": "text/calendar; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = ("key", "kind", "org_name", "due_on", "status", "days_left", "done_on")
HEADERS = {"key": "编号", "kind": "事项", "org_name": "机构", "due_on": "到期日", "status": "状态",
           "days_left": "剩余天数", "done_on": "完成日期"}


def _escape(text: str) -> str:
    """TEXT values (RFC 5545 §3.3.11): backslash, semicolon, comma and newline escaped."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (§3.1), never inside a UTF-8 character."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts, current, size = [], "", 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with one space
        current += ch
        size += n
    parts.append(current)
    return "\r\n ".join(parts)


def _day(value: str) -> str:
    return value.replace("-", "")


def to_ics(rows: list[dict[str, Any]], lang: str = "zh", now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    ahead = get_settings().rules.audit_reminder_days
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Yibenzhang//Compliance calendar//ZH",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:" + _escape(translate("合规日历", lang))]
    for r in rows:
        due = date.fromisoformat(r["due_on"])
        summary = f"{translate(r['kind'], lang)} — {r['org_name'] or ''}"
        description = f"{translate('状态', lang)}: {translate(r['status'], lang)}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{r['key'].replace(':', '-')}-{_day(r['due_on'])}@yibenzhang",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_day(r['due_on'])}",
            f"DTEND;VALUE=DATE:{(due + timedelta(days=1)).strftime('%Y%m%d')}",
            "SUMMARY:" + _escape(summary),
            "DESCRIPTION:" + _escape(description),
            "CATEGORIES:" + _escape(translate(r["kind"], lang)),
            "TRANSP:TRANSPARENT",
        ]
        if r.get("done_on") is None:
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:" + _escape(summary),
                      f"TRIGGER;RELATED=START:-P{ahead}D", "END:VALARM"]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


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
