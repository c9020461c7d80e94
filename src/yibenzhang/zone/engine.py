"""The query engine over the zone. Callers speak SQL and get Arrow tables back; only this
module (and the zone package) knows that the engine is DuckDB, so a Spark engine can serve
the same calls over the same Parquet layout later."""

from __future__ import annotations

import base64
import os
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from ..config import get_settings
from ..errors import DomainError

# Sane limits on a shared machine: DuckDB spills to disk beyond the memory limit, so a 2 GB
# file never needs 2 GB of memory.
MEMORY_LIMIT = os.environ.get("YBZ_DUCKDB_MEMORY", "512MB")
THREADS = int(os.environ.get("YBZ_DUCKDB_THREADS") or min(4, os.cpu_count() or 1))


class Engine(Protocol):
    name: str

    def sql(self, query: str, params: list[Any] | None = None) -> pa.Table: ...

    def connect(self) -> duckdb.DuckDBPyConnection: ...


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, zone: Path) -> None:
        self.zone = zone

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory connection; spill files go to the zone's staging area. Unsigned
        extensions are allowed for quality.native's checks: only the platform's own SQL runs
        here (the operators' sandbox has its own locked connection)."""
        spill = self.zone / ".staging" / ".duckdb_tmp"
        spill.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": THREADS,
                                     "allow_unsigned_extensions": True,
                                     "temp_directory": str(spill), "preserve_insertion_order": True})
        return con

    def sql(self, query: str, params: list[Any] | None = None) -> pa.Table:
        con = self.connect()
        try:
            return con.sql(query, params=params).to_arrow_table() if params else con.sql(query).to_arrow_table()
        finally:
            con.close()


@lru_cache(maxsize=4)
def _engine(kind: str, zone: str) -> Engine:
    if kind == "duckdb":
        return DuckDBEngine(Path(zone))
    raise DomainError("engine_unavailable", "查询引擎“{engine}”不可用", engine=kind)


def get_engine() -> Engine:
    settings = get_settings()
    return _engine(settings.engine, str(settings.zone))


def json_value(v: Any) -> Any:
    """A value read from the engine as JSON carries it: bytes as base64, dates as ISO text,
    decimals as text (no float rounding of amounts)."""
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v
