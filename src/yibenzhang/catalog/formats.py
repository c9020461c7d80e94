"""The controlled vocabulary of data formats (issue 17): what a 格式 facet, a CKAN res_format and a
DCAT dct:format may say. A resource's free-text format detail (“csv、xlsx”, “Oracle 19c”,
“人大金仓KingbaseES”) is split into words; each word that names a format in the vocabulary is kept
under its one canonical name, everything else — database products, versions, typos — is dropped.
A resource none of whose words names a format is listed under its kind of format (数据库, 接口, …)."""

from __future__ import annotations

import re
from typing import Any

# canonical (lowercase, as DCAT's MEDIA_TYPES keys) -> the spellings people write for it
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": ("csv",), "xlsx": ("xlsx", "excel2007"), "xls": ("xls", "excel", "et"), "ods": ("ods",),
    "json": ("json", "jsonl", "ndjson"), "xml": ("xml",), "rdf": ("rdf", "ttl", "turtle", "json-ld", "jsonld"),
    "parquet": ("parquet",), "txt": ("txt", "text"), "pdf": ("pdf",), "ofd": ("ofd",),
    "doc": ("doc",), "docx": ("docx", "word"), "wps": ("wps",), "zip": ("zip", "rar", "7z"),
    "shp": ("shp", "shapefile"), "geojson": ("geojson",), "kml": ("kml", "kmz"),
    "jpg": ("jpg", "jpeg"), "png": ("png",), "tiff": ("tif", "tiff", "geotiff"),
    "mp4": ("mp4",), "mp3": ("mp3",), "api": ("api", "rest", "restful", "webservice", "接口"),
}
_ALIASES = {alias: canonical for canonical, aliases in FORMATS.items() for alias in aliases}
_SPLIT = re.compile(r"[,，、;；/|+\s()（）]+")


def canonical(word: str) -> str | None:
    """The canonical format a word names (“XLSX”, “.csv”, “Excel” → xlsx, xlsx, xls), else None."""
    return _ALIASES.get(word.strip().lower().lstrip("."))


def formats_of(view: dict[str, Any]) -> list[str]:
    """The canonical formats a resource declares, in its order, else its kind of format."""
    found = [c for w in _SPLIT.split(view.get("format_detail") or "") if w and (c := canonical(w))]
    return list(dict.fromkeys(found)) or [view["format_kind"]]


def label(fmt: str) -> str:
    """How a format is shown: CSV, XLSX, GEOJSON; a kind of format (数据库) as it is."""
    return fmt.upper() if fmt.isascii() else fmt
