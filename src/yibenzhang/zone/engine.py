"""Which engine runs what. Stages ask for the engine of a kind of work; this module alone knows
the rule (DESIGN, "The zone engine"):

- interactive work (a page of rows, a 核验 look-up, a preview, a count for a page) always runs on
  DuckDB in process: a Spark job's start-up would cost more than the answer;
- heavy work (collection of a large file, quality over a whole resource, a classification — a
  full scan, or a sample, whose top-n reads every row too —, compaction, a delivery or an
  export, a sandbox aggregate) runs on Spark when `YBZ_ENGINE=spark` and `YBZ_SPARK_REMOTE`
  names a Spark Connect server, and its input is at least `YBZ_SPARK_MIN_BYTES` (default
  256 MB); otherwise on DuckDB;
- a masked exit whose plan calls the platform's keyed functions (pseudonyms, SM4: HMAC-SM3 and
  SM4 are Python kernels that only DuckDB's hook registers; Spark runs no Python on its hot path)
  runs on DuckDB whatever its size; a delivery masked by the other operators (kept characters,
  surnames, years, districts, rounding, redaction: SQL that both engines run alike) may go to
  Spark;
- an open-data export runs on DuckDB: its files number the rows in one global order and are
  written as one file (csv, json, xlsx), which on Spark would be a single partition.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import get_settings
from ..errors import DomainError
from .duck import (
    MEMORY_LIMIT,
    THREADS,
    Connection,
    DuckDBEngine,
    EngineError,
    install,
    literal_rows,
    load_extension,
    shared_cursor,
)
from .functions import Function
from .port import Engine

__all__ = [
    "MEMORY_LIMIT",
    "THREADS",
    "Connection",
    "DuckDBEngine",
    "Engine",
    "EngineError",
    "Function",
    "Work",
    "engine_for",
    "get_engine",
    "install",
    "json_value",
    "literal_rows",
    "load_extension",
    "named_engine",
    "shared_cursor",
]


class Work(StrEnum):
    PAGE = "page"
    LOOKUP = "lookup"
    PREVIEW = "preview"
    COUNT = "count"
    COLLECT = "collect"
    QUALITY = "quality"
    CLASSIFY = "classify"
    COMPACT = "compact"
    DELIVERY = "delivery"
    EXPORT = "export"
    SANDBOX = "sandbox"


HEAVY = frozenset({Work.COLLECT, Work.QUALITY, Work.CLASSIFY, Work.COMPACT, Work.DELIVERY, Work.EXPORT,
                   Work.SANDBOX})
ON_SPARK = HEAVY - {Work.EXPORT}  # the heavy work Spark may take (see the module's rule)


@lru_cache(maxsize=4)
def _duckdb(zone: str) -> DuckDBEngine:
    return DuckDBEngine(Path(zone))


@lru_cache(maxsize=4)
def _spark(remote: str) -> Engine:
    # deferred: keeps zone.spark out of this module's import
    from .spark import SparkEngine

    return SparkEngine(remote)


def spark_reads_s3() -> bool:
    """Whether the Spark client ships the S3A connector (hadoop-aws and the AWS SDK bundle): the
    pyspark wheel does not, and Maven is out of reach offline, so Spark refuses an S3 zone."""
    try:
        import pyspark
    except ImportError:
        return False
    jars = Path(pyspark.__file__).parent / "jars"
    return any(jars.glob("hadoop-aws-*.jar")) and any(jars.glob("bundle-*.jar"))


def _spark_for_zone(remote: str) -> Engine:
    """The Spark engine, or `engine_unavailable` with its reason when the zone is on S3 and Spark
    cannot read s3a:// (never a silent fall-back to another engine)."""
    if get_settings().zone_on_s3 and not spark_reads_s3():
        raise DomainError("engine_unavailable", "查询引擎“{engine}”不能读取S3数据区（缺少 hadoop-aws 连接器）",
                          engine="spark")
    return _spark(remote)


def named_engine(kind: str) -> Any:
    """The engine of that name, whatever the rule says (`ybz compact --engine`, the parity suite)."""
    settings = get_settings()
    if kind == "duckdb":
        return _duckdb(str(settings.zone))
    if kind == "spark" and settings.spark_remote:
        return _spark_for_zone(settings.spark_remote)
    raise DomainError("engine_unavailable", "查询引擎“{engine}”不可用", engine=kind)


def engine_for(work: Work, *, input_bytes: int = 0, keyed: bool = False) -> Any:
    """The engine of a kind of work; `keyed`: its plan calls the platform's keyed functions."""
    settings = get_settings()
    if settings.engine not in ("duckdb", "spark"):
        raise DomainError("engine_unavailable", "查询引擎“{engine}”不可用", engine=settings.engine)
    if (settings.engine == "spark" and settings.spark_remote and work in ON_SPARK and not keyed
            and input_bytes >= settings.spark_min_bytes):
        return _spark_for_zone(settings.spark_remote)
    return _duckdb(str(settings.zone))


def get_engine() -> DuckDBEngine:
    """The in-process engine, for the stages whose DuckDB SQL has not moved behind the port yet."""
    return _duckdb(str(get_settings().zone))


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
