"""Data products (数据产品, DOMAIN §7): a dataset, report or API an operator builds from released
sandbox outputs, resting on one authorization.

Operator users of the authorization's org create and edit them; the region's authority reviews
and registers them. State: 草稿 → 合规审查中 → 合规通过 / 合规未通过 → 登记中 → 已登记 (→ 已注销).
An edit puts a product back to 草稿 with a new version: it needs review (and a 变更 registration
when it was registered) again.

The product's free text stays in its table; the ledger records ids, states, counts and digests.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_read_all, can_review, require
from ..crypto import canonical_json, sm3_hex
from ..db import utcnow
from ..enums import Role
from ..errors import Conflict, ErrorBag, NotFound, Unauthenticated
from ..ledger import service as ledger
from ..operate.model import Authorization, AuthorizationState, RunState, SandboxRun
from ..orgs.model import Org, Region
from .model import FREE_CATEGORIES, PricingCategory, Product, ProductKind, ProductState

TEXT_MAX = 4000
NAME_MAX = 200
EDITABLE = (ProductState.DRAFT.value, ProductState.REFUSED.value, ProductState.PASSED.value,
            ProductState.REGISTERED.value)


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


# --- authorizations (engineer P1's table, read here) ------------------------------------------


def authorization_active(auth: Authorization, day: date) -> bool:
    """有效 and within its term (已到期 is computed on read, never stored)."""
    return auth.state == AuthorizationState.ACTIVE.value and auth.starts_on <= day <= auth.ends_on


def covered_resources(auth: Authorization) -> dict[int, list[str]]:
    """resource id → authorized item names ([] means every item)."""
    out: dict[int, list[str]] = {}
    for entry in auth.resources or []:
        if isinstance(entry, dict) and entry.get("resource_id") is not None:
            out[int(entry["resource_id"])] = [str(i) for i in entry.get("items") or []]
    return out


def _run_resource_ids(run: SandboxRun) -> list[int]:
    out = []
    for r in run.resources or []:
        rid = r.get("resource_id") if isinstance(r, dict) else r
        if rid is not None:
            out.append(int(rid))
    return out


# --- who may do what -----------------------------------------------------------------------------


def region_path(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region.path if region else "/"


def is_operator(actor: Actor, product: Product) -> bool:
    return actor.acts_for_org(product.operator_org_id, Role.OPERATOR)


def is_authority(session: Session, actor: Actor, product: Product) -> bool:
    return can_review(actor, region_path(session, product.region_id))


def can_read(session: Session, actor: Actor, product: Product) -> bool:
    return can_read_all(actor) or is_operator(actor, product) or is_authority(session, actor, product)


def get_product(session: Session, actor: Actor, product_id: int, *, for_update: bool = False) -> Product:
    product = session.get(Product, int(product_id), with_for_update=for_update or None)
    if product is None or not can_read(session, actor, product):
        raise NotFound(f"数据产品 {product_id}", "product_not_found")
    return product


def _visible(actor: Actor) -> Any:
    if can_read_all(actor):
        return None
    clauses: list[Any] = []
    mine = actor.org_ids(Role.OPERATOR)
    if mine:
        clauses.append(Product.operator_org_id.in_(mine))
    paths = actor.reviewer_paths()
    if paths:
        regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        clauses.append(Product.region_id.in_(regions))
    return or_(*clauses) if clauses else Product.id.is_(None)


def list_products(session: Session, actor: Actor, *, state: str | None = None, operator_org_id: int | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[Product], int]:
    stmt = select(Product)
    visible = _visible(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    if state:
        parsed = ProductState.parse(state)
        stmt = stmt.where(Product.state == (parsed.value if parsed else state))
    if operator_org_id is not None:
        stmt = stmt.where(Product.operator_org_id == operator_org_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Product.id.desc()).limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


# --- prices (2025 national rules, DOMAIN §7) ---------------------------------------------------------
# Uses of public governance (公共治理) and public interest (公益事业) are free: price 0. Industry and
# sector uses pay the operation fee: the price is at most the authorization's fee cap (equal
# allowed, one fen above refused).


def is_free(category: str) -> bool:
    return category in FREE_CATEGORIES


def check_price(bag: ErrorBag, category: str, price_fen: int, cap_fen: int) -> None:
    """Free uses cost nothing; paid ones cost at most the authorization's fee cap."""
    if price_fen < 0:
        bag.add("price_fen", "negative_price", "价格不能为负数")
    elif is_free(category) and price_fen != 0:
        bag.add("price_fen", "free_use", "“{category}”用途的数据产品应免费提供", category=category)
    elif price_fen > cap_fen:
        bag.add("price_fen", "price_above_cap", "价格{price}分超过授权的运营收费上限{cap}分",
                price=price_fen, cap=cap_fen)


# --- content and digest ----------------------------------------------------------------------------


def source_runs(session: Session, product: Product) -> list[SandboxRun]:
    ids = [int(i) for i in product.source_run_ids or []]
    if not ids:
        return []
    runs = session.execute(select(SandboxRun).where(SandboxRun.id.in_(ids))).scalars().all()
    return sorted(runs, key=lambda r: r.id)


def product_content(session: Session, product: Product) -> dict[str, Any]:
    """What a product is, in the form its SM3 digest and the certificate cover: its fields and the
    output digests of the sandbox runs it was built from."""
    operator = session.get(Org, product.operator_org_id)
    return {
        "product_id": product.id, "version": product.version, "name": product.name, "kind": product.kind,
        "description": product.description, "use": product.use, "scenario": product.scenario,
        "operator": {"uscc": operator.uscc if operator else None, "name": operator.name if operator else None},
        "authorization_id": product.authorization_id,
        "sources": [{"run_id": r.id, "output_digest": r.output_digest, "resources": _run_resource_ids(r)}
                    for r in source_runs(session, product)],
        "pi_consent": bool(product.pi_consent), "pi_consent_ref": product.pi_consent_ref,
        "pricing_category": product.pricing_category, "price_fen": int(product.price_fen),
    }


def content_digest(content: dict[str, Any]) -> str:
    return sm3_hex(canonical_json(content))


def product_digest(session: Session, product: Product) -> str:
    return content_digest(product_content(session, product))


def product_dict(session: Session, product: Product) -> dict[str, Any]:
    operator = session.get(Org, product.operator_org_id)
    auth = session.get(Authorization, product.authorization_id)
    return {
        "id": product.id, "name": product.name, "kind": product.kind, "description": product.description,
        "use": product.use, "scenario": product.scenario, "operator_org_id": product.operator_org_id,
        "operator_org_name": operator.name if operator else None, "authorization_id": product.authorization_id,
        "fee_cap_fen": int(auth.fee_cap_fen) if auth else None, "source_run_ids": list(product.source_run_ids or []),
        "pi_consent": bool(product.pi_consent), "pi_consent_ref": product.pi_consent_ref,
        "pricing_category": product.pricing_category, "price_fen": int(product.price_fen),
        "free": is_free(product.pricing_category), "state": product.state, "version": product.version,
        "digest": product_digest(session, product),
        "created_at": product.created_at.isoformat() if product.created_at else None,
        "updated_at": product.updated_at.isoformat() if product.updated_at else None,
    }


# --- creating and editing ------------------------------------------------------------------------


def _text(bag: ErrorBag, field: str, value: str | None, *, required: bool, limit: int = TEXT_MAX) -> str | None:
    return bag.text(field, value, required=required, limit=limit)


def _authorization(session: Session, actor: Actor, authorization_id: int) -> Authorization:
    auth = session.get(Authorization, int(authorization_id))
    if auth is None or not (actor.acts_for_org(auth.operator_org_id, Role.OPERATOR) or actor.is_admin):
        raise NotFound(f"授权 {authorization_id}", "authorization_not_found")
    return auth


def _check_runs(session: Session, bag: ErrorBag, operator_org_id: int, run_ids: list[Any]) -> list[int]:
    """Released runs of this operator; whether they fall inside the authorization is a compliance
    check (kind 6), so that a reviewer sees it with its rule."""
    ids: list[int] = []
    for i, raw in enumerate(run_ids):
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            bag.add(f"source_run_ids.{i}", "not_a_number", "“{value}”不是有效的编号", value=raw)
    if not ids:
        bag.add("source_run_ids", "required", "数据产品须来自至少一次已放行的沙箱运行")
        return ids
    if len(set(ids)) != len(ids):
        bag.add("source_run_ids", "duplicate_run", "沙箱运行重复")
    runs = {r.id: r for r in session.execute(select(SandboxRun).where(SandboxRun.id.in_(ids))).scalars()}
    for i, rid in enumerate(ids):
        run = runs.get(rid)
        if run is None or run.operator_org_id != operator_org_id:
            bag.add(f"source_run_ids.{i}", "unknown_run", "沙箱运行 {value} 不存在或不属于本机构", value=rid)
        elif run.state != RunState.RELEASED.value:
            bag.add(f"source_run_ids.{i}", "run_not_released", "沙箱运行 {value} 未放行，其结果不能用于产品",
                    value=rid)
    return ids


def _fields(session: Session, bag: ErrorBag, auth: Authorization, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": _text(bag, "name", data.get("name"), required=True, limit=NAME_MAX),
        "description": _text(bag, "description", data.get("description"), required=True),
        "use": _text(bag, "use", data.get("use"), required=False),
        "scenario": _text(bag, "scenario", data.get("scenario"), required=False),
        "pi_consent_ref": _text(bag, "pi_consent_ref", data.get("pi_consent_ref"), required=False, limit=200),
        "pi_consent": bool(data.get("pi_consent")),
    }
    kind = ProductKind.parse(data.get("kind"))
    if kind is None:
        bag.add("kind", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=data.get("kind"),
                allowed="、".join(ProductKind.values()))
    out["kind"] = kind.value if kind else None
    category = PricingCategory.parse(data.get("pricing_category"))
    if category is None:
        bag.add("pricing_category", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                value=data.get("pricing_category"), allowed="、".join(PricingCategory.values()))
    out["pricing_category"] = category.value if category else None
    try:
        price = int(data.get("price_fen") or 0)
    except (TypeError, ValueError):
        bag.add("price_fen", "not_a_number", "“{value}”不是有效的金额（分）", value=data.get("price_fen"))
        price = 0
    if category is not None:
        check_price(bag, category.value, price, int(auth.fee_cap_fen))
    out["price_fen"] = price
    if out["pi_consent"] and not out["pi_consent_ref"]:
        bag.add("pi_consent_ref", "consent_reference", "已取得个人同意的，须填写同意记录的编号或出处")
    out["source_run_ids"] = _check_runs(session, bag, auth.operator_org_id, list(data.get("source_run_ids") or []))
    return out


def _lineage(session: Session, product: Product, action: str) -> None:
    """Issue 18: resource → sandbox run → product, as OpenLineage events in the same transaction."""
    # deferred: keeps httpx out of this module's import
    from ..lineage import operate as lineage

    lineage.product_built(session, product, action)


def create_product(session: Session, actor: Actor, *, authorization_id: int, data: dict[str, Any],
                   today: date | None = None) -> Product:
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    auth = _authorization(session, actor, authorization_id)
    require(actor.acts_for_org(auth.operator_org_id, Role.OPERATOR), "创建数据产品", "product_create_denied")
    bag = ErrorBag()
    fields = _fields(session, bag, auth, data)
    bag.raise_if_any()
    product = Product(operator_org_id=auth.operator_org_id, authorization_id=auth.id, region_id=auth.region_id,
                      state=ProductState.DRAFT.value, version=1, created_by_id=actor.user_id, **fields)
    session.add(product)
    session.flush()
    ledger.append(session, actor, "product.create", "product", product.id, {
        "authorization_id": auth.id, "operator_org_id": auth.operator_org_id, "kind": product.kind,
        "runs": list(product.source_run_ids), "pricing_category": product.pricing_category,
        "price_fen": product.price_fen, "digest": product_digest(session, product),
    })
    _lineage(session, product, "CREATE")
    return product


def update_product(session: Session, actor: Actor, product_id: int, data: dict[str, Any]) -> Product:
    """Edit a product (fields not given keep their values); it goes back to 草稿 with a new version."""
    product = get_product(session, actor, product_id, for_update=True)
    require(is_operator(actor, product), "修改数据产品", "product_edit_denied")
    if product.state not in EDITABLE:
        raise state_error(product, "修改数据产品")
    auth = session.get(Authorization, product.authorization_id)
    assert auth is not None
    current = {k: getattr(product, k) for k in ("name", "kind", "description", "use", "scenario", "pi_consent",
                                                 "pi_consent_ref", "pricing_category", "price_fen", "source_run_ids")}
    merged = {**current, **{k: v for k, v in data.items() if k in current and v is not None}}
    bag = ErrorBag()
    fields = _fields(session, bag, auth, merged)
    bag.raise_if_any()
    for key, value in fields.items():
        setattr(product, key, value)
    product.version += 1
    product.state = ProductState.DRAFT.value
    product.updated_at = utcnow()
    session.flush()
    ledger.append(session, actor, "product.update", "product", product.id, {
        "version": product.version, "state": product.state, "runs": list(product.source_run_ids),
        "price_fen": product.price_fen, "digest": product_digest(session, product),
    })
    _lineage(session, product, "UPDATE")
    return product


def state_error(product: Product, action: str) -> Conflict:
    return Conflict("product_state", "状态为“{state}”的数据产品不能{action}", state=product.state, action=action)


def set_state(session: Session, actor: Actor, product: Product, state: str, action: str,
              extra: dict[str, Any] | None = None) -> None:
    product.state = state
    product.updated_at = utcnow()
    ledger.append(session, actor, action, "product", product.id, {"state": state, "version": product.version,
                                                                   **(extra or {})})
