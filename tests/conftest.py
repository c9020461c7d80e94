"""Shared fixtures: a fresh home per test, and a fresh metadata store on SQLite and on
PostgreSQL (YBZ_TEST_PG_URL). Under CI=true a missing PostgreSQL or Chromium fails the run."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from yibenzhang.config import reset_settings
from yibenzhang.db import Database, get_database, migrate, reset_databases

PG_URL = os.environ.get("YBZ_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-for-yibenzhang-tests"


def need(condition: bool, what: str) -> None:
    """Skip locally when a real service is missing; fail under CI (nothing may be skipped there)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Worlds create a dozen users per test: hash their passwords with argon2's cheapest profile."""
    from yibenzhang.orgs.service import light_password_hashing

    with light_password_hashing():
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    need(bool(PG_URL), "PostgreSQL (YBZ_TEST_PG_URL)")
    assert PG_URL
    name = f"ybz_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_URL.rpartition("/")
    url = f"{base}/{name}"
    migrate(url)
    yield url
    reset_databases()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("YBZ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("YBZ_SECRET_KEY", TEST_SECRET)
    monkeypatch.delenv("YBZ_DB_URL", raising=False)
    monkeypatch.delenv("YBZ_ZONE", raising=False)
    (tmp_path / "home").mkdir()
    reset_settings()
    reset_databases()
    yield tmp_path / "home"
    reset_databases()
    reset_settings()


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
        )).scalars().all()
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


def _open(url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("YBZ_DB_URL", url)
    reset_settings()
    reset_databases()
    from yibenzhang.catalog.taxonomy import seed_categories

    db = get_database()
    with db.write() as s:
        seed_categories(s)
    return db


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, home: Path, sqlite_template: Path,
       monkeypatch: pytest.MonkeyPatch) -> Database:
    """A fresh, migrated metadata store — each test runs once per backend."""
    if request.param == "sqlite":
        target = home / "ybz.sqlite3"
        shutil.copy(sqlite_template, target)
        return _open(f"sqlite:///{target}", monkeypatch)
    url = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return _open(url, monkeypatch)


@pytest.fixture
def sqlite_db(home: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """SQLite only: for tests whose subject does not depend on the backend."""
    target = home / "ybz.sqlite3"
    shutil.copy(sqlite_template, target)
    return _open(f"sqlite:///{target}", monkeypatch)


@pytest.fixture
def world(db: Database):
    from tests.factories import build_world

    return build_world(db)


@pytest.fixture
def client(world):
    from fastapi.testclient import TestClient

    from yibenzhang.api import create_app

    with TestClient(create_app()) as c:
        yield c
