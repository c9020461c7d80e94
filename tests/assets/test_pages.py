"""Console pages without a browser: the operator submits a product and sees why it failed; the
authority signs off, moves the registration on and codes it; anyone prints and checks the
certificate page. Pages read without JavaScript; English via ?lang=en."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.assets.helpers import authorization, make_product, run
from tests.factories import published
from tests.web.conftest import csrf_of, login
from yibenzhang.assets import registration


def _signed(client, user: str) -> str:
    client.cookies.clear()
    assert login(client, user).status_code == 303
    return csrf_of(client.get("/console").text)


def test_product_pages_flow(world, client, monkeypatch):
    rid = published(world)
    auth = authorization(world, rid)
    pid = make_product(world, auth, [run(world, auth, [rid])], scenario="")

    csrf = _signed(client, "operator_user")
    page = client.get("/console/products")
    assert page.status_code == 200 and f'id="product-{pid}"' in page.text
    assert client.post(f"/console/products/{pid}/review", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    detail = client.get(f"/console/products/{pid}")
    assert 'id="check-3" data-result="不通过"' in detail.text and "未填写应用场景" in detail.text
    assert "001:1236 第二十七条第（三）项" in detail.text
    english = client.get(f"/console/products/{pid}?lang=en")
    assert "No scenario stated" in english.text and "001:1236 Art. 27(3)" in english.text
    client.get("/console/products?lang=zh")

    with world.db.write() as s:
        from yibenzhang.assets import products

        products.update_product(s, world.actor("operator_user"), pid, {"scenario": "设施选址"})
    client.post(f"/console/products/{pid}/review", data={"csrf_token": csrf})

    csrf = _signed(client, "reviewer")
    detail = client.get(f"/console/products/{pid}")
    assert 'id="signoff-form"' in detail.text
    form = {"csrf_token": csrf, **{f"verdict_{k}": "通过" for k in (1, 2, 5, 7)},
            **{f"note_{k}": "符合" for k in (1, 2, 5, 7)}}
    assert client.post(f"/console/products/{pid}/signoff", data=form, follow_redirects=False).status_code == 303
    assert 'id="product-state">合规通过' in client.get(f"/console/products/{pid}").text

    csrf = _signed(client, "operator_user")
    detail = client.get(f"/console/products/{pid}")
    assert 'id="register-form"' in detail.text and 'id="signoff-form"' not in detail.text
    client.post(f"/console/products/{pid}/register", data={"csrf_token": csrf, "kind": "首次", "right_0": "公安厅",
                                                           "right_1": "运营公司", "right_2": "运营公司"})
    day = date(2026, 3, 2)
    monkeypatch.setattr(registration, "_today", lambda: day)
    csrf = _signed(client, "reviewer")
    with world.db.read() as s:
        rid_ = s.query(registration.Registration).filter_by(product_id=pid).one().id
    for step in ("accept", "check"):
        assert client.post(f"/console/registrations/{rid_}/{step}", data={"csrf_token": csrf},
                           follow_redirects=False).status_code == 303
    early = client.post(f"/console/registrations/{rid_}/code", data={"csrf_token": csrf})
    assert early.status_code == 409 and "公示期至" in early.text
    monkeypatch.setattr(registration, "_today", lambda: day + timedelta(days=30))
    client.post(f"/console/registrations/{rid_}/code", data={"csrf_token": csrf})
    detail = client.get(f"/console/products/{pid}")
    assert 'id="certificate-link"' in detail.text
    with world.db.read() as s:
        code = s.get(registration.Registration, rid_).code

    client.cookies.clear()
    cert = client.get(f"/certificates/{code}")
    assert cert.status_code == 200 and 'data-valid="yes"' in cert.text and "@media print" in cert.text
    body = cert.text.split("</head>")[1]
    # no inline script (CSP); the print button's behaviour comes from a static file
    assert code in cert.text and "onclick" not in body and not re.search(r"<script(?![^>]*\bsrc=)", body)
    assert 'class="seal-svg"' in body and 'class="segno"' in body
    assert client.get("/certificates/YBZ-000000-2000-000001").status_code == 404


def test_operator_creates_a_product_in_the_console(world, client):
    from tests.assets.helpers import CAP

    rid = published(world)
    auth = authorization(world, rid)
    r = run(world, auth, [rid])
    csrf = _signed(client, "operator_user")
    assert 'id="new-product"' in client.get("/console/products").text
    form = client.get("/console/products/new").text
    assert f'id="run-{r}"' in form and f'<option value="{auth}"' in form
    data = {"csrf_token": csrf, "authorization_id": str(auth), "runs": [str(r)], "name": "区县人口报告",
            "kind": "数据报告", "description": "说明", "use": "规划", "scenario": "选址",
            "pricing_category": "产业发展", "price_yuan": f"{(CAP + 1) / 100:.2f}"}
    above = client.post("/console/products/new", data=data)
    assert above.status_code == 422 and 'id="err-price_yuan"' in above.text and "运营收费上限" in above.text
    created = client.post("/console/products/new", data={**data, "price_yuan": f"{CAP / 100:.2f}"},
                          follow_redirects=False)
    assert created.status_code == 303
    detail = client.get(created.headers["location"])
    assert "区县人口报告" in detail.text and 'id="revenue"' in detail.text and 'id="submit-review"' in detail.text
    with world.db.read() as s:
        from yibenzhang.assets.model import Product

        assert s.query(Product).one().price_fen == CAP
    csrf = _signed(client, "consumer")
    assert 'id="new-product"' not in client.get("/console/products").text
