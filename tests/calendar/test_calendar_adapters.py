"""The calendar over HTTP (/api/v1/calendar), the `ybz calendar` command, the exports and the
daily reminder job."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from openpyxl import load_workbook
from typer.testing import CliRunner

from yibenzhang import jobs, workdays
from yibenzhang.assess import calendar as cal
from yibenzhang.assess.calendar_export import to_ics
from yibenzhang.cli import app

runner = CliRunner()


def ybz(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_http_flow_people_firms_audits_and_export(client, world):
    police = world.orgs["police"].id
    steward, reviewer = world.headers("police_steward"), world.headers("reviewer")
    r = client.post("/api/v1/calendar/people", json={"org_id": police, "people": 1_000_001}, headers=steward)
    assert r.status_code == 201 and r.json()["interval_years"] == 1
    r = client.post("/api/v1/calendar/people", json={"org_id": police, "people": -5}, headers=steward)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "people_invalid"
    firm = client.post("/api/v1/calendar/firms", json={"name": "云岭合规审计事务所"}, headers=reviewer).json()
    assert client.post("/api/v1/calendar/firms", json={"name": "x"}, headers=steward).status_code == 403
    ids = []
    for _ in range(3):
        r = client.post("/api/v1/calendar/audits", json={"org_id": police, "kind": "ordered",
                                                         "ordered_on": "2025-09-01", "basis": "责令",
                                                         "firm_id": firm["id"]}, headers=reviewer)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert r.json()["due_on"] == r.json()["original_due_on"]
    r = client.post("/api/v1/calendar/audits", json={"org_id": police, "kind": "ordered", "ordered_on": "2025-09-01",
                                                     "basis": "责令", "firm_id": firm["id"]}, headers=reviewer)
    assert r.status_code == 409 and r.json()["code"] == "audit_firm_consecutive"
    assert "in a row" in r.json()["detail_en"]
    r = client.post(f"/api/v1/calendar/audits/{ids[0]}/extend",
                    json={"due_on": "2026-03-31", "approver": "省网信办", "reason": "系统迁移"}, headers=reviewer)
    assert r.status_code == 200 and r.json()["due_on"] == "2026-03-31" and len(r.json()["extensions"]) == 1
    r = client.post(f"/api/v1/calendar/audits/{ids[0]}/complete", json={}, headers=steward)
    assert r.status_code == 403
    listed = client.get("/api/v1/calendar", headers=steward).json()
    assert {i["org_id"] for i in listed["items"]} == {police}
    assert any(i["key"] == f"audit:{ids[0]}" and i["due_on"] == "2026-03-31" for i in listed["items"])
    handlers = client.get("/api/v1/calendar/handlers", headers=reviewer).json()["items"]
    assert [(h["org_id"], h["people"], h["interval_years"]) for h in handlers] == [(police, 1_000_001, 1)]
    assert client.get("/api/v1/calendar", headers=world.headers("citizen")).status_code == 403
    assert client.get("/api/v1/calendar").status_code == 401
    ics = client.get("/api/v1/calendar/export?format=ics", headers=steward)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.startswith("BEGIN:VCALENDAR\r\n") and "DTSTART;VALUE=DATE:20260331" in ics.text
    xlsx = client.get("/api/v1/calendar/export?format=xlsx", headers=steward)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(1, 1).value == "编号" and sheet.max_row == len(listed["items"]) + 1
    csv = client.get("/api/v1/calendar/export?format=csv&lang=en", headers=steward)
    assert csv.status_code == 200 and "Due date" in csv.content.decode("utf-8-sig").splitlines()[0]
    bad = client.get("/api/v1/calendar/export?format=pdf", headers=steward)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"


def test_ics_is_rfc5545_text():
    rows = [{"key": "audit:1", "kind": "责令合规审计", "org_name": "云岭省公安厅, 第一分局; 测试" * 3,
             "due_on": "2026-01-15", "status": "未到期", "done_on": None, "days_left": 40}]
    text = to_ics(rows)
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "\\, 第一分局\\; 测试" in unfolded and "DTEND;VALUE=DATE:20260116" in unfolded
    assert "TRIGGER;RELATED=START:-P30D" in unfolded and "UID:audit-1-20260115@yibenzhang" in unfolded


def test_ics_text_values_with_line_breaks_stay_one_value():
    """A carriage return or line break inside an organisation's name (pasted from a document)
    cannot start a property of its own: it is escaped, and a reader gets the name back."""
    from icalendar import Calendar

    name = "云岭省公安厅\r\nATTENDEE:mailto:x@example.org\r\n第一分局"
    rows = [{"key": "audit:2", "kind": "责令合规审计", "org_name": name, "due_on": "2026-01-15",
             "status": "未到期", "done_on": None, "days_left": 40}]
    text = to_ics(rows)
    assert "\r\nATTENDEE" not in text
    event = Calendar.from_ical(text).walk("VEVENT")[0]
    # The line breaks come back as line breaks (CRLF as LF, RFC 5545 §3.3.11 has only \\n).
    assert "ATTENDEE" not in event and str(event["SUMMARY"]).endswith(name.replace("\r\n", "\n"))


def test_cli_list_export_and_errors(world, tmp_path):
    police = str(world.orgs["police"].id)
    r = ybz("calendar", "people", police, "2000000", "--as", "police_steward", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["interval_years"] == 1
    r = ybz("calendar", "audit", police, "--kind", "ordered", "--ordered-on", "2025-09-01", "--basis", "责令",
            "--as", "reviewer", "--json")
    assert r.exit_code == 0, r.output
    r = ybz("calendar", "history", police, "--as", "police_steward", "--json")
    assert [h["people"] for h in json.loads(r.output)] == [2_000_000]
    r = ybz("calendar", "list", "--as", "police_steward", "--json")
    items = json.loads(r.output)["items"]
    assert {i["kind"] for i in items} >= {"责令合规审计", "个人信息合规审计"}
    out = tmp_path / "cal.ics"
    r = ybz("calendar", "export", "--format", "ics", "-o", str(out), "--json")
    assert r.exit_code == 0 and out.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")
    r = ybz("calendar", "audit", police, "--kind", "sometimes", "--as", "reviewer")
    assert r.exit_code == 2 and "unknown_value" in r.output
    r = ybz("calendar", "firm", "某所", "--as", "police_steward")
    assert r.exit_code == 2 and "calendar_manage_denied" in r.output


def test_daily_job_makes_reminders(world):
    with world.db.write() as s:
        audit = cal.order_audit(s, world.actor("reviewer"), world.orgs["police"].id,
                                workdays.today() - timedelta(days=150), "依据")
        due = audit.due_on
    assert 0 <= (due - workdays.today()).days <= 30 or due < workdays.today()
    jobs.load_handlers()
    with world.db.write() as s:
        jobs.enqueue(s, jobs.Actor.system(), "calendar.reminders", {})
    jobs.Worker(world.db, run_tickers=False, kinds=("calendar.reminders",)).run(once=True)
    with world.db.read() as s:
        keys = {r.duty_key for r in cal.list_reminders(s, world.actor("reviewer"))}
    assert f"audit:{audit.id}" in keys


def test_demo_load_is_deterministic_and_consistent(world):
    from yibenzhang.assess import calendar_demo
    from yibenzhang.ledger import service as ledger

    out = calendar_demo.load(world.db, 2026)
    assert out["calendar_handlers"] >= 3 and out["calendar_firms"] == 3
    assert calendar_demo.load(world.db, 2026) == {}  # runs once
    with world.db.read() as s:
        handlers = cal.handlers(s, world.actor("admin"))
        assert any(h["people"] == 1_000_000 and h["interval_years"] == 2 for h in handlers)
        assert any(a.extensions for a in cal.list_audits(s, world.actor("admin")))
        assert ledger.verify(s).ok


def test_bad_input_is_a_clear_422_never_a_server_error(client, world):
    reviewer, police = world.headers("reviewer"), world.orgs["police"].id
    cases = [
        ("/api/v1/calendar/people", {"org_id": police, "people": 10**12}, "people_invalid"),
        ("/api/v1/calendar/firms", {"name": "所" * 300}, "too_long"),
        ("/api/v1/calendar/firms", {"name": "某所", "uscc": "123"}, None),
        ("/api/v1/calendar/audits", {"org_id": police, "kind": "ordered", "ordered_on": "1900-01-01", "basis": "x"},
         "date_out_of_range"),
        ("/api/v1/calendar/audits", {"org_id": police, "kind": "ordered", "ordered_on": "2025-01-01", "basis": ""},
         "required"),
        ("/api/v1/calendar/audits", {"org_id": police, "kind": "routine"}, "not_a_handler"),
    ]
    for url, body, code in cases:
        r = client.post(url, json=body, headers=reviewer)
        assert r.status_code in (409, 422), (url, r.status_code, r.text)
        if code:
            found = [e["code"] for e in r.json().get("errors", [])] + [r.json()["code"]]
            assert code in found, r.json()
    r = client.get("/api/v1/calendar?from=0001-01-01&to=9999-12-31", headers=reviewer)
    assert r.status_code == 200
    r = client.get("/api/v1/calendar?from=yesterday", headers=reviewer)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_date"
    assert client.get("/api/v1/calendar?kind=nonsense", headers=reviewer).status_code == 422
