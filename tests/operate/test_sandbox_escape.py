"""Attempts to get out of the sandbox: every one refused with its reason code, and recorded.

Each case runs through the whole service (check, plan, run, release) with the authorization of
the `op` fixture (resource r_<rid>, items 区县 年龄 性别 收入 身份证号 病史 and 机密 graded 核心;
another published resource r_<other> is not authorized)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.operate.conftest import approved, make_auth
from yibenzhang.config import get_settings
from yibenzhang.operate import sandbox
from yibenzhang.operate.model import SandboxRun
from yibenzhang.operate.sql_guard import Refusal

ESCAPES = [
    # subqueries and joins reading what is not authorized, and metadata tables
    ("SELECT 区县, count(*) FROM r_{rid} WHERE 区县 IN (SELECT 姓名 FROM r_{other}) GROUP BY 区县",
     "sql_table_forbidden"),
    ("SELECT count(*) FROM r_{rid} a JOIN r_{other} b ON a.区县 = b.姓名", "sql_table_forbidden"),
    ("SELECT * FROM information_schema.tables", "sql_table_forbidden"),
    ("SELECT * FROM pg_class", "sql_table_forbidden"),
    ("SELECT * FROM sqlite_master", "sql_table_forbidden"),
    ("SELECT * FROM main.r_{rid}", "sql_table_forbidden"),
    ("SELECT * FROM (WITH t AS (SELECT 1 AS a) SELECT * FROM t) x, t", "sql_table_forbidden"),
    ("SELECT * FROM duckdb_tables()", "sql_function_forbidden"),
    # files and the network
    ("SELECT * FROM read_csv('/etc/passwd')", "sql_function_forbidden"),
    ("SELECT count(*) FROM read_parquet('{zone}/**/*.parquet')", "sql_function_forbidden"),
    ("SELECT * FROM read_json_auto('/etc/hosts')", "sql_function_forbidden"),
    ("SELECT * FROM '/etc/passwd'", "sql_table_forbidden"),
    ("SELECT * FROM 'https://example.org/x.csv'", "sql_table_forbidden"),
    ("SELECT * FROM glob('/*')", "sql_function_forbidden"),
    ("SELECT count(*) FROM r_{rid} WHERE 区县 IN (SELECT * FROM read_text('/etc/passwd'))", "sql_function_forbidden"),
    # statements other than SELECT
    ("COPY (SELECT * FROM r_{rid}) TO '/tmp/ybz-escape.csv'", "sql_not_select"),
    ("COPY r_{rid} TO '/tmp/ybz-escape.csv'", "sql_not_select"),
    ("ATTACH '/tmp/ybz-escape.duckdb' AS x", "sql_not_select"),
    ("PRAGMA database_list", "sql_not_select"),
    ("SET enable_external_access = true", "sql_not_select"),
    ("INSTALL httpfs", "sql_not_select"),
    ("LOAD httpfs", "sql_not_select"),
    ("CALL duckdb_settings()", "sql_not_select"),
    ("EXPORT DATABASE '/tmp/ybz-escape'", "sql_syntax"),
    ("DESCRIBE r_{rid}", "sql_not_select"),
    ("CREATE TABLE x AS SELECT * FROM r_{rid}", "sql_not_select"),
    # a second statement: chained, or behind a comment that ends early
    ("SELECT count(*) FROM r_{rid}; COPY r_{rid} TO '/tmp/ybz-escape.csv'", "sql_one_statement"),
    ("SELECT count(*) FROM r_{rid} --\n; ATTACH '/tmp/ybz-escape.duckdb'", "sql_one_statement"),
    ("SELECT count(*) FROM r_{rid} /* */; PRAGMA database_list", "sql_one_statement"),
    # settings, environment and system functions
    ("SELECT * FROM duckdb_settings()", "sql_function_forbidden"),
    ("SELECT current_setting('memory_limit') FROM r_{rid}", "sql_function_forbidden"),
    ("SELECT getenv('HOME') FROM r_{rid}", "sql_function_forbidden"),
    ("SELECT count(*) FROM r_{rid} WHERE 区县 = version()", "sql_function_forbidden"),
    ("SELECT count(*) FROM query('SELECT 1')", "sql_function_forbidden"),
    ("SELECT count(*) FROM range(1000000000)", "sql_function_forbidden"),
    ("SELECT $1 FROM r_{rid}", "sql_construct_forbidden"),
    ("SELECT * FROM r_{rid} USING SAMPLE 5", "sql_construct_forbidden"),
    ("SELECT * FROM (VALUES (1))", "sql_construct_forbidden"),
    ("SELECT 1 AS __ybz_n FROM r_{rid}", "sql_reserved_name"),
    # items: not authorized, graded 核心, renamed by a table alias
    ("SELECT 姓名 FROM r_{rid}", "item_not_authorized"),
    ("SELECT 机密 FROM r_{rid}", "item_grade_forbidden"),
    ("SELECT 区县, count(*) FROM r_{rid} WHERE 机密 = 'S1' GROUP BY 区县", "item_grade_forbidden"),
    ("SELECT a, count(*) FROM r_{rid} AS t(a) GROUP BY a", "sql_column_rename"),
    ("SELECT * REPLACE (收入 AS 区县) FROM r_{rid}", "sql_star_modifier"),
    ("SELECT * EXCLUDE (病史) FROM r_{rid}", "sql_star_modifier"),
    ("WITH r_{rid} AS (SELECT 区县 FROM r_{rid} WHERE 年龄 > 30) SELECT 区县, count(*) FROM r_{rid} GROUP BY 1",
     "sql_reserved_name"),
    ("WITH RECURSIVE t AS (SELECT 1 AS x UNION ALL SELECT x + 1 FROM t) SELECT count(*) FROM t, r_{rid}",
     "sql_construct_forbidden"),
    ("SELECT 区县, count(*) FROM r_{rid} WHERE 区县 = current_user GROUP BY 1", "sql_function_forbidden"),
    ("SELECT 区县, count(*) FROM r_{rid} GROUP BY 区县, COLUMNS('收.*')", "sql_function_forbidden"),
    # outputs that could reveal one person
    ("SELECT * FROM r_{rid}", "lineage_output"),  # 收入, 身份证号 and 病史 are protected: never row-level
    ("SELECT 区县, 收入 FROM r_{rid} WHERE 身份证号 = '990101199001010001'", "lineage_predicate"),
    ("SELECT 区县, sum(CASE WHEN 身份证号 = '990101199001010001' THEN 收入 ELSE 0 END) FROM r_{rid} GROUP BY 区县",
     "release_aggregate_argument"),
    ("SELECT 区县, sum(收入) FILTER (WHERE 身份证号 = '990101199001010001') FROM r_{rid} GROUP BY 区县",
     "release_aggregate_argument"),
    ("SELECT 区县, sum(收入 / (年龄 - 37)) FROM r_{rid} GROUP BY 区县", "release_aggregate_argument"),
    ("WITH t AS (SELECT 区县, CASE WHEN 身份证号 = '990101199001010001' THEN 收入 END AS x FROM r_{rid}) "
     "SELECT 区县, sum(x) FROM t GROUP BY 区县", "lineage_predicate"),
    ("SELECT 区县, max(收入) FROM r_{rid} GROUP BY 区县", "lineage_aggregate"),
    ("SELECT 区县, string_agg(身份证号, ',') FROM r_{rid} GROUP BY 区县", "release_aggregate_forbidden"),
    ("SELECT 区县, count(*), sum(count(*)) OVER () FROM r_{rid} GROUP BY 区县", "release_shape"),
    ("SELECT 区县, count(*) FROM r_{rid} WHERE 收入 = (SELECT 收入 FROM r_{rid} WHERE 身份证号 = '990101199001010001')"
     " GROUP BY 区县", "release_shape"),
    ("SELECT a.区县, count(*) FROM r_{rid} a JOIN r_{rid} b ON a.区县 = b.区县 GROUP BY a.区县", "release_join"),
    ("SELECT 区县 FROM r_{rid} UNION SELECT 性别 FROM r_{rid}", "release_shape"),
    ("SELECT 身份证号, count(*) FROM r_{rid} GROUP BY 身份证号", "lineage_predicate"),
    ("SELECT count(*), avg(收入) FROM r_{rid} WHERE 身份证号 = '990101199001010001'", "lineage_predicate"),
    ("SELECT count(*) FROM \"r_{rid}; ATTACH '/tmp/ybz-escape.duckdb'\"", "sql_table_forbidden"),
]


def test_every_escape_is_refused_with_its_reason_and_recorded(op):
    zone = get_settings().zone
    failures = []
    for template, code in ESCAPES:
        sql = template.format(rid=op.resource_id, other=op.other_resource_id, zone=zone)
        run = sandbox.submit_query(op.db, op.actor(), op.auth_id, sql)
        if run.state != "已拒绝" or run.reason_code != code or run.output_path or run.output_digest:
            failures.append((sql, run.state, run.reason_code, code))
    assert failures == []
    with op.db.read() as s:
        assert s.query(SandboxRun).filter_by(state="已拒绝").count() == len(ESCAPES)
    assert not (zone / "sandbox").exists()


@pytest.mark.parametrize("where", ["区县 = '不存在'", "区县 = '甲''; ATTACH ''/tmp/ybz-escape.duckdb'"])
def test_an_empty_or_small_selection_is_released_empty_or_suppressed(op, where):
    """No row, or a cell below k: nothing of it leaves (a string that looks like a statement is a string)."""
    sql = f"SELECT count(*) AS n FROM r_{op.resource_id} WHERE {where}"
    run = sandbox.submit_query(op.db, op.actor(), op.auth_id, sql)
    out = sandbox.run_as_dict(run, with_output=True)
    assert out["state"] == "已放行"
    assert all(r["n"] is None for r in out["output"]["rows"])
    assert [s["reason"] for s in out["suppressed"]] == ["threshold"] * len(out["output"]["rows"])


def test_a_comment_hiding_a_statement_is_dropped_and_the_query_runs_alone(op):
    sql = f"SELECT count(*) AS n FROM r_{op.resource_id} /* ; COPY r_{op.resource_id} TO '/tmp/x.csv' */ -- ; ATTACH"
    run = sandbox.submit_query(op.db, op.actor(), op.auth_id, sql)
    out = sandbox.run_as_dict(run, with_output=True)
    assert out["state"] == "已放行" and out["output"]["rows"] == [{"n": 169}]


def test_select_star_shows_only_authorized_items(op):
    auth = make_auth(op.world, op.resource_id, ["区县", "性别"])
    run = sandbox.submit_query(op.db, op.actor(), auth, f"SELECT * FROM r_{op.resource_id} LIMIT 5")
    assert run.state == "待审核"  # row-level output waits for a checker (issue 16)
    out = approved(op.world, run)
    assert out["state"] == "已放行" and out["columns"] == ["区县", "性别"]
    run = sandbox.submit_query(op.db, op.actor(), auth, f"SELECT 收入 FROM r_{op.resource_id}")
    assert run.reason_code == "item_not_authorized"


@pytest.mark.parametrize("county, count, released", [("丙", 10, True), ("丁", 9, False)])
def test_a_group_of_k_rows_leaves_and_k_minus_one_does_not(op, county, count, released):
    sql = f"SELECT 区县, count(*) AS n FROM r_{op.resource_id} WHERE 区县 = '{county}' GROUP BY 区县"
    run = sandbox.submit_query(op.db, op.actor(), op.auth_id, sql)
    out = sandbox.run_as_dict(run, with_output=True)
    assert get_settings().rules.sandbox_min_group_rows == 10
    assert out["state"] == "已放行"
    if released:
        assert out["output"]["rows"] == [{"区县": county, "n": count}] and out["suppressed"] == []
    else:  # the cell is suppressed: its group shows, its count does not
        assert out["output"]["rows"] == [{"区县": county, "n": None}]
        assert out["suppressed"] == [{"row": 0, "group": [county], "reason": "threshold"}]


def test_k_is_the_setting(op, monkeypatch):
    from yibenzhang.config import reset_settings

    monkeypatch.setenv("YBZ_RULE_SANDBOX_MIN_GROUP_ROWS", "9")
    reset_settings()
    sql = f"SELECT 区县, count(*) AS n FROM r_{op.resource_id} GROUP BY 区县 ORDER BY n"
    out = sandbox.run_as_dict(sandbox.submit_query(op.db, op.actor(), op.auth_id, sql), with_output=True)
    assert out["state"] == "已放行" and [r["n"] for r in out["output"]["rows"]] == [9, 10, 50, 100]


def test_errors_while_reading_rows_do_not_print_values(op):
    sql = f"SELECT count(*) AS n FROM r_{op.resource_id} WHERE CAST(区县 || 'X' AS INTEGER) > 0"
    run = sandbox.submit_query(op.db, op.actor(), op.auth_id, sql)
    assert run.reason_code == "sql_runtime_error" and "甲" not in (run.reason or "")
    assert "ConversionException" in run.reason  # for the authority; the operator sees the generic text
    assert sandbox.run_as_dict(run)["reason"] == sandbox.GENERIC_REASON
    assert sandbox.run_as_dict(run, for_authority=True)["reason_code"] == "sql_runtime_error"
    typo = sandbox.submit_query(op.db, op.actor(), op.auth_id, f"SELECT avg(区县) FROM r_{op.resource_id}")
    assert typo.reason_code == "sql_error" and "avg" in typo.reason  # planning errors help the operator


def test_the_engine_is_a_second_wall():
    """Even SQL the guard would refuse cannot reach files or settings on the locked connection."""
    table = pa.table({"a": list(range(2000))})
    for sql in ("SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM '/etc/passwd'",
                "COPY t TO '/tmp/ybz-escape.csv'", "ATTACH '/tmp/ybz-escape.duckdb'",
                "SET enable_external_access = true", "SET memory_limit = '64GB'", "INSTALL httpfs"):
        with pytest.raises(Refusal) as exc:
            sandbox.run_locked(sql, {"t": table}, timeout=5, memory_mb=256)
        assert exc.value.code in ("sql_error", "sql_runtime_error"), sql


def test_a_query_past_the_time_limit_is_interrupted():
    table = pa.table({"a": list(range(2000))})
    with pytest.raises(Refusal) as exc:
        sandbox.run_locked("SELECT count(*) FROM t a, t b, t c, t d", {"t": table}, timeout=0.3, memory_mb=256)
    assert exc.value.code == "sandbox_timeout"
