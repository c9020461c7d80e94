"""Compaction: a resource's live state written as one new 全量 batch.

The current state of a resource is read from every batch since its last 全量 (a union and, when
keyed, a de-duplicating window): the cost of a read grows with the number of batches. Compaction
writes the live rows once, on the engine the rule picks (Spark for large resources when
configured), and publishes them atomically like any batch, with a ledger event. A read after
compaction returns the same rows, in the same order, as before (`port.compacted`).

The publish transaction checks that the live batches are still the ones compacted: a batch
published meanwhile makes the compaction fail (retry), never disappear under a 全量.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import jobs, plugins
from ..access import Actor, can_edit_catalogue, require
from ..config import get_settings
from ..db import Database
from ..errors import Conflict
from ..ledger import service as ledger_service
from . import port as P
from .engine import Work, engine_for, named_engine
from .model import Batch, BatchMode, BatchStatus
from .service import COMPACT_JOB as JOB_KIND
from .service import _live_batches, _resource, live_state, publish_batch
from .storage import Staging, crash_point, sm3_files


def compact(db: Database, actor: Actor, resource_id: int, *, engine: str | None = None) -> dict[str, Any]:
    """Write the live state as one 全量 batch. Returns what was done; a resource whose state is
    already one 全量 batch is left alone (`compacted: false`)."""
    with db.read() as s:
        resource = _resource(s, resource_id)
        require(can_edit_catalogue(actor, resource.org_id), "压缩数据")
        code = resource.code
        state = live_state(s, resource_id)
        live = [b.id for b in _live_batches(s, resource_id)]
        first_full = bool(live) and s.get(Batch, live[0]).mode == BatchMode.FULL.value
    if not state.parts or (len(state.parts) == 1 and first_full):
        return {"resource_id": resource_id, "compacted": False, "batches": len(live)}
    chosen = named_engine(engine) if engine else engine_for(Work.COMPACT, input_bytes=state.bytes)
    before = chosen.count(state)
    staging = Staging(get_settings().zone)
    try:
        written = chosen.write(state, P.compacted(state), str(staging.path))
        if written.rows != before:  # never publish a compaction that lost or made rows
            raise RuntimeError(f"compaction wrote {written.rows} rows, the live state has {before}")
        digest = sm3_files([staging.path / f for f in written.files])
        crash_point("compact_staged")

        def still_live(session: Session, batch: Batch) -> None:
            # under the resource's lock: the batches published before this one, from the first
            # compacted, must be exactly the compacted ones (none published or confirmed since)
            preceding = session.execute(select(Batch.id).where(
                Batch.resource_id == resource_id, Batch.id < batch.id, Batch.id >= live[0],
                Batch.status == BatchStatus.PUBLISHED.value).order_by(Batch.id)).scalars().all()
            if list(preceding) != live:
                raise Conflict("compact_raced", "压缩期间有新批次发布，请重试")
            ledger_service.append(session, actor, "zone.batch.compact", "batch", batch.id, {
                "resource": code, "batches": live, "rows": written.rows, "engine": chosen.name})
            # issue 18: lineage's event in the compaction's own transaction (a hook: the zone imports no stage)
            plugins.zone_compacted(session, code, rows=written.rows,
                                   columns={c.name: c.type for c in state.columns}, engine=chosen.name)

        batch = publish_batch(
            db, actor, resource_id, staging, mode=BatchMode.FULL.value, status=BatchStatus.PUBLISHED.value,
            row_count=written.rows, rejected_count=0,
            schema={"columns": {c.name: c.type for c in state.columns}, "mapping": {}},
            source={"kind": "compaction", "batches": live, "engine": chosen.name, "bytes": state.bytes},
            digest=digest, files=written.files, reject_file=None, on_publish=still_live)
    finally:
        staging.close()
    return {"resource_id": resource_id, "compacted": True, "batch_id": batch.id, "seq": batch.seq,
            "batches": len(live), "rows": written.rows, "engine": chosen.name}


def _handle(db: Database, job: Any) -> dict[str, Any]:
    return compact(db, Actor.system(), int(job.payload["resource_id"]), engine=job.payload.get("engine"))


jobs.register(JOB_KIND)(_handle)


def request_compaction(session: Session, actor: Actor, resource_id: int, *, engine: str | None = None) -> Any:
    """Queue the resource's compaction for the worker (one at a time per resource)."""
    resource = _resource(session, resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "压缩数据")
    payload: dict[str, Any] = {"resource_id": resource.id}
    if engine:
        payload["engine"] = engine
    return jobs.enqueue(session, actor, JOB_KIND, payload, dedupe_key=f"{JOB_KIND}:{resource.id}",
                        org_id=resource.org_id)
