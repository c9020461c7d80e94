"""Helpers for the import/export tests: fill the Excel template as a department would."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from yibenzhang.catalog.io import ITEM_SHEET, RESOURCE_SHEET, template_bytes


def fill_template(resources: list[dict[str, Any]], items: list[dict[str, Any]]) -> bytes:
    """Rows keyed by column header, written under the template's header row (Excel row 2 on)."""
    book = load_workbook(io.BytesIO(template_bytes()))
    for sheet, rows in ((RESOURCE_SHEET, resources), (ITEM_SHEET, items)):
        ws = book[sheet]
        headers = [c.value for c in ws[1]]
        for r, row in enumerate(rows, start=2):
            for header, value in row.items():
                ws.cell(row=r, column=headers.index(header) + 1, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def resource_row(world: Any, seq: int, name: str, org: str = "police", **overrides: Any) -> dict[str, Any]:
    row = {
        "资源序号": seq, "信息资源名称": name, "信息资源摘要": f"{name}的摘要",
        "提供方代码(统一社会信用代码)": world.orgs[org].uscc, "信息资源分类代码": "101001", "所属库": "基础库",
        "资源格式": "数据库", "格式说明": "csv", "来源系统": f"{world.orgs[org].name}业务系统",
        "共享类型": "无条件共享", "共享方式": "接口", "开放类型": "不予开放", "更新周期": "每月",
        "是否可回流": "否", "关键词": "人口；户籍",
    }
    row.update(overrides)
    return row


def item_row(seq: int, name: str, dtype: str = "C", **overrides: Any) -> dict[str, Any]:
    row = {"资源序号": seq, "信息项名称": name, "数据类型": dtype, "长度": 20, "是否必填": "是"}
    row.update(overrides)
    return row
