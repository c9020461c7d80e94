"""Every table of the metadata store, gathered in one place for Alembic and tests.

Each plugin names the modules that declare its tables (`ybz_tables`: a stage keeps them in
`<package>/model.py`); this imports them, so a new package needs no edit here.
"""

from __future__ import annotations

from . import plugins
from .db import Base


def load_models() -> list[str]:
    return [module.__name__ for module in plugins.load_modules("ybz_tables")]


LOADED = load_models()
metadata = Base.metadata
