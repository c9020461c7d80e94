"""assets: a product's authorization becomes a real foreign key; the branches join into one head

`product_products.authorization_id` pointed at `operate_authorizations.id` without a foreign key
while operate (0012) and products (0013) were separate heads whose order was not fixed. This
revision comes after every head, so both tables exist: it checks that no product points at a
missing authorization — refusing with the count rather than deleting anyone's data — and adds the
constraint (batch mode: SQLite rebuilds the table, PostgreSQL alters it in place).

SQLite enforces foreign keys here (`db.make_engine` turns them on, and inside the migration's
transaction they cannot be turned off): the rebuild's DROP of the old table would fail while
other tables' rows (reviews, registrations, …) point at it. So on SQLite, with the checks deferred
to the commit, the rows are set aside in a temporary table, the table is rebuilt empty and the same
rows go back in — ids unchanged, in the same transaction — which settles the deferred checks.

It also joins the branches: its parents are every head that `alembic_version` records
(`ScriptDirectory.get_heads(consider_depends_on=True)`). 0006_jobs, 0010_share_grants and 0012 are
not among them although plain `get_heads()` lists them: 0017, 0021 and 0025 depend on them
(`depends_on`), so Alembic drops their rows from `alembic_version` once those are applied, and a
merge naming them as parents fails with KeyError (alembic issue 1806). They are ancestors of
0030 through those dependencies all the same; `db.migrate` upgrading "heads" is unaffected.

Revision ID: 0030
Revises: 0003_zone, 0004_quality, 0005_objections, 0007_search_facets, 0008_classify,
         0009_share_requests, 0011, 0013, 0014, 0029
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = ("0003_zone", "0004_quality", "0005_objections", "0007_search_facets", "0008_classify",
                 "0009_share_requests", "0011", "0013", "0014", "0029")
branch_labels = None
depends_on = None

# (table, column, referred table, constraint name, ondelete)
FOREIGN_KEYS = [
    ("product_products", "authorization_id", "operate_authorizations",
     "fk_product_products_authorization_id_operate_authorizations", "RESTRICT"),
]


def dangling(table: str, column: str, referred: str) -> int:
    """Rows of `table` whose non-null `column` names no row of `referred`."""
    sql = (f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
           f"(SELECT 1 FROM {referred} r WHERE r.id = t.{column})")
    return op.get_bind().execute(sa.text(sql)).scalar_one()


@contextmanager
def rows_set_aside(table: str) -> Iterator[None]:
    """On SQLite, empty `table` for a rebuild and put its rows back after (see the docstring)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    aside = f"ybz_0030_{table}"
    columns = ", ".join(f'"{c["name"]}"' for c in sa.inspect(bind).get_columns(table))
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f"CREATE TEMP TABLE {aside} AS SELECT {columns} FROM {table}")
    op.execute(f"DELETE FROM {table}")
    yield
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM temp.{aside}")
    op.execute(f"DROP TABLE temp.{aside}")
    op.execute("PRAGMA defer_foreign_keys = OFF")


def upgrade() -> None:
    for table, column, referred, name, ondelete in FOREIGN_KEYS:
        count = dangling(table, column, referred)
        if count:
            raise RuntimeError(
                f"migration 0030: {count} row(s) of {table}.{column} name no {referred}.id; "
                f"the foreign key {name} cannot be added. Nothing was changed or deleted: restore "
                f"the missing {referred} rows or correct those {table} rows, then migrate again.")
        with rows_set_aside(table), op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, referred, [column], ["id"], ondelete=ondelete)


def downgrade() -> None:
    for table, _column, _referred, name, _ondelete in reversed(FOREIGN_KEYS):
        with rows_set_aside(table), op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")
