"""Catalogue import and export: the Excel template departments fill in, CSV, JSON and DCAT.

Import never judges a resource itself: each one goes through `service.create_resource` /
`service.update_resource` (which run `validate_resource`), inside a savepoint, and the errors
those raise are pinned to the sheet, row and column the user sees. All-or-nothing by default:
one bad row and the whole transaction is rolled back, every bad row reported.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor
from ..crypto import sm3_hex
from ..enums import (
    DataType,
    FormatKind,
    Library,
    OpenType,
    ResourceStatus,
    Role,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from ..errors import DomainError, FieldError, NotFound, PermissionDenied, ValidationFailed
from ..i18n import N_, translate
from ..ledger import service as ledger
from ..orgs.model import Org
from ..textenc import detect_sample
from . import service
from .model import Resource
from .schemas import ResourceIn

FORMATS = ("xlsx", "csv", "json", "dcat-ttl", "dcat-jsonld")
IMPORT_FORMATS = ("xlsx", "csv", "json")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "dcat-ttl": "text/turtle; charset=utf-8",
    "dcat-jsonld": "application/ld+json",
}
EXTENSIONS = {"xlsx": "xlsx", "csv": "csv", "json": "json", "dcat-ttl": "ttl", "dcat-jsonld": "jsonld"}

RESOURCE_SHEET = "信息资源"
ITEM_SHEET = "信息项"
HELP_SHEET = N_("填写说明")
SEQ = N_("资源序号")
YES, NO = "是", "否"
_TRUE = {"是", "y", "yes", "true", "1", "√", "t"}
_FALSE = {"否", "n", "no", "false", "0", "×", "f", ""}


@dataclass(frozen=True)
class Column:
    header: str
    field: str | None  # ResourceIn / ItemIn field; None: shown on export, ignored on import
    kind: str = "text"  # text | bool | list | enum
    enum: type | None = None
    required: bool = False  # a file without this column is rejected
    width: int = 16
    help: str = ""


RESOURCE_COLUMNS: tuple[Column, ...] = (
    Column(SEQ, None, width=9, help="本文件内的序号，信息项工作表用它对应到信息资源"),
    Column(N_("信息资源代码"), "code", width=18, help="平台生成；新建时留空，修改已有资源时保留导出的代码"),
    Column(N_("信息资源名称"), "name", required=True, width=24),
    Column(N_("信息资源摘要"), "abstract", required=True, width=40),
    Column(N_("提供方代码(统一社会信用代码)"), "org_uscc", required=True, width=22, help="18位统一社会信用代码"),
    Column(N_("提供方名称"), None, width=24, help="仅供查看，导入时以提供方代码为准"),
    Column(N_("信息资源分类代码"), "category_code", required=True, width=14, help="细化到“目”的分类代码，如101001"),
    Column(N_("所属库"), "library", "enum", Library, required=True, width=10),
    Column(N_("资源格式"), "format_kind", "enum", FormatKind, required=True, width=12),
    Column(N_("格式说明"), "format_detail", width=14, help="具体格式，如 xlsx、csv、parquet"),
    Column(N_("来源系统"), "system_name", required=True, width=24, help="提供方已登记的信息系统名称"),
    Column(N_("共享类型"), "share_type", "enum", ShareType, required=True, width=12),
    Column(N_("共享条件"), "share_condition", width=24, help="有条件共享时必填"),
    Column(N_("不予共享依据"), "share_basis", width=24, help="不予共享时必填，写明法律法规或政策依据"),
    Column(N_("共享方式"), "share_method", "enum", ShareMethod, width=10, help="无条件共享、有条件共享时必填"),
    Column(N_("开放类型"), "open_type", "enum", OpenType, required=True, width=12),
    Column(N_("开放条件"), "open_condition", width=24, help="有条件开放时必填"),
    Column(N_("是否可回流"), "returnable", "bool", width=10),
    Column(N_("更新周期"), "update_cycle", "enum", UpdateCycle, required=True, width=10),
    Column(N_("发布日期"), "publish_date", width=12, help="YYYY-MM-DD"),
    Column(N_("关联资源代码"), "related_codes", "list", width=20, help="多个用分号分隔"),
    Column(N_("关键词"), "keywords", "list", width=20, help="多个用分号分隔"),
    Column(N_("状态"), None, width=9, help="仅供查看"),
    Column(N_("版本"), None, width=6, help="仅供查看"),
)
ITEM_COLUMNS: tuple[Column, ...] = (
    Column(SEQ, None, width=9, help="对应信息资源工作表的资源序号（为空时按信息资源名称对应）"),
    Column(N_("信息资源名称"), None, width=24, help="资源序号为空时用于对应信息资源"),
    Column(N_("信息项名称"), "name", required=True, width=20),
    Column(N_("数据类型"), "data_type", "enum", DataType, required=True, width=10,
           help="C字符 N数值 Y货币 D日期 T日期时间 L逻辑 M备注 B二进制 I整型 F浮点，或中文名称"),
    Column(N_("长度"), "length", width=8, help="正整数"),
    Column(N_("是否必填"), "required", "bool", width=10),
    Column(N_("枚举值"), "enumeration", "list", width=20, help="多个用分号分隔"),
    Column(N_("格式"), "format", width=14),
    Column(N_("说明"), "description", width=30),
    Column(N_("是否主键"), "is_key", "bool", width=10),
    Column(N_("是否权威来源"), "authoritative", "bool", width=12, help="一数一源：本机构是否为该数据项的权威来源"),
)
ITEM_LINKS = {SEQ, "信息资源名称"}
CSV_COLUMNS: tuple[Column, ...] = RESOURCE_COLUMNS + tuple(c for c in ITEM_COLUMNS if c.header not in ITEM_LINKS)

# Where a service error about a field is shown: the column of that field.
_FIELD_HEADER = {c.field: c.header for c in RESOURCE_COLUMNS if c.field}
_FIELD_HEADER.update({"org_id": N_("提供方代码(统一社会信用代码)"), "system_id": "来源系统", "items": "信息项名称"})
_ITEM_FIELD_HEADER = {c.field: c.header for c in ITEM_COLUMNS if c.field}


def _norm_header(raw: Any) -> str:
    """“提供方代码（统一社会信用代码）*” and “提供方代码” name the same column."""
    return re.sub(r"[\s*＊]|[（(].*?[）)]", "", str(raw or ""))


# --- errors ----------------------------------------------------------------------------------


@dataclass
class RowError(FieldError):
    """A field error pinned to where the user typed it: sheet, row (as Excel / the CSV file
    numbers it, or the record number of a JSON list) and column."""

    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def _where(self, lang: str) -> str:
        inner = translate(self.message, lang, **self.params)
        if self.sheet and self.column:
            return translate("“{sheet}”表第{row}行“{column}”：{message}", lang, sheet=self.sheet, row=self.row,
                             column=self.column, message=inner)
        if self.sheet:
            return translate("“{sheet}”表第{row}行：{message}", lang, sheet=self.sheet, row=self.row, message=inner)
        if self.column:
            return translate("第{row}行“{column}”：{message}", lang, row=self.row, column=self.column, message=inner)
        return translate("第{row}行：{message}", lang, row=self.row, message=inner)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet, "row": self.row, "column": self.column, "field": self.field, "code": self.code,
            "message": self._where("zh"), "message_en": self._where("en"),
        }


class ImportRejected(ValidationFailed):
    def __init__(self, errors: list[RowError], bad_rows: int) -> None:
        super().__init__("import_rejected", "导入文件有{n}行错误，未导入任何数据", errors=list(errors), n=bad_rows)


def _bad_file(code: str, message: str, **params: Any) -> DomainError:
    return DomainError(code, message, **params)


# --- what was read from the file -------------------------------------------------------------


@dataclass
class Entry:
    """One resource as read from a file, with where each of its parts came from."""

    row: int
    sheet: str | None
    values: dict[str, Any] = field(default_factory=dict)  # ResourceIn fields present in the file
    items: list[dict[str, Any]] = field(default_factory=list)
    item_rows: list[int] = field(default_factory=list)
    item_sheet: str | None = None
    errors: list[RowError] = field(default_factory=list)
    json_mode: bool = False

    @property
    def code(self) -> str:
        return str(self.values.get("code") or "").strip()

    @property
    def label(self) -> str:
        return str(self.values.get("name") or "")

    def locate(self, err: FieldError) -> RowError:
        """Pin a service error (field path such as items.2.data_type) to sheet, row and column."""
        path = err.field.split(".")
        sheet, row, column = self.sheet, self.row, None
        if path[0] == "items" and len(path) >= 3 and path[1].isdigit() and int(path[1]) < len(self.item_rows):
            row, sheet = self.item_rows[int(path[1])], self.item_sheet
            column = err.field if self.json_mode else _ITEM_FIELD_HEADER.get(path[2], path[2])
        elif self.json_mode:
            column = err.field
        else:
            column = _FIELD_HEADER.get(path[0], path[0])
        return RowError(err.field, err.code, err.message, dict(err.params), sheet=sheet, row=row, column=column)


@dataclass
class Parsed:
    entries: list[Entry]
    orphans: list[RowError]  # item rows that belong to no resource
    encoding: str | None = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;；|\n]", text) if p.strip()]


def _convert(col: Column, raw: Any, errors: list[RowError], where: tuple[str | None, int]) -> Any:
    text = _text(raw)
    if col.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() not in _FALSE:
            errors.append(RowError(col.field or col.header, "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                                   {"value": text, "allowed": f"{YES}、{NO}"}, sheet=where[0], row=where[1],
                                   column=col.header))
        return False
    if col.kind == "list":
        parts = _split(text)
        if col.field == "keywords":
            parts = [k.strip() for p in parts for k in re.split(r"[,，、]", p) if k.strip()]
        return parts or (None if col.field == "enumeration" else [])
    if col.field in ("name", "abstract", "category_code", "library", "format_kind", "share_type", "open_type",
                     "update_cycle", "data_type"):
        return text
    return text or None


def _map_headers(header_row: list[Any], columns: Iterable[Column], what: str) -> dict[str, int]:
    """Column header → index; a file missing a required column is rejected as a whole."""
    found = {_norm_header(h): i for i, h in reversed(list(enumerate(header_row))) if _text(h)}
    out = {c.header: found[_norm_header(c.header)] for c in columns if _norm_header(c.header) in found}
    missing = [c.header for c in columns if c.required and c.header not in out]
    if missing:
        raise _bad_file("columns_missing", "缺少必需的列：{value}", value=f"{what}：" + "、".join(missing))
    return out


def _read_values(row: list[Any], cols: dict[str, int], columns: Iterable[Column], errors: list[RowError],
                 where: tuple[str | None, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in columns:
        if col.field and col.header in cols:
            idx = cols[col.header]
            out[col.field] = _convert(col, row[idx] if idx < len(row) else None, errors, where)
    return out


def _cell(row: list[Any], cols: dict[str, int], header: str) -> str:
    idx = cols.get(header)
    return _text(row[idx]) if idx is not None and idx < len(row) else ""


def _blank_row(row: list[Any]) -> bool:
    return not any(_text(v) for v in row)


# --- reading each format -----------------------------------------------------------------------


def detect_format(data: bytes) -> str:
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xlsx"
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def _parse_xlsx(data: bytes) -> Parsed:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        raise _bad_file("file_unreadable", "无法读取文件：{reason}", reason=str(exc)) from None
    for name in (RESOURCE_SHEET, ITEM_SHEET):
        if name not in book.sheet_names:
            raise _bad_file("sheet_missing", "缺少工作表“{value}”", value=name)
    res_rows = book.get_sheet_by_name(RESOURCE_SHEET).to_python(skip_empty_area=False)
    item_rows = book.get_sheet_by_name(ITEM_SHEET).to_python(skip_empty_area=False)

    entries: list[Entry] = []
    by_seq: dict[str, Entry] = {}
    by_name: dict[str, list[Entry]] = {}
    header_at, cols = _find_header(res_rows, RESOURCE_COLUMNS, RESOURCE_SHEET)
    for i, row in enumerate(res_rows[header_at + 1:], start=header_at + 2):
        if _blank_row(row):
            continue
        entry = Entry(row=i, sheet=RESOURCE_SHEET, item_sheet=ITEM_SHEET)
        entry.values = _read_values(row, cols, RESOURCE_COLUMNS, entry.errors, (RESOURCE_SHEET, i))
        entries.append(entry)
        seq = _cell(row, cols, SEQ)
        if seq:
            by_seq.setdefault(seq, entry)
        by_name.setdefault(entry.label.strip(), []).append(entry)

    orphans: list[RowError] = []
    header_at, icols = _find_header(item_rows, ITEM_COLUMNS, ITEM_SHEET)
    if SEQ not in icols and "信息资源名称" not in icols:
        raise _bad_file("columns_missing", "缺少必需的列：{value}", value=f"{ITEM_SHEET}：{SEQ}")
    for i, row in enumerate(item_rows[header_at + 1:], start=header_at + 2):
        if _blank_row(row):
            continue
        seq, name = _cell(row, icols, SEQ), _cell(row, icols, "信息资源名称")
        owner = by_seq.get(seq) if seq else None
        if owner is None and not seq and len(by_name.get(name, [])) == 1:
            owner = by_name[name][0]
        if owner is None:
            orphans.append(RowError(SEQ, "item_orphan", "找不到信息项所属的信息资源“{value}”", {"value": seq or name},
                                    sheet=ITEM_SHEET, row=i, column=SEQ if seq else "信息资源名称"))
            continue
        owner.items.append(_read_values(row, icols, ITEM_COLUMNS, owner.errors, (ITEM_SHEET, i)))
        owner.item_rows.append(i)
    return Parsed(entries, orphans)


def _find_header(rows: list[list[Any]], columns: tuple[Column, ...], sheet: str) -> tuple[int, dict[str, int]]:
    """The header is the first non-empty row (a department may add a title row above it)."""
    for i, row in enumerate(rows[:5]):
        if _blank_row(row):
            continue
        names = {_norm_header(h) for h in row}
        if any(_norm_header(c.header) in names for c in columns if c.required):
            return i, _map_headers(row, columns, sheet)
    first = next((r for r in rows if not _blank_row(r)), [])
    return 0, _map_headers(first, columns, sheet)


def decode_text(data: bytes) -> tuple[str, str]:
    """The file's text by the platform's one detector (textenc: BOM, strict UTF-8, then
    charset-normalizer; GBK read as GB18030), decoded strictly."""

    try:
        encoding = detect_sample(data, full=True)
        return data.decode(encoding, errors="strict"), encoding
    except DomainError:
        raise _bad_file("file_unreadable", "无法读取文件：{reason}", reason="unknown text encoding") from None
    except UnicodeDecodeError as exc:
        raise _bad_file("file_unreadable", "无法读取文件：{reason}",
                        reason=f"byte {exc.start} is not valid {encoding}") from None


def _parse_csv(data: bytes) -> Parsed:
    text, encoding = decode_text(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    cols: dict[str, int] = {}
    groups: dict[str, Entry] = {}
    entries: list[Entry] = []
    line = 1
    try:
        for row in reader:
            start, line = line, reader.line_num + 1  # the line the record starts on
            if _blank_row(row):
                continue
            if header is None:
                header = row
                cols = _map_headers(row, CSV_COLUMNS, "CSV")
                continue
            key = _cell(row, cols, SEQ) or _cell(row, cols, "信息资源代码") or _cell(row, cols, "信息资源名称")
            entry = groups.get(key) if key else None
            if entry is None:
                entry = Entry(row=start, sheet=None)
                entry.values = _read_values(row, cols, RESOURCE_COLUMNS, entry.errors, (None, start))
                entries.append(entry)
                if key:
                    groups[key] = entry
            if _cell(row, cols, "信息项名称") or _cell(row, cols, "数据类型"):
                entry.items.append(_read_values(row, cols, ITEM_COLUMNS, entry.errors, (None, start)))
                entry.item_rows.append(start)
    except csv.Error as exc:
        raise _bad_file("file_unreadable", "无法读取文件：{reason}", reason=f"line {line}: {exc}") from None
    if header is None:
        raise _bad_file("file_empty", "文件中没有任何数据")
    return Parsed(entries, [], encoding)


def _parse_json(data: bytes) -> Parsed:
    text, encoding = decode_text(data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_file("file_unreadable", "无法读取文件：{reason}", reason=str(exc)) from None
    if isinstance(doc, dict) and isinstance(doc.get("resources"), list):
        doc = doc["resources"]
    elif isinstance(doc, dict) and "resources" not in doc:
        doc = [doc]  # one resource, as an element of the export's list
    if not isinstance(doc, list):
        raise _bad_file("file_unreadable", "无法读取文件：{reason}", reason="expected a list of resources")
    entries = []
    for n, raw in enumerate(doc, start=1):
        entry = Entry(row=n, sheet=None, json_mode=True)
        entries.append(entry)
        if not isinstance(raw, dict):
            entry.errors.append(RowError("", "invalid_value", "字段格式不正确：{reason}", {"reason": "not an object"},
                                         row=n))
            continue
        try:
            model = ResourceIn.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                entry.errors.append(RowError(loc, "invalid_value", "字段格式不正确：{reason}", {"reason": err["msg"]},
                                             row=n, column=loc))
            entry.values = {k: v for k, v in raw.items() if k in ("code", "name")}
            continue
        entry.values = model.model_dump(exclude_unset=True, exclude={"items"})
        entry.values["code"] = model.code
        entry.items = [it.model_dump(exclude_unset=True) for it in model.items] if "items" in raw else []
        if "items" not in raw:
            entry.values["_no_items"] = True
        entry.item_rows = [n] * len(entry.items)
    return Parsed(entries, [], encoding)


def parse(data: bytes, fmt: str) -> Parsed:
    if not data.strip():
        raise _bad_file("file_empty", "文件中没有任何数据")
    if fmt == "xlsx":
        if not (data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0")):
            raise _bad_file("file_unreadable", "无法读取文件：{reason}", reason="not an Excel workbook")
        parsed = _parse_xlsx(data)
    elif fmt == "csv":
        parsed = _parse_csv(data)
    elif fmt == "json":
        parsed = _parse_json(data)
    else:
        raise _bad_file("format_unsupported", "不支持的文件格式“{value}”", value=fmt)
    if not parsed.entries and not parsed.orphans:
        raise _bad_file("file_empty", "文件中没有任何数据")
    return parsed


# --- import ------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    format: str
    sm3: str
    encoding: str | None = None
    partial: bool = False
    created: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"created": len(self.created), "updated": len(self.updated), "unchanged": len(self.unchanged),
                "skipped": len(self.skipped), "errors": len(self.errors)}

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "sm3": self.sm3, "encoding": self.encoding, "partial": self.partial,
                **{f"{k}_count": v for k, v in self.counts().items()},
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "errors": [e.as_dict() for e in self.errors]}


def resource_in_dict(view: dict[str, Any]) -> dict[str, Any]:
    """A resource view (resource_dict or a published snapshot) as ResourceIn fields plus its
    code: portable between installations (provider by USCC, system by name, no database ids)."""
    return {
        "code": view["code"], "name": view["name"], "abstract": view["abstract"], "org_uscc": view.get("org_uscc"),
        "category_code": view["category_code"], "library": view["library"], "format_kind": view["format_kind"],
        "format_detail": view.get("format_detail"), "system_name": view.get("system_name"),
        "share_type": view["share_type"], "share_condition": view.get("share_condition"),
        "share_basis": view.get("share_basis"), "share_method": view.get("share_method"),
        "open_type": view["open_type"], "open_condition": view.get("open_condition"),
        "returnable": bool(view.get("returnable")), "update_cycle": view["update_cycle"],
        "publish_date": view.get("publish_date"), "record_count": view.get("record_count"),
        "keywords": list(view.get("keywords") or []), "related_codes": list(view.get("related_codes") or []),
        "items": [
            {"name": it["name"], "data_type": it.get("data_type_code") or it["data_type"], "length": it.get("length"),
             "required": bool(it.get("required")), "enumeration": it.get("enumeration"), "format": it.get("format"),
             "description": it.get("description"), "is_key": bool(it.get("is_key")),
             "authoritative": bool(it.get("authoritative")), "element": it.get("element")}
            for it in view.get("items", [])
        ],
    }


def _build_input(entry: Entry, base: dict[str, Any] | None, actor: Actor, session: Session) -> ResourceIn:
    """The ResourceIn for an entry: what the file says over what the resource already holds
    (so columns the template does not carry, like 记录数, survive an Excel round trip)."""
    values = {k: v for k, v in entry.values.items() if not k.startswith("_")}
    values.pop("code", None)
    data: dict[str, Any] = {}
    if base is not None:
        data = {k: v for k, v in base.items() if k != "code"}
    data.update(values)
    if base is None and _blank(data.get("org_uscc")) and data.get("org_id") is None:
        own = actor.org_ids(Role.STEWARD)
        if len(own) == 1:  # a steward's rows default to their own org
            org = session.get(Org, next(iter(own)))
            data["org_uscc"] = org.uscc if org else None
    if data.get("org_uscc"):
        data["org_uscc"] = str(data["org_uscc"]).strip().upper()
    if not entry.values.get("_no_items"):
        old = {it["name"]: it for it in (base or {}).get("items", [])}
        items = []
        for it in entry.items:
            merged = dict(it)
            name = str(merged.get("name") or "").strip()
            if "element" not in merged and name in old:
                merged["element"] = old[name].get("element")
            items.append(merged)
        data["items"] = items
    return ResourceIn.model_validate(data)


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


class _Unchanged(Exception):
    """Raised inside the savepoint to undo an update that changed nothing."""


_SAME_SKIP = {"status", "version", "published_version", "return_reason"}


def _same(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return all(before.get(k) == after.get(k) for k in set(before) | set(after) if k not in _SAME_SKIP)


def _canon(data: dict[str, Any]) -> dict[str, Any]:
    """A comparable form of ResourceIn fields, for resources whose status forbids an update."""
    out = {k: (str(v).strip() or None) if isinstance(v, str) else v for k, v in data.items()
           if k not in ("code", "org_id", "system_id", "items")}
    out["org_uscc"] = (out.get("org_uscc") or "").upper() or None
    items = []
    for it in data.get("items") or []:
        it = dict(it)
        parsed = DataType.parse(it.get("data_type"))
        it["data_type"] = parsed.value if parsed else it.get("data_type")
        it["length"] = int(it["length"]) if str(it.get("length") or "").strip().isdigit() else it.get("length")
        it["element"] = service.normalize_element(it.get("element") or it["name"])
        items.append({k: (str(v).strip() or None) if isinstance(v, str) else v for k, v in it.items()})
    out["items"] = items
    return out


def _import_one(session: Session, actor: Actor, entry: Entry, report: ImportReport) -> list[RowError]:
    where = {"row": entry.row, "sheet": entry.sheet, "name": entry.label}
    errors = list(entry.errors)
    target: Resource | None = None
    if entry.code:
        try:
            target = service.get_resource(session, actor, entry.code)
        except NotFound:
            # An unknown (or invisible) code can only have been typed by hand.
            errors.append(entry.locate(FieldError("code", "code_generated", "信息资源代码由平台生成，不能手工填写")))
            return errors
    base = resource_in_dict(service.view_for(session, actor, target)) if target is not None else None
    try:
        data = _build_input(entry, base, actor, session)
    except ValidationError as exc:
        errors += [RowError(".".join(map(str, e["loc"])), "invalid_value", "字段格式不正确：{reason}",
                            {"reason": e["msg"]}, sheet=entry.sheet, row=entry.row) for e in exc.errors()]
        return errors
    if (target is not None and target.status not in service.EDITABLE and not errors
            and _canon(data.model_dump()) == _canon({k: v for k, v in (base or {}).items()})):
        report.unchanged.append({**where, "code": target.code})
        return []
    try:
        with session.begin_nested():
            if target is not None:
                before = service.resource_dict(session, target)
                resource = service.update_resource(session, actor, target.id, data)
                if not errors and _same(before, service.resource_dict(session, resource)):
                    raise _Unchanged
            else:
                resource = service.create_resource(session, actor, data)
            if errors:
                raise ValidationFailed("validation_failed")  # undo: the file's own values were unreadable
            code = resource.code
    except _Unchanged:
        report.unchanged.append({**where, "code": entry.code})
        return []
    except DomainError as exc:
        errors += _errors_of(exc, entry, data)
        return errors
    (report.updated if target is not None else report.created).append({**where, "code": code})
    return []


def _errors_of(exc: DomainError, entry: Entry, data: ResourceIn) -> list[RowError]:
    if exc.errors:
        out = []
        for err in exc.errors:
            if err.field == "org_id" and err.code == "required" and not _blank(data.org_uscc):
                err = FieldError("org_uscc", "org_unknown", "提供方代码“{value}”对应的机构不存在",
                                 {"value": data.org_uscc})
            out.append(entry.locate(err))
        return out
    if exc.code == "validation_failed":
        return []
    # Permission and status errors concern the whole row; permission is about the provider.
    fld = "org_uscc" if isinstance(exc, PermissionDenied) else "code"
    return [entry.locate(FieldError(fld, exc.code, exc.message, dict(exc.params)))]


def _import_format(data: bytes, fmt: str | None) -> str:
    """The file's format, named or detected; a format the import does not read is refused."""
    fmt = (fmt or detect_format(data)).lower().lstrip(".")
    if fmt == "xls":
        fmt = "xlsx"
    if fmt not in IMPORT_FORMATS:
        raise _bad_file("format_unsupported", "不支持的文件格式“{value}”", value=fmt)
    return fmt


def import_catalog(session: Session, actor: Actor, data: bytes, fmt: str | None = None, *,
                   partial: bool = False) -> ImportReport:
    """Import a catalogue file as drafts (new rows) and updates (rows carrying a code)."""
    fmt = _import_format(data, fmt)
    parsed = parse(data, fmt)
    report = ImportReport(format=fmt, sm3=sm3_hex(data), encoding=parsed.encoding, partial=partial)
    for err in parsed.orphans:
        report.errors.append(err)
        report.skipped.append({"row": err.row, "sheet": err.sheet, "name": "", "errors": [err.as_dict()]})
    for entry in parsed.entries:
        errs = _import_one(session, actor, entry, report)
        if errs:
            report.errors += errs
            report.skipped.append({"row": entry.row, "sheet": entry.sheet, "name": entry.label,
                                   "errors": [e.as_dict() for e in errs]})
    report.errors.sort(key=lambda e: (e.sheet == ITEM_SHEET, e.row or 0))  # in the order the user reads the file
    if report.errors and not partial:
        raise ImportRejected(report.errors, len(report.skipped))
    ledger.append(session, actor, "catalog.import", "catalog_import", report.sm3, {
        "format": fmt, "sm3": report.sm3, "partial": partial, **report.counts(),
        "created": [c["code"] for c in report.created], "updated": [u["code"] for u in report.updated],
        "skipped_rows": [s["row"] for s in report.skipped],
    })
    return report


def create_from_file(session: Session, actor: Actor, data: bytes, fmt: str | None = None) -> Resource:
    """ONE draft resource from a file (`ybz catalog create --from`): the Excel template with one
    resource row, or JSON of one resource in the export's shape (an object, or a list of one).
    Read by the import's parser and created by `service.create_resource`; a code in the file is
    not kept (an exported resource used as a model): the draft gets a code of its own. Errors
    are pinned to sheet, row and column as the import pins them; a permission refusal is raised
    as it is."""
    fmt = _import_format(data, fmt)
    parsed = parse(data, fmt)
    if parsed.orphans:
        raise ValidationFailed("create_rejected", "未能创建信息资源：文件中有{n}处错误", errors=list(parsed.orphans),
                               n=len(parsed.orphans))
    if len(parsed.entries) != 1:
        raise _bad_file("create_one_resource", "文件中应恰好有一个信息资源，实际有{n}个", n=len(parsed.entries))
    entry = parsed.entries[0]
    entry.values.pop("code", None)
    errors: list[RowError] = list(entry.errors)
    try:
        resource_in = _build_input(entry, None, actor, session)
    except ValidationError as exc:
        errors += [RowError(".".join(map(str, e["loc"])), "invalid_value", "字段格式不正确：{reason}",
                            {"reason": e["msg"]}, sheet=entry.sheet, row=entry.row) for e in exc.errors()]
        raise ValidationFailed("create_rejected", "未能创建信息资源：文件中有{n}处错误", errors=list(errors),
                               n=len(errors)) from None
    try:
        with session.begin_nested():
            resource = service.create_resource(session, actor, resource_in)
            if errors:
                raise ValidationFailed("validation_failed")  # undo: the file's own values were unreadable
    except PermissionDenied:
        raise
    except DomainError as exc:
        errors += _errors_of(exc, entry, resource_in)
        if not errors:
            raise
        raise ValidationFailed("create_rejected", "未能创建信息资源：文件中有{n}处错误", errors=list(errors),
                               n=len(errors)) from None
    return resource


# --- export ------------------------------------------------------------------------------------


def visible_views(session: Session, actor: Actor, *, org_id: int | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    """What the actor may see, each as the actor sees it (working copy or published snapshot)."""
    stmt = service.visible_to(select(Resource), actor)
    if org_id is not None:
        stmt = stmt.where(Resource.org_id == org_id)
    if status:
        parsed = ResourceStatus.parse(status)
        stmt = stmt.where(Resource.status == (parsed.value if parsed else status))
    rows = session.execute(stmt.order_by(Resource.code)).scalars()
    return [service.view_for(session, actor, r) for r in rows]


def _resource_cells(view: dict[str, Any], seq: int) -> dict[str, Any]:
    d = resource_in_dict(view)
    out: dict[str, Any] = {SEQ: seq, "提供方名称": view.get("org_name"), "状态": view.get("status"),
                           "版本": view.get("version")}
    for col in RESOURCE_COLUMNS:
        if col.field:
            out[col.header] = _out(col, d.get(col.field))
    return out


def _item_cells(item: dict[str, Any]) -> dict[str, Any]:
    return {col.header: _out(col, item.get(col.field)) for col in ITEM_COLUMNS if col.field}


def _out(col: Column, value: Any) -> Any:
    if col.kind == "bool":
        return YES if value else NO
    if col.kind == "list":
        return "；".join(str(v) for v in value or [])
    return value


def export_catalog(session: Session, actor: Actor, fmt: str, *, org_id: int | None = None,
                   status: str | None = None, base_url: str | None = None) -> bytes:
    fmt = fmt.lower()
    if fmt in ("dcat-ttl", "dcat-jsonld"):
        # deferred: keeps rdflib out of this module's import
        from . import dcat

        return dcat.serialize(session, "turtle" if fmt == "dcat-ttl" else "json-ld", org_id=org_id,
                              base_url=base_url)
    if fmt not in FORMATS:
        raise _bad_file("format_unsupported", "不支持的文件格式“{value}”", value=fmt)
    views = visible_views(session, actor, org_id=org_id, status=status)
    if fmt == "json":
        return json.dumps([resource_in_dict(v) for v in views], ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "csv":
        return _csv_bytes(views)
    return workbook_bytes(views)


def _csv_bytes(views: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow([c.header for c in CSV_COLUMNS])
    for seq, view in enumerate(views, start=1):
        res = _resource_cells(view, seq)
        items = resource_in_dict(view)["items"] or [{}]
        for item in items:
            cells = {**res, **(_item_cells(item) if item else {})}
            writer.writerow(["" if cells.get(c.header) is None else cells[c.header] for c in CSV_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def template_bytes() -> bytes:
    """The empty template departments fill in."""
    return workbook_bytes([])


def workbook_bytes(views: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    fills = {"required": PatternFill("solid", fgColor="1F4E78"), "optional": PatternFill("solid", fgColor="5B9BD5"),
             "info": PatternFill("solid", fgColor="8C8C8C")}
    white = Font(bold=True, color="FFFFFF")
    text_cols = {"信息资源代码", "提供方代码(统一社会信用代码)", "信息资源分类代码", "发布日期"}

    book = Workbook()
    res_ws = book.active
    res_ws.title = RESOURCE_SHEET
    item_ws = book.create_sheet(ITEM_SHEET)
    rows_res: list[dict[str, Any]] = []
    rows_item: list[dict[str, Any]] = []
    for seq, view in enumerate(views, start=1):
        rows_res.append(_resource_cells(view, seq))
        for item in resource_in_dict(view)["items"]:
            rows_item.append({SEQ: seq, "信息资源名称": view["name"], **_item_cells(item)})

    for ws, columns, rows in ((res_ws, RESOURCE_COLUMNS, rows_res), (item_ws, ITEM_COLUMNS, rows_item)):
        last = max(len(rows) + 500, 1000)
        for j, col in enumerate(columns, start=1):
            letter = get_column_letter(j)
            cell = ws.cell(row=1, column=j, value=col.header)
            cell.fill, cell.font = fills[_kind(col)], white
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            if col.help:
                cell.comment = Comment(col.help, "一本账")
            ws.column_dimensions[letter].width = col.width
            allowed = _allowed(col)
            if allowed:
                dv = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True,
                                    showErrorMessage=True, errorTitle=col.header,
                                    error="请从下拉列表中选择 / choose a value from the list")
                dv.add(f"{letter}2:{letter}{last}")
                ws.add_data_validation(dv)
        for i, row in enumerate(rows, start=2):
            for j, col in enumerate(columns, start=1):
                value = row.get(col.header)
                cell = ws.cell(row=i, column=j, value=value)
                if col.header in text_cols:
                    cell.number_format = "@"
        ws.freeze_panes = "C2" if ws is res_ws else "D2"
        ws.row_dimensions[1].height = 30

    _help_sheet(book.create_sheet(HELP_SHEET), fills, white)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _kind(col: Column) -> str:
    """required (must be filled), optional, or info (shown on export, ignored on import)."""
    if col.required:
        return "required"
    return "info" if col.field is None and col.header not in ITEM_LINKS else "optional"


def _allowed(col: Column) -> list[str]:
    if col.kind == "bool":
        return [YES, NO]
    if col.enum is DataType:
        return [m.name for m in DataType] + DataType.values()
    if col.enum is not None:
        return list(col.enum.values())
    return []


def _help_sheet(ws: Any, fills: dict[str, Any], white: Any) -> None:
    from openpyxl.styles import Alignment

    notes = [
        "一行填写一个信息资源；“信息项”工作表一行填写一个信息项，用“资源序号”对应到“信息资源”工作表的同一序号。",
        "深蓝色表头为必填列，浅蓝色为选填列（部分在特定条件下必填，见说明），灰色列仅供查看、导入时忽略。",
        "新建资源时“信息资源代码”留空，由平台生成；修改已有资源时保留导出文件中的代码。",
        "多个取值（关联资源代码、关键词、枚举值）用分号“；”分隔。日期写作YYYY-MM-DD。",
        "导入时逐行校验：任何一行有错误则整份文件不导入，并列出每个错误所在的工作表、行号和列。",
    ]
    for i, note in enumerate(notes, start=1):
        ws.cell(row=i, column=1, value=note)
    start = len(notes) + 2
    headers = ["工作表", "列名", "是否必填", "说明", "可选值"]
    for j, h in enumerate(headers, start=1):
        cell = ws.cell(row=start, column=j, value=h)
        cell.fill, cell.font = fills["required"], white
    r = start + 1
    for sheet, columns in ((RESOURCE_SHEET, RESOURCE_COLUMNS), (ITEM_SHEET, ITEM_COLUMNS)):
        for col in columns:
            required = {"required": YES, "info": "仅供查看", "optional": NO}[_kind(col)]
            values = [sheet, col.header, required, col.help, "、".join(_allowed(col))]
            for j, v in enumerate(values, start=1):
                ws.cell(row=r, column=j, value=v).alignment = Alignment(wrap_text=True, vertical="top")
            r += 1
    for letter, width in zip("ABCDE", (10, 28, 10, 50, 60), strict=True):
        ws.column_dimensions[letter].width = width


__all__ = [
    "CONTENT_TYPES", "EXTENSIONS", "FORMATS", "IMPORT_FORMATS", "ImportRejected", "ImportReport", "RowError",
    "decode_text", "detect_format", "export_catalog", "import_catalog", "parse", "resource_in_dict",
    "template_bytes", "visible_views", "workbook_bytes",
]
