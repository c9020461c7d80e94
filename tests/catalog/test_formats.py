"""The controlled vocabulary of formats (issue 17): free text as departments write it becomes
canonical formats, and what names no format (database products, versions) is dropped."""

from __future__ import annotations

import pytest

from yibenzhang.catalog.formats import FORMATS, canonical, formats_of, label


@pytest.mark.parametrize(("detail", "kind", "expected"), [
    ("csv、xlsx", "电子表格", ["csv", "xlsx"]),
    ("CSV, .XLSX; Excel", "电子表格", ["csv", "xlsx", "xls"]),
    ("Oracle 19C", "数据库", ["数据库"]),
    ("MySQL 8.0", "数据库", ["数据库"]),
    ("人大金仓kingbasees", "数据库", ["数据库"]),
    ("OCEANBASE", "数据库", ["数据库"]),
    ("PostgreSQL 15", "数据库", ["数据库"]),
    ("达梦DM8 / json", "数据库", ["json"]),
    ("JPEG、tif", "图形图像", ["jpg", "tiff"]),
    ("", "接口", ["接口"]),
    (None, "电子文件", ["电子文件"]),
])
def test_free_text_becomes_canonical_formats(detail, kind, expected):
    assert formats_of({"format_detail": detail, "format_kind": kind}) == expected


def test_the_vocabulary_is_closed():
    assert canonical("19c") is None and canonical("8.0") is None and canonical("15") is None
    assert all(canonical(a) == c for c, aliases in FORMATS.items() for a in aliases)
    assert label("geojson") == "GEOJSON" and label("数据库") == "数据库"
