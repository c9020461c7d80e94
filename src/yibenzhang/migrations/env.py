"""Alembic environment of the current history (see yibenzhang.migrating)."""

from alembic import context

from yibenzhang.migrating import run_environment

run_environment(context)
