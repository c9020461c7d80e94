"""The privacy budget (DOMAIN §7, "default strongest mode"): per authorization an ε budget set by
the authority, spent by counts, sums and means released with calibrated noise from OpenDP.

Privacy unit and neighbours: one row of the resource; two datasets are neighbours when one has one
row more (add/remove, OpenDP's symmetric distance). Contributions are bounded: a count moves by
1 per row; a sum clamps each value to [lower, upper] — bounds declared with the request, or the
catalogue's value range for the item (a quality rule of kind "range" with both a lower and an upper
bound) — so it moves by at most max(|lower|, |upper|). Grouped releases are over a list of group
values the operator names in advance (never the values the data has, which would themselves
reveal rows); each row falls in one group, so the L1 sensitivity of the whole vector is the same
as of one cell. A mean is a noisy sum over a noisy count, each with half the ε.

The noise: OpenDP's Laplace measurement over the vector (discrete for counts, continuous for sums),
its scale found by `binary_search_param` so that the measurement's own privacy map gives at most
the ε spent for the stated sensitivity. OpenDP draws from the system's CSPRNG and takes no seed.
Sums are computed exactly (DECIMAL) before the noise; the one float rounding of the exact sum is
not in the sensitivity (OpenDP's own make_sum pads for it; a sum of n clamped values here can be
off by one ulp of the total).

Accounting: ε is kept in millionths. A release is computed first, then paid in the same write
transaction that records it, by one conditional UPDATE (`spent + ε ≤ total`): on SQLite and on
PostgreSQL two concurrent releases cannot both pass it when only one fits; the release that would
exceed is refused (`privacy_budget_exhausted`) and debits nothing. Every debit is a
`PrivacySpend` row and a ledger event.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, require
from ..config import get_settings
from ..crypto import sm3_hex
from ..db import Database, utcnow
from ..enums import Role
from ..errors import ErrorBag, Unauthenticated
from ..i18n import N_
from ..ledger import service as ledger
from ..quality.model import QualityRule
from ..zone.service import literal, quote
from . import authorizations as auths
from . import output_check, run_record, sql_guard
from .model import Authorization, PrivacySpend, ReleaseKind, ReleaseMode, ReleasePolicy, RunState, SandboxRun
from .run_record import output_digest
from .sandbox import Copy, views_for

MICRO = 1_000_000
STATISTICS = ("count", "sum", "mean")
VALUE_COLUMN = {"count": "count", "sum": "sum", "mean": "mean"}


def to_micro(epsilon: float) -> int:
    return round(float(epsilon) * MICRO)


# --- the policy ---------------------------------------------------------------------------------


def get_policy(session: Session, auth_id: int) -> ReleasePolicy | None:
    return session.get(ReleasePolicy, int(auth_id))


def policy_as_dict(policy: ReleasePolicy | None, auth_id: int) -> dict[str, Any]:
    total = policy.epsilon_total_micro if policy else 0
    spent = policy.epsilon_spent_micro if policy else 0
    return {"authorization_id": auth_id, "mode": policy.mode if policy else ReleaseMode.OUTPUT_CHECK.value,
            "review_all": bool(policy.review_all) if policy else False,
            "epsilon_total": total / MICRO, "epsilon_spent": spent / MICRO,
            "epsilon_remaining": max(0, total - spent) / MICRO,
            "period_starts_on": policy.period_starts_on.isoformat() if policy and policy.period_starts_on else None}


def read_policy(session: Session, actor: Actor, auth_id: int) -> dict[str, Any]:
    """The operator and the authority both see the mode and the budget left."""
    auth = auths.get_authorization(session, actor, auth_id)
    return policy_as_dict(get_policy(session, auth.id), auth.id)


def set_policy(session: Session, actor: Actor, auth_id: int, *, mode: str | None = None,
               epsilon_total: float | None = None, review_all: bool | None = None, new_period: bool = False,
               day: date | None = None) -> ReleasePolicy:
    """The authority chooses the release mode, whether every release waits for an output checker,
    and the ε budget; `new_period` starts a new budget period (nothing spent yet in it)."""
    auth = auths.get_authorization(session, actor, auth_id, for_update=True)
    require(auths.can_manage(session, actor, auth.region_id), "设定运营授权的发布方式和隐私预算", "permission_denied")
    bag = ErrorBag()
    parsed = ReleaseMode.parse(mode) if mode is not None else None
    if mode is not None and parsed is None:
        bag.add("mode", "release_mode_invalid", "发布方式应为“输出检查”或“隐私预算”")
    if epsilon_total is not None and (not math.isfinite(float(epsilon_total)) or float(epsilon_total) < 0
                                      or float(epsilon_total) > get_settings().rules.sandbox_privacy_epsilon_max):
        bag.add("epsilon_total", "privacy_epsilon_invalid", "隐私预算ε应在0到{max}之间",
                max=get_settings().rules.sandbox_privacy_epsilon_max)
    bag.raise_if_any()
    policy = session.get(ReleasePolicy, auth.id, with_for_update=True)
    if policy is None:
        policy = ReleasePolicy(authorization_id=auth.id, mode=ReleaseMode.OUTPUT_CHECK.value, review_all=False,
                               epsilon_total_micro=to_micro(get_settings().rules.sandbox_privacy_epsilon_default),
                               epsilon_spent_micro=0, period_starts_on=day or workdays.today())
        session.add(policy)
    if parsed is not None:
        policy.mode = parsed.value
    if epsilon_total is not None:
        policy.epsilon_total_micro = to_micro(epsilon_total)
    if review_all is not None:
        policy.review_all = bool(review_all)
    if new_period:
        policy.epsilon_spent_micro = 0
        policy.period_starts_on = day or workdays.today()
    policy.updated_by_id = actor.user_id
    policy.updated_at = utcnow()
    session.flush()
    ledger.append(session, actor, "operate.release_policy.set", "operate_authorization", auth.id, {
        "mode": policy.mode, "review_all": policy.review_all, "epsilon_total_micro": policy.epsilon_total_micro,
        "epsilon_spent_micro": policy.epsilon_spent_micro, "new_period": new_period,
        "period_starts_on": policy.period_starts_on.isoformat() if policy.period_starts_on else None})
    return policy


def debit(session: Session, auth_id: int, epsilon_micro: int) -> int | None:
    """Spend ε in one conditional UPDATE; the balance spent after it, or None when it does not fit
    (nothing is debited). Atomic on SQLite (one writer) and on PostgreSQL (the row lock makes a
    concurrent UPDATE re-check the condition against the committed balance)."""
    result = session.execute(
        update(ReleasePolicy)
        .where(ReleasePolicy.authorization_id == auth_id, ReleasePolicy.mode == ReleaseMode.PRIVACY_BUDGET.value,
               ReleasePolicy.epsilon_spent_micro + epsilon_micro <= ReleasePolicy.epsilon_total_micro)
        .values(epsilon_spent_micro=ReleasePolicy.epsilon_spent_micro + epsilon_micro)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return int(session.scalar(select(ReleasePolicy.epsilon_spent_micro)
                              .where(ReleasePolicy.authorization_id == auth_id)) or 0)


def spends(session: Session, actor: Actor, auth_id: int) -> list[dict[str, Any]]:
    auth = auths.get_authorization(session, actor, auth_id)
    rows = session.scalars(select(PrivacySpend).where(PrivacySpend.authorization_id == auth.id)
                           .order_by(PrivacySpend.id))
    return [{"run_id": p.run_id, "user_id": p.user_id, "epsilon": p.epsilon_micro / MICRO,
             "spent_after": p.spent_after_micro / MICRO, "created_at": p.created_at.isoformat()} for p in rows]


# --- the noise ----------------------------------------------------------------------------------------


def _opendp() -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


@functools.lru_cache(maxsize=256)
def measurement(*, integer: bool, sensitivity: float, epsilon: float, size: int) -> tuple[Any, float]:
    """OpenDP's Laplace measurement over a vector of `size` values and its scale, the smallest
    for which its privacy map gives at most `epsilon` at input distance `sensitivity` (Δ/ε when
    the map, which rounds up, accepts it; else OpenDP's binary search)."""
    dp = _opendp()
    if integer:
        space = (dp.vector_domain(dp.atom_domain(T=int), size=size), dp.l1_distance(T=int))
        d_in: Any = int(sensitivity)
    else:
        space = (dp.vector_domain(dp.atom_domain(T=float, nan=False), size=size), dp.l1_distance(T=float))
        d_in = float(sensitivity)

    def make(scale: float) -> Any:
        return dp.m.make_laplace(*space, scale=scale)

    scale = float(d_in) / float(epsilon)
    meas = make(scale)
    if meas.map(d_in) > epsilon:
        scale = float(dp.binary_search_param(make, d_in=d_in, d_out=float(epsilon)))
        meas = make(scale)
    assert meas.map(d_in) <= epsilon  # the calibration holds by OpenDP's own map
    return meas, scale


@dataclass
class NoisyRequest:
    """What the operator asks: a statistic over one authorized resource, optionally over rows
    matching equality filters on clear items, optionally per named group."""

    resource_id: int
    statistic: str
    epsilon: float
    item: str | None = None
    bounds: tuple[float, float] | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    group_by: str | None = None
    groups: list[Any] = field(default_factory=list)


def _catalogue_bounds(session: Session, resource_id: int, item: str) -> tuple[float, float] | None:
    """The item's value range from the catalogue's quality rules (kind "range", both bounds)."""

    for rule in session.scalars(select(QualityRule).where(QualityRule.resource_id == resource_id,
                                                          QualityRule.kind == "range")):
        params = rule.params or {}
        if item in (rule.items or []) and params.get("min") not in (None, "") and params.get("max") not in (None, ""):
            try:
                return float(params["min"]), float(params["max"])
            except (TypeError, ValueError):
                continue
    return None


def _refuse(code: str, message: str, **params: Any) -> sql_guard.Refusal:
    return sql_guard.Refusal(code, message, **params)


@dataclass
class _Plan:
    sql: str
    checked: sql_guard.Checked
    view: sql_guard.View
    statistic: str
    epsilon_micro: int
    bounds: tuple[float, float] | None
    groups: list[Any]
    group_by: str | None
    item: str | None


def _plan(session: Session, auth: Authorization, req: NoisyRequest) -> _Plan:
    rules = get_settings().rules
    if req.statistic not in STATISTICS:
        raise _refuse("privacy_statistic", "差分隐私只发布计数（count）、求和（sum）和均值（mean）")
    eps = float(req.epsilon)
    if not math.isfinite(eps) or to_micro(eps) <= 0 or eps > rules.sandbox_privacy_epsilon_max:
        raise _refuse("privacy_epsilon_invalid", "隐私预算ε应在0到{max}之间", max=rules.sandbox_privacy_epsilon_max)
    views, _rules, _masks = views_for(session, auth)
    view = views.get(f"r_{int(req.resource_id)}")
    if view is None:
        raise _refuse("sql_resource_not_authorized", "信息资源{resource}不在运营授权范围内", resource=req.resource_id)
    columns = {c.lower(): c for c in view.items}
    kinds = {c.lower(): k for c, k, _i in view.sources}

    def clear_column(name: str, what: str) -> str:
        col = columns.get(name.lower())
        if col is None or kinds.get(name.lower()) in ("pseudonym", "numeric"):
            raise _refuse("privacy_column", "{what}只能用可明文使用的信息项或派生属性，“{item}”不可",
                          what=what, item=name)
        return col

    where = []
    for name, value in sorted(req.filters.items()):
        col = clear_column(name, N_("筛选条件"))
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > rules.sandbox_privacy_groups_max:
            raise _refuse("privacy_filter", "筛选条件“{item}”的取值个数不合法", item=name)
        where.append(f"CAST({quote(col)} AS VARCHAR) IN ({', '.join(literal(str(v)) for v in values)})")
    value_sql = None
    bounds = None
    item = None
    if req.statistic in ("sum", "mean"):
        item = columns.get((req.item or "").lower())
        if item is None or kinds.get(item.lower()) == "pseudonym":
            raise _refuse("privacy_item", "求和与均值需要一个已授权的数值信息项")
        source_item = next((i for c, _k, i in view.sources if c == item), item)
        bounds = tuple(req.bounds) if req.bounds else _catalogue_bounds(session, view.resource_id, source_item)
        if bounds is None:
            raise _refuse("privacy_bounds_required", "“{item}”没有取值范围：请给出上下限（截断界）", item=item)
        lo, hi = float(bounds[0]), float(bounds[1])
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise _refuse("privacy_bounds_invalid", "截断界的下限不能大于上限")
        bounds = (lo, hi)
        num = f"TRY_CAST({quote(item)} AS DOUBLE)"
        value_sql = (f"CAST(least(greatest({num}, {lo!r}), {hi!r}) AS DECIMAL(38, 6))")
        where.append(f"{num} IS NOT NULL")
    group_col = None
    groups: list[Any] = []
    if req.group_by:
        group_col = clear_column(req.group_by, N_("分组"))
        groups = list(dict.fromkeys(req.groups))
        if not groups:
            raise _refuse("privacy_groups_required", "分组发布要事先列出各组的取值（不能由数据决定）")
        if len(groups) > rules.sandbox_privacy_groups_max:
            raise _refuse("privacy_groups_too_many", "分组不能超过{n}个", n=rules.sandbox_privacy_groups_max)
    select_list = [f"{quote(group_col)} AS g" if group_col else "NULL AS g", "count(*) AS n"]
    if value_sql:
        select_list.append(f"sum({value_sql}) AS s")
    sql = (f"SELECT {', '.join(select_list)} FROM {view.name}"
           + (f" WHERE {' AND '.join(where)}" if where else "") + (" GROUP BY 1" if group_col else ""))
    used = {c.lower() for c in [item, group_col, *[columns[n.lower()] for n in req.filters]] if c}
    checked = sql_guard.Checked(tree=None, sql=sql, views=[view], columns=used)  # type: ignore[arg-type]
    return _Plan(sql=sql, checked=checked, view=view, statistic=req.statistic, epsilon_micro=to_micro(eps),
                 bounds=bounds, groups=groups, group_by=group_col, item=item)


def noisy_values(plan: _Plan, exact: pa.Table) -> tuple[pa.Table, dict[str, Any]]:
    """Align the exact per-group counts and sums with the named groups and add OpenDP's noise."""
    keys = plan.groups if plan.group_by else [None]
    # group values compare as text: the operator names them in a form or JSON, the column may be typed
    rows = ({str(r["g"]): r for r in exact.to_pylist() if r["g"] is not None} if plan.group_by
            else {"None": (exact.to_pylist() or [{}])[0]})
    counts = [int((rows.get(str(k)) or {}).get("n") or 0) for k in keys]
    sums = [float((rows.get(str(k)) or {}).get("s") or 0) for k in keys]
    eps = plan.epsilon_micro / MICRO
    detail: dict[str, Any] = {"statistic": plan.statistic, "epsilon": eps,
                              "bounds": list(plan.bounds) if plan.bounds else None,
                              "groups": len(keys), "item": plan.item, "group_by": plan.group_by}
    if plan.statistic == "count":
        meas, scale = measurement(integer=True, sensitivity=1, epsilon=eps, size=len(keys))
        values: list[Any] = [max(0, int(v)) for v in meas(counts)]
        detail.update(count_scale=scale, sensitivity=1)
    else:
        assert plan.bounds is not None
        sens = max(abs(plan.bounds[0]), abs(plan.bounds[1]))
        share = eps if plan.statistic == "sum" else eps / 2
        meas, scale = measurement(integer=False, sensitivity=sens, epsilon=share, size=len(keys))
        noisy_sums = [float(v) for v in meas(sums)]
        detail.update(sum_scale=scale, sensitivity=sens)
        if plan.statistic == "sum":
            values = noisy_sums
        else:
            cmeas, cscale = measurement(integer=True, sensitivity=1, epsilon=share, size=len(keys))
            noisy_counts = [int(v) for v in cmeas(counts)]
            detail.update(count_scale=cscale)
            lo, hi = plan.bounds
            values = [min(hi, max(lo, s / n)) if n > 0 else None for s, n in zip(noisy_sums, noisy_counts, strict=True)]
    out: dict[str, Any] = {}
    if plan.group_by:
        out[plan.group_by] = keys
    out[VALUE_COLUMN[plan.statistic]] = values
    return pa.table(out), detail


# --- a noisy release ------------------------------------------------------------------------------


def release(db: Database, actor: Actor, authorization_id: int, request: NoisyRequest,
            day: date | None = None) -> SandboxRun:
    """Compute the exact statistic in the sandbox process, add OpenDP's noise, then pay for it and
    record the run in one write transaction (see the module docstring); the run is recorded
    whether released, held for output checking, or refused."""
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    day = day or workdays.today()
    rules = get_settings().rules
    started = time.perf_counter()
    refusal: sql_guard.Refusal | None = None
    out: pa.Table | None = None
    detail: dict[str, Any] = {}
    sql = ""
    plan: _Plan | None = None
    with db.read() as s:
        auth = auths.get_authorization(s, actor, authorization_id)
        require(actor.acts_for_org(auth.operator_org_id, Role.OPERATOR), "在沙箱中查询", "sandbox_denied")
        auth_id, org_id = auth.id, auth.operator_org_id
        policy = get_policy(s, auth_id)
        try:
            if not auths.is_active(auth, day):
                raise _refuse("authorization_inactive", "运营授权状态为“{state}”，不能查询",
                              state=auths.effective_state(auth, day))
            if policy is None or policy.mode != ReleaseMode.PRIVACY_BUDGET.value:
                raise _refuse("privacy_mode_off", "该运营授权未采用隐私预算方式，不能发布加噪结果")
            plan = _plan(s, auth, request)
            sql = plan.sql
            if policy.epsilon_spent_micro + plan.epsilon_micro > policy.epsilon_total_micro:
                raise _exhausted(policy, plan.epsilon_micro)
            copy = Copy.prepare(s, plan.checked, auth_id, day)
        except sql_guard.Refusal as err:
            refusal = err
    if refusal is None and plan is not None:
        try:
            exact = copy.run(plan.sql, timeout=rules.sandbox_timeout_seconds, memory_mb=rules.sandbox_memory_mb)
            out, detail = noisy_values(plan, exact)
        except sql_guard.Refusal as err:
            refusal = err
    with db.write() as s:
        auth = s.get(Authorization, auth_id, with_for_update=True)
        assert auth is not None
        run = SandboxRun(authorization_id=auth_id, operator_org_id=org_id, user_id=actor.user_id,
                         sql_text=sql or "-", sql_digest=sm3_hex((sql or "-").encode("utf-8")), resources=[],
                         columns=[], state=RunState.REFUSED.value, created_at=utcnow())
        spent_after = None
        if refusal is None and out is not None and plan is not None:
            spent_after = debit(s, auth_id, plan.epsilon_micro)
            if spent_after is None:
                refusal = _exhausted(get_policy(s, auth_id), plan.epsilon_micro)
        if refusal is None and out is not None and plan is not None:
            run.release_kind = ReleaseKind.NOISY.value
            run.resources = [plan.view.resource_id]
            run.row_count = out.num_rows
            run.columns = out.column_names
            run.output_digest = output_digest(out)
            run.fingerprint = {"dp": detail}
            run.state = RunState.RELEASED.value
        elif refusal is not None:
            run_record.note_refusal(run, refusal)
        run.elapsed_ms = int((time.perf_counter() - started) * 1000)
        s.add(run)
        s.flush()
        flags: list[str] = []
        if run.state == RunState.RELEASED.value and out is not None:
            run.output_path = run_record.store_output(run, out)
            flags = output_check.flags_for_noisy(s, auth_id)
            if flags:
                output_check.hold(s, run, flags, [i for i in (plan.item, plan.group_by) if i] if plan else None)
        if spent_after is not None and plan is not None:
            s.add(PrivacySpend(authorization_id=auth_id, run_id=run.id, user_id=actor.user_id,
                               epsilon_micro=plan.epsilon_micro, spent_after_micro=spent_after, created_at=utcnow()))
            ledger.append(s, actor, "operate.privacy.spend", "operate_sandbox_run", run.id, {
                "authorization_id": auth_id, "epsilon_micro": plan.epsilon_micro, "spent_after_micro": spent_after,
                "statistic": plan.statistic})
        run_record.ledger_run(s, actor, run, auth_id, flags)
        if run.state == RunState.RELEASED.value and plan is not None:
            run_record.log_release(s, actor, run, auth_id, plan.view.resource_id,
                                   [i for i in (plan.item, plan.group_by) if i])
    return run


def _exhausted(policy: ReleasePolicy | None, need: int) -> sql_guard.Refusal:
    left = max(0, (policy.epsilon_total_micro - policy.epsilon_spent_micro) if policy else 0)
    return _refuse("privacy_budget_exhausted", "隐私预算不足：本次需要ε={need}，剩余ε={left}",
                   need=need / MICRO, left=left / MICRO)
