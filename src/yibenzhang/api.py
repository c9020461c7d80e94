"""The FastAPI application: mounts each package's router; errors become problem+json."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, plugins
from .apidocs import mount_docs
from .errors import DomainError, FieldError, NotFound, StorageFull, StoreUnavailable, ValidationFailed, is_no_space
from .registry import module_available
from .web.headers import SecurityHeaders

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)
# Paths that answer machines (JSON, files, documents); every other path is a page for a person.
MACHINE_PREFIXES = ("/api/", "/open/catalog", "/openapi.json", "/docs", "/static/", "/healthz", "/readyz",
                    "/metrics")


def _is_page(request: Request) -> bool:
    """A request for a page (issue 20: a bad id in a page's path is an HTML error page, not a
    JSON problem): a route outside the OpenAPI document, or no route under a page's path."""
    route = request.scope.get("route")
    if route is not None:
        return not getattr(route, "include_in_schema", True)
    return not request.url.path.startswith(MACHINE_PREFIXES)


async def _page_error(request: Request, exc: DomainError) -> Response:
    from starlette.concurrency import run_in_threadpool

    # deferred: keeps jinja2 out of this module's import
    from .web.render import error_page

    return await run_in_threadpool(error_page, request, exc)  # it resolves the actor (the store)


def _problem(status: int, body: dict) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app() -> FastAPI:
    app = FastAPI(
        title="一本账 Yibenzhang API",
        version=__version__,
        description="The platform API of a region's integrated public data resource system. "
        "Authenticate with `Authorization: Bearer <token>` (ybz token create). "
        "Errors are RFC 9457 problem+json with a stable `code` and messages in Chinese and English.",
        docs_url=None, redoc_url=None,  # served from the package by apidocs (no CDN)
    )

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        headers = getattr(exc, "headers", None)  # issue 14: a 429 says when to retry (Retry-After)
        return JSONResponse(exc.as_problem(str(request.url.path)), status_code=exc.status, media_type=PROBLEM,
                            headers=headers if isinstance(headers, dict) else None)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_page(request):  # a person at a browser gets the error page, not a JSON body
            return await _page_error(request, ValidationFailed("request_invalid", "请求的内容不合法", errors=[
                FieldError(name, f"request.{err.get('type', 'invalid')}", "参数“{field}”不合法", {"field": name})
                for err in exc.errors() for name in [".".join(str(p) for p in err.get("loc", ())[1:])]]))
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ())[1:]),
                "code": f"request.{err.get('type', 'invalid')}",
                "message": "请求的内容不合法",
                "message_en": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        return _problem(422, {
            "type": "https://yibenzhang.org/errors/request_invalid", "title": "The request is not valid",
            "status": 422, "code": "request_invalid", "detail": "请求的内容不合法",
            "detail_en": "The request is not valid", "errors": errors, "instance": str(request.url.path),
        })

    # Defence in depth behind the bounded types of params.py: a number or text that reached a
    # driver and did not fit (SQLite's OverflowError, PostgreSQL's DataError: out of range, too
    # long) was the caller's, so it is a 422, not a 500. Logged without the values (they may be
    # personal data), so a route that missed its bounds can still be found and fixed.
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        log.warning("value out of range reached the store: %s %s (%s)", request.method, request.url.path,
                    type(getattr(exc, "orig", None) or exc).__name__)
        problem = ValidationFailed("value_out_of_range", "请求中的数值或文本超出允许的范围")
        return _problem(422, problem.as_problem(str(request.url.path)))

    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)

    # The platform's own parts failing (issue 20's chaos pass): the metadata store restarting or
    # unreachable is a 503 to retry, a full disk a 507 — clear errors, not 500s; the request's
    # transaction was rolled back, so nothing of it is visible.
    async def _store_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("metadata store unavailable: %s %s (%s)", request.method, request.url.path,
                    type(getattr(exc, "orig", None) or exc).__name__)
        problem = StoreUnavailable()
        return JSONResponse(problem.as_problem(str(request.url.path)), status_code=problem.status,
                            media_type=PROBLEM, headers={"Retry-After": "5"})

    async def _os_error(request: Request, exc: Exception) -> Response:
        if not is_no_space(exc):
            raise exc
        log.error("storage full: %s %s", request.method, request.url.path)
        problem = StorageFull()
        return _problem(problem.status, problem.as_problem(str(request.url.path)))

    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(InterfaceError, _store_unavailable)
    app.add_exception_handler(OSError, _os_error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
        if exc.status_code == 404 and _is_page(request):
            return await _page_error(request, NotFound("页面", "not_found"))
        return _problem(exc.status_code, {
            "type": f"https://yibenzhang.org/errors/{code}", "title": str(exc.detail), "status": exc.status_code,
            "code": code, "detail": str(exc.detail), "detail_en": str(exc.detail), "instance": str(request.url.path),
        })

    # Every plugin's API first, then their pages (whose broader paths must not shadow an API route);
    # a stage absent from this installation is skipped, one that is present but broken fails loudly.
    for module in [*plugins.load_modules("ybz_routes"), *plugins.load_modules("ybz_pages")]:
        app.include_router(module.router, prefix=getattr(module, "ROUTE_PREFIX", ""))

    mount_docs(app)  # before /static: its assets live under /static/apidocs
    static = Path(__file__).parent / "web" / "static"
    if static.exists():
        app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True, "version": __version__}

    # issue 14: readiness (database, zone store, engine) and Prometheus metrics
    from . import ops

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        parts = ops.readiness()
        failing = {k: v for k, v in parts.items() if v != "ok"}
        if not failing:
            return JSONResponse({"ready": True, "parts": parts})
        problem = DomainError("not_ready", "服务尚未就绪：{parts}", parts=", ".join(sorted(failing)))
        problem.status = 503
        body = problem.as_problem("/readyz") | {"parts": parts, "failing": sorted(failing)}
        return JSONResponse(body, status_code=503, media_type=PROBLEM, headers={"Retry-After": "5"})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        data, kind = ops.render_metrics()
        return Response(data, media_type=kind)

    if module_available("yibenzhang.share.fastpath"):
        # The data service's two hot calls (rows, 核验) skip the router walk; same handlers, same
        # auth and errors (issue 5's throughput: 1,165-1,461 against 491-759 requests/s).
        from .share.fastpath import DataServiceFastPath

        app.add_middleware(DataServiceFastPath)

    app.add_middleware(SecurityHeaders)  # issue 23: outermost, so every response carries them
    app.add_middleware(ops.Operations)  # issue 14: request ids, latency by route, JSON access log
    return app


