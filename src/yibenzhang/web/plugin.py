"""The web's own pages as a plugin (sign-in, home, the catalogue's pages, the console): registered
last, so a stage's pages come before their broader paths."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.routes"]
