"""`ybz backup` / `ybz restore`: round trip on SQLite and PostgreSQL, a backup taken while rows are
being collected, refusal of a non-empty home, corruption caught by the manifest digests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, select, text

from tests.conftest import PG_URL
from tests.factories import published
from tests.s3_support import new_zone_if_s3, zone_file, zone_parquet
from yibenzhang import backup
from yibenzhang.access import Actor
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.config import get_settings, reset_settings
from yibenzhang.db import get_database, reset_databases
from yibenzhang.errors import Conflict, ValidationFailed
from yibenzhang.ledger import service as ledger
from yibenzhang.registry import load
from yibenzhang.search.query import SearchQuery, search_resources
from yibenzhang.share import requests as R
from yibenzhang.zone import service as zone
from yibenzhang.zone.model import Batch

ITEMS = [ItemIn(name="姓名", data_type="C", required=True), ItemIn(name="日期", data_type="D")]


def _csv(path: Path, start: int, n: int) -> Path:
    path.write_text("姓名,日期\n" + "".join(f"人员{start + i},2025-01-{1 + i % 28:02d}\n" for i in range(n)),
                    encoding="utf-8")
    return path


def _state(world, tmp_path: Path) -> dict[str, int]:
    rid = published(world, name="出入境记录", share_type="无条件共享", share_condition=None, items=ITEMS)
    ingest_file(world.db, Actor.system(), rid, _csv(tmp_path / "a.csv", 0, 25), mode="追加")
    with world.db.write() as s:
        req = R.create_request(s, world.actor("consumer"), rid, items=["姓名"], mode="接口", purpose="核验",
                               basis="职责", scenario="业务办理", period_from=R._today(),
                               period_to=R._today().replace(year=R._today().year + 1))
    return {"resource": rid, "request": req.id}


def _answers(world_actor: Any, rid: int, request_id: int) -> dict[str, Any]:
    db = get_database()
    with db.read() as s:
        found = search_resources(s, Actor.system(), SearchQuery(q="出入境"))
        rows = zone.preview_rows(s, Actor.system(), rid, limit=200)
        req = R.request_dict(s, R.get_request(s, Actor.system(), request_id))
        grants = []
        grants_for = load("yibenzhang.share.grants:grants_for")
        if grants_for is not None:
            grants = sorted((g.id, tuple(g.items), g.mode) for g in grants_for(s, Actor.system()))
        report = ledger.verify(s)
    return {"search": (found.total, [i["id"] for i in found.items]), "rows": rows["rows"],
            "request": (req["state"], req["grant_id"]), "grants": grants, "ledger": (report.ok, report.events)}


def _table_counts(url: str) -> dict[str, int]:
    return backup._counts(url)


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A new, empty PostgreSQL database to restore into."""
    assert PG_URL
    name = f"ybz_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL.rpartition('/')[0]}/{name}"
    reset_databases()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _switch_home(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the platform at a new, empty home (and an empty database for PostgreSQL)."""
    target = tmp_path / "restored"
    monkeypatch.setenv("YBZ_HOME", str(target))
    new_zone_if_s3(monkeypatch)
    if get_database().is_sqlite:
        monkeypatch.delenv("YBZ_DB_URL", raising=False)
    else:
        monkeypatch.setenv("YBZ_DB_URL", request.getfixturevalue("empty_pg"))
    reset_settings()
    reset_databases()
    return target


@pytest.mark.parametrize("pg_method", ["pg_dump", "copy"])
def test_round_trip_answers_the_same_queries(world, tmp_path, monkeypatch, request, pg_method):
    ids = _state(world, tmp_path)
    before = _answers(world, ids["resource"], ids["request"])
    source_url = get_settings().db_url
    counts = _table_counts(source_url)
    out = backup.create_backup(tmp_path / "bk", pg_method=pg_method)
    assert out["pg_method"] == (None if get_database().is_sqlite else pg_method)
    assert out["zone_batches"] == 1 and out["zone_missing"] == 0
    assert (tmp_path / "bk" / "manifest.json").is_file()
    assert not list(tmp_path.glob(".bk.partial-*"))
    home = _switch_home(request, monkeypatch, tmp_path)
    restored = backup.restore_backup(tmp_path / "bk")
    assert restored["ledger_ok"] is True and restored["ledger_events"] == before["ledger"][1]
    assert _answers(world, ids["resource"], ids["request"]) == before
    assert before["rows"] and len(before["rows"]) == 25
    assert _table_counts(get_settings().db_url) == counts
    assert (home / "keys").is_dir() and zone_parquet()
    # A new act on the restored platform extends the same chain.
    with get_database().write() as s:
        ledger.append(s, Actor.system(), "test.after_restore", "test", 1, {})
    with get_database().read() as s:
        assert ledger.verify(s).ok


def test_restore_refuses_a_non_empty_home(world, tmp_path):
    _state(world, tmp_path)
    backup.create_backup(tmp_path / "bk")
    with pytest.raises(Conflict) as refused:
        backup.restore_backup(tmp_path / "bk")
    assert refused.value.code == "restore_home_not_empty"
    assert "empty" in refused.value.message_in("en")


def test_backup_refuses_a_non_empty_target(world, tmp_path):
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "x").write_text("x")
    with pytest.raises(Conflict) as refused:
        backup.create_backup(tmp_path / "bk")
    assert refused.value.code == "backup_target_exists"
    with pytest.raises(Conflict) as refused:
        backup.create_backup(get_settings().zone / "bk")
    assert refused.value.code == "backup_target_inside"


def test_a_corrupted_file_is_caught_by_the_manifest(sqlite_db, tmp_path, monkeypatch, request):
    from tests.factories import build_world

    world = build_world(sqlite_db)
    _state(world, tmp_path)
    backup.create_backup(tmp_path / "bk")
    part = next((tmp_path / "bk" / "zone").rglob("*.parquet"))
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    _switch_home(request, monkeypatch, tmp_path)
    with pytest.raises(ValidationFailed) as bad:
        backup.restore_backup(tmp_path / "bk")
    assert bad.value.code == "backup_corrupt" and part.name in bad.value.message_in("zh")
    assert not (tmp_path / "restored" / "ybz.sqlite3").exists()  # nothing restored
    # The manifest itself is covered by manifest.sm3.
    manifest = tmp_path / "bk" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"version": 1', '"version": 1 '))
    with pytest.raises(ValidationFailed) as bad:
        backup.verify_backup(tmp_path / "bk")
    assert bad.value.code == "backup_corrupt"


def test_backup_while_rows_are_being_collected_is_consistent(world, tmp_path, monkeypatch, request):
    rid = published(world, name="出入境记录", items=ITEMS)
    ingest_file(world.db, Actor.system(), rid, _csv(tmp_path / "first.csv", 0, 100), mode="追加")
    stop = threading.Event()
    errors: list[BaseException] = []
    done = [1]

    def collect() -> None:
        try:
            i = 1
            while not stop.is_set() and i < 40:
                ingest_file(world.db, Actor.system(), rid, _csv(tmp_path / f"b{i}.csv", i * 1000, 100), mode="追加")
                done[0] += 1
                i += 1
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=collect)
    worker.start()
    try:
        while done[0] < 3 and worker.is_alive():
            stop.wait(0.05)
        out = backup.create_backup(tmp_path / "bk")
    finally:
        stop.set()
        worker.join()
    assert not errors, errors
    assert out["zone_missing"] == 0
    _switch_home(request, monkeypatch, tmp_path)
    restored = backup.restore_backup(tmp_path / "bk")
    assert restored["ledger_ok"] is True
    with get_database().read() as s:
        batches = s.execute(select(Batch.path, Batch.files, Batch.row_count).where(Batch.resource_id == rid)).all()
        current = zone.count_current(s, rid)
    assert 3 <= len(batches) <= done[0]
    # Every batch the restored metadata knows is wholly there; no folder is there without its row.
    for b in batches:
        rows = sum(pq.ParquetFile(zone_file(f"{b.path}/{f}")).metadata.num_rows for f in b.files)
        assert rows == b.row_count == 100
    on_disk = {p.rsplit("/", 1)[0] for p in zone_parquet()}
    assert on_disk == {b.path for b in batches}
    assert current == 100 * len(batches)


def test_commands_backup_verify_and_refuse(world, tmp_path):
    import json

    from typer.testing import CliRunner

    from yibenzhang.cli import app

    runner = CliRunner()
    _state(world, tmp_path)
    r = runner.invoke(app, ["backup", str(tmp_path / "bk"), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["zone_batches"] == 1
    r = runner.invoke(app, ["restore", str(tmp_path / "bk"), "--verify-only", "--json"], catch_exceptions=False)
    assert r.exit_code == 0 and json.loads(r.output)["ok"] is True
    r = runner.invoke(app, ["restore", str(tmp_path / "bk")], catch_exceptions=False)
    assert r.exit_code == 2 and "restore_home_not_empty" in r.output
    r = runner.invoke(app, ["restore", str(tmp_path / "nothing")], catch_exceptions=False)
    assert r.exit_code == 2 and "backup_invalid" in r.output


def test_a_restore_that_fails_half_way_leaves_the_home_empty(world, tmp_path, monkeypatch, request):
    ids = _state(world, tmp_path)
    before = _answers(world, ids["resource"], ids["request"])
    backup.create_backup(tmp_path / "bk")
    _switch_home(request, monkeypatch, tmp_path)
    real_counts = backup._counts
    monkeypatch.setattr(backup, "_counts", lambda url: {**real_counts(url), "resources": -1})
    with pytest.raises(Conflict) as failed:
        backup.restore_backup(tmp_path / "bk")
    assert failed.value.code == "restore_counts_differ"
    monkeypatch.setattr(backup, "_counts", real_counts)
    # Nothing half-restored is left: the same restore now goes through.
    restored = backup.restore_backup(tmp_path / "bk")
    assert restored["ledger_ok"] and _answers(world, ids["resource"], ids["request"]) == before
