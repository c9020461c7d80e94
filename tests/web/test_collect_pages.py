"""Collection and quality pages through the real app (both backends): the detail page's 数据归集
section by role, upload with progress and summary, reject download, held batches, the quality
page and the scores board. Permission failures are 403/404 pages, never 500."""

from __future__ import annotations

import json
import re

import pytest

from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.config import get_settings
from yibenzhang.ledger import service as ledger
from yibenzhang.quality.validators import id_check_character

ITEMS = [
    ItemIn(name="姓名", data_type="C", length=50, required=True),
    ItemIn(name="公民身份号码", data_type="C", length=18, required=True, is_key=True),
    ItemIn(name="出生日期", data_type="D"),
]


def person_id(n: int) -> str:
    body = f"990102198{n % 10}0{1 + n % 9}1{n % 10}{n:03d}"[:17]
    return body + id_check_character(body)


def people_csv(good: int, bad_dates: int = 0) -> bytes:
    lines = ["姓名,公民身份号码,出生日期"]
    lines += [f"张{i},{person_id(i)},1980年5月{1 + i % 28}日" for i in range(good)]
    lines += [f"李{i},{person_id(500 + i)},2023-02-30" for i in range(bad_dates)]  # impossible dates
    return ("\n".join(lines) + "\n").encode("gbk")


@pytest.fixture
def people(world) -> int:
    return published(world, items=ITEMS)  # police's, keyed by 公民身份号码


def upload(client, rid: int, csrf: str, data: bytes, **fields: str):
    return client.post(f"/console/resources/{rid}/upload", data={"csrf_token": csrf, **fields},
                       files={"file": ("人口.csv", data, "text/csv")}, follow_redirects=False)


def test_steward_uploads_and_sees_progress_summary_and_quality(client, world, signed_in, people):
    csrf = signed_in("police_steward")
    form = client.get(f"/console/resources/{people}/upload")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    r = upload(client, people, csrf, people_csv(18, bad_dates=2), encoding="GBK")
    assert r.status_code == 303, r.text
    page_url = r.headers["location"]
    assert re.fullmatch(r"/console/ingests/[0-9a-f]{32}", page_url)
    page = client.get(page_url)  # TestClient ran the background ingest already
    assert page.status_code == 200
    assert 'id="rows-accepted">18<' in page.text and 'id="rows-rejected">2<' in page.text
    assert "hx-trigger" not in page.text  # finished: no more polling
    assert "待确认后发布" in page.text and 'id="ingest-quality"' not in page.text  # held: not assessed
    fragment = client.get(page_url + "/progress")
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="ingest"')

    # 2/20 rejected is above the 5 % hold rate: the batch waits for the steward.
    detail = client.get(f"/catalog/{people}")
    assert 'id="collection"' in detail.text and 'id="held"' in detail.text
    assert 'id="record-count">0<' in detail.text  # a held batch is not part of the current rows
    assert f'href="/console/resources/{people}/upload"' in detail.text
    batch_id = int(re.search(r'/console/batches/(\d+)/confirm', detail.text).group(1))

    rejects = client.get(f"/console/batches/{batch_id}/rejects")
    assert rejects.status_code == 200 and "text/csv" in rejects.headers["content-type"]
    body = rejects.content.decode("utf-8-sig")
    assert body.count("2023-02-30") == 2 and "the date does not exist" in body
    with world.db.read() as s:
        event = ledger.events_for(s, "batch", str(batch_id))[-1]
        assert event.action == "zone.rejects.download" and "2023-02-30" not in event.content

    confirmed = client.post(f"/console/batches/{batch_id}/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert confirmed.status_code == 303
    detail = client.get(f"/catalog/{people}")
    assert 'id="held"' not in detail.text and 'id="record-count">18<' in detail.text

    # A clean second upload is published at once and assessed.
    r = upload(client, people, csrf, people_csv(20))
    done = client.get(r.headers["location"])
    assert 'id="rows-rejected">0<' in done.text and 'id="rejects-link"' not in done.text
    assert 'id="ingest-quality"' in done.text  # the quality summary of the batch
    quality = client.get(f"/console/resources/{people}/quality")
    assert quality.status_code == 200
    assert 'id="quality-chart"' in quality.text and "/static/vendor/echarts.min.js" in quality.text
    data = json.loads(re.search(r'id="quality-history">(.*?)</script>', quality.text, re.S).group(1))
    assert len(data["labels"]) >= 1 and data["series"][0]["data"][-1] is not None
    assert "公民身份号码（GB 11643）" in quality.text and 'id="rule-results"' in quality.text
    en = client.get(f"/console/resources/{people}/quality?lang=en")
    assert "accuracy" in en.text and "Quality" in en.text
    board = client.get("/console/quality")
    assert board.status_code == 200 and "云岭省公安厅" in board.text
    assert "云岭省" in client.get("/console/quality?level=region").text


def test_upload_without_a_file_is_shown_on_the_form(client, world, signed_in, people):
    csrf = signed_in("police_steward")
    r = client.post(f"/console/resources/{people}/upload", data={"csrf_token": csrf})
    assert r.status_code == 422 and 'id="err-file"' in r.text


def test_upload_needs_the_csrf_token(client, world, signed_in, people):
    signed_in("police_steward")
    r = upload(client, people, "forged", people_csv(3))
    assert r.status_code == 403 and "csrf_failed" in r.text


def test_a_bad_file_is_reported_on_the_progress_page(client, world, signed_in, people):
    csrf = signed_in("police_steward")
    data = "姓名,公民身份号码,出生日期\n张三,1,2020-01-01\n".encode("gbk") + b"\xff\xfe,1,x\n"
    r = upload(client, people, csrf, data, encoding="GBK")
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'id="ingest-error"' in page.text
    assert "第3行（字节偏移45）" in page.text  # the decoding error names the line and byte offset


def test_consumer_and_public_see_no_batches_or_upload(client, world, signed_in, people):
    detail = client.get(f"/catalog/{people}")  # anonymous (the resource is not open: 404 or no section)
    assert 'id="collection"' not in detail.text
    signed_in("consumer")  # market's 数据使用方: not the provider
    detail = client.get(f"/catalog/{people}")
    assert detail.status_code == 200
    assert 'id="collection"' not in detail.text and "/upload" not in detail.text
    assert f'href="/objections/new?resource={people}"' in detail.text
    assert client.get(f"/console/resources/{people}/upload").status_code == 403


@pytest.mark.parametrize("user", ["market_steward", "city_steward"])
def test_another_orgs_steward_cannot_upload(client, world, signed_in, people, user):
    csrf = signed_in(user)
    assert client.get(f"/console/resources/{people}/upload").status_code in (403, 404)
    r = upload(client, people, csrf, people_csv(3))
    assert r.status_code in (403, 404) and "<html" in r.text
    with world.db.read() as s:
        from sqlalchemy import func, select

        from yibenzhang.zone.model import Batch

        assert s.execute(select(func.count()).select_from(Batch)).scalar_one() == 0
    assert not list((get_settings().zone).glob("**/*.parquet"))


def test_insiders_see_the_manifest_but_only_the_steward_acts(client, world, signed_in, people):
    csrf = signed_in("police_steward")
    r = upload(client, people, csrf, people_csv(10, bad_dates=5))
    token_page = r.headers["location"]
    detail = client.get(f"/catalog/{people}")
    batch_id = int(re.search(r'/console/batches/(\d+)/confirm', detail.text).group(1))
    client.cookies.clear()
    for user in ("reviewer", "auditor", "admin"):
        csrf = signed_in(user)
        detail = client.get(f"/catalog/{people}")
        assert 'id="batches"' in detail.text, user
        if user != "admin":
            assert "/confirm" not in detail.text and "/rejects" not in detail.text, user
            assert client.get(f"/console/batches/{batch_id}/rejects").status_code == 403
            r = client.post(f"/console/batches/{batch_id}/discard", data={"csrf_token": csrf})
            assert r.status_code == 403, user
            assert client.get(token_page).status_code == 404  # another user's upload
        client.cookies.clear()
    csrf = signed_in("police_steward")
    r = client.post(f"/console/batches/{batch_id}/discard", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "已作废" in client.get(f"/catalog/{people}").text
    r = client.post(f"/console/batches/{batch_id}/discard", data={"csrf_token": csrf})
    assert r.status_code == 409 and "batch_not_held" in r.text


def test_quality_pages_without_runs_and_for_the_public(client, world, signed_in, people):
    assert client.get(f"/console/resources/{people}/quality", follow_redirects=False).status_code == 303
    signed_in("police_steward")
    page = client.get(f"/console/resources/{people}/quality")
    assert page.status_code == 200 and 'id="no-runs"' in page.text
    assert client.get("/console/resources/999999/quality").status_code == 404
    assert client.get("/console/quality?level=planet").status_code == 422


def test_console_nav_links_objections_and_quality(client, world, signed_in):
    signed_in("police_steward")
    nav = client.get("/console").text
    assert 'href="/console/objections"' in nav and 'href="/console/quality"' in nav


def test_progress_page_says_what_was_hidden_in_an_xlsx(client, world, signed_in, people):
    import io

    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.sheet_state = "hidden"
    ws = wb.create_sheet("人口")
    ws.append([i.name for i in ITEMS])
    for i in range(3):
        ws.append([f"张{i}", person_id(i), "1980-05-01"])
    ws.row_dimensions[3].hidden = True
    ws.column_dimensions["B"].hidden = True
    buf = io.BytesIO()
    wb.save(buf)
    csrf = signed_in("police_steward")
    r = client.post(f"/console/resources/{people}/upload", data={"csrf_token": csrf},
                    files={"file": ("人口.xlsx", buf.getvalue(), "application/octet-stream")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert 'id="rows-read">3<' in page.text
    hidden = re.search(r'id="ingest-hidden">(.*?)</td>', page.text, re.S).group(1)
    assert "说明" in hidden and "1个隐藏行已读取（第3行）" in hidden
    assert f"1个隐藏列已读取（B列：{ITEMS[1].name}）" in hidden
    en = client.get(r.headers["location"] + "?lang=en")
    assert "1 hidden rows were read (rows 3)" in en.text
    assert f"1 hidden columns were read (columns B: {ITEMS[1].name})" in en.text  # the name as it is
