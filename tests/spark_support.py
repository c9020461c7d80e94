"""The tests' Spark Connect server (yibenzhang.zone.spark_server): started once per run by the
first xdist worker that needs it (a file lock in the run's folder), stopped by its process id
when the run ends (`stop_all`, from the controller's pytest_unconfigure)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from yibenzhang.zone import spark_server

PIDFILE = "spark-connect.pid"
URLFILE = "spark-connect.url"
java_ok = spark_server.java_ok
spark_home = spark_server.spark_home


def start(shared: Path) -> str:
    """The URL of the run's Spark Connect server, starting it if no worker has yet."""
    with open(shared / "spark-connect.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url_file = shared / URLFILE
        if url_file.exists():
            return url_file.read_text()
        server = spark_server.start(shared / "spark")
        (shared / PIDFILE).write_text(str(server.pid))
        url_file.write_text(server.url)
        return server.url


def stop_all(shared: Path) -> None:
    pid_file = shared / PIDFILE
    if pid_file.exists():
        spark_server.stop(int(pid_file.read_text()))
        pid_file.unlink(missing_ok=True)
        (shared / URLFILE).unlink(missing_ok=True)
