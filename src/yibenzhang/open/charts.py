"""The chart on an open dataset's page: counts over its masked Parquet download, by year of the
first date column, else by value of the first text column with few distinct values. Read through
the zone's engine (the file is already masked: no masking functions are needed), so no page
opens an engine of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..zone.engine import Work, engine_for
from ..zone.service import literal, quote


def chart(parquet: Path, *, max_values: int) -> dict[str, Any] | None:
    engine = engine_for(Work.PAGE)
    source = f"read_parquet({literal(str(parquet))})"
    described = engine.sql(f"DESCRIBE SELECT * FROM {source}").to_pylist()
    dates = [d["column_name"] for d in described if d["column_type"] in ("DATE", "TIMESTAMP")]
    texts = [d["column_name"] for d in described if d["column_type"] == "VARCHAR"]
    if dates:
        col = quote(dates[0])
        pairs = engine.sql(f"SELECT substr(CAST({col} AS VARCHAR), 1, 4) AS k, count(*) AS n FROM {source} "
                           f"WHERE {col} IS NOT NULL GROUP BY k ORDER BY k").to_pylist()
        if len(pairs) >= 2:
            return {"column": dates[0], "kind": "year", "labels": [p["k"] for p in pairs],
                    "values": [int(p["n"]) for p in pairs]}
    if texts:
        distinct = engine.sql("SELECT " + ", ".join(f"count(DISTINCT {quote(c)}) AS {quote(c)}" for c in texts)
                              + f" FROM {source}").to_pylist()[0]
        chosen = next((c for c in texts if 2 <= distinct[c] <= max_values), None)
        if chosen:
            col = quote(chosen)
            pairs = engine.sql(f"SELECT CAST({col} AS VARCHAR) AS k, count(*) AS n FROM {source} "
                               f"WHERE {col} IS NOT NULL GROUP BY k ORDER BY n DESC, k").to_pylist()
            return {"column": chosen, "kind": "value", "labels": [p["k"] for p in pairs],
                    "values": [int(p["n"]) for p in pairs]}
    return None
