"""The steward's resource form: HTML form fields ↔ ResourceIn, with the item rows table.

Item rows are posted as `items.{i}.{field}`; blank rows are dropped and the rest re-numbered
before validation, so the service's error paths (items.2.data_type) point at the row shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from ..catalog.schemas import ItemIn, ResourceIn
from ..errors import FieldError

ROW_FIELDS = ("name", "data_type", "length", "required", "enumeration", "is_key", "authoritative", "description")
MORE_ROWS = 5  # rows added by "add rows"; also the blank rows of a new form
_SPLIT = re.compile(r"[,，、;；\n]+")

TEXT_FIELDS = ("name", "abstract", "category_code", "library", "format_kind", "format_detail", "share_type",
               "share_condition", "share_basis", "share_method", "open_type", "open_condition", "update_cycle",
               "publish_date")


def split_list(raw: str | None) -> list[str]:
    return [p.strip() for p in _SPLIT.split(raw or "") if p.strip()]


def blank_row() -> dict[str, Any]:
    return {"name": "", "data_type": "", "length": "", "required": False, "enumeration": "", "is_key": False,
            "authoritative": False, "description": ""}


@dataclass
class ParsedForm:
    values: dict[str, Any]  # what the form shows again (strings and booleans)
    rows: list[dict[str, Any]]  # non-blank item rows, re-numbered
    data: ResourceIn | None
    errors: list[FieldError] = field(default_factory=list)


def values_from_resource(view: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Form values of an existing resource (its working copy)."""
    values = {k: view.get(k) or "" for k in TEXT_FIELDS}
    values.update({
        "org_id": str(view.get("org_id") or ""), "system_id": str(view.get("system_id") or ""),
        "returnable": bool(view.get("returnable")), "record_count": "" if view.get("record_count") is None
        else str(view["record_count"]), "keywords": "、".join(view.get("keywords") or []),
        "related_codes": "\n".join(view.get("related_codes") or []),
    })
    rows = [
        {"name": it["name"], "data_type": it["data_type"] or "", "length": "" if it["length"] is None
         else str(it["length"]), "required": bool(it["required"]), "enumeration": "、".join(it["enumeration"] or []),
         "is_key": bool(it["is_key"]), "authoritative": bool(it["authoritative"]),
         "description": it.get("description") or ""}
        for it in view.get("items", [])
    ]
    return values, rows


def parse_form(form: FormData) -> ParsedForm:
    def text(key: str) -> str:
        return str(form.get(key) or "").strip()

    errors: list[FieldError] = []
    values: dict[str, Any] = {k: text(k) for k in TEXT_FIELDS}
    values.update({k: text(k) for k in ("org_id", "system_id", "record_count", "keywords", "related_codes")})
    values["returnable"] = bool(form.get("returnable"))

    try:
        count = min(int(text("item_rows") or 0), 500)
    except ValueError:
        count = 0
    rows: list[dict[str, Any]] = []
    for i in range(count):
        prefix = f"items.{i}."
        if form.get(prefix + "remove"):
            continue
        row = {k: text(prefix + k) for k in ("name", "data_type", "length", "enumeration", "description")}
        row.update({k: bool(form.get(prefix + k)) for k in ("required", "is_key", "authoritative")})
        if not (row["name"] or row["data_type"] or row["length"] or row["enumeration"] or row["description"]):
            continue  # an untouched blank row
        rows.append(row)

    def number(key: str) -> int | None:
        raw = values[key]
        if not raw:
            return None
        if not raw.isdigit():
            errors.append(FieldError(key, "not_a_number", "“{value}”不是数字", {"value": raw}))
            return None
        return int(raw)

    org_id = number("org_id")
    system_id = number("system_id")
    record_count = number("record_count")
    data = ResourceIn(
        **{k: values[k] for k in TEXT_FIELDS if k not in ("publish_date",)},
        publish_date=values["publish_date"] or None,
        org_id=org_id, system_id=system_id, record_count=record_count, returnable=values["returnable"],
        keywords=split_list(values["keywords"]), related_codes=split_list(values["related_codes"]),
        items=[
            ItemIn(name=r["name"], data_type=r["data_type"], length=r["length"] or None, required=r["required"],
                   enumeration=split_list(r["enumeration"]) or None, is_key=r["is_key"],
                   authoritative=r["authoritative"], description=r["description"] or None)
            for r in rows
        ],
    )
    return ParsedForm(values=values, rows=rows, data=data, errors=errors)
