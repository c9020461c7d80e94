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


# Issue 13: the engine is a port; DuckDB is the zone's business. No module outside zone/ (the
# DuckDB engine, its native extension and its sandbox runner) and bench/ (the plain baselines)
# imports it.
def _modules(package: Path):
    for path in package.rglob("*.py"):
        rel = path.relative_to(package).as_posix()
        if not rel.startswith(("zone/", "bench/")):
            yield rel, ast.parse(path.read_text(encoding="utf-8"))


def test_duckdb_is_imported_only_by_the_zone_and_the_benchmarks():
    importers = set()
    for rel, tree in _modules(ROOTS[0] / "yibenzhang"):
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "duckdb" or n.startswith("duckdb.") for n in names):
                importers.add(rel)
    assert not importers, sorted(importers)


# What the port has not taken over yet: stages that still hold a connection of the in-process
# engine (or its table expression) and write DuckDB's dialect on it, rather than asking an engine
# for an operation (count, query, write, run_platform_sql, aggregate) that DuckDB and Spark both
# answer. The list may only shrink: a stage that newly reaches for a connection fails here.
RAW_ENGINE = {"get_engine", "Connection", "shared_cursor", "current_relation", "DuckDBEngine"}
ON_A_DUCKDB_CONNECTION = {
    "classify/masking.py", "collect/pipeline.py", "quality/evaluate.py", "quality/service.py",
    "quality/validators.py",
}


def test_stages_on_a_duckdb_connection_are_the_listed_ones():
    holders = set()
    for rel, tree in _modules(ROOTS[0] / "yibenzhang"):
        for node in ast.walk(tree):
            if (isinstance(node, ast.ImportFrom) and node.module and "zone" in node.module.split(".")
                    and {a.name for a in node.names} & RAW_ENGINE):
                holders.add(rel)
    assert holders <= ON_A_DUCKDB_CONNECTION, sorted(holders - ON_A_DUCKDB_CONNECTION)
    assert holders == ON_A_DUCKDB_CONNECTION, sorted(ON_A_DUCKDB_CONNECTION - holders)


# Issue 19's layer rules. Pages call services: nothing under web/ imports zone/ or ledger/; no stage
# imports web/, api.py or cli.py; zone/ and ledger/ import no stage. The imports that break them
# today (function-local ones included) are listed; the list may only shrink.
STAGES = {"catalog", "collect", "quality", "classify", "share", "open", "operate", "assets", "assess", "library",
          "lineage", "orgs", "sso", "search"}
LAYER_EXCEPTIONS: set[tuple[str, str]] = set()  # 8 when the test came (issue 19); none left


def _package_imports(path: Path, package: Path) -> set[str]:
    """The top-level packages of yibenzhang that a module imports, wherever in the module."""
    rel = path.relative_to(package)
    here = list(rel.parent.parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
            target = base + (node.module.split(".") if node.module else [a.name for a in node.names][:1])
            if target:
                out.add(target[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("yibenzhang."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("yibenzhang.")}
    return out


def test_the_layers_hold_but_for_the_listed_imports():
    package = ROOTS[0] / "yibenzhang"
    broken = set()
    for path in package.rglob("*.py"):
        rel = path.relative_to(package)
        top = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for target in _package_imports(path, package) - {top}:
            if ((top == "web" and target in ("zone", "ledger"))
                    or (top in STAGES and target in ("web", "api", "cli"))
                    or (top in ("zone", "ledger") and target in STAGES)):
                broken.add((rel.as_posix(), target))
    assert broken <= LAYER_EXCEPTIONS, sorted(broken - LAYER_EXCEPTIONS)
    assert broken == LAYER_EXCEPTIONS, sorted(LAYER_EXCEPTIONS - broken)  # a mended one leaves the list


# Issue 19 item 3: search is fed by the catalogue, never calls back into it. Nothing under search/
# imports the catalogue (function-local imports included); the catalogue hands it documents.
def test_search_imports_nothing_of_the_catalogue():
    package = ROOTS[0] / "yibenzhang"
    importers = sorted(path.relative_to(package).as_posix() for path in (package / "search").rglob("*.py")
                       if "catalog" in _package_imports(path, package))
    assert len(list((package / "search").rglob("*.py"))) >= 6  # the walk found the package
    assert importers == []


# Issue 19: no import cycle between modules. The graph counts every import that can run — at the
# top of a module or inside a function — but not those under `if TYPE_CHECKING:`. `from p import n`
# is an edge to the submodule p.n when there is one, else to p (the module or package that defines
# n). The cycles of today (strongly connected components, as the modules' paths) are listed; a new
# one, or a listed one that grows, fails; one that shrinks or goes must leave the list too.
IMPORT_CYCLES: list[set[str]] = []  # 8 when the test came (issue 19); none left


def _runtime_imports(tree: ast.AST):
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and (getattr(node.test, "id", None) == "TYPE_CHECKING"
                                           or getattr(node.test, "attr", None) == "TYPE_CHECKING"):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Module (its path under the package) -> the modules of the package it imports."""
    paths = {}  # dotted name ("yibenzhang.catalog.search") -> path under the package
    for path in package.rglob("*.py"):
        rel = path.relative_to(package)
        parts = [package.name, *rel.with_suffix("").parts]
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = rel.as_posix()

    def module(dotted: str) -> str | None:  # the deepest module of the package a dotted name names
        parts = dotted.split(".")
        while parts and ".".join(parts) not in paths:
            parts.pop()
        return paths[".".join(parts)] if parts else None

    graph = {}
    for name, rel in paths.items():
        here = name.split(".") if rel.endswith("__init__.py") else name.split(".")[:-1]
        targets = set()
        for node in _runtime_imports(ast.parse((package / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {module(a.name) for a in node.names}
                continue
            base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else [])
                            if node.level else [node.module or ""])
            targets |= {paths.get(f"{base}.{a.name}") or module(base) for a in node.names}
        graph[rel] = targets - {None, rel}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's strongly connected components with more than one module, iteratively."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set(stack[stack.index(node):])
                    del stack[stack.index(node):]
                    on_stack -= component
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def test_the_import_graph_finds_what_it_should():
    graph = _import_graph(ROOTS[0] / "yibenzhang")
    assert "catalog/service.py" in graph["catalog/routes.py"]  # from . import service (a submodule)
    assert "db.py" in graph["models.py"]  # from .db import Base
    assert "catalog/__init__.py" not in graph["catalog/routes.py"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}) == [
        frozenset("abc")]


def test_no_import_cycle_but_the_listed_ones():
    cycles = set(_cycles(_import_graph(ROOTS[0] / "yibenzhang")))
    listed = {frozenset(c) for c in IMPORT_CYCLES}
    new = [sorted(c) for c in cycles if not any(c <= old for old in listed)]
    assert not new, new  # a new cycle, or a listed one that grew
    assert cycles == listed, [sorted(c) for c in listed - cycles]  # a mended one leaves the list


# Issue 19: an import inside a function only where a cycle can't be avoided or a heavy dependency is
# kept out of `ybz --help` and the web process, and a comment on its line or the line above says so
# (`# cycle: ...`, `# deferred: ...`; above a block of imports, for the block). The project's own
# function-local imports without one may only become fewer (552 when the rule came; the legacy
# migrations keep theirs: they are history, not code that changes).
UNEXPLAINED_LOCAL_IMPORTS = 3  # the legacy migrations' 3


def _unexplained_local_imports(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and (
                    (isinstance(child, ast.ImportFrom)
                     and (child.level or (child.module or "").startswith("yibenzhang")))
                    or (isinstance(child, ast.Import)
                        and any(a.name.startswith("yibenzhang") for a in child.names))):
                above = child.lineno - 2  # a comment above a block of imports speaks for the block
                while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
                    above -= 1
                said = above >= 0 and lines[above].strip().startswith("#")
                if "#" not in lines[child.lineno - 1] and not said:
                    found.append(child.lineno)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse("\n".join(lines)), False)
    return found


def test_function_local_imports_say_why_or_become_fewer():
    package = ROOTS[0] / "yibenzhang"
    count = sum(len(_unexplained_local_imports(path)) for path in package.rglob("*.py"))
    assert count <= UNEXPLAINED_LOCAL_IMPORTS, f"{count} imports inside functions without a why-comment"
