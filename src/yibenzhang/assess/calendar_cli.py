"""`ybz calendar …`: list, export, handlers, people, firm, audit, extend, complete, reminders.
Thin adapters over assess.calendar; every command takes --as USER and --json."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database

calendar_app = typer.Typer(help="Compliance calendar (合规日历): PI audits, firms, recurring duties, reminders.",
                           no_args_is_help=True)

LIST_COLUMNS = ["due_on", "kind", "org_name", "status", "days_left", "key"]
AUDIT_COLUMNS = ["id", "org_name", "kind", "state", "firm_name", "due_on", "completed_on"]

FromOpt = typer.Option(None, "--from", help="YYYY-MM-DD (default 1 January last year).")
ToOpt = typer.Option(None, "--to", help="YYYY-MM-DD (default 31 December next year).")


@calendar_app.command("list")
def list_cmd(
    start: str | None = FromOpt, end: str | None = ToOpt,
    org_id: int | None = typer.Option(None, "--org", help="Only this org (id)."),
    kind: str | None = typer.Option(None, "--kind", help="个人信息合规审计 | 责令合规审计 | 目录更新 | …"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Every duty the acting user may see, by due date."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        today = svc._today()
        with get_database().read() as s:
            rows = [e.as_dict(today) for e in svc.entries(
                s, actor, start=svc.parse_day("from", start), end=svc.parse_day("to", end), org_id=org_id, kind=kind,
                today=today)]
    if as_json:
        emit({"today": today.isoformat(), "total": len(rows), "items": rows}, True)
    else:
        emit(rows, False, columns=LIST_COLUMNS, title=f"合规日历 / compliance calendar ({len(rows)})")


@calendar_app.command("export")
def export_cmd(
    fmt: str = typer.Option("ics", "--format", help="ics | csv | xlsx"),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
    start: str | None = FromOpt, end: str | None = ToOpt,
    org_id: int | None = typer.Option(None, "--org"), lang: str = typer.Option("zh", "--lang", help="zh | en"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Export the calendar as iCalendar (.ics), CSV or XLSX."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    # deferred: keeps icalendar out of this module's import
    from .calendar_export import export

    with domain_errors(as_json):
        actor = acting_as(as_user)
        chosen = svc.parse_format(fmt)
        today = svc._today()
        with get_database().read() as s:
            rows = [e.as_dict(today) for e in svc.entries(
                s, actor, start=svc.parse_day("from", start), end=svc.parse_day("to", end), org_id=org_id,
                today=today)]
        body = export(rows, chosen, "en" if lang.startswith("en") else "zh")
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    output.write_bytes(body)
    emit({"file": str(output), "format": chosen, "entries": len(rows), "bytes": len(body)}, as_json)


@calendar_app.command("handlers")
def handlers_cmd(as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Personal-information handlers: latest people count and next routine audit."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows = svc.handlers(s, actor)
    emit(rows, as_json, columns=["org_id", "org_name", "people", "interval_years", "base", "next_due"],
         title="个人信息处理者 / handlers")


@calendar_app.command("people")
def people_cmd(
    org_id: int = typer.Argument(..., help="Org id."), people: int = typer.Argument(..., help="Number of people."),
    as_of: str | None = typer.Option(None, "--as-of", help="Date of the figure (default today)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Record how many people's personal information an org processes."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            row = svc.record_people(s, actor, org_id, people, svc.parse_day("as_of", as_of))
            out = {"id": row.id, "org_id": row.org_id, "people": row.people, "as_of": row.as_of.isoformat(),
                   "interval_years": svc.routine_interval_years(row.people)}
    emit(out, as_json)


@calendar_app.command("history")
def history_cmd(org_id: int = typer.Argument(..., help="Org id."), as_user: str | None = AsOpt,
                as_json: bool = JsonOpt) -> None:
    """An org's recorded people counts, newest first."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows = svc.people_history(s, actor, org_id)
    emit(rows, as_json, columns=["as_of", "people", "recorded_by"], title="处理人数 / people counts")


@calendar_app.command("firm")
def firm_cmd(name: str = typer.Argument(..., help="Firm name."), uscc: str | None = typer.Option(None, "--uscc"),
             as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Register an audit firm (the authority)."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            firm = svc.create_firm(s, actor, name, uscc)
            out = {"id": firm.id, "name": firm.name, "uscc": firm.uscc}
    emit(out, as_json)


@calendar_app.command("audits")
def audits_cmd(org_id: int | None = typer.Option(None, "--org"), open_only: bool = typer.Option(False, "--open"),
               as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Audits the acting user may see."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows = [svc.audit_dict(s, a) for a in svc.list_audits(s, actor, org_id=org_id, open_only=open_only)]
    emit(rows, as_json, columns=AUDIT_COLUMNS, title="合规审计 / audits")


@calendar_app.command("audit")
def audit_cmd(
    org_id: int = typer.Argument(..., help="Handler org id."),
    kind: str = typer.Option("routine", "--kind", help="routine | ordered"),
    ordered_on: str | None = typer.Option(None, "--ordered-on", help="Date of the order (ordered audits)."),
    basis: str | None = typer.Option(None, "--basis", help="The order's basis (ordered audits)."),
    firm_id: int | None = typer.Option(None, "--firm"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Open the next routine audit, or record a regulator's order (due in 90 working days)."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            if svc.parse_kind(kind) == svc.AuditKind.ORDERED:
                audit = svc.order_audit(s, actor, org_id, svc.parse_day("ordered_on", ordered_on) or svc._today(),
                                        basis or "", firm_id=firm_id)
            else:
                audit = svc.open_routine_audit(s, actor, org_id, firm_id=firm_id)
            out = svc.audit_dict(s, audit)
    emit(out, as_json)


@calendar_app.command("assign")
def assign_cmd(audit_id: int, firm_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Entrust an audit to a firm (at most 3 times in a row for one handler)."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.audit_dict(s, svc.assign_firm(s, actor, audit_id, firm_id))
    emit(out, as_json)


@calendar_app.command("extend")
def extend_cmd(
    audit_id: int, due_on: str = typer.Option(..., "--due", help="New due date YYYY-MM-DD."),
    approver: str = typer.Option(..., "--approver"), reason: str = typer.Option(..., "--reason"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Record an approved extension of an audit."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        day = svc.parse_day("due_on", due_on)
        assert day is not None
        with get_database().write() as s:
            out = svc.audit_dict(s, svc.extend_audit(s, actor, audit_id, day, approver, reason))
    emit(out, as_json)


@calendar_app.command("complete")
def complete_cmd(audit_id: int, on: str | None = typer.Option(None, "--on", help="Completion date (default today)."),
                 as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Mark an audit completed: the next routine audit counts from this date."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.audit_dict(s, svc.complete_audit(s, actor, audit_id, svc.parse_day("on", on)))
    emit(out, as_json)


@calendar_app.command("remind")
def remind_cmd(as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Make today's reminders now (the daily job does the same)."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.generate_reminders(s, actor)
    emit(out, as_json)


@calendar_app.command("reminders")
def reminders_cmd(org_id: int | None = typer.Option(None, "--org"), as_user: str | None = AsOpt,
                  as_json: bool = JsonOpt) -> None:
    """Reminders the acting user may see, newest first."""
    # deferred: keeps `ybz --help` light
    from . import calendar as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows = [svc.reminder_dict(s, r) for r in svc.list_reminders(s, actor, org_id=org_id)]
    emit(rows, as_json, columns=["remind_on", "due_on", "kind", "org_name", "duty_key"], title="提醒 / reminders")
