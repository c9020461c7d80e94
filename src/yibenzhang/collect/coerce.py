"""Coercion of source values to item data types, as DuckDB SQL over the whole batch.

Each item yields a typed value expression and, for types that can fail, the raw value when it
failed (NULL otherwise); a row with any failure, or without a key item, is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..enums import DataType
from ..zone.service import COLUMN_TYPES, literal, quote

FULL_WIDTH = "０１２３４５６７８９．，－／：＋　"
HALF_WIDTH = "0123456789.,-/:+ "
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", "%Y.%m.%d"]
TIME_FORMATS = [f"{d} {t}" for d in DATE_FORMATS[:3] for t in ("%H:%M:%S", "%H:%M")] + \
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f", "%Y年%m月%d日%H时%M分%S秒"]
TRUE_WORDS = ["是", "y", "yes", "true", "t", "1", "对"]
FALSE_WORDS = ["否", "n", "no", "false", "f", "0", "错"]

# code: (reason zh, reason en)
REASONS = {
    "invalid_date": ("不是有效的日期", "not a valid date"),
    "invalid_datetime": ("不是有效的日期时间", "not a valid date and time"),
    "invalid_amount": ("不是有效的金额", "not a valid amount"),
    "invalid_number": ("不是有效的数值", "not a valid number"),
    "invalid_integer": ("不是有效的整数", "not a valid integer"),
    "invalid_logical": ("不是有效的逻辑值（是/否）", "not a valid yes/no value"),
    "key_missing": ("缺少主键信息项的值", "the key item has no value"),
}
CODE_BY_LETTER = {"D": "invalid_date", "T": "invalid_datetime", "Y": "invalid_amount", "N": "invalid_number",
                  "F": "invalid_number", "I": "invalid_integer", "L": "invalid_logical"}


def _list(values: list[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


def normalized(src: str, letter: str) -> str:
    text = f"CAST({src} AS VARCHAR)"
    if letter not in ("C", "M", "B"):
        text = f"translate({text}, {literal(FULL_WIDTH)}, {literal(HALF_WIDTH)})"
    return f"NULLIF(trim({text}), '')"


def typed(n: str, letter: str) -> str:
    """The typed value of normalized text `n` (NULL when it cannot be converted)."""
    if letter == "D":
        return f"CAST(try_strptime({n}, {_list(DATE_FORMATS + TIME_FORMATS)}) AS DATE)"
    if letter == "T":
        return f"try_strptime({n}, {_list(TIME_FORMATS + DATE_FORMATS)})"
    if letter == "Y":
        stripped = f"replace(replace(replace(replace(replace({n}, ',', ''), '¥', ''), '￥', ''), '元', ''), ' ', '')"
        return f"TRY_CAST({stripped} AS DECIMAL(18,2))"
    if letter in ("N", "F"):
        return f"TRY_CAST(replace({n}, ',', '') AS DOUBLE)"
    if letter == "I":
        return f"TRY_CAST(replace({n}, ',', '') AS BIGINT)"
    if letter == "L":
        return (f"CASE WHEN lower({n}) IN {tuple(TRUE_WORDS)} THEN true "
                f"WHEN lower({n}) IN {tuple(FALSE_WORDS)} THEN false END")
    return n


@dataclass(frozen=True)
class ItemSpec:
    """What coercion needs of a 信息项 (a plain copy, usable outside the DB session)."""

    name: str
    data_type: str
    required: bool = False
    is_key: bool = False

    @classmethod
    def of(cls, item: object) -> ItemSpec:
        return cls(item.name, item.data_type, bool(item.required), bool(item.is_key))  # type: ignore[attr-defined]


@dataclass
class Plan:
    """SQL of one ingest: the coerced table, the accepted rows and the rejects."""

    items: list[ItemSpec]
    mapping: dict[str, str]  # item name -> source column

    def letter(self, item: ItemSpec) -> str:
        dt = DataType.parse(item.data_type)
        return dt.letter if dt else "C"

    def fallible(self) -> list[ItemSpec]:
        return [i for i in self.items if i.name in self.mapping and self.letter(i) in CODE_BY_LETTER]

    def schema(self) -> dict[str, str]:
        return {i.name: COLUMN_TYPES[self.letter(i)] for i in self.items}

    def coerced_sql(self, source: str) -> str:
        """SELECT over `source` (a relation with the source columns and _row) giving each item
        typed, `_raw_<k>` for failed values, and `_bad`."""
        norm_cols = ["_row"]
        for k, item in enumerate(self.items):
            if item.name in self.mapping:
                norm_cols.append(f"{normalized(quote(self.mapping[item.name]), self.letter(item))} AS _n{k}")
        outer = ["_row"]
        bad = []
        for k, item in enumerate(self.items):
            ctype = COLUMN_TYPES[self.letter(item)]
            if item.name not in self.mapping:
                outer.append(f"CAST(NULL AS {ctype}) AS {quote(item.name)}")
                continue
            value = typed(f"_n{k}", self.letter(item))
            outer.append(f"{value} AS {quote(item.name)}")
            if self.letter(item) in CODE_BY_LETTER:
                outer.append(f"CASE WHEN _n{k} IS NOT NULL AND ({value}) IS NULL THEN _n{k} END AS _raw{k}")
                bad.append(f"_raw{k} IS NOT NULL")
            if item.is_key:
                bad.append(f"{quote(item.name)} IS NULL")
        flag = " OR ".join(bad) if bad else "false"
        return (f"SELECT *, ({flag}) AS _bad FROM (SELECT {', '.join(outer)} FROM "
                f"(SELECT {', '.join(norm_cols)} FROM {source}))")

    def accepted_sql(self, table: str) -> str:
        cols = ", ".join([*(quote(i.name) for i in self.items), "_row"])
        return f"SELECT {cols} FROM {table} WHERE NOT _bad"

    def stats_sql(self, table: str) -> str:
        parts = ["count(*) AS rows_read", "count(*) FILTER (WHERE _bad) AS rows_rejected"]
        for k, item in enumerate(self.items):
            if item in self.fallible():
                parts.append(f"count(_raw{k}) AS failed{k}")
                parts.append(f"count({quote(item.name)}) AS ok{k}")
        return f"SELECT {', '.join(parts)} FROM {table}"

    def rejects_sql(self, table: str) -> str:
        branches = []
        for k, item in enumerate(self.items):
            if item in self.fallible():
                code = CODE_BY_LETTER[self.letter(item)]
                zh, en = REASONS[code]
                branches.append(f"SELECT _row, {literal(item.name)} AS item, {literal(code)} AS code, "
                                f"{literal(zh)} AS reason, {literal(en)} AS reason_en, _raw{k} AS value "
                                f"FROM {table} WHERE _raw{k} IS NOT NULL")
            if item.is_key:
                zh, en = REASONS["key_missing"]
                failed = f" AND _raw{k} IS NULL" if item in self.fallible() else ""
                branches.append(f"SELECT _row, {literal(item.name)} AS item, 'key_missing' AS code, "
                                f"{literal(zh)} AS reason, {literal(en)} AS reason_en, NULL AS value "
                                f"FROM {table} WHERE {quote(item.name)} IS NULL{failed}")
        if not branches:
            return ("SELECT NULL::BIGINT AS _row, '' AS item, '' AS code, '' AS reason, '' AS reason_en, "
                    "'' AS value WHERE false")
        return f"SELECT * FROM ({' UNION ALL '.join(branches)}) ORDER BY _row, item"
