"""Fusion as a job on the zone engine, published atomically as a batch of the library.

A full fusion writes a 全量 batch; when only new 追加/更新 batches of the sources came since the
last fusion of the same definition version, only the entities those batches touch are re-fused
and published as an 更新 batch (the library is keyed: the zone keeps the latest row per entity).
A new 全量 batch of a source (or a compaction), a new definition version or `full=True` re-fuses
everything. The publish transaction checks that the library's live batches are still those seen
when the work began (a concurrent fusion makes this one fail: retry), records the conflict
counts, the ledger event and the lineage event.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import jobs
from ..access import Actor, can_edit_catalogue, require
from ..catalog.model import Resource
from ..config import get_settings
from ..crypto import canonical_json, sm3_hex
from ..db import Database
from ..errors import Conflict
from ..ledger import service as ledger_service
from ..zone import port as P
from ..zone.engine import Work, engine_for, named_engine
from ..zone.model import Batch, BatchMode, BatchStatus
from ..zone.service import _live_batches, live_state, publish_batch
from ..zone.storage import Staging, sm3_files
from . import engines, fusion
from .definition import Resolved, resolve
from .model import ConflictCount, LibraryDefinition

JOB_KIND = "library.fuse"


def _naive(at: datetime | None) -> datetime:
    at = at or datetime.now(UTC)
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _last_fusion(session: Session, library_id: int) -> Batch | None:
    return session.execute(select(Batch).where(
        Batch.resource_id == library_id, Batch.status == BatchStatus.PUBLISHED.value)
        .order_by(Batch.id.desc()).limit(1)).scalar_one_or_none()


def _inputs(session: Session, r: Resolved) -> tuple[dict[int, P.LiveState], dict[int, datetime],
                                                     dict[str, list[int]], dict[int, Batch]]:
    states, collected, live, batches = {}, {}, {}, {}
    for s in r.sources:
        states[s.index] = live_state(session, s.resource_id)
        ids = []
        for b in _live_batches(session, s.resource_id):
            collected[b.id] = _naive(b.published_at or b.created_at)
            batches[b.id] = b
            ids.append(b.id)
        live[str(s.resource_id)] = ids
    return states, collected, live, batches


def resolved_digest(r: Resolved) -> str:
    """What a fusion's result depends on in the definition: its items, their source orders and
    freshness, the sources' mappings (as resolved now, authority claims included)."""
    return sm3_hex(canonical_json(r.as_dict()))


def _new_batches(r: Resolved, prev: Batch | None, live: dict[str, list[int]],
                 batches: dict[int, Batch]) -> list[tuple[int, int]] | None:
    """(source index, batch id) of the batches published since the last fusion, when an
    incremental run can take them; None when everything must be fused again."""
    src = prev.source if prev is not None else None
    if not src or src.get("kind") != "fusion" or src.get("version") != r.version:
        return None
    if src.get("resolved") != resolved_digest(r):
        # the same definition resolves differently (an authoritative claim came or went, a parent's
        # order): the fused rows follow the old order, so everything is fused again
        return None
    before: dict[str, list[int]] = src.get("inputs") or {}
    out = []
    for s in r.sources:
        now_ids, old_ids = live[str(s.resource_id)], before.get(str(s.resource_id))
        if old_ids is None or now_ids[:len(old_ids)] != old_ids:
            return None  # a 全量 batch or a compaction replaced what was fused
        for b in now_ids[len(old_ids):]:
            if batches[b].mode == BatchMode.FULL.value:
                return None
            out.append((s.index, b))
    return out


def fuse(db: Database, actor: Actor, library_id: int, *, engine: str | None = None, full: bool = False,
         today: date | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Fuse the library (incrementally when it can). Returns what was done."""
    with db.read() as s:
        r = resolve(s, library_id)
        library = s.get(Resource, library_id)
        require(can_edit_catalogue(actor, library.org_id), "融合资源库")
        states, collected, live, batches = _inputs(s, r)
        prev = _last_fusion(s, library_id)
        prev_id = prev.id if prev is not None else None
        new = None if full else _new_batches(r, prev, live, batches)
        org_of = {s_.resource_id: s_.org_id for s_ in r.sources}
    now = _naive(now)
    today = today or now.date()
    if new is not None and not new:
        return {"library_id": library_id, "fused": False, "reason": "no_new_batches"}
    new_parts = None
    if new is not None:
        new_parts = []
        for s_index, b in new:
            state = states[s_index]
            part = next(p for p in state.parts if p.batch_id == b)
            new_parts.append((s_index, P.LiveState(state.resource_id, state.columns, (), (part,), False)))
    plan = fusion.build(r, states, collected, today=today, now=now, new_parts=new_parts)
    size = sum(st.bytes for st in states.values())
    chosen = named_engine(engine) if engine else engine_for(Work.COMPACT, input_bytes=size)  # heavy work
    staging = Staging(get_settings().zone)
    try:
        out = engines.run(chosen, plan, str(staging.path))
        files = out["files"]
        digest = sm3_files([staging.path / f for name in ("data", "conflicts", "rejects") for f in files[name]])
        counts = [(int(row["_src"]), int(row["_item"]), int(row["compared"]), int(row["conflicts"] or 0))
                  for row in out["counts"].to_pylist()]
        mode = BatchMode.FULL.value if new_parts is None else BatchMode.UPSERT.value

        def on_publish(session: Session, batch: Batch) -> None:
            last = _last_fusion_before(session, library_id, batch.id)
            if last != prev_id:
                raise Conflict("library_fuse_raced", "融合期间资源库有新批次发布，请重试")
            for s_index, i_index, compared, conflicts in counts:
                src = r.sources[s_index]
                session.add(ConflictCount(library_id=library_id, batch_id=batch.id, source_resource_id=src.resource_id,
                                          source_org_id=org_of[src.resource_id], item=r.items[i_index].name,
                                          compared=compared, conflicts=conflicts))
            ledger_service.append(session, actor, "library.fuse", "batch", batch.id, {
                "library": r.library_code, "version": r.version, "mode": mode, "entities": out["rows"]["data"],
                "conflicts": out["rows"]["conflicts"], "rejected": out["rows"]["rejects"], "engine": chosen.name,
                "inputs": live, "digest": digest})
            _lineage(session, r, out["rows"]["data"], plan.columns)

        batch = publish_batch(
            db, actor, library_id, staging, mode=mode, status=BatchStatus.PUBLISHED.value,
            row_count=out["rows"]["data"], rejected_count=out["rows"]["rejects"],
            schema={"columns": plan.columns, "mapping": {}},
            source={"kind": "fusion", "version": r.version, "resolved": resolved_digest(r), "inputs": live,
                    "engine": chosen.name,
                    "incremental": new_parts is not None, "new_batches": [b for _, b in new or []],
                    "conflicts": files["conflicts"], "rejects": files["rejects"], "today": today.isoformat(),
                    "now": now.isoformat(), "bytes": size},
            digest=digest, files=files["data"], reject_file=files["rejects"][0] if files["rejects"] else None,
            on_publish=on_publish)
    finally:
        staging.close()
    return {"library_id": library_id, "fused": True, "batch_id": batch.id, "seq": batch.seq, "mode": mode,
            "incremental": new_parts is not None, "entities": out["rows"]["data"],
            "conflicts": out["rows"]["conflicts"], "rejected": out["rows"]["rejects"], "engine": chosen.name}


def _last_fusion_before(session: Session, library_id: int, batch_id: int) -> int | None:
    return session.execute(select(Batch.id).where(
        Batch.resource_id == library_id, Batch.status == BatchStatus.PUBLISHED.value, Batch.id < batch_id)
        .order_by(Batch.id.desc()).limit(1)).scalar_one_or_none()


def _lineage(session: Session, r: Resolved, rows: int, columns: dict[str, str]) -> None:
    # deferred: keeps httpx out of this module's import
    from ..lineage import events, outbox

    outbox.add(session, events.run_event(
        "COMPLETE", events.new_run_id(), f"fuse.{r.library_code}",
        inputs=[events.resource_dataset(s.code) for s in r.sources],
        outputs=[events.resource_dataset(r.library_code, facets={"schema": events.schema_facet(columns)},
                                         output_facets={"outputStatistics": events.output_statistics(rows, None)})],
        job_facets={"jobType": events.job_type("FUSION")}))


# --- the job, and the worker's check for libraries with new source batches --------------------


def _handle(db: Database, job: Any) -> dict[str, Any]:
    p = job.payload
    return fuse(db, Actor.system(), int(p["library_id"]), engine=p.get("engine"), full=bool(p.get("full")))


def request_fusion(session: Session, actor: Actor, library_id: int, *, full: bool = False,
                   engine: str | None = None) -> Any:
    library = session.get(Resource, library_id)
    require(library is not None and can_edit_catalogue(actor, library.org_id), "融合资源库")
    payload: dict[str, Any] = {"library_id": library_id, "full": full}
    if engine:
        payload["engine"] = engine
    return jobs.enqueue(session, actor, JOB_KIND, payload, dedupe_key=f"{JOB_KIND}:{library_id}",
                        org_id=library.org_id)


def due_libraries(session: Session) -> list[int]:
    """Published libraries whose sources have a batch newer than their last fusion's inputs."""

    out = []
    for rid in session.execute(select(LibraryDefinition.resource_id).distinct()).scalars():
        try:
            r = resolve(session, rid)
        except Exception:  # unpublished or retired libraries are not fused
            continue
        prev = _last_fusion(session, rid)
        seen = (prev.source or {}).get("inputs", {}) if prev is not None else {}
        for s in r.sources:
            latest = session.execute(select(Batch.id).where(
                Batch.resource_id == s.resource_id, Batch.status == BatchStatus.PUBLISHED.value)
                .order_by(Batch.id.desc()).limit(1)).scalar_one_or_none()
            if latest is not None and latest not in (seen.get(str(s.resource_id)) or []):
                out.append(rid)
                break
    return out


def _tick(db: Database) -> None:
    with db.read() as s:
        due = due_libraries(s)
    for rid in due:
        with db.write() as s:
            jobs.enqueue(s, Actor.system(), JOB_KIND, {"library_id": rid}, dedupe_key=f"{JOB_KIND}:{rid}",
                         org_id=s.get(Resource, rid).org_id)


def _register() -> None:
    jobs.register(JOB_KIND)(_handle)
    if (os.environ.get("YBZ_LIBRARY_AUTO_FUSE") or "on").lower() not in ("off", "0", "false", "no"):
        jobs.periodic(_tick)


_register()
