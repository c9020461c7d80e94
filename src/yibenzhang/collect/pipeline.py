"""The collection pipeline: a source (file or Arrow batches) → mapping → one pass of DuckDB SQL
over the stream (coercion, the accepted rows written to Parquet in order by parallel threads,
the bad rows handed to a side-effect function that spills them to a scratch file) → rejects
written from those bad rows → SM3 digest → published atomically with its manifest row and
ledger event → quality assessment (if installed).

Nothing is visible before publication; a failure or a kill at any point leaves the resource as
it was (the staging folder is removed now or by `ybz init`). rows_read = accepted + rejected.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import registry
from ..access import Actor, can_edit_catalogue, require
from ..catalog.model import Resource
from ..catalog.service import get_resource
from ..config import get_settings
from ..db import Database
from ..enums import ResourceStatus
from ..errors import DomainError, ErrorBag, StorageFull, ValidationFailed, is_no_space
from ..lineage import collect as lineage
from ..zone.engine import EngineError, Work, engine_for, get_engine
from ..zone.model import Batch, BatchMode, BatchStatus
from ..zone.port import RELATION, Files
from ..zone.service import publish_batch
from ..zone.storage import Staging, crash_point, sm3_files
from . import readers, rejects
from .coerce import MACROS, ItemSpec, Plan
from .mapping import resolve, suggest
from .model import ColumnMapping

log = logging.getLogger(__name__)
PART = "part-000000.parquet"
REJECTS = "rejects.csv"
# A column with this many values and none convertible is a wrong file or mapping, not bad rows.
MISMATCH_MIN = 2
SINK = "ybz_bad_row"
TICK_SECONDS = 0.25


@dataclass
class Progress:
    rows: int
    bytes: int
    total_bytes: int
    seconds: float


@dataclass
class IngestReport:
    batch_id: int
    batch_seq: int
    status: str
    mode: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    reject_file: str | None
    seconds: float
    rows_per_s: float
    mb_per_s: float
    quality: dict[str, Any] | None = None
    source: dict[str, Any] | None = None  # what was detected: format, encoding, delimiter, sheet

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Target:
    id: int
    code: str
    org_id: int
    items: list[ItemSpec]
    saved: dict[str, str]
    has_keys: bool


def _target(db: Database, actor: Actor, resource: int | str) -> _Target:
    with db.read() as s:
        r: Resource = get_resource(s, actor, resource)
        require(can_edit_catalogue(actor, r.org_id), "归集数据", "collect_denied")
        if r.status == ResourceStatus.RETIRED.value:
            raise DomainError("resource_retired", "信息资源{resource}已停用，不能归集", resource=r.code)
        if not r.items:
            raise DomainError("resource_no_items", "信息资源{resource}没有信息项，不能归集", resource=r.code)
        saved = dict(s.execute(select(ColumnMapping.source, ColumnMapping.item)
                               .where(ColumnMapping.resource_id == r.id)).all())
        items = [ItemSpec.of(i) for i in r.items]
        return _Target(r.id, r.code, r.org_id, items, saved, any(i.is_key for i in items))


def check_can_collect(db: Database, actor: Actor, resource: int | str) -> None:
    """Refuse early (before an upload is stored) what the ingest would refuse."""
    _target(db, actor, resource)


def _mode(target: _Target, mode: str | None) -> str:
    if mode is None:
        return (BatchMode.UPSERT if target.has_keys else BatchMode.FULL).value
    parsed = BatchMode.parse(mode) or {"full": BatchMode.FULL, "append": BatchMode.APPEND,
                                       "upsert": BatchMode.UPSERT}.get(mode.lower())
    if parsed is None:
        raise DomainError("mode_unknown", "未知的取值“{value}”，可选：{allowed}", value=mode,
                          allowed="、".join(BatchMode.values()))
    if parsed == BatchMode.UPSERT and not target.has_keys:
        raise DomainError("mode_needs_key", "信息资源{resource}没有主键信息项，不能按“更新”方式归集",
                          resource=target.code)
    return parsed.value


def _stream(source: readers.Source, started: float, progress: Callable[[Progress], None] | None,
            failure: list[BaseException]) -> pa.RecordBatchReader:
    """The source as an Arrow stream for the engine. An exception raised while the engine pulls
    batches reaches us as the engine's error: it is kept in `failure` to be raised as itself."""
    first = next(source.batches, None)
    if first is None:
        schema = pa.schema([(c, pa.string()) for c in source.columns] + [("_row", pa.int64())])
        return pa.RecordBatchReader.from_batches(schema, iter(()))
    rest = source.batches
    report = progress if source.position is None else None  # else _Ticker reports

    def counted() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            for b in _chain(first, rest):
                rows += b.num_rows
                if report is not None:
                    report(Progress(rows, source.bytes_read(), source.total_bytes, time.monotonic() - started))
                yield b
        except BaseException as exc:
            failure.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(first.schema, counted())


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


class _Ticker:
    """Reports the progress of a source that knows its own position (a file being decoded, then
    parsed) from another thread, a few times a second."""

    def __init__(self, source: readers.Source, started: float, progress: Callable[[Progress], None] | None) -> None:
        self.source, self.started = source, started
        self.progress = progress if source.position is not None else None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ingest-progress", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(TICK_SECONDS):
            self.tick()

    def tick(self) -> None:
        if self.progress is not None and self.source.position is not None:
            rows, nbytes = self.source.position()
            self.progress(Progress(rows, nbytes, self.source.total_bytes, time.monotonic() - self.started))

    def __enter__(self) -> _Ticker:
        if self.progress is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        self.tick()


class _BadRows:
    """The side-effect function of the single pass: receives the records of bad rows (a few
    vectors at a time, from the engine's threads) and spills them to an Arrow IPC file in the
    scratch folder, so a file full of bad rows still needs little memory."""

    def __init__(self, path: Path, struct_type: str, con: Any) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.writer: pa.ipc.RecordBatchFileWriter | None = None
        self.failure: BaseException | None = None
        con.create_function(SINK, self, [struct_type], "BOOLEAN", type="arrow", side_effects=True,
                            null_handling="special")

    def __call__(self, records: Any) -> pa.Array:
        try:
            if isinstance(records, pa.ChunkedArray):
                records = records.combine_chunks()
            batch = pa.RecordBatch.from_struct_array(records)
            with self.lock:
                if self.writer is None:
                    self.writer = pa.ipc.new_file(str(self.path), batch.schema)
                self.writer.write_batch(batch)
        except BaseException as exc:
            self.failure = exc
            raise
        return pa.array(np.zeros(len(records), dtype=bool))

    def table(self, struct_type: pa.DataType) -> pa.Table:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            return pa.ipc.open_file(pa.memory_map(str(self.path))).read_all()
        return pa.Table.from_batches([], pa.schema(list(struct_type)))


def _run(db: Database, actor: Actor, resource: int | str, opener: Callable[[Any, Path, _Target], readers.Source], *,
         source_info: dict[str, Any], mode: str | None, mapping: dict[str, str] | None,
         progress: Callable[[Progress], None] | None, file: bool = False,
         run: lineage.CollectionRun | None = None) -> IngestReport:
    started = time.monotonic()
    target = _target(db, actor, resource)
    batch_mode = _mode(target, mode)
    run = run or lineage.start(db, target.code, source_info)  # issue 18: OpenLineage START … COMPLETE | FAIL
    con = get_engine().connect()  # in process: the readers, the bad rows' reasons
    for macro in MACROS:
        con.execute(macro)
    zone_root = get_settings().zone
    staging = Staging(zone_root)  # becomes the batch folder
    work = Staging(zone_root)  # scratch: decoded text, bad rows; never published
    source: readers.Source | None = None
    try:
        source = opener(con, work.path, target)
        plan = Plan(target.items, resolve(target.items, source.columns, explicit=mapping, saved=target.saved))
        engine = engine_for(Work.COLLECT, input_bytes=source.total_bytes)  # a large file: Spark
        coerce = _coerce_on_spark if engine.name == "spark" else _coerce_here
        files, bad_rows = coerce(engine, con, source, plan, staging.path, work.path, started, progress)
        source.finish()
        parts = [staging.path / f for f in files]
        rows_accepted = sum(pq.read_metadata(p).num_rows for p in parts)
        con.register("bad_rows", bad_rows)
        stats = con.sql(plan.bad_stats_sql("bad_rows")).fetchall()[0]
        refused = source.refused()  # rows the reader could not split into the header's columns
        rows_rejected = int(stats[0]) + refused.num_rows
        rows_read = rows_accepted + rows_rejected
        _type_mismatches(plan, stats, parts)
        if file and not rows_read:
            # A header-only file is a mistake more often than "the resource is now empty": say so
            # rather than publish a batch that (in 全量 mode) would empty the resource.
            raise DomainError("file_no_rows", "文件只有表头，没有数据行")
        reject_file = None
        if rows_rejected:
            con.register("refused_rows", refused)
            rejects.write(con, plan.rejects_sql("bad_rows", "refused_rows"), staging.path / REJECTS)
            reject_file = REJECTS
        con.close()
        digest = sm3_files(parts)
        part_size = sum(p.stat().st_size for p in parts)
        crash_point("staged")
        rate = rows_rejected / rows_read if rows_read else 0.0
        held = rate > get_settings().rules.reject_hold_rate
        status = (BatchStatus.HELD if held else BatchStatus.PUBLISHED).value
        info = {**source_info, **source.meta, "columns": source.columns}

        def remember(s: Session, batch: Batch) -> None:
            _save_mappings(s, actor, target.id, mapping or {})
            lineage.complete(s, run, columns=plan.schema(), rows=rows_accepted,
                             published=status == BatchStatus.PUBLISHED.value, size=part_size)

        batch = publish_batch(
            db, actor, target.id, staging, mode=batch_mode, status=status, row_count=rows_accepted,
            rejected_count=rows_rejected, schema={"columns": plan.schema(), "mapping": plan.mapping},
            source=info, digest=digest, files=files, reject_file=reject_file, on_publish=remember)
    except readers.Irregular as exc:
        exc.lineage_run = run  # type: ignore[attr-defined]  # the exact re-read continues this run
        raise
    except BaseException as exc:
        lineage.fail(db, run, exc)
        if isinstance(exc, OSError | EngineError) and is_no_space(exc):
            # the zone is full: a clear error; the staging folder goes below
            raise StorageFull() from None
        raise
    finally:
        if source is not None:
            source.close()
        con.close()
        staging.close()
        work.close()
    seconds = time.monotonic() - started
    quality = _assess(db, actor, target.id, batch.id) if status == BatchStatus.PUBLISHED.value else None
    seconds_total = time.monotonic() - started
    total_bytes = source.total_bytes if source else 0
    return IngestReport(
        batch_id=batch.id, batch_seq=batch.seq, status=status, mode=batch_mode, rows_read=rows_read,
        rows_accepted=rows_accepted, rows_rejected=rows_rejected,
        reject_file=f"{batch.path}/{reject_file}" if reject_file else None, seconds=round(seconds_total, 3),
        rows_per_s=round(rows_read / seconds, 1) if seconds else 0.0,
        mb_per_s=round(total_bytes / 1e6 / seconds, 2) if seconds else 0.0, quality=quality,
        source=dict(source.meta) if source else None)


def _coerce_here(engine: Any, con: Any, source: readers.Source, plan: Plan, folder: Path, work: Path,
                 started: float, progress: Callable[[Progress], None] | None) -> tuple[list[str], pa.Table]:
    """DuckDB in process, one pass over the stream: the accepted rows written to one Parquet file
    in order, the bad rows' records handed to a side-effect function that spills them."""
    struct_sql = plan.bad_struct()[1]
    bad = _BadRows(work / "bad.arrow", struct_sql, con)
    failure: list[BaseException] = []
    with _Ticker(source, started, progress):
        con.register("src_stream", _stream(source, started, progress, failure))
        try:
            con.execute(plan.write_sql("src_stream", str(folder / PART), SINK)).fetchall()
        except EngineError:
            cause = failure[0] if failure else bad.failure
            if cause is not None:
                raise cause from None
            raise
    return [PART], bad.table(_arrow_struct(con, struct_sql))


def _coerce_on_spark(engine: Any, con: Any, source: readers.Source, plan: Plan, folder: Path, work: Path,
                     started: float, progress: Callable[[Progress], None] | None) -> tuple[list[str], pa.Table]:
    """Spark (issue 13): the source, decoded here as it is for DuckDB (encodings, XLSX, ragged
    rows), is spooled to Parquet as text in the scratch folder; Spark coerces it with the same
    plan (its macros written out, `Plan.inline`) and writes the accepted rows as the batch's
    files; the bad rows' records come back (few) for the reject file."""
    raw = work / "raw.parquet"
    with _Ticker(source, started, progress):
        stream = _stream(source, started, progress, [])
        with pq.ParquetWriter(raw, stream.schema, compression="zstd") as writer:
            for batch in stream:
                writer.write_batch(batch)
    spark_plan = Plan(plan.items, plan.mapping, inline=True)
    written, bad = engine.split(Files((str(raw),)), spark_plan.coerced_sql(RELATION), plan.kept_sql(RELATION),
                                plan.bad_sql(RELATION), str(folder), str(work))
    types = pa.schema(list(_arrow_struct(con, plan.bad_struct()[1])))
    return written.files, bad.cast(types) if len(bad) else types.empty_table()


def _arrow_struct(con: Any, struct_sql: str) -> pa.DataType:
    """The Arrow type of a DuckDB STRUCT type (for an empty table of bad rows)."""
    return con.sql(f"SELECT NULL::{struct_sql} AS s LIMIT 0").to_arrow_table().schema.field("s").type


def _type_mismatches(plan: Plan, stats: tuple[Any, ...], parts: list[Path]) -> None:
    """A whole column that cannot be its item's type is a wrong file or a wrong mapping, not a
    set of bad rows: refuse the batch (nothing is published)."""
    bag = ErrorBag()
    col = 1
    meta = None
    for item in plan.items:
        if item in plan.fallible():
            failed, ok = int(stats[col]), int(stats[col + 1])
            col += 2
            # a code column all in scientific notation is rows to send again, not a wrong type
            if failed >= MISMATCH_MIN and not ok and plan.letter(item) != "C":
                meta = meta or [pq.read_metadata(p) for p in parts]
                if sum(_converted(m, item.name) for m in meta) == 0:
                    bag.add(f"items.{item.name}", "type_mismatch",
                            "源列“{column}”的值都不能作为{type}（信息项“{item}”）",
                            column=plan.mapping[item.name], type=item.data_type, item=item.name)
    bag.raise_if_any("type_mismatch")


def _converted(meta: pq.FileMetaData, column: str) -> int:
    """Non-null values of `column` in a written Parquet file, from its row-group statistics."""
    index = meta.schema.names.index(column)
    total = 0
    for g in range(meta.num_row_groups):
        chunk = meta.row_group(g)
        stats = chunk.column(index).statistics
        nulls = stats.null_count if stats is not None and stats.has_null_count else 0
        total += chunk.num_rows - nulls
    return total


def _save_mappings(s: Session, actor: Actor, resource_id: int, mapping: dict[str, str]) -> None:
    for source, item in mapping.items():
        row = s.execute(select(ColumnMapping).where(ColumnMapping.resource_id == resource_id,
                                                    ColumnMapping.source == source)).scalar_one_or_none()
        if row is None:
            s.add(ColumnMapping(resource_id=resource_id, source=source, item=item, created_by=actor.username))
        else:
            row.item = item


def _assess(db: Database, actor: Actor, resource_id: int, batch_id: int) -> dict[str, Any] | None:
    """The resource's quality over its current rows (every live batch, upserts applied), not over
    the new batch alone: a small batch must not set the resource's score (issue 15)."""
    assess = registry.load("yibenzhang.quality.service:assess_current")
    if assess is None:
        return None
    try:
        return assess(db, actor, resource_id)
    except DomainError as exc:
        # The batch is published; a failed assessment is reported, not a lost batch.
        log.warning("quality assessment after batch %s failed: %s", batch_id, exc.code)
        return {"error": exc.code}
    except Exception as exc:  # published already: report it, never crash after publishing
        log.exception("quality assessment after batch %s failed", batch_id)
        return {"error": "quality_failed", "detail": type(exc).__name__}


def open_json(path: Path, options: readers.ReadOptions) -> readers.Source:
    """The JSON reader's opener: the in-process engine reads the file (DuckDB's read_json)."""
    return readers.open_json(path, get_engine().connect())


def ingest_file(db: Database, actor: Actor, resource: int | str, path: str | Path, *, fmt: str | None = None,
                encoding: str | None = None, sheet: str | None = None, mode: str | None = None,
                mapping: dict[str, str] | None = None,
                progress: Callable[[Progress], None] | None = None) -> IngestReport:
    path = Path(path)
    if not path.is_file():
        raise DomainError("file_not_found", "文件不存在：{path}", path=str(path))
    reader = readers.reader_for(path, fmt)

    exact = [True]

    def opener(con: Any, work: Path, target: _Target) -> readers.Source:
        names = (*(i.name for i in target.items), *target.saved)  # they find a header below a title row
        return reader.open(path, readers.ReadOptions(encoding, sheet, names, work, exact[0]))

    info = {"kind": "file", "file": path.name, "bytes": path.stat().st_size}
    try:
        return _run(db, actor, resource, opener, source_info=info, mode=mode, mapping=mapping,
                    progress=progress, file=True)
    except readers.Irregular as exc:
        # Ragged rows or a malformed quote: nothing was published; read it again record by record
        # to refuse exactly those rows (or name the malformed record's line).
        exact[0] = False
        return _run(db, actor, resource, opener, source_info=info, mode=mode, mapping=mapping,
                    progress=progress, file=True, run=getattr(exc, "lineage_run", None))


def ingest_arrow(db: Database, actor: Actor, resource: int | str, batches: Iterable[pa.RecordBatch], *,
                 source: dict[str, Any], mode: str | None = None, mapping: dict[str, str] | None = None,
                 progress: Callable[[Progress], None] | None = None) -> IngestReport:
    """Ingest Arrow record batches (database pulls, HTTP push); rows are numbered in order."""
    it = iter(batches)
    first = next(it, None)

    def opener(con: Any, work: Path, target: _Target) -> readers.Source:
        if first is None:
            raise DomainError("file_empty", "文件为空或没有表头")
        columns = [c for c in first.schema.names if c != "_row"]
        return readers.Source(columns, readers.with_rows(_chain(first, it)), {"format": "arrow"})

    return _run(db, actor, resource, opener, source_info=dict(source), mode=mode, mapping=mapping,
                progress=progress)


@dataclass
class ColumnCheck:
    """A file's columns beside the resource's items, before anything is ingested: whether they
    map as they are (names, normalized names, the saved mapping), the mapping problems, and a
    suggested item per column for the console's mapping step."""

    columns: list[str]
    items: list[dict[str, Any]]
    ok: bool
    problems: list[dict[str, Any]]
    suggested: dict[str, str | None]
    source: dict[str, Any]


def check_columns(db: Database, actor: Actor, resource: int | str, path: str | Path, *, fmt: str | None = None,
                  encoding: str | None = None, sheet: str | None = None,
                  mapping: dict[str, str] | None = None, known: ColumnCheck | None = None) -> ColumnCheck:
    """Read only the file's header (a CSV's first line, an XLSX sheet's header rows) and check
    `mapping` (or the names alone) against the items. Unreadable files raise as the ingest would.
    `known`: an earlier check of the same file, whose columns are taken instead of reading again."""

    path = Path(path)
    target = _target(db, actor, resource)
    if known is not None:
        columns, meta = known.columns, known.source
    else:
        columns, meta = _header_of(target, path, fmt, encoding, sheet)
    problems: list[dict[str, Any]] = []
    try:
        resolve(target.items, columns, explicit=mapping, saved=target.saved)
    except ValidationFailed as exc:
        problems = [{"field": e.field, "code": e.code, "message": e.message, "params": e.params}
                    for e in exc.errors]
    items = [{"name": i.name, "data_type": i.data_type, "required": i.required, "is_key": i.is_key}
             for i in target.items]
    return ColumnCheck(columns, items, not problems, problems, suggest(target.items, columns, target.saved), meta)


def _header_of(target: _Target, path: Path, fmt: str | None, encoding: str | None,
               sheet: str | None) -> tuple[list[str], dict[str, Any]]:
    reader = readers.reader_for(path, fmt)
    work = Staging(get_settings().zone)
    source: readers.Source | None = None
    try:
        names = (*(i.name for i in target.items), *target.saved)
        source = reader.open(path, readers.ReadOptions(encoding, sheet, names, work.path))
        return [c for c in source.columns if c != "_row"], dict(source.meta)
    finally:
        if source is not None:
            source.close()
        work.close()
