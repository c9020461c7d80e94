"""`ybz operate …`: authorizations of operators and sandbox queries. Thin adapters over
operate.authorizations and operate.sandbox; every command takes --as USER and --json.
A refused sandbox query is recorded, printed with its reason (zh + en) and exits 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit, emit_json, err_console

operate_app = typer.Typer(help="Authorized operation (授权运营): authorizations and the sandbox.", no_args_is_help=True)

LIST_COLUMNS = ["id", "operator_org", "scope_kind", "scope", "starts_on", "ends_on", "fee_cap_fen", "state"]
RUN_COLUMNS = ["id", "state", "release_kind", "reason_code", "row_count", "output_digest", "elapsed_ms", "created_at"]


def _resource_scopes(specs: list[str]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for spec in specs:
        rid, sep, items = spec.partition(":")
        if not sep or not rid.strip().isdigit():
            raise typer.BadParameter(f"expected RESOURCE_ID:ITEM,ITEM…, got {spec!r}", param_hint="--resource")
        out.append({"resource_id": int(rid), "items": [i.strip() for i in items.split(",") if i.strip()]})
    return out


@operate_app.command("authorize")
def authorize_cmd(
    operator_org_id: int = typer.Option(..., "--operator", help="Org id of the operator (授权运营机构)."),
    scope_kind: str = typer.Option(..., "--scope-kind", help="全域 | 领域 | 场景 (region | domain | scenario)."),
    scope: str | None = typer.Option(None, "--scope", help="The domain or scenario."),
    resources: list[str] = typer.Option(..., "--resource", help="RESOURCE_ID:ITEM,ITEM… (repeatable)."),
    purpose: str = typer.Option(..., "--purpose"),
    conditions: str | None = typer.Option(None, "--conditions"),
    starts_on: str = typer.Option(..., "--starts", help="YYYY-MM-DD"),
    ends_on: str = typer.Option(..., "--ends", help="YYYY-MM-DD, the last valid day."),
    fee_cap_fen: int = typer.Option(..., "--fee-cap-fen", help="Operation fee cap in fen."),
    region_id: int | None = typer.Option(None, "--region", help="Region id (default: the operator's)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The authority authorizes an operator."""
    from ..db import get_database
    from . import authorizations as auths

    scopes = _resource_scopes(resources)
    try:
        start, end = date.fromisoformat(starts_on), date.fromisoformat(ends_on)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--starts/--ends") from err
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            auth = auths.create_authorization(
                s, actor, operator_org_id=operator_org_id, region_id=region_id, scope_kind=scope_kind, scope=scope,
                resources=scopes, purpose=purpose, conditions=conditions, starts_on=start, ends_on=end,
                fee_cap_fen=fee_cap_fen)
            out = auths.as_dict(s, auth)
    emit(out, as_json)


@operate_app.command("list")
def list_cmd(state: str | None = typer.Option(None, "--state", help="有效 | 暂停 | 撤销 | 已到期"),
             operator_org_id: int | None = typer.Option(None, "--operator"),
             as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Authorizations the acting user may read, newest first."""
    from ..db import get_database
    from . import authorizations as auths

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = [auths.as_dict(s, a) for a in auths.list_authorizations(s, actor, operator_org_id=operator_org_id,
                                                                            state=state)]
    if as_json:
        emit({"total": len(out), "items": out}, True)
    else:
        emit(out, False, columns=LIST_COLUMNS, title=f"运营授权 / authorizations ({len(out)})")


@operate_app.command("show")
def show_cmd(auth_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """One authorization with its resources, term, state and history."""
    from ..db import get_database
    from . import authorizations as auths

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = auths.as_dict(s, auths.get_authorization(s, actor, auth_id))
    emit(out, as_json)


def _act(name: str, auth_id: int, reason: str, as_user: str | None, as_json: bool) -> None:
    from ..db import get_database
    from . import authorizations as auths

    act = {"suspend": auths.suspend, "resume": auths.resume, "revoke": auths.revoke}[name]
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = auths.as_dict(s, act(s, actor, auth_id, reason))
    emit(out, as_json)


@operate_app.command("suspend")
def suspend_cmd(auth_id: int, reason: str = typer.Option(..., "--reason"), as_user: str | None = AsOpt,
                as_json: bool = JsonOpt) -> None:
    """Suspend an active authorization (the authority)."""
    _act("suspend", auth_id, reason, as_user, as_json)


@operate_app.command("resume")
def resume_cmd(auth_id: int, reason: str = typer.Option(..., "--reason"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """Resume a suspended authorization (the authority)."""
    _act("resume", auth_id, reason, as_user, as_json)


@operate_app.command("revoke")
def revoke_cmd(auth_id: int, reason: str = typer.Option(..., "--reason"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """Revoke an authorization for good (the authority)."""
    _act("revoke", auth_id, reason, as_user, as_json)


@operate_app.command("query")
def query_cmd(
    auth_id: int = typer.Argument(..., help="Authorization id."),
    sql: str | None = typer.Argument(None, help="One SELECT over r_<resource id> views."),
    sql_file: Path | None = typer.Option(None, "--file", help="Read the SQL from this file."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Run a sandbox query as an operator user; prints the released output or the reason."""
    from ..db import get_database
    from . import sandbox

    if sql_file is not None:
        sql = sql_file.read_text(encoding="utf-8")
    if not sql:
        raise typer.BadParameter("give the SQL as an argument or with --file", param_hint="SQL")
    with domain_errors(as_json):
        actor = acting_as(as_user)
        run = sandbox.submit_query(get_database(), actor, auth_id, sql)
        out = sandbox.run_as_dict(run, with_output=True)
    if not out["released"]:
        if as_json:
            emit_json(out)
        else:
            err_console.print(f"[red]已拒绝 {out['reason_code']}[/red]: {out['reason']} (run {out['id']})")
            err_console.print(f"[red]refused {out['reason_code']}[/red]: {out['reason_en']}")
        raise typer.Exit(2)
    if as_json:
        emit_json(out)
        return
    output = out.pop("output") or {}
    emit({k: out[k] for k in ("id", "state", "release_kind", "row_count", "output_digest", "elapsed_ms")}, False)
    emit(output.get("rows", []), False, columns=output.get("columns", []), title="结果 / output")
    if out["suppressed"]:
        emit(out["suppressed"], False, columns=["row", "group", "reason"], title="已抑制的单元格 / suppressed cells")


@operate_app.command("runs")
def runs_cmd(auth_id: int, limit: int = typer.Option(50, "--limit"), as_user: str | None = AsOpt,
             as_json: bool = JsonOpt) -> None:
    """Sandbox runs under an authorization, newest first."""
    from ..db import get_database
    from . import sandbox

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = [sandbox.run_as_dict(r, for_authority=sandbox.reviews(s, actor, r))
                   for r in sandbox.list_runs(s, actor, auth_id, limit=limit)]
    if as_json:
        emit({"total": len(out), "items": out}, True)
    else:
        emit(out, False, columns=RUN_COLUMNS, title=f"沙箱查询 / sandbox runs ({len(out)})")
