"""Quality rules: derived from the catalogue automatically, plus the ones stewards add.

A rule is plain data (kind, items, parameters, dimension); evaluate.py turns all rules of a
resource into one SQL statement. The catalogue gives: required → 非空, type C with a length →
长度, enumeration → 枚举, and a format recognised from the item's name or its format field
(身份证号 → GB 11643, 统一社会信用代码 → GB 32100, 手机 → mobile, 联系电话 → phone, 银行卡/账号 →
Luhn, 行政区划代码 → GB/T 2260, 邮箱 → e-mail, a date pattern on a text item → date text).
Stewards add uniqueness over any item set, ranges, regular expressions and cross-resource
references (a semi-join against another resource's current state).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..enums import ChineseEnum, DataType
from ..i18n import N_

KINDS = ("not_null", "length", "enum", "format", "regex", "range", "unique", "reference")
# Kinds a steward may add by hand (the others come from the catalogue, but may be added too).
STEWARD_KINDS = KINDS


class Dimension(ChineseEnum):
    """Quality dimensions (DOMAIN §3: 准确/完整/及时, with GB/T 36344's 一致性 and 唯一性)."""

    ACCURACY = "准确性"
    COMPLETENESS = "完整性"
    TIMELINESS = "及时性"
    CONSISTENCY = "一致性"
    UNIQUENESS = "唯一性"


KIND_DIMENSION = {
    "not_null": Dimension.COMPLETENESS, "length": Dimension.CONSISTENCY, "enum": Dimension.ACCURACY,
    "format": Dimension.ACCURACY, "regex": Dimension.ACCURACY, "range": Dimension.ACCURACY,
    "unique": Dimension.UNIQUENESS, "reference": Dimension.CONSISTENCY,
}

# Item-name (or format-field) words and the format they imply, most specific first.
FORMAT_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    ((N_("身份证号"), "公民身份号码", "身份证件号码", "身份证号码"), "id_card"),
    ((N_("统一社会信用代码"), "社会信用代码"), "uscc"),
    ((N_("行政区划代码"), "区划代码"), "division"),
    (("银行卡", "银行账号", "账号", "卡号"), "bank_card"),
    (("手机",), "mobile"),
    ((N_("联系电话"), "电话"), "phone"),
    (("邮箱", "电子邮件", "email", "e-mail"), "email"),
)
DATE_PATTERN = re.compile(r"YYYY|yyyy|年.*月.*日")
TEXT_TYPES = {"C", "M"}


@dataclass(frozen=True)
class Rule:
    key: str  # stable within a resource: "not_null:姓名", "steward:12"
    kind: str
    items: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    dimension: str = Dimension.ACCURACY.value
    source: str = "catalogue"  # or "steward"
    rule_id: int | None = None  # the steward rule's row
    types: tuple[str, ...] = ()  # data type letters of the items, in order

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "items": list(self.items), "params": self.params,
                "dimension": self.dimension, "source": self.source, "rule_id": self.rule_id}


def item_letter(data_type: str | None) -> str:
    if data_type in DataType.values():
        return DataType(data_type).letter
    return data_type if data_type in DataType.__members__ else "C"


def format_of(name: str, fmt: str | None, letter: str) -> str | None:
    """The named format an item must follow, judged by its format field first, then its name."""
    for text in (fmt or "", name):
        low = text.lower()
        for words, kind in FORMAT_WORDS:
            if any(w in low for w in words):
                return kind
    if fmt and letter in TEXT_TYPES and DATE_PATTERN.search(fmt):
        return "date_text"
    return None


def catalogue_rules(items: list[Any]) -> list[Rule]:
    """Rules implied by a resource's items (ResourceItem rows or dicts with the same keys)."""
    rules: list[Rule] = []
    for it in items:
        get = it.get if isinstance(it, dict) else lambda k, _it=it: getattr(_it, k)
        name, letter = get("name"), item_letter(get("data_type"))
        one = (name,)
        if get("required") or get("is_key"):
            rules.append(Rule(f"not_null:{name}", "not_null", one, {}, Dimension.COMPLETENESS.value, types=(letter,)))
        if letter == "C" and get("length"):
            rules.append(Rule(f"length:{name}", "length", one, {"max": int(get("length"))},
                              Dimension.CONSISTENCY.value, types=(letter,)))
        if get("enumeration"):
            rules.append(Rule(f"enum:{name}", "enum", one, {"values": [str(v) for v in get("enumeration")]},
                              Dimension.ACCURACY.value, types=(letter,)))
        fmt = format_of(name, get("format"), letter)
        if fmt:
            rules.append(Rule(f"format:{name}", "format", one, {"format": fmt}, Dimension.ACCURACY.value,
                              types=(letter,)))
    keys = [it.get("name") if isinstance(it, dict) else it.name for it in items
            if (it.get("is_key") if isinstance(it, dict) else it.is_key)]
    if keys:
        letters = tuple(item_letter(it.get("data_type") if isinstance(it, dict) else it.data_type) for it in items
                        if (it.get("is_key") if isinstance(it, dict) else it.is_key))
        rules.append(Rule("unique:key", "unique", tuple(keys), {}, Dimension.UNIQUENESS.value, types=letters))
    return rules
