"""`ybz library …`: list libraries, fuse one now, show conflicts, send them back, look up one
entity's record (as a grant holder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ..catalog.service import get_resource
from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database

if TYPE_CHECKING:
    from ..access import Actor
    from ..db import Database

library_app = typer.Typer(help="基础库/主题库（一人一档、一企一档） / base and theme libraries", no_args_is_help=True)


def _opened(as_user: str | None, library: str) -> tuple[Database, Actor, int]:
    """The store, the acting user and the library's id (a code or an id, checked as they may see it)."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from .definition import get_library

    actor = acting_as(as_user)
    db = get_database()
    with db.read() as s:
        return db, actor, get_library(s, actor, library).id


@library_app.command("list")
def list_command(as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Libraries and their grades (就高从严 over their items)."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from .definition import list_libraries

    with domain_errors(as_json), get_database().read() as s:
        emit(list_libraries(s, acting_as(as_user)), as_json)


@library_app.command("fuse")
def fuse_command(
    library: str = typer.Argument(..., help="资源库代码或编号 / library code or id"),
    full: bool = typer.Option(False, "--full", help="Fuse everything again (default: only touched entities)."),
    engine: str | None = typer.Option(None, "--engine", help="duckdb | spark (default: the zone's rule)"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Fuse a library now and publish the result as its next batch."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from .run import fuse

    with domain_errors(as_json):
        db, actor, lib = _opened(as_user, library)
        emit(fuse(db, actor, lib, engine=engine, full=full), as_json)


@library_app.command("conflicts")
def conflicts_command(
    library: str = typer.Argument(..., help="资源库代码或编号 / library code or id"),
    source: str | None = typer.Option(None, "--source", help="A source resource: its steward's list"),
    send: bool = typer.Option(False, "--send", help="Send unsent conflicts back as objections."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Conflicts per source org and item; a source's list; or send them back as objections."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from . import conflicts as C

    with domain_errors(as_json):
        db, actor, lib = _opened(as_user, library)
        with (db.write() if send else db.read()) as s:
            src = get_resource(s, actor, source).id if source else None
            if send:
                emit(C.send(s, actor, lib, src), as_json)
            elif src is not None:
                emit(C.steward_list(s, actor, lib, src), as_json)
            else:
                emit(C.counts(s, actor, lib)["rows"], as_json)


@library_app.command("record")
def record_command(
    library: str = typer.Argument(..., help="资源库代码或编号 / library code or id"),
    key: str = typer.Argument(..., help="公民身份号码 / 统一社会信用代码"),
    grant: int = typer.Option(..., "--grant", help="Your org's grant (mode 接口) on the library"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """一人一档 / 一企一档: one entity's record (granted items, masked, with provenance)."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from .views import record

    with domain_errors(as_json):
        db, actor, lib = _opened(as_user, library)
        emit(record(db, actor, lib, grant, key), as_json)
