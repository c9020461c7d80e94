"""An independent computation of the library rules (DOMAIN §1 一数一源, §2 keys and fusion), in
plain Python with python-stdnum's check characters: what the fusion's SQL must agree with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from stdnum.cn import ric, uscc

PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
             "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
             "81", "82", "83"}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def half_width(text: str) -> str:
    out = []
    for ch in text:
        o = ord(ch)
        if 0xFF10 <= o <= 0xFF19 or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
            out.append(chr(o - 0xFEE0))
        elif ch in "\u3000\u00a0":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def normalise(raw: Any, kind: str, today: date) -> tuple[str | None, str | None]:
    """(key, None) for a valid key, (None, code) for a refused one."""
    if raw is None:
        return None, "key_missing"
    text = "".join(c for c in half_width(str(raw)) if c not in " \t\n\r\f\v").upper()
    if not text:
        return None, "key_missing"
    if kind == "org":
        if len(text) != 18 or any(c not in USCC_CHARS for c in text) or not text[2:8].isdigit():
            return None, "key_format"
        if text[17] != uscc.calc_check_digit(text[:17]):
            return None, "key_checksum"
        return text, None
    upgraded = len(text) == 15 and text.isdigit() and text.isascii()
    if upgraded:
        body = text[:6] + "19" + text[6:]
        text = body + ric.calc_check_digit(body + "0")
    if not (len(text) == 18 and text[:17].isdigit() and text[:17].isascii() and text[17] in "0123456789X"):
        return None, "key_format"
    if text[:2] not in PROVINCES:
        return None, "key_region"
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None, "key_birth_date"
    if not date(1900, 1, 1) <= born <= today:
        return None, "key_birth_date"
    if text[17] != ric.calc_check_digit(text):
        return None, "key_checksum"
    return text, None


@dataclass
class Row:
    source: int
    batch: int
    row: int
    key: Any
    values: dict[str, Any]


def fuse(rows: list[Row], items: dict[str, dict[str, Any]], collected: dict[int, datetime], kind: str,
         today: date, now: datetime) -> tuple[dict[str, dict[str, Any]], list[tuple], list[tuple]]:
    """(entity -> item -> (value, source, batch)), conflicts [(entity, item, source, value)], rejects
    [(source, batch, row, code)]. items: name -> {"order": [source…], "fresh_days": n or None}."""
    rejects, valid = [], []
    for r in rows:
        key, code = normalise(r.key, kind, today)
        if code:
            rejects.append((r.source, r.batch, r.row, code))
        else:
            valid.append((key, r))
    entities: dict[str, dict[str, Any]] = {k: {} for k, _ in valid}
    conflicts = []
    for name, rule in items.items():
        best: dict[tuple[str, int], tuple] = {}
        for key, r in valid:
            if r.source not in rule["order"]:
                continue
            v = r.values.get(name)
            v = None if v is None else (str(v).strip(" ") if isinstance(v, str) else v.isoformat())
            if v in (None, ""):
                continue
            rank = (collected[r.batch], r.batch, r.row)
            if (key, r.source) not in best or rank > best[(key, r.source)][0]:
                best[(key, r.source)] = (rank, v, r.batch)
        per_key: dict[str, list] = {}
        for (key, src), (rank, v, batch) in best.items():
            at = rank[0]
            stale = int(bool(rule.get("fresh_days")) and at < now - timedelta(days=rule["fresh_days"]))
            per_key.setdefault(key, []).append(((stale, rule["order"].index(src)), src, v, batch))
        for key, cands in per_key.items():
            cands.sort(key=lambda c: c[0])
            _, src, v, batch = cands[0]
            entities[key][name] = (v, src, batch)
            conflicts += [(key, name, s2, v2) for _, s2, v2, _ in cands[1:] if v2 != v]
    return entities, sorted(conflicts), sorted(rejects)
