"""Settings from the environment (YBZ_*), in one place.

Every rule number of DOMAIN.md is a named setting here, with its source, never a bare literal
elsewhere in the code.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Rules:
    """Rule numbers from DOMAIN.md, each overridable by a YBZ_RULE_* variable."""

    # §1: an org updates its catalogue within 10 working days of a duty change (004:693);
    # Guangzhou uses 15 (001:1167).
    catalogue_update_workdays: int = 10
    # §1: 后段码 is a 6-digit sequence unique within its 前段码.
    resource_sequence_digits: int = 6
    # §3: objections answered in 5 working days and corrected in 10 (default, ours).
    objection_answer_workdays: int = 5
    objection_correct_workdays: int = 10
    # §5: conditional share requests answered within 10 working days (default, ours).
    share_answer_workdays: int = 10
    # §2 (issue 3): a batch whose share of rejected rows exceeds this is held for the steward
    # instead of published (default 5 %, ours).
    reject_hold_rate: float = 0.05

    @classmethod
    def from_env(cls) -> Rules:
        return cls(
            catalogue_update_workdays=_int("YBZ_RULE_CATALOGUE_UPDATE_WORKDAYS", 10),
            objection_answer_workdays=_int("YBZ_RULE_OBJECTION_ANSWER_WORKDAYS", 5),
            objection_correct_workdays=_int("YBZ_RULE_OBJECTION_CORRECT_WORKDAYS", 10),
            share_answer_workdays=_int("YBZ_RULE_SHARE_ANSWER_WORKDAYS", 10),
            reject_hold_rate=float(os.environ.get("YBZ_RULE_REJECT_HOLD_RATE") or 0.05),
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    zone: Path
    engine: str
    secret_key: str
    holidays_file: Path | None
    rules: Rules = field(default_factory=Rules)

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("YBZ_HOME", "./ybz-data")).resolve()
        db_url = os.environ.get("YBZ_DB_URL") or f"sqlite:///{home / 'ybz.sqlite3'}"
        zone = Path(os.environ.get("YBZ_ZONE") or home / "zone").resolve()
        holidays = os.environ.get("YBZ_HOLIDAYS_FILE")
        return cls(
            home=home,
            db_url=db_url,
            zone=zone,
            engine=os.environ.get("YBZ_ENGINE", "duckdb"),
            secret_key=os.environ.get("YBZ_SECRET_KEY") or _stored_secret(home),
            holidays_file=Path(holidays) if holidays else None,
            rules=Rules.from_env(),
        )


def _stored_secret(home: Path) -> str:
    """A per-installation secret kept in YBZ_HOME when YBZ_SECRET_KEY is not given."""
    path = home / "keys" / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget cached settings (tests and `ybz` commands that change the environment)."""
    get_settings.cache_clear()
