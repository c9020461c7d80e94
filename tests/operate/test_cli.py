"""`ybz operate …`: authorize, list, query (released and refused: exit 2 with zh + en), runs, suspend."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from yibenzhang.cli import app


def ybz(*args: str):
    return CliRunner().invoke(app, ["operate", *args], catch_exceptions=False)


def out(r):
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_operate_commands(op, tmp_path):
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


def test_output_checking_and_privacy_budget_commands(op):
    """Issue 16 from the command line: a held output is not a refusal (exit 0, its flags); the
    authority lists and decides it (never its author); the budget is read and set, a noisy
    statistic is paid from it, and the release that would exceed it exits 2 with the reason."""
    auth = str(op.auth_id)
    rows_sql = f"SELECT 区县, 性别 AS s FROM r_{op.resource_id} WHERE 区县 = '甲' LIMIT 5"
    held = ybz("query", auth, rows_sql, "--as", "operator_user")
    assert held.exit_code == 0 and "待审核" in held.output and "held" in held.output and "已拒绝" not in held.output
    run = out(ybz("query", auth, rows_sql, "--as", "operator_user", "--json"))
    assert run["held"] and run["output"] is None and run["review"]["flags"]
    listed = out(ybz("checks", "--authorization", auth, "--as", "reviewer", "--json"))
    assert run["id"] in {r["run_id"] for r in listed["items"]} and listed["total"] == 2
    assert out(ybz("checks", "--as", "operator_user", "--json"))["total"] == 0  # not a checker
    own = ybz("approve", str(run["id"]), "--reason", "自批", "--as", "operator_user")
    assert own.exit_code == 2
    assert out(ybz("approve", str(run["id"]), "--reason", "行级数据已核对", "--as", "reviewer", "--json"))["state"] == \
        "已批准"
    assert out(ybz("reject", str(listed["items"][0]["run_id"]), "--reason", "含个人信息", "--as", "reviewer",
                   "--json"))["state"] == "已驳回"

    assert out(ybz("budget", auth, "--as", "operator_user", "--json"))["mode"] == "输出检查"
    assert ybz("budget", auth, "--mode", "隐私预算", "--epsilon-total", "1", "--as", "operator_user").exit_code == 2
    set_ = out(ybz("budget", auth, "--mode", "隐私预算", "--epsilon-total", "1", "--as", "reviewer", "--json"))
    assert set_["mode"] == "隐私预算" and set_["epsilon_remaining"] == 1.0
    noisy = out(ybz("noisy", auth, "--resource", str(op.resource_id), "--statistic", "count", "--epsilon", "0.4",
                    "--filter", "区县=甲", "--as", "operator_user", "--json"))
    assert noisy["state"] == "已放行" and noisy["release_kind"] == "差分隐私" and len(noisy["output"]["rows"]) == 1
    over = ybz("noisy", auth, "--resource", str(op.resource_id), "--statistic", "count", "--epsilon", "0.7",
               "--as", "operator_user")
    assert over.exit_code == 2 and "privacy_budget_exhausted" in over.output
    spent = out(ybz("budget", auth, "--spends", "--as", "operator_user", "--json"))
    assert spent["epsilon_spent"] == 0.4 and [s["run_id"] for s in spent["spends"]] == [noisy["id"]]
    bad = ybz("noisy", auth, "--resource", str(op.resource_id), "--statistic", "sum", "--epsilon", "0.1",
              "--item", "年龄", "--bounds", "0;120", "--as", "operator_user")
    assert bad.exit_code == 2 and "--bounds" in bad.output
