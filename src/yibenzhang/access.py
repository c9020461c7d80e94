"""Who is acting, and what they may do. Checks live here and are called by services only
(DESIGN rule 1): routes, pages, CLI commands and jobs never decide permissions themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import get_security
from .enums import Role
from .errors import PermissionDenied


@dataclass(frozen=True)
class Grant:
    """One role held by the actor: scoped to an org (id) or a region (materialized path)."""

    role: Role
    org_id: int | None = None
    region_path: str | None = None


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    lang: str = "zh"

    # --- constructors
    @classmethod
    def system(cls) -> Actor:
        """The platform itself (ybz init, demo loading, scheduled jobs): a platform admin."""
        return cls(user_id=None, username="system", grants=(Grant(Role.ADMIN),))

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(user_id=None, username="anonymous", grants=(Grant(Role.PUBLIC),))

    # --- facts
    @property
    def is_authenticated(self) -> bool:
        return self.username != "anonymous"

    def has_role(self, role: Role) -> bool:
        return any(g.role == role for g in self.grants)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_platform(self) -> bool:
        """The platform acting on its own (Actor.system()), not a person signed in."""
        return self.user_id is None and self.username == "system" and self.is_admin

    @property
    def is_auditor(self) -> bool:
        return self.has_role(Role.AUDITOR)

    @property
    def is_government(self) -> bool:
        """Anyone acting for a public body or the authority (not the public)."""
        return any(g.role != Role.PUBLIC for g in self.grants)

    def org_ids(self, *roles: Role) -> set[int]:
        return {g.org_id for g in self.grants if g.org_id is not None and (not roles or g.role in roles)}

    def acts_for_org(self, org_id: int, *roles: Role) -> bool:
        return org_id in self.org_ids(*roles)

    def reviews_region(self, region_path: str) -> bool:
        """A reviewer acts within their region and every region below it."""
        return any(
            g.role == Role.REVIEWER and g.region_path and region_path.startswith(g.region_path)
            for g in self.grants
        )

    def reviewer_paths(self) -> list[str]:
        return [g.region_path for g in self.grants if g.role == Role.REVIEWER and g.region_path]


# --- checks used by services -------------------------------------------------------------


def require(condition: bool, action: str, code: str = "permission_denied") -> None:
    if not condition:
        raise PermissionDenied(action, code)


def can_edit_catalogue(actor: Actor, org_id: int) -> bool:
    """Stewards keep their own org's catalogue; the platform admin may act for anyone."""
    return actor.is_admin or actor.acts_for_org(org_id, Role.STEWARD)


def can_review(actor: Actor, region_path: str) -> bool:
    """Only the region's authority reviewer (or one above it) publishes and returns."""
    return actor.is_admin or actor.reviews_region(region_path)


def can_read_all(actor: Actor) -> bool:
    return actor.is_admin or actor.is_auditor


def can_manage_org(actor: Actor, region_path: str) -> bool:
    """Regions, orgs and users are set up by the admin or the region's authority."""
    return actor.is_admin or actor.reviews_region(region_path)


# --- issue 23: separation of duties (三员分立) ----------------------------------------------
# The system administrator runs the platform (settings, users, jobs); the security administrator
# decides who may do what (roles, policies, grading rules, keys, locks); the audit administrator
# reads the ledger and access logs and nothing else. The legacy 平台管理员 holds only the powers
# YBZ_LEGACY_ADMIN_POWERS names (default: the system administrator's), so that no one account
# holds all three; "system,security,audit" restores the old account while an upgrade assigns the
# three roles to three people.


def _legacy(actor: Actor, power: str) -> bool:
    if actor.is_platform:  # the platform itself (ybz init, the demo, jobs) is not a person
        return True
    return actor.is_admin and power in get_security().legacy_admin_powers


def can_administer_system(actor: Actor) -> bool:
    return _legacy(actor, "system") or actor.has_role(Role.SYSTEM_ADMIN)


def can_administer_security(actor: Actor) -> bool:
    return _legacy(actor, "security") or actor.has_role(Role.SECURITY_ADMIN)


def can_read_audit(actor: Actor) -> bool:
    """The ledger and the access logs: the audit administrator (and the auditor role); not the
    system or security administrator, nor the legacy admin unless the setting gives it."""
    return _legacy(actor, "audit") or actor.is_auditor or actor.has_role(Role.AUDIT_ADMIN)
