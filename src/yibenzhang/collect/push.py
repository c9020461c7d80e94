"""HTTP push: a provider org's system posts JSON rows to its resource with an API token.

`POST /api/v1/resources/{id}/rows` with `{"rows": [{item: value, …}, …], "mode": "追加"|"更新"}`
goes through the same pipeline as a file (mapping, coercion, rejects, quality) and answers with
the IngestReport plus the rejected rows' indexes (0-based, into `rows`) and reasons.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ..access import Actor, require
from ..catalog import service as catalog
from ..db import Database
from ..deps import database, require_user
from ..enums import Role
from ..errors import DomainError, Unauthenticated, ValidationFailed
from ..params import Key, Text
from ..zone.store import get_store
from .pull import as_strings

# Rows per request: a push is for a system's steady trickle; bulk loads go through files or
# pulls. 10,000 rows of ~20 columns is a few MB of JSON.
DEFAULT_MAX_ROWS = 10_000
PUSH_MODES = ("追加", "更新")  # never 全量: a push of a few rows must not replace a resource
MAX_REJECTS_SHOWN = 1_000


def max_rows() -> int:
    raw = os.environ.get("YBZ_PUSH_MAX_ROWS")
    return int(raw) if raw else DEFAULT_MAX_ROWS


class TooManyRows(DomainError):
    status = 413


class PushIn(BaseModel):
    rows: list[dict[str, Any]] = Field(default_factory=list)
    mode: Text | None = None


def rows_to_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """JSON objects as one all-string record batch; columns are the union of the rows' keys
    (pyarrow infers the struct over every row, not just the first)."""
    try:
        structs = pa.array(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # One key with mixed types (a number here, a string there): take each value's text.
        structs = pa.array([{k: None if v is None else str(v) for k, v in r.items()} for r in rows])
    if not pa.types.is_struct(structs.type):
        raise ValidationFailed("push_bad_rows", "每一行必须是以信息项名称为键的对象")
    names = [structs.type.field(i).name for i in range(structs.type.num_fields)]
    columns = []
    bag_fields = []
    for name, child in zip(names, structs.flatten(), strict=True):
        if pa.types.is_nested(child.type):
            bag_fields.append(name)
            continue
        columns.append(as_strings(child) if not pa.types.is_string(child.type) else child)
    if bag_fields:
        raise ValidationFailed("push_nested_value", "信息项“{value}”的取值不能是对象或数组",
                               value="、".join(bag_fields))
    return pa.RecordBatch.from_arrays(columns, names=names)


def push_rows(db: Database, actor: Actor, resource: int | str, rows: list[dict[str, Any]],
              mode: str | None = None) -> dict[str, Any]:
    """Only the provider org's steward (its system's token) may push; others get 403."""
    # deferred: keeps duckdb, sqlglot out of this module's import (and tests swap collect.pipeline)
    from . import pipeline

    with db.read() as s:
        res = catalog.get_resource(s, actor, resource)
        require(actor.acts_for_org(res.org_id, Role.STEWARD), "推送数据", "push_forbidden")
        resource_id, has_key = res.id, any(i.is_key for i in res.items)
    if len(rows) > max_rows():
        raise TooManyRows("push_too_many_rows", "每次最多推送{n}行，本次{count}行", n=max_rows(), count=len(rows))
    if not rows:
        raise ValidationFailed("push_no_rows", "没有要推送的数据行")
    if mode is not None and mode not in PUSH_MODES:
        raise ValidationFailed("push_bad_mode", "未知的取值“{value}”，可选：{allowed}", value=mode,
                               allowed="、".join(PUSH_MODES))
    mode = mode or ("更新" if has_key else "追加")
    batch = rows_to_batch(rows)
    report = pipeline.ingest_arrow(db, actor, resource_id, [batch], mode=mode,
                                   source={"kind": "push", "user": actor.username, "rows": len(rows)})
    out = report.as_dict()
    out["rejects"] = read_rejects(out.get("reject_file"))
    return out


# The reject file's header (collect.rejects.HEADER) → the response's keys.
REJECT_KEYS = {"行号": "row", "信息项": "item", "代码": "code", "原因": "reason", "reason": "reason_en",
               "原值": "value"}


def read_rejects(path: str | None, limit: int = MAX_REJECTS_SHOWN) -> list[dict[str, Any]]:
    """The reject file's lines (relative paths are under YBZ_ZONE), each with `index`: the
    0-based position in the posted rows (the file's row numbers count from 1)."""
    if not path:
        return []
    file: Path | None = Path(path)
    if not file.is_absolute():
        file = get_store().local_file(path)
    if file is None or not file.exists():
        return []
    out: list[dict[str, Any]] = []
    with file.open(encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            if len(out) >= limit:
                break
            entry: dict[str, Any] = {REJECT_KEYS.get(k, k): v for k, v in rec.items()}
            if str(entry.get("row", "")).isdigit():
                entry["row"] = int(entry["row"])
                entry["index"] = entry["row"] - 1
            out.append(entry)
    return out


router = APIRouter(tags=["collect"])


@router.post("/api/v1/resources/{resource_id}/rows")
def push(resource_id: Key, body: PushIn, request: Request, actor: Actor = Depends(require_user),
         db: Database = Depends(database)) -> dict[str, Any]:
    """Push rows into a resource (provider org's steward token only)."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise Unauthenticated("push_token_required", "推送数据需要使用API令牌")
    return push_rows(db, actor, resource_id, body.rows, body.mode)
