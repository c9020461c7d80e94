"""The OpenLineage schema checker, and a real HTTP receiver that can be down and then up."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC = Path(__file__).parent / "spec"


class LineageSchema:
    """Validates a RunEvent against OpenLineage.json, and each facet against its own schema
    (named by the facet's `_schemaURL`)."""

    def __init__(self) -> None:
        paths = [SPEC / "OpenLineage.json", *sorted((SPEC / "facets").glob("*.json"))]
        docs = [json.loads(p.read_text()) for p in paths]
        self.registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
        self.core = docs[0]
        self.facet_ids = {d["$id"] for d in docs[1:]}

    def _validator(self, ref: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": ref}, registry=self.registry,
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)

    def validate(self, event: dict[str, Any]) -> None:
        self._validator(f"{self.core['$id']}#/$defs/RunEvent").validate(event)
        for facet in _facets(event):
            url = facet["_schemaURL"]
            assert url.split("#")[0] in self.facet_ids, f"facet schema not vendored: {url}"
            self._validator(url).validate(facet)


def _facets(event: dict[str, Any]) -> list[dict[str, Any]]:
    out = list(event["run"].get("facets", {}).values()) + list(event["job"].get("facets", {}).values())
    for ds in event.get("inputs", []) + event.get("outputs", []):
        out += list(ds.get("facets", {}).values()) + list(ds.get("outputFacets", {}).values())
        out += list(ds.get("inputFacets", {}).values())
    return out


@pytest.fixture(scope="session")
def lineage_schema() -> LineageSchema:
    return LineageSchema()


@dataclass
class Receiver:
    """An OpenLineage HTTP endpoint on a fixed loopback port, started and stopped at will."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/lineage"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(json.loads(body))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    r = Receiver(port)  # down until the test brings it up
    yield r
    r.down()
