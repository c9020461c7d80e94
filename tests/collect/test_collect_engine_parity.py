"""Collection on Spark (issue 13): a large file's coerce-and-write runs on a real Spark Connect
server when YBZ_ENGINE=spark, and gives what DuckDB gives — the same accepted rows with the same
types, the same reject file byte for byte, the same counts — on generated files and values
(hypothesis), including the numbers where Java 17's double-to-text is not the shortest."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.collect.test_exact import ITEMS as EXACT_ITEMS
from tests.collect.test_exact import alphabet, values
from tests.factories import published
from tests.s3_support import zone_file
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.coerce import MACROS, ItemSpec, Plan, shortest_layers
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.config import get_settings, reset_settings
from yibenzhang.errors import DomainError
from yibenzhang.zone import service as zone
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.port import Files
from yibenzhang.zone.spark import EngineUnavailable

ONE_STORE = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the metadata store is not under test

SPECS = [ItemSpec(n, {"C": "字符型", "I": "整型", "Y": "货币型", "N": "数值型", "D": "日期型", "T": "日期时间型",
                      "L": "逻辑型"}[t], codelike=n == "证件号码") for n, t in EXACT_ITEMS]
# Java 17's Double.toString gives 17 digits where 16 suffice for these (JDK-4511638), and a few
# classics of the shortest-text rule around them
JDK_NUMBERS = ["39519560218217824", "3.9519560218217824E16", "5.701603295534973e+16", "2.82879384806159E17",
               "2.82879384806159008E17", "5e-324", "4.9e-324", "4.9E-324", "1e23", "1.0E23", "9007199254740993",
               "0.1", "0.10000000000000001", "1e-400", "0.000", "-0.0", "1.7976931348623157e308", "1.8e308",
               "123456789012345678", "2.0E-3", "0.30000000000000004"]
# dates a Java pattern could read otherwise than strptime: the year 0000 (Spark's proleptic year 0),
# one-digit fields, compact forms, a time in each form, fractions of 1 to 6 digits, 24:00, leap days
DATE_TEXTS = ["0000-05-03", "0000-01-01 00:00", "2023-1-5", "2023/01/5", "2023.1.05", "2023年1月5日", "20230105",
              "20231305", "2023-02-29", "2024-02-29", "2023-01-05 8:05", "2023-01-05T08:05:09", "2023-01-05 24:00",
              "2023-01-05 08:05:09.5", "2023-01-05 08:05:09.123456", "2023-01-05 08:05:09.1234567",
              "2023年1月5日8时5分9秒", "2023-01-0508时05分09秒", "20230105 08:05", "2023-01-05 00:00:00",
              "2023-01-05 00:00:00.000001", "9999-12-31 23:59:59",
              # each shape of the formats (Spark tries the one pattern whose literals a text has)
              "2023.01.05 08:05", "2023/1/5T8:05", "2023年01月05日 08:05:09", "20230105T080509",
              "2023.1.5T8:5:9.5", "2023-01-05t08:05", "2023-01-05 08:05:60", "2023/01/05 8:05:09.",
              "2023-01-05 8-05", "2023年1月5日T08:05", "202301058时5分9秒"]
# no shrinking: each example is a Spark job, and a failure names its differing values itself
HYPO = settings(max_examples=4, deadline=None, report_multiple_bugs=False,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def _rows_of(db, batch_id: int) -> pa.Table:
    with db.read() as s:
        files = [str(p) for p in zone.batch_files(s, batch_id)]
    return pa.concat_tables([pq.read_table(f) for f in files]).sort_by("_row")


def _coerce_on_both(spark_remote: str, table: pa.Table, tmp: Path) -> tuple[pa.Table, pa.Table]:
    """The coerce plan over `table` (text, numbered) on DuckDB and on Spark, rows in order."""
    raw = tmp / "raw.parquet"
    pq.write_table(table, raw)
    mapping = {i.name: i.name for i in SPECS}
    con = duckdb.connect()
    for macro in MACROS:
        con.execute(macro)
    here = con.sql(Plan(SPECS, mapping).coerced_sql(f"read_parquet('{raw}')") + " ORDER BY _row").to_arrow_table()
    spark = named_engine("spark")
    written, _rest = spark.split(Files((str(raw),)), Plan(SPECS, mapping, inline=True).coerced_sql("r"),
                                "SELECT * FROM r", "SELECT * FROM r WHERE FALSE", str(tmp / "out"), str(tmp / "work"))
    there = pa.concat_tables([pq.read_table(tmp / "out" / f) for f in written.files]).sort_by("_row")
    return here, there.select(here.column_names)


@pytest.fixture
def on_spark(spark_remote, monkeypatch):
    monkeypatch.setenv("YBZ_SPARK_REMOTE", spark_remote)
    reset_settings()
    return spark_remote


def _use(monkeypatch, engine: str) -> None:
    monkeypatch.setenv("YBZ_ENGINE", engine)
    monkeypatch.setenv("YBZ_SPARK_MIN_BYTES", "0")
    reset_settings()


@HYPO
@given(rows=st.lists(st.tuples(*(values(alphabet("utf-8"))[t if n != "证件号码" else "codes"] for n, t in EXACT_ITEMS)),
                     min_size=1, max_size=80))
def test_the_coerce_plan_gives_the_same_values_on_spark(on_spark, tmp_path_factory, rows) -> None:
    """Every value, typed or refused, is the same on both engines: generated renderings,
    near-misses, Excel-mangled values and any text, and the numbers of JDK_NUMBERS."""
    numbers = [(None,) * 4 + (x,) + (None,) * 3 for x in JDK_NUMBERS]
    dates = [(None,) * 5 + (x, x, None) for x in DATE_TEXTS]
    rows = [*rows, *dates, *numbers]
    table = pa.table({**{n: [r[i] for r in rows] for i, (n, _t) in enumerate(EXACT_ITEMS)},
                      "_row": list(range(1, len(rows) + 1))})
    here, there = _coerce_on_both(on_spark, table, tmp_path_factory.mktemp("coerce"))
    assert here.schema.equals(there.schema.remove_metadata(), check_metadata=False), (here.schema, there.schema)
    sent = {row: values for row, values in zip(table.column("_row").to_pylist(), rows, strict=True)}
    for name in here.column_names:
        a, b = here.column(name), there.column(name)
        if not a.equals(b):
            at = [i for i in range(len(a)) if a[i] != b[i]][:5]
            ids = [here.column("_row")[i].as_py() for i in at]
            pytest.fail(f"{name}: " + "; ".join(f"{sent[r]!r}: {a[i]} ≠ {b[i]}" for r, i in zip(ids, at, strict=True)))
    # the Java-17 numbers are decided by the shortest-text rule, not by Java's text
    decided = dict(zip(here.column("_row").to_pylist(), here.column("数值").to_pylist(), strict=True))
    first = len(rows) - len(JDK_NUMBERS) + 1
    got = {JDK_NUMBERS[i]: decided[first + i] for i in range(len(JDK_NUMBERS))}
    assert got["39519560218217824"] is None and got["3.9519560218217824E16"] is None  # 16 digits suffice
    assert got["5.701603295534973e+16"] == 5.701603295534973e16 and got["0.1"] == 0.1
    assert got["0.10000000000000001"] is None and got["1e-400"] is None and got["1.8e308"] is None


def test_the_shortest_text_layers_agree_with_the_macro_on_duckdb() -> None:
    """`shortest_layers` (no macros, no trust in the engine's double-to-text being shortest) gives
    the DuckDB macro's answer, whose double-to-text is the shortest, on 80,000 texts of doubles."""
    rnd = random.Random(2026)
    texts = []
    for _ in range(10000):
        x = rnd.choice([rnd.random() * 10 ** rnd.randint(-30, 30), rnd.getrandbits(60) * 1.0,
                        rnd.uniform(-1e17, 1e17), rnd.random() * 10 ** rnd.randint(-320, 308)])
        texts += [repr(x), f"{x:.17g}", f"{x:.16g}", f"{x:.15g}", f"{x:.18g}", "-" + repr(x), f"{x:.3e}", "0.000"]
    con = duckdb.connect()
    for macro in MACROS:
        con.execute(macro)
    con.register("t", pa.table({"g": texts}))
    layers, test = shortest_layers("g", "d", 0)
    sql = "SELECT g, TRY_CAST(g AS DOUBLE) AS d FROM t"
    for layer in layers:
        sql = f"SELECT *, {', '.join(layer)} FROM ({sql})"
    rows = con.sql(f"SELECT g, ybz_canon(g) = ybz_canon(CAST(d AS VARCHAR)), {test} FROM ({sql})").fetchall()
    differ = [r for r in rows if bool(r[1]) != bool(r[2])]
    assert not differ, differ[:10]
    assert sum(1 for r in rows if r[1]) > 30000  # most are accepted, and some are not
    assert sum(1 for r in rows if not r[1]) > 10000


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([n for n, _t in EXACT_ITEMS])
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")


@ONE_STORE
@HYPO
@given(rows=st.lists(st.tuples(*(values(alphabet("gbk"))[t if n != "证件号码" else "codes"] for n, t in EXACT_ITEMS))
                     .map(list), min_size=1, max_size=30))
def test_a_file_collected_on_spark_is_the_file_collected_on_duckdb(world, on_spark, monkeypatch, tmp_path_factory,
                                                                   rows) -> None:
    """The whole ingest of a generated GB18030 file, once per engine into resources alike: the same
    counts, the same accepted rows and types, the same reject file byte for byte; on Spark the
    batch's files are the parts Spark wrote."""
    folder = tmp_path_factory.mktemp("file")
    path = folder / "部门数据.csv"
    path.write_bytes(_csv(rows))
    items = [ItemIn(name=n, data_type=t) for n, t in EXACT_ITEMS]
    steward = world.actor("police_steward")
    reports, tables, rejects = [], [], []
    for engine in ("duckdb", "spark"):
        _use(monkeypatch, engine)
        resource = published(world, items=items, update_cycle="不定期")
        try:
            report = ingest_file(world.db, steward, resource, path, mode="全量")
        except Exception as exc:  # a refusal (a wrong-type column, no rows) must be the same too
            reports.append(type(exc).__name__ + getattr(exc, "code", ""))
            continue
        reports.append((report.status, report.rows_read, report.rows_accepted, report.rows_rejected))
        tables.append(_rows_of(world.db, report.batch_id))
        rejects.append(zone_file(report.reject_file).read_bytes() if report.reject_file else None)
        with world.db.read() as s:
            names = [Path(p).name for p in zone.batch_files(s, report.batch_id)]
        assert all(n.startswith("part-") for n in names) and (engine == "duckdb") == (names == ["part-000000.parquet"])
    assert reports[0] == reports[1]
    if tables:
        assert tables[0].schema.equals(tables[1].schema, check_metadata=False)
        assert tables[0].equals(tables[1])
        assert rejects[0] == rejects[1]


@ONE_STORE
def test_spark_down_fails_the_collection_cleanly(world, zone_store, monkeypatch, tmp_path) -> None:
    """A Spark Connect server that is not there (or, on S3, a Spark that cannot read the zone):
    `engine_unavailable` (503, retry later), nothing published, no staging folder left."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("YBZ_SPARK_REMOTE", f"sc://127.0.0.1:{port}")
    monkeypatch.setenv("YBZ_SPARK_RETRIES", "0")
    _use(monkeypatch, "spark")
    resource = published(world, items=[ItemIn(name=n, data_type=t) for n, t in EXACT_ITEMS], update_cycle="不定期")
    path = tmp_path / "a.csv"
    path.write_bytes(_csv([["备注", "110101199003077777", "3", "1.50", "2.5", "2024-01-02", "2024-01-02 08:00", "是"]]))
    with pytest.raises(DomainError) as caught:
        ingest_file(world.db, world.actor("police_steward"), resource, path)
    assert caught.value.code == "engine_unavailable"
    # down: 503, retry later; on S3 a Spark without the S3 connector is the deployment's fault
    assert isinstance(caught.value, EngineUnavailable) == (caught.value.status == 503) == (zone_store == "local")
    with world.db.read() as s:
        assert zone.live_state(s, resource).parts == ()
    if zone_store == "local":
        staging = get_settings().zone / ".staging"
        assert not staging.exists() or [p for p in staging.iterdir() if not p.name.startswith(".")] == []
