"""Compliance review before registration (001:1201 Art. 20): a checklist over the 7 untradeable
kinds of 001:1236 Art. 27 (DOMAIN §7).

The platform decides what it knows, the authority's reviewer signs off the rest item by item:

| kind | what | automatic check | sign-off |
|---|---|---|---|
| 1 | state secrets | a source item graded 核心 fails | yes |
| 2 | harms national security / public interest | a source item graded 核心 or 重要 fails | yes |
| 3 | no concrete use and scenario | use or scenario empty fails | no |
| 4 | personal info without consent | personal items (个人 / 一般-3级,4级) and no consent record fails | no |
| 5 | trade secrets without the holder's consent | — | yes |
| 6 | fraud, coercion, illegal channels | authorization not active; a run refused, of another authorization | no |
|   |                                   | or reading a resource outside the authorization                       |    |
| 7 | otherwise banned by law | — | yes |

An automatic failure is final: the review ends 不通过 at once and the product shows each failed
item with its reason and rule. Otherwise the review waits for sign-off of kinds 1, 2, 5, 7; it
passes when every item passes. The operator fixes the product (which puts it back to 草稿) and
submits it again: each submission is a new review.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, require
from ..catalog.model import ResourceItem
from ..classify.categories import CATEGORIES
from ..classify.service import item_categories
from ..errors import Conflict, ErrorBag, NotFound
from ..i18n import N_, translate
from ..ledger import service as ledger
from ..operate.model import Authorization, RunState
from .model import ComplianceReview, Product, ProductState, ReviewState
from .products import (
    authorization_active,
    covered_resources,
    get_product,
    is_authority,
    is_operator,
    set_state,
    source_runs,
    state_error,
)

RULE = N_("001:1236 第二十七条第（{n}）项")
# (kind, title, automatic, needs sign-off)
KINDS: tuple[tuple[int, str, bool, bool], ...] = (
    (1, N_("涉及国家秘密"), True, True),
    (2, N_("危害国家安全或公共利益"), True, True),
    (3, N_("未明确具体用途和应用场景"), True, False),
    (4, N_("涉及个人信息且未取得个人或其监护人同意"), True, False),
    (5, N_("涉及商业秘密且未取得权利人同意"), False, True),
    (6, N_("通过欺诈、胁迫或非法渠道获取"), True, False),
    (7, N_("法律法规禁止交易的其他情形"), False, True),
)
SIGNOFF_KINDS = tuple(k for k, _, _, sign in KINDS if sign)
PERSONAL_GRADES = (N_("一般-3级"), N_("一般-4级"))  # DOMAIN §4 default sub-levels of personal information
CORE, IMPORTANT = N_("核心"), N_("重要")
PASS, FAIL, PENDING, NOT_REVIEWED = N_("通过"), N_("不通过"), N_("待签核"), N_("未审查")


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def _source_items(session: Session, product: Product, auth: Authorization | None) -> list[ResourceItem]:
    """The items the product's runs could read: for each resource a run used, the authorization's
    items of it (all of them when it lists none)."""
    covered = covered_resources(auth) if auth else {}
    wanted: dict[int, list[str]] = {}
    for run in source_runs(session, product):
        for entry in run.resources or []:
            rid = int(entry.get("resource_id") if isinstance(entry, dict) else entry)
            wanted[rid] = covered.get(rid, [])
    out: list[ResourceItem] = []
    for rid, names in sorted(wanted.items()):
        stmt = select(ResourceItem).where(ResourceItem.resource_id == rid)
        if names:
            stmt = stmt.where(ResourceItem.name.in_(names))
        out.extend(session.execute(stmt.order_by(ResourceItem.position)).scalars())
    return out


def _personal(session: Session, items: list[ResourceItem]) -> list[str]:
    cats: dict[int, list[str]] = {}
    for rid in {i.resource_id for i in items}:
        cats.update(item_categories(session, rid))
    out = []
    for item in items:
        subjects = {CATEGORIES[c].subject for c in cats.get(item.id, []) if c in CATEGORIES}
        if "个人" in subjects or (item.grade or "") in PERSONAL_GRADES:
            out.append(item.name)
    return out


def _check(kind: int, result: str, code: str | None = None, reason: str | None = None,
           **params: Any) -> dict[str, Any]:
    title, auto, sign = next((t, a, s) for k, t, a, s in KINDS if k == kind)
    return {"kind": kind, "rule": RULE.format(n="一二三四五六七"[kind - 1]), "rule_en": f"001:1236 Art. 27({kind})",
            "title": title, "automatic": auto, "needs_signoff": sign and result != FAIL, "result": result,
            "reason_code": code, "reason": reason, "reason_params": params, "signoff": None}


def automatic_checks(session: Session, product: Product, day: date) -> list[dict[str, Any]]:
    auth = session.get(Authorization, product.authorization_id)
    items = _source_items(session, product, auth)
    core = [i.name for i in items if i.grade == CORE]
    important = [i.name for i in items if i.grade in (CORE, IMPORTANT)]
    checks: list[dict[str, Any]] = []
    checks.append(_check(1, FAIL, "core_data", "来源信息项“{items}”定级为核心数据", items="、".join(core))
                  if core else _check(1, PENDING))
    checks.append(_check(2, FAIL, "important_data", "来源信息项“{items}”定级为核心或重要数据",
                         items="、".join(important)) if important else _check(2, PENDING))
    missing = {(False, False): N_("未填写用途和应用场景"), (False, True): N_("未填写用途"),
               (True, False): N_("未填写应用场景")}.get((bool(product.use), bool(product.scenario)))
    checks.append(_check(3, FAIL, "no_use_or_scenario", missing) if missing else _check(3, PASS))
    personal = _personal(session, items)
    if personal and not (product.pi_consent and product.pi_consent_ref):
        checks.append(_check(4, FAIL, "personal_without_consent", "来源信息项“{items}”属于个人信息，未记录个人同意",
                             items="、".join(personal)))
    else:
        checks.append(_check(4, PASS))
    checks.append(_check(5, PENDING))
    checks.append(_channel_check(session, product, auth, day))
    checks.append(_check(7, PENDING))
    return checks


def _channel_check(session: Session, product: Product, auth: Authorization | None, day: date) -> dict[str, Any]:
    if auth is None or not authorization_active(auth, day):
        return _check(6, FAIL, "authorization_inactive", "产品所依据的授权 {id} 未处于有效期内或已暂停、撤销",
                      id=product.authorization_id)
    covered = covered_resources(auth)
    for run in source_runs(session, product):
        if run.state != RunState.RELEASED.value:
            return _check(6, FAIL, "run_not_released", "沙箱运行 {value} 未放行，其结果不能用于产品", value=run.id)
        if run.authorization_id != auth.id:
            return _check(6, FAIL, "run_other_authorization", "沙箱运行 {run} 依据的是另一授权 {other}",
                          run=run.id, other=run.authorization_id)
        for entry in run.resources or []:
            rid = int(entry.get("resource_id") if isinstance(entry, dict) else entry)
            if rid not in covered:
                return _check(6, FAIL, "source_outside_authorization",
                              "沙箱运行 {run} 读取了授权范围外的信息资源 {resource}", run=run.id, resource=rid)
    if len(source_runs(session, product)) != len(product.source_run_ids or []):
        return _check(6, FAIL, "run_missing", "产品的部分来源沙箱运行不存在")
    return _check(6, PASS)


def _decide(session: Session, actor: Actor, review: ComplianceReview, product: Product, day: date) -> None:
    results = [c["result"] for c in review.checks]
    if PENDING in results:
        return
    review.state = ReviewState.PASSED.value if all(r == PASS for r in results) else ReviewState.FAILED.value
    review.decided_on = day
    state = ProductState.PASSED.value if review.state == ReviewState.PASSED.value else ProductState.REFUSED.value
    failed = [c["kind"] for c in review.checks if c["result"] == FAIL]
    set_state(session, actor, product, state, "product.review.decide",
              {"review_id": review.id, "result": review.state, "failed_kinds": failed})


def submit_for_review(session: Session, actor: Actor, product_id: int, today: date | None = None
                      ) -> ComplianceReview:
    """The operator submits a product: the automatic checks run at once."""
    product = get_product(session, actor, product_id, for_update=True)
    require(is_operator(actor, product), "提交合规审查", "product_review_submit_denied")
    if product.state not in (ProductState.DRAFT.value, ProductState.REFUSED.value):
        raise state_error(product, "提交合规审查")
    day = today or _today()
    checks = automatic_checks(session, product, day)
    failed = [c["kind"] for c in checks if c["result"] == FAIL]
    if failed:
        # An automatic failure is final: nothing a reviewer signs can cure it.
        for c in checks:
            if c["result"] == PENDING:
                c["result"], c["needs_signoff"] = NOT_REVIEWED, False
    review = ComplianceReview(product_id=product.id, product_version=product.version,
                              state=ReviewState.FAILED.value if failed else ReviewState.PENDING.value,
                              checks=checks, submitted_on=day, decided_on=day if failed else None)
    session.add(review)
    session.flush()
    set_state(session, actor, product, ProductState.REVIEWING.value, "product.review.submit", {
        "review_id": review.id, "automatic": {str(c["kind"]): c["result"] for c in checks}})
    if failed:
        set_state(session, actor, product, ProductState.REFUSED.value, "product.review.decide",
                  {"review_id": review.id, "result": review.state, "failed_kinds": failed})
    return review


def latest_review(session: Session, product_id: int) -> ComplianceReview | None:
    return session.execute(select(ComplianceReview).where(ComplianceReview.product_id == product_id)
                           .order_by(ComplianceReview.id.desc()).limit(1)).scalar_one_or_none()


def sign_off(session: Session, actor: Actor, product_id: int, items: list[dict[str, Any]],
             today: date | None = None) -> ComplianceReview:
    """The authority's reviewer signs off items of the current review: [{kind, verdict, note}]."""
    product = get_product(session, actor, product_id, for_update=True)
    require(is_authority(session, actor, product), "签核合规审查", "product_review_denied")
    review = latest_review(session, product.id)
    if review is None or review.state != ReviewState.PENDING.value or product.state != ProductState.REVIEWING.value:
        raise state_error(product, "签核合规审查")
    day = today or _today()
    bag = ErrorBag()
    checks = [dict(c) for c in review.checks]
    by_kind = {c["kind"]: c for c in checks}
    if not items:
        bag.add("items", "required", "必填项不能为空")
    for i, entry in enumerate(items):
        kind = entry.get("kind")
        check = by_kind.get(kind) if isinstance(kind, int) else None
        verdict = str(entry.get("verdict") or "").strip()
        verdict = {"pass": PASS, "fail": FAIL}.get(verdict.lower(), verdict)
        note = str(entry.get("note") or "").strip()
        if check is None or kind not in SIGNOFF_KINDS:
            bag.add(f"items.{i}.kind", "not_signable", "第{value}项不需要或不能人工签核", value=kind)
            continue
        if check["result"] != PENDING:
            bag.add(f"items.{i}.kind", "already_signed", "第{value}项已签核", value=kind)
            continue
        if verdict not in (PASS, FAIL):
            bag.add(f"items.{i}.verdict", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=verdict,
                    allowed="通过、不通过")
            continue
        if not note:
            bag.add(f"items.{i}.note", "required", "必填项不能为空")
            continue
        check["result"] = verdict
        check["needs_signoff"] = False
        check["signoff"] = {"verdict": verdict, "note": note[:2000], "by": actor.username, "on": day.isoformat()}
        if verdict == FAIL:
            check["reason_code"] = "reviewer_refused"
            check["reason"] = N_("审查人员认定：{note}")
            check["reason_params"] = {"note": note[:2000]}
    bag.raise_if_any()
    review.checks = checks
    session.flush()
    ledger.append(session, actor, "product.review.signoff", "product", product.id, {
        "review_id": review.id, "kinds": [e.get("kind") for e in items],
        "verdicts": [str(e.get("verdict")) for e in items]})
    _decide(session, actor, review, product, day)
    return review


def get_review(session: Session, actor: Actor, product_id: int) -> ComplianceReview:
    product = get_product(session, actor, product_id)
    review = latest_review(session, product.id)
    if review is None:
        raise NotFound(f"数据产品 {product_id} 的合规审查", "review_not_found")
    return review


def review_dict(review: ComplianceReview) -> dict[str, Any]:
    checks = []
    for c in review.checks:
        params = c.get("reason_params") or {}
        out = dict(c)
        out["reason_en"] = translate(c["reason"], "en", **params) if c.get("reason") else None
        out["reason"] = translate(c["reason"], "zh", **params) if c.get("reason") else None
        out["title_en"] = translate(c["title"], "en")
        checks.append(out)
    failed = [c for c in checks if c["result"] == FAIL]
    return {"id": review.id, "product_id": review.product_id, "product_version": review.product_version,
            "state": review.state, "submitted_on": review.submitted_on.isoformat(),
            "decided_on": review.decided_on.isoformat() if review.decided_on else None, "checks": checks,
            "failed": [{"kind": c["kind"], "rule": c["rule"], "rule_en": c["rule_en"], "title": c["title"],
                        "title_en": c["title_en"], "reason": c["reason"], "reason_en": c["reason_en"]}
                       for c in failed],
            "awaiting_signoff": [c["kind"] for c in checks if c["result"] == PENDING]}


def require_passed(product: Product) -> None:
    if product.state != ProductState.PASSED.value:
        raise Conflict("product_not_compliant", "数据产品须先通过合规审查")
