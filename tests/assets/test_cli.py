"""`ybz product …` over the same services: create, review, sign off, register, certificate, verify
(a tampered file exits 1), revenue, disclosure, value and book; bad input exits 2 in zh + en."""

from __future__ import annotations

import json
from datetime import date, timedelta

from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.assets.helpers import CAP, authorization, run
from tests.factories import published
from yibenzhang import workdays
from yibenzhang.assets import registration
from yibenzhang.cli import app


def test_product_cli_flow(world, tmp_path, monkeypatch):
    runner = CliRunner()

    def ybz(*args: str):
        return runner.invoke(app, ["product", *args], catch_exceptions=False)

    def ok(result) -> dict:
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    rid = published(world)
    auth = authorization(world, rid)
    r = run(world, auth, [rid])
    bad = ybz("create", "--authorization", str(auth), "--name", "x", "--description", "d", "--run", str(r),
              "--category", "产业发展", "--price-fen", str(CAP + 1), "--as", "operator_user")
    assert bad.exit_code == 2 and "price_above_cap" in bad.output and "fee cap" in bad.output
    p = ok(ybz("create", "--authorization", str(auth), "--name", "人口结构", "--description", "按区县统计",
               "--use", "规划", "--scenario", "设施选址", "--run", str(r), "--category", "产业发展",
               "--price-fen", str(CAP), "--as", "operator_user", "--json"))
    assert ok(ybz("review", str(p["id"]), "--as", "operator_user", "--json"))["state"] == "待签核"
    items = [f"--item={k}=通过:符合" for k in (1, 2, 5, 7)]
    assert ok(ybz("signoff", str(p["id"]), *items, "--as", "reviewer", "--json"))["state"] == "通过"
    reg = ok(ybz("register", str(p["id"]), "--holder", "云岭省公安厅", "--processor", "运营公司",
                 "--operator", "运营公司", "--as", "operator_user", "--json"))
    day = date(2026, 3, 2)
    monkeypatch.setattr(registration, "_today", lambda: day)
    ok(ybz("step", str(reg["id"]), "accept", "--as", "reviewer", "--json"))
    ok(ybz("step", str(reg["id"]), "check", "--as", "reviewer", "--json"))
    early = ybz("step", str(reg["id"]), "code", "--as", "reviewer")
    assert early.exit_code == 2 and "publicity_not_over" in early.output
    monkeypatch.setattr(registration, "_today", lambda: day + timedelta(days=30))
    assert ok(ybz("step", str(reg["id"]), "code", "--as", "reviewer", "--json"))["code"].startswith("YBZ-990000-")
    cert = tmp_path / "cert.json"
    ok(ybz("certificate", str(reg["id"]), "-o", str(cert), "--as", "operator_user", "--json"))
    assert ok(ybz("verify", str(cert), "--json"))["valid"] is True
    doc = json.loads(cert.read_text(encoding="utf-8"))
    doc["content"]["product"]["name"] = "篡改"
    cert.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    tampered = ybz("verify", str(cert), "--json")
    assert tampered.exit_code == 1 and json.loads(tampered.stdout)["reason"] == "digest_mismatch"
    rev = ok(ybz("revenue", str(p["id"]), "--period", "2026-04", "--units", "1", "--amount-fen", str(CAP + 7),
                 "--as", "operator_user", "--json"))
    assert rev["excess_fen"] == 7
    xlsx = tmp_path / "d.xlsx"
    d = ok(ybz("disclosure", "--org", str(world.orgs["operator"].id), "--year", str(workdays.today().year),
               "--xlsx", str(xlsx), "--as", "operator_user", "--json"))
    assert d["products"][0]["registration_code"].startswith("YBZ-") and load_workbook(xlsx).sheetnames
    v = ok(ybz("value", str(p["id"]), "--method", "income", "--inputs", '{"discount_rate": "0.1", '
               '"cash_flows_fen": [110000]}', "--as", "operator_user", "--json"))
    assert v["value_fen"] == 100_000
    export = tmp_path / "book.csv"
    b = ok(ybz("book", str(p["id"]), "--intention", "对外出售", "--cost", "清洗=1000", "--cost", "培训=50",
               "--export", str(export), "--as", "operator_user", "--json"))
    assert (b["asset_class"], b["capitalised_fen"], b["expensed_fen"]) == ("存货", 1000, 50)
    assert "培训,0.50,费用化" in export.read_text(encoding="utf-8-sig")
    listed = ok(ybz("list", "--as", "reviewer", "--json"))
    assert listed["total"] == 1 and listed["items"][0]["state"] == "已登记"
