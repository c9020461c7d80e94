"""Files a steward edits beside the settings (the grading rules, the masking policy): read with a
clear reason when they cannot be, and re-read when they change (one shape for both)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from .errors import FieldError

T = TypeVar("T")


def read_text(path: Path, invalid: Callable[[str, list[FieldError]], Exception], code: str) -> str:
    """The file's text, or `invalid(path, [why])` naming the system's reason (not found, denied)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise invalid(str(path), [FieldError("file", code, "无法读取：{detail}",
                                             {"detail": exc.strerror or str(exc)})]) from None


class Reloading(Generic[T]):
    """What `load(path)` made of the file, kept until the file (or the path asked for) changes.
    A file that cannot be read is loaded anyway, so its clear error reaches the caller."""

    def __init__(self, load: Callable[[Path], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._key: tuple[str, int] | None = None
        self._value: T | None = None

    def get(self, path: Path) -> T:
        try:
            key = (str(path), path.stat().st_mtime_ns)
        except OSError:
            return self._load(path)
        with self._lock:
            if key != self._key or self._value is None:
                self._value, self._key = self._load(path), key
            return self._value
