"""Alembic environment of the legacy history, for databases made by it (see yibenzhang.migrating)."""

from alembic import context

from yibenzhang.migrating import run_environment

run_environment(context)
