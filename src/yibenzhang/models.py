"""Every table of the metadata store, imported in one place for Alembic and tests."""

from __future__ import annotations

from .catalog import model as catalog_model
from .db import Base
from .ledger import model as ledger_model
from .orgs import model as orgs_model

metadata = Base.metadata

__all__ = ["catalog_model", "ledger_model", "metadata", "orgs_model"]
