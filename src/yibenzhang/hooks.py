"""The hooks a stage package implements to plug into the platform (pluggy, as Datasette does).

Every stage of the platform is itself a plugin (`plugins.DEFAULT_PLUGINS`); a province adds a
package of its own through the entry-point group `yibenzhang` (its `pyproject.toml`:
`[project.entry-points.yibenzhang] myplugin = "my_package.plugin"`). A hook implementation is a
function of the plugin module named as below and marked `@hookimpl`; the core calls all of them.

Modules are named, not imported, where the core imports them itself (tables, routes, pages,
commands, jobs): naming keeps `ybz --help` from importing every stage, and a stage absent from an
installation is skipped there while one that is present but broken fails loudly (DESIGN rule 8).
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "yibenzhang"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ybz_tables() -> list[str]:
    """Modules whose import declares the plugin's tables on `db.Base` (for Alembic and tests)."""


@hookspec
def ybz_routes() -> list[str]:
    """Modules with a FastAPI `router` of the plugin's API (`/api/v1/...`), mounted before any page."""


@hookspec
def ybz_pages() -> list[str]:
    """Modules with a FastAPI `router` of the plugin's HTML pages, mounted after every API route."""


@hookspec
def ybz_commands() -> dict[str, str]:
    """The plugin's `ybz` commands: {"name": "module:attribute"}, a Typer app added as a group, a
    function as a command; "group name" ("job schedule") adds to another plugin's group."""


@hookspec
def ybz_jobs() -> list[str]:
    """Modules whose import registers job kinds and worker tickers (`jobs.register`, `jobs.daily`)."""


@hookspec
def ybz_search_terms() -> list[str]:
    """Words search segmentation keeps whole (jieba's user dictionary), so 营业执照 is one word."""


@hookspec
def ybz_readers() -> list[Any]:
    """File readers of collection (`collect.readers.Reader`): a format, its file suffixes, how to open."""


@hookspec
def ybz_rule_kinds() -> list[Any]:
    """Quality rule kinds (`quality.kinds.RuleKind`): parameters checked, a violation as SQL."""


@hookspec
def ybz_recognizers() -> list[Any]:
    """Value recognizers of classification (`classify.recognizers.Recognizer`): the category (of the
    grading rules) it finds, its confidence when every value matches, the test over a sample."""


@hookspec
def ybz_masking_operators() -> list[Any]:
    """Masking operators (`classify.masking.Operator`), available to every masking policy."""


@hookspec
def ybz_valuation_methods() -> dict[str, Any]:
    """Valuation methods of data products: {"方法名": method(inputs) -> (value, breakdown, basis)}."""


@hookspec(firstresult=True)
def ybz_zone_holdings() -> Any:
    """What the zone keeps rows for (`zone.holdings.Holdings`): the catalogue's resources. The last
    plugin registered that answers wins (a province's own catalogue over the platform's)."""


@hookspec
def ybz_zone_compacted(session: Any, code: str, rows: int, columns: dict[str, str], engine: str) -> None:
    """A resource's live batches became one 全量 batch, in the compaction's own transaction (lineage
    records the run)."""
