"""The sandbox on Apache Spark (issue 13: "sandbox aggregates" among the heavy jobs): with
YBZ_ENGINE=spark and the views' live states above YBZ_SPARK_MIN_BYTES, a query's copy is built
on the cluster and only its result comes back; what is released is the same as on DuckDB, and
Spark's failures are the sandbox's refusals."""

from __future__ import annotations

import pytest

from tests.operate.conftest import approved
from yibenzhang.config import reset_settings
from yibenzhang.operate import sandbox
from yibenzhang.zone.spark import SparkEngine

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the metadata store is not under test

QUERIES = [
    # groups, a derived clear attribute, a HAVING, an average rounded, a per-run pseudonym counted
    "SELECT 区县, count(*) AS n, count(DISTINCT 身份证号) AS people, round(avg(收入), 2) AS avg_income "
    "FROM {r} GROUP BY 区县 ORDER BY n DESC",
    "WITH adults AS (SELECT 区县, 收入 * 12 AS 年收入 FROM {r} WHERE 年龄 >= 30) "
    "SELECT 区县, count(*) AS n, sum(年收入) AS s FROM adults GROUP BY 1 HAVING count(*) >= 10 ORDER BY 1",
    "SELECT 身份证号_出生年 AS y, 身份证号_性别 AS sex, count(*) AS n FROM {r} GROUP BY ALL ORDER BY 1, 2",
    "SELECT 区县, 性别 AS s FROM {r} WHERE 区县 = '甲' AND 年龄 > 25 ORDER BY 年龄, 性别 LIMIT 5",
]


def run(op, sql: str) -> dict:
    done = sandbox.submit_query(op.db, op.actor(), op.auth_id, sql.format(r=f"r_{op.resource_id}"))
    out = approved(op.world, done)
    # the operator sees one generic reason for a refusal that depends on the rows; the run keeps its own
    return {**{k: out.get(k) for k in ("state", "release_kind", "columns", "row_count", "output")},
            "reason_code": done.reason_code}


@pytest.fixture
def on_spark(spark_remote, monkeypatch):
    calls: list[int] = []
    real = SparkEngine.aggregate

    def spy(self, views, sql, **kw):
        calls.append(len(views))
        return real(self, views, sql, **kw)

    def go() -> list[int]:
        monkeypatch.setattr(SparkEngine, "aggregate", spy)
        monkeypatch.setenv("YBZ_ENGINE", "spark")
        monkeypatch.setenv("YBZ_SPARK_REMOTE", spark_remote)
        monkeypatch.setenv("YBZ_SPARK_MIN_BYTES", "0")
        reset_settings()
        return calls

    yield go
    reset_settings()


def test_the_same_queries_release_the_same_results_on_spark(op, on_spark):
    on_duckdb = [run(op, q) for q in QUERIES]
    assert [r["state"] for r in on_duckdb] == ["已放行"] * len(QUERIES), [r["reason_code"] for r in on_duckdb]
    calls = on_spark()
    assert [run(op, q) for q in QUERIES] == on_duckdb
    assert calls == [1] * len(QUERIES)  # each ran on Spark, over its one view


def test_spark_failures_are_refusals(op, on_spark, monkeypatch):
    on_spark()
    # a planning error names Spark's error class, never the values
    out = run(op, "SELECT 区县, count(*) AS n FROM {r} WHERE CAST(性别 AS INTEGER) > 0 GROUP BY 区县")
    assert out["state"] == "已拒绝" and out["reason_code"] == "sql_runtime_error", out
    # the time limit interrupts the job on the cluster
    monkeypatch.setenv("YBZ_RULE_SANDBOX_TIMEOUT_SECONDS", "0.001")
    reset_settings()
    out = run(op, "SELECT 区县, count(*) AS n FROM {r} GROUP BY 区县")
    assert out["reason_code"] == "sandbox_timeout", out
    # a cluster that is down: recorded as refused with engine_unavailable, to try again
    monkeypatch.delenv("YBZ_RULE_SANDBOX_TIMEOUT_SECONDS")
    monkeypatch.setenv("YBZ_SPARK_REMOTE", "sc://127.0.0.1:9")
    reset_settings()
    out = run(op, "SELECT 区县, count(*) AS n FROM {r} GROUP BY 区县")
    assert out["state"] == "已拒绝" and out["reason_code"] == "engine_unavailable", out
