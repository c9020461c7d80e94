"""The tests' S3 server (yibenzhang.zone.s3_server: SeaweedFS), started once per run by the
first xdist worker that needs it (a file lock in the run's folder, as tests/spark_support.py does
for Spark), and stopped by its process id when the run ends (`stop_all`, from the controller's
pytest_unconfigure)."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from yibenzhang.zone.s3_server import S3Server, launch, stop, weed_binary

__all__ = ["S3Server", "start", "stop_all", "weed_binary"]

PIDFILE = "seaweedfs.pid"
INFOFILE = "seaweedfs.json"


def start(shared: Path) -> S3Server:
    """The run's S3 server, starting it if no worker has yet."""
    with open(shared / "seaweedfs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = shared / INFOFILE
        if info.exists():
            return S3Server(**json.loads(info.read_text()))
        server = launch(shared / "seaweedfs")
        (shared / PIDFILE).write_text(str(server.pid))
        info.write_text(json.dumps(server.__dict__))
        return server


def stop_all(shared: Path) -> None:
    pid_file = shared / PIDFILE
    if pid_file.exists():
        stop(int(pid_file.read_text()))
        pid_file.unlink(missing_ok=True)
        (shared / INFOFILE).unlink(missing_ok=True)


# --- helpers for tests that run on either store (fixture `zone_store`) -----------------------


def zone_file(relative: str) -> Path:
    """A local path holding the zone file at `relative` (on S3: a fetched copy)."""
    from yibenzhang.zone.store import get_store

    found = get_store().local_file(relative)
    assert found is not None, f"no zone file {relative}"
    return found


def zone_parquet() -> list[str]:
    """Every Parquet file in the zone (batches, leftovers), relative to its root, sorted."""
    from yibenzhang.config import get_settings
    from yibenzhang.zone.store import get_store

    store = get_store()
    if not store.is_s3:
        root = get_settings().zone
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    return sorted(e.relative for e in store.files() if e.relative.endswith(".parquet"))


def new_zone_if_s3(monkeypatch: object) -> None:
    """Point an S3 zone at a fresh, empty bucket (a restore's target); a local zone follows
    YBZ_HOME by itself."""
    import os

    if not os.environ.get("YBZ_ZONE", "").startswith("s3://"):
        return
    server = S3Server(endpoint=os.environ["YBZ_S3_ENDPOINT"], access_key=os.environ["YBZ_S3_ACCESS_KEY"],
                      secret_key=os.environ["YBZ_S3_SECRET_KEY"], region=os.environ["YBZ_S3_REGION"])
    monkeypatch.setenv("YBZ_ZONE", server.new_zone())  # type: ignore[attr-defined]


STORE_FIXTURES = frozenset({"world", "db", "sqlite_db", "e2e_world"})


def deselect_s3_without_zone(config: object, items: list) -> None:
    """The S3 variant (zone_store=s3) of a test is deselected — not skipped: the combination does
    not exist — when the test cannot touch the zone: it has no metadata store (the manifest says
    what is live), or it needs Spark, which cannot read an S3 zone here (no hadoop-aws in the
    pyspark wheel, no Maven offline; tests/zone/test_s3_zone.py checks that Spark refuses it)."""
    drop = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("zone_store") != "s3":
            continue
        names = set(getattr(item, "fixturenames", ()))
        if "spark_remote" in names or not (names & STORE_FIXTURES):
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)  # type: ignore[attr-defined]
        gone = set(map(id, drop))
        items[:] = [i for i in items if id(i) not in gone]
