"""一人一档 / 一企一档: one entity's record across resources, for an authorised caller.

The caller holds a grant (mode 接口) on the library for its org (the consumer org's own users
with the 数据使用方 role: `share.grants.usable_grant`); the call names one key. What comes back:
only the granted items, masked by the 共享 exit's policy for their grades (an ungraded item is
withheld, fail closed), and per returned value its provenance (source resource, batch, collected
at). Every look-up — found or not — is an entry of the access log (`ledger.access_log`), holding
the items returned and a keyed pseudonym of the entity, never the key. Calls are rate limited as
核验 calls are (`share.grants.check_rate`, the stricter per-minute limit: look-ups must not
enumerate). The open portal never serves libraries (their open type is 不予开放).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from .. import workdays
from ..access import Actor
from ..catalog.model import Resource
from ..classify import policies
from ..classify.masking import pseudonym_key
from ..crypto import hmac_sm3_hex
from ..db import Database
from ..enums import Role
from ..errors import DomainError, ErrorBag, NotFound
from ..ledger import access_log
from ..share import grants as G
from ..zone import port as P
from ..zone.engine import Work, engine_for, json_value, literal_rows
from ..zone.service import live_state
from . import keys
from .cobuild import of_library
from .definition import PROVENANCE_ITEMS, DefinitionIn, definition_at
from .model import LibraryDefinition

EXIT = "library.record"  # the access log's name of this exit
MODE = "接口"


class NotALibraryGrant(DomainError):
    status = 403
    title = "授权不可用"


def normalise_key(raw: str, kind: str, today: date) -> tuple[str | None, str | None]:
    """The caller's key through the same SQL as fusion (one definition of the rules)."""
    sql = keys.key_layers("raw", kind, today, "(SELECT CAST($raw AS VARCHAR) AS raw) AS _in", "raw")
    row = literal_rows(f"SELECT _k, _code FROM ({sql}) AS _x", {"raw": raw})[0]
    return (row[0], None) if row[1] is None else (None, row[1])


def usable_grants(session: Any, actor: Actor, library_id: int) -> list[G.Grant]:
    """The grants `record` would accept from `actor` on this library today (the same
    `check_usable`): for the console page's choice; `record` checks the chosen one again."""
    from sqlalchemy import select

    orgs = actor.org_ids(Role.CONSUMER)
    if not orgs:
        return []
    rows = session.execute(select(G.Grant).where(G.Grant.resource_id == library_id, G.Grant.mode == MODE,
                                                 G.Grant.consumer_org_id.in_(orgs)).order_by(G.Grant.id)).scalars()
    out = []
    for grant in rows:
        try:
            out.append(G.check_usable(actor, grant, MODE))
        except DomainError:
            continue  # revoked, expired or not yet valid: not offered
    return out


def _subject(key: str) -> str:
    return hmac_sm3_hex(pseudonym_key("library-subject"), key.encode())


def record(db: Database, actor: Actor, library_id: int, grant_id: int, key: str, *,
           items: list[str] | None = None, today: date | None = None) -> dict[str, Any]:
    today = today or workdays.today()
    with db.read() as s:
        grant = G.usable_grant(s, actor, grant_id, MODE)
        library = s.get(Resource, library_id)
        if library is None or grant.resource_id != library.id:
            raise NotALibraryGrant("grant_other_resource", "授权 {id} 不是该资源库的授权", id=grant.id)
        row_def = definition_at(s, library.id, library.published_version or 0)
        if row_def is None:
            raise NotFound(f"信息资源 {library_id}", "library_not_found")
        key_item = next(i.name for i in library.items if i.is_key)
        canonical = [i.name for i in library.items if not i.is_key and not _is_provenance(i.name)]
        granted = set(grant.items)
        bag = ErrorBag()
        wanted = list(items) if items else [n for n in [key_item, *canonical] if n in granted]
        for name in wanted:
            if name not in granted:
                bag.add(f"items.{name}", "item_not_granted", "信息项“{name}”不在授权范围内", name=name)
        bag.raise_if_any("record_invalid")
        G.check_rate(grant, "verify")
        normal, code = normalise_key(key, row_def.kind, today)
        mask_items = policies.resource_items(s, library)
        state = live_state(s, library.id)
        codes = {r.id: (r.code, r.name) for r in s.query(Resource).filter(Resource.id.in_(
            select_sources(s, library.id))).all()}
        gid, lid = grant.id, library.id
    if code is not None:
        _log(db, actor, lid, gid, [], 0, code, None)
        bag = ErrorBag()
        bag.add("key", code, keys.REJECTS[code])
        bag.raise_if_any("record_invalid")
    assert normal is not None
    plan = P.scan(state, state.names, where=P.col(key_item).eq(P.exp.convert(normal)), order=())
    found = engine_for(Work.LOOKUP).query(state, plan)
    if found.num_rows == 0:
        _log(db, actor, lid, gid, [], 0, "not_found", normal)
        raise NotFound("记录", "record_not_found")
    row = found.slice(0, 1)
    values = pa.table({n: row.column(n) for n in wanted})
    masked = policies.apply_policy_to_arrow(values, mask_items, G.EXIT_PATH, purpose=f"share-grant:{gid}")
    leaving = masked.column_names
    clear = row.to_pylist()[0]
    out_values = {n: json_value(masked.column(n)[0].as_py()) for n in leaving}
    provenance = {}
    for n in leaving:
        if n == key_item:
            continue
        src = clear.get(f"{n}__source")
        code_name = codes.get(src, (None, None))
        provenance[n] = {"resource_id": src, "resource_code": code_name[0], "resource_name": code_name[1],
                         "batch_id": clear.get(f"{n}__batch"), "collected_at": json_value(clear.get(f"{n}__at"))}
    meta = masked.schema.metadata or {}
    withheld = [n for n in (meta.get(b"denied", b"").decode().split(",")) if n]
    masking = {f.name: (f.metadata or {}).get(b"operator", b"").decode() for f in masked.schema}
    _log(db, actor, lid, gid, leaving, 1, "ok", normal)
    return {"library_id": lid, "grant_id": gid, "values": out_values, "provenance": provenance,
            "masking": masking, "withheld": withheld}


def _is_provenance(name: str) -> bool:
    return any(name.endswith(f"__{part}") for part, _, _ in PROVENANCE_ITEMS)


def select_sources(session: Any, library_id: int) -> list[int]:
    """Every resource any version of the library drew on (an extended library's sources too)."""
    from sqlalchemy import select


    library = session.get(Resource, library_id)
    versions = session.execute(select(LibraryDefinition.version).where(
        LibraryDefinition.resource_id == library_id)).scalars().all()
    codes = {s.resource for v in versions if (eff := of_library(session, library, v)) is not None
             for s in eff.sources}
    rows = session.execute(select(LibraryDefinition).where(LibraryDefinition.resource_id == library_id)).scalars()
    codes |= {s.resource for r in rows for s in DefinitionIn.model_validate(r.definition).sources}
    return list(session.execute(select(Resource.id).where(Resource.code.in_(codes))).scalars())


def _log(db: Database, actor: Actor, library_id: int, grant_id: int, items: list[str], rows: int, outcome: str,
         key: str | None) -> None:
    with db.write() as s:
        access_log.record_read(s, actor, exit=EXIT, resource_id=library_id, items=items, rows=rows,
                               detail={"grant_id": grant_id, "outcome": outcome,
                                       "subject": _subject(key) if key else None})
