"""`ybz collect`: a file (or a database table, through collect.pull) into a resource's zone,
with a progress bar (rows, MB/s) and a summary; `--confirm/--discard BATCH` for held batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit, err_console
from ..db import get_database
from ..errors import DomainError
from ..registry import load

LINE_SECONDS = 1.0


class _Lines:
    """Progress as plain lines on stderr when it is not a terminal (logs, cron): the first
    report, then at most one a second, then the last. Counts only, never values."""

    def __init__(self) -> None:
        self.last = -1.0
        self.pending: Any = None

    def update(self, p: Any) -> None:
        self.pending = p
        if self.last < 0 or p.seconds - self.last >= LINE_SECONDS:
            self.last = p.seconds
            self._print(p)
            self.pending = None

    def _print(self, p: Any) -> None:
        mbs = p.bytes / 1e6 / p.seconds if p.seconds else 0.0
        share = f" {100 * p.bytes / p.total_bytes:.0f}%" if p.total_bytes else ""
        err_console.print(f"归集 collecting: {p.rows:,} 行 rows, {mbs:.1f} MB/s{share}", highlight=False,
                          soft_wrap=True)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        if self.pending is not None:
            self._print(self.pending)


def _progress_bar(enabled: bool) -> tuple[Any, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled:
        return None, None
    if not err_console.is_terminal:
        lines = _Lines()
        return lines, lines.update
    bar = Progress(TextColumn("[bold]归集 collecting[/bold]"), BarColumn(), TextColumn("{task.fields[rows]:,} 行 rows"),
                   TextColumn("{task.fields[mbs]:.1f} MB/s"), TimeElapsedColumn(), console=err_console, transient=True)
    task = bar.add_task("collect", total=None, rows=0, mbs=0.0)

    def update(p: Any) -> None:
        mbs = p.bytes / 1e6 / p.seconds if p.seconds else 0.0
        bar.update(task, completed=p.bytes or None, total=p.total_bytes or None, rows=p.rows, mbs=mbs)

    return bar, update


def collect_command(
    resource: str = typer.Argument(..., help="信息资源代码或编号 / resource code or id"),
    file: Path | None = typer.Argument(None, help="CSV / XLSX / JSON / Parquet file"),
    fmt: str | None = typer.Option(None, "--format", help="csv | xlsx | json | parquet (default: by suffix)"),
    encoding: str | None = typer.Option(None, "--encoding", help="utf-8 | utf-8-sig | gbk | gb18030 (default: detect)"),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX sheet name (default: the first visible sheet)"),
    mode: str | None = typer.Option(None, "--mode", help="全量|追加|更新 (full|append|upsert)"),
    maps: list[str] | None = typer.Option(None, "--map", help="源列=信息项 (saved for next time); 源列=- ignores"),
    db_url: str | None = typer.Option(None, "--db", help="SQLAlchemy URL to pull from"),
    table: str | None = typer.Option(None, "--table"),
    query: str | None = typer.Option(None, "--query"),
    since_column: str | None = typer.Option(None, "--since-column"),
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="With `ybz collect rejects BATCH`: where to write the reject file."),
    confirm: int | None = typer.Option(None, "--confirm", help="Confirm held batch BATCH (id)."),
    discard: int | None = typer.Option(None, "--discard", help="Discard held batch BATCH (id)."),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Collect rows into a resource: `ybz collect RESOURCE FILE` or `--db URL --table T`;
    `ybz collect rejects BATCH -o FILE` saves a batch's reject file."""
    # deferred: keeps `ybz --help` light
    from .mapping import parse_map

    with domain_errors(as_json):
        actor = acting_as(as_user)
        db = get_database()
        if resource == "rejects":
            _save_rejects(db, actor, str(file) if file is not None else "", output, as_json)
            return
        if confirm is not None or discard is not None:
            # deferred: keeps duckdb, sqlglot out of this module's import
            from ..zone import service as zone

            with db.write() as s:
                batch = zone.confirm_batch(s, actor, confirm) if confirm is not None else \
                    zone.discard_batch(s, actor, discard)  # type: ignore[arg-type]
                emit(zone.batch_dict(batch), as_json)
            return
        mapping = parse_map(maps)
        bar, update = _progress_bar(not as_json)
        if bar is not None:
            bar.start()
        try:
            if db_url:
                pull = load("yibenzhang.collect.pull:pull_database")
                if pull is None:
                    raise DomainError("pull_unavailable", "本安装不含数据库归集（collect.pull）")
                report = pull(db, actor, resource, db_url, table=table, query=query, since_column=since_column,
                              mode=mode, progress=update)
            elif file is not None:
                # deferred: keeps duckdb, httpx, sqlglot out of this module's import
                from .pipeline import ingest_file

                report = ingest_file(db, actor, resource, file, fmt=fmt, encoding=encoding, sheet=sheet, mode=mode,
                                     mapping=mapping, progress=update)
            else:
                raise DomainError("collect_source_missing", "请指定文件，或用 --db URL --table T 指定数据库")
        finally:
            if bar is not None:
                bar.stop()
        out = report.as_dict()
        if not as_json:
            out = _summary(out)
        emit(out, as_json)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report for a steward: what was detected, the counts, and how to get the rejects."""
    source = report.pop("source", None) or {}
    detected = ", ".join(f"{k}={v}" for k, v in source.items() if k in ("format", "encoding", "delimiter", "sheet",
                                                                       "header_row", "reader"))
    report["detected 识别"] = detected
    if source.get("sheet_hidden"):
        report["hidden sheet read 读取了隐藏工作表"] = source["sheet"]
    unread = [n for n in source.get("hidden_sheets") or [] if n != source.get("sheet")]
    if unread:
        report["hidden sheets 隐藏工作表（未读取）"] = "、".join(unread)
    if source.get("hidden_rows"):
        shown = ", ".join(str(n) for n in source.get("hidden_row_numbers") or [])
        more = " …" if source["hidden_rows"] > len(source.get("hidden_row_numbers") or []) else ""
        report["hidden rows 隐藏行（已读取）"] = f"{source['hidden_rows']} (行 rows {shown}{more})"
    if source.get("hidden_columns"):
        letters, names = source.get("hidden_column_letters") or [], source.get("hidden_column_names") or []
        shown = ", ".join(f"{c} {n}" for c, n in zip(letters, names, strict=False))
        more = " …" if source["hidden_columns"] > len(letters) else ""
        report["hidden columns 隐藏列（已读取）"] = f"{source['hidden_columns']} (列 columns {shown}{more})"
    if report.get("rows_rejected"):
        report["rejects 拒收文件"] = f"ybz collect rejects {report['batch_id']} -o rejects.csv"
    return report


def _save_rejects(db: Any, actor: Any, batch: str, output: Path | None, as_json: bool) -> None:
    import shutil

    # deferred: keeps `ybz --help` light
    from .rejects import reject_file

    if not batch.isdigit():
        raise DomainError("batch_id_invalid", "请指定批次编号：ybz collect rejects BATCH -o FILE")
    with db.write() as s:
        path, name = reject_file(s, actor, int(batch))
    target = output or Path(name)
    shutil.copyfile(path, target)
    emit({"batch_id": int(batch), "file": str(target), "bytes": target.stat().st_size}, as_json)
