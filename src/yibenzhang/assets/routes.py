"""HTTP adapters over products, compliance review, registration, certificates, pricing and revenue,
valuation and 入表: /api/v1/products…, /api/v1/registrations…, /api/v1/certificates/verify (open
to anyone), /api/v1/valuations…"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..apidocs import XLSX, file_responses
from ..db import get_database
from ..deps import read_session, require_user
from ..enums import Role
from ..errors import ErrorBag, NotFound
from ..params import KEY_MAX, Id, Int, Key, Offset, Text
from . import accounting, certificates, compliance, pricing, products, registration, valuation

router = APIRouter(prefix="/api/v1", tags=["products"])


class ProductIn(BaseModel):
    authorization_id: Id
    name: Text
    kind: Text = Field(description="数据集 | 数据报告 | 数据接口 (dataset | report | api)")
    description: Text
    use: Text | None = Field(None, description="Concrete use (required to pass compliance review)")
    scenario: Text | None = Field(None, description="Application scenario (required to pass compliance review)")
    source_run_ids: list[Id] = Field(description="Released sandbox runs the product is built from")
    pi_consent: bool = Field(False, description="Consent of the persons (or guardians) is recorded")
    pi_consent_ref: Text | None = Field(None, description="Where the consent record is")
    pricing_category: Text = Field(description="公共治理 | 公益事业 (free) | 产业发展 | 行业发展 (paid)")
    price_fen: Int = 0


class ProductPatch(BaseModel):
    name: Text | None = None
    kind: Text | None = None
    description: Text | None = None
    use: Text | None = None
    scenario: Text | None = None
    source_run_ids: list[Id] | None = None
    pi_consent: bool | None = None
    pi_consent_ref: Text | None = None
    pricing_category: Text | None = None
    price_fen: Int | None = None


class SignoffItem(BaseModel):
    kind: Int = Field(description="Untradeable kind 1..7 (001:1236 Art. 27); 1, 2, 5 and 7 need sign-off")
    verdict: Text = Field(description="通过 | 不通过 (pass | fail)")
    note: Text


class SignoffIn(BaseModel):
    items: list[SignoffItem]


class RevenueIn(BaseModel):
    period: Text = Field(description="YYYY-MM")
    units: Int = Field(description="Units sold in the period (the approved maximum is cap × units)")
    amount_fen: Int


class BookingIn(BaseModel):
    intention: Text = Field(description="内部使用 (→ 无形资产) | 对外出售 (→ 存货)")
    cost_items: list[dict[str, Any]] = Field(description="[{item, amount_fen}]")


class RegistrationIn(BaseModel):
    product_id: Id
    kind: Text = Field("首次", description="首次 | 变更 | 更正 | 注销")
    rights: dict[Key, Text] | None = Field(None,
                                           description="数据资源持有权 / 数据加工使用权 / 数据产品经营权 → holder")


class StepIn(BaseModel):
    reject: bool = False
    note: Text | None = None


class ObjectionIn(BaseModel):
    note: Text


class ResolveIn(BaseModel):
    upheld: bool
    answer: Text


class ValuationIn(BaseModel):
    product_id: Id
    method: Text = Field(description="成本法 | 收益法 | 市场法 (cost | income | market)")
    inputs: dict[str, Any]


# --- products ------------------------------------------------------------------------------------


@router.post("/products", status_code=201)
def create_product(body: ProductIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    data = body.model_dump(exclude={"authorization_id"})
    with get_database().write() as s:
        p = products.create_product(s, actor, authorization_id=body.authorization_id, data=data)
        return products.product_dict(s, p)


@router.get("/products")
def list_products(state: Key | None = None, operator_org_id: Id | None = None,
                  limit: int = Query(50, ge=1, le=500), offset: Offset = 0,
                  actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    rows, total = products.list_products(s, actor, state=state, operator_org_id=operator_org_id, limit=limit,
                                         offset=offset)
    return {"total": total, "items": [products.product_dict(s, p) for p in rows]}


def _operator_org(actor: Actor, operator_org_id: Id | None) -> int:
    if operator_org_id is not None:
        return operator_org_id
    mine = sorted(actor.org_ids(Role.OPERATOR))
    if len(mine) != 1:
        bag = ErrorBag()
        bag.add("operator_org_id", "required", "必填项不能为空")
        bag.raise_if_any()
    return mine[0]


class DisclosureOperator(BaseModel):
    id: Id
    name: str
    uscc: str


class DisclosureAuthorization(BaseModel):
    id: Id
    scope_kind: str
    scope: str | None
    purpose: str
    starts_on: str
    ends_on: str
    fee_cap_fen: Int
    state: str


class DisclosureProduct(BaseModel):
    id: Id
    name: str
    kind: str
    authorization_id: Id
    registration_code: str | None
    state: str
    pricing_category: str
    price_fen: Int
    free: bool


class DisclosureOut(BaseModel):
    """pricing.disclosure's answer (for the OpenAPI document: the route answers the dict)."""

    operator: DisclosureOperator
    year: Int
    due: str = Field(description="YYYY-MM-DD: 31 March of year + 1")
    authorizations: list[DisclosureAuthorization]
    products: list[DisclosureProduct]


# format=json: the disclosure as JSON; format=xlsx: the workbook.
_DISCLOSURE = file_responses(XLSX, description="The disclosure (JSON, or the workbook with format=xlsx)")
_DISCLOSURE[200]["model"] = DisclosureOut


@router.get("/products/disclosure", response_model=None, responses=_DISCLOSURE)
def disclosure(year: int = Query(..., ge=2000, le=2999), operator_org_id: Id | None = None,
               format: str = Query("json", pattern="^(json|xlsx)$",
                                   max_length=KEY_MAX), actor: Actor = Depends(require_user),
               s: Session = Depends(read_session)) -> Any:
    """An operator's annual disclosure (authorizations, products, prices), due by 31 March of year + 1."""
    data = pricing.disclosure(s, actor, _operator_org(actor, operator_org_id), year)
    if format == "xlsx":
        return Response(pricing.disclosure_xlsx(data), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="disclosure-{data["operator"]["uscc"]}-{year}.xlsx"'})
    return data


@router.get("/products/disclosure-due")
def disclosure_due(year: int = Query(..., ge=2000, le=2999)) -> dict[str, Any]:
    return {"year": year, "due": pricing.disclosure_due(year).isoformat()}


@router.get("/products/bookings/export", response_class=Response, responses=file_responses(XLSX, "text/csv"))
def bookings_export(product_id: Id, format: str = Query("xlsx", pattern="^(xlsx|csv)$", max_length=KEY_MAX),
                    actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> Response:
    """入表 lines of a product for the finance department (XLSX or CSV)."""
    rows = accounting.bookings_of(s, actor, product_id)
    if format == "csv":
        return Response(accounting.export_csv(s, rows), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="booking-{product_id}.csv"'})
    return Response(accounting.export_xlsx(s, rows), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="booking-{product_id}.xlsx"'})


@router.get("/products/{product_id}")
def get_product(product_id: Id, actor: Actor = Depends(require_user),
                s: Session = Depends(read_session)) -> dict[str, Any]:
    p = products.get_product(s, actor, product_id)
    out = products.product_dict(s, p)
    review = compliance.latest_review(s, p.id)
    out["review"] = compliance.review_dict(review) if review else None
    out["registration_code"] = registration.current_code(s, p.id)
    return out


@router.patch("/products/{product_id}")
def update_product(product_id: Id, body: ProductPatch, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        p = products.update_product(s, actor, product_id, body.model_dump(exclude_none=True))
        return products.product_dict(s, p)


@router.post("/products/{product_id}/review")
def submit_review(product_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Submit for compliance review: the automatic checks run at once."""
    with get_database().write() as s:
        return compliance.review_dict(compliance.submit_for_review(s, actor, product_id))


@router.get("/products/{product_id}/review")
def get_review(product_id: Id, actor: Actor = Depends(require_user),
               s: Session = Depends(read_session)) -> dict[str, Any]:
    return compliance.review_dict(compliance.get_review(s, actor, product_id))


@router.post("/products/{product_id}/review/signoff")
def signoff(product_id: Id, body: SignoffIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        review = compliance.sign_off(s, actor, product_id, [i.model_dump() for i in body.items])
        return compliance.review_dict(review)


@router.post("/products/{product_id}/revenue", status_code=201)
def record_revenue(product_id: Id, body: RevenueIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return pricing.revenue_dict(pricing.record_revenue(s, actor, product_id, period=body.period,
                                                           units=body.units, amount_fen=body.amount_fen))


@router.get("/products/{product_id}/revenue")
def list_revenue(product_id: Id, actor: Actor = Depends(require_user),
                 s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"items": pricing.revenues(s, actor, product_id)}


@router.post("/products/{product_id}/bookings", status_code=201)
def create_booking(product_id: Id, body: BookingIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        row = accounting.book(s, actor, product_id, intention=body.intention, cost_items=body.cost_items)
        return accounting.booking_dict(s, row)


@router.get("/products/{product_id}/bookings")
def list_bookings(product_id: Id, actor: Actor = Depends(require_user),
                  s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"items": [accounting.booking_dict(s, b) for b in accounting.bookings_of(s, actor, product_id)]}


# --- registrations -------------------------------------------------------------------------------


@router.post("/registrations", status_code=201)
def apply(body: RegistrationIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        reg = registration.apply(s, actor, body.product_id, kind=body.kind, rights=body.rights)
        return registration.registration_dict(s, reg)


@router.get("/registrations")
def list_registrations(product_id: Id | None = None, state: Key | None = None,
                       actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = registration.list_registrations(s, actor, product_id=product_id, state=state)
    return {"items": [registration.registration_dict(s, r) for r in rows]}


@router.get("/registrations/publicity")
def publicity(s: Session = Depends(read_session)) -> dict[str, Any]:
    """Registrations now in 公示 (anyone): a signed-in user may object during the period."""
    return {"items": registration.in_publicity(s)}


@router.get("/registrations/{registration_id}")
def get_registration(registration_id: Id, actor: Actor = Depends(require_user),
                     s: Session = Depends(read_session)) -> dict[str, Any]:
    reg, _ = registration.get_registration(s, actor, registration_id)
    return registration.registration_dict(s, reg)


@router.post("/registrations/{registration_id}/accept")
def accept(registration_id: Id, body: StepIn | None = None, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    body = body or StepIn()
    with get_database().write() as s:
        reg = registration.accept(s, actor, registration_id, reject=body.reject, note=body.note)
        return registration.registration_dict(s, reg)


@router.post("/registrations/{registration_id}/check")
def formal_check(registration_id: Id, body: StepIn | None = None,
                 actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """形式审核; passing it starts 公示."""
    body = body or StepIn()
    with get_database().write() as s:
        reg = registration.formal_check(s, actor, registration_id, reject=body.reject, note=body.note)
        return registration.registration_dict(s, reg)


@router.post("/registrations/{registration_id}/objections", status_code=201)
def object_to(registration_id: Id, body: ObjectionIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        reg = registration.object_to(s, actor, registration_id, body.note)
        return {"id": reg.id, "state": reg.state, "objections": len(reg.objections or [])}


@router.post("/registrations/{registration_id}/objections/{objection}/resolve")
def resolve(registration_id: Id, objection: Id, body: ResolveIn,
            actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        reg = registration.resolve_objection(s, actor, registration_id, objection, upheld=body.upheld,
                                             answer=body.answer)
        return registration.registration_dict(s, reg)


@router.post("/registrations/{registration_id}/code")
def assign_code(registration_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """赋码 once 公示 has fully passed; the answer carries the sealed certificate."""
    with get_database().write() as s:
        return registration.registration_dict(s, registration.assign_code(s, actor, registration_id))


@router.get("/registrations/{registration_id}/certificate")
def certificate(registration_id: Id, actor: Actor = Depends(require_user),
                s: Session = Depends(read_session)) -> dict[str, Any]:
    reg, _ = registration.get_registration(s, actor, registration_id)
    if reg.certificate is None:
        raise NotFound(f"登记 {registration_id} 的证书", "certificate_not_found")
    return reg.certificate


@router.post("/certificates/verify")
def verify(document: Any = Body(..., description="A certificate: {content, seal}"),
           s: Session = Depends(read_session)) -> dict[str, Any]:
    """Anyone, signed in or not, checks a certificate's digest, signature and register entry."""
    return certificates.verify(s, document)


# --- valuations ----------------------------------------------------------------------------------


@router.post("/valuations", status_code=201)
def create_valuation(body: ValuationIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        row = valuation.value_product(s, actor, body.product_id, body.method, body.inputs)
        return valuation.valuation_dict(row)


@router.get("/valuations")
def list_valuations(product_id: Id, actor: Actor = Depends(require_user),
                    s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"items": [valuation.valuation_dict(v) for v in valuation.valuations_of(s, actor, product_id)]}


@router.get("/valuations/{valuation_id}")
def get_valuation(valuation_id: Id, actor: Actor = Depends(require_user),
                  s: Session = Depends(read_session)) -> dict[str, Any]:
    row = valuation.get_valuation(s, actor, valuation_id)
    return {**valuation.valuation_dict(row), "reproduction": valuation.reproduce(row)}
