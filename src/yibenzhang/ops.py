"""Operations (issue 14): liveness and readiness, Prometheus metrics, structured JSON logs.

- `/healthz`: the process answers (no dependency checked: a restart would not help them).
- `/readyz`: the metadata store answers a query, the zone store is there and writable, the
  engine runs a query (and the Spark Connect server accepts a connection when YBZ_ENGINE=spark);
  503 problem+json `not_ready` naming each failing part, so a load balancer stops sending work.
- `/metrics`: request latency by route TEMPLATE (never a raw path: ids and filter values stay out),
  rejects by route and status, the data service's calls by kind and outcome, and the job queue's
  depth by state (read from the store at scrape time). With several workers (`ybz serve
  --workers N`) PROMETHEUS_MULTIPROC_DIR holds each worker's values and a scrape of any worker
  sums them all: one truth.
- Logs: one JSON object a line (python-json-logger) carrying the request id (X-Request-ID, taken
  from the caller when well formed, else made here, and sent back), method, route template,
  status and duration — never a query string, a body, a client address or a user name.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import get_settings
from .db import get_database
from .jobs import Job, JobStatus

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("ybz_request_id", default="-")
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("yibenzhang.access")

# --- metrics -------------------------------------------------------------------------------------

_metrics: dict[str, Any] = {}
_metrics_lock = threading.Lock()


def metrics() -> dict[str, Any]:
    """The process's metric objects, made on first use (after PROMETHEUS_MULTIPROC_DIR is set)."""
    if _metrics:
        return _metrics
    with _metrics_lock:  # the event loop and the thread pool may both come first
        if _metrics:
            return _metrics
        from prometheus_client import Counter, Histogram

        made = dict(
            latency=Histogram("ybz_http_request_duration_seconds", "Time to answer a request, by route template",
                              ["method", "route"],
                              buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)),
            requests=Counter("ybz_http_requests_total", "Requests answered, by route template and status",
                             ["method", "route", "status"]),
            rejects=Counter("ybz_http_rejects_total", "Requests refused (4xx) or failed (5xx), by route and status",
                            ["route", "status"]),
            share=Counter("ybz_share_calls_total", "Data-service calls under grants, by kind and outcome",
                          ["kind", "outcome"]),
        )
        _metrics.update(made)
    return _metrics


def count_share_call(kind: str, outcome: str) -> None:
    metrics()["share"].labels(kind, outcome).inc()


def _queue_collector() -> Any:
    from prometheus_client.core import GaugeMetricFamily

    class QueueDepth:
        def collect(self) -> Any:
            from sqlalchemy import func, select


            g = GaugeMetricFamily("ybz_job_queue_depth", "Jobs in the queue, by state (from the metadata store)",
                                  labels=["state"])
            names = {s.value: s.name.lower() for s in JobStatus}
            counts = {s.value: 0 for s in JobStatus if s is not JobStatus.SUCCEEDED}
            try:
                with get_database().read() as s:
                    for status, n in s.execute(select(Job.status, func.count()).where(
                            Job.status.in_(list(counts))).group_by(Job.status)):
                        counts[status] = int(n)
            except Exception:  # the store is down: /readyz says so; the scrape still answers
                return
            for status, n in counts.items():
                g.add_metric([names[status]], n)
            yield g

        def describe(self) -> list[Any]:
            return []
    return QueueDepth()


def render_metrics() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    metrics()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # this process's own metrics
            registry.register(collector)
    registry.register(_queue_collector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def prepare_multiprocess(folder: Path) -> None:
    """Before the workers start: an empty PROMETHEUS_MULTIPROC_DIR (a previous run's files would
    add to this one's totals)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


# --- readiness -----------------------------------------------------------------------------------


def readiness() -> dict[str, str]:
    """Each part's state: "ok" or why not (no secrets, no paths beyond the kind of failure)."""
    return {"database": _check(_database), "zone": _check(_zone), "engine": _check(_engine)}


def _check(fn: Any) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:  # a part's failure is the answer, not an error of this request
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": ")


def _database() -> None:
    from sqlalchemy import text


    with get_database().engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar()


def _zone() -> None:
    settings = get_settings()
    if settings.zone_on_s3:  # object storage: the bucket must answer a listing of the zone's prefix
        # deferred: keeps `ybz --help` light
        from .zone.store import get_store

        get_store().check()
        return
    path = Path(settings.zone)
    if not path.is_dir():
        raise FileNotFoundError("the zone folder is missing")
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError("the zone folder is not writable")


def _engine() -> None:
    """DuckDB runs in this process (a query on an in-memory connection: the zone's own check is
    the zone's); Spark Connect must accept a connection."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from .zone.engine import literal_rows

    if literal_rows("SELECT 1") != [(1,)]:
        raise RuntimeError("the in-process engine answered SELECT 1 wrongly")
    settings = get_settings()
    if settings.engine == "spark" and settings.spark_remote:
        m = re.match(r"sc://([^:/]+):?(\d+)?", settings.spark_remote)
        if m:
            with socket.create_connection((m.group(1), int(m.group(2) or 15002)), timeout=2):
                pass


# --- the middleware ------------------------------------------------------------------------------


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    if path:
        return str(path)
    return str(scope.get("ybz.route") or "<unmatched>")


class Operations:
    """Outermost ASGI wrapper: request id, latency and status metrics, one JSON log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-request-id"), "")
        rid = given if _GOOD_ID.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        status = [500]
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            took = time.perf_counter() - t0
            route, method, code = _route_of(scope), scope["method"], status[0]
            if route != "/metrics":
                m = metrics()
                m["latency"].labels(method, route).observe(took)
                m["requests"].labels(method, route, str(code)).inc()
                if code >= 400:
                    m["rejects"].labels(route, str(code)).inc()
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("request", extra={"method": method, "route": route, "status": code,
                                                  "duration_ms": round(took * 1000, 2)})
            REQUEST_ID.reset(token)


# --- logging -------------------------------------------------------------------------------------


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def log_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A logging dictConfig for uvicorn and the app: JSON lines with the request id (or plain
    text). uvicorn's own access log is off: it prints raw paths, whose query strings may carry
    personal data (filter values); `yibenzhang.access` logs route templates instead."""
    formatter: dict[str, Any] = (
        {"()": "pythonjsonlogger.json.JsonFormatter",
         "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
         "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}}
        if fmt == "json" else
        {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"})
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": _RequestIdFilter}},
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["request_id"],
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            "": {"handlers": ["stderr"], "level": level},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
