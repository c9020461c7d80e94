"""Schema migrations (Alembic): one linear history for new installs, and the way up from the old one.

`migrations/versions/` starts from a baseline (`BASELINE`): the schema that the first two waves'
history ended with, squashed into one revision, then one revision after another. That history
(13 branches from 0002, merged over time; stage packages each kept their own) stays in
`migrations/legacy/` for databases made by it: `migrate` first brings such a database to the
legacy history's end, which is exactly the baseline's schema, then moves its version stamp over
to the baseline and carries on in the new history. Nothing is copied or rebuilt on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from .db import make_engine

HERE = Path(__file__).parent / "migrations"
CURRENT = HERE
LEGACY = HERE / "legacy"
BASELINE = "b0001"  # the squashed baseline: the legacy history's end (its head "0030")


def config(url: str, conn: Connection | None = None, *, location: Path = CURRENT) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def revisions(location: Path) -> set[str]:
    return {r.revision for r in ScriptDirectory.from_config(config("", location=location)).walk_revisions()}


def stamped(conn: Connection) -> set[str]:
    """The revisions the database says it is at (none for a new database)."""
    return set(MigrationContext.configure(conn).get_current_heads())


def _from_legacy(url: str, conn: Connection) -> None:
    """A database of the old history: to its end (its heads merged), then stamped as the baseline."""
    command.upgrade(config(url, conn, location=LEGACY), "heads")
    context = MigrationContext.configure(conn)
    conn.execute(text("DELETE FROM alembic_version"))  # the old stamp: its revisions mean nothing here
    context.stamp(ScriptDirectory.from_config(config(url, conn)), BASELINE)


def migrate(url: str) -> None:
    """Bring the schema at `url` to the newest revision (idempotent)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if stamped(conn) & revisions(LEGACY):
                _from_legacy(url, conn)
            command.upgrade(config(url, conn), "head")
    finally:
        engine.dispose()


def upgrade_to(url: str, conn: Connection, heads: list[str]) -> list[str]:
    """Bring an empty database to exactly `heads` (a backup's revisions, of either history).
    Returns the heads this code does not know (nothing is done then)."""
    legacy, current = revisions(LEGACY), revisions(CURRENT)
    unknown = [h for h in heads if h not in legacy | current]
    if unknown:
        return unknown
    for head in heads:
        command.upgrade(config(url, conn, location=LEGACY if head in legacy else CURRENT), head)
    return []


def run_environment(context: Any) -> None:
    """Both histories' `env.py`: run on the connection handed over by `migrate` (or the URL's)."""
    # deferred: the models import every stage, and the stages import db (which imports this lazily)
    from .models import metadata

    cfg = context.config
    connection = cfg.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(cfg.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
