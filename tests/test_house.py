"""Rules of the house that a reader cannot see at a glance, checked over the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

ROOTS = [Path(__file__).parents[1] / "src", Path(__file__).parent]
SKIP = {".venv", "node_modules"}


def _python_files() -> list[Path]:
    return [p for root in ROOTS for p in root.rglob("*.py") if not SKIP & set(p.parts)]


def test_no_code_runs_on_duckdbs_process_wide_default_connection():
    """`duckdb.sql(...)`, `duckdb.execute(...)` and the like run on one connection shared by every
    thread of the process: one caller's unfinished result (DuckDB 2 then refuses other work on
    that connection) or close breaks the next caller, and which caller runs first depends on test
    order (CI runs 3 and 4 of session 3 failed so). Every query opens a connection of its own."""
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "duckdb"
                    and node.func.attr != "connect"):
                offenders.append(f"{path}:{node.lineno}: duckdb.{node.func.attr}(...)")
    assert len(_python_files()) > 100  # the walk found the tree
    assert offenders == []
