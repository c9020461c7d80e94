"""`ybz init`: the home folder, the database at the newest migration, reference data.
Idempotent: running it again changes nothing that exists."""

from __future__ import annotations

from typing import Any

from .catalog.taxonomy import seed_categories
from .config import get_settings
from .db import get_database
from .ledger.service import _locked_anchor
from .migrating import migrate
from .registry import module_available


def initialize() -> dict[str, Any]:
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.zone.mkdir(parents=True, exist_ok=True)
    settings.keys_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    leftovers = 0
    if module_available("yibenzhang.zone.storage"):
        # A batch interrupted by a crash leaves staging files only; they are never visible.
        from .zone.storage import clean_leftovers

        leftovers = clean_leftovers(settings.zone)

    with get_database().write() as s:
        added = seed_categories(s)
        _locked_anchor(s)  # the chain's anchor exists from the start
    # The native quality checks are compiled here, at set-up, never by a query (issue 19).
    from .zone import native

    built = native.build()
    return {
        "home": str(settings.home),
        "native_checks": str(built) if built else None,
        "database": settings.db_url.split("@")[-1] if "@" in settings.db_url else settings.db_url,
        "zone": settings.zone_uri or str(settings.zone),
        "categories_added": added,
        "zone_leftovers_removed": leftovers,
    }
