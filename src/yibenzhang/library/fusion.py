"""The fusion plan: one set of SQL statements (DuckDB dialect; transpiled for Spark) that turns
the contributing resources' live rows into one row per entity.

Relations: `src_<i>` is source i's live state (its columns typed by the catalogue); for an
incremental run, `new_<j>` is one newly published batch of a source. Steps (views or tables):

- `keyed_<i>`: each source row with its key normalised and checked (`keys.key_steps`), its raw
  key and its mapped values as text (trimmed; typed items through their canonical type); in an
  incremental run only the rows whose raw key could be a touched one (`keys.could_be`) are
  normalised, and only the touched keys kept;
- `dups_<i>`, `best_<i>`: one row per valid key of source i with, per item it gives (and is in the
  item's order), the source's latest non-empty value (collected at, batch, row) — a key on one
  row taken as it is, a key on several by arg_max — with its batch, row, raw key and staleness;
- `wide`: one row per entity, the sources' best values side by side (full outer joins on the
  key, as a plain join-and-pick would) and per item the fused one: the first source of the
  item's order with a value, fresh values before stale ones.

(Until issue 21's speed work this was a long form — one row per entity, item and source — with
two windows and a pivot: the same results, several times slower.)

Outputs: `data` (one row per entity: key, each item typed, and per item its provenance
`<item>__source` resource id, `<item>__batch`, `<item>__at`), `conflicts` (every source value
that differs from the fused value), `rejects` (rows whose key was refused, with the code; the
step `rejected`, taken before the keyed rows are reduced, so that an engine can free them) and
`counts` (per source and item: values compared with the fused one, and how many differ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..zone import port as P
from ..zone.duck import quote
from . import keys
from .definition import Item, Resolved

TEXT_TYPES = ("C", "M", "B")
PROVENANCE = ("source", "batch", "at")
ROW_SPAN = 1 << 40  # rows of a batch: a row's order key in its source is batch rank × ROW_SPAN + row


def prov(item: str, part: str) -> str:
    return f"{item}__{part}"


def _s(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ts(at: datetime) -> str:
    return f"CAST({_s(at.strftime('%Y-%m-%d %H:%M:%S.%f'))} AS TIMESTAMP)"


@dataclass
class Plan:
    relations: dict[str, P.LiveState]
    steps: list[tuple[str, str]]
    outputs: dict[str, str]
    counts: str
    columns: dict[str, str] = field(default_factory=dict)  # data file columns -> zone column type
    # steps read once, by the next: an engine that evaluates a nested select's columns once (DuckDB
    # does not merge projections) may leave them as views; one that inlines them (Spark) should not
    inline: set[str] = field(default_factory=set)


def value_sql(column: str, letter: str) -> str:
    if letter in TEXT_TYPES:
        return f"NULLIF(trim(CAST({quote(column)} AS VARCHAR)), '')"
    return f"CAST(TRY_CAST({quote(column)} AS {P.COLUMN_TYPES[letter]}) AS VARCHAR)"


def build(r: Resolved, states: dict[int, P.LiveState], collected: dict[int, datetime], *, today: date,
          now: datetime, new_parts: list[tuple[int, P.LiveState]] | None = None) -> Plan:
    """The plan of a full fusion, or (new_parts given) of the entities those batches touch."""
    relations: dict[str, P.LiveState] = {f"src_{s.index}": states[s.index] for s in r.sources}
    steps: list[tuple[str, str]] = []
    inline: set[str] = set()

    def keyed(name: str, rel: str, s_index: int, only: bool = False) -> None:
        s = r.sources[s_index]
        mine = [i for i in r.items if i.name in s.items]
        cols = [f"CAST({quote(s.key)} AS VARCHAR) AS _raw", "_batch", "_row"]
        cols += [f"{value_sql(s.items[i.name], i.data_type)} AS _v{i.index}" for i in mine]
        keep = ("_raw", "_batch", "_row", *(f"_v{i.index}" for i in mine))
        source, where = rel, ""
        if only:  # an incremental run normalises and checks the touched keys' rows only
            source = f"(SELECT * FROM {rel} WHERE {keys.could_be(quote(s.key), r.kind, 'touched')}) AS _p"
            where = "_k IN (SELECT _k FROM touched)"
        prev = ""
        for suffix, sql in keys.key_steps(quote(s.key), r.kind, today, source, ", ".join(cols), where, keep):
            steps.append((name + suffix, sql.replace("{prev}", prev)))
            prev = name + suffix
        inline.add(f"{name}_n")

    if new_parts is not None:  # the touched entities first: the sources are then cut to them
        for j, (s_index, state) in enumerate(new_parts):
            relations[f"new_{j}"] = state
            keyed(f"newkeyed_{j}", f"new_{j}", s_index)
        union = " UNION ".join(f"SELECT _k FROM newkeyed_{j} WHERE _code IS NULL" for j in range(len(new_parts)))
        steps.append(("touched", f"SELECT DISTINCT _k FROM ({union}) AS _t" if new_parts else
                      "SELECT CAST(NULL AS VARCHAR) AS _k WHERE false"))
    for s in r.sources:
        keyed(f"keyed_{s.index}", f"src_{s.index}", s.index, new_parts is not None)

    rid = {s.index: str(s.resource_id) for s in r.sources}
    # the rejects taken before the keyed rows are reduced: an engine can then free those
    rejected = ([(f"newkeyed_{j}", s_index) for j, (s_index, _) in enumerate(new_parts)] if new_parts is not None
                else [(f"keyed_{s.index}", s.index) for s in r.sources])
    rej = [f"SELECT CAST({rid[s]} AS BIGINT) AS source_resource_id, CAST(_batch AS BIGINT) AS source_batch, "
           f"CAST(_row AS BIGINT) AS source_row, _raw AS source_key, _code AS code FROM {name} "
           f"WHERE _code IS NOT NULL" for name, s in rejected]
    steps.append(("rejected", " UNION ALL ".join(rej) if rej else (
        "SELECT CAST(NULL AS BIGINT) AS source_resource_id, CAST(NULL AS BIGINT) AS source_batch, "
        "CAST(NULL AS BIGINT) AS source_row, CAST(NULL AS VARCHAR) AS source_key, "
        "CAST(NULL AS VARCHAR) AS code WHERE false")))
    compared = {s.index: [i for i in r.items if i.name in s.items and s.index in i.order] for s in r.sources}
    for s in r.sources:
        _best(r, s.index, states[s.index], compared[s.index], collected, now, steps)
    steps.append(("wide", _wide(r, compared)))
    at = {b: _ts(t) for b, t in sorted(collected.items())}

    columns = {r.key: "VARCHAR"}
    data = [f"_k AS {quote(r.key)}"]
    for i in r.items:
        t = P.COLUMN_TYPES[i.data_type]
        data += [f"CAST(_fv{i.index} AS {t}) AS {quote(i.name)}",
                 f"CAST({_case(f'_fs{i.index}', rid, 'NULL')} AS BIGINT) AS {quote(prov(i.name, 'source'))}",
                 f"CAST(_fb{i.index} AS BIGINT) AS {quote(prov(i.name, 'batch'))}",
                 f"CAST({_case(f'_fb{i.index}', at, 'NULL')} AS TIMESTAMP) AS {quote(prov(i.name, 'at'))}"]
        columns.update({i.name: t, prov(i.name, "source"): "BIGINT", prov(i.name, "batch"): "BIGINT",
                        prov(i.name, "at"): "TIMESTAMP"})
    data.append("CAST(row_number() OVER (ORDER BY _k) AS BIGINT) AS _row")
    outputs = {"data": f"SELECT {', '.join(data)} FROM wide"}
    pairs = [(s.index, i) for s in r.sources for i in compared[s.index]]

    def other(s: int, n: int, t: str = "") -> str:  # source s has a value of item n, another source's was fused
        return f"{t}_s{s}v{n} IS NOT NULL AND {t}_fs{n} <> {s}"

    conflicts = [  # the raw key and row from the source's best row (for the few conflicts: wide stays narrow)
        f"SELECT f._k AS entity, {_s(i.name)} AS item, CAST({rid[s]} AS BIGINT) AS source_resource_id, "
        f"b._w{i.index} AS source_key, f._s{s}v{i.index} AS value, "
        f"CAST(f._s{s}b{i.index} AS BIGINT) AS source_batch, "
        f"CAST(b._r{i.index} AS BIGINT) AS source_row, f._fv{i.index} AS fused_value, "
        f"CAST({_case(f'f._fs{i.index}', rid, 'NULL')} AS BIGINT) AS fused_resource_id FROM wide AS f "
        f"JOIN best_{s} AS b ON b._k = f._k "
        f"WHERE {other(s, i.index, 'f.')} AND f._s{s}v{i.index} <> f._fv{i.index}"
        for s, i in pairs]
    outputs["conflicts"] = " UNION ALL ".join(conflicts) if conflicts else (
        "SELECT CAST(NULL AS VARCHAR) AS entity, CAST(NULL AS VARCHAR) AS item, CAST(NULL AS BIGINT) AS "
        "source_resource_id, CAST(NULL AS VARCHAR) AS source_key, CAST(NULL AS VARCHAR) AS value, CAST(NULL AS "
        "BIGINT) AS source_batch, CAST(NULL AS BIGINT) AS source_row, CAST(NULL AS VARCHAR) AS fused_value, "
        "CAST(NULL AS BIGINT) AS fused_resource_id WHERE false")
    outputs["rejects"] = "SELECT * FROM rejected ORDER BY source_resource_id, source_batch, source_row"
    counts = " UNION ALL ".join(  # only the pairs with something compared, as a GROUP BY would give
        f"SELECT CAST({s} AS BIGINT) AS _src, CAST({i.index} AS BIGINT) AS _item, count(*) AS compared, "
        f"sum(CASE WHEN _s{s}v{i.index} <> _fv{i.index} THEN 1 ELSE 0 END) AS conflicts FROM wide "
        f"WHERE {other(s, i.index)} HAVING count(*) > 0" for s, i in pairs) or (
        "SELECT CAST(NULL AS BIGINT) AS _src, CAST(NULL AS BIGINT) AS _item, CAST(NULL AS BIGINT) AS compared, "
        "CAST(NULL AS BIGINT) AS conflicts WHERE false")
    return Plan(relations, steps, outputs, counts, columns, inline)


def _best(r: Resolved, index: int, state: P.LiveState, items: list[Item], collected: dict[int, datetime],
          now: datetime, steps: list[tuple[str, str]]) -> None:
    """`best_<i>`: one row per valid key of source i with, per item it gives, the source's latest
    non-empty value (latest batch by collection time, then batch id, then row) and that value's
    batch, row, raw key and (items with a freshness rule) staleness. A key on
    one row only (nearly all) is taken as it is; the few on several rows (`dups_<i>`) are reduced
    by arg_max over the batch's rank and the row."""
    src, dups = f"keyed_{index}", f"dups_{index}"
    batches = sorted({p.batch_id for p in state.parts})
    ranked = sorted(batches, key=lambda b: (collected.get(b) is not None, collected.get(b) or datetime.min, b))
    rank = _case("_batch", {b: str(n + 1) for n, b in enumerate(ranked)}, "NULL")
    steps.append((dups, f"SELECT _k FROM {src} WHERE _code IS NULL GROUP BY _k HAVING count(*) > 1"))
    single = ["x._k AS _k"] + [f"x._v{i.index} AS _v{i.index}, x._batch AS _b{i.index}, x._row AS _r{i.index}, "
                               f"x._raw AS _w{i.index}" for i in items]
    aggs = ["_k"] + [f"arg_max(struct_pack(v := _v{i.index}, b := _batch, r := _row, w := _raw), CASE WHEN "
                     f"_v{i.index} IS NOT NULL THEN {rank} * {ROW_SPAN} + _row END) AS _x{i.index}" for i in items]
    several = ["_k"] + [f"_x{i.index}.v, _x{i.index}.b, _x{i.index}.r, _x{i.index}.w" for i in items]
    union = (f"SELECT {', '.join(single)} FROM {src} AS x LEFT JOIN {dups} AS d ON x._k = d._k "
             f"WHERE x._code IS NULL AND d._k IS NULL UNION ALL SELECT {', '.join(several)} FROM "
             f"(SELECT {', '.join(aggs)} FROM {src} WHERE _code IS NULL AND _k IN (SELECT _k FROM {dups}) "
             f"GROUP BY _k) AS _g")
    cols = ["_k"]
    for i in items:
        n = i.index
        cols += [f"_v{n}", f"_b{n}", f"_r{n}", f"_w{n}"]
        if i.fresh_days:  # a value collected before the freshness limit is stale (an unknown time is not)
            limit = now - timedelta(days=i.fresh_days)
            stale = {b: "1" for b in batches if b in collected and collected[b] < limit}
            cols.append(f"{_case(f'_b{n}', stale, '0')} AS _t{n}")
    steps.append((f"best_{index}", f"SELECT {', '.join(cols)} FROM ({union}) AS _u"))


def _wide(r: Resolved, compared: dict[int, list[Item]]) -> str:
    """One row per entity: every source's best values side by side (full outer joins on the key)
    and per item the fused one: the first source of the item's order with a value, fresh values
    before stale ones (`_fs`: its index, `_fv`, `_fb`: value, batch)."""
    srcs = [s.index for s in r.sources]
    cols = [f"coalesce({', '.join(f'b{s}._k' for s in srcs)}) AS _k"]
    for s in srcs:
        for i in compared[s]:
            cols += [f"b{s}.{c}{i.index} AS _s{s}{c[1]}{i.index}" for c in ("_v", "_b")]
            if i.fresh_days:
                cols.append(f"b{s}._t{i.index} AS _s{s}t{i.index}")
    joined = f"best_{srcs[0]} AS b{srcs[0]}"
    for n, s in enumerate(srcs[1:], start=1):
        on = f"coalesce({', '.join(f'b{p}._k' for p in srcs[:n])})" if n > 1 else f"b{srcs[0]}._k"
        joined += f" FULL OUTER JOIN best_{s} AS b{s} ON b{s}._k = {on}"
    first, pick = [], []
    for i in r.items:
        order = [s for s in i.order if i in compared.get(s, [])]
        whens = [f"WHEN _s{s}v{i.index} IS NOT NULL AND _s{s}t{i.index} = 0 THEN {s}" for s in order] \
            if i.fresh_days else []
        whens += [f"WHEN _s{s}v{i.index} IS NOT NULL THEN {s}" for s in order]
        first.append(f"CASE {' '.join(whens)} ELSE NULL END AS _fs{i.index}" if whens
                     else f"CAST(NULL AS BIGINT) AS _fs{i.index}")
        for c, t in (("v", "VARCHAR"), ("b", "BIGINT")):
            pick.append(_case(f"_fs{i.index}", {s: f"_s{s}{c}{i.index}" for s in order}, f"CAST(NULL AS {t})")
                        + f" AS _f{c}{i.index}")
    inner = f"SELECT {', '.join(cols)} FROM {joined}"
    return f"SELECT *, {', '.join(pick)} FROM (SELECT *, {', '.join(first)} FROM ({inner}) AS _j) AS _p"


def _case(expr: str, mapping: dict[int, str], default: str) -> str:
    if not mapping:
        return default
    return f"CASE {expr} " + " ".join(f"WHEN {k} THEN {v}" for k, v in mapping.items()) + f" ELSE {default} END"
