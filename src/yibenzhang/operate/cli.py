"""`ybz operate …`: authorizations of operators and sandbox queries. Thin adapters over
operate.authorizations and operate.sandbox; every command takes --as USER and --json.
A refused sandbox query is recorded, printed with its reason (zh + en) and exits 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit, emit_json, err_console
from ..db import get_database
from ..i18n import N_

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
    # deferred: keeps `ybz --help` light
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
    # deferred: keeps `ybz --help` light
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
    # deferred: keeps `ybz --help` light
    from . import authorizations as auths

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = auths.as_dict(s, auths.get_authorization(s, actor, auth_id))
    emit(out, as_json)


def _act(name: str, auth_id: int, reason: str, as_user: str | None, as_json: bool) -> None:
    # deferred: keeps `ybz --help` light
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
    # deferred: keeps duckdb, sqlglot out of this module's import
    from . import sandbox

    if sql_file is not None:
        sql = sql_file.read_text(encoding="utf-8")
    if not sql:
        raise typer.BadParameter("give the SQL as an argument or with --file", param_hint="SQL")
    with domain_errors(as_json):
        actor = acting_as(as_user)
        run = sandbox.submit_query(get_database(), actor, auth_id, sql)
        out = sandbox.run_as_dict(run, with_output=True)
    _print_run(out, as_json)


def _print_run(out: dict, as_json: bool) -> None:
    """A released run's output; a held run's flags (exit 0: it waits for a checker, nothing is
    wrong); a refusal's reason in zh and en (exit 2)."""
    if out["held"]:
        if as_json:
            emit_json(out)
            return
        flags = "、".join((out.get("review") or {}).get("flags") or [])
        err_console.print(f"[yellow]待审核[/yellow]: 输出待输出检查员审核后放行（{flags}） (run {out['id']})")
        err_console.print(f"[yellow]held[/yellow]: the output leaves once an output checker approves it ({flags})")
        return
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
        emit(out["suppressed"], False, columns=["row", "group", "reason"],
             title=N_("已抑制的单元格 / suppressed cells"))


@operate_app.command("runs")
def runs_cmd(auth_id: int, limit: int = typer.Option(50, "--limit"), as_user: str | None = AsOpt,
             as_json: bool = JsonOpt) -> None:
    """Sandbox runs under an authorization, newest first."""
    # deferred: keeps duckdb, sqlglot out of this module's import
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


# --- issue 16: the release policy and privacy budget, noisy releases, output checking ---------------


@operate_app.command("budget")
def budget_cmd(
    auth_id: int = typer.Argument(..., help="Authorization id."),
    mode: str | None = typer.Option(None, "--mode", help="输出检查 | 隐私预算"),
    epsilon_total: float | None = typer.Option(None, "--epsilon-total", help="The period's ε budget."),
    review_all: bool | None = typer.Option(None, "--review-all/--no-review-all",
                                           help="Every release waits for an output checker."),
    new_period: bool = typer.Option(False, "--new-period", help="Start a new budget period."),
    spends: bool = typer.Option(False, "--spends", help="Also list the period's spends."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The release mode and ε budget left (anyone who may read the authorization); with options,
    set them (the authority)."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from . import privacy

    changing = mode is not None or epsilon_total is not None or review_all is not None or new_period
    with domain_errors(as_json):
        actor = acting_as(as_user)
        db = get_database()
        if changing:
            with db.write() as s:
                privacy.set_policy(s, actor, auth_id, mode=mode, epsilon_total=epsilon_total,
                                   review_all=review_all, new_period=new_period)
        with db.read() as s:
            out = privacy.read_policy(s, actor, auth_id)
            rows = privacy.spends(s, actor, auth_id) if spends else None
    if as_json:
        emit({**out, "spends": rows} if rows is not None else out, True)
        return
    emit(out, False)
    if rows is not None:
        emit(rows, False, columns=["run_id", "user_id", "epsilon", "spent_after", "created_at"],
             title=f"隐私预算支出 / spends ({len(rows)})")


def _value(text: str) -> object:
    """A filter or group value as the API takes it: a number when it reads as one, else text."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


@operate_app.command("noisy")
def noisy_cmd(
    auth_id: int = typer.Argument(..., help="Authorization id."),
    resource_id: int = typer.Option(..., "--resource", help="The authorized resource."),
    statistic: str = typer.Option(..., "--statistic", help="count | sum | mean"),
    epsilon: float = typer.Option(..., "--epsilon", help="The ε this release spends."),
    item: str | None = typer.Option(None, "--item", help="The numeric item summed or averaged."),
    bounds: str | None = typer.Option(None, "--bounds", help="LOWER,UPPER clamp bounds."),
    filters: list[str] = typer.Option([], "--filter", help="ITEM=VALUE on a clear item (repeatable)."),
    group_by: str | None = typer.Option(None, "--group-by"),
    groups: list[str] = typer.Option([], "--group", help="A group value, named in advance (repeatable)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """A differentially private statistic (OpenDP), paid from the authorization's ε budget."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from . import privacy, sandbox

    clamp = None
    if bounds is not None:
        lo, sep, hi = bounds.partition(",")
        try:
            clamp = (float(lo), float(hi)) if sep else None
        except ValueError:
            clamp = None
        if clamp is None:
            raise typer.BadParameter(f"expected LOWER,UPPER, got {bounds!r}", param_hint="--bounds")
    where: dict[str, list[object]] = {}
    for spec in filters:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected ITEM=VALUE, got {spec!r}", param_hint="--filter")
        where.setdefault(name.strip(), []).append(_value(value))
    request = privacy.NoisyRequest(resource_id=resource_id, statistic=statistic, epsilon=epsilon, item=item,
                                   bounds=clamp, filters={k: v[0] if len(v) == 1 else v for k, v in where.items()},
                                   group_by=group_by, groups=[_value(g) for g in groups])
    with domain_errors(as_json):
        run = privacy.release(get_database(), acting_as(as_user), auth_id, request)
        out = sandbox.run_as_dict(run, with_output=True)
    _print_run(out, as_json)


@operate_app.command("checks")
def checks_cmd(auth_id: int | None = typer.Option(None, "--authorization", help="Only this authorization's."),
               as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Held outputs waiting for an output checker (the authority of their region)."""
    # deferred: keeps sqlglot out of this module's import
    from . import output_check

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            out = [output_check.review_as_dict(r) for r in output_check.pending(s, actor, auth_id)]
    if as_json:
        emit({"total": len(out), "items": out}, True)
    else:
        emit(out, False, columns=["run_id", "authorization_id", "flags", "created_at"],
             title=f"待输出检查 / held outputs ({len(out)})")


def _decide(run_id: int, approve: bool, reason: str, as_user: str | None, as_json: bool) -> None:
    # deferred: keeps sqlglot out of this module's import
    from . import output_check

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = output_check.review_as_dict(output_check.decide(s, actor, run_id, approve=approve, reason=reason))
    emit(out, as_json)


@operate_app.command("approve")
def approve_cmd(run_id: int, reason: str = typer.Option(..., "--reason"), as_user: str | None = AsOpt,
                as_json: bool = JsonOpt) -> None:
    """Release a held output (an output checker; never the query's author)."""
    _decide(run_id, True, reason, as_user, as_json)


@operate_app.command("reject")
def reject_cmd(run_id: int, reason: str = typer.Option(..., "--reason"), as_user: str | None = AsOpt,
               as_json: bool = JsonOpt) -> None:
    """Refuse a held output for good, with the reason the operator sees."""
    _decide(run_id, False, reason, as_user, as_json)
