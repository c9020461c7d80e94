"""SM4 at rest (GB/T 39786-2021 8.4 d; GB/T 22239-2019 8.1.4.8): the metadata store's SQLite
file and a PostgreSQL dump hold no objection text and no second-factor secret in clear; key
rotation keeps everything readable; rows from before the migration are sealed by it."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from datetime import date

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, text

from tests.conftest import need
from tests.factories import published
from yibenzhang.access import Actor, Grant
from yibenzhang.config import reset_settings
from yibenzhang.enums import Role
from yibenzhang.errors import PermissionDenied
from yibenzhang.orgs import mfa
from yibenzhang.quality import objections as obj_svc
from yibenzhang.quality.objections import Objection
from yibenzhang.sealing import key_id_of, rotate

CLAIM = "住址应为春城市盘龙区幸福路十八号"
EXPECTED = "身份号码530102199001011234"
ROW_KEY = {"公民身份号码": "530102198808086666"}
REASON = "经核对户籍底册予以受理"
SECADMIN = Actor(user_id=None, username="secadm", grants=(Grant(Role.SECURITY_ADMIN),))
K1 = "k1:" + "11" * 32
K2 = "k2:" + "22" * 32


def _file(world) -> int:
    rid = published(world)
    with world.db.write() as s:
        obj = obj_svc.file_objection(s, world.actor("consumer"), rid, claim=CLAIM, expected=EXPECTED,
                                     items=["公民身份号码"], row_key=ROW_KEY, today=date(2026, 3, 2))
        obj_svc.answer_objection(s, world.actor("police_steward"), obj.id, answer="受理", reason=REASON,
                                 today=date(2026, 3, 3))
        return obj.id


def _secrets(world) -> list[str]:
    with world.db.write() as s:
        return [mfa.begin_enrolment(s, world.users["reviewer"])]


def _stored(world) -> bytes:
    """Every byte the metadata store keeps: the SQLite file (and its WAL), or a pg_dump."""
    url = str(world.db.engine.url)
    if url.startswith("sqlite"):
        world.db.engine.dispose()
        path = world.db.engine.url.database
        return b"".join(open(p, "rb").read() for p in (path, path + "-wal") if __import__("os").path.exists(p))
    need(shutil.which("pg_dump") is not None, "pg_dump")
    out = subprocess.run(["pg_dump", "--data-only", url.replace("postgresql+psycopg", "postgresql")],
                         capture_output=True, check=True)
    return out.stdout


def test_no_objection_text_or_secret_in_the_stored_bytes(world):
    oid = _file(world)
    secrets = _secrets(world)
    with world.db.read() as s:  # readable through the services
        obj = s.get(Objection, oid)
        assert (obj.claim, obj.expected, obj.row_key, obj.answer_reason) == (CLAIM, EXPECTED, ROW_KEY, REASON)
    stored = _stored(world)
    assert b"sm4:" in stored  # the sealed values are there
    for clear in [CLAIM, EXPECTED, REASON, *ROW_KEY.values(), *secrets]:
        assert clear.encode("utf-8") not in stored, clear


def test_rotation_keeps_everything_readable(world, monkeypatch):
    monkeypatch.setenv("YBZ_DATA_KEYS", K1)
    reset_settings()
    oid = _file(world)
    monkeypatch.setenv("YBZ_DATA_KEYS", f"{K2},{K1}")
    reset_settings()
    with world.db.write() as s, pytest.raises(PermissionDenied):
        rotate(s, world.actor("police_steward"))
    with world.db.write() as s:
        counts = rotate(s, SECADMIN)
    assert counts["objections"] == 1
    monkeypatch.setenv("YBZ_DATA_KEYS", K2)  # the old key leaves the ring
    reset_settings()
    with world.db.read() as s:
        obj = s.get(Objection, oid)
        assert (obj.claim, obj.row_key, obj.answer_reason) == (CLAIM, ROW_KEY, REASON)
        raw = s.execute(text("SELECT claim, answer_reason FROM objections")).one()
    assert {key_id_of(v) for v in raw} == {"k2"}


def test_the_migration_seals_rows_written_in_clear(world):
    oid = _file(world)
    with world.db.write() as s:  # as a row looked before revision 0018
        s.execute(text("UPDATE objections SET claim = :c, answer_reason = :r WHERE id = :i"),
                  {"c": CLAIM, "r": REASON, "i": oid})
    migration = importlib.import_module("yibenzhang.migrations.legacy.versions.0018_security")
    with world.db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.seal_objections()
    with world.db.read() as s:
        raw = s.execute(text("SELECT claim, answer_reason FROM objections")).one()
        assert all(v.startswith("sm4:") for v in raw)
        obj = s.execute(select(Objection).where(Objection.id == oid)).scalar_one()
        assert (obj.claim, obj.answer_reason, obj.row_key) == (CLAIM, REASON, ROW_KEY)
