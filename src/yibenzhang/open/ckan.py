"""A read-only subset of the CKAN Action API (v3) over the open catalogue, at /api/3/action/ (and /api/action/), so
CKAN clients (ckanapi) and harvesters read our open datasets unchanged.

CKAN's shapes: every answer is `{"help", "success", "result"}`; a failure is
`{"help", "success": false, "error": {"__type", "message" | field errors}}` with CKAN's status
(404 Not Found Error, 409 Validation Error, 400 Bad request). GET with query parameters and POST
with a JSON body are both accepted. Datasets are named after their 信息资源代码 (lowercase,
URL-safe), organizations after their 统一社会信用代码, groups are the 领域 themes; resources
are the downloads of datasets whose rows are collected. The same index as the portal answers
(open.portal_query), so counts agree with /datasets.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..db import get_database
from ..params import Key
from . import portal_query as pq
from .datasets import OPEN_TYPES
from .portal_query import DOMAIN_LABELS, Dataset, OpenIndex, PortalQuery

router = APIRouter(tags=["CKAN Action API (open data)"])

CKAN_VERSION = "2.10.4"  # the API generation whose shapes we follow
DOWNLOAD_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "json": "application/json", "parquet": "application/vnd.apache.parquet"}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "XLSX", "json": "JSON", "parquet": "Parquet"}
LICENSES = {"无条件开放": ("ybz-open-unconditional", "公共数据开放使用协议（无条件开放）"),
            "有条件开放": ("ybz-open-conditional", "公共数据开放使用协议（有条件开放，须申请）")}
MAX_ROWS = 1000
DEFAULT_ROWS = 10
SORTS = {"score desc, metadata_modified desc": "relevance", "score desc": "relevance",
         "metadata_modified desc": "newest", "metadata_created desc": "newest", "name asc": "name",
         "title_string asc": "name", "downloads desc": "downloads", "quality desc": "quality"}
FQ_FIELDS = ("organization", "tags", "res_format", "groups", "license_id", "name")
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")


class CkanError(Exception):
    def __init__(self, status: int, kind: str, detail: dict[str, Any]) -> None:
        super().__init__(kind)
        self.status, self.kind, self.detail = status, kind, detail


def not_found(what: str = "Not found") -> CkanError:
    return CkanError(404, "Not Found Error", {"message": what})


def invalid(field: str, message: str) -> CkanError:
    return CkanError(409, "Validation Error", {field: [message]})


# --- shapes ---------------------------------------------------------------------------------------


def org_name(uscc: str) -> str:
    return f"org-{uscc.lower()}"


def _time(d: Dataset) -> str | None:
    return d.sort_time.replace(tzinfo=None).isoformat(timespec="microseconds") if d.sort_time else None


def org_dict(idx: OpenIndex, org_id: int, count: int | None = None) -> dict[str, Any]:
    name, uscc = idx.orgs.get(org_id, ("", ""))
    out = {"id": str(org_id), "name": org_name(uscc), "title": name, "display_name": name, "description": "",
           "type": "organization", "is_organization": True, "state": "active", "approval_status": "approved",
           "image_url": "", "extras": [{"key": "统一社会信用代码", "value": uscc}]}
    if count is not None:
        out["package_count"] = count
    return out


def group_dict(slug: str, count: int | None = None) -> dict[str, Any]:
    out = {"id": slug, "name": slug, "title": DOMAIN_LABELS[slug], "display_name": DOMAIN_LABELS[slug],
           "description": "", "type": "group", "is_organization": False, "state": "active",
           "approval_status": "approved", "image_url": ""}
    if count is not None:
        out["package_count"] = count
    return out


def resources_of(d: Dataset, base: str) -> list[dict[str, Any]]:
    """One resource per download format, for a dataset whose rows are collected."""
    if not d.has_data:
        return []
    return [{"id": f"{d.id}-{fmt}", "package_id": str(d.id), "name": f"{d.name}（{FORMAT_LABELS[fmt]}）",
             "description": "", "format": FORMAT_LABELS[fmt], "mimetype": mime, "url_type": None,
             "url": f"{base}/open/datasets/{d.id}/download.{fmt}", "state": "active", "position": i,
             "created": _time(d), "last_modified": _time(d)}
            for i, (fmt, mime) in enumerate(DOWNLOAD_FORMATS.items())]


def package_dict(idx: OpenIndex, d: Dataset, base: str) -> dict[str, Any]:
    license_id, license_title = LICENSES[d.open_type]
    resources = resources_of(d, base)
    extras = {"identifier": d.code, "open_type": d.open_type, "update_cycle": d.update_cycle,
              "spatial_text": d.region_name, "region_code": d.region_code, "format": "、".join(d.formats),
              "category_code": d.category_code, "quality_score": "" if d.quality is None else f"{d.quality:g}",
              "record_count": "" if d.record_count is None else str(d.record_count), "downloads": str(d.downloads)}
    return {
        "id": str(d.id), "name": d.name_slug, "title": d.name, "notes": d.abstract, "type": "dataset",
        "state": "active", "private": False, "url": f"{base}/datasets/{d.id}", "version": None,
        "author": d.org_name, "author_email": None, "maintainer": d.org_name, "maintainer_email": None,
        "license_id": license_id, "license_title": license_title, "license_url": f"{base}/datasets/{d.id}#licence",
        "metadata_created": _time(d), "metadata_modified": _time(d), "owner_org": str(d.org_id),
        "organization": org_dict(idx, d.org_id),
        "tags": [{"id": k, "name": k, "display_name": k, "state": "active", "vocabulary_id": None}
                 for k in d.keywords],
        "groups": [{k: v for k, v in group_dict(slug).items() if k in ("id", "name", "title", "display_name")}
                   for slug in d.domains],
        "resources": resources, "num_resources": len(resources), "num_tags": len(d.keywords),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
    }


# --- parameters -----------------------------------------------------------------------------------


def _int(params: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid(name, "Invalid integer") from None
    if not lo <= value <= hi:
        raise invalid(name, f"Must be between {lo} and {hi}")
    return value


def _bool(params: dict[str, Any], name: str) -> bool:
    raw = params.get(name, False)
    return raw is True or str(raw).lower() in ("true", "1", "yes", "on")


def _list(raw: Any) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return [str(v) for v in raw]
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return [str(raw)]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


_FQ = re.compile(r'([+-]?)([A-Za-z_]+):("([^"]*)"|(\S+))')


def parse_fq(fq: str) -> list[tuple[str, str]]:
    """CKAN/Solr filter terms `field:value` or `field:"a value"` (ANDed), on the fields we index."""
    terms: list[tuple[str, str]] = []
    rest = _FQ.sub(lambda m: terms.append((m.group(2), m.group(4) if m.group(4) is not None else m.group(5)))
                   or " ", fq or "")
    leftover = rest.replace("AND", " ").strip()
    if leftover:
        raise invalid("fq", f"Unsupported filter: {leftover}")
    for name, _ in terms:
        if name not in FQ_FIELDS:
            raise invalid("fq", f"Unsupported filter field: {name} (supported: {', '.join(FQ_FIELDS)})")
    return terms


def _query_from(idx: OpenIndex, params: dict[str, Any]) -> tuple[PortalQuery, list[str] | None]:
    """package_search parameters → a portal query (and the dataset names an fq on `name` allows)."""
    q = str(params.get("q") or "").strip()
    fq = str(params.get("fq") or "")
    if q in ("*:*", "*"):
        q = ""
    # `q` may carry field terms too (q=tags:教育); they filter like fq.
    field_terms = [m.group(0) for m in _FQ.finditer(q) if m.group(2) in FQ_FIELDS]
    for term in field_terms:
        q = q.replace(term, " ")
    terms = parse_fq(" ".join([fq, *field_terms]))
    query = PortalQuery(q=q.strip())
    names: list[str] | None = None
    org_ids = {org_name(u): i for i, (_, u) in idx.orgs.items()}
    tags: list[str] = []
    for name, value in terms:
        if name == "organization":
            query.org_id = org_ids.get(value, -1)
        elif name == "tags":
            tags.append(value)
        elif name == "groups":
            query.domain = value if value in DOMAIN_LABELS else "?"
        elif name == "res_format":
            query.has_data = value.lower() in DOWNLOAD_FORMATS
            if not query.has_data:
                query.domain = "?"  # no resource has that format: nothing matches
        elif name == "license_id":
            types = [t for t, (lid, _) in LICENSES.items() if lid == value]
            query.open_type = types[0] if types else "?"
        elif name == "name":
            names = [*(names or []), value]
    query.tags = tuple(tags)
    sort = str(params.get("sort") or "").strip()
    if sort:
        if sort not in SORTS:
            raise invalid("sort", f"Unsupported sort (supported: {'; '.join(SORTS)})")
        query.sort = SORTS[sort]
    elif query.q:
        query.sort = "relevance"
    return query, names


# --- actions --------------------------------------------------------------------------------------


def status_show(s: Session, p: dict[str, Any], base: str) -> dict[str, Any]:
    """The site and the CKAN API version it follows."""
    return {"site_title": "一本账 公共数据开放平台", "site_description": "公共数据开放目录（CKAN 兼容只读接口）",
            "site_url": base, "ckan_version": CKAN_VERSION, "error_emails_to": None,
            "locale_default": "zh_Hans_CN", "extensions": []}


def package_list(s: Session, p: dict[str, Any], base: str) -> list[str]:
    """The names of every open dataset (limit, offset)."""
    idx = pq.open_index(s)
    names = sorted(d.name_slug for d in idx.datasets)
    offset = _int(p, "offset", 0, 0, 10**9)
    limit = _int(p, "limit", len(names) or 1, 1, 10**9) if "limit" in p else len(names)
    return names[offset:offset + limit]


def _facet_counts(idx: OpenIndex, hits: Any, field: str) -> dict[str, int]:
    """Counts of one CKAN facet over the matching index positions, with array operations."""
    if field == "organization":
        uniq, counts = np.unique(idx.org[hits], return_counts=True)
        return {org_name(idx.orgs.get(o, ("", ""))[1]): n for o, n in zip(uniq.tolist(), counts.tolist(), strict=True)}
    if field == "groups":
        bits = idx.domain_bits[hits]
        return {slug: int(((bits >> np.uint64(b)) & np.uint64(1)).sum()) for b, slug in enumerate(DOMAIN_LABELS)}
    if field == "res_format":
        n = int(idx.has_data[hits].sum())
        return dict.fromkeys(FORMAT_LABELS.values(), n)
    if field == "license_id":
        counts = np.bincount(idx.open[hits], minlength=len(OPEN_TYPES))
        return {LICENSES[t][0]: int(counts[i]) for i, t in enumerate(OPEN_TYPES)}
    selected = np.zeros(len(idx), dtype=bool)  # tags
    selected[hits] = True
    counts = np.bincount(idx.tag_ids[selected[idx.tag_pos]], minlength=len(idx.tag_names))
    return {idx.tag_names[i]: int(counts[i]) for i in np.flatnonzero(counts).tolist()}


def package_search(s: Session, p: dict[str, Any], base: str) -> dict[str, Any]:
    """q, fq (organization, tags, res_format, groups, license_id, name), rows, start, sort,
    facet.field, facet.limit, facet.mincount."""
    idx = pq.open_index(s)
    query, names = _query_from(idx, p)
    rows = _int(p, "rows", DEFAULT_ROWS, 0, MAX_ROWS)
    start = _int(p, "start", 0, 0, pq.MAX_OFFSET)
    query.limit, query.offset = 1, 0  # the page is cut from every match below
    hits = pq.query_open(s, query).hits
    if names is not None:
        hits = np.array([i for i in hits.tolist() if idx.datasets[i].name_slug in names], dtype=np.int64)
    count = len(hits)
    page = [idx.datasets[i] for i in hits[start:start + rows].tolist()]
    fields = _list(p.get("facet.field"))
    for f in fields:
        if f not in FACET_FIELDS:
            raise invalid("facet.field", f"Unsupported facet field: {f} (supported: {', '.join(FACET_FIELDS)})")
    limit = _int(p, "facet.limit", 50, -1, 10**6)
    mincount = _int(p, "facet.mincount", 1, 0, 10**9)
    counted = {f: _facet_counts(idx, hits, f) for f in fields}
    titles: dict[str, dict[str, str]] = {f: {} for f in fields}
    if "organization" in fields:
        titles["organization"] = {org_name(u): n for n, u in idx.orgs.values()}
    if "groups" in fields:
        titles["groups"] = dict(DOMAIN_LABELS)
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for f in fields:
        items = [(k, n) for k, n in sorted(counted[f].items(), key=lambda e: (-e[1], e[0])) if n >= mincount]
        if limit >= 0:
            items = items[:limit]
        facets[f] = dict(items)
        search_facets[f] = {"title": f, "items": [{"name": k, "display_name": titles[f].get(k, k), "count": n}
                                                  for k, n in items]}
    return {"count": count, "sort": str(p.get("sort") or "score desc, metadata_modified desc"),
            "results": [package_dict(idx, d, base) for d in page], "facets": facets,
            "search_facets": search_facets}



def _dataset(s: Session, p: dict[str, Any], key: str = "id") -> Dataset:
    raw = p.get(key) or p.get("name_or_id") or (p.get("name") if key == "id" else None)
    if not raw:
        raise invalid(key, "Missing value")
    found = pq.find_dataset(s, str(raw))
    if found is None:
        raise not_found()
    return found


def package_show(s: Session, p: dict[str, Any], base: str) -> dict[str, Any]:
    """One open dataset by id or name."""
    return package_dict(pq.open_index(s), _dataset(s, p), base)


def resource_show(s: Session, p: dict[str, Any], base: str) -> dict[str, Any]:
    """One download of an open dataset: id `<dataset id>-<format>`."""
    raw = str(p.get("id") or "")
    if not raw:
        raise invalid("id", "Missing value")
    dataset_id = raw.partition("-")[0]
    found = pq.find_dataset(s, dataset_id) if dataset_id.isdigit() else None
    if found is None:
        raise not_found()
    for res in resources_of(found, base):
        if res["id"] == raw:
            return res
    raise not_found()


def _org_counts(idx: OpenIndex) -> Counter[int]:
    return Counter(idx.org.tolist())


def organization_list(s: Session, p: dict[str, Any], base: str) -> list[Any]:
    """Organizations that publish open data (names, or dicts with all_fields); sort name|title|package_count."""
    idx = pq.open_index(s)
    counts = _org_counts(idx)
    orgs = [org_dict(idx, i, counts[i]) for i in counts]
    wanted = set(_list(p.get("organizations")))
    if wanted:
        orgs = [o for o in orgs if o["name"] in wanted]
    sort = str(p.get("sort") or "title asc").split()
    key, desc = (sort[0] if sort else "title"), (len(sort) > 1 and sort[1] == "desc")
    if key not in ("name", "title", "package_count"):
        raise invalid("sort", "Unsupported sort (name, title or package_count)")
    orgs.sort(key=lambda o: o[key], reverse=desc)
    offset = _int(p, "offset", 0, 0, 10**9)
    limit = _int(p, "limit", 1000, 1, 10**6)
    orgs = orgs[offset:offset + limit]
    return orgs if _bool(p, "all_fields") else [o["name"] for o in orgs]


def organization_show(s: Session, p: dict[str, Any], base: str) -> dict[str, Any]:
    """One organization by id or name (include_datasets: its open datasets, up to 1000)."""
    idx = pq.open_index(s)
    raw = str(p.get("id") or "")
    found = next((i for i, (_, u) in idx.orgs.items() if raw in (str(i), org_name(u))), None) if raw else None
    if found is None:
        raise not_found()
    result = pq.query_open(s, PortalQuery(org_id=found, limit=pq.MAX_LIMIT))
    out = org_dict(idx, found, result.total)
    if _bool(p, "include_datasets"):
        out["packages"] = [package_dict(idx, d, base) for d in result.items]
    return out


def group_list(s: Session, p: dict[str, Any], base: str) -> list[Any]:
    """The 领域 themes (names, or dicts with all_fields)."""
    counts = {e["value"]: e["count"] for e in pq.query_open(s, PortalQuery(limit=1)).facets["domain"]}
    groups = [group_dict(slug, counts.get(slug, 0)) for slug in DOMAIN_LABELS]
    return groups if _bool(p, "all_fields") else [g["name"] for g in groups]


def group_show(s: Session, p: dict[str, Any], base: str) -> dict[str, Any]:
    """One 领域 theme by name."""
    slug = str(p.get("id") or "")
    if slug not in DOMAIN_LABELS:
        raise not_found()
    return group_dict(slug, pq.query_open(s, PortalQuery(domain=slug, limit=1)).total)


def tag_list(s: Session, p: dict[str, Any], base: str) -> list[Any]:
    """The keywords of the open datasets (query: a part of the tag; all_fields for dicts)."""
    idx = pq.open_index(s)
    part = str(p.get("query") or "")
    tags = sorted(t for t in idx.tags if part in t)
    if _bool(p, "all_fields"):
        return [{"id": t, "name": t, "display_name": t, "vocabulary_id": None} for t in tags]
    return tags


ACTIONS = {f.__name__: f for f in (status_show, package_list, package_search, package_show, resource_show,
                                    organization_list, organization_show, group_list, group_show, tag_list)}


def help_show(s: Session, p: dict[str, Any], base: str) -> str:
    """What an action does."""
    name = str(p.get("name") or "")
    if name not in ACTIONS and name != "help_show":
        raise not_found()
    return (ACTIONS.get(name) or help_show).__doc__ or ""


ACTIONS["help_show"] = help_show


def _envelope(base: str, action: str, **body: Any) -> dict[str, Any]:
    return {"help": f"{base}/api/3/action/help_show?name={action}", **body}


class CkanAnswer(BaseModel):
    """CKAN's envelope of a successful action (for the OpenAPI document; call_action writes it)."""

    help: str = Field(description="help_show of the action")
    success: Literal[True]
    result: Any = Field(description="The action's result: a dict, a list of names or dicts, or help text")


class CkanFailure(BaseModel):
    """CKAN's envelope of a failed action: 400 Bad request, 404 Not Found Error, 409 Validation Error."""

    help: str
    success: Literal[False]
    error: dict[str, Any] = Field(description='{"__type": …, "message": …} or field → messages')


CKAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": CkanAnswer}, 400: {"model": CkanFailure, "description": "Bad request"},
    404: {"model": CkanFailure, "description": "Not Found Error"},
    409: {"model": CkanFailure, "description": "Validation Error"}}


# CKAN answers at /api/3/action/ and the unversioned /api/action/ (what ckanapi calls).
@router.get("/api/3/action/{action}", summary="CKAN action (read-only subset)", operation_id="ckan_action_get",
            responses=CKAN_RESPONSES)
@router.post("/api/3/action/{action}", summary="CKAN action, parameters in a JSON body",
             operation_id="ckan_action_post", responses=CKAN_RESPONSES)
@router.api_route("/api/action/{action}", methods=["GET", "POST"], include_in_schema=False)
async def call_action(action: Key, request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                return JSONResponse(_envelope(base, action, success=False, error={
                    "__type": "Bad request", "message": "Bad request - JSON Error: could not parse the body"}), 400)
            if not isinstance(body, dict):
                return JSONResponse(_envelope(base, action, success=False, error={
                    "__type": "Bad request", "message": "Bad request - JSON Error: the body must be an object"}), 400)
            params.update(body)
    handler = ACTIONS.get(action)
    if handler is None:
        return JSONResponse(_envelope(base, action, success=False, error={
            "__type": "Bad request", "message": f"Bad request - Action name not known: {action}"}), 400)

    def work() -> Any:
        with get_database().read() as s:
            return handler(s, params, base)

    try:
        result = await run_in_threadpool(work)
    except CkanError as exc:
        return JSONResponse(_envelope(base, action, success=False, error={"__type": exc.kind, **exc.detail}),
                            exc.status)
    return JSONResponse(_envelope(base, action, success=True, result=result))
