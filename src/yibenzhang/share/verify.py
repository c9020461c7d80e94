"""Verification (核验): the consumer sends key values and claimed values and learns, per claimed
item, whether the stored value matches — never the stored value itself.

Rate limited per grant and minute, more strictly than rows (grants.VERIFY_PER_MINUTE), so a
grant cannot be used to enumerate. Key and claimed items must both be granted. A key that finds
no row answers false for every claim (the same answer as a wrong claim: existence is not told).

Values are compared after the same normalisation on both sides, `trim(CAST(v AS VARCHAR))`.
The stored side is digested once per resource version into a snapshot (snapshot.DigestSnapshot):
a check is then a hash lookup of the key and a constant-time comparison of claim digests. A
resource beyond the snapshot limits is checked by one query per call: a port plan whose key and
claimed values are literals, run by the in-process engine.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from ..access import Actor
from ..db import Database
from ..errors import DomainError, ErrorBag
from ..zone import port
from ..zone.engine import Work, engine_for
from . import grants as G
from . import snapshot
from .service_rows import Shape, cached, grant_and_shape


def _norm(expr: exp.Expression) -> exp.Expression:
    return exp.Trim(this=exp.Cast(this=expr, to=port.sql_type("VARCHAR")))


def _same(name: str, value: Any) -> exp.Expression:
    """The stored value of `name`, normalised, equals the given one trimmed (a literal)."""
    return exp.EQ(this=_norm(port.col(name)), expression=exp.Trim(this=exp.convert(str(value))))


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
    conds = [_same(k, v) for k, v in key.items()]
    if sh.scope is not None:
        conds.append(sh.scope.copy())
    checks = [exp.Coalesce(this=exp.LogicalOr(this=_same(n, claims[n])), expressions=[exp.false()]).as_(f"_c{i}")
              for i, n in enumerate(names)]
    plan = exp.select(*checks).from_(port.RELATION).where(port.all_of(conds))
    got = port.rows_of(engine_for(Work.LOOKUP).rows(sh.state, plan))[0]
    _record(db, actor, grant, list(key) + list(claims), "ok")
    return {"grant_id": grant.id, "match": {n: bool(got[i]) for i, n in enumerate(names)}}


def _normalised(value: Any) -> str:
    """str(value) trimmed as DuckDB's trim() does; text without surrounding white space (nearly
    all) needs no query, the rest asks the engine so both sides trim the same characters."""
    text = str(value)
    if text == text.strip():
        return text
    return str(engine_for(Work.LOOKUP).value(exp.Trim(this=exp.convert(text))))


def _digest(value: Any) -> bytes:
    return snapshot.digest(_normalised(value))


def _digest_plan(sh: Shape, items: tuple[str, ...] | list[str]) -> tuple[str, exp.Select]:
    """The digests' plan, and its snapshot key (the live state and the plan)."""
    plan = exp.select(*(snapshot.digest_expr(_norm(port.col(n))).as_(port.ident(n)) for n in items)) \
        .from_(port.RELATION)
    if sh.scope is not None:
        plan = plan.where(sh.scope.copy())
    return f"{sh.state.fingerprint}\n{plan.sql(dialect='duckdb')}", plan


def warm(db: Database, grant_id: int, head: tuple[int, str]) -> bool:
    """Whether a check on this grant needs no query and no build (served from memory)."""
    hit = cached(db, grant_id, head)
    return hit is not None and hit[1].snapshot_ok and snapshot.has(_digest_plan(hit[1], hit[0].items)[0])


def digest_snapshot(sh: Shape, items: tuple[str, ...] | list[str]) -> snapshot.DigestSnapshot:
    """Digests of every granted item's normalised stored value, in the grant's scope."""
    key, plan = _digest_plan(sh, items)

    def build() -> Any:
        return engine_for(Work.LOOKUP).rows(sh.state, plan).combine_chunks()
    return snapshot.get(key, snapshot.timed(build, lambda t, s: snapshot.DigestSnapshot(t, s)))


def _record(db: Database, actor: Actor, grant: Any, filters: list[str], outcome: str) -> None:
    G.USAGE.add(db, actor, grant, "verify", filters=filters, outcome=outcome)
