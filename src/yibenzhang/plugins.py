"""The plugin manager: the platform's stages, and a province's own packages, plug in through hooks.

Even the platform's own behaviour is a plugin (as Datasette's DEFAULT_PLUGINS): each stage package
implements the hooks of `hooks.py` in its `plugin` module. Third-party packages are found through
the entry-point group `yibenzhang`. Plugins are called in the order they are registered: the
stages below in the order of the data's life (the web's own pages last: their broad paths must not
shadow a stage's), then entry points.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache
from types import ModuleType
from typing import Any

import pluggy

from . import hooks
from .registry import module_available

STAGES = ("orgs", "catalog", "search", "ledger", "zone", "collect", "quality", "classify", "share", "open", "operate",
          "assets", "assess", "sso", "lineage", "library")
DEFAULT_PLUGINS = (*(f"yibenzhang.{name}.plugin" for name in STAGES), "yibenzhang.core_plugin", "yibenzhang.web.plugin")


@cache
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hooks.PROJECT)
    pm.add_hookspecs(hooks)
    for name in DEFAULT_PLUGINS:
        if module_available(name):  # a stage absent from this installation is skipped
            pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints(hooks.PROJECT)
    return pm


def register(plugin: ModuleType | object, name: str | None = None) -> None:
    """Add a plugin at run time (tests, embedding); registries built from the hooks are rebuilt."""
    manager().register(plugin, name=name)
    _changed()


def unregister(name: str) -> None:
    manager().unregister(name=name)
    _changed()


def reset() -> None:
    """Discover the plugins again (after a distribution was installed or removed: tests)."""
    manager.cache_clear()
    _changed()


def _changed() -> None:
    for rebuild in _REBUILT:
        rebuild.cache_clear()


def results(hook: str) -> list[Any]:
    """What every plugin answers to `hook`, in registration order (pluggy calls the last first)."""
    return list(reversed(getattr(manager().hook, hook)()))


def names(hook: str) -> Iterator[str]:
    """The modules the plugins name for `hook`, once each, in order."""
    seen: set[str] = set()
    for answer in results(hook):
        for name in answer:
            if name not in seen:
                seen.add(name)
                yield name


def load_modules(hook: str) -> list[ModuleType]:
    """Import the modules the plugins name for `hook`; a module of an absent package is skipped."""
    return [importlib.import_module(name) for name in names(hook) if module_available(name)]


@cache
def readers() -> dict[str, Any]:
    return {reader.name: reader for answer in results("ybz_readers") for reader in answer}


@cache
def rule_kinds() -> dict[str, Any]:
    return {kind.name: kind for answer in results("ybz_rule_kinds") for kind in answer}


@cache
def valuation_methods() -> dict[str, Any]:
    return {name: method for answer in results("ybz_valuation_methods") for name, method in answer.items()}


@cache
def masking_operators() -> dict[str, Any]:
    return {op.name: op for answer in results("ybz_masking_operators") for op in answer}


@cache
def recognizers() -> list[Any]:
    return [r for answer in results("ybz_recognizers") for r in answer]


@cache
def zone_holdings() -> Any:
    holdings = manager().hook.ybz_zone_holdings()
    if holdings is None:
        raise RuntimeError("no plugin answers ybz_zone_holdings: the catalogue stage is not installed")
    return holdings


def zone_compacted(session: Any, code: str, *, rows: int, columns: dict[str, str], engine: str) -> None:
    manager().hook.ybz_zone_compacted(session=session, code=code, rows=rows, columns=columns, engine=engine)


_REBUILT = (zone_holdings, readers, rule_kinds, valuation_methods, masking_operators, recognizers)
