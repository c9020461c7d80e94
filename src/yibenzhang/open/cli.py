"""`ybz open …`: applications, decide, demands, answer, plan export, catalogue export,
mark-overdue. Thin adapters over open.*; every command takes --as USER and --json."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database

open_app = typer.Typer(help="Open data (开放): applications, demands, open plans.", no_args_is_help=True)
plan_app = typer.Typer(help="Annual open plans (年度开放计划).", no_args_is_help=True)
catalogue_app = typer.Typer(help="An org's open catalogue (开放目录).", no_args_is_help=True)
open_app.add_typer(plan_app, name="plan")
open_app.add_typer(catalogue_app, name="catalogue")

APP_COLUMNS = ["id", "resource_name", "provider_org_name", "applicant", "state", "applied_on", "due", "overdue"]
DEMAND_COLUMNS = ["id", "title", "org_name", "state", "asked_on", "due", "answered_on"]


@open_app.command("applications")
def applications_cmd(
    view: str | None = typer.Option(None, "--view", help="mine | provider | all (default: all for admins, "
                                                          "else provider)"),
    state: str | None = typer.Option(None, "--state", help="待审批 / 已批准 / 已拒绝 / 已撤回"),
    overdue: bool = typer.Option(False, "--overdue", help="Only pending ones past their due date."),
    limit: int = typer.Option(50, "--limit"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Applications for 有条件开放 datasets, pending first by due date."""
    # deferred: keeps `ybz --help` light
    from . import applications as apps

    with domain_errors(as_json):
        actor = acting_as(as_user)
        chosen = view or ("all" if actor.is_admin or actor.is_auditor else "provider")
        with get_database().read() as s:
            rows, total = apps.list_applications(s, actor, view=chosen, state=state, overdue=overdue, limit=limit)
            out = [apps.application_dict(s, a) for a in rows]
    if as_json:
        emit({"total": total, "items": out}, True)
    else:
        emit(out, False, columns=APP_COLUMNS, title=f"开放申请 / applications ({total})")


@open_app.command("decide")
def decide_cmd(
    application_id: int,
    decision: str = typer.Argument(..., help="approve | refuse"),
    reason: str = typer.Option(..., "--reason", help="Why (required either way)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The provider org's approver or steward decides an application."""
    # deferred: keeps `ybz --help` light
    from . import applications as apps

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = apps.application_dict(s, apps.decide(s, actor, application_id, decision, reason))
    emit(out, as_json)


@open_app.command("demands")
def demands_cmd(
    state: str | None = typer.Option(None, "--state", help="待答复 / 已答复 / 已逾期"),
    org_id: int | None = typer.Option(None, "--org", help="Demands routed to this org (id)."),
    limit: int = typer.Option(50, "--limit"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Every open-data demand with its status (public)."""
    # deferred: keeps `ybz --help` light
    from . import demands as dem

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows, total = dem.list_demands(s, state=state, org_id=org_id, limit=limit)
            out = [dem.demand_dict(s, d, actor) for d in rows]
    if as_json:
        emit({"total": total, "items": out}, True)
    else:
        emit(out, False, columns=DEMAND_COLUMNS, title=f"开放需求 / demands ({total})")


@open_app.command("answer")
def answer_cmd(demand_id: int, answer: str = typer.Option(..., "--answer"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """The routed org's steward answers a demand."""
    # deferred: keeps `ybz --help` light
    from . import demands as dem

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = dem.demand_dict(s, dem.answer_demand(s, actor, demand_id, answer), actor)
    emit(out, as_json)


@open_app.command("mark-overdue")
def mark_overdue_cmd(as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Mark pending applications and demands past their due date (the daily job does the same)."""
    # deferred: keeps `ybz --help` light
    from . import applications as apps

    # deferred: keeps `ybz --help` light
    from . import demands as dem

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = {"applications": apps.mark_overdue(s, actor), "demands": dem.mark_overdue(s, actor)}
    emit(out, as_json)


def _write(data: bytes, out: Path | None, default: str, as_json: bool, rows: int) -> None:
    target = out or Path(default)
    target.write_bytes(data)
    emit({"path": str(target), "rows": rows, "bytes": len(data)}, as_json)


@plan_app.command("export")
def plan_export_cmd(
    year: int = typer.Option(date.today().year, "--year"),
    org_id: int | None = typer.Option(None, "--org", help="One org (id); default every org."),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx | csv"),
    out: Path | None = typer.Option(None, "--out", help="File to write (default open-plan-YEAR.FORMAT)."),
    as_json: bool = JsonOpt,
) -> None:
    """Export a year's open plan (public data)."""
    # deferred: keeps `ybz --help` light
    from . import plans

    with domain_errors(as_json):
        with get_database().read() as s:
            rows = plans.plan_rows(s, year=year, org_id=org_id)
        data = plans.export(rows, plans.PLAN_COLUMNS, fmt)
    _write(data, out, f"open-plan-{year}{'-' + str(org_id) if org_id else ''}.{fmt}", as_json, len(rows))


@catalogue_app.command("export")
def catalogue_export_cmd(
    org_id: int = typer.Option(..., "--org", help="The org (id)."),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx | csv"),
    out: Path | None = typer.Option(None, "--out", help="File to write (default open-catalogue-ORG.FORMAT)."),
    as_json: bool = JsonOpt,
) -> None:
    """Export an org's open catalogue: its published open resources."""
    # deferred: keeps `ybz --help` light
    from . import plans

    with domain_errors(as_json):
        with get_database().read() as s:
            rows = plans.catalogue_rows(s, org_id)
        data = plans.export(rows, plans.CATALOGUE_COLUMNS, fmt)
    _write(data, out, f"open-catalogue-{org_id}.{fmt}", as_json, len(rows))
