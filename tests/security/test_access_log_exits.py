"""Issue 23's acceptance for the access log: a read of personal data through each exit — share
rows, share delivery, console preview, open download and rows, sandbox release — is an entry with
who, resource, items and row count; no value read is stored anywhere in the log; the audit
administrator exports it (API and CLI), the system administrator is refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from tests.factories import PASSWORD
from tests.open.conftest import opendata  # noqa: F401  (fixture)
from tests.operate.conftest import op  # noqa: F401  (fixture)
from tests.share.test_grants import ROWS as SHARE_ROWS
from tests.share.test_grants import issue, share_fixture  # noqa: F401  (the `share` fixture)
from yibenzhang.access import Actor
from yibenzhang.errors import PermissionDenied, ValidationFailed
from yibenzhang.ledger import access_log
from yibenzhang.ledger import service as ledger
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec
from yibenzhang.share import grants as G


def _admin(world, name: str, role: str) -> Actor:
    with world.db.write() as s:
        user = orgs.create_user(s, Actor.system(), username=name, display_name=name, password=PASSWORD,
                                roles=[RoleSpec(role)])
        world.actors[name] = orgs.actor_for(s, user)
        return world.actors[name]


def _export(world) -> list[dict]:
    access_log.flush_pending()
    with world.db.write() as s:
        return access_log.entries(s, _admin(world, f"aud{len(world.actors)}", "审计管理员"))


def _stored_log(world) -> str:
    """Everything the log keeps, as stored: the ledger's events and the per-call usage rows."""
    G.USAGE.flush(world.db)
    with world.db.read() as s:
        events = s.execute(text("SELECT actor, action, subject_id, content FROM ledger_events")).all()
        usage = s.execute(text("SELECT actor, kind, filters, items, rows, outcome FROM share_usage")).all()
    return json.dumps([list(map(str, r)) for r in [*events, *usage]], ensure_ascii=False)


def _values(rows: list[dict], *items: str) -> set[str]:
    return {str(r[i]) for r in rows for i in items if r.get(i) not in (None, "")}


def _assert_no_values(world, read: set[str]) -> None:
    assert read
    stored = _stored_log(world)
    leaked = sorted(v for v in read if v in stored)
    assert not leaked, leaked


def test_share_rows_and_delivery_are_in_the_log_without_values(client, share):
    from yibenzhang.jobs import Worker

    w = share.world
    h = w.headers("consumer")
    gid = issue(share, items=["姓名", "公民身份号码", "行政区划代码"])
    got = client.get(f"/api/v1/grants/{gid}/rows", params={"limit": 4}, headers=h)
    assert got.status_code == 200, got.text
    read_rows = got.json()["rows"]
    assert len(read_rows) == 4
    fid = issue(share, mode="文件", items=["姓名", "宗教信仰"])
    did = client.post(f"/api/v1/grants/{fid}/deliveries", json={"format": "csv"}, headers=h).json()["id"]
    Worker(w.db, run_tickers=False).run(once=True)
    file = client.get(f"/api/v1/deliveries/{did}/download", headers=h)
    assert file.status_code == 200

    log = _export(w)
    rows_entry = next(e for e in log if e["exit"] == "share.rows")
    assert rows_entry["actor"] == "consumer" and rows_entry["resource_id"] == share.rid
    assert rows_entry["items"] == got.json()["items"] and rows_entry["rows"] == 4
    delivery = next(e for e in log if e["exit"] == "share.delivery")
    assert delivery["items"] == ["姓名", "宗教信仰"] and delivery["rows"] == 6 and delivery["actor"] == "consumer"
    assert not any(e["exit"] == "share.delivery" and e["rows"] == 0 for e in log)  # the request read nothing
    _assert_no_values(w, _values(read_rows, "姓名", "公民身份号码") | set(SHARE_ROWS["姓名"])
                      | set(SHARE_ROWS["公民身份号码"]))


def test_the_usage_rows_are_chained_to_the_ledger_by_their_digest(client, share):
    w = share.world
    gid = issue(share, items=["姓名"])
    for _ in range(3):
        assert client.get(f"/api/v1/grants/{gid}/rows", headers=w.headers("consumer")).status_code == 200
    G.USAGE.flush(w.db)
    with w.db.write() as s:  # the background flusher may have split the calls over several summaries
        summaries = [json.loads(c) for c in s.execute(select(ledger.LedgerEvent.content).where(
            ledger.LedgerEvent.action == "share.usage")).scalars()]
        uses = {u.id: u for u in s.execute(select(G.GrantUsage).where(G.GrantUsage.grant_id == gid)).scalars()}
        assert sum(x["calls"] for x in summaries) == len(uses) == 3
        for x in summaries:
            lo, hi = x["usage_ids"]
            part = [(i, u) for i, u in uses.items() if lo <= i <= hi]
            assert x["records_sm3"] == G.usage_digest(part)
        first = summaries[0]
        uses[first["usage_ids"][0]].rows = 0  # an edited record no longer matches its sealed summary
        part = [(i, u) for i, u in uses.items() if first["usage_ids"][0] <= i <= first["usage_ids"][1]]
        assert first["records_sm3"] != G.usage_digest(part)
        s.rollback()


def test_open_download_and_rows_are_in_the_log_without_values(client, opendata):  # noqa: F811
    w = opendata.world
    got = client.get(f"/open/datasets/{opendata.free}/download.csv")
    assert got.status_code == 200
    page = client.get(f"/api/v1/open/datasets/{opendata.free}/rows", params={"limit": 3})
    assert page.status_code == 200, page.text
    log = [e for e in _export(w) if e["exit"] in ("open.download", "open.rows")]
    download = next(e for e in log if e["exit"] == "open.download")
    assert download["actor"] == "anonymous" and download["resource_id"] == opendata.free and download["rows"] == 6
    assert "出生日期" in download["items"] and "公民身份号码" not in download["items"]
    rows = next(e for e in log if e["exit"] == "open.rows")
    assert rows["rows"] == 3 and rows["items"] == sorted(page.json()["columns"])
    _assert_no_values(w, _values(page.json()["rows"], "站点名称") | {"1990-03-07", "1985-12-12", "翠湖站"})


def test_the_portals_preview_is_in_the_log_without_values(client, opendata):  # noqa: F811
    """The dataset page's first rows leave like a rows call: one entry per view, names and count."""
    w = opendata.world
    for _ in range(2):  # the second view is served from the page's cache: still a read, still logged
        page = client.get(f"/datasets/{opendata.free}")
        assert page.status_code == 200 and 'id="preview-table"' in page.text
    log = [e for e in _export(w) if e["exit"] == "open.preview"]
    assert len(log) == 2 and {e["actor"] for e in log} == {"anonymous"}
    assert log[0]["resource_id"] == opendata.free and log[0]["rows"] == 6
    assert "出生日期" in log[0]["items"] and "公民身份号码" not in log[0]["items"]
    _assert_no_values(w, {"翠湖站", "滇池站", "1990-03-07"})


def test_a_sandbox_release_is_in_the_log_without_values(op):  # noqa: F811
    from yibenzhang.operate import sandbox

    run = sandbox.submit_query(op.db, op.actor(), op.auth_id,
                               f"SELECT 区县, 性别 AS s FROM r_{op.resource_id} WHERE 区县 = '甲' LIMIT 5")
    assert run.state == "待审核"  # issue 16: row-level output leaves when a checker approves it
    assert not [e for e in _export(op.world) if e["exit"] == "sandbox.release"]
    from tests.operate.conftest import approved

    assert approved(op.world, run)["state"] == "已放行"
    entry = next(e for e in _export(op.world) if e["exit"] == "sandbox.release")
    assert entry["actor"] == "operator_user" and entry["resource_id"] == op.resource_id
    assert entry["rows"] == 5 and set(entry["items"]) == {"区县", "性别"}
    with op.db.read() as s:  # the entry itself holds names and counts, not the released values
        content = json.loads(s.execute(select(ledger.LedgerEvent.content)
                                       .where(ledger.LedgerEvent.action == "data.read")).scalar_one())
    assert content == {"exit": "sandbox.release", "items": ["区县", "性别"], "rows": 5, "run_id": run.id,
                       "authorization_id": op.auth_id, "release_kind": "行级"}


def test_the_audit_administrator_exports_over_api_and_cli_the_others_are_refused(client, share):
    from typer.testing import CliRunner

    from yibenzhang.cli import app

    w = share.world
    gid = issue(share, items=["姓名"])
    client.get(f"/api/v1/grants/{gid}/rows", headers=w.headers("consumer"))
    _admin(w, "audadm", "审计管理员")
    _admin(w, "sysadm", "系统管理员")
    _admin(w, "secadm", "安全管理员")
    r = client.get("/api/v1/audit/access-log", headers=w.headers("audadm"))
    assert r.status_code == 200, r.text
    assert [(e["exit"], e["actor"], e["items"]) for e in r.json()] == [("share.rows", "consumer", ["姓名"])]
    for who in ("sysadm", "secadm", "consumer"):
        refused = client.get("/api/v1/audit/access-log", headers=w.headers(who))
        assert refused.status_code == 403 and refused.json()["code"] == "audit_denied", who
        events = client.get("/api/v1/audit/events", params={"action": "data.read"}, headers=w.headers(who))
        assert events.status_code == 403
    out = CliRunner().invoke(app, ["ledger", "access-log", "--as", "audadm", "--json"])
    assert out.exit_code == 0, out.output
    assert [e["exit"] for e in json.loads(out.output)] == ["share.rows"]
    denied = CliRunner().invoke(app, ["ledger", "access-log", "--as", "sysadm", "--json"])
    assert denied.exit_code == 2 and "audit_denied" in denied.output
    with w.db.read() as s:  # each export is itself recorded, for the other administrators to see
        assert s.execute(select(ledger.LedgerEvent.actor).where(ledger.LedgerEvent.action == "access_log.export")
                         ).scalars().all() == ["audadm", "audadm"]


def test_entries_are_kept_at_least_the_retention(share):
    from datetime import timedelta

    from yibenzhang.db import utcnow

    w = share.world
    gid = issue(share, items=["姓名"])
    with w.db.write() as s:
        g = s.get(G.Grant, gid)
        old = G.record_usage(s, w.actor("consumer"), g, "rows", rows=1, items=["姓名"])
        old.at = utcnow() - timedelta(days=200)
        G.record_usage(s, w.actor("consumer"), g, "rows", rows=1, items=["姓名"]).at = utcnow() - timedelta(days=170)
    auditor = _admin(w, "audadm", "审计管理员")
    with pytest.raises(ValidationFailed), w.db.write() as s:
        access_log.prune(s, auditor, older_than_days=179)
    with pytest.raises(PermissionDenied), w.db.write() as s:
        access_log.prune(s, _admin(w, "sysadm", "系统管理员"), older_than_days=365)
    with w.db.write() as s:
        assert access_log.prune(s, auditor, older_than_days=180) == 1
    with w.db.write() as s:
        assert [e["rows"] for e in access_log.entries(s, auditor)] == [1]
