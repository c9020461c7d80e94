"""`ybz share …`: requests, show, decide, withdraw, escalate, grants, revoke, usage, verify-seal.
Thin adapters over share.requests and share.grants; every command takes --json and --as USER and
exits 2 on bad input (a domain error, printed in Chinese and English)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit, emit_json, err_console
from ..db import get_database

share_app = typer.Typer(help="Sharing (数据共享): requests, decisions, grants, usage, seals.", no_args_is_help=True)

REQUEST_COLUMNS = ["id", "resource_code", "mode", "state", "step_due", "overdue"]
GRANT_COLUMNS = ["id", "request_id", "consumer_org_id", "resource_id", "mode", "valid_to", "status"]
USAGE_COLUMNS = ["grant_id", "resource_id", "consumer_org_id", "calls", "rows", "refused", "by_kind"]


@share_app.command("requests")
def requests_cmd(
    view: str | None = typer.Option(None, "--view", help="mine (our requests) | to_decide (my task list)."),
    overdue: bool = typer.Option(False, "--overdue", help="Only pending steps past their deadline."),
    resource_id: int | None = typer.Option(None, "--resource", help="Only requests for this resource (id)."),
    limit: int = typer.Option(50, "--limit"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Share requests the acting user may read, one org's requests for one resource together."""
    # deferred: keeps gmssl out of this module's import
    from . import requests as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows, total = svc.list_requests(s, actor, view=view, overdue=overdue, resource_id=resource_id,
                                            limit=limit)
            out = [svc.request_dict(s, r) for r in rows]
    if as_json:
        emit({"total": total, "items": out}, True)
    else:
        emit(out, False, columns=REQUEST_COLUMNS, title=f"共享申请 / share requests ({total})")


@share_app.command("show")
def show_cmd(request_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """One request with its deadline, decisions and seal (readers only)."""
    # deferred: keeps gmssl out of this module's import
    from . import requests as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = svc.request_dict(s, svc.get_request(s, actor, request_id))
    emit(out, as_json)


@share_app.command("decide")
def decide_cmd(
    request_id: int,
    decision: str = typer.Argument(..., help="approve | refuse (批准 | 拒绝)."),
    reason: str = typer.Option(..., "--reason", help="Every decision has a reason."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The provider's approver (first step) or the region's authority (second step) decides."""
    # deferred: keeps gmssl out of this module's import
    from . import requests as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.request_dict(s, svc.decide_request(s, actor, request_id, decision, reason))
    emit(out, as_json)


@share_app.command("withdraw")
def withdraw_cmd(request_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """The consumer org takes a pending request back."""
    # deferred: keeps gmssl out of this module's import
    from . import requests as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.request_dict(s, svc.withdraw_request(s, actor, request_id))
    emit(out, as_json)


@share_app.command("escalate")
def escalate_cmd(as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Escalate every step overdue today to the region's authority (what the daily job runs)."""
    # deferred: keeps gmssl out of this module's import
    from . import requests as svc

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = svc.escalate_overdue(s, actor)
    emit(out, as_json)


@share_app.command("grants")
def grants_cmd(
    org_id: int | None = typer.Option(None, "--org", help="Only grants to this consumer org (id)."),
    resource_id: int | None = typer.Option(None, "--resource", help="Only grants of this resource (id)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Grants the acting user may see (consumer side, provider side, authority, auditors)."""
    # deferred: keeps `ybz --help` light
    from . import grants as G

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = [G.grant_dict(g) for g in G.grants_for(s, actor, org_id=org_id, resource_id=resource_id)]
    emit(out, as_json, columns=GRANT_COLUMNS, title=f"共享授权 / share grants ({len(out)})")


@share_app.command("revoke")
def revoke_cmd(
    grant_id: int,
    reason: str = typer.Option(..., "--reason", help="Why the grant ends now."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The provider side revokes a grant; its next call is refused."""
    # deferred: keeps `ybz --help` light
    from . import grants as G

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = G.grant_dict(G.revoke_grant(s, actor, grant_id, reason))
    emit(out, as_json)


@share_app.command("usage")
def usage_cmd(
    grant_id: int | None = typer.Option(None, "--grant"),
    resource_id: int | None = typer.Option(None, "--resource"),
    org_id: int | None = typer.Option(None, "--org", help="Consumer org (id)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Calls, rows and refusals per grant the acting user may see (counts only, never values)."""
    # deferred: keeps `ybz --help` light
    from . import grants as G

    db = get_database()
    with domain_errors(as_json):
        actor = acting_as(as_user)
        G.USAGE.flush(db)  # seal the stored calls into their ledger summaries first
        with db.read() as s:
            out = G.usage_stats(s, actor, grant_id=grant_id, resource_id=resource_id, org_id=org_id)
    if as_json:
        emit(out, True)
    else:
        emit(out["grants"], False, columns=USAGE_COLUMNS,
             title=f"调用 / calls {out['calls']} · 行 / rows {out['rows']} · 拒绝 / refused {out['refused']}")


def _read_document(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise _bad(f"cannot read {source}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except ValueError:
        raise _bad(f"{source} is not JSON") from None
    # A request as `ybz share show --json` prints it carries the sealed document under "seal".
    if isinstance(doc, dict) and "content" not in doc and isinstance(doc.get("seal"), dict) \
            and "content" in doc["seal"]:
        doc = doc["seal"]
    return doc


def _bad(message: str) -> typer.Exit:
    err_console.print(f"[red]错误[/red]: 输入无效 / error: {message}")
    return typer.Exit(2)


@share_app.command("verify-seal")
def verify_seal_cmd(
    source: str = typer.Argument(..., help="A sealed document ({content, seal}) or a request's JSON; - for stdin."),
    as_json: bool = JsonOpt,
) -> None:
    """Check a 数据共享专用章 against the org's registered public key. Exit 0 valid, 1 invalid, 2 bad input."""
    # deferred: keeps gmssl out of this module's import
    from . import seal

    doc = _read_document(source)
    with get_database().read() as s:
        out = seal.verify(s, doc)
    if as_json:
        emit_json(out)
    elif out["valid"]:
        emit({"valid": True, "org_name": out.get("org_name"), "org_uscc": out.get("org_uscc")}, False)
    else:
        emit({"valid": False, "reason": out.get("reason")}, False)
    if not out["valid"]:
        raise typer.Exit(1)
