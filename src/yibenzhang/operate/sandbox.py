"""The sandbox (原始数据不出域、数据可用不可见, DOMAIN §7): operators compute inside the platform and
take out only results that cannot reveal individuals.

One query, step by step (`submit_query`):
1. the actor is a 运营方 user of the authorization's operator org, and the authorization is
   active today (else a refused run, reason `authorization_inactive`);
2. `sql_guard.check`: one SELECT over the views `r_<resource id>` the authorization lists, with
   only its items (minus those graded 核心 / 重要), allow-listed constructs and functions;
3. `disclosure_guard.plan_release`: aggregated (k-rule via a rewritten COUNT(*) per group) or
   row-level (every output item allowed and masked by the 运营结果 policy) — or refused;
4. the referenced items of each view are read from the zone into Arrow (on an ordinary engine
   connection), then the query runs on a FRESH DuckDB connection that sees only those Arrow
   tables: external access off, configuration locked, memory limit rules.sandbox_memory_mb,
   interrupted after rules.sandbox_timeout_seconds;
5. aggregated: every group ≥ k rows, and no small-group differencing against earlier released
   outputs of the authorization; row-level: masked;
6. every run — released or refused — is stored with the SQL and its SM3 digest, the outcome,
   the output's SM3 digest (canonical JSON of columns and rows) and, when released, the output
   as `$YBZ_ZONE/sandbox/<run id>.parquet`; one ledger event per run carries digests, never the
   SQL text (its literals may be personal data).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_read_all, require
from ..catalog.model import Resource
from ..classify import policies
from ..config import get_settings
from ..crypto import canonical_json, sm3_hex
from ..db import Database, utcnow
from ..enums import Role
from ..errors import ErrorBag, NotFound, Unauthenticated
from ..i18n import translate
from ..ledger import service as ledger
from ..zone.engine import THREADS, get_engine
from ..zone.service import current_relation, quote
from . import authorizations as auths
from . import disclosure_guard as disclosure
from . import sql_guard
from .model import Authorization, ReleaseKind, RunState, SandboxRun

SQL_MAX = 20_000
# An engineering limit, not a policy number: a row-level result is for a product's dataset
# sample, and its digest is computed over canonical JSON of every row.
ROW_OUTPUT_MAX = 100_000
PREVIEW_ROWS = 1000
FORBIDDEN_GRADES = ("核心", "重要")
FINGERPRINT_GROUPS_MAX = 50_000


def _today() -> date:
    return date.today()


# --- reading runs -------------------------------------------------------------------------------


def can_read_run(session: Session, actor: Actor, run: SandboxRun) -> bool:
    if can_read_all(actor) or actor.acts_for_org(run.operator_org_id, Role.OPERATOR):
        return True
    auth = session.get(Authorization, run.authorization_id)
    return auth is not None and auths.can_manage(session, actor, auth.region_id)


def get_run(session: Session, actor: Actor, run_id: int) -> SandboxRun:
    run = session.get(SandboxRun, int(run_id))
    if run is None or not can_read_run(session, actor, run):
        raise NotFound(f"沙箱查询 {run_id}", "sandbox_run_not_found")
    return run


def list_runs(session: Session, actor: Actor, authorization_id: int, limit: int = 100) -> list[SandboxRun]:
    auth = auths.get_authorization(session, actor, authorization_id)
    query = (select(SandboxRun).where(SandboxRun.authorization_id == auth.id)
             .order_by(SandboxRun.id.desc()).limit(max(1, min(int(limit), 1000))))
    return list(session.scalars(query))


def output_path(run: SandboxRun) -> Path | None:
    return get_settings().zone / run.output_path if run.output_path else None


def read_output(run: SandboxRun, limit: int = PREVIEW_ROWS) -> dict[str, Any] | None:
    path = output_path(run)
    if path is None or not path.exists():
        return None
    table = pq.read_table(path)
    return {"columns": table.column_names, "rows": table.slice(0, limit).to_pylist(),
            "truncated": table.num_rows > limit}


def run_as_dict(run: SandboxRun, *, with_output: bool = False, lang: str = "zh") -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id, "authorization_id": run.authorization_id, "operator_org_id": run.operator_org_id,
        "user_id": run.user_id, "sql": run.sql_text, "sql_digest": run.sql_digest, "resources": run.resources,
        "state": run.state, "released": run.state == RunState.RELEASED.value, "release_kind": run.release_kind,
        "reason_code": run.reason_code, "reason": run.reason,
        "reason_en": translate_reason(run) if run.reason else None,
        "row_count": run.row_count, "columns": run.columns, "output_digest": run.output_digest,
        "elapsed_ms": run.elapsed_ms, "created_at": run.created_at.isoformat() if run.created_at else None,
    }
    if with_output:
        out["output"] = read_output(run)
    return out


def translate_reason(run: SandboxRun) -> str | None:
    data = (run.fingerprint or {}).get("reason") if run.fingerprint else None
    if data:
        return translate(data["message"], "en", **data["params"])
    return run.reason


# --- the views an authorization opens ------------------------------------------------------------


def usable_items(session: Session, resource: Resource) -> list[str]:
    """Items an operator may compute over: those not graded 核心 / 重要 (an ungraded item counts
    as the masking policy's default grade, 核心: fail closed)."""
    policy = policies.get_policy()
    return [m.name for m in policies.resource_items(session, resource)
            if policy.grade_label(m.grade) not in FORBIDDEN_GRADES]


def views_for(session: Session, auth: Authorization) -> tuple[dict[str, sql_guard.View],
                                                          dict[str, dict[str, disclosure.ItemRule]],
                                                          dict[str, dict[str, policies.MaskItem]]]:
    """Views `r_<id>` with the authorized items, how the 运营结果 policy treats each item, and the
    items as masking sees them."""
    policy = policies.get_policy()
    views: dict[str, sql_guard.View] = {}
    rules: dict[str, dict[str, disclosure.ItemRule]] = {}
    masks: dict[str, dict[str, policies.MaskItem]] = {}
    for entry in auth.resources or []:
        resource = session.get(Resource, int(entry["resource_id"]))
        if resource is None:
            continue
        listed = set(entry.get("items") or [])
        items = [m for m in policies.resource_items(session, resource) if m.name in listed]
        allowed = [m for m in items if policy.grade_label(m.grade) not in FORBIDDEN_GRADES]
        forbidden = frozenset(m.name for m in items if m not in allowed)
        view = sql_guard.View(resource.id, tuple(m.name for m in allowed), forbidden)
        views[view.name] = view
        rules[view.name] = {}
        masks[view.name] = {}
        for m in allowed:
            spec = policy.operator(m.grade, policies.OPERATOR_RESULT, m.categories)
            rules[view.name][m.name.lower()] = disclosure.ItemRule(denied=spec.denied, clear=spec.name == "none")
            masks[view.name][m.name] = m
    return views, rules, masks


def _materialize(session: Session, checked: sql_guard.Checked) -> dict[str, pa.Table]:
    """Only the referenced authorized items of each view, read from the zone into Arrow."""
    engine = get_engine()
    tables: dict[str, pa.Table] = {}
    for view in checked.views:
        cols = list(view.items) if checked.uses_star else [i for i in view.items if i.lower() in checked.columns]
        cols = cols or list(view.items[:1])  # COUNT(*) alone still needs the rows
        projection = ", ".join(quote(c) for c in cols) if cols else "NULL AS _none"
        tables[view.name] = engine.sql(f"SELECT {projection} FROM {current_relation(session, view.resource_id)}")
    return tables


def run_locked(sql: str, tables: dict[str, pa.Table], *, timeout: float, memory_mb: int) -> pa.Table:
    """Run `sql` on a fresh DuckDB connection that sees only `tables`: no file or network access,
    no extension loading, configuration locked, memory capped, interrupted after `timeout` s."""
    con = duckdb.connect(config={
        "enable_external_access": False, "autoload_known_extensions": False,
        "autoinstall_known_extensions": False, "allow_community_extensions": False,
        "memory_limit": f"{int(memory_mb)}MB", "threads": THREADS,
    })
    timer = threading.Timer(timeout, con.interrupt)
    try:
        for name, table in tables.items():
            con.register(name, table)
        con.execute("SET lock_configuration = true")
        timer.start()
        return con.sql(sql).to_arrow_table()
    except duckdb.InterruptException as err:
        raise sql_guard.Refusal("sandbox_timeout", "查询超过{seconds}秒时限，已中止", seconds=timeout) from err
    except duckdb.OutOfMemoryException as err:
        raise sql_guard.Refusal("sandbox_memory", "查询超过{mb}MB内存上限，已中止", mb=memory_mb) from err
    except (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException) as err:
        # planning errors name columns and types, never row values: the operator may see them
        raise sql_guard.Refusal("sql_error", "查询执行出错：{error}", error=str(err).splitlines()[0][:300]) from err
    except duckdb.Error as err:
        # errors raised while reading rows quote values ("could not convert string '…'"): the
        # kind of error only, or a failed CAST would print an identifier that may not leave
        raise sql_guard.Refusal("sql_runtime_error", "查询在处理数据时出错（{kind}），错误详情可能含有数据，不予显示",
                                kind=type(err).__name__) from err
    finally:
        timer.cancel()
        con.close()


def output_digest(table: pa.Table) -> str:
    """SM3 over canonical JSON of the column names and the rows, in output order."""
    rows = [list(r.values()) for r in table.to_pylist()]
    return sm3_hex(canonical_json({"columns": table.column_names, "rows": rows}))


def _group_keys(out: pa.Table, n: int) -> list[str]:
    cols = [out.column(f"{disclosure.GROUP_COLUMN}{i}").to_pylist() for i in range(n)]
    return [canonical_json([c[r] for c in cols]).decode() for r in range(out.num_rows)]


def _earlier_fingerprints(session: Session, auth_id: int, base: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(SandboxRun.fingerprint).where(
        SandboxRun.authorization_id == auth_id, SandboxRun.state == RunState.RELEASED.value,
        SandboxRun.release_kind == ReleaseKind.AGGREGATE.value))
    return [f for f in rows if f and f.get("base") == base]


def _mask_rows(out: pa.Table, plan: disclosure.Plan, masks: dict[str, policies.MaskItem],
               auth_id: int) -> pa.Table:
    items = []
    for name, item in zip(out.column_names, plan.output_items, strict=True):
        m = masks[item]
        items.append(policies.MaskItem(name, m.categories, m.grade, m.sql_type))
    masked = policies.apply_policy_to_arrow(out, items, policies.OPERATOR_RESULT, purpose=f"运营授权-{auth_id}")
    return masked.replace_schema_metadata(None)


def _store(run: SandboxRun, table: pa.Table) -> str:
    """Write the released output to the zone: a temporary file first, then an atomic rename."""
    rel = f"sandbox/{run.id}.parquet"
    final = get_settings().zone / rel
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_suffix(f".tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    return rel


# --- submitting a query ---------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What the read phase and the run decided, before the run is recorded."""

    refusal: sql_guard.Refusal | None = None
    plan: disclosure.Plan | None = None
    out: pa.Table | None = None
    fingerprint: dict[str, Any] | None = None
    tables: dict[str, pa.Table] = field(default_factory=dict)


def _inactive(auth: Authorization, day: date) -> sql_guard.Refusal:
    return sql_guard.Refusal("authorization_inactive", "运营授权状态为“{state}”，不能查询",
                             state=auths.effective_state(auth, day))


def _prepare(session: Session, auth: Authorization, sql: str, day: date) -> _Outcome:
    """Check and plan the query and read its items from the zone (a read transaction)."""
    try:
        if not auths.is_active(auth, day):
            raise _inactive(auth, day)
        views, rules, masks = views_for(session, auth)
        checked = sql_guard.check(sql, views)
        plan = disclosure.plan_release(checked, views, rules)
        outcome = _Outcome(plan=plan, tables=_materialize(session, checked))
        outcome.fingerprint = {"masks": masks[plan.view.name]} if plan.kind == ReleaseKind.ROWS.value else None
        return outcome
    except sql_guard.Refusal as refusal:
        return _Outcome(refusal=refusal)


def _execute(outcome: _Outcome, auth_id: int, k: int) -> None:
    """Run on the locked connection (no transaction open) and apply the release rule."""
    plan = outcome.plan
    assert plan is not None
    settings = get_settings().rules
    try:
        out = run_locked(plan.sql, outcome.tables, timeout=settings.sandbox_timeout_seconds,
                         memory_mb=settings.sandbox_memory_mb)
        outcome.tables = {}
        if plan.kind == ReleaseKind.AGGREGATE.value:
            counts = [int(n) for n in out.column(disclosure.COUNT_COLUMN).to_pylist()]
            disclosure.check_groups(counts, k)
            keys = _group_keys(out, plan.group_count)
            outcome.fingerprint = {"base": plan.base, "predicates": plan.predicates,
                                   "groups": [[key, n] for key, n in zip(keys, counts, strict=True)]
                                   [:FINGERPRINT_GROUPS_MAX]}
            hidden = [c for c in out.column_names if c.startswith(sql_guard.HIDDEN_PREFIX)]
            outcome.out = out.drop_columns(hidden)
        else:
            if out.num_rows > ROW_OUTPUT_MAX:
                raise sql_guard.Refusal("release_too_many_rows", "行级结果超过{n}行，请缩小范围或改为聚合",
                                        n=ROW_OUTPUT_MAX)
            masks = (outcome.fingerprint or {})["masks"]
            outcome.fingerprint = None
            outcome.out = _mask_rows(out, plan, masks, auth_id)
    except sql_guard.Refusal as refusal:
        outcome.refusal, outcome.out, outcome.fingerprint = refusal, None, None


def submit_query(db: Database, actor: Actor, authorization_id: int, sql: str,
                 day: date | None = None) -> SandboxRun:
    """Run one operator query; the run is recorded whether its output is released or refused.

    Three steps so that no write transaction is held while DuckDB computes: check, plan and read
    the items (read transaction); run and apply the k-rule or masking (no transaction); then, in
    a write transaction holding the authorization's row, re-check that it is still active, check
    small-group differencing against the released runs (serialized per authorization), and record.
    """
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    day = day or _today()
    k = get_settings().rules.sandbox_min_group_rows
    started = time.perf_counter()
    with db.read() as s:
        auth = auths.get_authorization(s, actor, authorization_id)
        require(actor.acts_for_org(auth.operator_org_id, Role.OPERATOR), "在沙箱中查询", "sandbox_denied")
        bag = ErrorBag()
        text = (sql or "").strip()
        if not text:
            bag.add("sql", "required", "必填项不能为空")
        elif len(text) > SQL_MAX:
            bag.add("sql", "too_long", "不能超过{n}个字符", n=SQL_MAX)
        bag.raise_if_any()
        outcome = _prepare(s, auth, text, day)
        auth_id, org_id = auth.id, auth.operator_org_id
    if outcome.refusal is None:
        _execute(outcome, auth_id, k)
    with db.write() as s:
        auth = s.get(Authorization, auth_id, with_for_update=True)
        assert auth is not None
        if outcome.refusal is None and not auths.is_active(auth, day):  # suspended meanwhile
            outcome.refusal = _inactive(auth, day)
        if outcome.refusal is None and outcome.fingerprint is not None:
            earlier = _earlier_fingerprints(s, auth_id, outcome.fingerprint["base"])
            if disclosure.differencing(outcome.fingerprint, earlier, k) is not None:
                outcome.refusal = sql_guard.Refusal(
                    "release_differencing", "与此前放行的结果相减可识别少于{k}行的数据，结果不予放行", k=k)
        released = outcome.refusal is None and outcome.out is not None
        run = SandboxRun(authorization_id=auth_id, operator_org_id=org_id, user_id=actor.user_id, sql_text=text,
                         sql_digest=sm3_hex(text.encode("utf-8")), resources=[], columns=[],
                         state=RunState.RELEASED.value if released else RunState.REFUSED.value, created_at=utcnow())
        if released and outcome.out is not None and outcome.plan is not None:
            run.release_kind = outcome.plan.kind
            run.resources = [outcome.plan.view.resource_id]
            run.fingerprint = outcome.fingerprint
            run.row_count = outcome.out.num_rows
            run.columns = outcome.out.column_names
            run.output_digest = output_digest(outcome.out)
        elif outcome.refusal is not None:
            refusal = outcome.refusal
            run.reason_code = refusal.code
            run.reason = translate(refusal.message, "zh", **refusal.params)
            run.fingerprint = {"reason": {"message": refusal.message,
                                          "params": {key: str(v) for key, v in refusal.params.items()}}}
        run.elapsed_ms = int((time.perf_counter() - started) * 1000)
        s.add(run)
        s.flush()
        if released and outcome.out is not None:
            run.output_path = _store(run, outcome.out)
        ledger.append(s, actor, "operate.sandbox.run", "operate_sandbox_run", run.id, {
            "authorization_id": auth_id, "sql_digest": run.sql_digest, "state": run.state,
            "release_kind": run.release_kind, "reason_code": run.reason_code, "resources": run.resources,
            "row_count": run.row_count, "output_digest": run.output_digest,
        })
    return run
