"""Product console pages: /console/products (products and registrations the user may read),
/console/products/{id} (facts, the compliance checklist with reasons and rules, registration steps
and actions) and the public printable certificate /certificates/{code}. Thin adapters over the
operate services, which decide who may do what; a page only chooses which forms to offer."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from ..assets import accounting, certificates, compliance, pricing, products, registration, valuation
from ..assets.model import PricingCategory, ProductKind, ProductState
from ..config import get_settings
from ..db import get_database
from ..enums import Role
from ..errors import FieldError, NotFound, ValidationFailed
from ..operate.model import Authorization, RunState, SandboxRun
from ..params import JSON_INT_MAX, Id, parse_id
from . import auth
from .auth import console_user, csrf_checked, form_data
from .documents import qr_svg
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

STATE_CLASS = {"草稿": "draft", "合规审查中": "submitted", "合规未通过": "returned", "合规通过": "published",
               "登记中": "submitted", "已登记": "published", "已注销": "retired", "申请": "submitted",
               "受理": "submitted", "形式审核": "submitted", "公示": "submitted", "赋码": "published",
               "已驳回": "returned", "已被取代": "retired", "待签核": "submitted", "通过": "published",
               "不通过": "returned"}
PAGE_SIZE = 100


def _actions(s: Any, ctx: WebContext, p: Any, regs: list[Any]) -> list[str]:
    """Forms to offer; the services check again on POST."""
    out: list[str] = []
    operator, authority = products.is_operator(ctx.actor, p), products.is_authority(s, ctx.actor, p)
    if operator and p.state in (ProductState.DRAFT.value, ProductState.REFUSED.value):
        out.append("review")
    if operator and p.state in (ProductState.PASSED.value, ProductState.REGISTERED.value):
        out.append("register")
    if authority and p.state == ProductState.REVIEWING.value:
        out.append("signoff")
    if authority:
        for r in regs:
            step = {"申请": "accept", "受理": "check", "公示": "code"}.get(r.state)
            if step:
                out.append(f"{step}:{r.id}")
    return out


@router.get("/console/products")
def products_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    state = request.query_params.get("state") or None
    with get_database().read() as s:
        rows, total = products.list_products(s, ctx.actor, state=state, limit=PAGE_SIZE)
        views = [products.product_dict(s, p) for p in rows]
        regs = [registration.registration_dict(s, r) for r in registration.list_registrations(s, ctx.actor)]
    return render(request, "products/list.html", rows=views, total=total, regs=regs, state=state,
                  states=ProductState.values(), state_class=STATE_CLASS,
                  is_operator=bool(ctx.actor.org_ids(Role.OPERATOR)))


NEW_FIELDS = ("authorization_id", "name", "kind", "description", "use", "scenario", "pi_consent_ref",
              "pricing_category", "price_yuan")


def _sources(s: Any, ctx: WebContext) -> list[dict[str, Any]]:
    """The operator's authorizations in force, each with its released sandbox runs."""
    from sqlalchemy import select


    orgs = ctx.actor.org_ids(Role.OPERATOR)
    out = []
    auths = s.execute(select(Authorization).where(Authorization.operator_org_id.in_(orgs or {-1}))
                      .order_by(Authorization.id)).scalars()
    for a in auths:
        runs = s.execute(select(SandboxRun).where(SandboxRun.authorization_id == a.id,
                                                  SandboxRun.state == RunState.RELEASED.value)
                         .order_by(SandboxRun.id.desc()).limit(50)).scalars()
        out.append({"id": a.id, "purpose": a.purpose, "fee_cap_fen": int(a.fee_cap_fen), "state": a.state,
                    "runs": [{"id": r.id, "rows": r.row_count, "columns": list(r.columns or []),
                              "at": r.created_at} for r in runs]})
    return out


def _new_form(request: Request, ctx: WebContext, values: dict[str, Any], errors: dict[str, list[str]],
              status_code: int = 200) -> Response:
    with get_database().read() as s:
        sources = _sources(s, ctx)
    return render(request, "products/new.html", status_code=status_code, v=values, errors=errors, sources=sources,
                  kinds=ProductKind.values(), categories=PricingCategory.values())


@router.get("/console/products/new")
def new_product(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return _new_form(request, ctx, {"kind": "数据集", "pricing_category": "产业发展", "runs": []}, {})


def _fen(raw: str) -> int | None:
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(raw or "0") * 100
    except InvalidOperation:
        return None
    return int(value) if value == value.to_integral_value() and abs(value) <= JSON_INT_MAX else None


@router.post("/console/products/new")
def create_product(request: Request, ctx: WebContext = Depends(csrf_checked),
                   form: FormData = Depends(form_data)) -> Response:
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in NEW_FIELDS}
    values["runs"] = [str(x) for x in form.getlist("runs")]
    price = _fen(values["price_yuan"])
    try:
        if price is None or parse_id(values["authorization_id"]) is None:
            field = "price_yuan" if price is None else "authorization_id"
            raise ValidationFailed("validation_failed", "请求的内容不合法", errors=[
                FieldError(field, "not_a_number", "“{value}”不是有效的数值", {"value": values[field]})])
        data = {"name": values["name"], "kind": values["kind"], "description": values["description"],
                "use": values["use"], "scenario": values["scenario"], "source_run_ids": values["runs"],
                "pi_consent": bool(values["pi_consent_ref"]), "pi_consent_ref": values["pi_consent_ref"] or None,
                "pricing_category": values["pricing_category"], "price_fen": price}
        with get_database().write() as s:
            pid = products.create_product(s, ctx.actor, authorization_id=int(values["authorization_id"]),
                                          data=data).id
    except ValidationFailed as exc:
        errors = field_errors(exc.errors, ctx.lang)
        if "price_fen" in errors:
            errors["price_yuan"] = errors.pop("price_fen")
        return _new_form(request, ctx, values, errors, status_code=422)
    return redirect(f"/console/products/{pid}?done=create")


@router.get("/console/products/{product_id}")
def product_detail(request: Request, product_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    with get_database().read() as s:
        p = products.get_product(s, ctx.actor, product_id)
        view = products.product_dict(s, p)
        review = compliance.latest_review(s, p.id)
        review_view = compliance.review_dict(review) if review else None
        regs = registration.list_registrations(s, ctx.actor, product_id=p.id)
        reg_views = [registration.registration_dict(s, r) for r in regs]
        actions = _actions(s, ctx, p, regs)
        revenue = pricing.revenues(s, ctx.actor, p.id)
        values = [{**valuation.valuation_dict(v), "reproduced": valuation.reproduce(v)["reproduced"]}
                  for v in valuation.valuations_of(s, ctx.actor, p.id)]
        bookings = [accounting.booking_dict(s, b) for b in accounting.bookings_of(s, ctx.actor, p.id)]
    return render(request, "products/detail.html", p=view, review=review_view, revenue=revenue, valuations=values,
                  bookings=bookings,
                  regs=reg_views, actions=actions, state_class=STATE_CLASS, rights=registration.RIGHTS,
                  publicity_days=get_settings().rules.registration_publicity_days,
                  done=request.query_params.get("done"))


@router.post("/console/products/{product_id}/{action}")
def product_action(request: Request, product_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
                   form: FormData = Depends(form_data)) -> Response:
    def field(name: str) -> str:
        return str(form.get(name) or "").strip()

    with get_database().write() as s:
        if action == "review":
            compliance.submit_for_review(s, ctx.actor, product_id)
        elif action == "signoff":
            items = [{"kind": k, "verdict": field(f"verdict_{k}"), "note": field(f"note_{k}")}
                     for k in compliance.SIGNOFF_KINDS if field(f"verdict_{k}")]
            compliance.sign_off(s, ctx.actor, product_id, items)
        elif action == "register":
            rights = {name: field(f"right_{i}") for i, name in enumerate(registration.RIGHTS)}
            registration.apply(s, ctx.actor, product_id, kind=field("kind") or "首次", rights=rights)
        else:
            raise NotFound(action, "not_found")
    return redirect(f"/console/products/{product_id}?done={action}")


@router.post("/console/registrations/{registration_id}/{action}")
def registration_action(request: Request, registration_id: Id, action: str,
                        ctx: WebContext = Depends(csrf_checked), form: FormData = Depends(form_data)) -> Response:
    note = str(form.get("note") or "").strip() or None
    reject = str(form.get("reject") or "") == "1"
    with get_database().write() as s:
        if action == "accept":
            reg = registration.accept(s, ctx.actor, registration_id, reject=reject, note=note)
        elif action == "check":
            reg = registration.formal_check(s, ctx.actor, registration_id, reject=reject, note=note)
        elif action == "code":
            reg = registration.assign_code(s, ctx.actor, registration_id)
        elif action == "object":
            reg = registration.object_to(s, ctx.actor, registration_id, note or "")
        else:
            raise NotFound(action, "not_found")
        product_id = reg.product_id
    return redirect(f"/console/products/{product_id}?done={action}")


@router.get("/products/publicity")
def publicity_page(request: Request) -> Response:
    """Data products in their publication period (公示), open to anyone."""
    with get_database().read() as s:
        rows = registration.in_publicity(s)
    return render(request, "products/publicity.html", rows=rows)


@router.get("/certificates/{code}")
def certificate_page(request: Request, code: str) -> Response:
    """The printable certificate, open to anyone, with the platform's verification of it."""
    with get_database().read() as s:
        reg = certificates.by_code(s, code)
        cert = reg.certificate
        check = certificates.verify(s, cert)
        url = f"{str(request.base_url).rstrip('/')}/certificates/{reg.code}"

    return render(request, "products/certificate.html", cert=cert, c=cert["content"], check=check,
                  document=json.dumps(cert, ensure_ascii=False, indent=2), verify_url=url, qr=qr_svg(url))
