"""Conflicts go back to their sources (谁采集、谁负责, DOMAIN §3).

A conflict is a source value that differs from the fused value of the same entity and item. Each
fusion batch writes its conflicts under `conflicts/` (zone rows, never the metadata store); the
live conflicts of a library are those of each entity's latest batch (an incremental batch
replaces its entities' conflicts). Counts per source org and item feed the quality score
(一致性) and the org scorecards; the source's steward sees the list of its own conflicts, and the
library's owner sends them back as objections (the existing workflow: 5 working days to answer,
10 to correct, escalation to the authority — `quality.objections`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlglot import exp

from ..access import Actor, can_edit_catalogue, can_read_all, can_review, require
from ..catalog.model import Resource
from ..classify.masking import pseudonym_key
from ..config import get_settings
from ..crypto import hmac_sm3_hex
from ..errors import NotFound
from ..ledger import service as ledger
from ..orgs.model import Org, Region
from ..quality import objections as O
from ..zone import port
from ..zone.engine import Work, engine_for
from ..zone.service import _live_batches
from .definition import effective_sources, get_library
from .model import ConflictCount, ConflictObjection

SEND_LIMIT = 500  # objections filed per call: a steward's list, not a flood


def _files(session: Session, library_id: int) -> list[tuple[int, list[str], list[str]]]:
    zone = get_settings().zone
    out = []
    for b in _live_batches(session, library_id):
        src = b.source or {}
        if src.get("kind") != "fusion":
            continue
        root = zone / b.path
        out.append((b.id, [str(root / f) for f in b.files], [str(root / f) for f in src.get("conflicts", [])]))
    return out


# The conflicts of each entity's latest fusion batch: `r` the batches' conflict files and `d` their
# data files, each with its batch id as `_batch`.
_LIVE = "SELECT c.* EXCLUDE (_batch), c._batch AS library_batch FROM r AS c"


def conflicts_plan(key: str, source_resource_id: int | None = None) -> exp.Select:
    """The live conflicts as a plan: joined to each entity's latest batch (by the library's key
    item in `d`), one source's only when given (a literal), in (entity, item, source) order."""
    latest = (exp.select(port.col(key).as_("_k"), exp.Max(this=port.col("_batch")).as_("_lb")).from_("d")
              .group_by(port.col(key)))
    on = exp.and_(exp.EQ(this=exp.column("_k", table="l"), expression=exp.column("entity", table="c")),
                  exp.EQ(this=exp.column("_lb", table="l"), expression=exp.column("_batch", table="c")))
    plan = port.parse(_LIVE).join(latest.subquery("l"), on=on)
    if source_resource_id is not None:
        plan = plan.where(exp.EQ(this=exp.column("source_resource_id", table="c"),
                                 expression=exp.convert(int(source_resource_id))))
    return plan.order_by(*(exp.column(n, table="c") for n in ("entity", "item", "source_resource_id")))


def live_conflicts(session: Session, library_id: int, key: str, source_resource_id: int | None = None) -> pa.Table:
    """The library's live conflicts (of each entity's latest fusion batch), read by the
    in-process engine (a steward's list, the counts, a send)."""
    parts = _files(session, library_id)
    data = tuple(port.Files(tuple(files), b) for b, files, _ in parts if files)
    conf = tuple(port.Files(tuple(files), b) for b, _, files in parts if files)
    if not data or not conf:
        return pa.table({"entity": pa.array([], pa.string())})
    return engine_for(Work.LOOKUP).rows(conf, conflicts_plan(key, source_resource_id), tables={"d": data})


def _key(session: Session, library: Resource) -> str:
    return next(i.name for i in library.items if i.is_key)


def counts(session: Session, actor: Actor, library_id: int) -> dict[str, Any]:
    """Live conflicts per source org and item, and the last full fusion's conflict rates."""
    library = get_library(session, actor, library_id)
    table = live_conflicts(session, library.id, _key(session, library))
    live: dict[tuple[int, str], int] = {}
    for r in table.select(["source_resource_id", "item"]).to_pylist() if table.num_rows else []:
        live[(r["source_resource_id"], r["item"])] = live.get((r["source_resource_id"], r["item"]), 0) + 1
    full = next((b.id for b in _live_batches(session, library.id)), None)
    rates = {(c.source_resource_id, c.item): (c.compared, c.conflicts) for c in session.execute(
        select(ConflictCount).where(ConflictCount.batch_id == full)).scalars()} if full else {}
    rows = []
    for rid, item in sorted(set(live) | set(rates)):
        res = session.get(Resource, rid)
        org = session.get(Org, res.org_id) if res else None
        compared, in_full = rates.get((rid, item), (0, 0))
        rows.append({"source_resource_id": rid, "source_code": res.code if res else None,
                     "org_id": org.id if org else None, "org_name": org.name if org else None, "item": item,
                     "conflicts": live.get((rid, item), 0), "compared_in_full": compared,
                     "conflict_rate_in_full": round(in_full / compared, 4) if compared else None})
    by_org: dict[int, int] = {}
    for r in rows:
        by_org[r["org_id"]] = by_org.get(r["org_id"], 0) + r["conflicts"]
    return {"library_id": library.id, "rows": rows, "by_org": by_org}


def org_conflicts(session: Session, org_id: int) -> int:
    """Conflicts an org's resources had in the latest fusion batch of every library."""
    latest = select(ConflictCount.library_id, func.max(ConflictCount.batch_id).label("b")).group_by(
        ConflictCount.library_id).subquery()
    return int(session.execute(select(func.coalesce(func.sum(ConflictCount.conflicts), 0)).join(
        latest, (latest.c.library_id == ConflictCount.library_id) & (latest.c.b == ConflictCount.batch_id))
        .where(ConflictCount.source_org_id == org_id)).scalar() or 0)


def source_consistency(session: Session, source_resource_id: int) -> list[dict[str, Any]]:
    """Issue 21 item 3: how a contributing resource's values agree with the authoritative ones,
    per library and item, from each library's latest full fusion (which compares every entity;
    an incremental one only the touched): `compared` values of this source that were not chosen,
    `conflicts` of them that differ. The quality stage scores them as 一致性 (consistency)."""
    libraries = session.execute(select(ConflictCount.library_id).where(
        ConflictCount.source_resource_id == int(source_resource_id)).distinct()).scalars().all()
    source = session.get(Resource, int(source_resource_id))
    out = []
    for library_id in sorted(libraries):
        library = session.get(Resource, library_id)
        full = next((b.id for b in _live_batches(session, library_id)), None)
        if library is None or source is None or full is None:
            continue
        for c in session.execute(select(ConflictCount).where(
                ConflictCount.batch_id == full, ConflictCount.source_resource_id == source.id)
                .order_by(ConflictCount.item)).scalars():
            if c.compared:
                out.append({"library_id": library.id, "library_code": library.code, "item": c.item,
                            "source_item": _source_item(session, library, source, c.item),
                            "compared": int(c.compared), "conflicts": int(c.conflicts)})
    return out


def _region_path(session: Session, resource: Resource) -> str:
    region = session.get(Region, resource.region_id)
    return region.path if region else "/"


def _source_item(session: Session, library: Resource, source: Resource, item: str) -> str:
    for s in effective_sources(session, library):  # an extended library's sources too
        if s.resource == source.code:
            return s.items.get(item, item)
    return item


def _subject(entity: str, item: str, value: str) -> str:
    return hmac_sm3_hex(pseudonym_key("library-conflict"), f"{entity}\x1f{item}\x1f{value}".encode())


def steward_list(session: Session, actor: Actor, library_id: int, source_resource_id: int,
                 today: date | None = None) -> list[dict[str, Any]]:
    """The source's conflicts, for its steward (and the library's owner, reviewers, auditors):
    the value the source holds, the fused value and its source, the row to correct, and the
    objection sent for it with its working-day deadlines."""
    library = get_library(session, actor, library_id)
    source = session.get(Resource, source_resource_id)
    if source is None:
        raise NotFound(f"信息资源 {source_resource_id}", "resource_not_found")
    require(can_edit_catalogue(actor, source.org_id) or can_edit_catalogue(actor, library.org_id)
            or can_review(actor, _region_path(session, library)) or can_read_all(actor), "查看融合冲突")
    table = live_conflicts(session, library.id, _key(session, library), source.id)
    sent = {c.subject: c.objection_id for c in session.execute(select(ConflictObjection).where(
        ConflictObjection.library_id == library.id, ConflictObjection.source_resource_id == source.id)).scalars()}
    codes = {r.id: r.code for r in session.execute(select(Resource)).scalars()} if table.num_rows else {}
    out = []
    for r in table.to_pylist() if table.num_rows else []:
        obj_id = sent.get(_subject(r["entity"], r["item"], r["value"]))
        obj = session.get(O.Objection, obj_id) if obj_id else None
        out.append({"entity": r["entity"], "item": r["item"],
                    "source_item": _source_item(session, library, source, r["item"]),
                    "value": r["value"], "fused_value": r["fused_value"],
                    "fused_source": codes.get(r["fused_resource_id"]), "source_batch": r["source_batch"],
                    "source_row": r["source_row"], "objection": O.objection_dict(session, obj, today) if obj else None})
    return out


def send(session: Session, actor: Actor, library_id: int, source_resource_id: int | None = None, *,
         today: date | None = None, limit: int = SEND_LIMIT) -> dict[str, Any]:
    """File an objection against the source for every live conflict not yet sent (by the
    library's owner or the region's reviewer, a person: objections have a filer)."""
    library = get_library(session, actor, library_id)
    require(can_edit_catalogue(actor, library.org_id) or can_review(actor, _region_path(session, library)),
            "退回融合冲突")
    table = live_conflicts(session, library.id, _key(session, library), source_resource_id)
    sent = 0
    for r in table.to_pylist() if table.num_rows else []:
        if sent >= limit:
            break
        subject = _subject(r["entity"], r["item"], r["value"])
        if session.execute(select(ConflictObjection.id).where(
                ConflictObjection.library_id == library.id,
                ConflictObjection.source_resource_id == r["source_resource_id"],
                ConflictObjection.item == r["item"], ConflictObjection.subject == subject)).first():
            continue
        source = session.get(Resource, r["source_resource_id"])
        src_item = _source_item(session, library, source, r["item"])
        key_item = next((i.name for i in source.items if i.is_key), None)
        obj = O.file_objection(
            session, actor, source.id, items=[src_item], batch_id=r["source_batch"], row_number=r["source_row"],
            row_key={key_item: r["source_key"]} if key_item and r["source_key"] else None,
            claim=f"资源库“{library.name}”融合时发现：信息项“{src_item}”与{r['item']}的融合值不一致，请核实更正或提出异议",
            expected=r["fused_value"], today=today)
        session.add(ConflictObjection(library_id=library.id, source_resource_id=source.id, item=r["item"],
                                      subject=subject, objection_id=obj.id))
        sent += 1
    session.flush()
    ledger.append(session, actor, "library.conflicts.send", "resource", library.id,
                  {"source_resource_id": source_resource_id, "objections": sent})
    return {"library_id": library.id, "sent": sent, "live_conflicts": table.num_rows}
