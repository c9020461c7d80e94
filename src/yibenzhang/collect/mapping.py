"""Source columns → resource items: an explicit --map, then the item name (exact, then
normalized: whitespace, full-width forms, case), then the resource's saved mapping. Missing
required items and unknown columns are reported together, before anything is read."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..errors import ErrorBag

IGNORE = "-"  # `--map 源列=-` leaves a source column out
_SPACE = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(name))).lower()


def resolve(items: list[Any], columns: list[str], *, explicit: dict[str, str] | None = None,
            saved: dict[str, str] | None = None) -> dict[str, str]:
    """{item name: source column}. Raises ValidationFailed with one field error per problem."""
    bag = ErrorBag()
    names = {i.name for i in items}
    by_norm = {normalize_name(i.name): i.name for i in items}
    explicit = explicit or {}
    saved = saved or {}
    taken: dict[str, str] = {}
    for source, item in explicit.items():
        if item != IGNORE and item not in names:
            bag.add(f"map.{source}", "mapping_item_unknown", "映射的目标信息项“{item}”不存在", item=item)
        if source not in columns:
            bag.add(f"map.{source}", "mapping_column_unknown", "映射的源列“{column}”不在文件中", column=source)
    for column in columns:
        if column == "_row":
            continue
        target = explicit.get(column)
        if target is None:
            if column in names:
                target = column
            elif normalize_name(column) in by_norm:
                target = by_norm[normalize_name(column)]
            elif column in saved:
                target = saved[column]
        if target == IGNORE or (target is not None and target not in names):
            continue
        if target is None:
            bag.add(f"columns.{column}", "column_unknown",
                    "源列“{column}”不对应任何信息项（用 --map 源列=信息项 映射，或 源列=- 忽略）", column=column)
        elif target in taken:
            bag.add(f"columns.{column}", "column_duplicate", "源列“{column}”与“{other}”都对应信息项“{item}”",
                    column=column, other=taken[target], item=target)
        else:
            taken[target] = column
    for item in items:
        if item.required and item.name not in taken:
            bag.add(f"items.{item.name}", "item_missing", "缺少必填信息项“{item}”", item=item.name)
    bag.raise_if_any("mapping_invalid")
    return taken


def parse_map(pairs: list[str] | None) -> dict[str, str]:
    """`--map 源列=信息项` options as a dict."""
    bag = ErrorBag()
    out: dict[str, str] = {}
    for pair in pairs or []:
        source, sep, item = pair.partition("=")
        if not sep or not source.strip() or not item.strip():
            bag.add("map", "mapping_syntax", "映射应写作 源列=信息项：{value}", value=pair)
            continue
        out[source.strip()] = item.strip()
    bag.raise_if_any("mapping_invalid")
    return out


# --- suggestions for the console's mapping step (issue 15) --------------------------------------

_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff]+")


def _key(name: str) -> str:
    """A name without case, width, spaces or punctuation: `身份证_号 ` and `身份证号` match."""
    return _NOT_WORD.sub("", normalize_name(name))


def pinyin_keys(name: str) -> set[str]:
    """The initials and the whole pinyin of an item name (姓名 → xm, xingming), as departments
    name columns in systems that do not take Chinese identifiers."""
    from pypinyin import Style, lazy_pinyin

    text = normalize_name(name)
    initials = "".join(p[:1] for p in lazy_pinyin(text, style=Style.FIRST_LETTER))
    whole = "".join(lazy_pinyin(text))
    return {_key(initials), _key(whole)} - {""}


def suggest(items: list[Any], columns: list[str], saved: dict[str, str] | None = None) -> dict[str, str | None]:
    """{source column: suggested item or None}: the saved mapping first (what the steward chose
    last time, `-` for a column left out), then the name, the normalized name, pinyin initials or
    whole pinyin, then one name containing the other. Each item is suggested for one column at most."""
    saved = saved or {}
    names = [i.name for i in items]
    by_key = {_key(n): n for n in names}
    by_pinyin: dict[str, str] = {}
    for n in names:
        for k in pinyin_keys(n):
            by_pinyin.setdefault(k, n)
    out: dict[str, str | None] = {}
    taken: set[str] = set()

    def take(column: str, item: str | None) -> bool:
        if item is None or (item != IGNORE and (item not in names or item in taken)):
            return False
        out[column] = item
        if item != IGNORE:
            taken.add(item)
        return True

    rules = [
        lambda c: saved.get(c),
        lambda c: c if c in names else None,
        lambda c: by_key.get(_key(c)),
        lambda c: by_pinyin.get(_key(c)),
        lambda c: next((n for n in names if _key(c) and (_key(n) in _key(c) or _key(c) in _key(n))), None),
    ]
    pending = [c for c in columns if c != "_row"]
    for rule in rules:  # strongest evidence first over every column, so a weak match never takes an item
        for column in [c for c in pending if c not in out]:
            take(column, rule(column))
    return {c: out.get(c) for c in pending}
