"""Recording a sandbox run, whichever way it was released (the checked query in `sandbox`, the
noisy statistic in `privacy`): its output in the zone, its refusal, its ledger entry and its
access-log entry, so both exits record the same facts the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from ..access import Actor
from ..crypto import canonical_json, sm3_hex
from ..i18n import translate
from ..ledger import access_log
from ..ledger import service as ledger
from ..zone.store import get_store
from . import sql_guard
from .model import SandboxRun


def output_digest(table: pa.Table) -> str:
    """SM3 over canonical JSON of the column names and the rows, in output order."""
    rows = [list(r.values()) for r in table.to_pylist()]
    return sm3_hex(canonical_json({"columns": table.column_names, "rows": rows}))


def store_output(run: SandboxRun, table: pa.Table) -> str:
    """Write the released output to the zone: a temporary file first, then an atomic rename."""

    rel = f"sandbox/{run.id}.parquet"
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    get_store().write_atomic(rel, sink.getvalue().to_pybytes())
    return rel


def output_path(run: SandboxRun) -> Path | None:
    """A local path of the run's released output (on an S3 zone, a cached copy of the object)."""

    return get_store().local_file(run.output_path) if run.output_path else None


def note_refusal(run: SandboxRun, refusal: sql_guard.Refusal) -> None:
    """The refusal on the run: its code, its Chinese reason, and the message with its parameters
    (so the reason can be shown again in the reader's language)."""
    run.reason_code = refusal.code
    run.reason = translate(refusal.message, "zh", **refusal.params)
    run.fingerprint = {"reason": {"message": refusal.message,
                                  "params": {key: str(v) for key, v in refusal.params.items()}}}


def ledger_run(session: Session, actor: Actor, run: SandboxRun, auth_id: int, held_for: list[str],
               **extra: Any) -> None:
    ledger.append(session, actor, "operate.sandbox.run", "operate_sandbox_run", run.id, {
        "authorization_id": auth_id, "sql_digest": run.sql_digest, "state": run.state,
        "release_kind": run.release_kind, "reason_code": run.reason_code, "resources": run.resources,
        "row_count": run.row_count, "output_digest": run.output_digest, **extra, "held_for": held_for})


def log_release(session: Session, actor: Actor, run: SandboxRun, auth_id: int, resource_id: int,
                items: list[str]) -> None:
    """Issue 23: what left the sandbox, by item names and row count, never values."""
    access_log.record_read(
        session, actor, exit=access_log.SANDBOX_RELEASE, resource_id=resource_id,
        items=items or run.columns, rows=run.row_count or 0,
        detail={"run_id": run.id, "authorization_id": auth_id, "release_kind": run.release_kind})
