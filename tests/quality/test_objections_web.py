"""Console pages for objections: the form at /objections/new and the lists with actions at
/console/objections, through the real login form and CSRF tokens."""

from __future__ import annotations

from tests.factories import published
from tests.web.conftest import csrf_of, login


def sign_in(client, username: str) -> str:
    client.cookies.clear()
    assert login(client, username).status_code == 303
    return csrf_of(client.get("/console").text)


def test_file_answer_and_correct_through_the_pages(client, world):
    rid = published(world)
    csrf = sign_in(client, "consumer")
    page = client.get(f"/objections/new?resource={rid}")
    assert page.status_code == 200
    assert 'name="items" value="出生日期"' in page.text and 'name="key.公民身份号码"' in page.text

    r = client.post("/objections/new", data={"csrf_token": csrf, "resource": rid, "claim": " ", "items": ["出生日期"]})
    assert r.status_code == 422 and "必填项不能为空" in r.text and 'value="出生日期" checked' in r.text

    r = client.post("/objections/new", data={"csrf_token": csrf, "resource": rid, "claim": "出生日期有误",
                                             "expected": "1990-03-07", "items": ["出生日期"],
                                             "key.公民身份号码": "110101199003071234"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/objections?tab=mine&done=file"
    mine = client.get("/console/objections?tab=mine").text
    assert "出生日期有误" in mine and "待答复" in mine and "action-withdraw" in mine and "action-answer" not in mine

    csrf = sign_in(client, "police_steward")
    todo = client.get("/console/objections").text
    assert "出生日期有误" in todo and "action-answer" in todo and "action-withdraw" not in todo
    oid = int(todo.split('id="objection-')[1].split('"')[0])
    r = client.post(f"/console/objections/{oid}/answer", data={"csrf_token": csrf, "answer": "受理", "tab": "todo"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/console/objections?tab=all").text
    assert "已受理" in page and "action-correct" in page
    r = client.post(f"/console/objections/{oid}/correct", data={"csrf_token": csrf, "note": "已按户籍更正"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/console/objections?tab=all&lang=en").text
    assert "corrected" in page and "closed on time" in page and "Objections" in page
    # A second correction is refused with the service's error, as a page.
    r = client.post(f"/console/objections/{oid}/correct", data={"csrf_token": csrf, "note": "再次"})
    assert r.status_code == 409 and "objection_state" in r.text


def test_pages_refuse_what_the_services_refuse(client, world):
    closed = published(world)
    assert client.get(f"/objections/new?resource={closed}", follow_redirects=False).status_code == 303  # login
    csrf = sign_in(client, "citizen")
    assert client.get(f"/objections/new?resource={closed}").status_code == 404
    r = client.post("/objections/new", data={"csrf_token": csrf, "resource": closed, "claim": "错",
                                             "items": ["姓名"]})
    assert r.status_code == 404
    r = client.post("/objections/new", data={"csrf_token": "forged", "resource": closed, "claim": "错"})
    assert r.status_code == 403
    assert "没有异议" in client.get("/console/objections").text
    r = client.post("/console/objections/1/answer", data={"csrf_token": csrf, "answer": "受理"})
    assert r.status_code == 404
