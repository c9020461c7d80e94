"""The data service's two hot calls dispatched ahead of the framework's router (issue 5).

On this FastAPI, finding a route walks every included router in order and costs more CPU than
a whole in-memory row call (≈0.3–0.5 ms of ≈1.3 ms per request, measured with `ybz bench
share`). This ASGI wrapper recognises exactly `GET /api/v1/grants/{id}/rows` and
`POST /api/v1/grants/{id}/verify` and calls the same handlers as the routes in grant_routes
(same services, same auth, same JSON and problem+json); anything it does not fully understand
(another path or method, an id out of params.Id's range, a `limit` that is not an integer, a
body that is not a JSON object of two objects) goes to the app untouched, so the app's own
validation answers it. The routes stay registered for the OpenAPI document.

api.create_app wires it with `app.add_middleware(DataServiceFastPath)` (it sits inside the
server-error middleware, so an unexpected error is still a logged 500).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import DomainError
from ..params import CURSOR_MAX, parse_id
from . import grant_routes

_ROWS = re.compile(r"/api/v1/grants/([0-9]{1,10})/rows")
_VERIFY = re.compile(r"/api/v1/grants/([0-9]{1,10})/verify")
PROBLEM = "application/problem+json"
MAX_BODY = 64 * 1024  # a verification body is a few hundred bytes


class DataServiceFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/v1/grants/"):
            method, path = scope["method"], scope["path"]
            m = _ROWS.fullmatch(path) if method == "GET" else _VERIFY.fullmatch(path) if method == "POST" else None
            if m is not None and parse_id(m.group(1)) is not None:  # else the route's Id answers (422)
                # the route template for metrics and logs (issue 14): the router is skipped here
                scope["ybz.route"] = "/api/v1/grants/{grant_id}/" + ("rows" if method == "GET" else "verify")
                if method == "GET":
                    if await self._rows(scope, receive, send, int(m.group(1))):
                        return
                else:
                    receive = await self._verify(scope, receive, send, int(m.group(1)))
                    if receive is None:
                        return
        await self.app(scope, receive, send)

    async def _rows(self, scope: Scope, receive: Receive, send: Send, grant_id: int) -> bool:
        request = Request(scope, receive)
        params = request.query_params
        try:
            limit = int(params.get("limit", grant_routes.service_rows.DEFAULT_LIMIT))
        except ValueError:
            return False  # the route's own validation answers (422)
        if len(params.get("after") or "") > CURSOR_MAX:
            return False  # likewise (params.Cursor)
        await _answer(scope, receive, send, grant_routes.rows_response(request, grant_id, limit, params.get("after")))
        return True

    async def _verify(self, scope: Scope, receive: Receive, send: Send, grant_id: int) -> Receive | None:
        """Handles the call (returns None) or gives back a `receive` that replays the body."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return _replay(chunks, message)
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_BODY:
                return _replay(chunks, None, more, receive)
        raw = b"".join(chunks)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not (isinstance(body, dict) and set(body) == {"key", "claims"} and isinstance(body["key"], dict)
                and isinstance(body["claims"], dict)):
            return _replay([raw], None)
        request = Request(scope, receive)
        await _answer(scope, receive, send, grant_routes.verify_response(request, grant_id, body["key"],
                                                                         body["claims"]))
        return None


async def _answer(scope: Scope, receive: Receive, send: Send, call: Any) -> None:
    try:
        response = await call
    except DomainError as exc:  # as api.py's handler renders it
        headers = getattr(exc, "headers", None)  # a 429's Retry-After
        response = JSONResponse(exc.as_problem(scope["path"]), status_code=exc.status, media_type=PROBLEM,
                                headers=headers if isinstance(headers, dict) else None)
    await response(scope, receive, send)


def _replay(chunks: list[bytes], last: Message | None, more: bool = False, rest: Receive | None = None) -> Receive:
    """A `receive` that gives the bytes already read, then whatever the original still has."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": more or last is not None}]
    if last is not None:
        pending[0]["more_body"] = False
        pending.append(last)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        assert rest is not None
        return await rest()
    return receive
