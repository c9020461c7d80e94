"""The web pages: the public portal (/, /catalog) and the government console (/console).

Mounted by api.py without a prefix. Page routes render errors as HTML (WebRoute)."""

from __future__ import annotations

from fastapi import APIRouter

from . import auth, pages_catalog, pages_collect, pages_console

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)
auth.register(router)
pages_console.register(router)  # fixed /console/... paths before the catalogue's patterns
pages_collect.register(router)
pages_catalog.register(router)
