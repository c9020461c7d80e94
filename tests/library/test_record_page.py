"""The console's person page (issue 21 item 4): a signed-in consumer of the grant's org picks the
grant, types the key and sees the record the API returns (granted items, masked, with provenance);
every other role is refused on the page with its reason and status and sees no value; a bad key
is reported beside the field; the look-up is in the access log without the key; the page is
never cached and never in the open portal."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.library.conftest import A15, A
from tests.library.test_record import GRANTED, granted  # noqa: F401 (a fixture)
from tests.web.conftest import csrf_of, login
from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.share import grants as G


@pytest.fixture
def db(sqlite_db):
    """About the page over the service, not the store: SQLite only."""
    return sqlite_db


def _page(client, username: str, library: int) -> tuple[str, str]:
    """Sign in as `username`; the record page's HTML and the session's CSRF token."""
    assert login(client, username).status_code == 303
    html = client.get(f"/console/libraries/{library}/record").text
    return html, csrf_of(client.get("/console").text)


def _look_up(client, library: int, csrf: str, grant_id: int | str, key: str):
    return client.post(f"/console/libraries/{library}/record",
                       data={"csrf_token": csrf, "grant_id": str(grant_id), "key": key})


def _access_log(w) -> list[dict]:
    with w.db.read() as s:
        events = [json.loads(e.content) for e in s.execute(select(LedgerEvent).where(
            LedgerEvent.action == "data.read")).scalars()]
    return [e for e in events if e.get("exit") == "library.record"]


def test_the_grantee_sees_the_record_as_the_api_returns_it(granted, client) -> None:  # noqa: F811
    lib, grant_id = granted
    w = lib.world
    assert login(client, "consumer").status_code == 303
    listing = client.get("/console/libraries")
    assert listing.status_code == 200 and listing.headers["cache-control"] == "no-store"
    assert f'href="/console/libraries/{lib.library}/record"' in listing.text
    assert f'data-grant="{grant_id}"' in listing.text
    assert 'href="/console/libraries"' in re.search(r'<nav class="side".*?</nav>', listing.text, re.S).group(0)
    form = client.get(f"/console/libraries/{lib.library}/record")
    assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
    assert f'<option value="{grant_id}"' in form.text
    assert re.search(r'<form method="post" action="/console/libraries/\d+/record"', form.text)
    assert 'name="csrf_token"' in form.text and '<label for="f-key">' in form.text

    page = _look_up(client, lib.library, csrf_of(form.text), grant_id, A15)
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert "record-refusal" not in page.text
    html = page.text
    rows = dict(re.findall(r'<tr data-item="([^"]+)" data-masking="([^"]*)">', html))
    # granted and graded items only (户籍地址 is ungraded: withheld, fail closed; 联系电话 not granted)
    assert set(rows) == {"公民身份号码", "姓名", "出生日期"} and set(rows) <= set(GRANTED)
    assert rows["公民身份号码"] == "sm4" and rows["姓名"] in ("none", "")
    assert "联系电话" not in html and "13900000001" not in html
    assert re.search(r'id="record-withheld"[^>]*>[^<]*户籍地址', html)
    assert A not in html and A15 not in html  # the 4级 ID leaves encrypted; the typed key is not echoed
    assert "<code>张三</code>" in html and "<code>1990-03-07</code>" in html
    # provenance of 姓名: the authoritative source (户籍), its batch, when it was collected
    name_row = re.search(r'<tr data-item="姓名".*?</tr>', html, re.S).group(0)
    assert f'data-source="{lib.sources[0]}"' in name_row and lib.codes[0] in name_row
    assert re.search(r'data-batch="\d+"', name_row) and "<time datetime=" in name_row
    # the same service as the API: the same items, the same masking, the same clear values
    api = client.post(f"/api/v1/libraries/{lib.library}/record", json={"grant_id": grant_id, "key": A15},
                      headers=w.headers("consumer")).json()
    assert set(api["values"]) == set(rows) and api["masking"]["公民身份号码"] == rows["公民身份号码"]
    assert f'<code>{api["values"]["姓名"]}</code>' in html
    assert f'data-batch="{api["provenance"]["姓名"]["batch_id"]}"' in name_row

    # the look-up is in the access log as exit library.record, without the key
    mine = _access_log(w)
    assert len(mine) == 2 and mine[0]["rows"] == 1 and mine[0]["outcome"] == "ok"
    assert set(mine[0]["items"]) == set(rows) and mine[0]["grant_id"] == grant_id
    assert all(A not in json.dumps(e, ensure_ascii=False) and A15 not in json.dumps(e) for e in mine)


ROLES = {  # username: who; each is refused, on the page, with its status and reason
    "hospital_consumer": "a consumer of another org",
    "market_steward": "a steward of the grant's org",
    "police_steward": "a steward of a source org",
    "citizen": "the public",
}


@pytest.mark.parametrize("username", list(ROLES))
def test_other_roles_are_refused_without_a_value(granted, client, username) -> None:  # noqa: F811
    lib, grant_id = granted
    w = lib.world
    html, csrf = _page(client, username, lib.library)
    assert 'name="key"' not in html  # no usable grant: no form offered
    page = _look_up(client, lib.library, csrf, grant_id, A)
    assert page.status_code == 403, (ROLES[username], page.status_code)
    assert page.headers["cache-control"] == "no-store"
    assert "张三" not in page.text and A not in page.text and "1990-03-07" not in page.text
    assert 'role="alert"' in page.text
    if username == "citizen":  # not a government user: the page itself is refused, and not linked
        assert client.get("/console/libraries").status_code == 403
        assert 'href="/console/libraries"' not in client.get("/console/objections").text
    else:
        assert 'data-code="grant_wrong_org"' in page.text and "使用他人的共享授权" in page.text
        english = client.post(f"/console/libraries/{lib.library}/record?lang=en",
                              data={"csrf_token": csrf, "grant_id": str(grant_id), "key": A})
        assert english.status_code == 403 and "You are not allowed to do this: use another org" in english.text
    assert _access_log(w) == []  # refused before any look-up


def test_a_bad_key_is_reported_beside_the_field(granted, client) -> None:  # noqa: F811
    lib, grant_id = granted
    _, csrf = _page(client, "consumer", lib.library)
    bad = _look_up(client, lib.library, csrf, grant_id, "12345")
    assert bad.status_code == 422
    field = re.search(r'<input id="f-key"[^>]*>\s*<p class="field-error" id="err-key" role="alert">([^<]+)</p>',
                      bad.text)
    assert field and field.group(1) == "键值格式不符（应为18位，或15位旧身份证号）"
    assert 'aria-invalid="true"' in bad.text and "12345" not in bad.text.split('id="f-key"')[1][:200]
    checksum = A[:-1] + ("0" if A[-1] != "0" else "1")
    wrong = _look_up(client, lib.library, csrf, grant_id, checksum)
    assert wrong.status_code == 422 and re.search(r'id="err-key" role="alert">校验码不符<', wrong.text)
    assert checksum not in wrong.text
    missing = _look_up(client, lib.library, csrf, "", A)
    assert missing.status_code == 422 and 'id="err-grant_id"' in missing.text
    too_long = _look_up(client, lib.library, csrf, grant_id, "1" * 200)
    assert too_long.status_code == 422 and 'id="err-key"' in too_long.text
    unknown = _look_up(client, lib.library, csrf, grant_id, "110101200001010016")
    assert unknown.status_code in (404, 422) and 'id="record-refusal"' in unknown.text
    outcomes = [e["outcome"] for e in _access_log(lib.world)]
    assert outcomes[:2] == ["key_format", "key_checksum"] and len(outcomes) == 3


def test_a_look_up_needs_the_csrf_token_and_a_session(granted, client) -> None:  # noqa: F811
    lib, grant_id = granted
    url = f"/console/libraries/{lib.library}/record"
    anonymous = client.post(url, data={"grant_id": str(grant_id), "key": A}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert client.get("/console/libraries", follow_redirects=False).status_code == 303
    _page(client, "consumer", lib.library)
    forged = client.post(url, data={"csrf_token": "forged", "grant_id": str(grant_id), "key": A})
    assert forged.status_code == 403 and "张三" not in forged.text
    assert _access_log(lib.world) == []


def test_rate_limited_on_the_page_with_retry_after(granted, client) -> None:  # noqa: F811
    lib, grant_id = granted
    _, csrf = _page(client, "consumer", lib.library)
    answers = [_look_up(client, lib.library, csrf, grant_id, A) for _ in range(35)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited and {r.status_code for r in answers} == {200, 429}
    first = limited[0]
    assert int(first.headers["retry-after"]) > 0 and 'data-code="rate_limited"' in first.text
    assert "每分钟最多调用 20 次" in first.text and "<code>张三</code>" not in first.text


def test_never_in_the_open_portal(granted, client) -> None:  # noqa: F811
    lib, _ = granted
    for url in (f"/datasets/{lib.library}", f"/catalog/{lib.library}", f"/open/datasets/{lib.library}/download.csv"):
        assert client.get(url).status_code == 404, url
    assert "人口综合库" not in client.get("/datasets").text
    assert "/console/libraries" not in client.get("/").text


def test_an_unfused_library_has_no_record_yet(lib, client) -> None:
    """A published library not fused yet: the look-up says not found (404), never a 500."""
    w = lib.world
    today = workdays.today()
    with w.db.write() as s:
        grant = G.issue_grant(s, Actor.system(), request_id=None, consumer_org_id=w.orgs["market"].id,
                              resource_id=lib.library, items=["公民身份号码", "姓名"], mode="接口", row_scope=None,
                              valid_from=today, valid_to=today + timedelta(days=30), rate_limit_per_minute=20)
        grant_id = grant.id
    G.BUCKETS.reset()
    _, csrf = _page(client, "consumer", lib.library)
    page = _look_up(client, lib.library, csrf, grant_id, A)
    assert page.status_code == 404 and 'id="record-refusal"' in page.text
