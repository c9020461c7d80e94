"""Regions, organizations (GB 32100 codes), users, roles, tokens, and the actor's scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stdnum.cn import uscc as stdnum_uscc

from tests.factories import PASSWORD
from yibenzhang.access import Actor, can_review
from yibenzhang.codes import is_valid_uscc, make_uscc, uscc_errors
from yibenzhang.db import utcnow
from yibenzhang.errors import Conflict, PermissionDenied, Unauthenticated, ValidationFailed
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.model import ApiToken, User

SYSTEM = Actor.system()


# --- 统一社会信用代码 ----------------------------------------------------------------------------


def test_uscc_check_character_gb32100():
    assert is_valid_uscc("91110000600037341L")  # a published code
    assert uscc_errors("91110000600037341M")[0].code == "uscc_check"
    assert uscc_errors("91110000600037341M")[0].params["expected"] == "L"
    assert uscc_errors("91110000600037341")[0].code == "uscc_length"
    assert uscc_errors("9111000060003734IL")[0].code == "uscc_format"  # I is not in the alphabet
    assert uscc_errors("91AB0000600037341L")[0].code == "uscc_format"  # positions 3-8 are the region
    assert is_valid_uscc("91110000600037341l")  # case-insensitive


@pytest.mark.parametrize("first_two", ["A1", "N2", "Y1", "51", "11", "12"])
def test_letter_registration_authorities_are_accepted(first_two):
    code = make_uscc(f"{first_two}990000MA12345678"[:17])
    assert is_valid_uscc(code)


def test_stdnum_alone_would_reject_letter_prefixes():
    """Why codes.py wraps python-stdnum: GB 32100 allows A/N/Y in front, stdnum does not."""
    code = make_uscc("N2990000MA1234567")
    assert not stdnum_uscc.is_valid(code)
    assert is_valid_uscc(code)


# --- regions and orgs -----------------------------------------------------------------------


def test_region_tree_follows_division_codes(db):
    with db.write() as s:
        orgs.create_region(s, SYSTEM, code="980000", name="测试省")
        orgs.create_region(s, SYSTEM, code="980100", name="甲市", parent_code="980000")
        orgs.create_region(s, SYSTEM, code="980102", name="乙区", parent_code="980100")
        county = orgs.create_region(s, SYSTEM, code="989001", name="省直辖县", parent_code="980000")
        assert county.level == "县"
    for code, parent, expected in [
        ("970100", "980000", "division_code_parent"),   # city of another province
        ("980201", "980100", "division_code_parent"),   # county of another city
        ("98010", "980000", "division_code_format"),
        ("980300", None, "required"),                    # a city needs its province
    ]:
        with pytest.raises(ValidationFailed) as info, db.write() as s:
            orgs.create_region(s, SYSTEM, code=code, name="x", parent_code=parent)
        assert {e.code for e in info.value.errors} == {expected}, code


def test_org_validation_and_uniqueness(world):
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:
        orgs.create_org(s, SYSTEM, name="", uscc="91110000600037341M", kind="合作社", region_code="990000")
    assert {e.field: e.code for e in info.value.errors} == {
        "name": "required", "uscc": "uscc_check", "kind": "unknown_value"}
    with pytest.raises(Conflict), world.db.write() as s:
        orgs.create_org(s, SYSTEM, name="重复", uscc=world.orgs["police"].uscc, kind="政府部门",
                        region_code="990000")


def test_a_reviewer_sets_up_orgs_only_in_their_region(world):
    with world.db.write() as s:
        orgs.create_org(s, world.actor("city_reviewer"), name="安宁县教育局", uscc=make_uscc("11990101MB0000099"),
                        kind="政府部门", region_code="990101")
    with pytest.raises(PermissionDenied), world.db.write() as s:
        orgs.create_org(s, world.actor("city_reviewer"), name="宜良县教育局", uscc=make_uscc("11990201MB0000098"),
                        kind="政府部门", region_code="990201")
    with pytest.raises(PermissionDenied), world.db.write() as s:
        orgs.create_org(s, world.actor("police_steward"), name="x", uscc=make_uscc("11990101MB0000097"),
                        kind="政府部门", region_code="990101")


def test_reviewer_scope_is_their_region_and_below(world):
    with world.db.read() as s:
        regions = {r.code: r.path for r in orgs.list_regions(s)}
    city = world.actor("city_reviewer")
    assert can_review(city, regions["990100"]) and can_review(city, regions["990101"])
    assert not can_review(city, regions["990000"]) and not can_review(city, regions["990200"])
    assert can_review(world.actor("reviewer"), regions["990201"])


# --- users, passwords, roles ----------------------------------------------------------------


def test_passwords_are_stored_as_argon2_hashes(world):
    with world.db.read() as s:
        user = orgs.get_user_by_name(s, "police_steward")
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert orgs.authenticate(s, "police_steward", PASSWORD).id == user.id
        for name, pw in [("police_steward", "wrong-password"), ("nobody", PASSWORD)]:
            with pytest.raises(Unauthenticated) as info:
                orgs.authenticate(s, name, pw)
            assert info.value.code == "bad_credentials"  # same answer: no user enumeration


def test_role_scopes_and_password_rules(world):
    cases = [
        (dict(password="Sh0rt!", roles=[orgs.RoleSpec("数据专员", world.orgs["police"].uscc)]), "password_too_short"),
        (dict(password=PASSWORD, roles=[orgs.RoleSpec("数据专员")]), "role_needs_org"),
        (dict(password=PASSWORD, roles=[orgs.RoleSpec("主管部门审核员")]), "role_needs_region"),
        (dict(password=PASSWORD, roles=[orgs.RoleSpec("超级用户")]), "unknown_value"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ValidationFailed) as info, world.db.write() as s:
            orgs.create_user(s, SYSTEM, username="newbie", display_name="", **kwargs)
        assert [e.code for e in info.value.errors] == [code]
    with pytest.raises(Conflict), world.db.write() as s:
        orgs.create_user(s, SYSTEM, username="admin", display_name="", password=PASSWORD, roles=[])


def test_a_reviewer_cannot_create_admins_or_users_outside_their_region(world):
    city = world.actor("city_reviewer")
    with world.db.write() as s:
        orgs.create_user(s, city, username="new_steward", display_name="", password=PASSWORD,
                         roles=[orgs.RoleSpec("数据专员", world.orgs["county_civil"].uscc)])
    for spec in (orgs.RoleSpec("平台管理员"), orgs.RoleSpec("数据专员", world.orgs["other_city_org"].uscc)):
        with pytest.raises(PermissionDenied), world.db.write() as s:
            orgs.create_user(s, city, username="x_user", display_name="", password=PASSWORD, roles=[spec])
    with pytest.raises(PermissionDenied), world.db.write() as s:
        orgs.create_user(s, world.actor("police_steward"), username="y", display_name="", password=PASSWORD,
                         roles=[])


# --- API tokens -----------------------------------------------------------------------------


def test_tokens_are_shown_once_and_stored_as_digests(world):
    with world.db.write() as s:
        token, value = orgs.create_token(s, SYSTEM, username="consumer")
        assert value.startswith("ybz_") and value.split("_", 2)[2] not in token.secret_digest
    with world.db.read() as s:
        assert orgs.user_for_token(s, value).username == "consumer"
        for bad in (value[:-1] + ("A" if value[-1] != "A" else "B"), "ybz_nope_nope", "Bearer", ""):
            with pytest.raises(Unauthenticated):
                orgs.user_for_token(s, bad)


def test_expired_and_revoked_tokens_are_refused(world):
    with world.db.write() as s:
        token, value = orgs.create_token(s, SYSTEM, username="consumer", days=1)
    with world.db.read() as s:
        orgs.user_for_token(s, value, now=utcnow() + timedelta(hours=23))
        with pytest.raises(Unauthenticated):
            orgs.user_for_token(s, value, now=utcnow() + timedelta(days=1, seconds=1))
    with pytest.raises(PermissionDenied), world.db.write() as s:
        orgs.revoke_token(s, world.actor("citizen"), token.id)  # not theirs
    with world.db.write() as s:
        orgs.revoke_token(s, world.actor("consumer"), token.id)
    with pytest.raises(Unauthenticated), world.db.read() as s:
        orgs.user_for_token(s, value)
    with world.db.read() as s:
        assert s.get(ApiToken, token.id).revoked_at is not None


def test_a_disabled_user_loses_token_access(world):
    with world.db.write() as s:
        _, value = orgs.create_token(s, SYSTEM, username="consumer")
        s.get(User, world.users["consumer"]).is_active = False
    with pytest.raises(Unauthenticated), world.db.read() as s:
        orgs.user_for_token(s, value)
