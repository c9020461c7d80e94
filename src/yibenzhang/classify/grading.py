"""Grading (GB/T 43697-2024, DOMAIN §4): categories → data subject, sensitivity, impact → grade.

The mapping lives in a TOML rules file an authority can read and change without code
(`data/grading_rules.toml`, or the file named by YBZ_GRADING_RULES). It is validated on load:
every problem is reported at once, each naming its key and line (code `grading_rules_invalid`).

Grades, highest first: 核心 > 重要 > 一般-4级 > 一般-3级 > 一般-2级 > 一般-1级. A field with
several categories takes the highest of them, a resource the highest of its fields (就高从严).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import total_ordering
from pathlib import Path
from typing import Any

from ..config_files import Reloading, read_text
from ..errors import DomainError, FieldError
from ..i18n import N_
from .categories import CATEGORIES

ENV_VAR = "YBZ_GRADING_RULES"  # an authority's own rules file (DOMAIN §4: rules without code)
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "grading_rules.toml"

CORE, IMPORTANT, GENERAL = N_("核心"), N_("重要"), N_("一般")
LEVELS = (CORE, IMPORTANT, GENERAL)
SUBJECTS = ("公共", "组织", "个人")
IMPACT_OBJECTS = (N_("国家安全"), N_("经济运行"), N_("社会秩序"), N_("公共利益"), N_("组织权益"), N_("个人权益"))
IMPACT_DEGREES = (N_("特别严重"), N_("严重"), N_("一般"))
# The default 一般 sub-levels, by what the data is (DOMAIN §4).
SENSITIVE_PERSONAL, PERSONAL, ORG_INTERNAL, PUBLIC = (N_("敏感个人信息"), N_("一般个人信息"), N_("组织内部数据"),
                                                     N_("公共数据"))
SUBLEVEL_KINDS = (SENSITIVE_PERSONAL, PERSONAL, ORG_INTERNAL, PUBLIC)
CATEGORY_FIELDS = ("name", "subject", "sensitive", "impact_object", "impact_degree")


# --- grades -----------------------------------------------------------------------------------


@total_ordering
@dataclass(frozen=True)
class Grade:
    """核心, 重要, or 一般 with a sub-level 1..4 (4 highest)."""

    level: str
    sublevel: int | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown grade level {self.level!r}")
        if (self.level == GENERAL) != (self.sublevel in (1, 2, 3, 4)):
            raise ValueError("一般 needs a sub-level 1..4; 核心 and 重要 have none")

    @property
    def label(self) -> str:
        return f"一般-{self.sublevel}级" if self.level == GENERAL else self.level

    @property
    def rank(self) -> int:
        """6 核心, 5 重要, 4..1 一般-4级..一般-1级: comparable across levels."""
        return {CORE: 6, IMPORTANT: 5}.get(self.level, self.sublevel or 0)

    @property
    def important(self) -> bool:
        """Belongs in the 重要数据目录 (核心 and 重要 data)."""
        return self.level in (CORE, IMPORTANT)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Grade):
            return NotImplemented
        return self.rank < other.rank

    def __str__(self) -> str:
        return self.label

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "sublevel": self.sublevel, "label": self.label}


_GENERAL_RE = re.compile(r"^(?:一般|general)\s*[-－—_ ]?\s*(?:level\s*)?([1-4])\s*级?$", re.IGNORECASE)
_ENGLISH = {"core": CORE, "important": IMPORTANT}
GRADE_LABELS = (N_("核心"), N_("重要"), N_("一般-4级"), N_("一般-3级"), N_("一般-2级"), N_("一般-1级"))


def parse_grade(text: str | Grade | None) -> Grade | None:
    """A grade from its label (核心, 重要, 一般-3级, 一般3级) or English (core, general-3); None if not one."""
    if text is None or isinstance(text, Grade):
        return text
    raw = str(text).strip()
    if raw in (CORE, IMPORTANT):
        return Grade(raw)
    if raw.lower() in _ENGLISH:
        return Grade(_ENGLISH[raw.lower()])
    m = _GENERAL_RE.match(raw)
    return Grade(GENERAL, int(m.group(1))) if m else None


def highest(grades: Iterable[Grade | str | None]) -> Grade | None:
    """就高从严: the highest of the grades given (labels accepted); None if there are none."""
    best: Grade | None = None
    for g in grades:
        grade = parse_grade(g)
        if grade is not None and (best is None or grade > best):
            best = grade
    return best


def resource_grade(item_grades: Iterable[Grade | str | None]) -> Grade | None:
    """A resource's grade: the highest of its items' (就高从严); None while no item is graded."""
    return highest(item_grades)


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryRule:
    code: str
    name: str
    subject: str
    sensitive: bool
    impact_object: str
    impact_degree: str
    sublevel: int | None = None  # departs from the default sub-level of 一般 (reason in basis)
    basis: str = ""


@dataclass(frozen=True)
class GradingRules:
    impact: dict[str, dict[str, str]]
    sublevels: dict[str, int]
    categories: dict[str, CategoryRule]
    unrecognized: CategoryRule
    min_confidence: float
    name: str
    version: str
    basis: str
    source: str
    digest: str  # SHA-256 of the file: which rules a suggestion was made under
    known_categories: frozenset[str] = field(default_factory=frozenset)

    def sublevel_kind(self, rule: CategoryRule) -> str:
        if rule.subject == "个人":
            return SENSITIVE_PERSONAL if rule.sensitive else PERSONAL
        return ORG_INTERNAL if rule.subject == "组织" else PUBLIC

    def rule_for(self, category: str) -> CategoryRule:
        rule = self.categories.get(category)
        if rule is not None:
            return rule
        fallback = _catalogue_rule(category)
        if fallback is None:
            raise DomainError("category_unknown", "未知的数据类别“{value}”", value=category)
        return fallback

    def grade_of(self, rule: CategoryRule) -> Grade:
        level = self.impact[rule.impact_object][rule.impact_degree]
        if level != GENERAL:
            return Grade(level)
        return Grade(GENERAL, rule.sublevel or self.sublevels[self.sublevel_kind(rule)])

    def explain(self, category: str) -> dict[str, Any]:
        """Why a category gets its grade: subject, sensitivity, impact, default or own sub-level."""
        rule = self.rule_for(category)
        grade = self.grade_of(rule)
        return {"category": rule.code, "name": rule.name, "subject": rule.subject, "sensitive": rule.sensitive,
                "impact_object": rule.impact_object, "impact_degree": rule.impact_degree, "grade": grade.label,
                "sublevel_kind": self.sublevel_kind(rule) if grade.level == GENERAL else None,
                "basis": rule.basis}

    def grade_for(self, categories: Iterable[str]) -> Grade:
        """The grade of a field with these categories: the highest; unrecognised → [unrecognized]."""
        grades = [self.grade_of(self.rule_for(c)) for c in categories]
        return highest(grades) or self.grade_of(self.unrecognized)

    def valid_category(self, code: str) -> bool:
        return code in self.categories or code in self.known_categories


def _catalogue() -> dict[str, Any]:
    """The recognizers' category catalogue (classify/categories.py), when it is installed."""
    try:
        pass
    except ImportError:
        return {}
    return dict(CATEGORIES)


def _catalogue_rule(code: str) -> CategoryRule | None:
    """A category the rules file does not list is graded by its catalogue entry: subject and
    sensitivity, harm to the subject's own rights at degree 一般 (the lowest defensible reading)."""
    cat = _catalogue().get(code)
    if cat is None:
        return None
    subject = getattr(cat, "subject", "公共")
    obj = {"个人": "个人权益", "组织": "组织权益"}.get(subject, "公共利益")
    return CategoryRule(code, getattr(cat, "name_zh", code), subject, bool(getattr(cat, "sensitive", False)),
                        obj, "一般", None, "分类目录默认")


class GradingRulesInvalid(DomainError):
    """The rules file cannot be used: a deployment problem, reported with every fault at once."""

    status = 500
    title = "分级规则文件不合法"

    def __init__(self, path: str, errors: list[FieldError]) -> None:
        super().__init__("grading_rules_invalid", "分级规则文件不合法：{path}", errors=errors, path=path)


class _Checker:
    """Collects faults with the line each one is on (tomllib reports none for valid syntax)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.errors: list[FieldError] = []

    def line_of(self, *path: str) -> int:
        """The line of key path (table, sub-table..., key); its table's header when the key is absent."""
        header_line, section = 0, list(path)
        for cut in range(len(path), 0, -1):
            names = path[:cut]
            pattern = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(rf'"?{re.escape(n)}"?' for n in names) + r"\s*\]")
            for i, line in enumerate(self.lines):
                if pattern.match(line):
                    header_line, section = i + 1, list(path[cut:])
                    break
            if header_line:
                break
        if not header_line:
            return max(len(self.lines), 1)  # a table the file lacks: report its end, where it would go
        if not section:
            return header_line
        key = re.compile(rf'^\s*"?{re.escape(section[0])}"?\s*=')
        for i in range(header_line, len(self.lines)):  # from the line after the header
            line = self.lines[i]
            if re.match(r"^\s*\[", line):
                break  # the next table: the key is not in this one
            if key.match(line):
                return i + 1
        return header_line

    def add(self, path: tuple[str, ...], code: str, message: str, **params: Any) -> None:
        key = ".".join(path)
        self.errors.append(FieldError(key, code, message,
                                      {"line": self.line_of(*path), "key": key, **params}))


def _choice(chk: _Checker, path: tuple[str, ...], value: Any, allowed: tuple[str, ...], code: str) -> bool:
    if value not in allowed:
        chk.add(path, code, "第{line}行 {key}：未知的取值“{value}”，可选：{allowed}", value=str(value),
                allowed="、".join(allowed))
        return False
    return True


def _category(chk: _Checker, path: tuple[str, ...], raw: Any, *, need_name: bool = True) -> CategoryRule | None:
    if not isinstance(raw, dict):
        chk.add(path, "rules_table", "第{line}行 {key}：应为一个表（[{key}]）")
        return None
    ok = True
    for name in CATEGORY_FIELDS:
        if name not in raw and (need_name or name != "name"):
            chk.add((*path, name), "rules_missing", "第{line}行 {key}：缺少必填字段")
            ok = False
    subject, sensitive = raw.get("subject"), raw.get("sensitive", False)
    if "subject" in raw:
        ok &= _choice(chk, (*path, "subject"), subject, SUBJECTS, "rules_subject")
    if "sensitive" in raw and not isinstance(sensitive, bool):
        chk.add((*path, "sensitive"), "rules_type", "第{line}行 {key}：应为 true 或 false")
        ok = False
    elif sensitive and subject in SUBJECTS and subject != "个人":
        chk.add((*path, "sensitive"), "rules_sensitive", "第{line}行 {key}：只有个人信息才能是敏感个人信息")
        ok = False
    if "impact_object" in raw:
        ok &= _choice(chk, (*path, "impact_object"), raw["impact_object"], IMPACT_OBJECTS, "rules_impact_object")
    if "impact_degree" in raw:
        ok &= _choice(chk, (*path, "impact_degree"), raw["impact_degree"], IMPACT_DEGREES, "rules_impact_degree")
    sublevel = raw.get("sublevel")
    if sublevel is not None and (not isinstance(sublevel, int) or isinstance(sublevel, bool)
                                 or not 1 <= sublevel <= 4):
        chk.add((*path, "sublevel"), "rules_sublevel", "第{line}行 {key}：一般数据的子级应为1至4的整数")
        ok = False
    for key in raw:
        if key not in (*CATEGORY_FIELDS, "sublevel", "basis"):
            chk.add((*path, key), "rules_key", "第{line}行 {key}：未知的字段")
            ok = False
    if not ok:
        return None
    return CategoryRule(path[-1], str(raw.get("name", path[-1])), subject, bool(sensitive), raw["impact_object"],
                        raw["impact_degree"], sublevel, str(raw.get("basis", "")))


def parse_rules(text: str, source: str = "<rules>") -> GradingRules:
    """Validate and build the rules; GradingRulesInvalid lists every fault with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GradingRulesInvalid(source, [FieldError("toml", "rules_syntax", "无法解析：{detail}",
                                                      {"detail": str(exc)})]) from None
    chk = _Checker(text)
    known = frozenset(_catalogue())
    for top in data:
        if top not in ("meta", "impact", "sublevels", "unrecognized", "categories"):
            chk.add((top,), "rules_key", "第{line}行 {key}：未知的字段")

    meta = data.get("meta", {})
    min_conf = meta.get("min_confidence", 0.5)
    if not isinstance(min_conf, int | float) or isinstance(min_conf, bool) or not 0 <= min_conf <= 1:
        chk.add(("meta", "min_confidence"), "rules_confidence", "第{line}行 {key}：置信度阈值应为0至1之间的数")
        min_conf = 0.5

    impact: dict[str, dict[str, str]] = {}
    table = data.get("impact")
    if not isinstance(table, dict):
        chk.add(("impact",), "rules_missing", "第{line}行 {key}：缺少必填字段")
        table = {}
    for obj, row in table.items():
        if not _choice(chk, ("impact", obj), obj, IMPACT_OBJECTS, "rules_impact_object"):
            continue
        if not isinstance(row, dict):
            chk.add(("impact", obj), "rules_table", "第{line}行 {key}：应为一个表（[{key}]）")
            continue
        for degree, level in row.items():
            if _choice(chk, ("impact", obj, degree), degree, IMPACT_DEGREES, "rules_impact_degree") and \
                    _choice(chk, ("impact", obj, degree), level, LEVELS, "rules_level"):
                impact.setdefault(obj, {})[degree] = level
    for obj in IMPACT_OBJECTS:  # the table is complete: every object at every degree
        row = table.get(obj) if isinstance(table.get(obj), dict) else {}
        for degree in IMPACT_DEGREES:
            if degree not in row:
                chk.add(("impact", obj), "rules_impact_missing", "第{line}行 {key}：影响程度表缺少“{value}”",
                        value=f"{obj}/{degree}")

    sublevels: dict[str, int] = {}
    subs = data.get("sublevels")
    if not isinstance(subs, dict):
        chk.add(("sublevels",), "rules_missing", "第{line}行 {key}：缺少必填字段")
        subs = {}
    for kind, value in subs.items():
        if not _choice(chk, ("sublevels", kind), kind, SUBLEVEL_KINDS, "rules_sublevel_kind"):
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4:
            chk.add(("sublevels", kind), "rules_sublevel", "第{line}行 {key}：一般数据的子级应为1至4的整数")
        else:
            sublevels[kind] = value
    for kind in SUBLEVEL_KINDS:
        if kind not in subs:
            chk.add(("sublevels", kind), "rules_missing", "第{line}行 {key}：缺少必填字段")

    unrecognized = None
    if "unrecognized" not in data:
        chk.add(("unrecognized",), "rules_missing", "第{line}行 {key}：缺少必填字段")
    else:
        unrecognized = _category(chk, ("unrecognized",), data["unrecognized"], need_name=False)

    categories: dict[str, CategoryRule] = {}
    cats = data.get("categories", {})
    if not isinstance(cats, dict):
        chk.add(("categories",), "rules_table", "第{line}行 {key}：应为一个表（[{key}]）")
        cats = {}
    for code, raw in cats.items():
        if known and code not in known:
            chk.add(("categories", code), "rules_category",
                    "第{line}行 {key}：未知的数据类别“{value}”，可选：{allowed}", value=code,
                    allowed="、".join(sorted(known)))
            continue
        rule = _category(chk, ("categories", code), raw)
        if rule is not None:
            categories[code] = rule

    if chk.errors:
        raise GradingRulesInvalid(source, chk.errors)
    assert unrecognized is not None
    return GradingRules(
        impact=impact, sublevels=sublevels, categories=categories, unrecognized=unrecognized,
        min_confidence=float(min_conf), name=str(meta.get("name", "")), version=str(meta.get("version", "")),
        basis=str(meta.get("basis", "")), source=source,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(), known_categories=known,
    )


def rules_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_rules(path: str | Path | None = None) -> GradingRules:
    """Read and validate the rules file: `path`, else $YBZ_GRADING_RULES, else the shipped default."""
    target = rules_path(path)
    return parse_rules(read_text(target, GradingRulesInvalid, "rules_unreadable"), str(target))


_in_force = Reloading(load_rules)


def get_rules() -> GradingRules:
    """The rules in force, re-read when the file (or YBZ_GRADING_RULES) changes."""
    return _in_force.get(rules_path())


def grade_for(categories: Iterable[str], rules: GradingRules | None = None) -> Grade:
    """The grade of a field with these categories under the rules in force (highest wins)."""
    return (rules or get_rules()).grade_for(categories)
