"""A real Spark Connect server for the tests: started from the pyspark package (it ships Spark's
jars, Spark Connect included) with Java 17 from Debian, once per run, shared by the xdist workers
through a file lock, and stopped by its process id when the run ends (`stop_all`)."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PIDFILE = "spark-connect.pid"
URLFILE = "spark-connect.url"


def spark_home() -> Path | None:
    try:
        import pyspark
    except ImportError:
        return None
    return Path(pyspark.__file__).parent


def java_ok() -> bool:
    return shutil.which("java") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(shared: Path, *, timeout: float = 180.0) -> str:
    """The URL of the run's Spark Connect server, starting it if no worker has yet."""
    with open(shared / "spark-connect.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url_file = shared / URLFILE
        if url_file.exists():
            return url_file.read_text()
        home = spark_home()
        assert home is not None, "pyspark is not installed"
        port = _free_port()
        work = shared / "spark"
        work.mkdir(exist_ok=True)
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
               "SPARK_LOG_DIR": str(work), "SPARK_PID_DIR": str(work)}
        cmd = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
               "--master", "local[2]", "--driver-memory", "1g",
               "--conf", f"spark.connect.grpc.binding.port={port}",
               "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
               "--conf", "spark.ui.enabled=false",
               "--conf", "spark.sql.shuffle.partitions=4",
               "--conf", f"spark.local.dir={work}",
               "--conf", "spark.sql.session.timeZone=UTC",
               "spark-internal"]
        with open(work / "server.log", "wb") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        (shared / PIDFILE).write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while not _ready(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (work / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Spark Connect did not start:\n{tail}")
            time.sleep(0.5)
        url = f"sc://127.0.0.1:{port}"
        url_file.write_text(url)
        return url


def stop_all(shared: Path) -> None:
    """Stop the run's server (its whole process group: spark-submit and the JVM)."""
    pid_file = shared / PIDFILE
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            continue
        break
    pid_file.unlink(missing_ok=True)
    (shared / URLFILE).unlink(missing_ok=True)
