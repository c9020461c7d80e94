"""The platform's own SQL functions (check digits, keyed masking), declared once as data and
registered on a connection by the engine's one hook (issue 13): `zone.duck.install` for DuckDB.

A function is a vectorized Arrow kernel: whole chunks in, one array out, NULLs handed to the
kernel (it decides what a NULL gives). Stages declare what their SQL calls; only the engine knows
how a connection learns it. Spark runs no Python on its hot path: the same checks reach it as
Spark SQL expressions (quality's portable checks, `zone.spark.spark_sql`), not as these kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

PREFIX = "ybz_"  # every platform function's name starts with it


@dataclass(frozen=True)
class Function:
    name: str
    kernel: Callable[..., pa.Array | Any]
    args: tuple[str, ...]  # argument types in the zone's type names (VARCHAR, BLOB, …)
    returns: str
    side_effects: bool = False  # a kernel whose output differs between calls (random IVs)

    def __post_init__(self) -> None:
        if not self.name.startswith(PREFIX):
            raise ValueError(f"a platform function's name starts with {PREFIX}")
