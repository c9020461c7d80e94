"""The zone's operations: publish a staged batch, confirm or discard a held one, read the
current state of a resource, and keep record counts exact.

The current state of a resource is built from its published batches since the last 全量 batch;
when the resource has key items, rows are de-duplicated by key: the latest batch wins, then
the latest row within it (追加 batches on a keyed resource upsert too: a key names one record).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import jobs
from ..access import Actor, can_edit_catalogue, can_read_all, require
from ..config import get_settings
from ..db import Database, utcnow
from ..enums import DataType
from ..errors import Conflict, NotFound
from ..ledger import service as ledger_service
from . import duck
from . import holdings as H
from . import port as P
from .engine import Work, engine_for
from .model import Batch, BatchMode, BatchStatus
from .storage import Staging, batch_dir, crash_point
from .store import get_store

COLUMN_TYPES = P.COLUMN_TYPES


def column_type(item: H.Item) -> str:
    dt = DataType.parse(item.data_type)
    return COLUMN_TYPES[dt.letter if dt else "C"]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- reading -------------------------------------------------------------------------------


def _resource(session: Session, resource_id: int) -> H.Holding:
    return H.get(session, resource_id)


def can_read_rows(actor: Actor, resource: H.Holding) -> bool:
    """Collected rows are seen by the provider org's own people and the platform (insiders);
    sharing and opening come with later stages."""
    return can_read_all(actor) or actor.acts_for_org(resource.org_id)


def batch_files(session: Session, batch_id: int) -> list[str]:
    """The batch's exact files as an engine reads them (local paths or s3:// URIs)."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id}", "batch_not_found")
    store = get_store()
    return [store.uri(f"{batch.path}/{f}") for f in batch.files]


def _live_batches(session: Session, resource_id: int) -> list[Batch]:
    batches = list(session.execute(
        select(Batch).where(Batch.resource_id == resource_id, Batch.status == BatchStatus.PUBLISHED.value)
        .order_by(Batch.id)
    ).scalars())
    fulls = [i for i, b in enumerate(batches) if b.mode == BatchMode.FULL.value]
    return batches[fulls[-1]:] if fulls else batches


def live_state(session: Session, resource_id: int) -> P.LiveState:
    """What an engine needs to read the resource's current rows: the live batches' exact files
    (this store, not a folder listing, says which are live), the items' types and the keys."""
    resource = _resource(session, resource_id)
    items = list(resource.items)
    batches = _live_batches(session, resource_id)
    store = get_store()
    keys = tuple(i.name for i in items if i.is_key)
    dedupe = bool(keys) and (len(batches) > 1 or (bool(batches) and batches[0].mode != BatchMode.APPEND.value))
    return P.LiveState(resource_id, _columns(items), keys, tuple(_part(store, b) for b in batches), dedupe)


def _columns(items: list[H.Item]) -> tuple[P.Column, ...]:
    return tuple(P.Column(i.name, column_type(i)) for i in items)


def _part(store: Any, b: Batch) -> P.Part:
    """A batch's exact files as the engine reads them, and the item names they hold."""
    files = tuple(store.uri(f"{b.path}/{f}") for f in b.files)
    return P.Part(b.id, files, frozenset((b.schema or {}).get("columns", {})), int((b.source or {}).get("bytes") or 0))


def batch_state(session: Session, batch_id: int) -> P.LiveState:
    """One batch's own rows as an engine reads them (no upserts applied, whatever its status):
    what the assessment of that batch reads. Its part's columns are the items its files hold."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id}", "batch_not_found")
    resource = _resource(session, batch.resource_id)
    parts = (_part(get_store(), batch),) if batch.files else ()
    return P.LiveState(resource.id, _columns(list(resource.items)), (), parts)


def current_relation(session: Session, resource_id: int) -> str:
    """A DuckDB table expression of the resource's current rows: one column per item name (typed
    per data type), plus `_batch` (batch id) and `_row` (source row/line number). For the stages
    whose DuckDB SQL has not moved behind the port (`live_state` and an engine's plans) yet."""
    return duck.relation(live_state(session, resource_id))


def count_current(session: Session, resource_id: int) -> int:
    return engine_for(Work.COUNT).count(live_state(session, resource_id))


def preview_rows(session: Session, actor: Actor, resource_id: int, limit: int = 20) -> dict[str, Any]:
    resource = _resource(session, resource_id)
    require(can_read_rows(actor, resource), "查看数据")
    limit = max(1, min(int(limit), 200))
    state = live_state(session, resource_id)
    table = engine_for(Work.PREVIEW).query(state, P.scan(state, limit=limit))
    return {"resource_id": resource_id, "columns": table.column_names, "rows": table.to_pylist()}


def batch_dict(b: Batch) -> dict[str, Any]:
    return {"id": b.id, "resource_id": b.resource_id, "seq": b.seq, "mode": b.mode, "status": b.status,
            "path": b.path, "files": b.files, "row_count": b.row_count, "rejected_count": b.rejected_count,
            "schema": b.schema, "source": b.source, "digest": b.digest, "reject_path": b.reject_path,
            "created_by": b.created_by, "created_at": b.created_at, "published_at": b.published_at}


def list_batches(session: Session, actor: Actor, resource_id: int) -> list[dict[str, Any]]:
    resource = _resource(session, resource_id)
    require(can_read_rows(actor, resource), "查看数据")
    rows = session.execute(select(Batch).where(Batch.resource_id == resource_id).order_by(Batch.seq)).scalars()
    return [batch_dict(b) for b in rows]


# --- changing ------------------------------------------------------------------------------


def _lock_resource(session: Session, resource_id: int) -> H.Holding:
    """Serialize publishes per resource (SQLite already serializes writers)."""
    return H.get(session, resource_id, lock=True)


def publish_batch(
    db: Database, actor: Actor, resource_id: int, staging: Staging, *, mode: str, status: str,
    row_count: int, rejected_count: int, schema: dict[str, Any], source: dict[str, Any], digest: str,
    files: list[str], reject_file: str | None, on_publish: Callable[[Session, Batch], None] | None = None,
) -> Batch:
    """Move the staged folder into place and record its manifest row, record count and ledger
    event in one transaction; if the commit fails the moved folder is removed again."""
    try:
        with db.write() as s:
            resource = _lock_resource(s, resource_id)
            require(can_edit_catalogue(actor, resource.org_id), "归集数据")
            region_code, org_uscc = H.holdings().place(s, resource)
            seq = (s.execute(select(func.max(Batch.seq)).where(Batch.resource_id == resource_id)).scalar() or 0) + 1
            relative = batch_dir(region_code, org_uscc, resource.code, seq)
            # the Parquet bytes a read of the live state must scan (compaction's byte rule)
            source = {**source, "stored_bytes": _staged_bytes(staging, files)}
            relative = staging.move_to(relative)  # on S3: the batch's own prefix beside it
            crash_point("renamed")
            now = utcnow()
            batch = Batch(resource_id=resource_id, seq=seq, mode=mode, status=status, path=relative, files=files,
                          row_count=row_count, rejected_count=rejected_count, schema=schema, source=source,
                          digest=digest, reject_path=reject_file, created_by=actor.username, created_at=now,
                          published_at=now if status == BatchStatus.PUBLISHED.value else None)
            s.add(batch)
            s.flush()
            if status == BatchStatus.PUBLISHED.value:
                resource.record_count = count_current(s, resource_id)
                _compact_when_due(s, resource)
            ledger_service.append(s, actor, "zone.batch.publish" if status == BatchStatus.PUBLISHED.value
                                  else "zone.batch.hold", "batch", batch.id, {
                                      "resource": resource.code, "seq": seq, "mode": mode, "status": status,
                                      "rows": row_count, "rejected": rejected_count, "digest": digest,
                                      "record_count": resource.record_count})
            if on_publish is not None:
                on_publish(s, batch)
            crash_point("before_commit")
    except BaseException:
        staging.undo_move()
        raise
    return batch


def _staged_bytes(staging: Staging, files: list[str]) -> int:
    return sum((staging.path / f).stat().st_size for f in files if (staging.path / f).is_file())


COMPACT_JOB = "zone.compact"  # its handler is zone.compact's (which imports this module, not back)


def _compact_when_due(session: Session, resource: H.Holding) -> None:
    """Past `YBZ_COMPACT_BATCHES` live batches or `YBZ_COMPACT_BYTES` of increments, queue the
    resource's compaction (one at a time)."""
    if compaction_due(session, resource.id):
        jobs.enqueue(session, Actor.system(), COMPACT_JOB, {"resource_id": resource.id},
                     dedupe_key=f"{COMPACT_JOB}:{resource.id}", org_id=resource.org_id)


def compaction_due(session: Session, resource_id: int) -> bool:
    """A resource is compacted by the worker past either setting: more live batches than
    `YBZ_COMPACT_BATCHES`, or more than `YBZ_COMPACT_BYTES` of Parquet in the increments on top
    of its base (the live batches after the first: what every read must union and de-duplicate
    beside the base). A few large 追加 batches cost a read as much as many small ones."""
    settings = get_settings()
    live = _live_batches(session, resource_id)
    if settings.compact_batches > 0 and len(live) > settings.compact_batches:
        return True
    increments = sum(int((b.source or {}).get("stored_bytes") or 0) for b in live[1:])
    return settings.compact_bytes > 0 and len(live) > 1 and increments > settings.compact_bytes


def _held(session: Session, actor: Actor, batch_id: int) -> tuple[Batch, H.Holding]:
    batch = session.execute(select(Batch).where(Batch.id == batch_id).with_for_update()).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"批次 {batch_id}", "batch_not_found")
    resource = _lock_resource(session, batch.resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "确认批次")
    if batch.status != BatchStatus.HELD.value:
        raise Conflict("batch_not_held", "批次{seq}不是待确认状态（当前：{status}）", seq=batch.seq,
                       status=batch.status)
    return batch, resource


def confirm_batch(session: Session, actor: Actor, batch_id: int) -> Batch:
    """The steward accepts a held batch despite its rejects: it joins the current state."""
    batch, resource = _held(session, actor, batch_id)
    batch.status = BatchStatus.PUBLISHED.value
    batch.published_at = utcnow()
    session.flush()
    resource.record_count = count_current(session, resource.id)
    ledger_service.append(session, actor, "zone.batch.confirm", "batch", batch.id,
                          {"resource": resource.code, "seq": batch.seq, "record_count": resource.record_count})
    return batch


def discard_batch(session: Session, actor: Actor, batch_id: int) -> Batch:
    """The steward refuses a held batch: it is never part of the current state."""
    batch, resource = _held(session, actor, batch_id)
    batch.status = BatchStatus.DISCARDED.value
    ledger_service.append(session, actor, "zone.batch.discard", "batch", batch.id,
                          {"resource": resource.code, "seq": batch.seq})
    return batch
