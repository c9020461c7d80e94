"""`ybz operate …`: authorize, list, query (released and refused: exit 2 with zh + en), runs, suspend."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from yibenzhang.cli import app


def test_operate_commands(op, tmp_path):
    runner = CliRunner()

    def ybz(*args: str):
        return runner.invoke(app, ["operate", *args], catch_exceptions=False)

    def out(r):
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    operator_id = str(op.world.orgs["operator"].id)
    made = out(ybz("authorize", "--operator", operator_id, "--scope-kind", "domain", "--scope", "金融",
                   "--resource", f"{op.resource_id}:区县,收入", "--purpose", "信用评估", "--starts", "2025-03-01",
                   "--ends", "2030-02-28", "--fee-cap-fen", "100", "--as", "reviewer", "--json"))
    assert made["scope_kind"] == "领域" and made["resources"] == [{"resource_id": op.resource_id,
                                                                   "items": ["区县", "收入"]}]
    too_long = ybz("authorize", "--operator", operator_id, "--scope-kind", "全域", "--resource",
                   f"{op.resource_id}:区县", "--purpose", "x", "--starts", "2025-03-01", "--ends", "2030-03-01",
                   "--fee-cap-fen", "0", "--as", "reviewer")
    assert too_long.exit_code == 2 and "term_too_long" in too_long.output
    listed = out(ybz("list", "--as", "operator_user", "--json"))
    assert {a["id"] for a in listed["items"]} == {op.auth_id, made["id"]}

    sql_file = tmp_path / "q.sql"
    sql_file.write_text(f"SELECT 区县, count(*) AS n FROM r_{op.resource_id} GROUP BY 区县 HAVING count(*) >= 10",
                        encoding="utf-8")
    released = out(ybz("query", str(made["id"]), "--file", str(sql_file), "--as", "operator_user", "--json"))
    assert released["state"] == "已放行" and len(released["output"]["rows"]) == 3
    plain = ybz("query", str(made["id"]), "--file", str(sql_file), "--as", "operator_user")
    assert plain.exit_code == 0 and "甲" in plain.output
    small = ybz("query", str(made["id"]), f"SELECT 区县, count(*) AS n FROM r_{op.resource_id} GROUP BY 区县",
                "--as", "operator_user")
    assert small.exit_code == 0 and "threshold" in small.output and "secondary" in small.output  # 丁, then 丙
    refused = ybz("query", str(made["id"]), f"SELECT max(收入) FROM r_{op.resource_id}", "--as", "operator_user")
    assert refused.exit_code == 2 and "lineage_aggregate" in refused.output and "refused" in refused.output
    assert ybz("query", str(made["id"]), "SELECT 1", "--as", "reviewer").exit_code == 2

    assert out(ybz("suspend", str(made["id"]), "--reason", "核查", "--as", "reviewer", "--json"))["state"] == "暂停"
    runs = out(ybz("runs", str(made["id"]), "--as", "reviewer", "--json"))
    assert [r["state"] for r in runs["items"]] == ["已拒绝", "已放行", "已放行", "已放行"]
    assert out(ybz("show", str(made["id"]), "--as", "operator_user", "--json"))["state"] == "暂停"
