"""Valuation of data assets (中评协《数据资产评估指导意见》2023, DOMAIN §7). Decimal arithmetic,
money in fen, every figure rounded half-up to the fen only at the end.

Methods (by name; the built-in ones in METHODS, a province's own through the plugin hook
`ybz_valuation_methods` — DESIGN rule 8):

- 成本法 (cost): P = C × δ.
  C = Σ cost components in fen: 规划 planning, 采集 collection, 存储 storage, 加工 processing,
  合规 compliance, 税费 tax (the replacement cost).
  δ = q × r, the value adjustment factor, where
    q = quality score / 100 (quality score 0..100, e.g. the product's quality evaluation), and
    r = remaining economic life / (elapsed life + remaining economic life) (成新率, 0..1).
- 收益法 (income): P = Σ_{t=1..n} F_t / (1 + i)^t, F_t the forecast net cash flow of year t in fen,
  i the discount rate (e.g. "0.08").
- 市场法 (market): each comparable's price × the product of its adjustment factors (quality,
  timeliness, volume, scenario …); P = the mean of the adjusted comparable prices.

Every valuation keeps its inputs, the intermediate steps and an SM3 digest over
{method, formula version, inputs}: re-running the stored inputs gives the same figure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import plugins, workdays
from ..access import Actor, require
from ..crypto import canonical_json, sm3_hex
from ..errors import ErrorBag, NotFound
from ..i18n import N_
from ..ledger import service as ledger
from .model import Valuation
from .products import get_product, is_authority, is_operator

FORMULA_VERSION = "中评协2023-v1"
COST_COMPONENTS = (N_("规划"), N_("采集"), N_("存储"), N_("加工"), N_("合规"), N_("税费"))
COST_ALIASES = {"planning": N_("规划"), "collection": N_("采集"), "storage": N_("存储"), "processing": N_("加工"),
                "compliance": N_("合规"), "tax": N_("税费")}
METHOD_ALIASES = {"cost": N_("成本法"), "income": N_("收益法"), "market": N_("市场法")}
FEN = Decimal(1)


def _dec(bag: ErrorBag, field: str, raw: Any, *, low: Decimal | None = None, high: Decimal | None = None
         ) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, AttributeError):
        bag.add(field, "not_a_number", "“{value}”不是有效的数值", value=raw)
        return None
    if not value.is_finite() or (low is not None and value < low) or (high is not None and value > high):
        bag.add(field, "out_of_range", "“{value}”超出允许范围", value=raw)
        return None
    return value


def _fen(value: Decimal) -> int:
    return int(value.quantize(FEN, rounding=ROUND_HALF_UP))


def cost_method(inputs: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(value in fen, steps, normalised inputs)."""
    bag = ErrorBag()
    costs: dict[str, Decimal] = {}
    for key, raw in (inputs.get("costs") or {}).items():
        name = COST_ALIASES.get(str(key).lower(), str(key))
        if name not in COST_COMPONENTS:
            bag.add(f"costs.{key}", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=key,
                    allowed="、".join(COST_COMPONENTS))
            continue
        amount = _dec(bag, f"costs.{key}", raw, low=Decimal(0))
        if amount is not None:
            costs[name] = amount
    if not costs:
        bag.add("costs", "required", "必填项不能为空")
    quality = _dec(bag, "quality_score", inputs.get("quality_score"), low=Decimal(0), high=Decimal(100))
    remaining = _dec(bag, "remaining_life_years", inputs.get("remaining_life_years"), low=Decimal(0))
    elapsed = _dec(bag, "elapsed_life_years", inputs.get("elapsed_life_years", 0), low=Decimal(0))
    if remaining is not None and elapsed is not None and remaining + elapsed == 0:
        bag.add("remaining_life_years", "out_of_range", "“{value}”超出允许范围",
                value=inputs.get("remaining_life_years"))
    bag.raise_if_any()
    assert quality is not None and remaining is not None and elapsed is not None
    c = sum(costs.values(), Decimal(0))
    q = quality / 100
    r = remaining / (elapsed + remaining)
    delta = q * r
    value = c * delta
    normal = {"costs": {k: str(v) for k, v in sorted(costs.items())}, "quality_score": str(quality),
              "remaining_life_years": str(remaining), "elapsed_life_years": str(elapsed)}
    steps = {"C_fen": str(c), "q": str(q), "r": str(r), "delta": str(delta), "P_unrounded": str(value)}
    return _fen(value), steps, normal


def income_method(inputs: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    bag = ErrorBag()
    rate = _dec(bag, "discount_rate", inputs.get("discount_rate"), low=Decimal("-0.99"), high=Decimal(10))
    flows: list[Decimal] = []
    raw_flows = inputs.get("cash_flows_fen") or []
    if not isinstance(raw_flows, list) or not raw_flows:
        bag.add("cash_flows_fen", "required", "必填项不能为空")
        raw_flows = []
    for t, raw in enumerate(raw_flows, start=1):
        flow = _dec(bag, f"cash_flows_fen.{t - 1}", raw)
        if flow is not None:
            flows.append(flow)
    bag.raise_if_any()
    assert rate is not None
    discounted = [f / (1 + rate) ** t for t, f in enumerate(flows, start=1)]
    value = sum(discounted, Decimal(0))
    normal = {"discount_rate": str(rate), "cash_flows_fen": [str(f) for f in flows]}
    steps = {"discounted_fen": [str(d) for d in discounted], "P_unrounded": str(value)}
    return _fen(value), steps, normal


def market_method(inputs: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    bag = ErrorBag()
    comparables = inputs.get("comparables") or []
    if not isinstance(comparables, list) or not comparables:
        bag.add("comparables", "required", "必填项不能为空")
        comparables = []
    normal_comps: list[dict[str, Any]] = []
    adjusted: list[Decimal] = []
    for n, comp in enumerate(comparables):
        comp = comp if isinstance(comp, dict) else {}
        price = _dec(bag, f"comparables.{n}.price_fen", comp.get("price_fen"), low=Decimal(0))
        factors: dict[str, Decimal] = {}
        for name, raw in sorted((comp.get("factors") or {}).items()):
            factor = _dec(bag, f"comparables.{n}.factors.{name}", raw, low=Decimal(0))
            if factor is not None:
                factors[str(name)] = factor
        if price is None:
            continue
        product = Decimal(1)
        for factor in factors.values():
            product *= factor
        adjusted.append(price * product)
        normal_comps.append({"name": str(comp.get("name") or f"可比案例{n + 1}")[:200], "price_fen": str(price),
                             "factors": {k: str(v) for k, v in factors.items()}})
    bag.raise_if_any()
    value = sum(adjusted, Decimal(0)) / len(adjusted)
    steps = {"adjusted_fen": [str(a) for a in adjusted], "P_unrounded": str(value)}
    return _fen(value), steps, {"comparables": normal_comps}


Method = Callable[[dict[str, Any]], tuple[int, dict[str, Any], dict[str, Any]]]
METHODS: dict[str, Method] = {"成本法": cost_method, "收益法": income_method, "市场法": market_method}


def _methods() -> dict[str, Method]:
    """The methods every plugin declares (`ybz_valuation_methods`: the assets plugin gives these
    three; a province's plugin adds its own)."""
    return plugins.valuation_methods()


def inputs_digest(method: str, inputs: dict[str, Any]) -> str:
    return sm3_hex(canonical_json({"method": method, "formula": FORMULA_VERSION, "inputs": inputs}))


def compute(method: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Pure: the figure, steps and digest for a method and inputs (nothing stored)."""
    name = METHOD_ALIASES.get(str(method).strip().lower(), str(method).strip())
    methods = _methods()
    if name not in methods:
        bag = ErrorBag()
        bag.add("method", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=method,
                allowed="、".join(methods))
        bag.raise_if_any()
    value, steps, normal = methods[name](inputs if isinstance(inputs, dict) else {})
    return {"method": name, "formula": FORMULA_VERSION, "inputs": normal, "value_fen": value, "steps": steps,
            "inputs_digest": inputs_digest(name, normal)}


def value_product(session: Session, actor: Actor, product_id: int, method: str, inputs: dict[str, Any],
                  today: date | None = None) -> Valuation:
    """The operator (holder) or the authority values a product; the inputs are kept."""
    product = get_product(session, actor, product_id)
    require(is_operator(actor, product) or is_authority(session, actor, product), "评估数据产品",
            "valuation_denied")
    result = compute(method, inputs)
    row = Valuation(product_id=product.id, method=result["method"], inputs=result["inputs"],
                    inputs_digest=result["inputs_digest"], value_fen=result["value_fen"], steps=result["steps"],
                    valued_on=today or workdays.today(), created_by_id=actor.user_id)
    session.add(row)
    session.flush()
    ledger.append(session, actor, "product.valuation", "valuation", row.id, {
        "product_id": product.id, "method": row.method, "value_fen": row.value_fen,
        "inputs_digest": row.inputs_digest, "formula": FORMULA_VERSION})
    return row


def get_valuation(session: Session, actor: Actor, valuation_id: int) -> Valuation:
    row = session.get(Valuation, int(valuation_id))
    if row is None:
        raise NotFound(f"评估 {valuation_id}", "valuation_not_found")
    get_product(session, actor, row.product_id)  # readable only with its product
    return row


def reproduce(row: Valuation) -> dict[str, Any]:
    """Re-run the stored inputs: the same figure and digest, or a difference to investigate."""
    again = compute(row.method, row.inputs)
    return {"valuation_id": row.id, "value_fen": again["value_fen"], "stored_value_fen": row.value_fen,
            "inputs_digest": again["inputs_digest"], "stored_inputs_digest": row.inputs_digest,
            "reproduced": again["value_fen"] == row.value_fen and again["inputs_digest"] == row.inputs_digest}


def valuations_of(session: Session, actor: Actor, product_id: int) -> list[Valuation]:
    product = get_product(session, actor, product_id)
    return list(session.execute(select(Valuation).where(Valuation.product_id == product.id)
                                .order_by(Valuation.id)).scalars())


def valuation_dict(row: Valuation) -> dict[str, Any]:
    return {"id": row.id, "product_id": row.product_id, "method": row.method, "formula": FORMULA_VERSION,
            "inputs": row.inputs, "steps": row.steps, "value_fen": int(row.value_fen),
            "inputs_digest": row.inputs_digest, "valued_on": row.valued_on.isoformat()}
