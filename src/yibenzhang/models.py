"""Every table of the metadata store, gathered in one place for Alembic and tests.

Each stage package keeps its tables in `<package>/model.py` (or a module named below); this
imports whichever of them exist so a new package needs no edit here beyond its name.
"""

from __future__ import annotations

import importlib
import importlib.util

from .db import Base

MODEL_MODULES = (
    "orgs.model", "ledger.model", "catalog.model", "zone.model", "collect.model", "quality.model",
    "quality.objections", "jobs", "classify.model", "share.model", "open.model", "operate.model", "assess.model",
)


def load_models() -> list[str]:
    loaded = []
    for name in MODEL_MODULES:
        full = f"{__package__}.{name}"
        parent = full.rsplit(".", 1)[0]
        if parent != __package__ and importlib.util.find_spec(parent) is None:
            continue
        if importlib.util.find_spec(full) is not None:
            importlib.import_module(full)
            loaded.append(name)
    return loaded


LOADED = load_models()
metadata = Base.metadata
