"""Pricing, revenue and the annual disclosure (2025 national rules, DOMAIN §7).

- The price rules (free uses, the fee cap) are checked where a product is priced: products.check_price.
- Revenue is recorded per product and month. The approved maximum of a month is cap × units sold;
  what the operator takes above it (less any deduction carried in) is carried as a deduction into
  the next recorded month, which lowers that month's allowed revenue.
- Each operator discloses its authorizations, product list and prices every year, due by
  31 March of the following year (`disclosure_due`), as JSON and XLSX.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_read_all, can_review, require
from ..enums import Role
from ..errors import Conflict, ErrorBag, NotFound
from ..i18n import N_
from ..ledger import service as ledger
from ..operate.model import Authorization
from ..orgs.model import Org
from . import products
from .model import Product, Revenue
from .registration import current, current_code

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# The disclosure of year Y is due on this month/day of Y + 1 (national rules 2025: "by end of March").
DISCLOSURE_DUE_MONTH, DISCLOSURE_DUE_DAY = 3, 31


def disclosure_due(year: int) -> date:
    """The last day for an operator's disclosure of `year`: 31 March of the following year."""
    return date(year + 1, DISCLOSURE_DUE_MONTH, DISCLOSURE_DUE_DAY)


# --- revenue -------------------------------------------------------------------------------------


def _previous(session: Session, product_id: int, period: str) -> Revenue | None:
    return session.execute(select(Revenue).where(Revenue.product_id == product_id, Revenue.period < period)
                           .order_by(Revenue.period.desc()).limit(1)).scalar_one_or_none()


def record_revenue(session: Session, actor: Actor, product_id: int, *, period: str, units: int,
                   amount_fen: int) -> Revenue:
    """The operator records one month's revenue of a product with a registration in force
    (products are registered before they are traded, 001:1201 Art. 20)."""
    product = products.get_product(session, actor, product_id, for_update=True)
    require(products.is_operator(actor, product), "登记数据产品收入", "revenue_denied")
    if current(session, product.id) is None:
        raise Conflict("product_not_registered", "数据产品未经登记不得交易，不能登记收入")
    bag = ErrorBag()
    if not PERIOD.match(period or ""):
        bag.add("period", "period_format", "期间格式应为YYYY-MM")
    if units < 0:
        bag.add("units", "negative", "不能为负数")
    if amount_fen < 0:
        bag.add("amount_fen", "negative", "不能为负数")
    bag.raise_if_any()
    if session.execute(select(Revenue.id).where(Revenue.product_id == product.id, Revenue.period == period)
                       ).first() is not None:
        raise Conflict("revenue_period_recorded", "该期间的收入已登记：{period}", period=period)
    later = session.execute(select(Revenue.period).where(Revenue.product_id == product.id, Revenue.period > period)
                            ).first()
    if later is not None:  # the carried deduction runs forward only
        raise Conflict("revenue_period_order", "已登记更晚期间（{period}）的收入，不能补登更早期间", period=later[0])
    auth = session.get(Authorization, product.authorization_id)
    cap = 0 if products.is_free(product.pricing_category) else int(auth.fee_cap_fen if auth else 0)
    approved_max = cap * units
    prev = _previous(session, product.id, period)
    deduction = int(prev.excess_fen) if prev else 0
    allowed = max(approved_max - deduction, 0)
    excess = max(amount_fen - allowed, 0)
    row = Revenue(product_id=product.id, period=period, units=units, amount_fen=amount_fen,
                  approved_max_fen=approved_max, deduction_fen=deduction, allowed_fen=allowed, excess_fen=excess,
                  recorded_by_id=actor.user_id)
    session.add(row)
    session.flush()
    ledger.append(session, actor, "product.revenue", "product", product.id, {
        "period": period, "units": units, "amount_fen": amount_fen, "approved_max_fen": approved_max,
        "deduction_fen": deduction, "excess_fen": excess,
    })
    return row


def revenue_dict(row: Revenue) -> dict[str, Any]:
    return {"id": row.id, "product_id": row.product_id, "period": row.period, "units": row.units,
            "amount_fen": int(row.amount_fen), "approved_max_fen": int(row.approved_max_fen),
            "deduction_fen": int(row.deduction_fen), "allowed_fen": int(row.allowed_fen),
            "excess_fen": int(row.excess_fen), "within_cap": row.excess_fen == 0,
            "carried_to_next_fen": int(row.excess_fen)}


def revenues(session: Session, actor: Actor, product_id: int) -> list[dict[str, Any]]:
    product = products.get_product(session, actor, product_id)
    rows = session.execute(select(Revenue).where(Revenue.product_id == product.id).order_by(Revenue.period)).scalars()
    return [revenue_dict(r) for r in rows]


# --- the annual disclosure -------------------------------------------------------------------------


def disclosure(session: Session, actor: Actor, operator_org_id: int, year: int) -> dict[str, Any]:
    """An operator's disclosure of `year`: authorizations in force during the year, its products
    and their prices. Readable by the operator, the authority, the admin and auditors."""
    org = session.get(Org, operator_org_id)
    if org is None:
        raise NotFound(f"机构 {operator_org_id}", "org_not_found")
    start, end = date(year, 1, 1), date(year, 12, 31)
    auths = session.execute(select(Authorization).where(
        Authorization.operator_org_id == org.id, Authorization.starts_on <= end, Authorization.ends_on >= start,
    ).order_by(Authorization.id)).scalars().all()
    authority = any(is_authority_of(session, actor, a.region_id) for a in auths)
    require(can_read_all(actor) or actor.acts_for_org(org.id, Role.OPERATOR) or authority,
            "查看运营机构年度披露", "disclosure_denied")
    listed = session.execute(select(Product).where(Product.operator_org_id == org.id).order_by(Product.id)
                             ).scalars().all()
    return {
        "operator": {"id": org.id, "name": org.name, "uscc": org.uscc}, "year": year,
        "due": disclosure_due(year).isoformat(),
        "authorizations": [{"id": a.id, "scope_kind": a.scope_kind, "scope": a.scope, "purpose": a.purpose,
                            "starts_on": a.starts_on.isoformat(), "ends_on": a.ends_on.isoformat(),
                            "fee_cap_fen": int(a.fee_cap_fen), "state": a.state} for a in auths],
        "products": [{"id": p.id, "name": p.name, "kind": p.kind, "authorization_id": p.authorization_id,
                      "registration_code": current_code(session, p.id), "state": p.state,
                      "pricing_category": p.pricing_category, "price_fen": int(p.price_fen),
                      "free": products.is_free(p.pricing_category)} for p in listed],
    }


def is_authority_of(session: Session, actor: Actor, region_id: int) -> bool:
    return can_review(actor, products.region_path(session, region_id))


def disclosure_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "授权"
    ws.append(["运营机构", data["operator"]["name"], "统一社会信用代码", data["operator"]["uscc"],
               "年度", data["year"], N_("披露截止"), data["due"]])
    ws.append(["授权编号", N_("范围类型"), "范围", "用途", "起始日期", N_("截止日期"), "收费上限（元）", "状态"])
    for a in data["authorizations"]:
        ws.append([a["id"], a["scope_kind"], a["scope"], a["purpose"], a["starts_on"], a["ends_on"],
                   a["fee_cap_fen"] / 100, a["state"]])
    wp = wb.create_sheet(N_("产品与价格"))
    wp.append(["产品编号", "名称", "类型", "授权编号", "登记编码", "状态", "定价类别", "价格（元）", N_("免费")])
    for p in data["products"]:
        wp.append([p["id"], p["name"], p["kind"], p["authorization_id"], p["registration_code"], p["state"],
                   p["pricing_category"], p["price_fen"] / 100, "是" if p["free"] else "否"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
