"""The fusion plan: one set of SQL statements (DuckDB dialect; transpiled for Spark) that turns
the contributing resources' live rows into one row per entity.

Relations: `src_<i>` is source i's live state (its columns typed by the catalogue); for an
incremental run, `new_<j>` is one newly published batch of a source. Steps (views or tables):

- `keyed_<i>`: each source row with its key normalised and checked (`keys.key_layers`), its raw
  key and its mapped values as text (trimmed; typed items through their canonical type);
- `cand`: the long form (entity, item, source, value, batch, row, collected at) of every valid
  key's non-empty value — only touched entities in an incremental run — with the item's order
  position of the source (`_pos`) and whether the value is stale (`_stale`, the freshness rule);
- `best`: per entity, item and source, the source's latest value (collected at, batch, row);
- `chosen`: per entity and item, the first by (not stale, order position): the fused value.

Outputs: `data` (one row per entity: key, each item typed, and per item its provenance
`<item>__source` resource id, `<item>__batch`, `<item>__at`), `conflicts` (every source value
that differs from the fused value), `rejects` (rows whose key was refused, with the code) and
`counts` (per source and item: values compared with the fused one, and how many differ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..zone import port as P
from ..zone.duck import quote
from . import keys
from .definition import Resolved

TEXT_TYPES = ("C", "M", "B")
PROVENANCE = ("source", "batch", "at")


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


def value_sql(column: str, letter: str) -> str:
    if letter in TEXT_TYPES:
        return f"NULLIF(trim(CAST({quote(column)} AS VARCHAR)), '')"
    return f"CAST(TRY_CAST({quote(column)} AS {P.COLUMN_TYPES[letter]}) AS VARCHAR)"


def build(r: Resolved, states: dict[int, P.LiveState], collected: dict[int, datetime], *, today: date,
          now: datetime, new_parts: list[tuple[int, P.LiveState]] | None = None) -> Plan:
    """The plan of a full fusion, or (new_parts given) of the entities those batches touch."""
    relations: dict[str, P.LiveState] = {f"src_{s.index}": states[s.index] for s in r.sources}
    steps: list[tuple[str, str]] = []
    at_case = _case("_batch", {b: _ts(t) for b, t in sorted(collected.items())}, "CAST(NULL AS TIMESTAMP)")

    def keyed(name: str, rel: str, s_index: int, only: str = "") -> None:
        s = r.sources[s_index]
        cols = [f"CAST({quote(s.key)} AS VARCHAR) AS _raw", "_batch", "_row"]
        cols += [f"{value_sql(s.items[i.name], i.data_type)} AS _v{i.index}" for i in r.items if i.name in s.items]
        prev = ""
        for suffix, sql in keys.key_steps(quote(s.key), r.kind, today, rel, ", ".join(cols)):
            if suffix == "_k" and only:  # an incremental run checks and carries touched keys only
                sql = f"SELECT * FROM ({sql}) AS _f WHERE {only}"
            steps.append((name + suffix, sql.replace("{prev}", prev)))
            prev = name + suffix

    touched = ""
    if new_parts is not None:  # the touched entities first: the sources are then cut to them
        for j, (s_index, state) in enumerate(new_parts):
            relations[f"new_{j}"] = state
            keyed(f"newkeyed_{j}", f"new_{j}", s_index)
        union = " UNION ".join(f"SELECT _k FROM newkeyed_{j} WHERE _code IS NULL" for j in range(len(new_parts)))
        steps.append(("touched", f"SELECT DISTINCT _k FROM ({union}) AS _t" if new_parts else
                      "SELECT CAST(NULL AS VARCHAR) AS _k WHERE false"))
        touched = " AND _k IN (SELECT _k FROM touched)"
    for s in r.sources:
        keyed(f"keyed_{s.index}", f"src_{s.index}", s.index, "_k IN (SELECT _k FROM touched)" if touched else "")

    longs, ents = [], []
    for s in r.sources:
        mapped = [i for i in r.items if i.name in s.items]
        ents.append(f"SELECT _k FROM keyed_{s.index} WHERE _code IS NULL{touched}")
        if not mapped:
            continue
        values = ", ".join(f"({i.index})" for i in mapped)
        pick = _case("_it.n", {i.index: f"_v{i.index}" for i in mapped}, "NULL")
        longs.append(f"SELECT {s.index} AS _src, _k, _raw, _batch, _row, _it.n AS _item, {pick} AS _v "
                     f"FROM keyed_{s.index} CROSS JOIN (VALUES {values}) AS _it(n) WHERE _code IS NULL{touched}")
    steps.append(("ents", "SELECT DISTINCT _k FROM (" + " UNION ALL ".join(ents) + ") AS _e"))
    pos = {(i.index, s): n for i in r.items for n, s in enumerate(i.order)}
    pos_case = "CASE " + " ".join(f"WHEN _item = {i} AND _src = {s} THEN {n}" for (i, s), n in pos.items()) + " END"
    stale = [f"WHEN _item = {i.index} AND _at < {_ts(now - timedelta(days=i.fresh_days))} THEN 1"
             for i in r.items if i.fresh_days]
    stale_case = ("CASE " + " ".join(stale) + " ELSE 0 END") if stale else "0"
    cand = (f"SELECT *, {pos_case} AS _pos, {stale_case} AS _stale FROM (SELECT *, {at_case} AS _at FROM ("
            + " UNION ALL ".join(longs) + ") AS _l WHERE _v IS NOT NULL) AS _a")
    steps.append(("cand", f"SELECT * FROM ({cand}) AS _c WHERE _pos IS NOT NULL"))
    steps.append(("best", "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY _k, _item, _src "
                          "ORDER BY _at DESC, _batch DESC, _row DESC) AS _n FROM cand) AS _b WHERE _n = 1"))
    steps.append(("chosen", "SELECT * FROM (SELECT _k, _item, _src, _v, _batch, _at, row_number() OVER "
                            "(PARTITION BY _k, _item ORDER BY _stale, _pos) AS _m FROM best) AS _h WHERE _m = 1"))

    rid = {s.index: str(s.resource_id) for s in r.sources}
    pivot = ["_k"]
    for i in r.items:
        pivot += [f"max(CASE WHEN _item = {i.index} THEN _v END) AS _v{i.index}",
                  f"max(CASE WHEN _item = {i.index} THEN _src END) AS _s{i.index}",
                  f"max(CASE WHEN _item = {i.index} THEN _batch END) AS _b{i.index}",
                  f"max(CASE WHEN _item = {i.index} THEN _at END) AS _a{i.index}"]
    steps.append(("piv", f"SELECT {', '.join(pivot)} FROM chosen GROUP BY _k"))
    columns = {r.key: "VARCHAR"}
    data = [f"e._k AS {quote(r.key)}"]
    for i in r.items:
        t = P.COLUMN_TYPES[i.data_type]
        data += [f"CAST(p._v{i.index} AS {t}) AS {quote(i.name)}",
                 f"CAST({_case(f'p._s{i.index}', rid, 'NULL')} AS BIGINT) AS {quote(prov(i.name, 'source'))}",
                 f"CAST(p._b{i.index} AS BIGINT) AS {quote(prov(i.name, 'batch'))}",
                 f"CAST(p._a{i.index} AS TIMESTAMP) AS {quote(prov(i.name, 'at'))}"]
        columns.update({i.name: t, prov(i.name, "source"): "BIGINT", prov(i.name, "batch"): "BIGINT",
                        prov(i.name, "at"): "TIMESTAMP"})
    data.append("CAST(row_number() OVER (ORDER BY e._k) AS BIGINT) AS _row")
    outputs = {"data": f"SELECT {', '.join(data)} FROM ents AS e LEFT JOIN piv AS p ON p._k = e._k"}
    names = {i.index: _s(i.name) for i in r.items}
    outputs["conflicts"] = (
        f"SELECT b._k AS entity, {_case('b._item', names, 'NULL')} AS item, "
        f"CAST({_case('b._src', rid, 'NULL')} AS BIGINT) AS source_resource_id, b._raw AS source_key, "
        f"b._v AS value, CAST(b._batch AS BIGINT) AS source_batch, CAST(b._row AS BIGINT) AS source_row, "
        f"c._v AS fused_value, CAST({_case('c._src', rid, 'NULL')} AS BIGINT) AS fused_resource_id "
        f"FROM best AS b JOIN chosen AS c ON b._k = c._k AND b._item = c._item "
        f"WHERE b._src <> c._src AND b._v <> c._v")
    rejected = ([(f"newkeyed_{j}", s_index) for j, (s_index, _) in enumerate(new_parts)] if new_parts is not None
                else [(f"keyed_{s.index}", s.index) for s in r.sources])
    rej = [f"SELECT CAST({rid[s]} AS BIGINT) AS source_resource_id, CAST(_batch AS BIGINT) AS source_batch, "
           f"CAST(_row AS BIGINT) AS source_row, _raw AS source_key, _code AS code FROM {name} "
           f"WHERE _code IS NOT NULL" for name, s in rejected]
    outputs["rejects"] = " UNION ALL ".join(rej) if rej else (
        "SELECT CAST(NULL AS BIGINT) AS source_resource_id, CAST(NULL AS BIGINT) AS source_batch, "
        "CAST(NULL AS BIGINT) AS source_row, CAST(NULL AS VARCHAR) AS source_key, "
        "CAST(NULL AS VARCHAR) AS code WHERE false")
    counts = ("SELECT b._src AS _src, b._item AS _item, count(*) AS compared, "
              "sum(CASE WHEN b._v <> c._v THEN 1 ELSE 0 END) AS conflicts FROM best AS b JOIN chosen AS c "
              "ON b._k = c._k AND b._item = c._item WHERE b._src <> c._src GROUP BY b._src, b._item")
    return Plan(relations, steps, outputs, counts, columns)


def _case(expr: str, mapping: dict[int, str], default: str) -> str:
    if not mapping:
        return default
    return f"CASE {expr} " + " ".join(f"WHEN {k} THEN {v}" for k, v in mapping.items()) + f" ELSE {default} END"
