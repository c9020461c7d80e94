"""The `ybz` command. Every command is a thin adapter over the services; every command takes
--json and exits 2 on bad input."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from . import plugins
from .clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from .config import get_settings
from .db import get_database
from .enums import REGION_ROLES, Role
from .errors import ValidationFailed
from .ledger import service as ledger
from .ops import log_config, prepare_multiprocess
from .orgs import service as orgs
from .registry import load

app = typer.Typer(help="一本账 Yibenzhang — a region's integrated public data resource system.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
user_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
ledger_app = typer.Typer(help="The evidence ledger.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(ledger_app, name="ledger")




@app.command()
def init(as_json: bool = JsonOpt) -> None:
    """Create YBZ_HOME, the database (migrations) and the zone folder. Safe to run again."""
    # deferred: keeps `ybz --help` light
    from .setup import initialize

    with domain_errors(as_json):
        emit(initialize(), as_json)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    demo: bool = typer.Option(False, "--demo", help="Load the demo province first (if empty)."),
    workers: int = typer.Option(1, "--workers", min=1, envvar="YBZ_WEB_WORKERS",
                                help="Worker processes (issue 14: they share limits, caches' epoch, metrics)."),
    log_format: str = typer.Option("json", "--log-format", envvar="YBZ_LOG_FORMAT", help="json | text"),
) -> None:
    """Serve the API, the public portal and the console (several workers behave as one)."""
    import uvicorn

    # deferred: keeps `ybz --help` light
    from .setup import initialize

    if demo and os.environ.get("YBZ_MFA_REQUIRED_ROLES") is None:
        # The demo's accounts share one published password so that anyone can try every role; a
        # second factor for its administrators would stop a visitor at an enrolment page. A real
        # deployment keeps the default (the administrators must use one).
        os.environ["YBZ_MFA_REQUIRED_ROLES"] = ""
        typer.echo("演示模式：管理员登录不要求动态验证码（YBZ_MFA_REQUIRED_ROLES 为空）")
    initialize()
    if demo:
        # deferred: keeps `ybz --help` light
        from .demo import load_demo_if_empty, show_summary

        summary = load_demo_if_empty()
        if summary:
            show_summary(summary)

    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # every worker writes its metric values here; any worker's /metrics sums them
        prepare_multiprocess(get_settings().home / "run" / f"metrics-{port}")
    uvicorn.run("yibenzhang.api:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=log_config("json" if log_format == "json" else "text"), access_log=False,
                timeout_graceful_shutdown=10, timeout_worker_healthcheck=30)


@app.command()
def demo(seed: int = typer.Option(2026, "--seed"), as_json: bool = JsonOpt) -> None:
    """Load the demo province (deterministic for a seed) and print its users."""
    # deferred: keeps `ybz --help` light
    from .demo import load_demo, show_summary

    # deferred: keeps `ybz --help` light
    from .setup import initialize

    with domain_errors(as_json):
        initialize()
        show_summary(load_demo(seed=seed), as_json)


@user_app.command("add")
def user_add(
    username: str,
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True,
                                 envvar="YBZ_NEW_USER_PASSWORD"),
    display_name: str = typer.Option("", "--name"),
    role: list[str] = typer.Option([], "--role", help="ROLE[:ORG_USCC|REGION_CODE], e.g. 数据专员:1152…"),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add a user with roles. Org roles take the org's USCC, the reviewer role a region code."""

    specs = []
    for raw in role:
        name, _, scope = raw.partition(":")
        parsed = Role.parse(name)
        if parsed in REGION_ROLES:
            specs.append(orgs.RoleSpec(name, region_code=scope or None))
        else:
            specs.append(orgs.RoleSpec(name, org_uscc=scope or None))
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            user = orgs.create_user(s, actor, username=username, display_name=display_name, password=password,
                                    roles=specs)
            emit({"id": user.id, "username": user.username, "roles": [r.role for r in user.roles]}, as_json)


@token_app.command("create")
def token_create(
    username: str, name: str = typer.Option("cli", "--name"), days: int = typer.Option(365, "--days"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Create an API token for USER. The token is printed once; only its digest is stored."""

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            token, value = orgs.create_token(s, actor, username=username, name=name, days=days)
            emit({"id": token.id, "token": value, "expires_at": token.expires_at}, as_json)


@ledger_app.command("verify")
def ledger_verify(as_json: bool = JsonOpt) -> None:
    """Walk the evidence chain; exit 1 and name the first break if anything was altered."""

    with get_database().read() as s:
        report = ledger.verify(s)
    if as_json:
        emit(report.as_dict(), True)
    elif report.ok:
        emit(f"存证链完整 / the evidence chain is intact: {report.events} events, last seq {report.last_seq}", False)
    else:
        emit(f"存证链已被篡改 / the evidence chain has been tampered with "
             f"({len(report.breaks)} breaks; first at event {report.first_break.seq}):", False)
        for b in report.breaks[:20]:
            emit(f"  #{b.seq} {b.kind}: {b.detail} / {b.detail_en}", False)
    if not report.ok:
        raise typer.Exit(1)


ACCESS_LOG_COLUMNS = ["at", "actor", "exit", "resource_id", "items", "rows", "outcome", "ref"]


@ledger_app.command("access-log")
def ledger_access_log(
    since: str = typer.Option(None, "--since", help="ISO date or time (inclusive)."),
    until: str = typer.Option(None, "--until", help="ISO date or time (exclusive)."),
    as_user: str = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Export the access log of personal data (audit administrator): who read which resource's
    items, how many rows, by which exit — never a value."""
    from datetime import datetime

    # deferred: keeps `ybz --help` light
    from .ledger import access_log

    with domain_errors(as_json):
        bounds = []
        for raw in (since, until):
            try:
                bounds.append(datetime.fromisoformat(raw) if raw else None)
            except ValueError:
                raise ValidationFailed("date_invalid", "日期格式不正确：{value}", value=raw) from None
        actor = acting_as(as_user)
        access_log.flush_pending()
        with get_database().write() as s:
            out = access_log.entries(s, actor, since=bounds[0], until=bounds[1])
        emit(out, as_json, columns=ACCESS_LOG_COLUMNS, title="访问日志 / access log")


@app.command()
def bench(
    name: str = typer.Argument(..., help="search | ledger | …"),
    runs: int = typer.Option(5, "--runs"),
    scale: float = typer.Option(1.0, "--scale", help="Fraction of the stated size (for a quick look)."),
    rows: int | None = typer.Option(None, "--rows", help="Rows to generate (benchmarks over generated rows)."),
    people: int | None = typer.Option(None, "--people", help="People (ybz bench fusion; the same as --rows)."),
    as_json: bool = JsonOpt,
    workers: str | None = typer.Option(None, "--workers", help="share: server worker counts, e.g. 1,2 (issue 14)."),
    xlsx: bool = typer.Option(False, "--xlsx", help="ingest: an 8-column XLSX instead of the CSV (issue 15)."),
) -> None:
    """Run a benchmark and print its figures (median of runs, ratio to the baseline)."""
    # deferred: keeps `ybz --help` light
    from .bench import run_benchmark

    if workers:
        os.environ["YBZ_BENCH_SHARE_WORKERS"] = workers
    if xlsx:
        os.environ["YBZ_BENCH_INGEST_XLSX"] = "1"

    with domain_errors(as_json):
        emit(run_benchmark(name, runs=runs, scale=scale, rows=rows or people), as_json)


def _register_plugins() -> None:
    """Attach every plugin's commands (`ybz_commands`): a Typer app as a group, a function as a
    command; "group name" adds to another plugin's group. A stage absent from this installation is
    skipped."""

    wanted = [(path, target) for answer in plugins.results("ybz_commands") for path, target in answer.items()]
    groups: dict[str, typer.Typer] = {}
    for path, target in sorted(wanted, key=lambda pair: " " in pair[0]):  # groups before what joins them
        part = load(target)
        if part is None:
            continue
        parent_name, _, name = path.rpartition(" ")
        parent = groups.get(parent_name, app) if parent_name else app
        if parent_name and parent_name not in groups:
            continue  # the group it joins is not installed
        if isinstance(part, typer.Typer):
            parent.add_typer(part, name=name)
            groups[path] = part
        else:
            parent.command(name)(part)  # type: ignore[arg-type]


_register_plugins()


def main() -> None:  # pragma: no cover - console entry
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()


__all__ = ["Path", "app", "main"]
