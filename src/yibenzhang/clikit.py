"""Shared pieces of the `ybz` commands: output as a Rich table or JSON, domain errors as a
message in Chinese and English with exit code 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .access import Actor
from .db import get_database
from .errors import DomainError
from .orgs import service as orgs

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON output.")
AsOpt = typer.Option(None, "--as", help="Act as this user (default: the platform itself).")


def acting_as(as_user: str | None) -> Actor:
    """Local commands act as the platform itself unless --as names a user (whose roles the services
    then check like any other caller's)."""
    if not as_user:
        return Actor.system()

    with get_database().read() as s:
        return orgs.actor_for(s, orgs.get_user_by_name(s, as_user))


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def emit(value: Any, as_json: bool, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """JSON, or a table of `columns` for a list of dicts, or key/value lines for a dict."""
    if as_json:
        emit_json(value)
        return
    if isinstance(value, list) and columns:
        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in value:
            table.add_row(*[_cell(row.get(c)) for c in columns])
        console.print(table)
    elif isinstance(value, dict):
        for key, val in value.items():
            console.print(f"[bold]{key}[/bold]: {_cell(val)}")
    else:
        console.print(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@contextmanager
def domain_errors(as_json: bool = False) -> Iterator[None]:
    """Turn a DomainError into a clear message (zh + en, field errors) and exit code 2."""
    try:
        yield
    except DomainError as exc:
        problem = exc.as_problem()
        if as_json:
            emit_json({"error": problem})
        else:
            err_console.print(f"[red]错误 {exc.code}[/red]: {escape(problem['detail'])}")
            err_console.print(f"[red]error {exc.code}[/red]: {escape(problem['detail_en'])}")
            for e in problem.get("errors", []):
                err_console.print(escape(f"  - {e['field']}: {e['message']} / {e['message_en']} [{e['code']}]"))
        raise typer.Exit(2) from None


def run(fn: Callable[[], T], as_json: bool = False) -> T:
    with domain_errors(as_json):
        return fn()
