"""Issue 15: the steward's path without code — `ybz collect` says what it detected and where to
get the rejects; `ybz collect rejects BATCH -o FILE` and GET /api/v1/batches/{id}/rejects give the
reject file to the provider's steward only."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from tests.collect.conftest import HEADER
from yibenzhang.cli import app

ROWS = ["甲,110101199003070001,2023-01-01,1,是,2.5", "乙,110101199003070002,2023-02-30,1,是,3",
        "丙,110101199003070003,2023-01-01,\"12.345\",是,3", "丁,110101199003070004,2023-01-01,1,是,3"]


def collect(*args: str):
    return CliRunner().invoke(app, ["collect", *args], catch_exceptions=False)


def test_report_rejects_by_cli_and_api(world, people, client, tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_bytes(HEADER.replace(",", ";").encode("gb18030") +
                     "".join(r.replace(",", ";") + "\r\n" for r in ROWS).encode("gb18030"))
    out = collect(str(people), str(path), "--as", "police_steward", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["source"]["encoding"] == "gb18030" and report["source"]["delimiter"] == "semicolon"
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (4, 1, 3)
    plain = collect(str(people), str(path), "--as", "police_steward")
    assert "encoding=gb18030" in plain.stdout and "delimiter=semicolon" in plain.stdout
    assert "ybz collect rejects" in plain.stdout

    batch = report["batch_id"]
    target = tmp_path / "rejects.csv"
    denied = collect("rejects", str(batch), "-o", str(target), "--as", "market_steward")
    assert denied.exit_code == 2 and not target.exists()
    got = collect("rejects", str(batch), "-o", str(target), "--as", "police_steward")
    assert got.exit_code == 0, got.output
    lines = list(csv.DictReader(io.StringIO(target.read_bytes().decode("utf-8-sig"), newline="")))
    assert {(r["行号"], r["信息项"], r["代码"], r["原值"]) for r in lines} == {
        ("2", "家庭人口", "integer_fraction", "2.5"), ("3", "出生日期", "date_nonexistent", "2023-02-30"),
        ("4", "月收入", "amount_scale", "12.345")}

    url = f"/api/v1/batches/{batch}/rejects"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=world.headers("market_steward")).status_code == 403
    r = client.get(url, headers=world.headers("police_steward"))
    assert r.status_code == 200 and r.content == target.read_bytes()
    assert client.get("/api/v1/batches/999999/rejects", headers=world.headers("police_steward")).status_code == 404
