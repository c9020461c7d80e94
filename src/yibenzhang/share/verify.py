"""Verification (核验): the consumer sends key values and claimed values and learns, per claimed
item, whether the stored value matches — never the stored value itself.

Rate limited per grant and minute, more strictly than rows (grants.VERIFY_PER_MINUTE), so a
grant cannot be used to enumerate. Key and claimed items must both be granted. A key that finds
no row answers false for every claim (the same answer as a wrong claim: existence is not told).

Values are compared after the same normalisation on both sides, `trim(CAST(v AS VARCHAR))`.
The stored side is digested once per resource version into a snapshot (snapshot.DigestSnapshot):
a check is then a hash lookup of the key and a constant-time comparison of claim digests. A
resource beyond the snapshot limits is checked by one DuckDB query per call.
"""

from __future__ import annotations

from typing import Any

from ..access import Actor
from ..db import Database
from ..errors import DomainError, ErrorBag
from ..zone.service import quote
from . import grants as G
from . import snapshot
from .service_rows import Shape, cached, cursor, grant_and_shape


def _norm(expr: str) -> str:
    return f"trim(CAST({expr} AS VARCHAR))"


def verify(db: Database, actor: Actor, grant_id: int, key: dict[str, Any], claims: dict[str, Any], *,
           head: tuple[int, str] | None = None) -> dict[str, Any]:
    grant, sh = grant_and_shape(db, actor, grant_id, "核验", head)
    granted = set(grant.items)
    bag = ErrorBag()
    if not key:
        bag.add("key", "verify_key_empty", "须给出用于定位记录的键值")
    if not claims:
        bag.add("claims", "verify_claims_empty", "须给出待核验的信息项")
    for part, values in (("key", key), ("claims", claims)):
        for name in values:
            if name not in granted:
                bag.add(f"{part}.{name}", "item_not_granted", "信息项“{name}”不在授权范围内", name=name)
    try:
        bag.raise_if_any("verify_invalid")
        G.check_rate(grant, "verify", db=db)
    except DomainError as exc:
        _record(db, actor, grant, list(key) + list(claims), exc.code)
        raise
    if sh.snapshot_ok:
        snap = digest_snapshot(sh, grant.items)
        match = snap.check({k: _digest(v) for k, v in key.items()}, {n: _digest(v) for n, v in claims.items()})
        _record(db, actor, grant, list(key) + list(claims), "ok")
        return {"grant_id": grant.id, "match": match}
    names = list(claims)
    conds = [f"{_norm(quote(k))} = trim(?)" for k in key]
    params: list[Any] = [str(v) for v in key.values()]
    if sh.scope_sql:
        conds.append(sh.scope_sql)
    checks = ", ".join(f"coalesce(bool_or({_norm(quote(n))} = trim(?)), false)" for n in names)
    sql = f"SELECT {checks} FROM {sh.relation} AS _src WHERE {' AND '.join(conds)}"
    cur = cursor()
    try:
        got = cur.execute(sql, [str(claims[n]) for n in names] + params).fetchone()
    finally:
        cur.close()
    _record(db, actor, grant, list(key) + list(claims), "ok")
    return {"grant_id": grant.id, "match": {n: bool(got[i]) for i, n in enumerate(names)}}


def _normalised(value: Any) -> str:
    """str(value) trimmed as DuckDB's trim() does; text without surrounding white space (nearly
    all) needs no query, the rest asks DuckDB so both sides trim the same characters."""
    text = str(value)
    if text == text.strip():
        return text
    cur = cursor()
    try:
        return str(cur.execute("SELECT trim(?)", [text]).fetchone()[0])
    finally:
        cur.close()


def _digest(value: Any) -> bytes:
    return snapshot.digest(_normalised(value))


def _digest_sql(sh: Shape, items: tuple[str, ...] | list[str]) -> str:
    cols = ", ".join(f"{snapshot.digest_sql(_norm(quote(n)))} AS {quote(n)}" for n in items)
    where = f" WHERE {sh.scope_sql}" if sh.scope_sql else ""
    return f"SELECT {cols} FROM {sh.relation} AS _src{where}"


def warm(db: Database, grant_id: int, head: tuple[int, str]) -> bool:
    """Whether a check on this grant needs no query and no build (served from memory)."""
    hit = cached(db, grant_id, head)
    return hit is not None and hit[1].snapshot_ok and snapshot.has(_digest_sql(hit[1], hit[0].items))


def digest_snapshot(sh: Shape, items: tuple[str, ...] | list[str]) -> snapshot.DigestSnapshot:
    """Digests of every granted item's normalised stored value, in the grant's scope."""
    sql = _digest_sql(sh, items)

    def build() -> Any:
        cur = cursor()
        try:
            return cur.sql(sql).to_arrow_table().combine_chunks()
        finally:
            cur.close()
    return snapshot.get(sql, snapshot.timed(build, lambda t, s: snapshot.DigestSnapshot(t, s)))


def _record(db: Database, actor: Actor, grant: Any, filters: list[str], outcome: str) -> None:
    G.USAGE.add(db, actor, grant, "verify", filters=filters, outcome=outcome)
