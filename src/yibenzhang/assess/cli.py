"""`ybz assess` (the KPI table) and `ybz target …` (list, set, revise, retire, seed).
Thin adapters over assess.kpis and assess.model; every command takes --as USER and --json."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer
from rich.table import Table

from ..clikit import AsOpt, JsonOpt, acting_as, console, domain_errors, emit
from ..db import get_database
from ..i18n import translate


def fmt(value: Any, unit: str) -> str:
    """A KPI value for people: percent for fractions, thousands separators, "—" when absent."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.2f}%"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint="--date") from None


def assess_command(
    region: str | None = typer.Option(None, "--region", help="Division code (default: all you may see)."),
    org_id: int | None = typer.Option(None, "--org", help="One org (id)."),
    on: str | None = typer.Option(None, "--date", help="Compute as of this day (YYYY-MM-DD; default today)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The KPI table of the platform, a region or an org, computed from the platform's records."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from . import kpis

    day = _day(on)
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = kpis.compute(s, actor, region, org_id, day, breakdown=False)
    if as_json:
        emit(out, True)
        return
    scope = out["scope"]
    where = scope["org_name"] or scope["region_name"] or "全平台"
    table = Table(title=f"考核指标 / KPIs · {where} · {out['today']}")
    for col in ("指标", "KPI", "值 / value"):
        table.add_column(col)
    for row in out["table"]:
        table.add_row(row["label"], translate(row["label"], "en"), fmt(row["value"], row["unit"]))
    console.print(table)
    if out["targets"]:
        targets = Table(title="目标进度 / targets")
        for col in ("目标", "target", "截止 / due", "目标值", "当前 / now", "进度 / progress"):
            targets.add_column(col)
        for t in out["targets"]:
            targets.add_row(t["label"], translate(t["label"], "en"), t["due_on"], fmt(t["target"], t["unit"]),
                            fmt(t["current"], t["unit"]), fmt(t["progress"], "%"))
        console.print(targets)


target_app = typer.Typer(help="Assessment targets (考核目标): list, set, revise, retire, seed.", no_args_is_help=True)
TARGET_COLUMNS = ["id", "metric", "label", "scope", "value", "due_on", "effective_from", "effective_to", "basis"]


@target_app.command("list")
def list_cmd(history: bool = typer.Option(False, "--history", help="Every version, not only those in force."),
             scope: str | None = typer.Option(None, "--scope", help="'platform' or a division code."),
             as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Targets in force today (or their whole history)."""
    # deferred: keeps `ybz --help` light
    from . import model as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = [svc.target_dict(t) for t in svc.list_targets(s, actor, history=history, scope=scope)]
    emit(out, as_json, columns=TARGET_COLUMNS, title=f"考核目标 / targets ({len(out)})")


@target_app.command("set")
def set_cmd(
    metric: str = typer.Argument(..., help="records_collected, open_datasets, catalogue_coverage, …"),
    value: float = typer.Argument(..., help="Target value (rates and coverage as a fraction 0..1)."),
    due: str = typer.Option(..., "--due", help="Due date YYYY-MM-DD."),
    scope: str = typer.Option("platform", "--scope", help="'platform' or a division code."),
    basis: str | None = typer.Option(None, "--basis", help="Where the target comes from."),
    effective_from: str | None = typer.Option(None, "--from", help="In force from (default today)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Add a target (the authority: admin or the scope's reviewer)."""
    # deferred: keeps `ybz --help` light
    from . import model as svc

    due_on, start = _day(due), _day(effective_from)
    assert due_on is not None  # --due is required
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.target_dict(svc.create_target(s, actor, metric=metric, value=value, due_on=due_on,
                                                    scope=scope, basis=basis, effective_from=start))
    emit(out, as_json)


@target_app.command("revise")
def revise_cmd(
    target_id: int,
    value: float | None = typer.Option(None, "--value"),
    due: str | None = typer.Option(None, "--due", help="New due date YYYY-MM-DD."),
    basis: str | None = typer.Option(None, "--basis"),
    effective_from: str | None = typer.Option(None, "--from", help="New version in force from (default today)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Change a target: the old version ends the day before, a new one starts (history kept)."""
    # deferred: keeps `ybz --help` light
    from . import model as svc

    due_on, start = _day(due), _day(effective_from)
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.target_dict(svc.revise_target(s, actor, target_id, value=value, due_on=due_on, basis=basis,
                                                    effective_from=start))
    emit(out, as_json)


@target_app.command("retire")
def retire_cmd(target_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Stop a target from today (its history stays)."""
    # deferred: keeps `ybz --help` light
    from . import model as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.target_dict(svc.retire_target(s, actor, target_id))
    emit(out, as_json)


@target_app.command("seed")
def seed_cmd(as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Add the targets the sources name (1000亿 / 1500亿 records, 20,000 / 25,000 open datasets,
    full catalogue coverage); idempotent."""
    # deferred: keeps `ybz --help` light
    from . import model as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            added = svc.seed_targets(s, actor)
            total = len(svc.list_targets(s, actor, history=True, scope=svc.PLATFORM))
    emit({"added": added, "platform_targets": total}, as_json)
