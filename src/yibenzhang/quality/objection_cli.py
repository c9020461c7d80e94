"""`ybz objection …`: list, show, file, answer, correct, withdraw, decide, escalate, counts.
Thin adapters over quality.objections; every command takes --as USER and --json."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import typer
from sqlalchemy.orm import Session

from ..access import Actor
from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database

objection_app = typer.Typer(help="Objections (异议): dispute a value, answer, correct, escalate.",
                            no_args_is_help=True)

LIST_COLUMNS = ["id", "resource_code", "org_name", "state", "timeliness", "filed_by", "filed_on", "due"]


def _key_pairs(pairs: list[str]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected ITEM=VALUE, got {pair!r}", param_hint="--key")
        out[name.strip()] = value.strip()
    return out or None


@objection_app.command("list")
def list_cmd(
    mine: bool = typer.Option(False, "--mine", help="Objections I filed."),
    org_id: int | None = typer.Option(None, "--org", help="Objections to this provider org (id)."),
    overdue: bool = typer.Option(False, "--overdue", help="Only those past a deadline."),
    open_only: bool = typer.Option(False, "--open", help="Only open ones."),
    state: str | None = typer.Option(None, "--state"),
    limit: int = typer.Option(50, "--limit"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Objections the acting user may read, newest first."""
    # deferred: keeps `ybz --help` light
    from . import objections as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows, total = svc.list_objections(s, actor, mine=mine, org_id=org_id, overdue=overdue,
                                              open_only=open_only, state=state, limit=limit)
            out = [svc.objection_dict(s, o) for o in rows]
    if as_json:
        emit({"total": total, "items": out}, True)
    else:
        emit(out, False, columns=LIST_COLUMNS, title=f"异议 / objections ({total})")


@objection_app.command("show")
def show_cmd(objection_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """One objection with its deadlines, state and every step (readers only)."""
    # deferred: keeps `ybz --help` light
    from . import objections as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = svc.objection_dict(s, svc.get_objection(s, actor, objection_id))
    emit(out, as_json)


@objection_app.command("file")
def file_cmd(
    resource: str = typer.Argument(..., help="Resource id or 信息资源代码."),
    claim: str = typer.Option(..., "--claim", help="What is wrong."),
    expected: str | None = typer.Option(None, "--expected", help="What you believe is right."),
    items: list[str] = typer.Option([], "--item", help="A disputed item name (repeatable)."),
    keys: list[str] = typer.Option([], "--key", help="ITEM=VALUE of a key item of the row (repeatable)."),
    row_number: int | None = typer.Option(None, "--row", help="Source row/line number."),
    batch_id: int | None = typer.Option(None, "--batch"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Dispute a value or a row of a resource you can see."""
    # deferred: keeps `ybz --help` light
    from . import objections as svc

    row_key = _key_pairs(keys)
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            obj = svc.file_objection(s, actor, resource, claim=claim, expected=expected, items=items,
                                     batch_id=batch_id, row_key=row_key, row_number=row_number)
            out = svc.objection_dict(s, obj)
    emit(out, as_json)


@objection_app.command("answer")
def answer_cmd(
    objection_id: int,
    answer: str = typer.Argument(..., help="受理/accept or 驳回/reject."),
    reason: str | None = typer.Option(None, "--reason", help="Required when rejecting."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The provider's steward accepts or rejects."""
    _act(as_user, as_json, lambda s, a, svc: svc.answer_objection(s, a, objection_id, answer, reason))


@objection_app.command("correct")
def correct_cmd(
    objection_id: int,
    note: str = typer.Option(..., "--note", help="What was corrected."),
    batch_id: int | None = typer.Option(None, "--batch", help="The batch that carries the correction."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The provider's steward records the correction."""
    _act(as_user, as_json, lambda s, a, svc: svc.correct_objection(s, a, objection_id, note, batch_id))


@objection_app.command("withdraw")
def withdraw_cmd(objection_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """The filer withdraws an open objection."""
    _act(as_user, as_json, lambda s, a, svc: svc.withdraw_objection(s, a, objection_id))


@objection_app.command("decide")
def decide_cmd(
    objection_id: int,
    decision: str = typer.Argument(..., help="支持异议/uphold or 不支持异议/dismiss."),
    reason: str = typer.Option(..., "--reason"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The region's authority rules on an escalated objection."""
    _act(as_user, as_json, lambda s, a, svc: svc.decide_objection(s, a, objection_id, decision, reason))


@objection_app.command("escalate")
def escalate_cmd(as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Escalate every objection overdue today (what the daily job runs)."""
    # deferred: keeps `ybz --help` light
    from . import objections as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.escalate_overdue(s, actor)
    emit(out, as_json)


@objection_app.command("counts")
def counts_cmd(org_id: int | None = typer.Option(None, "--org"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """Per provider org: total, open, overdue, closed on time, closed late."""
    # deferred: keeps `ybz --help` light
    from . import objections as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            counts = svc.objection_counts(s, actor, org_id=org_id)
    rows = [{"org_id": k, **v} for k, v in sorted(counts.items())]
    emit(rows, as_json, columns=["org_id", "total", "open", "overdue", "on_time", "late"])


def _act(as_user: str | None, as_json: bool, fn: Callable[[Session, Actor, ModuleType], Any]) -> None:
    """Run one act in a write transaction and print the objection as it now stands."""
    # deferred: keeps `ybz --help` light
    from . import objections as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.objection_dict(s, fn(s, actor, svc))
    emit(out, as_json)
