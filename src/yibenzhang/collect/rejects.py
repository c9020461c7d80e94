"""The reject file: CSV in UTF-8 with a BOM (so spreadsheet programs open it as UTF-8), one
line per failed value: source row/line, item, stable code, reason in Chinese and English, and
the value as sent. It is data, not a log: it lives in the zone next to its batch, readable by
the provider's steward; logs and the ledger carry only counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ..access import can_edit_catalogue, require
from ..catalog import service as catalog
from ..config import get_settings
from ..errors import NotFound
from ..ledger import service as ledger
from ..zone.model import Batch
from ..zone.store import get_store

HEADER = ["行号", "信息项", "代码", "原因", "reason", "原值"]


def write(con: Any, sql: str, path: Path) -> int:
    """Write the rejects of `sql` (columns _row, item, code, reason, reason_en, value); returns
    the number of lines written."""
    reader = con.sql(sql).to_arrow_reader(65536)
    lines = 0
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf")
        writer = None
        for batch in reader:
            batch = pa.RecordBatch.from_arrays(batch.columns, names=HEADER)
            if writer is None:
                writer = pacsv.CSVWriter(f, batch.schema)
            writer.write_batch(batch)
            lines += batch.num_rows
        if writer is None:
            f.write((",".join(HEADER) + "\n").encode())
        else:
            writer.close()
    return lines


def reject_file(session: Any, actor: Any, batch_id: int) -> tuple[Path, str]:
    """The reject file of a batch and a download name. It holds the values as sent (personal
    data): the provider's steward only; each read is in the ledger (counts, never values)."""

    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id}", "batch_not_found")
    resource = catalog.get_resource(session, actor, batch.resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "下载拒收文件")

    path = get_store().local_file(f"{batch.path}/{batch.reject_path}") if batch.reject_path else None
    if path is None:
        raise NotFound("拒收文件", "rejects_not_found")
    ledger.append(session, actor, "zone.rejects.download", "batch", batch.id,
                  {"resource": resource.code, "seq": batch.seq, "rejected": batch.rejected_count})
    return path, f"{resource.code}-{batch.seq}-rejects.csv"


def preview(session: Any, actor: Any, batch_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The first rejects of a batch for its page: line, item, code and reason, never the value
    (the page is not an exit of personal data; the reject file is, and is ledgered). The
    provider's steward only; [] when the batch has no reject file."""

    batch = session.get(Batch, batch_id)
    if batch is None or not batch.reject_path:
        return []
    resource = catalog.get_resource(session, actor, batch.resource_id)
    if not can_edit_catalogue(actor, resource.org_id):
        return []
    path = get_settings().zone / batch.path / batch.reject_path
    if not path.is_file():
        return []
    reader = pacsv.open_csv(str(path), read_options=pacsv.ReadOptions(block_size=1 << 20),
                            convert_options=pacsv.ConvertOptions(
                                column_types=dict.fromkeys(HEADER, pa.string()),
                                include_columns=HEADER[:5]))
    rows: list[dict[str, Any]] = []
    for batch_ in reader:
        for r in batch_.to_pylist():
            rows.append({"line": r["行号"], "item": r["信息项"], "code": r["代码"], "reason": r["原因"],
                         "reason_en": r["reason"]})
            if len(rows) >= limit:
                return rows
    return rows
