"""`ybz classify RESOURCE`: suggest each item's categories and grade and print them with their
confidence and evidence; `ybz classify --important-catalogue FILE.xlsx` writes the 重要数据目录."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, console, domain_errors, emit
from ..db import get_database
from ..errors import DomainError


def _evidence(ev: dict[str, Any]) -> str:
    return json.dumps(ev, ensure_ascii=False, separators=(",", ":"), default=str)


def classify_command(
    resource: str | None = typer.Argument(None, help="Resource id or code (信息资源代码)."),
    full_scan: bool = typer.Option(False, "--full-scan", help="Recognise over every current row, not a sample."),
    sample: int = typer.Option(1000, "--sample", min=1, help="Rows sampled per item."),
    important_catalogue: Path | None = typer.Option(
        None, "--important-catalogue", help="Write the 重要数据目录 (confirmed 核心/重要 items) to this XLSX file."),
    region: str | None = typer.Option(None, "--region", help="Region code of the important-data catalogue."),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Suggest categories and grades for every item of RESOURCE (stored as suggestions for the steward)."""
    # deferred: keeps `ybz --help` light
    from . import service

    with domain_errors(as_json):
        db = get_database()
        actor = acting_as(as_user)
        if important_catalogue is not None:
            data, n = service.export_important_xlsx(db, actor, region)
            important_catalogue.write_bytes(data)
            emit({"file": str(important_catalogue), "rows": n}, as_json)
            return
        if not resource:
            raise DomainError("resource_required", "请指定信息资源（代码或编号）")
        view = service.suggest(db, actor, resource, sample=sample, full_scan=full_scan)
        if as_json:
            emit(view, True)
            return
        rows = []
        for it in view["items"]:
            x = it["suggestion"] or {"categories": [], "grade": None}
            cats = x["categories"] or [None]
            for i, c in enumerate(cats):
                rows.append({
                    "信息项 item": it["name"] if i == 0 else "",
                    "类别 category": f"{c['category']} {c['name']}" if c else "—",
                    "置信度 confidence": f"{c['confidence']:.2f}" if c else "",
                    "证据 evidence": _evidence(c["evidence"]) if c else "",
                    "建议分级 grade": x["grade"] if i == 0 else "",
                })
        emit(rows, False, columns=list(rows[0]) if rows else ["信息项 item"],
             title=f"{view['code']} {view['name']}")
        sample_size = next((it["suggestion"]["sample_size"] for it in view["items"] if it["suggestion"]), 0)
        console.print(f"样本行数 sampled rows: {sample_size}{' (full scan)' if full_scan else ''}")
        console.print(f"[bold]建议资源分级 suggested resource grade[/bold] (就高从严): "
                      f"{view['suggested_resource_grade'] or '—'}")
        console.print(f"已确认资源分级 confirmed resource grade: {view['resource_grade'] or '—'}")
