"""Every table of the metadata store, gathered in one place for Alembic and tests.

Each stage package keeps its tables in `<package>/model.py` (or a module named below); this
imports whichever of them exist so a new package needs no edit here beyond its name.
"""

from __future__ import annotations

import importlib

from .db import Base
from .registry import module_available

MODEL_MODULES = (
    "orgs.model", "ledger.model", "catalog.model", "zone.model", "collect.model", "quality.model",
    "quality.objections", "jobs", "classify.model", "share.requests", "share.grants",
    "open.model", "operate.model", "operate.products_model", "assess.model", "assess.calendar_model",
    "sso.model", "lineage.model", "library.model",
    "ratelimit",  # issue 14: shared rate-limit counters
)


def load_models() -> list[str]:
    loaded = []
    for name in MODEL_MODULES:
        full = f"{__package__}.{name}"
        if module_available(full):
            importlib.import_module(full)
            loaded.append(name)
    return loaded


LOADED = load_models()
metadata = Base.metadata
