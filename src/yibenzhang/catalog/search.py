"""Catalogue search (being built: Chinese full-text with jieba, FTS5 / PostgreSQL)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .model import Resource


def index_resource(session: Session, resource: Resource) -> None:
    """Update the search index entry of `resource` in the caller's transaction."""


def unindex_resource(session: Session, resource_id: int) -> None:
    """Remove a resource's search index entry."""
