"""`ybz system list|add`: an org's information systems (信息系统), which every resource names as
its source (issue 15: a steward could not add one without code)."""

from __future__ import annotations

from typing import Any

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database
from ..orgs.model import Org
from ..orgs.service import get_org_by_uscc
from . import service
from .schemas import SystemIn

system_app = typer.Typer(help="Information systems of an org: list, add.", no_args_is_help=True)
COLUMNS = ["id", "org_uscc", "org_name", "name", "description"]


def _row(system: Any, org: Any) -> dict[str, Any]:
    return {"id": system.id, "org_uscc": org.uscc if org else None, "org_name": org.name if org else None,
            "name": system.name, "description": system.description}


@system_app.command("list")
def list_cmd(org: str | None = typer.Option(None, "--org", help="Only this org's systems (USCC)."),
             as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Information systems, with their org."""

    with domain_errors(as_json):
        acting_as(as_user)
        with get_database().read() as s:
            org_id = get_org_by_uscc(s, org).id if org else None
            rows = [_row(x, s.get(Org, x.org_id)) for x in service.list_systems(s, org_id)]
        emit(rows, as_json, COLUMNS, title=str(len(rows)))


@system_app.command("add")
def add_cmd(name: str = typer.Argument(..., help="The system's name, e.g. 人口管理系统."),
            org: str = typer.Option(..., "--org", help="The owning org (USCC)."),
            description: str | None = typer.Option(None, "--description"),
            as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Register an information system of an org (its steward, or the platform); in the ledger."""

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            owner = get_org_by_uscc(s, org)
            system = service.create_system(s, actor, SystemIn(org_id=owner.id, name=name, description=description))
            row = _row(system, owner)
        emit(row, as_json)
