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
