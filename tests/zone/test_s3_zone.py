"""Issue 14: the zone on S3-compatible object storage (a real SeaweedFS server, tests/s3_support.py).
Every test here runs on both stores (tests/zone/conftest.py); what differs is asserted per store."""

from __future__ import annotations

import re

import pytest

from tests.collect.conftest import rows_csv
from yibenzhang.config import get_settings
from yibenzhang.errors import DomainError
from yibenzhang.zone import service as zone
from yibenzhang.zone.storage import LEASE
from yibenzhang.zone.store import get_store


def _ingest(world, people, tmp_path, rows: list[str], name: str = "a.csv"):
    from yibenzhang.collect.pipeline import ingest_file

    path = tmp_path / name
    path.write_text(rows_csv(rows), encoding="utf-8")
    return ingest_file(world.db, world.actor("police_steward"), people, path)


def test_the_manifest_names_exact_objects_and_reads_go_through_the_store(world, people, tmp_path, zone_store):
    report = _ingest(world, people, tmp_path, ["张三,110101199003077777,2023-05-01,1,是,1",
                                               "李四,110101199003078888,2023-05-02,2,否,2"])
    store = get_store()
    assert store.is_s3 == (zone_store == "s3")
    with world.db.read() as s:
        batch = zone.list_batches(s, world.actor("admin"), people)[-1]
        files = zone.batch_files(s, report.batch_id)
        relation = zone.current_relation(s, people)
        assert zone.count_current(s, people) == 2
        preview = zone.preview_rows(s, world.actor("admin"), people)
    assert [r["姓名"] for r in preview["rows"]] == ["张三", "李四"]
    if zone_store == "s3":
        # no rename on S3: the batch has a prefix of its own, named by its manifest row
        assert re.fullmatch(r"\d{6}/[0-9A-Z]{18}/[^/]+/000001\.[0-9a-f]{12}", batch["path"])
        assert files == [f"{store.root_uri}/{batch['path']}/{f}" for f in batch["files"]]
        assert files[0].startswith("s3://")
        keys = {e.relative for e in store.files(batch["path"])}
        assert f"{batch['path']}/{LEASE}" not in keys  # the lease goes once the batch is published
        assert {f"{batch['path']}/{f}" for f in batch["files"]} <= keys
        # the credentials live in the filesystem object, never in SQL text (which may be logged)
        assert get_settings().s3_secret_key not in relation
        assert get_settings().s3_access_key not in relation
        assert not (get_settings().zone / batch["path"]).exists()  # nothing of it on the local disk
    else:
        assert batch["path"].endswith("/000001") and not files[0].startswith("s3://")


def test_spark_refuses_an_s3_zone_with_its_reason(sqlite_db, zone_store, monkeypatch):
    """The pyspark wheel has no hadoop-aws (S3A) connector and Maven is out of reach offline: on an
    S3 zone the Spark engine is refused with `engine_unavailable`, never silently replaced."""
    from yibenzhang.config import reset_settings
    from yibenzhang.zone import engine as E

    monkeypatch.setenv("YBZ_ENGINE", "spark")
    monkeypatch.setenv("YBZ_SPARK_REMOTE", "sc://127.0.0.1:1")  # never contacted: refused before
    monkeypatch.setenv("YBZ_SPARK_MIN_BYTES", "1")
    reset_settings()
    if zone_store == "local":
        assert E.named_engine("spark").name == "spark"
        assert E.engine_for(E.Work.QUALITY, input_bytes=10).name == "spark"
        return
    assert not E.spark_reads_s3()
    for call in (lambda: E.named_engine("spark"), lambda: E.engine_for(E.Work.QUALITY, input_bytes=10)):
        with pytest.raises(DomainError) as err:
            call()
        assert err.value.code == "engine_unavailable"
        assert "hadoop-aws" in err.value.message
    # interactive work stays on DuckDB, which reads S3
    assert E.engine_for(E.Work.PREVIEW).name == "duckdb"


def test_quality_and_classification_scan_the_zone(world, people, tmp_path, zone_store):
    """Quality of a batch and of the current state, and a classification scan, read the zone's
    rows on both stores and give the same answers."""
    from yibenzhang.classify.recognizers import classify_resource
    from yibenzhang.quality import service as quality

    report = _ingest(world, people, tmp_path,
                     [f"人{i},{110101199000000000 + i},2023-05-01,{i},是,1" for i in range(50)])
    admin = world.actor("admin")
    by_batch = quality.assess_batch(world.db, admin, report.batch_id)
    current = quality.assess_current(world.db, admin, people)
    assert current["overall"] == by_batch["overall"] is not None
    found = classify_resource(world.db, admin, people, full_scan=True)
    ids = [m for m in found["公民身份号码"] if m.category == "id_card"]
    assert ids and ids[0].evidence["sample_size"] == ids[0].evidence["non_empty"] == 50  # the rows on the store


def test_readyz_checks_the_zone_store_it_is_given(client, zone_store, monkeypatch, tmp_path):
    """Issue 14: /readyz asks the zone's own store — on S3 a listing of the bucket — and answers
    503 naming the zone when that store cannot be reached (an endpoint nothing listens on)."""
    from yibenzhang.config import reset_settings

    get_settings().zone.mkdir(parents=True, exist_ok=True)  # as `ybz init` makes it
    up = client.get("/readyz")
    assert up.status_code == 200, up.text
    if zone_store == "s3":
        monkeypatch.setenv("YBZ_S3_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused
    else:
        not_a_folder = tmp_path / "zone-file"
        not_a_folder.write_text("")
        monkeypatch.setenv("YBZ_ZONE", str(not_a_folder))
    reset_settings()
    down = client.get("/readyz")
    assert down.status_code == 503 and "zone" in down.text
