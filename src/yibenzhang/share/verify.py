"""Verification (核验): the consumer sends key values and claimed values and learns, per claimed
item, whether the stored value matches — never the stored value itself.

Rate limited per grant and minute, more strictly than rows (grants.VERIFY_PER_MINUTE), so a
grant cannot be used to enumerate. Key and claimed items must both be granted. A key that finds
no row answers false for every claim (the same answer as a wrong claim: existence is not told).
"""

from __future__ import annotations

from typing import Any

from ..access import Actor
from ..db import Database
from ..errors import DomainError, ErrorBag
from ..zone.service import quote
from . import grants as G
from .service_rows import cursor, grant_and_shape


def _norm(expr: str) -> str:
    return f"trim(CAST({expr} AS VARCHAR))"


def verify(db: Database, actor: Actor, grant_id: int, key: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    grant, sh = grant_and_shape(db, actor, grant_id, "核验")
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
        G.check_rate(grant, "verify")
    except DomainError as exc:
        _record(db, actor, grant, list(key) + list(claims), exc.code)
        raise
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


def _record(db: Database, actor: Actor, grant: Any, filters: list[str], outcome: str) -> None:
    G.USAGE.add(db, actor, grant, "verify", filters=filters, outcome=outcome)
