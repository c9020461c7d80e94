"""入表: recognising a data product on the holder's balance sheet (财会〔2023〕11号《企业数据资源
相关会计处理暂行规定》, in force 2024-01-01; DOMAIN §7).

- The holder's intention decides the class: held for its own use → 无形资产 (intangible asset);
  held for sale in ordinary business → 存货 (inventory).
- Capitalisable cost items (what the rules list as directly attributable to bringing the data to
  its intended use or sale): 外购 purchase, 脱敏 masking, 清洗 cleaning, 标注 labelling,
  整合 integration, 质量评估 quality evaluation, 登记结算 registration, 安全管理 security fees.
  Anything else (e.g. 研究 research, 日常运维 routine operation, 培训 training) is expensed.
- The export (XLSX or CSV) lists each cost item with its treatment and the totals, in yuan with
  two decimals, for a finance department's journal.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, require
from ..enums import ChineseEnum
from ..errors import ErrorBag, NotFound
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Org
from .model import Booking
from .products import get_product, is_authority, is_operator


class Intention(ChineseEnum):
    USE = "内部使用"
    SALE = "对外出售"


class AssetClass(ChineseEnum):
    INTANGIBLE = "无形资产"
    INVENTORY = "存货"


CAPITALISABLE = (N_("外购"), N_("脱敏"), N_("清洗"), N_("标注"), N_("整合"), N_("质量评估"), N_("登记结算"),
                 N_("安全管理"))
COST_ALIASES = {"purchase": N_("外购"), "masking": N_("脱敏"), "cleaning": N_("清洗"), "labelling": N_("标注"),
                "labeling": N_("标注"),
                "integration": N_("整合"), "quality": N_("质量评估"), "registration": N_("登记结算"),
                "security": N_("安全管理")}


def classify(intention: str) -> str:
    """The asset class from the holder's intention."""
    parsed = Intention.parse(intention)
    if parsed is None:
        raise ValueError(intention)
    return AssetClass.INTANGIBLE.value if parsed == Intention.USE else AssetClass.INVENTORY.value


def capitalisable(item: str) -> bool:
    return item in CAPITALISABLE


def book(session: Session, actor: Actor, product_id: int, *, intention: str, cost_items: list[dict[str, Any]],
         today: date | None = None) -> Booking:
    """The operator (the product's holder) classifies the product and its costs."""
    product = get_product(session, actor, product_id)
    require(is_operator(actor, product), "数据资源入表", "booking_denied")
    bag = ErrorBag()
    parsed = Intention.parse(intention)
    if parsed is None:
        bag.add("intention", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=intention,
                allowed="、".join(Intention.values()))
    items: list[dict[str, Any]] = []
    if not cost_items:
        bag.add("cost_items", "required", "必填项不能为空")
    for n, entry in enumerate(cost_items):
        name = str(entry.get("item") or "").strip()
        name = COST_ALIASES.get(name.lower(), name)
        if not name:
            bag.add(f"cost_items.{n}.item", "required", "必填项不能为空")
            continue
        try:
            amount = int(entry.get("amount_fen"))
        except (TypeError, ValueError):
            bag.add(f"cost_items.{n}.amount_fen", "not_a_number", "“{value}”不是有效的金额（分）",
                    value=entry.get("amount_fen"))
            continue
        if amount < 0:
            bag.add(f"cost_items.{n}.amount_fen", "negative", "不能为负数")
            continue
        items.append({"item": name[:50], "amount_fen": amount, "capitalised": capitalisable(name)})
    bag.raise_if_any()
    assert parsed is not None
    cap = sum(i["amount_fen"] for i in items if i["capitalised"])
    exp = sum(i["amount_fen"] for i in items if not i["capitalised"])
    row = Booking(product_id=product.id, holder_org_id=product.operator_org_id, intention=parsed.value,
                  asset_class=classify(parsed.value), cost_items=items, capitalised_fen=cap, expensed_fen=exp,
                  booked_on=today or workdays.today(), created_by_id=actor.user_id)
    session.add(row)
    session.flush()
    ledger.append(session, actor, "product.booking", "booking", row.id, {
        "product_id": product.id, "asset_class": row.asset_class, "capitalised_fen": cap, "expensed_fen": exp})
    return row


def get_booking(session: Session, actor: Actor, booking_id: int) -> Booking:
    row = session.get(Booking, int(booking_id))
    if row is None:
        raise NotFound(f"入表记录 {booking_id}", "booking_not_found")
    product = get_product(session, actor, row.product_id)
    require(is_operator(actor, product) or is_authority(session, actor, product) or actor.is_admin
            or actor.is_auditor, "查看入表记录", "booking_denied")
    return row


def bookings_of(session: Session, actor: Actor, product_id: int) -> list[Booking]:
    product = get_product(session, actor, product_id)
    return list(session.execute(select(Booking).where(Booking.product_id == product.id).order_by(Booking.id))
                .scalars())


def booking_dict(session: Session, row: Booking) -> dict[str, Any]:
    holder = session.get(Org, row.holder_org_id)
    return {"id": row.id, "product_id": row.product_id, "holder_org_id": row.holder_org_id,
            "holder_org_name": holder.name if holder else None, "intention": row.intention,
            "asset_class": row.asset_class, "cost_items": list(row.cost_items),
            "capitalised_fen": int(row.capitalised_fen), "expensed_fen": int(row.expensed_fen),
            "booked_on": row.booked_on.isoformat()}


HEADER = [N_("入表编号"), N_("产品编号"), N_("持有单位"), N_("持有意图"), N_("资产类别"), N_("成本项目"),
          N_("金额（元）"), N_("会计处理"), N_("科目")]


def export_rows(session: Session, rows: list[Booking]) -> list[list[Any]]:
    """One line per cost item: capitalised items go to the asset account, the rest to expense."""
    out: list[list[Any]] = []
    for row in rows:
        d = booking_dict(session, row)
        account = N_("无形资产—数据资源") if row.asset_class == AssetClass.INTANGIBLE.value else N_("存货—数据资源")
        for item in row.cost_items:
            out.append([row.id, row.product_id, d["holder_org_name"], row.intention, row.asset_class, item["item"],
                        f"{item['amount_fen'] / 100:.2f}", "资本化" if item["capitalised"] else "费用化",
                        account if item["capitalised"] else N_("管理费用")])
        out.append([row.id, row.product_id, d["holder_org_name"], row.intention, row.asset_class, N_("资本化合计"),
                    f"{row.capitalised_fen / 100:.2f}", "资本化", account])
        out.append([row.id, row.product_id, d["holder_org_name"], row.intention, row.asset_class, N_("费用化合计"),
                    f"{row.expensed_fen / 100:.2f}", "费用化", N_("管理费用")])
    return out


def export_csv(session: Session, rows: list[Booking]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(export_rows(session, rows))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


def export_xlsx(session: Session, rows: list[Booking]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "数据资源入表"
    ws.append(HEADER)
    for line in export_rows(session, rows):
        line = list(line)
        line[6] = float(line[6])  # a number the finance department can sum
        ws.append(line)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
