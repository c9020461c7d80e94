"""OpenLineage run events as plain dicts (spec 2-0-2), with the facets this platform fills.

Dataset names follow the spec's Naming.md where a source has a convention (a database table is
`<scheme>://<host>` + `<database>.<table>`); the platform's own resources are
`<namespace>` + `resource/<code>`. No event carries row values or personal data: only names,
schemas, counts and error codes."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from .. import __version__

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = f"https://yibenzhang.org/producer/{__version__}"
FACETS = "https://openlineage.io/spec/facets"
SCHEMA_FACET = f"{FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
OUTPUT_STATS_FACET = f"{FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
ERROR_FACET = f"{FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
JOB_TYPE_FACET = f"{FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


def namespace() -> str:
    """The platform's namespace for its jobs and resources (YBZ_LINEAGE_NAMESPACE)."""
    return (os.environ.get("YBZ_LINEAGE_NAMESPACE") or "yibenzhang").strip()


def new_run_id() -> str:
    return str(uuid.uuid4())


def _facet(schema_url: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **fields}


def schema_facet(columns: dict[str, str]) -> dict[str, Any]:
    return _facet(SCHEMA_FACET, fields=[{"name": name, "type": kind} for name, kind in columns.items()])


def output_statistics(rows: int, size: int | None = None) -> dict[str, Any]:
    stats: dict[str, Any] = {"rowCount": int(rows)}
    if size is not None:
        stats["size"] = int(size)
    return _facet(OUTPUT_STATS_FACET, **stats)


def error_facet(message: str) -> dict[str, Any]:
    return _facet(ERROR_FACET, message=message, programmingLanguage="python")


def job_type(job: str, integration: str = "YIBENZHANG") -> dict[str, Any]:
    return _facet(JOB_TYPE_FACET, processingType="BATCH", integration=integration, jobType=job)


def dataset(ns: str, name: str, facets: dict[str, Any] | None = None,
            output_facets: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": ns, "name": name}
    if facets:
        out["facets"] = facets
    if output_facets:
        out["outputFacets"] = output_facets
    return out


def resource_dataset(code: str, **kwargs: Any) -> dict[str, Any]:
    return dataset(namespace(), f"resource/{code}", **kwargs)


def source_dataset(source: dict[str, Any], resource_code: str) -> dict[str, Any]:
    """The input of a collection run, from what the pipeline recorded of its source (never a
    password or a query's text)."""
    kind = source.get("kind")
    if kind == "file" and source.get("file"):
        return dataset("file", str(source["file"]))
    if kind == "database":
        ns = f"{source.get('driver') or 'db'}://{source.get('host') or 'localhost'}"
        table = source.get("table") or f"query-{str(source.get('query_sm3') or '')[:16]}"
        return dataset(ns, ".".join(p for p in (source.get("database"), table) if p))
    if kind == "push":
        return dataset(namespace(), f"push/{resource_code}")
    return dataset(namespace(), f"source/{kind or 'arrow'}/{resource_code}")


def run_event(event_type: str, run_id: str, job_name: str, *, inputs: list[dict[str, Any]] | None = None,
              outputs: list[dict[str, Any]] | None = None, run_facets: dict[str, Any] | None = None,
              job_facets: dict[str, Any] | None = None, at: datetime | None = None) -> dict[str, Any]:
    assert event_type in EVENT_TYPES
    when = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "producer": PRODUCER,
        "schemaURL": SPEC,
        "eventType": event_type,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": namespace(), "name": job_name, "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }


DQ_ASSERTIONS_FACET = f"{FACETS}/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"
DQ_METRICS_FACET = f"{FACETS}/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet"


def quality_assertions(assertions: list[dict[str, Any]]) -> dict[str, Any]:
    return _facet(DQ_ASSERTIONS_FACET, assertions=assertions)


def quality_metrics(rows: int) -> dict[str, Any]:
    return _facet(DQ_METRICS_FACET, rowCount=int(rows), columnMetrics={})


COLUMN_LINEAGE_FACET = f"{FACETS}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"


def column_lineage(source: dict[str, Any], columns: list[tuple[str, str]]) -> dict[str, Any]:
    """Each output column from the same-named column of `source`, with the masking operator that
    made it (`none` is the identity): (column, operator) pairs."""
    fields = {}
    for name, operator in columns:
        identity = operator == "none"
        fields[name] = {"inputFields": [{
            "namespace": source["namespace"], "name": source["name"], "field": name,
            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY" if identity else "TRANSFORMATION",
                                 "description": operator, "masking": not identity}]}]}
    return _facet(COLUMN_LINEAGE_FACET, fields=fields)


def org_namespace(uscc: str) -> str:
    """Where a consumer organization's copies live: the platform's namespace and the org's 统一社会信用代码."""
    return f"{namespace()}/org/{uscc}"


NOMINAL_TIME_FACET = f"{FACETS}/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"


def nominal_time(start: datetime, end: datetime) -> dict[str, Any]:
    """The period a summary run stands for (start included, end excluded)."""
    def iso(t: datetime) -> str:
        return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return _facet(NOMINAL_TIME_FACET, nominalStartTime=iso(start), nominalEndTime=iso(end))


_RUN_NAMESPACE = uuid.UUID("6f1c7a52-3d0e-4b8e-9a55-1b8d2f0c9e18")


def stable_run_id(key: str) -> str:
    """A run id derived from what the run stands for (a summary of one grant and day): a sweep
    that runs twice finds the event it already wrote instead of writing a second one."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{namespace()}:{key}"))


def identity_lineage(source: dict[str, Any], fields: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Column lineage where output columns come from named source items: (column, item, subtype)
    with subtype IDENTITY or AGGREGATION."""
    out = {}
    for column, item, subtype in fields:
        out[column] = {"inputFields": [{
            "namespace": source["namespace"], "name": source["name"], "field": item,
            "transformations": [{"type": "DIRECT", "subtype": subtype, "masking": False}]}]}
    return _facet(COLUMN_LINEAGE_FACET, fields=out)


def public_namespace() -> str:
    """Where the open (public) copies of the platform's datasets go."""
    return f"{namespace()}/public"
