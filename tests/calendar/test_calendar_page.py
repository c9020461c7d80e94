"""The /console/calendar page without a browser: what each role sees and the forms it posts."""

from __future__ import annotations

from tests.web.conftest import csrf_of
from yibenzhang import workdays
from yibenzhang.assess import calendar as cal


def test_steward_records_people_and_sees_own_calendar(client, world, signed_in):
    signed_in("police_steward")
    page = client.get("/console/calendar")
    assert page.status_code == 200 and 'id="people-form"' in page.text
    assert 'id="audit-form"' not in page.text and 'id="firm-form"' not in page.text
    r = client.post("/console/calendar/people", data={"org_id": world.orgs["police"].id, "people": "1000001",
                                                      "as_of": "", "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/console/calendar")
    assert "1,000,001" in page.text and world.orgs["market"].name not in page.text
    assert "个人信息合规审计" in page.text
    en = client.get("/console/calendar?lang=en")
    assert "Compliance calendar" in en.text and "Personal-information compliance audit" in en.text


def test_reviewer_orders_extends_and_completes_an_audit(client, world, signed_in):
    csrf = signed_in("reviewer")
    police = world.orgs["police"].id
    assert client.post("/console/calendar/firms", data={"name": "云岭合规审计事务所", "csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    r = client.post("/console/calendar/audits", data={"org_id": police, "kind": "ordered", "ordered_on": "2025-09-01",
                                                      "basis": "责令整改", "firm_id": "", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    with world.db.read() as s:
        audit = cal.audit_dict(s, cal.list_audits(s, world.actor("reviewer"))[0])
    aid = audit["id"]
    page = client.get("/console/calendar")
    assert f'id="audit-{aid}"' in page.text and audit["due_on"] in page.text
    r = client.post(f"/console/calendar/audits/{aid}/extend",
                    data={"due_on": "2026-06-30", "approver": "省网信办", "reason": "系统迁移", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "省网信办" in client.get("/console/calendar").text
    r = client.post(f"/console/calendar/audits/{aid}/complete",
                    data={"completed_on": workdays.today().isoformat(), "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    with world.db.read() as s:
        assert cal.get_audit(s, world.actor("reviewer"), audit["id"]).state == "已完成"
    # A wrong extension shows the error, not a server error.
    bad = client.post(f"/console/calendar/audits/{aid}/extend",
                      data={"due_on": "2026-07-30", "approver": "x", "reason": "y", "csrf_token": csrf})
    assert bad.status_code == 409


def test_public_user_is_refused(client, signed_in):
    signed_in("citizen")
    assert client.get("/console/calendar").status_code == 403
