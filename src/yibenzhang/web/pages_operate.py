"""Operation console pages: /console/operate (authorizations; the authority's form to authorize an
operator), /console/operate/{id} (one authorization: its resources and items, term and history;
suspend / resume / revoke for the authority; for the operator the sandbox: the views it may
query, a SQL form, the runs and a released output or the refusal's reason).
Thin adapters over operate.authorizations and operate.sandbox, which decide who may do what."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from .. import workdays
from ..catalog.model import Resource
from ..config import get_settings
from ..db import get_database
from ..enums import OrgKind, Role
from ..errors import FieldError, NotFound, ValidationFailed
from ..i18n import N_
from ..operate import authorizations as auths
from ..operate import output_check, privacy, sandbox
from ..operate.model import ReleaseMode, ScopeKind
from ..orgs.model import Org
from ..params import Id, parse_id, parse_int
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

STATE_CLASS = {"有效": "published", "暂停": "submitted", "撤销": "returned", "已到期": "draft",
               "已放行": "published", "已拒绝": "returned", "待审核": "submitted", "已批准": "published",
               "已驳回": "returned"}
# issue 16: why a release waits for an output checker
FLAG_TEXT = {"row_level": N_("行级结果"), "large_table": N_("结果表过大"), "many_suppressed": N_("抑制单元格过多"),
             "near_identical": N_("重复的近似查询"), "review_all": N_("该授权的结果一律人工审核")}
FIELDS = ("operator_org_id", "scope_kind", "scope", "resources", "purpose", "conditions", "starts_on", "ends_on",
          "fee_cap_fen")


def _is_authority(ctx: WebContext) -> bool:
    return ctx.actor.is_admin or bool(ctx.actor.reviewer_paths())


def _operators(s: Any) -> list[dict[str, Any]]:
    rows = s.scalars(select(Org).where(Org.kind == OrgKind.OPERATOR.value).order_by(Org.id))
    return [{"id": o.id, "name": o.name} for o in rows]


def _list_page(request: Request, ctx: WebContext, values: dict[str, Any] | None = None,
               errors: dict[str, list[str]] | None = None, status_code: int = 200) -> Response:
    with get_database().read() as s:
        rows = [auths.as_dict(s, a) for a in auths.list_authorizations(s, ctx.actor)]
        operators = _operators(s) if _is_authority(ctx) else []
    today = workdays.today()
    v = values or {"scope_kind": ScopeKind.SCENARIO.value, "starts_on": today.isoformat(),
                   "ends_on": (auths.latest_end(today)).isoformat(), "fee_cap_fen": "0"}
    return render(request, "operate/list.html", status_code=status_code, rows=rows, operators=operators,
                  authority=_is_authority(ctx), v=v, errors=errors or {}, scope_kinds=ScopeKind.values(),
                  state_class=STATE_CLASS, rules=get_settings().rules, done=request.query_params.get("done"))


@router.get("/console/operate")
def operate_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return _list_page(request, ctx)


def _resource_lines(text: str) -> list[dict[str, Any]] | None:
    """One line per resource: `ID: item, item` (Chinese or ASCII separators)."""
    out = []
    for line in text.replace("：", ":").replace("，", ",").replace("、", ",").splitlines():
        if not line.strip():
            continue
        rid, sep, items = line.partition(":")
        if not sep or parse_id(rid) is None:
            return None
        out.append({"resource_id": parse_id(rid), "items": [i.strip() for i in items.split(",") if i.strip()]})
    return out


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@router.post("/console/operate/new")
def create_authorization(request: Request, ctx: WebContext = Depends(csrf_checked),
                         form: FormData = Depends(form_data)) -> Response:
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    problems: list[FieldError] = []
    resources = _resource_lines(values["resources"])
    if resources is None:
        problems.append(FieldError("resources", "invalid", "每行应为“资源编号: 信息项, 信息项”", {}))
    start, end = _date(values["starts_on"]), _date(values["ends_on"])
    for name, parsed in (("starts_on", start), ("ends_on", end)):
        if parsed is None:
            problems.append(FieldError(name, "date", "日期格式应为YYYY-MM-DD", {}))
    fee = values["fee_cap_fen"]
    if parse_int(fee, 0) is None:
        problems.append(FieldError("fee_cap_fen", "invalid", "收费上限应为不小于0的整数（分）", {}))
    if parse_id(values["operator_org_id"]) is None:
        problems.append(FieldError("operator_org_id", "required", "必填项不能为空", {}))
    try:
        if problems:
            raise ValidationFailed("validation_failed", "请求的内容不合法", errors=problems)
        assert start is not None and end is not None and resources is not None
        with get_database().write() as s:
            created = auths.create_authorization(
                s, ctx.actor, operator_org_id=int(values["operator_org_id"]), scope_kind=values["scope_kind"],
                scope=values["scope"] or None, resources=resources, purpose=values["purpose"],
                conditions=values["conditions"] or None, starts_on=start, ends_on=end, fee_cap_fen=int(fee))
            new_id = created.id
    except ValidationFailed as exc:
        return _list_page(request, ctx, values, field_errors(exc.errors, ctx.lang), status_code=422)
    return redirect(f"/console/operate/{new_id}?done=create")


def _views(s: Any, a: Any) -> list[dict[str, Any]]:
    views, _rules, _masks = sandbox.views_for(s, a)
    out = []
    for view in views.values():
        resource = s.get(Resource, view.resource_id)
        out.append({"name": view.name, "resource": resource.name if resource else "", "items": list(view.items),
                    "forbidden": sorted(view.forbidden)})
    return out


@router.get("/console/operate/{auth_id:id}")
def authorization_page(request: Request, auth_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    run_id = request.query_params.get("run")
    with get_database().read() as s:
        a = auths.get_authorization(s, ctx.actor, auth_id)
        view = auths.as_dict(s, a)
        operator = ctx.actor.acts_for_org(a.operator_org_id, Role.OPERATOR)
        authority = auths.can_manage(s, ctx.actor, a.region_id)
        views = _views(s, a)
        # the authority sees the real reasons of refusals (issue 16); the operator the generic one
        runs = [sandbox.run_as_dict(r, for_authority=authority)
                for r in sandbox.list_runs(s, ctx.actor, auth_id, limit=20)]
        shown = None
        if parse_id(run_id) is not None:
            run = sandbox.get_run(s, ctx.actor, int(run_id))
            if run.authorization_id != a.id:
                raise NotFound(f"沙箱查询 {run_id}", "sandbox_run_not_found")
            shown = sandbox.run_as_dict(run, with_output=True, for_authority=authority)
        policy = privacy.read_policy(s, ctx.actor, auth_id)
        held = ([output_check.review_as_dict(r) for r in output_check.pending(s, ctx.actor, auth_id)]
                if authority else [])
        dp_mode = policy["mode"] == ReleaseMode.PRIVACY_BUDGET.value
        spends = privacy.spends(s, ctx.actor, auth_id)[-20:] if dp_mode else []
    example = (f"SELECT {views[0]['items'][0]}, count(*) AS n FROM {views[0]['name']}\n"
               f"GROUP BY 1 HAVING count(*) >= {get_settings().rules.sandbox_min_group_rows}"
               if views and views[0]["items"] else "")
    return render(request, "operate/detail.html", a=view, operator=operator, authority=authority, views=views,
                  runs=runs, shown=shown, example=example, state_class=STATE_CLASS, rules=get_settings().rules,
                  sql=shown["sql"] if shown else example, done=request.query_params.get("done"),
                  policy=policy, held=held, spends=spends, flag_text=FLAG_TEXT, modes=ReleaseMode.values())


@router.post("/console/operate/{auth_id:id}/query")
def run_query(request: Request, auth_id: Id, ctx: WebContext = Depends(csrf_checked),
              form: FormData = Depends(form_data)) -> Response:
    run_id = sandbox.submit_query(get_database(), ctx.actor, auth_id, str(form.get("sql") or "")).id
    return redirect(f"/console/operate/{auth_id}?run={run_id}#run")


@router.post("/console/operate/{auth_id:id}/policy")
def set_policy(request: Request, auth_id: Id, ctx: WebContext = Depends(csrf_checked),
               form: FormData = Depends(form_data)) -> Response:
    """The authority sets the release mode, review-all and the ε budget (issue 16)."""
    raw = str(form.get("epsilon_total") or "").strip()
    try:
        epsilon = float(raw) if raw else None
    except ValueError as err:
        raise ValidationFailed("validation_failed", "请求的内容不合法", errors=[
            FieldError("epsilon_total", "privacy_epsilon_invalid", "隐私预算ε应为数字", {})]) from err
    with get_database().write() as s:
        privacy.set_policy(s, ctx.actor, auth_id, mode=str(form.get("mode") or "") or None, epsilon_total=epsilon,
                           review_all=form.get("review_all") == "1", new_period=form.get("new_period") == "1")
    return redirect(f"/console/operate/{auth_id}?done=policy")


@router.post("/console/operate/{auth_id:id}/noisy")
def noisy_release(request: Request, auth_id: Id, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    """The operator's noisy count / sum / mean under the privacy budget (issue 16)."""
    def number(name: str) -> float | None:
        raw = str(form.get(name) or "").strip()
        try:
            return float(raw) if raw else None
        except ValueError:
            return None

    lo, hi = number("lower"), number("upper")
    groups = [g.strip() for g in str(form.get("groups") or "").replace("，", ",").split(",") if g.strip()]
    req = privacy.NoisyRequest(resource_id=parse_id(str(form.get("resource_id") or "")) or 0,
                               statistic=str(form.get("statistic") or ""), epsilon=number("epsilon") or 0.0,
                               item=str(form.get("item") or "") or None,
                               bounds=(lo, hi) if lo is not None and hi is not None else None,
                               group_by=str(form.get("group_by") or "") or None, groups=groups)
    run_id = privacy.release(get_database(), ctx.actor, auth_id, req).id
    return redirect(f"/console/operate/{auth_id}?run={run_id}#run")


@router.get("/console/operate/runs/{run_id:id}/check")
def check_page(request: Request, run_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    """The output checker's page: the query, the result, the automatic checks, and the decision."""
    with get_database().read() as s:
        review = output_check.review_as_dict(output_check.get_review(s, ctx.actor, run_id))
        run = sandbox.get_run(s, ctx.actor, run_id)
        checker = sandbox.reviews(s, ctx.actor, run)
        shown = sandbox.run_as_dict(run, with_output=True, for_authority=checker)
        a = auths.as_dict(s, auths.get_authorization(s, ctx.actor, run.authorization_id))
    return render(request, "operate/check.html", review=review, shown=shown, a=a, checker=checker,
                  own=ctx.actor.user_id == shown["user_id"], flag_text=FLAG_TEXT, state_class=STATE_CLASS)


@router.post("/console/operate/runs/{run_id:id}/{decision}")
def check_decide(request: Request, run_id: Id, decision: str, ctx: WebContext = Depends(csrf_checked),
                 form: FormData = Depends(form_data)) -> Response:
    if decision not in ("approve", "reject"):
        raise NotFound(decision, "not_found")
    with get_database().write() as s:
        review = output_check.decide(s, ctx.actor, run_id, approve=decision == "approve",
                                     reason=str(form.get("reason") or ""))
        auth_id = review.authorization_id
    return redirect(f"/console/operate/{auth_id}?done={decision}")


@router.post("/console/operate/{auth_id:id}/{action}")
def authorization_action(request: Request, auth_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
                         form: FormData = Depends(form_data)) -> Response:
    acts = {"suspend": auths.suspend, "resume": auths.resume, "revoke": auths.revoke}
    if action not in acts:
        raise NotFound(action, "not_found")
    with get_database().write() as s:
        acts[action](s, ctx.actor, auth_id, str(form.get("reason") or ""))
    return redirect(f"/console/operate/{auth_id}?done={action}")

