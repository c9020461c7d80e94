"""Registration of data products (数据产品登记, DOMAIN §7; 001:1201 Art. 20, 001:1145 Art. 9).

Steps: 申请 (the operator) → 受理 → 形式审核 → 公示 → 赋码 (the region's authority).
- 公示 starts on the day the formal check passes and lasts `rules.registration_publicity_days`
  working days after it (workdays.add_workdays: the start day is not counted); its last day is
  `publicity_until`. 赋码 is possible only once that day has fully passed (from the next day on).
- Objections may be recorded during 公示; while one is open 赋码 waits; one upheld rejects the
  registration (已驳回).
- Kinds: 首次 (a product that passed compliance review), 变更 (a changed product that passed
  review again) and 更正 (corrected registration facts, e.g. rights holders) reference the product's
  earlier registration, which becomes 已被取代 when the new one is coded; 注销 ends it (已注销) and
  the product with it.
- Every registration records the three rights (001:1145 Art. 9) and their holders. A coded
  registration gets a code `YBZ-<division>-<year>-<6-digit sequence>` and a certificate sealed by
  the authority (certificates.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, require
from ..config import get_settings
from ..db import utcnow
from ..errors import Conflict, ErrorBag, NotFound, Unauthenticated
from ..i18n import N_
from ..ledger import service as ledger
from ..lineage import operate as lineage
from ..orgs.model import Org, Region
from ..workdays import add_workdays
from .certificates import issue
from .compliance import require_passed
from .model import Product, ProductState, Registration, RegistrationKind, RegistrationState
from .products import _visible, get_product, is_authority, is_operator, product_digest, set_state, state_error

RS = RegistrationState
RIGHTS = (N_("数据资源持有权"), N_("数据加工使用权"), N_("数据产品经营权"))
RIGHT_ALIASES = {"holding": RIGHTS[0], "processing": RIGHTS[1], "operating": RIGHTS[2]}
IN_PROGRESS = (RS.APPLIED.value, RS.ACCEPTED.value, RS.CHECKED.value, RS.PUBLICITY.value)
CODE_PREFIX = "YBZ"
OBJECTION_OPEN, OBJECTION_UPHELD, OBJECTION_DISMISSED = N_("待处理"), N_("成立"), N_("不成立")


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def publicity_until(start: date) -> date:
    """The last day of 公示 that starts on `start`."""
    return add_workdays(start, get_settings().rules.registration_publicity_days)


def get_registration(session: Session, actor: Actor, registration_id: int, *, for_update: bool = False
                     ) -> tuple[Registration, Product]:
    reg = session.get(Registration, int(registration_id), with_for_update=for_update or None)
    if reg is None:
        raise NotFound(f"登记 {registration_id}", "registration_not_found")
    try:
        product = get_product(session, actor, reg.product_id, for_update=for_update)
    except NotFound:
        raise NotFound(f"登记 {registration_id}", "registration_not_found") from None
    return reg, product


def current(session: Session, product_id: int) -> Registration | None:
    """The product's registration in force (coded, not superseded or cancelled)."""
    return session.execute(select(Registration).where(
        Registration.product_id == product_id, Registration.state == RS.CODED.value)
        .order_by(Registration.id.desc()).limit(1)).scalar_one_or_none()


def current_code(session: Session, product_id: int) -> str | None:
    reg = current(session, product_id)
    return reg.code if reg else None


def _rights(bag: ErrorBag, rights: dict[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (rights or {}).items():
        name = RIGHT_ALIASES.get(str(key).strip().lower(), str(key).strip())
        if name not in RIGHTS:
            bag.add(f"rights.{key}", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=key,
                    allowed="、".join(RIGHTS))
            continue
        holder = str(value or "").strip()
        if holder:
            out[name] = holder[:200]
    for name in RIGHTS:
        if name not in out:
            bag.add(f"rights.{name}", "right_holder_required", "须写明“{right}”的持有人", right=name)
    return out


def apply(session: Session, actor: Actor, product_id: int, *, kind: str = "首次", rights: dict[str, Any] | None = None,
          today: date | None = None) -> Registration:
    """The operator applies. 首次/变更 need a product that passed compliance review; 更正/注销 need
    one registered; all but 首次 reference the registration in force."""
    product = get_product(session, actor, product_id, for_update=True)
    require(is_operator(actor, product), "申请数据产品登记", "registration_apply_denied")
    day = today or _today()
    bag = ErrorBag()
    parsed = RegistrationKind.parse(kind)
    if parsed is None:
        bag.add("kind", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=kind,
                allowed="、".join(RegistrationKind.values()))
    earlier = current(session, product.id)
    if parsed == RegistrationKind.CANCELLATION and not rights and earlier is not None:
        rights = dict(earlier.rights)
    held = _rights(bag, rights)
    bag.raise_if_any()
    assert parsed is not None
    pending = session.execute(select(Registration.id).where(
        Registration.product_id == product.id, Registration.state.in_(IN_PROGRESS))).first()
    if pending is not None:
        raise Conflict("registration_in_progress", "该数据产品已有办理中的登记 {id}", id=pending[0])
    if parsed in (RegistrationKind.FIRST, RegistrationKind.CHANGE):
        require_passed(product)
    elif product.state != ProductState.REGISTERED.value:
        raise state_error(product, "申请登记")
    if parsed == RegistrationKind.FIRST and earlier is not None:
        raise Conflict("registration_exists", "该数据产品已登记（{code}），请申请变更、更正或注销", code=earlier.code)
    if parsed != RegistrationKind.FIRST and earlier is None:
        raise Conflict("registration_missing", "该数据产品尚无有效登记，请先申请首次登记")
    region = session.get(Region, product.region_id)
    reg = Registration(product_id=product.id, kind=parsed.value, previous_id=earlier.id if earlier else None,
                       state=RS.APPLIED.value, division=region.code if region else "000000", rights=held,
                       applied_on=day, objections=[], history=[], product_digest=product_digest(session, product))
    session.add(reg)
    session.flush()
    _step(reg, "申请", "提交", None, actor, day)
    set_state(session, actor, product, ProductState.REGISTERING.value, "registration.apply",
              {"registration_id": reg.id, "kind": reg.kind, "previous_id": reg.previous_id,
               "digest": reg.product_digest})
    return reg


def _step(reg: Registration, step: str, verdict: str, note: str | None, actor: Actor, day: date) -> None:
    reg.history = [*(reg.history or []), {"step": step, "verdict": verdict, "note": note, "by": actor.username,
                                          "on": day.isoformat()}]
    reg.updated_at = utcnow()


def _log(session: Session, actor: Actor, reg: Registration, extra: dict[str, Any] | None = None) -> None:
    ledger.append(session, actor, "registration.step", "registration", reg.id,
                  {"product_id": reg.product_id, "state": reg.state, "kind": reg.kind, **(extra or {})})


def _authority_step(session: Session, actor: Actor, registration_id: int, expected: str, action: str
                    ) -> tuple[Registration, Product]:
    reg, product = get_registration(session, actor, registration_id, for_update=True)
    require(is_authority(session, actor, product), action, "registration_review_denied")
    if reg.state != expected:
        raise Conflict("registration_state", "状态为“{state}”的登记不能{action}", state=reg.state, action=action)
    return reg, product


def _reject(session: Session, actor: Actor, reg: Registration, product: Product, step: str, note: str,
            day: date) -> None:
    reg.state = RS.REJECTED.value
    _step(reg, step, "驳回", note, actor, day)
    # The product goes back to where it was before applying.
    back = ProductState.REGISTERED.value if current(session, product.id) else ProductState.PASSED.value
    set_state(session, actor, product, back, "registration.reject", {"registration_id": reg.id, "step": step})
    _log(session, actor, reg, {"step": step})


def _note(note: str | None, required: bool) -> str | None:
    text = (note or "").strip()
    if required and not text:
        bag = ErrorBag()
        bag.add("note", "required", "必填项不能为空")
        bag.raise_if_any()
    return text[:2000] or None


def accept(session: Session, actor: Actor, registration_id: int, *, reject: bool = False, note: str | None = None,
           today: date | None = None) -> Registration:
    """受理 (or refuse to accept, with a note)."""
    reg, product = _authority_step(session, actor, registration_id, RS.APPLIED.value, "受理登记")
    day = today or _today()
    text = _note(note, reject)
    if reject:
        _reject(session, actor, reg, product, "受理", text or "", day)
        return reg
    reg.state, reg.accepted_on = RS.ACCEPTED.value, day
    _step(reg, "受理", "通过", text, actor, day)
    _log(session, actor, reg)
    return reg


def formal_check(session: Session, actor: Actor, registration_id: int, *, reject: bool = False,
                 note: str | None = None, today: date | None = None) -> Registration:
    """形式审核: passing it starts 公示 on the same day."""
    reg, product = _authority_step(session, actor, registration_id, RS.ACCEPTED.value, "登记形式审核")
    day = today or _today()
    text = _note(note, reject)
    if reject:
        _reject(session, actor, reg, product, "形式审核", text or "", day)
        return reg
    if reg.kind in (RegistrationKind.FIRST.value, RegistrationKind.CHANGE.value) \
            and reg.product_digest != product_digest(session, product):
        raise Conflict("registration_product_changed", "申请登记后数据产品已被修改，请重新申请")
    reg.checked_on = day
    _step(reg, "形式审核", "通过", text, actor, day)
    reg.state = RS.PUBLICITY.value
    reg.publicity_from, reg.publicity_until = day, publicity_until(day)
    _log(session, actor, reg, {"publicity_from": day.isoformat(), "publicity_until": reg.publicity_until.isoformat()})
    return reg


def object_to(session: Session, actor: Actor, registration_id: int, note: str, today: date | None = None
              ) -> Registration:
    """Anyone signed in records an objection during 公示."""
    if not actor.is_authenticated:
        raise Unauthenticated("auth_required", "需要登录")
    reg = session.get(Registration, int(registration_id), with_for_update=True)
    if reg is None:
        raise NotFound(f"登记 {registration_id}", "registration_not_found")
    day = today or _today()
    text = _note(note, True)
    if reg.state != RS.PUBLICITY.value or reg.publicity_until is None or day > reg.publicity_until:
        raise Conflict("registration_not_in_publicity", "只能在公示期内提出异议")
    number = len(reg.objections or []) + 1
    reg.objections = [*(reg.objections or []), {"id": number, "on": day.isoformat(), "by": actor.username,
                                                "note": text, "state": OBJECTION_OPEN, "answer": None}]
    reg.updated_at = utcnow()
    ledger.append(session, actor, "registration.objection", "registration", reg.id,
                  {"objection": number, "on": day.isoformat()})
    return reg


def resolve_objection(session: Session, actor: Actor, registration_id: int, objection: int, *, upheld: bool,
                      answer: str, today: date | None = None) -> Registration:
    """The authority answers an objection: upheld rejects the registration, dismissed lets it go on."""
    reg, product = _authority_step(session, actor, registration_id, RS.PUBLICITY.value, "处理登记异议")
    day = today or _today()
    text = _note(answer, True)
    entries = [dict(o) for o in reg.objections or []]
    found = next((o for o in entries if o["id"] == objection and o["state"] == OBJECTION_OPEN), None)
    if found is None:
        raise NotFound(f"异议 {objection}", "objection_not_found")
    found["state"] = OBJECTION_UPHELD if upheld else OBJECTION_DISMISSED
    found["answer"], found["answered_on"] = text, day.isoformat()
    reg.objections = entries
    ledger.append(session, actor, "registration.objection.resolve", "registration", reg.id,
                  {"objection": objection, "upheld": upheld})
    if upheld:
        _reject(session, actor, reg, product, "公示", text or "", day)
    return reg


def _next_code(session: Session, division: str, year: int) -> str:
    prefix = f"{CODE_PREFIX}-{division}-{year}-"
    last = session.execute(select(func.max(Registration.code)).where(Registration.code.like(prefix + "%"))
                           ).scalar_one_or_none()
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:06d}"


def assign_code(session: Session, actor: Actor, registration_id: int, today: date | None = None) -> Registration:
    """赋码 once 公示 has fully passed with no open objection; issues the sealed certificate."""
    reg, product = _authority_step(session, actor, registration_id, RS.PUBLICITY.value, "登记赋码")
    day = today or _today()
    assert reg.publicity_until is not None
    if day <= reg.publicity_until:
        raise Conflict("publicity_not_over", "公示期至{until}结束（{n}个工作日），期满后方可赋码",
                       until=reg.publicity_until.isoformat(), n=get_settings().rules.registration_publicity_days)
    if any(o["state"] == OBJECTION_OPEN for o in reg.objections or []):
        raise Conflict("objection_open", "公示期内的异议尚未处理，不能赋码")
    earlier = session.get(Registration, reg.previous_id) if reg.previous_id else None
    reg.code = _next_code(session, reg.division, day.year)
    reg.coded_on = day
    reg.state = RS.CODED.value
    reg.product_digest = product_digest(session, product)
    _step(reg, "赋码", "通过", None, actor, day)
    if reg.kind == RegistrationKind.CANCELLATION.value:
        reg.state = RS.CANCELLED.value  # the cancellation itself is a record, not a registration in force
        if earlier is not None:
            earlier.state = RS.CANCELLED.value
            earlier.updated_at = utcnow()
        set_state(session, actor, product, ProductState.CANCELLED.value, "registration.cancel",
                  {"registration_id": reg.id, "code": reg.code, "cancelled": earlier.code if earlier else None})
    else:
        if earlier is not None:
            earlier.state = RS.SUPERSEDED.value
            earlier.updated_at = utcnow()
        session.flush()
        reg.certificate = issue(session, reg, product)
        set_state(session, actor, product, ProductState.REGISTERED.value, "registration.code",
                  {"registration_id": reg.id, "code": reg.code, "digest": reg.product_digest,
                   "supersedes": earlier.code if earlier else None})
    _log(session, actor, reg, {"code": reg.code})
    # issue 18: the registered (or cancelled) product
    lineage.product_built(session, product, "CANCEL" if reg.kind == RegistrationKind.CANCELLATION.value else "REGISTER")
    return reg


def list_registrations(session: Session, actor: Actor, product_id: int | None = None,
                       state: str | None = None, limit: int = 100) -> list[Registration]:
    stmt = select(Registration).join(Product, Product.id == Registration.product_id)
    visible = _visible(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    if product_id is not None:
        stmt = stmt.where(Registration.product_id == product_id)
    if state:
        stmt = stmt.where(Registration.state == state)
    return list(session.execute(stmt.order_by(Registration.id.desc()).limit(limit)).scalars())


def in_publicity(session: Session, today: date | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Registrations now in 公示, for anyone: what is registered, by whom, the rights and the period
    (public facts only; objections' text and the reviewers' notes are not shown)."""
    day = today or _today()
    rows = session.execute(select(Registration).where(Registration.state == RS.PUBLICITY.value,
                                                      Registration.publicity_until >= day)
                           .order_by(Registration.publicity_until, Registration.id).limit(limit)).scalars()
    out = []
    for reg in rows:
        product = session.get(Product, reg.product_id)
        operator = session.get(Org, product.operator_org_id) if product else None
        out.append({"id": reg.id, "kind": reg.kind, "product_name": product.name if product else None,
                    "product_kind": product.kind if product else None,
                    "use": product.use if product else None, "scenario": product.scenario if product else None,
                    "operator_org_name": operator.name if operator else None, "rights": dict(reg.rights or {}),
                    "publicity_from": reg.publicity_from.isoformat() if reg.publicity_from else None,
                    "publicity_until": reg.publicity_until.isoformat() if reg.publicity_until else None,
                    "product_digest": reg.product_digest})
    return out


def registration_dict(session: Session, reg: Registration, today: date | None = None) -> dict[str, Any]:
    product = session.get(Product, reg.product_id)
    operator = session.get(Org, product.operator_org_id) if product else None
    day = today or _today()
    return {
        "id": reg.id, "product_id": reg.product_id, "product_name": product.name if product else None,
        "operator_org_name": operator.name if operator else None, "kind": reg.kind, "previous_id": reg.previous_id,
        "state": reg.state, "division": reg.division, "rights": dict(reg.rights or {}),
        "applied_on": reg.applied_on.isoformat(),
        "accepted_on": reg.accepted_on.isoformat() if reg.accepted_on else None,
        "checked_on": reg.checked_on.isoformat() if reg.checked_on else None,
        "publicity_from": reg.publicity_from.isoformat() if reg.publicity_from else None,
        "publicity_until": reg.publicity_until.isoformat() if reg.publicity_until else None,
        "publicity_over": bool(reg.publicity_until and day > reg.publicity_until),
        "coded_on": reg.coded_on.isoformat() if reg.coded_on else None, "code": reg.code,
        "product_digest": reg.product_digest, "objections": list(reg.objections or []),
        "history": list(reg.history or []), "certificate": reg.certificate,
    }
