"""Collection as a plugin: its tables, API (uploads, HTTP push), command, scheduled pulls and file readers."""

from __future__ import annotations

from typing import Any

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.collect.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.collect.routes", "yibenzhang.collect.push"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "collect": "yibenzhang.collect.cli:collect_command",
        "job schedule": "yibenzhang.collect.schedule_cli:schedule_app",  # collection's schedules live in `ybz job`
        "job tick": "yibenzhang.collect.schedule_cli:tick_command",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.collect.pull"]


@hookimpl
def ybz_readers() -> list[Any]:
    # deferred: Arrow and the readers load when a file is first read
    from . import pipeline
    from .readers import Reader, open_csv, open_parquet, open_xlsx

    return [
        Reader("csv", ("csv", "txt"), lambda path, o: open_csv(path, o.encoding, work=o.work, exact=o.exact),
               aliases=("txt", "tsv")),
        Reader("xlsx", ("xlsx", "xlsm"), lambda path, o: open_xlsx(path, o.sheet, list(o.item_names)),
               aliases=("xls",)),
        Reader("json", ("json", "jsonl", "ndjson"), pipeline.open_json, aliases=("jsonl", "ndjson")),
        Reader("parquet", ("parquet", "pq"), lambda path, o: open_parquet(path)),
    ]
