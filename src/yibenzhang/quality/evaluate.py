"""All rules of a batch in ONE statement (DESIGN rule 3).

One SELECT with one `count_if` (failed), one count (checked) and one bounded `min(_row, N)`
(sample failing row numbers) per rule. Uniqueness is a GROUP BY … HAVING count(*) > 1 sub-plan
and cross-resource references a DISTINCT sub-plan of the other resource's current state, both
LEFT JOINed into the same statement (each joins on keys that are unique on its side, so the row
count never changes). No query per rule, no Python per row.

Only row numbers (`_row`) leave this module, never values: results are stored and shown, and
rows hold personal data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .. import workdays
from ..plugins import rule_kinds
from ..zone import native
from ..zone.engine import Connection
from . import validators as V
from .rules import TEXT_TYPES, Rule

SAMPLE_ROWS = 5  # failing row numbers kept per rule
# Formats checked by the Python kernels: only the check digits, which cost seconds per million
# rows as SQL. Mobile numbers and date text are cheaper as native SQL (multi-threaded C++): a
# kernel runs under the GIL, one batch at a time (measured: 0.15 s less CPU per million rows).
KERNEL_FORMATS = frozenset({"id_card", "uscc", "bank_card"})


@dataclass
class RuleResult:
    rule: Rule
    checked: int
    failed: int
    samples: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.failed / self.checked if self.checked else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.rule.as_dict(), "checked": self.checked, "failed": self.failed,
                "rate": round(self.rate, 6), "samples": self.samples}


@dataclass
class Evaluation:
    rows: int
    results: list[RuleResult]
    seconds: float
    sql: str = field(repr=False, default="")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def blank_guard(c: str) -> str:
    """A cheap necessary condition for `trim(c) = ''`: empty, or the first character is one trim
    may strip (a space separator: U+0020 or U+00A0-U+3000; UTF-8 order is code point order).
    Unicode-aware trim is slow on Chinese text, and almost no value needs it."""
    return f"({c} < '!' OR ({c} >= '\u00a0' AND {c} < '\u3001'))"


def _bound(value: Any, letter: str) -> Any:
    """A range bound typed like its item: dates for D, datetimes for T, numbers otherwise."""
    if value is None or value == "":
        return None
    if letter == "D":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if letter == "T":
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return float(value)


class Builder:
    """What a rule kind writes its SQL with: the columns, values derived once per row, joins, and
    the engine functions registered on the connection (`udfs`)."""

    def __init__(self, columns: set[str], today: date, provinces: Iterable[str] | None,
                 divisions: Iterable[str] | None, sample_n: int, udfs: dict[str, str] | None = None) -> None:
        self.columns = columns
        self.udfs = udfs or {}
        self.today = today
        self.provinces = list(provinces or ())
        self.divisions = list(divisions) if divisions is not None else None
        self.sample_n = sample_n
        self.joins: list[str] = []
        self.derived: list[str] = []
        self.source = "src"  # what the uniqueness sub-plans read (see build_sql)
        self.checks: list[str] = []  # arguments of the one combined kernel call (udfs["checks"])

    def col(self, name: str, qualified: bool = True) -> str:
        if name not in self.columns:
            return "NULL"
        return f"t.{quote(name)}" if qualified else quote(name)

    def text(self, name: str, letter: str, qualified: bool = True) -> str:
        c = self.col(name, qualified)
        return c if letter in TEXT_TYPES and c != "NULL" else f"CAST({c} AS VARCHAR)"

    def derive(self, expr: str) -> str:
        """A value computed once per row in the source projection (DuckDB does not share a
        sub-expression repeated inside one CASE, and check digits reuse their integer 17-19 times)."""
        name = f"_d{len(self.derived)}"
        self.derived.append(f"{expr} AS {name}")
        return f"t.{name}"

    def rule(self, i: int, rule: Rule, ref_relation: str | None) -> tuple[str, str]:
        """(checked condition, failure condition) for one rule, as its kind writes them."""
        kind = rule_kinds().get(rule.kind)
        if kind is None:
            raise ValueError(f"unknown rule kind {rule.kind}")
        return kind.sql(self, i, rule, ref_relation)


# --- the built-in kinds' SQL (quality/plugin.py declares them) ---------------------------------
# Each gets the builder (its columns, derived values, joins and engine functions), the rule's index
# in the statement, the rule and, for references, the other resource's relation.


def _item(b: Builder, rule: Rule) -> tuple[str, str, str]:
    name, letter = rule.items[0], (rule.types[0] if rule.types else "C")
    return name, letter, b.col(name)


def sql_not_null(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    _name, letter, c = _item(b, rule)
    blank = f" OR ({blank_guard(c)} AND trim({c}) = '')" if letter in TEXT_TYPES and c != "NULL" else ""
    return "TRUE", f"({c} IS NULL{blank})"


def sql_unique(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    cols = [b.col(n) for n in rule.items]
    if "NULL" in cols:
        return "FALSE", "FALSE"
    keys = ", ".join(f"{quote(n)} AS _k{j}" for j, n in enumerate(rule.items))
    present = " AND ".join(f"{quote(n)} IS NOT NULL" for n in rule.items)
    on = " AND ".join(f"t.{quote(n)} = u{i}._k{j}" for j, n in enumerate(rule.items))
    b.joins.append(f"LEFT JOIN (SELECT {keys}, TRUE AS _hit FROM {b.source} WHERE {present} "
                   f"GROUP BY ALL HAVING count(*) > 1) AS u{i} ON {on}")
    return " AND ".join(f"{x} IS NOT NULL" for x in cols), f"u{i}._hit IS NOT NULL"


def sql_length(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    name, letter, c = _item(b, rule)
    return f"{c} IS NOT NULL", f"length({b.text(name, letter)}) > {int(rule.params['max'])}"


def sql_enum(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    name, letter, c = _item(b, rule)
    values = ", ".join(_lit(v) for v in rule.params["values"]) or "NULL"
    return f"{c} IS NOT NULL", f"{b.text(name, letter)} NOT IN ({values})"


def sql_regex(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    name, letter, c = _item(b, rule)
    return f"{c} IS NOT NULL", f"NOT regexp_full_match({b.text(name, letter)}, {_lit(rule.params['pattern'])})"


def sql_range(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    _name, letter, c = _item(b, rule)
    p = rule.params
    cast = {"D": "DATE", "T": "TIMESTAMP"}.get(letter, "DOUBLE")
    typed = f"TRY_CAST({c} AS {cast})"
    ok = V.sql_in_range(typed, _bound(p.get("min"), letter), _bound(p.get("max"), letter))
    return f"{c} IS NOT NULL", f"NOT coalesce({ok}, FALSE)"


def sql_format(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    name, letter, c = _item(b, rule)
    p = rule.params
    v = b.text(name, letter)
    fmt = p["format"]
    # Native functions first (C, inside DuckDB's threads); then the Python kernels, which
    # run in the source projection, on the flat vectors straight from the scan.
    if b.udfs.get("native") and fmt in V.NATIVE_FORMATS:
        if fmt == "id_card":
            x = b.derive(f"ybz_native_id_card({b.text(name, letter, qualified=False)})")
            ok = V.sql_native_id_card(x, today=b.today, provinces=b.provinces)
        else:
            ok = V.sql_native(fmt, v, lo=_bound(p.get("min"), "D"), hi=_bound(p.get("max"), "D"))
    elif fmt == "date_text" and "date_text" in b.udfs:
        ymd = b.derive(f"{b.udfs[fmt]}({b.text(name, letter, qualified=False)})")
        ok = V.sql_date_text_ymd(v, ymd, lo=_bound(p.get("min"), "D"), hi=_bound(p.get("max"), "D"))
    elif "checks" in b.udfs and fmt in KERNEL_FORMATS:
        b.checks.append(b.text(name, letter, qualified=False))
        ok = f"((t._checks & {1 << (len(b.checks) - 1)}) <> 0)"
    elif fmt in b.udfs:
        ok = b.derive(f"{b.udfs[fmt]}({b.text(name, letter, qualified=False)})")
    elif fmt == "phone":
        # Landlines first: the mobile test then runs only on what is left (OR skips rows
        # already true), natively and in parallel rather than a kernel over every row.
        ok = f"({V.sql_landline(v)} OR {V.sql_mobile(v)})"
    elif fmt == "id_card":
        body = b.derive(V.id_body_sql(b.text(name, letter, qualified=False)))
        ok = V.sql_id_card(v, today=b.today, provinces=b.provinces, body=body)
    elif fmt == "uscc":
        parts = [b.derive(x) for x in V.uscc_parts_sql(b.text(name, letter, qualified=False))]
        ok = V.sql_uscc(v, parts=parts)
    elif fmt == "bank_card":
        number = b.derive(V.bank_number_sql(b.text(name, letter, qualified=False)))
        ok = V.sql_bank_card(v, number=number)
    elif fmt == "division":
        # The regions table's codes only when the rule asks for them: data may name any
        # division of the country, the metadata store knows only this province's.
        known = b.divisions if p.get("regions_only") else None
        ok = V.sql_division(v, provinces=b.provinces, known=known)
    elif fmt == "date_text":
        ok = V.sql_date_text(v, lo=_bound(p.get("min"), "D"), hi=_bound(p.get("max"), "D"))
    else:
        ok = V.SQL[fmt](v)
    return f"{c} IS NOT NULL", f"NOT coalesce({ok}, FALSE)"


def sql_reference(b: Builder, i: int, rule: Rule, ref: str | None) -> tuple[str, str]:
    _name, _letter, c = _item(b, rule)
    if ref is None:
        raise ValueError(f"reference rule {rule.key} needs the other resource's relation")
    b.joins.append(f"LEFT JOIN (SELECT DISTINCT CAST({quote(rule.params['item'])} AS VARCHAR) AS _k "
                   f"FROM {ref}) AS r{i} ON CAST({c} AS VARCHAR) = r{i}._k")
    return f"{c} IS NOT NULL", f"r{i}._k IS NULL"


def build_sql(relation: str, columns: set[str], rules: list[Rule], *, references: dict[str, str] | None = None,
              today: date | None = None, provinces: Iterable[str] | None = None,
              divisions: Iterable[str] | None = None, sample_n: int = SAMPLE_ROWS,
              udfs: dict[str, str] | None = None) -> str:
    """The one statement: the row count, then checked/failed/samples per rule.

    Each rule's conditions are computed once per row in the `flags` projection; the aggregate
    only counts them (a condition written in both count_if and a FILTER would run twice).
    `udfs` (format → function from `validators.register_udfs`) replaces those formats' portable
    SQL with the vectorized kernels registered on the connection that will run the statement."""
    b = Builder(columns, today or workdays.today(), provinces, divisions, sample_n, udfs)
    if relation.lstrip().lower().startswith("read_parquet("):
        # Re-reading a key column from Parquet costs less than keeping every column of `src`
        # (kernel results included) for a second consumer; a computed relation (the current
        # state's window) is not computed twice.
        b.source = relation
    has_row = "_row" in columns
    flags = ["t._row AS _row" if has_row else "NULL AS _row"]
    counts, samples, out = ["count(*) AS _rows"], [], ["_rows"]
    for i, rule in enumerate(rules):
        checked, fail = b.rule(i, rule, (references or {}).get(rule.key))
        guard = f"coalesce({fail}, FALSE)"
        if rule_kinds()[rule.kind].skips_null and b.col(rule.items[0]) != "NULL":
            guard = f"({b.col(rule.items[0])} IS NOT NULL AND {guard})"
        flags.append(f"coalesce({checked}, FALSE) AS _c{i}")
        flags.append(f"{guard} AS _f{i}")
        counts += [f"count_if(_c{i}) AS c{i}", f"count_if(_f{i}) AS f{i}"]
        samples.append(f"min(_row, {sample_n}) FILTER (WHERE _f{i}) AS s{i}" if has_row and sample_n
                       else f"NULL AS s{i}")
        out += [f"c{i}", f"f{i}", f"s{i}"]
    if b.checks:
        b.derived.append(f"{udfs['checks']}({', '.join(b.checks)}) AS _checks")  # type: ignore[index]
    derived = "".join(f", {d}" for d in b.derived)
    joins = "\n".join(b.joins)
    # `flags` has two consumers: DuckDB inlines such a CTE unless told (it did for rule sets
    # without a uniqueness join), which computes every condition twice (+1.4 s CPU per million rows).
    # Sample row numbers come from the failing rows only: a filtered aggregate over every row
    # costs as much as all the counts together, and failing rows are few.
    any_failed = " OR ".join(f"_f{i}" for i in range(len(rules))) or "FALSE"
    return (f"WITH src AS (SELECT *{derived} FROM {relation}),\n"
            f"flags AS MATERIALIZED (SELECT {', '.join(flags)} FROM src AS t\n{joins}),\n"
            f"counts AS (SELECT {', '.join(counts)} FROM flags),\n"
            # an aggregate, so one row even with no rules (a plain projection over no failing
            # rows gave none, and the cross join with `counts` then had no row at all)
            f"samples AS (SELECT {', '.join(samples) or 'count(*) AS _none'} FROM flags WHERE {any_failed})\n"
            f"SELECT {', '.join(out)} FROM counts, samples")


def relation_columns(con: Connection, relation: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}


def evaluate(con: Connection, relation: str, rules: list[Rule], *,
             references: dict[str, str] | None = None, today: date | None = None,
             provinces: Iterable[str] | None = None, divisions: Iterable[str] | None = None,
             sample_n: int = SAMPLE_ROWS, vectorized: bool = True) -> Evaluation:
    """Run every rule over `relation` (a DuckDB table expression) in one statement. Formats are
    checked by the native functions when `con` can load them (zone.native), else check digits by
    the Python kernels (registered on `con`, see KERNEL_FORMATS); `vectorized=False` uses portable
    SQL only, as Spark would run it."""
    started = time.perf_counter()
    columns = relation_columns(con, relation)
    udfs = None
    if vectorized and native.load(con):
        udfs = {"native": "1"}
    elif vectorized:
        # One call for every check-digit column, in rule order (as the builder meets them).
        formats = tuple(r.params["format"] for r in rules if r.kind == "format"
                        and r.params.get("format") in KERNEL_FORMATS and r.items[0] in columns)
        udfs = {"checks": V.register_checks(con, formats, today=today, provinces=provinces)} if formats else {}
    sql = build_sql(relation, columns, rules, references=references, today=today, provinces=provinces,
                    divisions=divisions, sample_n=sample_n, udfs=udfs)
    rows = con.execute(sql).fetchall()  # all, not fetchone: DuckDB 2 holds an unfinished result open
    return from_row(rows[0] if rows else None, rules, time.perf_counter() - started, sql)


def from_row(row: Any, rules: list[Rule], seconds: float, sql: str) -> Evaluation:
    """The statement's one row (rows, then checked/failed/samples per rule), whichever engine
    ran it (an empty sample list is NULL on DuckDB, [] on Spark: both mean none)."""
    if row is None:  # cannot happen (both parts are aggregates); never publish, then crash, on it
        raise RuntimeError("the quality statement returned no row")
    results = [
        RuleResult(rule, int(row[1 + 3 * i] or 0), int(row[2 + 3 * i] or 0),
                   sorted(int(x) for x in (row[3 + 3 * i] or [])))
        for i, rule in enumerate(rules)
    ]
    return Evaluation(int(row[0]), results, seconds, sql)
