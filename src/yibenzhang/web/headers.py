"""Security headers on every response (issue 23; GB/T 22239-2019 8.1.4.4 入侵防范,
8.1.4.11 个人信息保护): a content security policy, frame and referrer policies, no MIME sniffing,
HSTS when served over TLS, and `Cache-Control: no-store` wherever personal data may appear
(the console, the API, sign-in), so no shared or browser cache keeps it.

Scripts: every page loads its code from /static (issue 23 item 6, issue 17): the policy is
`script-src 'self'` with no 'unsafe-inline', so injected markup cannot run script. JSON data for
charts sits in <script type="application/json">, which browsers never execute.
YBZ_CSP_STRICT_SCRIPTS=0 relaxes it (with a report-only strict policy beside it) for an
installation that adds a page of its own still needing inline code.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers, MutableHeaders

from ..config import get_security

BASE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
STRICT_SCRIPTS = "script-src 'self'"
LAX_SCRIPTS = "script-src 'self' 'unsafe-inline'"
NO_STORE_PREFIXES = ("/console", "/api/", "/login", "/logout")
HSTS = "max-age=31536000; includeSubDomains"


def policies() -> dict[str, str]:
    if get_security().csp_strict_scripts:
        return {"content-security-policy": f"{BASE_POLICY}; {STRICT_SCRIPTS}"}
    return {"content-security-policy": f"{BASE_POLICY}; {LAX_SCRIPTS}",
            "content-security-policy-report-only": f"{BASE_POLICY}; {STRICT_SCRIPTS}"}


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers to the response start, leaving the body alone."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        https = scope.get("scheme") == "https" or request_headers.get("x-forwarded-proto") == "https"
        path: str = scope.get("path", "")
        fixed = policies()

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                own_policy = "content-security-policy" in headers  # /docs and /redoc set their own
                for name, value in fixed.items():
                    if not own_policy:
                        headers[name] = value
                headers["x-content-type-options"] = "nosniff"
                headers["x-frame-options"] = "DENY"
                headers["referrer-policy"] = "same-origin"
                if https:
                    headers["strict-transport-security"] = HSTS
                if path.startswith(NO_STORE_PREFIXES) and "cache-control" not in headers:
                    headers["cache-control"] = "no-store"  # a route's own deliberate choice stands
            await send(message)

        await self.app(scope, receive, send_with_headers)
