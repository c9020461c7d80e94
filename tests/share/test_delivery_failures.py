"""A delivery that cannot be served is seen failing, by the consumer and the provider, in the API
and on the grant page, in Chinese and English (issue 20): a grant whose every item the masking
policy withholds fails on the first worker poll (no retry cures a policy) and says what would
make it serve; a transient error shows its reason and the next try while the delivery waits,
and a later success clears it. Both backends."""

from __future__ import annotations

import pytest

from yibenzhang import jobs, workdays
from yibenzhang.jobs import Worker

from .conftest import login
from .test_grants import issue, share_fixture  # noqa: F401  (the `share` fixture)


def _deliver(client, headers, gid: int) -> int:
    r = client.post(f"/api/v1/grants/{gid}/deliveries", json={"format": "csv"}, headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "排队" and r.json()["reason"] is None
    return r.json()["id"]


def test_a_delivery_of_withheld_items_fails_at_once_with_its_reason(client, share):
    w = share.world
    gid = issue(share, mode="文件", items=["内部备注"])  # ungraded: withheld by the 共享 policy
    consumer = w.headers("consumer")
    did = _deliver(client, consumer, gid)
    assert Worker(w.db, run_tickers=False).run(once=True) == 1  # one poll, one attempt
    for who in ("consumer", "police_steward"):  # the grant itself says it serves nothing
        g = client.get(f"/api/v1/grants/{gid}", headers=w.headers(who)).json()
        assert (g["serves_nothing"], g["withheld_items"]) == (True, ["内部备注"])
    for who in ("consumer", "police_steward"):  # the grantee and the provider's steward
        d = client.get(f"/api/v1/deliveries/{did}", headers=w.headers(who)).json()
        assert (d["status"], d["status_en"], d["error_code"]) == ("失败", "failed", "delivery_nothing_to_serve")
        assert "确认信息项分级" in d["reason"] and "confirm the items' grades" in d["reason_en"]
        assert d["attempts"] == 1 and d["retry_at"] is None
    with w.db.read() as s:
        job = s.get(jobs.Job, d["job_id"])
        assert job.status == jobs.JobStatus.GAVE_UP.value and job.attempts == 1  # no futile retries
    download = client.get(f"/api/v1/deliveries/{did}/download", headers=consumer)
    assert download.status_code == 409 and download.json()["code"] == "delivery_failed"
    assert "confirm the items' grades" in download.json()["detail_en"]

    assert login(client, "consumer").status_code == 303
    page = client.get(f"/console/share/grants/{gid}")
    assert 'data-status="failed"' in page.text and "请提供方确认信息项分级后重新申请交付" in page.text
    assert "hx-trigger" not in page.text.split('id="deliveries"')[1].split(">")[0]  # stops polling
    assert 'id="grant-serves-nothing"' in page.text and 'id="confirm-grades-link"' not in page.text
    english = client.get(f"/console/share/grants/{gid}?lang=en")
    assert "the provider must confirm the items&#39; grades" in english.text
    assert login(client, "police_steward").status_code == 303  # the provider is pointed at the fix
    assert 'id="confirm-grades-link"' in client.get(f"/console/share/grants/{gid}").text


def test_a_transient_failure_shows_its_reason_and_the_next_try_then_clears(client, share, monkeypatch):
    from yibenzhang.zone.duck import DuckDBEngine

    w = share.world
    gid = issue(share, mode="文件", items=["姓名", "内部备注"])
    consumer = w.headers("consumer")
    g = client.get(f"/api/v1/grants/{gid}", headers=consumer).json()
    assert (g["serves_nothing"], g["withheld_items"]) == (False, ["内部备注"])
    did = _deliver(client, consumer, gid)

    def unavailable(*_a, **_k):
        raise OSError("zone unavailable")

    monkeypatch.setattr(DuckDBEngine, "query", unavailable)  # the delivery's read of the zone
    Worker(w.db, run_tickers=False).run(once=True)
    d = client.get(f"/api/v1/deliveries/{did}", headers=consumer).json()
    assert (d["status"], d["error_code"], d["attempts"]) == ("排队", "os_error", 1)
    assert "zone unavailable" in d["reason"] and d["retry_at"] is not None
    assert login(client, "consumer").status_code == 303
    assert "第1次尝试失败，将于" in client.get(f"/console/share/grants/{gid}").text

    monkeypatch.undo()
    with w.db.write() as s:  # the backoff has passed
        job = s.get(jobs.Job, d["job_id"])
        job.run_at = jobs.utcnow()
    Worker(w.db, run_tickers=False).run(once=True)
    d = client.get(f"/api/v1/deliveries/{did}", headers=consumer).json()
    assert (d["status"], d["error_code"], d["reason"], d["rows"]) == ("就绪", None, None, 6)


@pytest.mark.parametrize("final", [True, False])
def test_final_errors_give_up_at_once_and_others_retry(sqlite_db, final):
    """The jobs layer itself: a kind's `final` errors end the job on the first attempt; the hook
    sees the recorded outcome in the same transaction; other errors follow the backoff."""
    from yibenzhang.access import Actor
    from yibenzhang.errors import DomainError

    seen = []
    kind = f"test.final.{final}"

    @jobs.register(kind, final=(DomainError,), on_failure=lambda s, job: seen.append(
        (job.status, job.error_code, job.last_error, job.last_error_en)))
    def _handler(db, job):
        if final:
            raise DomainError("delivery_nothing_to_serve",
                              "授权的信息项全部被脱敏策略拦截，没有可交付的内容：请提供方确认信息项分级后重新申请交付")
        raise ConnectionError("source down at 110101199003077777")  # a value: masked in both languages

    with sqlite_db.write() as s:
        jobs.enqueue(s, Actor.system(), kind, {})
    Worker(sqlite_db, run_tickers=False, kinds=(kind,)).run(once=True)
    assert len(seen) == 1
    status, code, zh, en = seen[0]
    if final:
        assert (status, code) == (jobs.JobStatus.GAVE_UP.value, "delivery_nothing_to_serve")
        assert zh.startswith("delivery_nothing_to_serve: 授权") and "Every granted item" in en
    else:
        assert (status, code) == (jobs.JobStatus.FAILED.value, "connection_error")
        assert zh == en == "ConnectionError: source down at ***"


def test_the_approver_is_told_before_approving_a_grant_that_would_serve_nothing(client, share):
    from datetime import timedelta

    w = share.world
    today = workdays.today()
    asked = {"resource": share.rid, "mode": "文件", "purpose": "统计分析", "basis": "履行法定职责",
             "scenario": "按月统计", "period_from": today.isoformat(),
             "period_to": (today + timedelta(days=90)).isoformat()}
    ids = {}
    for label, items in (("nothing", ["内部备注"]), ("some", ["姓名", "内部备注"])):
        r = client.post("/api/v1/share-requests", json=asked | {"items": items}, headers=w.headers("consumer"))
        assert r.status_code == 201, r.text
        ids[label] = r.json()["id"]
    got = client.get(f"/api/v1/share-requests/{ids['nothing']}", headers=w.headers("police_approver")).json()
    assert (got["serves_nothing"], got["withheld_items"]) == (True, ["内部备注"])
    got = client.get(f"/api/v1/share-requests/{ids['some']}", headers=w.headers("police_approver")).json()
    assert (got["serves_nothing"], got["withheld_items"]) == (False, ["内部备注"])
    assert login(client, "police_approver").status_code == 303
    page = client.get(f"/console/share/{ids['nothing']}").text
    assert 'id="decide-form"' in page and 'id="request-serves-nothing"' in page
    assert 'id="request-serves-nothing"' not in client.get(f"/console/share/{ids['some']}").text
