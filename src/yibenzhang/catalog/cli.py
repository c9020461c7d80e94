"""`ybz catalog …` commands: import a catalogue file, export the catalogue, write the empty
Excel template. Thin adapters over catalog.io."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..access import Actor
from ..clikit import JsonOpt, console, domain_errors, emit, emit_json, err_console

catalog_app = typer.Typer(help="The catalogue: import, export.", no_args_is_help=True)

AsOpt = typer.Option(None, "--as", help="Act as this user (default: the platform itself).")


def _actor(as_user: str | None) -> Actor:
    from ..cli import _actor as actor_of  # imported late: yibenzhang.cli imports this module

    return actor_of(as_user)


@catalog_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: str | None = typer.Option(None, "--format", help="xlsx | csv | json (default: detected)."),
    partial: bool = typer.Option(False, "--partial", help="Import the good rows, list the skipped ones."),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import FILE: rows without a code become drafts, rows with a code update that resource.
    Nothing is imported if any row is bad (unless --partial); exit 2 then."""
    from ..db import get_database
    from .io import ImportRejected, import_catalog

    data = file.read_bytes()
    with domain_errors(as_json):
        actor = _actor(as_user)
        try:
            with get_database().write() as s:
                report = import_catalog(s, actor, data, fmt, partial=partial)
        except ImportRejected as exc:
            if as_json:
                raise
            _print_errors([e.as_dict() for e in exc.errors])
            err_console.print(f"[red]错误 {exc.code}[/red]: {exc.message_in('zh')}")
            err_console.print(f"[red]error {exc.code}[/red]: {exc.message_in('en')}")
            raise typer.Exit(2) from None
    if as_json:
        emit_json(report.as_dict())
        return
    _print_report(report.as_dict())


def _print_report(report: dict) -> None:
    from rich.table import Table

    summary = Table(title=f"导入结果 / import ({report['format']}, SM3 {report['sm3'][:16]}…)")
    for col in ("新建 created", "更新 updated", "未变 unchanged", "跳过 skipped", "错误 errors"):
        summary.add_column(col)
    summary.add_row(*(str(report[f"{k}_count"]) for k in ("created", "updated", "unchanged", "skipped", "errors")))
    console.print(summary)
    done = [(k, r) for k in ("created", "updated") for r in report[k]]
    if done:
        emit([{"action": k, "row": r["row"], "code": r["code"], "name": r["name"]} for k, r in done], False,
             columns=["action", "row", "code", "name"])
    if report["errors"]:
        _print_errors(report["errors"])


def _print_errors(errors: list[dict]) -> None:
    from rich.table import Table

    table = Table(title="错误 / errors")
    for col in ("sheet", "row", "column", "code", "message"):
        table.add_column(col)
    for e in errors:
        table.add_row(e.get("sheet") or "", str(e.get("row") or ""), e.get("column") or "", e["code"],
                      f"{e['message']}\n{e['message_en']}")
    err_console.print(table)


@catalog_app.command("export")
def export_cmd(
    fmt: str = typer.Option(..., "--format", help="xlsx | csv | json | dcat-ttl | dcat-jsonld"),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (default: stdout for text)."),
    org: str | None = typer.Option(None, "--org", help="Only this provider (USCC)."),
    status: str | None = typer.Option(None, "--status", help="Only this status (草稿, 已发布, …)."),
    base_url: str | None = typer.Option(None, "--base-url", help="Base of the URIs in DCAT output."),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Export what the acting user may see."""
    from ..db import get_database
    from ..errors import DomainError
    from ..orgs.service import get_org_by_uscc
    from .io import export_catalog

    with domain_errors(as_json):
        if output is None and fmt.lower() == "xlsx":
            raise DomainError("output_required", "二进制格式需要指定 --output 文件")
        actor = _actor(as_user)
        with get_database().read() as s:
            org_id = get_org_by_uscc(s, org).id if org else None
            data = export_catalog(s, actor, fmt, org_id=org_id, status=status, base_url=base_url)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    emit({"format": fmt, "output": str(output), "bytes": len(data)}, as_json)


@catalog_app.command("template")
def template_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the .xlsx template."),
    as_json: bool = JsonOpt,
) -> None:
    """Write the empty Excel template departments fill in."""
    from .io import template_bytes

    data = template_bytes()
    output.write_bytes(data)
    emit({"output": str(output), "bytes": len(data)}, as_json)
