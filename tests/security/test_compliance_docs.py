"""The compliance matrices (docs/compliance/) name only things that exist: every file, every
test function and every YBZ_* setting; every row that claims an implementation names a test."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOCS = sorted((ROOT / "docs" / "compliance").glob("*.md"))
CONFIG = (ROOT / "src" / "yibenzhang" / "config.py").read_text(encoding="utf-8")
REF = re.compile(r"`((?:src|tests|docs)/[^`\s:]+)(?:::([A-Za-z_][A-Za-z0-9_]*))?`")
SETTING = re.compile(r"\bYBZ_[A-Z0-9_]+\b")
ENVIRONMENT_ONLY = {"YBZ_SECRET_KEY"}  # read by Settings.from_env, named there too


def _rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_the_matrices_exist_and_cover_the_controls_the_issue_lists():
    names = {p.name for p in DOCS}
    assert {"dengbao-level3.md", "mibing.md", "deployment.md"} <= names
    dengbao = (ROOT / "docs/compliance/dengbao-level3.md").read_text(encoding="utf-8")
    for control in ["身份鉴别", "访问控制", "安全审计", "入侵防范", "数据完整性", "数据保密性", "数据备份恢复",
                    "剩余信息保护", "个人信息保护"]:
        assert control in dengbao, control
    mibing = (ROOT / "docs/compliance/mibing.md").read_text(encoding="utf-8")
    for letter in "abcdefgh":
        assert f"| {letter}) " in mibing, letter


def test_every_named_file_test_and_setting_exists():
    missing = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for path, name in REF.findall(text):
            target = ROOT / path
            if not target.exists():
                missing.append(f"{doc.name}: {path}")
            elif name and not re.search(rf"^(?:async )?def {name}\(", target.read_text(encoding="utf-8"), re.M):
                missing.append(f"{doc.name}: {path}::{name}")
        for setting in set(SETTING.findall(text)) - ENVIRONMENT_ONLY:
            if f'"{setting}"' not in CONFIG:
                missing.append(f"{doc.name}: {setting}")
    assert not missing, missing


def test_every_row_that_claims_an_implementation_names_a_test():
    unproven = []
    for doc in DOCS:
        for cells in _rows(doc.read_text(encoding="utf-8")):
            if len(cells) >= 4 and cells[1] in ("实现", "部分") and "tests/" not in cells[3]:
                unproven.append(f"{doc.name}: {cells[0]}")
    assert not unproven, unproven
    statuses = {cells[1] for doc in DOCS for cells in _rows(doc.read_text(encoding="utf-8")) if len(cells) >= 4}
    assert {"实现", "部分", "部署"} <= statuses
