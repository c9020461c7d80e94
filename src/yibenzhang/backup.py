"""`ybz backup PATH` and `ybz restore PATH` (DOMAIN §9: backups that restore).

A backup is a folder:

    manifest.json        format, version, backend, Alembic heads, table counts, ledger head,
                         and the SM3 digest and size of every other file
    manifest.sm3         the SM3 digest of manifest.json
    metadata/ybz.sqlite3 SQLite: a copy by the online backup API (one read snapshot)
    metadata/tables/data.pgdump  PostgreSQL: pg_dump (custom format, data only) run in the snapshot
                         exported by ONE repeatable-read transaction, or without pg_dump
    metadata/tables/*.copy   COPY of every table inside that same transaction
    zone/…               the batch folders the backed-up metadata references (immutable per batch)
    keys/…               YBZ_HOME/keys (org seal keys) and secret.key (the platform's secret)

Consistency while the server runs: the metadata is read from one snapshot first (SQLite: one
backup step under one read transaction; PostgreSQL: the counts and the zone's batch list are read in
the transaction whose snapshot pg_dump uses); a batch folder is renamed into place before its
manifest row commits and never changes after, so copying exactly the folders the snapshot references
gives a zone that matches it (a batch published after the snapshot is wholly out). Zone entries that
are not batch folders are copied as they are. The folder is written under a temporary name and
renamed when complete.

Restore goes into an EMPTY home (and, for PostgreSQL, an empty database at YBZ_DB_URL), verifies
every digest first, loads the data at the backup's schema revision, upgrades to this code's heads
and checks the table counts and the evidence chain.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from cryptography.hazmat.primitives import hashes

from .clikit import JsonOpt, domain_errors, emit
from .config import get_settings, reset_settings
from .db import get_database, make_engine, reset_databases
from .errors import Conflict, ValidationFailed
from .ledger import service as ledger
from .migrating import migrate, upgrade_to

FORMAT = "yibenzhang-backup"
VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sm3"
SQLITE_FILE = "metadata/ybz.sqlite3"
TABLES_DIR = "metadata/tables"
PG_DUMP_FILE = "data.pgdump"
SECRET_FILE = "secret.key"
CHUNK = 1 << 20


# --- small helpers ------------------------------------------------------------------------------


def sm3_file(path: Path) -> str:
    h = hashes.Hash(hashes.SM3())
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.finalize().hex()


def _sm3_bytes(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def _sqlite_path(url: str) -> Path:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database:
        raise Conflict("backup_sqlite_memory", "内存数据库无法备份或恢复")
    return Path(database)


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy a folder, leaving out writers' lock files."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".lock"), dirs_exist_ok=True)


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- metadata: SQLite --------------------------------------------------------------------------


def _snapshot_sqlite(url: str, out: Path) -> None:
    """The online backup API copies one consistent snapshot while writers go on (WAL)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(_sqlite_path(url), timeout=30)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, under one read snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _read_sqlite(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'search_fts_%' ORDER BY name")]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
                  if t != "alembic_version"}
        heads = sorted(r[0] for r in con.execute("SELECT version_num FROM alembic_version"))
        batches = [(p, s) for p, s in con.execute("SELECT path, status FROM zone_batches")] \
            if "zone_batches" in tables else []
        anchor = con.execute("SELECT seq, digest FROM ledger_anchor").fetchone() if "ledger_anchor" in tables else None
    finally:
        con.close()
    return {"counts": counts, "heads": heads, "batches": batches,
            "ledger": {"seq": anchor[0], "digest": anchor[1]} if anchor else None}


# --- metadata: PostgreSQL ------------------------------------------------------------------------


def _pg_connect(url: str) -> Any:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database)


def _pg_tables(cur: Any) -> list[str]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [r[0] for r in cur.fetchall()]


def _pg_columns(cur: Any, table: str) -> list[str]:
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position", (table,))
    return [r[0] for r in cur.fetchall()]


def _quoted(names: list[str]) -> str:
    return ", ".join('"' + n.replace('"', '""') + '"' for n in names)


def _pg_cli(url: str) -> tuple[list[str], dict[str, str], str]:
    """Connection arguments for pg_dump / pg_restore; the password goes by environment, not argv."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    args: list[str] = []
    if u.host:
        args += ["-h", u.host]
    if u.port:
        args += ["-p", str(u.port)]
    if u.username:
        args += ["-U", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env, u.database or ""


def _pg_meta(cur: Any, tables: list[str]) -> dict[str, Any]:
    """Counts, schema revisions, the zone's batch folders and the ledger head, in the caller's snapshot."""
    counts: dict[str, int] = {}
    for table in tables:
        if table != "alembic_version":
            cur.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cur.fetchone()[0]
    cur.execute("SELECT version_num FROM alembic_version")
    heads = sorted(r[0] for r in cur.fetchall())
    batches: list[tuple[str, str]] = []
    if "zone_batches" in tables:
        cur.execute("SELECT path, status FROM zone_batches")
        batches = [(p, st) for p, st in cur.fetchall()]
    anchor = None
    if "ledger_anchor" in tables:
        cur.execute("SELECT seq, digest FROM ledger_anchor")
        anchor = cur.fetchone()
    return {"counts": counts, "heads": heads, "batches": batches,
            "ledger": {"seq": anchor[0], "digest": anchor[1]} if anchor else None}


def _snapshot_pg(url: str, out_dir: Path, method: str = "auto") -> dict[str, Any]:
    """One REPEATABLE READ, READ ONLY transaction: pg_dump runs in its exported snapshot (when
    installed and able to dump this server), else every table is COPYed inside it. Either way the
    counts and the zone's batch list come from the same snapshot as the data."""
    import subprocess

    import psycopg

    out_dir.mkdir(parents=True, exist_ok=True)
    use_dump = method == "pg_dump" or (method == "auto" and shutil.which("pg_dump") is not None)
    with _pg_connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction(), conn.cursor() as cur:
            tables = _pg_tables(cur)
            columns = {t: _pg_columns(cur, t) for t in tables if t != "alembic_version"}
            used = "copy"
            if use_dump:
                cur.execute("SELECT pg_export_snapshot()")
                snapshot = cur.fetchone()[0]
                args, env, dbname = _pg_cli(url)
                done = subprocess.run(
                    ["pg_dump", *args, "--data-only", "--format=custom", "--no-owner", "--no-privileges",
                     f"--snapshot={snapshot}", "--exclude-table=alembic_version", "-f", str(out_dir / PG_DUMP_FILE),
                     dbname], env=env, capture_output=True, text=True, check=False)
                if done.returncode == 0:
                    used = "pg_dump"
                elif method == "pg_dump":
                    raise Conflict("backup_pg_dump_failed", "pg_dump失败：{reason}",
                                   reason=done.stderr.strip()[-300:])
                else:  # e.g. an older pg_dump than the server: fall back to COPY in the same snapshot
                    (out_dir / PG_DUMP_FILE).unlink(missing_ok=True)
            if used == "copy":
                for table, cols in columns.items():
                    with (out_dir / f"{table}.copy").open("wb") as f, \
                            cur.copy(f'COPY "{table}" ({_quoted(cols)}) TO STDOUT') as copy:
                        for data in copy:
                            f.write(data)
            meta = _pg_meta(cur, tables)
    return {**meta, "columns": columns, "pg_method": used}


# --- backup ------------------------------------------------------------------------------------


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Conflict("backup_target_exists", "备份目标“{path}”已存在且不为空", path=str(target))


def _is_batch_entry(name: str) -> bool:
    """Region folders (6-digit division codes) hold batches; dot-folders are staging."""
    return name.startswith(".") or (name.isdigit() and len(name) == 6)


def _copy_zone_s3(store: Any, batches: list[tuple[str, str]], out: Path) -> dict[str, Any]:
    """The same as `_copy_zone` from an S3 zone: the objects under each referenced batch prefix
    (exact keys: a prefix is written once, before its manifest row commits), then the objects
    outside batch prefixes (sandbox outputs)."""
    copied, missing = 0, []
    for rel, status in batches:
        entries = [e for e in store.files(rel) if not e.relative.endswith("/.lease")]
        if not entries:
            missing.append({"path": rel, "status": status})
            continue
        for e in entries:
            store.get_file(e.relative, out / e.relative)
        copied += 1
    others = set()
    for e in store.files():
        top = e.relative.split("/", 1)[0]
        if not _is_batch_entry(top):
            store.get_file(e.relative, out / e.relative)
            others.add(top)
    return {"batches": copied, "missing": missing, "other_entries": len(others)}


def _copy_zone(zone: Path, batches: list[tuple[str, str]], out: Path) -> dict[str, Any]:
    """The batch folders the snapshot references, and the zone's other files (not batch folders)."""
    # deferred: keeps `ybz --help` light
    from .zone.store import get_store

    store = get_store()
    if store.is_s3:
        return _copy_zone_s3(store, batches, out)
    copied, missing = 0, []
    for rel, status in batches:
        src = zone / rel
        if not src.is_dir():
            missing.append({"path": rel, "status": status})
            continue
        _copy_tree(src, out / rel)
        copied += 1
    other = 0
    if zone.is_dir():
        for entry in zone.iterdir():
            if _is_batch_entry(entry.name):
                continue
            if entry.is_dir():
                _copy_tree(entry, out / entry.name)
            else:
                shutil.copy2(entry, out / entry.name)
            other += 1
    return {"batches": copied, "missing": missing, "other_entries": other}


def create_backup(target: Path, pg_method: str = "auto") -> dict[str, Any]:
    settings = get_settings()
    target = target.resolve()
    _check_target(target)
    for inside in (settings.zone, settings.keys_dir):
        if target.is_relative_to(inside.resolve()):
            raise Conflict("backup_target_inside", "备份目标不能位于数据区或密钥目录内：{path}", path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir(mode=0o700)  # it holds the platform's secret and the orgs' seal keys
    try:
        backend = "sqlite" if _is_sqlite(settings.db_url) else "postgresql"
        if backend == "sqlite":
            get_database()  # make sure the store exists with its pragmas (WAL) before reading it
            _snapshot_sqlite(settings.db_url, work / SQLITE_FILE)
            meta = _read_sqlite(work / SQLITE_FILE)
        else:
            meta = _snapshot_pg(settings.db_url, work / TABLES_DIR, pg_method)
        zone = _copy_zone(settings.zone, meta["batches"], work / "zone")
        if settings.keys_dir.is_dir():
            _copy_tree(settings.keys_dir, work / "keys")
        (work / "keys").mkdir(exist_ok=True)
        (work / "keys" / SECRET_FILE).write_text(settings.secret_key)
        files = {p.relative_to(work).as_posix(): {"sm3": sm3_file(p), "size": p.stat().st_size}
                 for p in _files_under(work)}
        manifest = {
            "format": FORMAT, "version": VERSION, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "backend": backend, "alembic_heads": meta["heads"], "counts": meta["counts"],
            "columns": meta.get("columns"), "pg_method": meta.get("pg_method"), "ledger": meta["ledger"], "zone": zone,
            "secret_from_env": bool(os.environ.get("YBZ_SECRET_KEY")), "files": files,
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        (work / MANIFEST).write_bytes(body)
        (work / MANIFEST_DIGEST).write_text(_sm3_bytes(body) + "\n")
        if target.exists():
            target.rmdir()  # empty (checked above)
        os.rename(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return {"path": str(target), "backend": backend, "pg_method": meta.get("pg_method"), "alembic_heads": meta["heads"],
            "tables": len(meta["counts"]), "rows": sum(meta["counts"].values()), "files": len(files),
            "zone_batches": zone["batches"], "zone_missing": len(zone["missing"]), "ledger": meta["ledger"]}


# --- verification ------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest, after checking its own digest and every file's SM3 and size."""
    mpath, dpath = source / MANIFEST, source / MANIFEST_DIGEST
    if not source.is_dir() or not mpath.is_file() or not dpath.is_file():
        raise ValidationFailed("backup_invalid", "“{path}”不是一本账的备份（缺少清单）", path=str(source))
    body = mpath.read_bytes()
    if _sm3_bytes(body) != dpath.read_text().strip():
        raise ValidationFailed("backup_corrupt", "备份已损坏：文件“{file}”的SM3摘要不符", file=MANIFEST)
    manifest = json.loads(body)
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise ValidationFailed("backup_invalid", "“{path}”不是一本账的备份（缺少清单）", path=str(source))
    bad = []
    for rel, info in manifest["files"].items():
        path = source / rel
        if not path.is_file() or path.stat().st_size != info["size"] or sm3_file(path) != info["sm3"]:
            bad.append(rel)
    if bad:
        raise ValidationFailed("backup_corrupt", "备份已损坏：文件“{file}”的SM3摘要不符", file="、".join(bad[:10]))
    return manifest


def verify_backup(source: Path) -> dict[str, Any]:
    manifest = read_manifest(source.resolve())
    return {"path": str(source), "ok": True, "backend": manifest["backend"], "files": len(manifest["files"]),
            "alembic_heads": manifest["alembic_heads"], "ledger": manifest["ledger"]}


# --- restore -----------------------------------------------------------------------------------


def _home_is_empty(home: Path, zone: Path, keys: Path) -> bool:
    """Nothing but empty folders and, at most, a platform secret made by reading the settings."""
    for root in {home, zone, keys}:
        if not root.exists():
            continue
        for p in root.rglob("*"):
            if p.is_file() and p != keys / SECRET_FILE:
                return False
    return True


def _pg_is_empty(url: str) -> bool:
    with _pg_connect(url) as conn, conn.cursor() as cur:
        return not _pg_tables(cur)


def _upgrade_to(url: str, heads: list[str]) -> None:
    """Bring an empty database to exactly the backup's schema revisions (of either history)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            unknown = upgrade_to(url, conn, heads)
            if unknown:
                raise Conflict("backup_schema_unknown", "备份的数据库版本“{heads}”不为本程序所知，请用更新的版本恢复",
                               heads="、".join(unknown))
    finally:
        engine.dispose()


def _load_pg(url: str, source: Path, manifest: dict[str, Any]) -> None:
    """Load every table back (triggers and FK checks off while loading), then move the sequences."""
    dumped = manifest.get("pg_method") == "pg_dump"
    with _pg_connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        tables = [t for t in _pg_tables(cur) if t != "alembic_version"]
        if tables:  # what migrations seeded, if anything: the backup's rows replace it
            cur.execute("TRUNCATE " + _quoted(tables) + " RESTART IDENTITY CASCADE")
        if not dumped:
            try:
                cur.execute("SAVEPOINT replica")
                cur.execute("SET LOCAL session_replication_role = replica")
            except Exception:  # not a superuser: load in dependency order instead
                cur.execute("ROLLBACK TO SAVEPOINT replica")
            for table in _pg_load_order(conn, manifest["columns"]):
                cols = manifest["columns"][table]
                with (source / TABLES_DIR / f"{table}.copy").open("rb") as f, \
                        cur.copy(f'COPY "{table}" ({_quoted(cols)}) FROM STDIN') as copy:
                    while data := f.read(CHUNK):
                        copy.write(data)
    if dumped:
        _pg_restore(url, source / TABLES_DIR / PG_DUMP_FILE)
    with _pg_connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "SELECT s.relname, t.relname, a.attname FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
            "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid "
            "AND a.attnum = d.refobjsubid JOIN pg_namespace n ON n.oid = s.relnamespace "
            "WHERE s.relkind = 'S' AND n.nspname = 'public'")
        for seq, table, col in cur.fetchall():
            cur.execute(f'SELECT setval(\'"{seq}"\', COALESCE((SELECT max("{col}") FROM "{table}"), 0) + 1, false)')


def _pg_restore(url: str, dump: Path) -> None:
    import subprocess

    if shutil.which("pg_restore") is None:
        raise Conflict("restore_pg_restore_missing", "此备份由pg_dump写成，恢复需要pg_restore")
    args, env, dbname = _pg_cli(url)
    done = subprocess.run(["pg_restore", *args, "--data-only", "--disable-triggers", "--single-transaction",
                           "--no-owner", "--no-privileges", "-d", dbname, str(dump)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Conflict("restore_pg_restore_failed", "pg_restore失败：{reason}", reason=done.stderr.strip()[-300:])


def _pg_load_order(conn: Any, columns: dict[str, list[str]]) -> list[str]:
    """Parents before children (foreign keys), for when triggers cannot be switched off."""
    with conn.cursor() as cur:
        cur.execute("SELECT tc.table_name, ccu.table_name FROM information_schema.table_constraints tc "
                    "JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name "
                    "AND tc.table_schema = ccu.table_schema WHERE tc.constraint_type = 'FOREIGN KEY' "
                    "AND tc.table_schema = 'public'")
        parents: dict[str, set[str]] = {t: set() for t in columns}
        for child, parent in cur.fetchall():
            if child in parents and parent in columns and parent != child:
                parents[child].add(parent)
    order: list[str] = []
    done: set[str] = set()

    def visit(t: str, path: tuple[str, ...] = ()) -> None:
        if t in done or t in path:
            return
        for p in sorted(parents[t]):
            visit(p, (*path, t))
        done.add(t)
        order.append(t)

    for t in sorted(columns):
        visit(t)
    return order


def _counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # FTS5 shadow tables are part of their virtual table, counted through it.
            names = [n for n in inspect(conn).get_table_names()
                     if n != "alembic_version" and not n.startswith("search_fts_")]
            return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
    finally:
        engine.dispose()


def _undo_restore(home: Path, zone: Path, keys: Path, url: str, backend: str) -> None:
    """Take back a restore that failed half-way: the home was empty before, so empty it again."""

    reset_databases()
    for root in (zone, keys):
        if root.is_dir():
            for entry in root.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
    if backend == "sqlite":
        db_path = _sqlite_path(url)
        for extra in ("", "-wal", "-shm", ".restoring"):
            Path(str(db_path) + extra).unlink(missing_ok=True)
        return
    with _pg_connect(url) as conn, conn.cursor() as cur:
        tables = _pg_tables(cur)
        if tables:
            cur.execute("DROP TABLE " + _quoted(tables) + " CASCADE")


def _upload_zone(store: Any, folder: Path, manifest: dict[str, Any]) -> None:
    """Write the backup's zone files back to an S3 zone, each object read back and checked
    against the manifest's SM3 digest and size (what arrived, not what was sent)."""
    # deferred: keeps `ybz --help` light
    from .zone.storage import sm3_files

    files = manifest["files"]
    for path in _files_under(folder):
        rel = path.relative_to(folder).as_posix()
        store.put_file(path, rel)
        want = files[f"zone/{rel}"]
        if store.size(rel) != want["size"] or sm3_files([store.uri(rel)]) != want["sm3"]:
            raise Conflict("restore_digest_mismatch", "恢复写入的文件“{path}”摘要不符", path=rel)


def _check_batch_digests() -> None:
    """Every restored published batch's files have the SM3 digest its manifest row recorded."""
    from sqlalchemy import select

    # deferred: keeps `ybz --help` light
    from .zone.model import Batch, BatchStatus

    # deferred: keeps `ybz --help` light
    from .zone.storage import sm3_files

    # deferred: keeps `ybz --help` light
    from .zone.store import get_store

    store = get_store()
    with get_database().read() as s:
        rows = s.execute(select(Batch.path, Batch.files, Batch.digest)
                         .where(Batch.status == BatchStatus.PUBLISHED.value)).all()
    for path, files, digest in rows:
        uris = [store.uri(f"{path}/{f}") for f in files]
        if not all(store.exists(f"{path}/{f}") for f in files):
            continue  # a batch the backup recorded as missing (its manifest says so)
        if sm3_files(uris) != digest:
            raise Conflict("restore_digest_mismatch", "恢复写入的文件“{path}”摘要不符", path=path)


def restore_backup(source: Path) -> dict[str, Any]:
    source = source.resolve()
    manifest = read_manifest(source)
    # deferred: keeps `ybz --help` light
    from .zone.store import get_store

    home = Path(os.environ.get("YBZ_HOME", "./ybz-data")).resolve()
    reset_settings()
    zone = get_settings().zone  # with an S3 zone: its local scratch folder
    keys = home / "keys"
    if not _home_is_empty(home, zone, keys):
        raise Conflict("restore_home_not_empty", "只能恢复到空的数据目录，“{path}”不为空", path=str(home))
    store = get_store()
    if store.is_s3 and store.files():
        raise Conflict("restore_zone_not_empty", "只能恢复到空的数据区，“{path}”不为空", path=store.root_uri)
    secret = (source / "keys" / SECRET_FILE).read_text()
    env_secret = os.environ.get("YBZ_SECRET_KEY")
    if env_secret and env_secret != secret:
        raise Conflict("restore_secret_mismatch", "YBZ_SECRET_KEY与备份中的平台密钥不同，存证链将无法验证")
    settings = get_settings()
    url = settings.db_url
    backend = "sqlite" if _is_sqlite(url) else "postgresql"
    if backend != manifest["backend"]:
        raise Conflict("restore_backend_mismatch", "备份来自{backup}，不能恢复到{target}",
                       backup=manifest["backend"], target=backend)
    if backend == "sqlite":
        if _sqlite_path(url).exists():
            raise Conflict("restore_home_not_empty", "只能恢复到空的数据目录，“{path}”不为空", path=str(home))
    elif not _pg_is_empty(url):
        raise Conflict("restore_database_not_empty", "只能恢复到空的数据库（YBZ_DB_URL）")
    reset_databases()
    try:
        home.mkdir(parents=True, exist_ok=True)
        keys.mkdir(parents=True, exist_ok=True)
        if (source / "keys").is_dir():
            _copy_tree(source / "keys", keys)
        if env_secret:
            (keys / SECRET_FILE).unlink(missing_ok=True)  # the environment holds it
        zone.mkdir(parents=True, exist_ok=True)
        if (source / "zone").is_dir():
            if store.is_s3:
                _upload_zone(store, source / "zone", manifest)
            else:
                _copy_tree(source / "zone", zone)
        if backend == "sqlite":
            db_path = _sqlite_path(url)
            db_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = db_path.with_name(db_path.name + ".restoring")
            shutil.copyfile(source / SQLITE_FILE, tmp)
            os.replace(tmp, db_path)
        else:
            _upgrade_to(url, manifest["alembic_heads"])
            _load_pg(url, source, manifest)
        counts = _counts(url)
        differ = {t: [n, counts.get(t)] for t, n in manifest["counts"].items() if counts.get(t) != n}
        if differ:
            raise Conflict("restore_counts_differ", "恢复后的表行数与备份清单不符：{tables}", tables=", ".join(differ))
        reset_settings()
        reset_databases()
        migrate(url)  # to this code's heads (a no-op when the backup is of the same version)
        _check_batch_digests()
    except BaseException:
        _undo_restore(home, zone, keys, url, backend)  # never leave a half-restored home behind
        if store.is_s3:
            for e in store.files():
                store.delete_file(e.relative)
        raise

    with get_database().read() as s:
        report = ledger.verify(s)
    return {"path": str(source), "home": str(home), "backend": backend, "alembic_heads": manifest["alembic_heads"],
            "tables": len(counts), "rows": sum(counts.values()), "zone_batches": manifest["zone"]["batches"],
            "ledger_ok": report.ok, "ledger_events": report.events, "ledger_last_seq": report.last_seq}


# --- commands ----------------------------------------------------------------------------------


def backup_command(
    path: Path = typer.Argument(..., help="A new (or empty) folder to write the backup to."),
    pg_method: str = typer.Option("auto", "--pg-method",
                                  help="PostgreSQL: auto (pg_dump when installed, else COPY) | pg_dump | copy."),
    as_json: bool = JsonOpt,
) -> None:
    """Back up the metadata store, the zone and the keys while the platform runs."""
    with domain_errors(as_json):
        if pg_method not in ("auto", "pg_dump", "copy"):
            raise ValidationFailed("unknown_value", "未知的取值“{value}”，可选：{allowed}", value=pg_method,
                                   allowed="auto、pg_dump、copy")
        emit(create_backup(path, pg_method), as_json)


def restore_command(
    path: Path = typer.Argument(..., help="A folder written by `ybz backup`."),
    verify_only: bool = typer.Option(False, "--verify-only", help="Check the digests; restore nothing."),
    as_json: bool = JsonOpt,
) -> None:
    """Restore a backup into an empty YBZ_HOME (and, for PostgreSQL, an empty YBZ_DB_URL)."""
    with domain_errors(as_json):
        out = verify_backup(path) if verify_only else restore_backup(path)
    emit(out, as_json)
    if not out.get("ok", out.get("ledger_ok", True)):
        raise typer.Exit(1)
