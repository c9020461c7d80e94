"""/docs (Swagger UI) and /redoc served from the installation, never from a CDN.

Government networks often have no internet: FastAPI's default pages load Swagger UI and ReDoc
from jsDelivr and fonts from Google, and show a blank page there. The scripts and styles come
from the `fastapi-offline` package (Swagger UI 5 and ReDoc 2, MIT), mounted under /static/apidocs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_STATIC = "/static/apidocs"
FAVICON = "/static/favicon.svg"
# Swagger UI's default validatorUrl fetches a badge from validator.swagger.io for every spec.
SWAGGER_PARAMETERS = {"validatorUrl": None, "docExpansion": "none", "defaultModelsExpandDepth": 0}
# The pages may load nothing from elsewhere: ReDoc draws Redocly's logo from cdn.redoc.ly whatever
# its options say, and the browser then waits on a network that is not there.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")


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
        return _same_host_only(get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{FAVICON}", swagger_ui_parameters=SWAGGER_PARAMETERS,
        ))

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
