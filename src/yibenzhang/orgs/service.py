"""Services for regions, organizations, users, roles and API tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, Grant, can_administer_security, can_administer_system, can_manage_org, require
from ..codes import division_level, uscc_errors
from ..config import get_security
from ..crypto import constant_time_equal, sm3_hex
from ..db import utcnow
from ..enums import ADMIN_ROLES, ORG_ROLES, REGION_ROLES, OrgKind, RegionLevel, Role
from ..errors import Conflict, DomainError, ErrorBag, NotFound, Unauthenticated
from ..ledger import service as ledger_service
from .credentials import is_locked, password_errors
from .model import ApiToken, Org, Region, RoleAssignment, User

_hasher = PasswordHasher()


@contextmanager
def light_password_hashing() -> Iterator[None]:
    """Cheap argon2 parameters while creating throwaway accounts in bulk: the demo's users (whose
    passwords are printed in clear anyway) and test worlds. Verification reads the parameters
    stored in each hash, so such logins keep working; real users are always hashed at full cost."""
    global _hasher
    saved = _hasher
    _hasher = PasswordHasher.from_parameters(CHEAPEST)
    try:
        yield
    finally:
        _hasher = saved
TOKEN_PREFIX = "ybz"


def _append(session: Session, actor: Actor, action: str, stype: str, sid: object, content: dict) -> None:
    ledger_service.append(session, actor, action, stype, str(sid), content)


# --- regions -------------------------------------------------------------------------------


def create_region(
    session: Session, actor: Actor, *, code: str, name: str, parent_code: str | None = None
) -> Region:
    bag = ErrorBag()
    level = division_level(code)
    if level is None:
        bag.add("code", "division_code_format", "行政区划代码“{value}”应为6位数字", value=code)
    if not name.strip():
        bag.add("name", "required", "必填项不能为空")
    parent: Region | None = None
    if parent_code:
        parent = get_region_by_code(session, parent_code)
        if level and not _fits_parent(code, level, parent):
            bag.add("code", "division_code_parent", "行政区划代码“{value}”与上级“{parent}”不相符",
                    value=code, parent=parent_code)
    elif level and level != RegionLevel.PROVINCE:
        bag.add("parent_code", "required", "必填项不能为空")
    bag.raise_if_any()
    require(
        actor.is_admin or (parent is not None and can_manage_org(actor, parent.path)),
        "创建地区",
    )
    if session.execute(select(Region.id).where(Region.code == code)).first():
        raise Conflict("region_exists", "与现有数据冲突：{what}", what=code)
    region = Region(code=code, name=name.strip(), level=level, parent_id=parent.id if parent else None,
                    path="")
    session.add(region)
    session.flush()
    region.path = f"{parent.path if parent else '/'}{region.id}/"
    _append(session, actor, "region.create", "region", region.id, {"code": code, "name": name})
    return region


def _fits_parent(code: str, level: str, parent: Region) -> bool:
    """A city sits under its province; a county under its city, or directly under the province
    (省直辖县, e.g. 429004 仙桃)."""
    if level == RegionLevel.CITY:
        return parent.level == RegionLevel.PROVINCE and code[:2] == parent.code[:2]
    if level == RegionLevel.COUNTY:
        if parent.level == RegionLevel.CITY:
            return code[:4] == parent.code[:4]
        return parent.level == RegionLevel.PROVINCE and code[:2] == parent.code[:2]
    return False


def configured_province_prefixes(session: Session) -> frozenset[str]:
    """The 2-digit prefixes of the provinces set up on this platform (validators accept them
    beside GB/T 2260's, so a new or fictional division code is not taken for an error)."""
    codes = session.execute(select(Region.code).where(Region.level == RegionLevel.PROVINCE.value)).scalars()
    return frozenset(c[:2] for c in codes)


def get_region_by_code(session: Session, code: str) -> Region:
    region = session.execute(select(Region).where(Region.code == code)).scalar_one_or_none()
    if region is None:
        raise NotFound(f"地区 {code}", "region_not_found")
    return region


def list_regions(session: Session) -> list[Region]:
    return list(session.execute(select(Region).order_by(Region.code)).scalars())


# --- organizations -------------------------------------------------------------------------


def create_org(
    session: Session, actor: Actor, *, name: str, uscc: str, kind: str, region_code: str,
    sector: str | None = None, duties: str | None = None,
) -> Org:
    bag = ErrorBag()
    if not name.strip():
        bag.add("name", "required", "必填项不能为空")
    bag.errors.extend(uscc_errors(uscc))
    org_kind = OrgKind.parse(kind)
    if org_kind is None:
        bag.add("kind", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=kind,
                allowed="、".join(OrgKind.values()))
    bag.raise_if_any()
    region = get_region_by_code(session, region_code)
    require(can_manage_org(actor, region.path), "创建机构")
    code = uscc.strip().upper()
    if session.execute(select(Org.id).where(Org.uscc == code)).first():
        raise Conflict("org_exists", "与现有数据冲突：{what}", what=code)
    org = Org(name=name.strip(), uscc=code, kind=org_kind.value, region_id=region.id, sector=sector,
              duties=duties)
    session.add(org)
    session.flush()
    _append(session, actor, "org.create", "org", org.id,
            {"name": org.name, "uscc": code, "kind": org.kind, "region": region.code})
    return org


def get_org(session: Session, org_id: int) -> Org:
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound(f"机构 {org_id}", "org_not_found")
    return org


def get_org_by_uscc(session: Session, uscc: str) -> Org:
    org = session.execute(select(Org).where(Org.uscc == uscc.strip().upper())).scalar_one_or_none()
    if org is None:
        raise NotFound(f"机构 {uscc}", "org_not_found")
    return org


def list_orgs(session: Session, region_path: str | None = None) -> list[Org]:
    stmt = select(Org).order_by(Org.id)
    if region_path:
        stmt = stmt.join(Region, Org.region_id == Region.id).where(Region.path.startswith(region_path))
    return list(session.execute(stmt).scalars())


# --- users and roles -----------------------------------------------------------------------


@dataclass(frozen=True)
class RoleSpec:
    role: str
    org_uscc: str | None = None
    region_code: str | None = None


def create_user(
    session: Session, actor: Actor, *, username: str, display_name: str, password: str | None,
    roles: list[RoleSpec],
) -> User:
    require(can_administer_system(actor) or bool(actor.reviewer_paths()), "创建用户")
    bag = ErrorBag()
    username = username.strip()
    if not username:
        bag.add("username", "required", "必填项不能为空")
    if password is not None:
        password_errors(password, bag)
    resolved: list[tuple[Role, Org | None, Region | None]] = []
    for i, spec in enumerate(roles):
        role = Role.parse(spec.role)
        if role is None:
            bag.add(f"roles.{i}.role", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                    value=spec.role, allowed="、".join(Role.values()))
            continue
        org = get_org_by_uscc(session, spec.org_uscc) if spec.org_uscc else None
        region = get_region_by_code(session, spec.region_code) if spec.region_code else None
        if role in ORG_ROLES and org is None:
            bag.add(f"roles.{i}.org", "role_needs_org", "该角色需要指定所属机构")
        if role in REGION_ROLES and region is None:
            bag.add(f"roles.{i}.region", "role_needs_region", "该角色需要指定所辖地区")
        resolved.append((role, org, region))
    duties_combined_errors([r for r, _, _ in resolved], bag)
    bag.raise_if_any()
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict("user_exists", "用户名“{value}”已存在", value=username)
    for role, org, region in resolved:
        _require_may_assign(actor, role, org, region)
    user = User(
        username=username, display_name=display_name.strip() or username,
        password_hash=_hasher.hash(password) if password else None,
    )
    for role, org, region in resolved:
        user.roles.append(RoleAssignment(role=role.value, org_id=org.id if org else None,
                                         region_id=region.id if region else None))
    session.add(user)
    session.flush()
    _append(session, actor, "user.create", "user", user.id,
            {"username": username, "roles": [r.value for r, _, _ in resolved]})
    return user


def duties_combined_errors(roles: list[Role], bag: ErrorBag, field: str = "roles") -> None:
    """三员分立 (issue 23): one person holds at most one administrator role (setting)."""

    held = sorted({r.value for r in roles if r in ADMIN_ROLES})
    if get_security().separation_of_duties and len(held) > 1:
        bag.add(field, "duties_combined", "同一人员不能兼任{roles}（三员分立）", roles="、".join(held))


def _require_may_assign(actor: Actor, role: Role, org: Org | None, region: Region | None) -> None:
    """Roles are the security administrator's (and the legacy admin's); a reviewer gives
    business roles within their region, never an administrator role."""
    scope = region.path if region else (org.region.path if org else None)
    require(can_administer_security(actor)
            or (role not in ADMIN_ROLES and scope is not None and actor.reviews_region(scope)), "分配角色")


def assign_role(session: Session, actor: Actor, username: str, spec: RoleSpec) -> RoleAssignment:
    """Give a user one more role; refused when it would combine two administrator roles."""
    require(can_administer_security(actor) or bool(actor.reviewer_paths()), "分配角色")
    user = get_user_by_name(session, username)
    bag = ErrorBag()
    role = Role.parse(spec.role)
    if role is None:
        bag.add("role", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=spec.role,
                allowed="、".join(Role.values()))
        bag.raise_if_any()
    assert role is not None
    org = get_org_by_uscc(session, spec.org_uscc) if spec.org_uscc else None
    region = get_region_by_code(session, spec.region_code) if spec.region_code else None
    if role in ORG_ROLES and org is None:
        bag.add("org", "role_needs_org", "该角色需要指定所属机构")
    if role in REGION_ROLES and region is None:
        bag.add("region", "role_needs_region", "该角色需要指定所辖地区")
    duties_combined_errors([Role(ra.role) for ra in user.roles] + [role], bag, "role")
    bag.raise_if_any()
    _require_may_assign(actor, role, org, region)
    org_id, region_id = (org.id if org else None), (region.id if region else None)
    if any(ra.role == role.value and ra.org_id == org_id and ra.region_id == region_id for ra in user.roles):
        raise Conflict("role_exists", "与现有数据冲突：{what}", what=role.value)
    ra = RoleAssignment(role=role.value, org_id=org_id, region_id=region_id)
    user.roles.append(ra)
    session.flush()
    _append(session, actor, "user.role_assign", "user", user.id,
            {"role": role.value, "org_id": org_id, "region_id": region_id})
    return ra


def revoke_role(session: Session, actor: Actor, username: str, role_value: str) -> int:
    """Take every assignment of one role from a user; the user's sessions end."""
    # deferred: keeps `ybz --help` light
    from . import sessions

    require(can_administer_security(actor) or bool(actor.reviewer_paths()), "分配角色")
    user = get_user_by_name(session, username)
    role = Role.parse(role_value)
    if role is None:
        raise NotFound(f"角色 {role_value}", "role_not_found")
    gone = [ra for ra in user.roles if ra.role == role.value]
    for ra in gone:
        org = session.get(Org, ra.org_id) if ra.org_id else None
        region = session.get(Region, ra.region_id) if ra.region_id else None
        _require_may_assign(actor, role, org, region)
    if not gone:
        raise NotFound(f"角色 {role_value}", "role_not_found")
    for ra in gone:
        user.roles.remove(ra)
    ended = sessions.end_all(session, user.id)
    _append(session, actor, "user.role_revoke", "user", user.id,
            {"role": role.value, "count": len(gone), "sessions_ended": ended})
    return len(gone)


def set_active(session: Session, actor: Actor, username: str, active: bool) -> User:
    """The system administrator enables or disables an account; disabling ends its sessions."""
    # deferred: keeps `ybz --help` light
    from . import sessions

    require(can_administer_system(actor), "启用或停用用户")
    user = get_user_by_name(session, username)
    user.is_active = active
    ended = 0 if active else sessions.end_all(session, user.id)
    _append(session, actor, "user.enable" if active else "user.disable", "user", user.id,
            {"sessions_ended": ended})
    return user


def get_user_by_name(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"用户 {username}", "user_not_found")
    return user


def first_user_with(session: Session, role: Role, *, org_id: int | None = None,
                    region_id: int | None = None) -> User | None:
    """The earliest user holding `role` (in the org or region, when given): the demo's cast."""
    query = select(User).join(RoleAssignment).where(RoleAssignment.role == role.value).order_by(User.id)
    if org_id is not None:
        query = query.where(RoleAssignment.org_id == org_id)
    if region_id is not None:
        query = query.where(RoleAssignment.region_id == region_id)
    return session.scalars(query).first()


def actor_for(session: Session, user: User, lang: str = "zh") -> Actor:
    """The Actor of a signed-in user, with each role's scope resolved."""
    grants: list[Grant] = []
    for ra in user.roles:
        region_path = None
        if ra.region_id is not None:
            region = session.get(Region, ra.region_id)
            region_path = region.path if region else None
        grants.append(Grant(Role(ra.role), ra.org_id, region_path))
    return Actor(user_id=user.id, username=user.username, grants=tuple(grants), lang=lang)


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    ok = False
    if user is not None and user.is_active and user.password_hash:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Spend the same effort for unknown users so timing does not reveal who exists.
        with suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password)
    if not ok or user is None:
        raise Unauthenticated("bad_credentials", "用户名或密码错误")
    return user


_DUMMY_HASH = _hasher.hash("not-a-real-password")


# --- API tokens ----------------------------------------------------------------------------


def create_token(
    session: Session, actor: Actor, *, username: str, name: str = "api", days: int | None = 365
) -> tuple[ApiToken, str]:
    """A new bearer token; the plain value is returned once and never stored."""
    user = get_user_by_name(session, username)
    require(actor.is_admin or actor.user_id == user.id, "创建令牌")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=prefix, secret_digest=sm3_hex(secret.encode()),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    _append(session, actor, "token.create", "user", user.id, {"token_id": token.id, "name": name})
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def revoke_token(session: Session, actor: Actor, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"令牌 {token_id}", "token_not_found")
    require(actor.is_admin or actor.user_id == token.user_id, "吊销令牌")
    token.revoked_at = utcnow()
    _append(session, actor, "token.revoke", "user", token.user_id, {"token_id": token.id})


def user_for_token(session: Session, raw: str, now: datetime | None = None) -> User:
    """Resolve a bearer token (SM3 digests compared in constant time; tokens are high-entropy)."""
    bad = Unauthenticated("bad_token", "令牌无效、已过期或已吊销")
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise bad
    token = session.execute(select(ApiToken).where(ApiToken.prefix == parts[1])).scalar_one_or_none()
    now = now or utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        or not constant_time_equal(token.secret_digest, sm3_hex(parts[2].encode()))
    ):
        raise bad
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise bad
    if is_locked(session, user):  # a locked account is locked on every path (issue 23)
        raise bad
    return user


__all__ = [
    "DomainError",
    "RoleSpec",
    "actor_for",
    "assign_role",
    "authenticate",
    "create_org",
    "create_region",
    "create_token",
    "create_user",
    "get_org",
    "get_org_by_uscc",
    "get_region_by_code",
    "get_user_by_name",
    "list_orgs",
    "list_regions",
    "revoke_role",
    "revoke_token",
    "set_active",
    "user_for_token",
]
