"""/docs (Swagger UI) and /redoc served from the installation, never from a CDN.

Government networks often have no internet: FastAPI's default pages load Swagger UI and ReDoc
from jsDelivr and fonts from Google, and show a blank page there. The scripts and styles come
from the `fastapi-offline` package (Swagger UI 5 and ReDoc 2, MIT), mounted under /static/apidocs.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_STATIC = "/static/apidocs"
FAVICON = "/static/favicon.svg"
# Swagger UI's default validatorUrl fetches a badge from validator.swagger.io for every spec.
SWAGGER_PARAMETERS = {"validatorUrl": None, "docExpansion": "none", "defaultModelsExpandDepth": 0}
# The pages may load nothing from elsewhere: ReDoc draws Redocly's logo from cdn.redoc.ly whatever
# its options say, and the browser then waits on a network that is not there.
# No inline script here either (issue 23 item 6): Swagger UI starts from /static/ybz-swagger.js.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")


def swagger_html(title: str, openapi_url: str, redirect_url: str, root: str) -> HTMLResponse:
    """FastAPI's Swagger UI page, with its start-up code in a static file instead of inline."""
    config = {"url": openapi_url, "layout": "BaseLayout", "deepLinking": True, "showExtensions": True,
              "showCommonExtensions": True, "oauth2RedirectPath": redirect_url, **SWAGGER_PARAMETERS}
    data = json.dumps(config).replace("<", "\\u003c")
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{root}{DOCS_STATIC}/swagger-ui.css"><link rel="icon" href="{root}{FAVICON}">
<title>{html.escape(title)}</title></head>
<body><div id="swagger-ui"></div>
<script type="application/json" id="swagger-config">{data}</script>
<script src="{root}{DOCS_STATIC}/swagger-ui-bundle.js"></script>
<script src="{root}/static/ybz-swagger.js"></script>
</body></html>""")


def _same_host_only(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def asset_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def mount_docs(app: FastAPI) -> None:
    """Add /docs, /docs/oauth2-redirect and /redoc; the app must be created with docs_url=None."""
    app.mount(DOCS_STATIC, StaticFiles(directory=asset_dir()), name="apidocs")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _same_host_only(swagger_html(f"{app.title} - Swagger UI", f"{root}{openapi_url}",
                                            f"{root}{redirect_url}", root))

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _same_host_only(get_redoc_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{FAVICON}", with_google_fonts=False,
        ))


# --- response schemas of the routes that answer a file (issue 20) --------------------------------

BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PARQUET = "application/vnd.apache.parquet"
# A JSON file download: an array of objects (rows, or catalogue entries).
JSON_ROWS: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
# JSON-LD as rdflib or our DCAT writer emits it: one object with the context (and a @graph).
JSON_LD: dict[str, Any] = {"type": "object", "required": ["@context"],
                           "properties": {"@context": {"type": "object"},
                                          "@graph": {"type": "array", "items": {"type": "object"}}}}


def file_responses(*media_types: str, schemas: dict[str, dict[str, Any]] | None = None, status: int = 200,
                   description: str = "The file, as an attachment") -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route that answers a file: every media type it can answer (without
    parameters such as charset), each a binary string unless `schemas` gives its JSON schema.
    Use with `response_class=Response`, so FastAPI adds no `application/json` it never answers."""
    extra = schemas or {}
    content = {kind: {"schema": extra.get(kind, BINARY)} for kind in media_types}
    return {status: {"description": description, "content": content}}
