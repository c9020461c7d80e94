"""`ybz catalog …` commands: import a catalogue file, create one resource (from a file or by
prompts), export the catalogue, write the empty Excel template (thin adapters over catalog.io);
list, show and search resources; the review workflow (submit, withdraw, publish, return,
retire) — thin adapters over catalog.service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, console, domain_errors, emit, emit_json, err_console
from ..db import get_database
from ..errors import DomainError
from ..orgs.service import get_org_by_uscc
from ..search.query import SearchQuery, search_resources
from . import service
from .service import resource_dict

catalog_app = typer.Typer(help="The catalogue: list, show, search, review workflow, import, export.",
                          no_args_is_help=True)



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
    # deferred: keeps `ybz --help` light
    from .io import ImportRejected, import_catalog

    data = file.read_bytes()
    with domain_errors(as_json):
        actor = acting_as(as_user)
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
    # deferred: keeps `ybz --help` light
    from .io import export_catalog

    with domain_errors(as_json):
        if output is None and fmt.lower() == "xlsx":
            raise DomainError("output_required", "二进制格式需要指定 --output 文件")
        actor = acting_as(as_user)
        with get_database().read() as s:
            org_id = get_org_by_uscc(s, org).id if org else None
            data = export_catalog(s, actor, fmt, org_id=org_id, status=status, base_url=base_url)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    emit({"format": fmt, "output": str(output), "bytes": len(data)}, as_json)


@catalog_app.command("create")
def create_cmd(
    source: Path | None = typer.Option(None, "--from", exists=True, dir_okay=False, readable=True,
                                       help="The XLSX template (ybz catalog template) or JSON of one resource "
                                            "(as exported); without it, the essentials are asked one by one."),
    fmt: str | None = typer.Option(None, "--format", help="xlsx | json (default: detected)."),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create ONE draft resource as the acting user, from a file or by answering prompts (each
    answer checked at once, a bad one asked again with the reason). Refusals exit 2."""

    with domain_errors(as_json):
        actor = acting_as(as_user)
        db = get_database()
        if source is not None:
            # deferred: keeps `ybz --help` light
            from .io import create_from_file

            with db.write() as s:
                resource = create_from_file(s, actor, source.read_bytes(), fmt)
                view = service.view_for(s, actor, resource)
        else:
            # deferred: keeps `ybz --help` light
            from .create_prompts import ask_resource

            data = ask_resource(db, actor)
            with db.write() as s:
                resource = service.create_resource(s, actor, data)
                view = service.view_for(s, actor, resource)
    _print_view(view, as_json)


def _print_view(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(view, True)
        return
    items = view.pop("items")
    emit(view, False)
    emit(items, False, ["name", "data_type_code", "data_type", "length", "required", "is_key"])


@catalog_app.command("template")
def template_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the .xlsx template."),
    as_json: bool = JsonOpt,
) -> None:
    """Write the empty Excel template departments fill in."""
    # deferred: keeps `ybz --help` light
    from .io import template_bytes

    data = template_bytes()
    output.write_bytes(data)
    emit({"output": str(output), "bytes": len(data)}, as_json)


# --- reading and the review workflow --------------------------------------------------------

_SUMMARY_COLUMNS = ["code", "name", "org_name", "status", "version", "share_type", "open_type"]


def _summary(session: Any, resource: Any) -> dict[str, Any]:
    d = resource_dict(session, resource)
    return {k: d.get(k) for k in _SUMMARY_COLUMNS} | {"id": resource.id}


@catalog_app.command("list")
def list_cmd(
    org: str | None = typer.Option(None, "--org", help="Provider USCC."),
    status: str | None = typer.Option(None, "--status", help="草稿 / 待审核 / 已退回 / 已发布 / 已停用"),
    limit: int = typer.Option(50, "--limit"),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Resources the acting user may see, newest first."""

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            org_id = get_org_by_uscc(s, org).id if org else None
            rows, total = service.list_resources(s, actor, org_id=org_id, status=status, limit=limit)
            emit([_summary(s, r) for r in rows], as_json, _SUMMARY_COLUMNS, title=f"{total}")


@catalog_app.command("show")
def show_cmd(code: str, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """One resource by code (or id): its metadata and items as the acting user sees them."""

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            view = service.view_for(s, actor, service.get_resource(s, actor, code))
        _print_view(view, as_json)


@catalog_app.command("search")
def search_cmd(q: str, limit: int = typer.Option(20, "--limit"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """Chinese full-text search over names, abstracts and items."""

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            result = search_resources(s, actor, SearchQuery(q=q, limit=limit))
        emit([{k: i.get(k) for k in ("code", "name", "org_name", "status", "score")} for i in result.items],
             as_json, ["code", "name", "org_name", "status", "score"], title=f"{result.total}")


def _transition(code: str, as_user: str | None, as_json: bool, action: str, reason: str | None = None) -> None:
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            rid = service.get_resource(s, actor, code).id
            fn = {"submit": service.submit_resource, "withdraw": service.withdraw_resource,
                  "publish": service.publish_resource}.get(action)
            if fn is not None:
                resource = fn(s, actor, rid)
            elif action == "return":
                resource = service.return_resource(s, actor, rid, reason or "")
            else:
                resource = service.retire_resource(s, actor, rid, reason or "")
            emit(_summary(s, resource), as_json)


@catalog_app.command("submit")
def submit_cmd(code: str, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Send a draft or returned resource to the region's authority for review."""
    _transition(code, as_user, as_json, "submit")


@catalog_app.command("withdraw")
def withdraw_cmd(code: str, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Take a submission back before it is reviewed."""
    _transition(code, as_user, as_json, "withdraw")


@catalog_app.command("publish")
def publish_cmd(code: str, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Publish a submitted resource (the region's authority reviewer)."""
    _transition(code, as_user, as_json, "publish")


@catalog_app.command("return")
def return_cmd(code: str, reason: str = typer.Option(..., "--reason"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """Return a submitted resource to its steward, with the reason."""
    _transition(code, as_user, as_json, "return", reason)


@catalog_app.command("retire")
def retire_cmd(code: str, reason: str = typer.Option(..., "--reason"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """Retire a published resource (its versions stay)."""
    _transition(code, as_user, as_json, "retire", reason)
