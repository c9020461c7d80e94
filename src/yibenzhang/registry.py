"""Where stage packages plug in (DESIGN rule 8): a package absent from an installation is
skipped; one that is present but broken fails loudly."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any


def module_available(name: str) -> bool:
    """True when module `name` exists. Only the module or one of its parents being absent counts
    as absent; any other import failure (a broken module, a missing dependency) is raised."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return False
        raise


def load(target: str) -> Any | None:
    """The object named "module:attribute", or None when the module is absent."""
    module, _, attr = target.partition(":")
    if not module_available(module):
        return None
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded
