"""Masking policies: for each grade and each exit path, the operator every item gets by its
categories (data/masking_policies.toml, validated on load; YBZ_MASKING_POLICIES points at an
authority's own file). Then one SELECT applies every column's operator, set-based.

Every exit path calls the same three things: `plan(items, path)` (what leaves, how, and what
is denied), `masked_select_sql(items, path, relation)` (the SQL), and `preview` /
`apply_policy_to_arrow` (run it over the zone or over rows already in Arrow).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..access import Actor, require
from ..catalog.model import Resource
from ..config_files import Reloading, read_text
from ..errors import DomainError, FieldError, NotFound
from ..i18n import N_
from ..ledger.access_log import record_read
from ..zone import port
from ..zone.engine import Work, engine_for
from ..zone.functions import Function
from ..zone.port import type_name
from ..zone.service import can_read_rows, column_type, live_state
from . import masking
from .categories import CATEGORIES, FAMILIES
from .grading import GRADE_LABELS, parse_grade

ENV_VAR = "YBZ_MASKING_POLICIES"
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "masking_policies.toml"

SHARE, OPEN_DOWNLOAD, OPERATOR_RESULT, CONSOLE_PREVIEW = N_("共享"), N_("开放下载"), N_("运营结果"), N_("控制台预览")
EXIT_PATHS = (SHARE, OPEN_DOWNLOAD, OPERATOR_RESULT, CONSOLE_PREVIEW)
MASK = "mask"  # the category's standard mask, from the policy's [mask] table
SUBJECT_SELECTORS = {"personal": "个人", "organization": "组织", "public": "公共"}
PREVIEW_MAX = 200


class MaskingPolicyInvalid(DomainError):
    """The policy file cannot be used: a deployment problem, every fault reported at once."""

    status = 500
    title = "脱敏策略文件不合法"

    def __init__(self, path: str, errors: list[FieldError]) -> None:
        super().__init__("masking_policy_invalid", "脱敏策略文件不合法：{path}", errors=errors, path=path)


@dataclass(frozen=True)
class MaskItem:
    """An item as masking sees it: its column, categories, grade label and zone column type."""

    name: str
    categories: tuple[str, ...] = ()
    grade: str | None = None
    sql_type: str = "VARCHAR"


@dataclass(frozen=True)
class Policy:
    source: str
    ungraded: str
    mask: dict[str, masking.Spec]
    rules: dict[tuple[str, str], dict[str, masking.Spec]]  # (grade label, path) → selector → spec

    def _lookup(self, table: dict[str, masking.Spec], category: str | None) -> masking.Spec:
        if category is None:
            return table["*"]
        cat = CATEGORIES.get(category)
        keys = [category]
        if cat is not None:
            keys.append(f"family:{cat.family}")
            if cat.sensitive:
                keys.append("sensitive")
            keys += [sel for sel, subject in SUBJECT_SELECTORS.items() if subject == cat.subject]
        for key in keys:
            if key in table:
                return table[key]
        return table["*"]

    def _resolve(self, spec: masking.Spec, category: str | None) -> masking.Spec:
        if spec.name != MASK:
            return spec
        return self.mask.get(category or "*", self.mask["*"])

    def operator(self, grade: str | None, path: str, categories: Iterable[str]) -> masking.Spec:
        """The strictest operator among the item's categories (就高从严)."""
        label = self.grade_label(grade)
        if path not in EXIT_PATHS:
            raise DomainError("exit_path_unknown", "未知的取值“{value}”，可选：{allowed}", value=path,
                              allowed="、".join(EXIT_PATHS))
        table = self.rules[(label, path)]
        specs = [self._resolve(self._lookup(table, c), c) for c in categories] or \
            [self._resolve(self._lookup(table, None), None)]
        return max(specs, key=lambda s: s.strictness)

    def grade_label(self, grade: str | None) -> str:
        if grade is None or str(grade).strip() == "":
            return self.ungraded
        parsed = parse_grade(grade)
        if parsed is None:
            raise DomainError("grade_unknown", "未知的取值“{value}”，可选：{allowed}", value=str(grade),
                              allowed="、".join(GRADE_LABELS))
        return parsed.label


# --- loading and validation ------------------------------------------------------------------


def _line(lines: list[str], *names: str) -> int:
    """The line of a key path (table, sub-tables…, key) for error messages: the key's own line
    inside its table when present, else the table's header (0 when neither is found)."""
    header, rest = 0, list(names)
    for cut in range(len(names), 0, -1):
        pat = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(rf'"?{re.escape(n)}"?' for n in names[:cut]) + r"\s*\]")
        header = next((i + 1 for i, line in enumerate(lines) if pat.match(line)), 0)
        if header:
            rest = list(names[cut:])
            break
    if not rest:
        return header
    key = re.compile(rf'^\s*"?{re.escape(rest[0])}"?\s*=')
    for i in range(header, len(lines)):
        if header and lines[i].lstrip().startswith("["):
            break
        if key.match(lines[i]):
            return i + 1
    return header


def _valid_selector(sel: str) -> bool:
    if sel == "*" or sel == "sensitive" or sel in SUBJECT_SELECTORS or sel in CATEGORIES:
        return True
    return sel.startswith("family:") and sel[len("family:"):] in FAMILIES


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    lines = text.splitlines()
    errors: list[FieldError] = []

    def fault(path: tuple[str, ...], code: str, message: str, **params: Any) -> None:
        key = ".".join(path)
        errors.append(FieldError(key, code, message, {"line": _line(lines, *path), "key": key, **params}))

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MaskingPolicyInvalid(source, [FieldError("toml", "policy_syntax", "无法解析：{detail}",
                                                       {"detail": str(exc)})]) from None

    def spec(path: tuple[str, ...], raw: Any, *, allow_mask: bool) -> masking.Spec | None:
        if allow_mask and raw == MASK:
            return masking.Spec(MASK)
        try:
            return masking.parse_spec(str(raw)) if isinstance(raw, str) else masking.parse_spec("?")
        except masking.SpecInvalid as exc:
            fault(path, "policy_operator", "第{line}行 {key}：算子无效（{detail}）", detail=str(exc))
            return None

    for key in data:
        if key not in ("version", "ungraded", "mask", "policy"):
            fault((key,), "policy_key", "第{line}行 {key}：未知的字段")
    ungraded = data.get("ungraded", "核心")
    grade = parse_grade(ungraded) if isinstance(ungraded, str) else None
    if grade is None:
        fault(("ungraded",), "policy_grade", "第{line}行 {key}：未知的取值“{value}”，可选：{allowed}",
              value=str(ungraded), allowed="、".join(GRADE_LABELS))

    mask: dict[str, masking.Spec] = {}
    raw_mask = data.get("mask", {})
    if not isinstance(raw_mask, dict) or "*" not in raw_mask:
        fault(("mask",), "policy_mask_default", "第{line}行 {key}：[mask] 表缺少 \"*\"（其余类别）")
    for sel, raw in (raw_mask.items() if isinstance(raw_mask, dict) else ()):
        if sel != "*" and sel not in CATEGORIES:
            fault(("mask", sel), "policy_category", "第{line}行 {key}：未知的类别")
        s = spec(("mask", sel), raw, allow_mask=False)
        if s is not None:
            mask[sel] = s

    rules: dict[tuple[str, str], dict[str, masking.Spec]] = {}
    policy = data.get("policy", {})
    if not isinstance(policy, dict):
        policy = {}
        fault(("policy",), "policy_table", "第{line}行 {key}：应为一个表")
    for label in policy:
        if label not in GRADE_LABELS:
            fault(("policy", label), "policy_grade", "第{line}行 {key}：未知的取值“{value}”，可选：{allowed}",
                  value=label, allowed="、".join(GRADE_LABELS))
    for label in GRADE_LABELS:
        paths = policy.get(label)
        if not isinstance(paths, dict):
            fault(("policy", label), "policy_missing", "第{line}行 {key}：缺少该级别的策略")
            continue
        for path in paths:
            if path not in EXIT_PATHS:
                fault(("policy", label, path), "policy_path", "第{line}行 {key}：未知的取值“{value}”，可选：{allowed}",
                      value=path, allowed="、".join(EXIT_PATHS))
        for path in EXIT_PATHS:
            table = paths.get(path)
            if not isinstance(table, dict) or "*" not in table:
                fault(("policy", label, path), "policy_missing",
                      "第{line}行 {key}：缺少该出口的策略或其 \"*\"（其余类别）")
                continue
            out: dict[str, masking.Spec] = {}
            for sel, raw in table.items():
                if not _valid_selector(sel):
                    fault(("policy", label, path, sel), "policy_selector", "第{line}行 {key}：未知的类别或选择器")
                s = spec(("policy", label, path, sel), raw, allow_mask=True)
                if s is not None:
                    out[sel] = s
            rules[(label, path)] = out
    if errors:
        raise MaskingPolicyInvalid(source, errors)
    return Policy(source, grade.label if grade else "核心", mask, rules)


def policy_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_policy(path: str | Path | None = None) -> Policy:
    p = policy_path(path)
    return parse_policy(read_text(p, MaskingPolicyInvalid, "policy_file"), str(p))


_in_force = Reloading(load_policy)


def get_policy() -> Policy:
    """The policy in force (re-read when its file changes)."""
    return _in_force.get(policy_path())


# --- plans and SQL -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    grade: str  # the label the policy used (the ungraded default for an item without one)
    categories: tuple[str, ...]
    operator: masking.Spec

    @property
    def denied(self) -> bool:
        return self.operator.denied

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "grade": self.grade, "categories": list(self.categories),
                "operator": str(self.operator), "denied": self.denied}


@dataclass(frozen=True)
class MaskPlan:
    exit_path: str
    purpose: str
    columns: tuple[ColumnPlan, ...]

    @property
    def denied(self) -> list[str]:
        return [c.name for c in self.columns if c.denied]

    @property
    def leaving(self) -> list[ColumnPlan]:
        return [c for c in self.columns if not c.denied]

    @property
    def personal(self) -> bool:
        """Does any leaving item hold personal information (a category whose subject is 个人)?
        Reads through such a plan belong in the access log (issue 23)."""
        return any(getattr(CATEGORIES.get(cat), "subject", None) == "个人"
                   for c in self.leaving for cat in c.categories)

    def sql(self, relation: str, types: dict[str, str] | None = None, *, passthrough: Sequence[str] = (),
            tail: str = "") -> str:
        """Two projections: the inner one cleans each value once (and applies `tail`, e.g.
        ORDER BY … LIMIT, before any masking work), the outer one applies the operators."""
        if not self.leaving:
            raise DomainError("masking_all_denied", "按“{path}”出口的策略，没有信息项可以离开", path=self.exit_path)
        types = types or {}
        inner, outer = [], []
        for i, c in enumerate(self.leaving):
            t = types.get(c.name, "VARCHAR")
            pre = c.operator.pre(_quote(c.name), t)
            ref = _quote(f"_ybz_{i}")
            inner.append(f"{pre or _quote(c.name)} AS {ref}")
            outer.append(f"{c.operator.post(ref, t, self.purpose)} AS {_quote(c.name)}")
        inner += [_quote(p) for p in passthrough]
        outer += [_quote(p) for p in passthrough]
        return (f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {relation} AS _src"
                f"{(' ' + tail) if tail else ''}) AS _clean")


    def query(self, types: dict[str, str] | None = None, *, passthrough: Sequence[str] = (),
              where: exp.Expression | None = None, order: Sequence[str] = (), limit: int | None = None,
              offset: int | None = None) -> exp.Select:
        """`sql` over the port's `r` as a plan (a sqlglot tree): the filters, order and paging go
        in the inner projection, before any masking work, as `sql`'s tail does. Values in `where`
        stay literals of the tree (port.equals, port.after), never SQL text; the operators'
        expressions hold column names and the policy's own constants only."""
        tree = _parsed(self.sql(port.RELATION, types, passthrough=passthrough)).copy()
        inner = tree.find(exp.Subquery).this
        if where is not None:
            inner.where(where, copy=False)
        if order:
            inner.order_by(*(port.col(n) for n in order), copy=False)
        if limit is not None:
            inner.limit(int(limit), copy=False)
        if offset:
            inner.offset(int(offset), copy=False)
        return tree


def functions(query: exp.Expression, *, secret: str | None = None) -> list[Function]:
    """The platform functions (masking's keyed ones) a masked plan calls, for the engine's hook."""
    names = {f.name for f in query.find_all(exp.Anonymous)}
    return masking.functions(" ".join(sorted(names)), secret=secret)


@lru_cache(maxsize=1024)
def _parsed(sql: str) -> exp.Select:
    tree = port.parse(sql)
    assert isinstance(tree, exp.Select)
    return tree


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_item(raw: Any) -> MaskItem:
    if isinstance(raw, MaskItem):
        return raw
    get = raw.get if isinstance(raw, dict) else (lambda k, d=None: getattr(raw, k, d))
    grade = get("grade")
    grade = getattr(grade, "label", grade)
    return MaskItem(str(get("name")), tuple(get("categories") or ()), grade, str(get("sql_type") or "VARCHAR"))


def plan(items: Iterable[Any], exit_path: str, *, purpose: str | None = None,
         policy: Policy | None = None) -> MaskPlan:
    """What leaves by `exit_path` and how. `purpose` names the pseudonym/SM4 key (default: the
    path); give a grant's own purpose so two receivers cannot join each other's pseudonyms."""
    policy = policy or get_policy()
    cols = []
    for raw in items:
        item = _as_item(raw)
        cols.append(ColumnPlan(item.name, policy.grade_label(item.grade), item.categories,
                               policy.operator(item.grade, exit_path, item.categories)))
    return MaskPlan(exit_path, purpose or exit_path, tuple(cols))


def masked_select_sql(items: Iterable[Any], exit_path: str, relation: str, *, purpose: str | None = None,
                      policy: Policy | None = None, passthrough: Sequence[str] = ()) -> str:
    """One SELECT over `relation` applying every item's operator; denied items are left out.
    Items carry name, categories and grade (MaskItem, dicts or objects). Run it through
    masking.execute (or masking.prepare on your connection): keyed functions need registering."""
    listed = [_as_item(i) for i in items]
    p = plan(listed, exit_path, purpose=purpose, policy=policy)
    return p.sql(relation, {i.name: i.sql_type for i in listed}, passthrough=passthrough)


def apply_policy_to_arrow(table: pa.Table, items: Iterable[Any], exit_path: str, *, purpose: str | None = None,
                          policy: Policy | None = None, secret: str | None = None) -> pa.Table:
    """Rows already in Arrow (an API response, a sandbox result) masked for `exit_path`. Columns
    without an item are treated as ungraded, uncategorised items (fail closed). When every column
    is denied the result has no columns (schema metadata lists them as denied)."""
    listed = {i.name: i for i in map(_as_item, items)}
    for name in table.column_names:
        if name not in listed:
            listed[name] = MaskItem(name)
    chosen = [listed[n] for n in table.column_names]
    p = plan(chosen, exit_path, purpose=purpose, policy=policy)
    if not p.leaving:
        return _annotate(pa.table({}), p)
    sql = p.sql("_ybz_rows", {i.name: _arrow_type(table.schema.field(i.name).type) for i in chosen})
    return _annotate(masking.execute(sql, secret=secret, tables={"_ybz_rows": table}), p)


def _arrow_type(t: pa.DataType) -> str:
    """The SQL type masking's operators take a column as (a boolean is masked as its text)."""
    name = type_name(t)
    return "VARCHAR" if name == "BOOLEAN" else name


def _annotate(table: pa.Table, p: MaskPlan) -> pa.Table:
    """Each column's grade and operator as field metadata (the console shows them)."""
    by_name = {c.name: c for c in p.leaving}
    fields = []
    for f in table.schema:
        c = by_name.get(f.name)
        meta = {"grade": c.grade, "operator": str(c.operator)} if c else {}
        fields.append(f.with_metadata({k.encode(): v.encode() for k, v in meta.items()}) if meta else f)
    meta = {b"exit_path": p.exit_path.encode(), b"denied": ",".join(p.denied).encode()}
    return table.cast(pa.schema(fields, metadata=meta))


# --- over the zone --------------------------------------------------------------------------


def resource_items(session: Any, resource: Any) -> list[MaskItem]:
    """A resource's items with their categories and grade: the confirmed grade on the item (an
    unconfirmed item counts as ungraded: fail closed), the categories decided or suggested
    (classify.model) when there are any, else what the recognizers say from the item's name and
    description."""

    known = _stored_categories(session, resource)
    out = []
    for item in resource.items:
        cats = known.get(item.id)
        if cats is None:
            cats = _categories_by_name(item.name, item.description)
        out.append(MaskItem(item.name, tuple(cats), item.grade, column_type(item)))
    return out


def _stored_categories(session: Any, resource: Any) -> dict[int, list[str]]:
    """Item id → category codes: the steward's decision, else every suggested category (masking
    errs on the strict side: the strictest operator among them applies)."""
    try:
        from .model import ClassificationDecision, ClassificationSuggestion  # engineer G's
    except ImportError:
        return {}
    from sqlalchemy import select

    out: dict[int, list[str]] = {}
    for sug in session.execute(select(ClassificationSuggestion)
                               .where(ClassificationSuggestion.resource_id == resource.id)).scalars():
        out[sug.item_id] = [m["category"] if isinstance(m, dict) else str(m) for m in sug.categories or []]
    for dec in session.execute(select(ClassificationDecision)
                               .where(ClassificationDecision.resource_id == resource.id)).scalars():
        out[dec.item_id] = [str(c) for c in dec.categories or []]
    return out


def _categories_by_name(name: str, description: str | None) -> list[str]:
    try:
        from .recognizers import recognize_column  # engineer R's
    except ImportError:
        return []
    return [m.category for m in recognize_column(name, [], description=description)]


def preview(db: Any, actor: Actor, resource: Any, exit_path: str, limit: int = 20, *,
            purpose: str | None = None, policy: Policy | None = None) -> pa.Table:
    """The resource's current rows as they would leave by `exit_path` (insiders only: the
    provider's people and the platform). Field metadata says each column's grade and operator;
    schema metadata lists the denied columns."""

    limit = max(1, min(int(limit), PREVIEW_MAX))
    with db.read() as s:
        res = s.get(Resource, resource if isinstance(resource, int) else resource.id)
        if res is None:
            raise NotFound(f"信息资源 {resource}", "resource_not_found")
        require(can_read_rows(actor, res), "查看数据")
        items = resource_items(s, res)
        state = live_state(s, res.id)
        res_id = res.id
    p = plan(items, exit_path, purpose=purpose, policy=policy)
    if not p.leaving:  # nothing may leave this way: no columns, and the schema says why
        return _annotate(pa.table({}), p)
    # the first rows in the zone's order, cleaned then masked (the order and limit inside, before
    # any masking work); a masked page runs on DuckDB, whose hook registers the keyed functions
    query = p.query({i.name: i.sql_type for i in items}, order=port.META, limit=limit)
    table = engine_for(Work.PREVIEW).query(state, query, functions=functions(query))  # interactive: in process

    with db.write() as s:  # issue 23: every read of rows is in the access log (names and counts only)
        record_read(s, actor, exit=f"preview:{exit_path}", resource_id=res_id, items=table.column_names,
                    rows=table.num_rows)
    return _annotate(table, p)
