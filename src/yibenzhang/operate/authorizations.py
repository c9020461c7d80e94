"""Authorizations of operators (授权运营, DOMAIN §7).

The authority — the reviewer of the authorization's region (or one above it) or the platform
admin — authorizes an org of kind 授权运营机构 for a scope (全域 / 领域 / 场景), listing the
published resources of that region and, for each, the items the operator may compute over; with
a purpose, conditions, a term and a fee cap. It may suspend, resume and revoke, always with a
reason. Operator users (role 运营方 of that org) see their own authorizations.

Term: `ends_on` is the last day the authorization is valid (inclusive). A term of N years
(N = rules.operation_term_years_max, default 5) starting on S ends at the latest on the day
before the same calendar date N years later: 2025-01-01 → 2029-12-31 is exactly 5 years and
allowed, 2030-01-01 (5 years + 1 day) is refused. A start on 29 February counts from 1 March of
the target year (2024-02-29 → at most 2029-02-28).

State: 有效 / 暂停 / 撤销 are stored; 已到期 is computed on read when the day is after `ends_on`.
Reasons stay in the row's history; the ledger records ids, states and dates only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_read_all, can_review, require
from ..catalog.model import Resource
from ..config import get_settings
from ..db import utcnow
from ..enums import OrgKind, ResourceStatus, Role
from ..errors import Conflict, ErrorBag, NotFound
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Org, Region
from .model import Authorization, AuthorizationState, ReleaseMode, ReleasePolicy, ScopeKind

TEXT_MAX = 2000
St = AuthorizationState


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


# --- the term ---------------------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same calendar date `years` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def latest_end(starts_on: date) -> date:
    """The last `ends_on` a term starting on `starts_on` may have (see the module docstring)."""
    return add_years(starts_on, get_settings().rules.operation_term_years_max) - timedelta(days=1)


# --- reading ------------------------------------------------------------------------------------


def effective_state(auth: Authorization, day: date | None = None) -> str:
    day = day or _today()
    if auth.state != St.REVOKED.value and day > auth.ends_on:
        return St.EXPIRED.value
    return auth.state


def is_active(auth: Authorization, day: date | None = None) -> bool:
    """True when the operator may compute under it on `day`: 有效 and within its term."""
    day = day or _today()
    return auth.state == St.ACTIVE.value and auth.starts_on <= day <= auth.ends_on


def authorized_items(auth: Authorization, resource_id: int) -> list[str] | None:
    """The items of `resource_id` this authorization lists, or None when it lists no such resource."""
    for entry in auth.resources or []:
        if int(entry.get("resource_id", 0)) == int(resource_id):
            return list(entry.get("items") or [])
    return None


def covers(auth: Authorization, resource_id: int, items: list[str] | tuple[str, ...] | set[str]) -> bool:
    """True when the authorization lists the resource and every one of `items` under it."""
    allowed = authorized_items(auth, resource_id)
    return allowed is not None and set(items) <= set(allowed)


def release_mode(session: Session, auth_id: int) -> str:
    """How the authorization's sandbox results leave: checked output (the default) or a privacy
    budget (operate.privacy sets it)."""
    policy = session.get(ReleasePolicy, int(auth_id))
    return policy.mode if policy else ReleaseMode.OUTPUT_CHECK.value


def _region_path(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region.path if region else "/"


def can_manage(session: Session, actor: Actor, auth_region_id: int) -> bool:
    return can_review(actor, _region_path(session, auth_region_id))


def can_read(session: Session, actor: Actor, auth: Authorization) -> bool:
    return (can_read_all(actor) or actor.acts_for_org(auth.operator_org_id, Role.OPERATOR)
            or can_manage(session, actor, auth.region_id))


def get_authorization(session: Session, actor: Actor, auth_id: int, *, for_update: bool = False) -> Authorization:
    auth = session.get(Authorization, int(auth_id), with_for_update=for_update or None)
    if auth is None or not can_read(session, actor, auth):
        raise NotFound(f"运营授权 {auth_id}", "authorization_not_found")
    return auth


def list_authorizations(session: Session, actor: Actor, *, operator_org_id: int | None = None,
                        state: str | None = None, day: date | None = None) -> list[Authorization]:
    query = select(Authorization).order_by(Authorization.id.desc())
    if not can_read_all(actor):
        clauses: list[Any] = []
        mine = actor.org_ids(Role.OPERATOR)
        if mine:
            clauses.append(Authorization.operator_org_id.in_(mine))
        paths = actor.reviewer_paths()
        if paths:
            regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
            clauses.append(Authorization.region_id.in_(regions))
        if not clauses:
            return []
        query = query.where(or_(*clauses))
    if operator_org_id is not None:
        query = query.where(Authorization.operator_org_id == operator_org_id)
    rows = list(session.scalars(query))
    if state:
        wanted = St.parse(state)
        rows = [a for a in rows if wanted is not None and effective_state(a, day) == wanted.value]
    return rows


def as_dict(session: Session, auth: Authorization, day: date | None = None) -> dict[str, Any]:
    org = session.get(Org, auth.operator_org_id)
    region = session.get(Region, auth.region_id)
    return {
        "id": auth.id,
        "operator_org_id": auth.operator_org_id,
        "operator_org": org.name if org else None,
        "region_id": auth.region_id,
        "region": region.name if region else None,
        "scope_kind": auth.scope_kind,
        "scope": auth.scope,
        "resources": auth.resources,
        "purpose": auth.purpose,
        "conditions": auth.conditions,
        "starts_on": auth.starts_on.isoformat(),
        "ends_on": auth.ends_on.isoformat(),
        "fee_cap_fen": auth.fee_cap_fen,
        "state": effective_state(auth, day),
        "stored_state": auth.state,
        "active": is_active(auth, day),
        "history": auth.history,
        "created_at": auth.created_at.isoformat() if auth.created_at else None,
    }


# --- creating -----------------------------------------------------------------------------------


def _text(bag: ErrorBag, field: str, value: str | None, required: bool = True) -> str | None:
    return bag.text(field, value, required=required, limit=TEXT_MAX)


def _check_resources(session: Session, bag: ErrorBag, region_path: str, raw: Any) -> list[dict[str, Any]]:
    """Each listed resource must be published in the authorization's region (or below) and each
    item one of its items; the same resource may not be listed twice."""
    if not isinstance(raw, list) or not raw:
        bag.add("resources", "required", "至少列出一项信息资源")
        return []
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, entry in enumerate(raw):
        field = f"resources.{i}"
        try:
            rid = int(entry["resource_id"])
            items = [str(x).strip() for x in entry.get("items") or []]
        except (KeyError, TypeError, ValueError):
            bag.add(field, "invalid", "应包含 resource_id 和 items")
            continue
        resource = session.get(Resource, rid)
        if resource is None or resource.published_version is None or resource.status == ResourceStatus.RETIRED.value:
            bag.add(f"{field}.resource_id", "resource_not_published", "信息资源 {id} 不存在或未发布", id=rid)
            continue
        if not _region_path(session, resource.region_id).startswith(region_path):
            bag.add(f"{field}.resource_id", "resource_outside_region", "信息资源 {id} 不属于授权的地区", id=rid)
            continue
        if rid in seen:
            bag.add(f"{field}.resource_id", "duplicate", "信息资源 {id} 重复列出", id=rid)
            continue
        seen.add(rid)
        names = {item.name for item in resource.items}
        if not items:
            bag.add(f"{field}.items", "required", "至少列出一个信息项")
        unknown = [x for x in items if x not in names]
        if unknown:
            bag.add(f"{field}.items", "unknown_item", "信息资源 {id} 没有这些信息项：{items}", id=rid,
                    items="、".join(unknown))
        ordered = [item.name for item in resource.items if item.name in set(items)]
        out.append({"resource_id": rid, "items": ordered})
    return out


def create_authorization(
    session: Session, actor: Actor, *, operator_org_id: int, region_id: int | None = None,
    scope_kind: str, scope: str | None = None, resources: list[dict[str, Any]], purpose: str,
    conditions: str | None = None, starts_on: date, ends_on: date, fee_cap_fen: int,
) -> Authorization:
    org = session.get(Org, int(operator_org_id))
    if org is None:
        raise NotFound(f"机构 {operator_org_id}", "org_not_found")
    region_id = int(region_id) if region_id is not None else org.region_id
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound(f"地区 {region_id}", "region_not_found")
    require(can_review(actor, region.path), "授权运营", "authorization_denied")
    bag = ErrorBag()
    if org.kind != OrgKind.OPERATOR.value:
        bag.add("operator_org_id", "not_an_operator", "只能授权“授权运营机构”类机构，该机构为“{kind}”", kind=org.kind)
    kind = ScopeKind.parse(scope_kind)
    if kind is None:
        bag.add("scope_kind", "invalid_choice", "未知的取值“{value}”，可选：{allowed}", value=scope_kind,
                allowed="、".join(ScopeKind.values()))
    scope_text = _text(bag, "scope", scope, required=kind is not None and kind != ScopeKind.REGION)
    purpose_text = _text(bag, "purpose", purpose)
    conditions_text = _text(bag, "conditions", conditions, required=False)
    checked = _check_resources(session, bag, region.path, resources)
    if ends_on < starts_on:
        bag.add("ends_on", "before_start", "终止日期不能早于起始日期")
    elif ends_on > latest_end(starts_on):
        bag.add("ends_on", "term_too_long", "授权期限不能超过{years}年（最晚至{latest}）",
                years=get_settings().rules.operation_term_years_max, latest=latest_end(starts_on).isoformat())
    if not isinstance(fee_cap_fen, int) or isinstance(fee_cap_fen, bool) or fee_cap_fen < 0:
        bag.add("fee_cap_fen", "invalid", "收费上限应为不小于0的整数（分）")
    bag.raise_if_any()
    assert kind is not None and purpose_text is not None
    now = utcnow()
    auth = Authorization(
        operator_org_id=org.id, region_id=region.id, scope_kind=kind.value, scope=scope_text,
        resources=checked, purpose=purpose_text, conditions=conditions_text, starts_on=starts_on,
        ends_on=ends_on, fee_cap_fen=fee_cap_fen, state=St.ACTIVE.value,
        history=[{"act": N_("授予"), "reason": None, "by": actor.username, "on": now.isoformat()}],
        created_by_id=actor.user_id, created_at=now, updated_at=now,
    )
    session.add(auth)
    session.flush()
    ledger.append(session, actor, "operate.authorization.create", "operate_authorization", auth.id, {
        "operator_org_id": org.id, "region_id": region.id, "scope_kind": kind.value,
        "resources": checked, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
        "fee_cap_fen": fee_cap_fen,
    })
    return auth


# --- suspend, resume, revoke ------------------------------------------------------------------------

# act: (ledger action, states it may start from, state it leads to)
_ACTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "暂停": ("suspend", (St.ACTIVE.value,), St.SUSPENDED.value),
    "恢复": ("resume", (St.SUSPENDED.value,), St.ACTIVE.value),
    "撤销": ("revoke", (St.ACTIVE.value, St.SUSPENDED.value), St.REVOKED.value),
}


def _act(session: Session, actor: Actor, auth_id: int, act: str, reason: str | None,
         day: date | None = None) -> Authorization:
    auth = get_authorization(session, actor, auth_id, for_update=True)
    require(can_manage(session, actor, auth.region_id), "变更运营授权", "authorization_denied")
    bag = ErrorBag()
    reason_text = _text(bag, "reason", reason)
    bag.raise_if_any()
    name, sources, target = _ACTS[act]
    current = effective_state(auth, day)
    # An expired authorization may still be revoked (to record it), never suspended or resumed.
    if auth.state not in sources or (current == St.EXPIRED.value and act != "撤销"):
        raise Conflict("authorization_state", "状态为“{state}”的运营授权不能{action}", state=current, action=act)
    before = auth.state
    auth.state = target
    auth.updated_at = utcnow()
    auth.history = [*auth.history, {"act": act, "reason": reason_text, "by": actor.username,
                                    "on": auth.updated_at.isoformat()}]
    ledger.append(session, actor, f"operate.authorization.{name}", "operate_authorization", auth.id,
                  {"from": before, "to": target})
    return auth


def suspend(session: Session, actor: Actor, auth_id: int, reason: str | None) -> Authorization:
    return _act(session, actor, auth_id, "暂停", reason)


def resume(session: Session, actor: Actor, auth_id: int, reason: str | None) -> Authorization:
    return _act(session, actor, auth_id, "恢复", reason)


def revoke(session: Session, actor: Actor, auth_id: int, reason: str | None) -> Authorization:
    return _act(session, actor, auth_id, "撤销", reason)
