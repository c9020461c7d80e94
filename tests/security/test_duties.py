"""三员分立 (GB/T 22239-2019 8.1.4.2 访问控制 d, 8.1.5 安全管理中心): the system, security and
audit administrators each hold only their own powers, and no person holds two of the roles."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.factories import PASSWORD
from yibenzhang.access import Actor
from yibenzhang.enums import ADMIN_ROLES, Role
from yibenzhang.errors import PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec

ADMINS = {"sysadm": Role.SYSTEM_ADMIN, "secadm": Role.SECURITY_ADMIN, "audadm": Role.AUDIT_ADMIN}


@pytest.fixture
def admins(world):
    with world.db.write() as s:
        for name, role in ADMINS.items():
            orgs.create_user(s, Actor.system(), username=name, display_name=name, password=PASSWORD,
                             roles=[RoleSpec(role.value)])
    return {name: world.headers(name) for name in ADMINS}


def _endpoints(world) -> list[tuple[str, str, str, dict | None, Role]]:
    police = world.orgs["police"].uscc
    # (name, method, path, json body, the one administrator role that may)
    return [
        ("create user", "POST", "/api/v1/users", {"username": "new_{who}", "password": PASSWORD}, Role.SYSTEM_ADMIN),
        ("disable user", "POST", "/api/v1/users/citizen/active", {"active": False}, Role.SYSTEM_ADMIN),
        ("assign role", "POST", "/api/v1/users/consumer/roles", {"role": "数据专员", "org_uscc": police},
         Role.SECURITY_ADMIN),
        ("revoke role", "DELETE", "/api/v1/users/market_steward/roles/数据专员", None, Role.SECURITY_ADMIN),
        ("unlock", "POST", "/api/v1/users/police_steward/unlock", None, Role.SECURITY_ADMIN),
        ("reset 2fa", "POST", "/api/v1/users/police_steward/mfa/reset", None, Role.SECURITY_ADMIN),
        ("rotate data keys", "POST", "/api/v1/security/keys/rotate", None, Role.SECURITY_ADMIN),
        ("export audit", "GET", "/api/v1/audit/events", None, Role.AUDIT_ADMIN),
        ("export access log", "GET", "/api/v1/audit/access-log", None, Role.AUDIT_ADMIN),
        ("list SSO identities", "GET", "/api/v1/sso/identities", None, Role.SECURITY_ADMIN),
        ("verify ledger", "GET", "/api/v1/ledger/verify", None, Role.AUDIT_ADMIN),
    ]


def test_each_administrator_is_refused_the_others_powers(client, world, admins):
    matrix = {}
    for name, method, path, body, allowed in _endpoints(world):
        for who, role in ADMINS.items():
            payload = {k: (v.format(who=who) if isinstance(v, str) else v) for k, v in (body or {}).items()}
            r = client.request(method, path, headers=admins[who], json=payload if body is not None else None)
            matrix[(name, role.name)] = r.status_code
            if role == allowed:
                assert r.status_code < 300, (name, who, r.text)
            else:
                assert r.status_code == 403, (name, who, r.text)
                assert r.json()["code"] in ("permission_denied", "audit_denied")
    assert len(matrix) == len(_endpoints(world)) * 3


def test_the_system_administrator_cannot_give_roles_when_creating_users(world, admins):
    sysadm = _actor(world, "sysadm")
    with pytest.raises(PermissionDenied), world.db.write() as s:
        orgs.create_user(s, sysadm, username="x1", display_name="", password=PASSWORD,
                         roles=[RoleSpec("数据专员", world.orgs["police"].uscc)])


def _actor(world, username: str) -> Actor:
    with world.db.read() as s:
        return orgs.actor_for(s, orgs.get_user_by_name(s, username))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.sampled_from(sorted(combinations(sorted(ADMIN_ROLES), 2))), n=st.integers(0, 10**6))
def test_no_two_administrator_roles_on_one_person(world, pair, n):
    system = Actor.system()
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:  # at creation
        orgs.create_user(s, system, username=f"both{n}", display_name="", password=PASSWORD,
                         roles=[RoleSpec(r.value) for r in pair])
    assert [e.code for e in info.value.errors] == ["duties_combined"]
    with world.db.write() as s:
        orgs.create_user(s, system, username=f"one{n}", display_name="", password=PASSWORD,
                         roles=[RoleSpec(pair[0].value)])
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:  # or by a later assignment
        orgs.assign_role(s, system, f"one{n}", RoleSpec(pair[1].value))
    assert [e.code for e in info.value.errors] == ["duties_combined"]
    with world.db.write() as s:
        s.delete(orgs.get_user_by_name(s, f"one{n}"))


def test_the_audit_export_is_itself_in_the_ledger(client, world, admins):
    r = client.get("/api/v1/audit/events", headers=admins["audadm"], params={"action": "user."})
    assert r.status_code == 200 and r.json() and all(e["action"].startswith("user.") for e in r.json())
    with world.db.read() as s:
        last = s.execute(select(LedgerEvent).order_by(LedgerEvent.seq.desc()).limit(1)).scalar_one()
        assert (last.action, last.actor) == ("ledger.export", "audadm")


def test_jobs_are_the_system_administrators_not_the_others(client, world, admins):
    from yibenzhang import jobs

    with world.db.write() as s:
        job_id = jobs.enqueue(s, Actor.system(), "test.ok", {}, org_id=world.orgs["police"].id).id
    assert client.get(f"/api/v1/jobs/{job_id}", headers=admins["sysadm"]).status_code == 200
    assert job_id in [j["id"] for j in client.get("/api/v1/jobs", headers=admins["sysadm"]).json()]
    for who in ("secadm", "audadm"):
        assert client.get(f"/api/v1/jobs/{job_id}", headers=admins[who]).status_code == 404
        assert client.get("/api/v1/jobs", headers=admins[who]).json() == []


def test_the_legacy_platform_admin_holds_only_the_system_administrators_powers(client, world, monkeypatch):
    """No one account holds all three powers: 平台管理员 keeps what YBZ_LEGACY_ADMIN_POWERS names
    (default: system); naming all three restores it for an upgrade, and an unknown power is refused."""
    from yibenzhang.config import reset_settings

    admin = world.headers("admin")
    for name, method, path, body, allowed in _endpoints(world):
        payload = {k: (v.format(who="legacy") if isinstance(v, str) else v) for k, v in (body or {}).items()}
        r = client.request(method, path, headers=admin, json=payload if body is not None else None)
        if allowed == Role.SYSTEM_ADMIN or name == "verify ledger":
            # Checking the chain's integrity shows counts, not events: every reader of the whole
            # catalogue may (can_read_all); exporting the events is the audit administrator's.
            assert r.status_code < 300, (name, r.text)
        else:
            assert r.status_code == 403, (name, r.text)
    monkeypatch.setenv("YBZ_LEGACY_ADMIN_POWERS", "system,security,audit")
    reset_settings()
    assert client.get("/api/v1/audit/events", headers=admin).status_code == 200
    assert client.post("/api/v1/users/police_steward/unlock", headers=admin).status_code < 300
    monkeypatch.setenv("YBZ_LEGACY_ADMIN_POWERS", "everything")
    reset_settings()
    with pytest.raises(ValueError, match="YBZ_LEGACY_ADMIN_POWERS"):
        from yibenzhang.config import get_security

        get_security()
