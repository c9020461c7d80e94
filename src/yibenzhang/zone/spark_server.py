"""A Spark Connect server on this machine, from the pyspark package (it ships Spark's jars,
Spark Connect included) and Java 17: for `ybz bench engines` when `YBZ_SPARK_REMOTE` is not set,
and for the tests. Production starts its server with `$SPARK_HOME/sbin/start-connect-server.sh`
in front of its cluster (docs/deploy.md)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


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


@dataclass
class LocalServer:
    url: str
    pid: int
    work: Path

    def stop(self) -> None:
        stop(self.pid)


def start(work: Path, *, cores: int = 2, memory: str = "1g", timeout: float = 180.0) -> LocalServer:
    """Start a server on a free loopback port (local[cores]); returns when it accepts calls."""
    home = spark_home()
    if home is None or not java_ok():
        raise RuntimeError("a local Spark Connect server needs pyspark and Java 17 (openjdk-17-jre-headless)")
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(work), "SPARK_PID_DIR": str(work)}
    cmd = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
           "--master", f"local[{cores}]", "--driver-memory", memory,
           "--conf", f"spark.connect.grpc.binding.port={port}",
           "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
           "--conf", "spark.ui.enabled=false",
           "--conf", f"spark.sql.shuffle.partitions={max(2, 2 * cores)}",
           "--conf", f"spark.local.dir={work}",
           "--conf", "spark.sql.session.timeZone=UTC",
           "spark-internal"]
    with open(work / "server.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not _ready(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc.pid)
            tail = (work / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"Spark Connect did not start:\n{tail}")
        time.sleep(0.5)
    return LocalServer(f"sc://127.0.0.1:{port}", proc.pid, work)


def stop(pid: int) -> None:
    """Stop a server started here: its whole process group (spark-submit and the JVM)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
