"""Runs one sandbox query in a process of its own (started by `operate.sandbox.run_locked`): the
DuckDB engine's isolated executor; on Spark the cluster runs the query (`SparkEngine.aggregate`).

Run as a script, `python -I sandbox_runner.py`, so that it imports nothing of the platform: only
DuckDB and PyArrow. It is started ahead of need (imports done, waiting), reads one line from
stdin — the directory of its one query — and exits after that query (or at end of input).
DIR holds `spec.json` ({"sql", "tables", "memory_mb"}) and one Arrow IPC file per view
(`<name>.arrow`, memory-mapped). The process caps its own address space (setrlimit RLIMIT_AS)
once its libraries are loaded, then runs the query on a DuckDB connection without file
or network access, with a locked configuration, and writes either `out.arrow` or `error.json`
({"kind": "plan" | "runtime" | "memory", "type", "message"}); both are written to a temporary
name and renamed, so the parent never reads half a file. The wall-clock limit is the parent's:
it kills this process when the time is up.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys

MB = 1024 * 1024
SLACK_MB = 512  # thread stacks, allocator arenas and the result beyond DuckDB's own memory limit


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main() -> int:
    import duckdb
    import pyarrow as pa
    import pyarrow.ipc as ipc

    workdir = sys.stdin.readline().strip()
    if not workdir:
        return 0  # the parent went away before handing over a query
    with open(os.path.join(workdir, "spec.json"), encoding="utf-8") as f:
        spec = json.load(f)
    memory_mb = int(spec["memory_mb"])
    tables = {}
    for name in spec["tables"]:
        tables[name] = ipc.open_file(pa.memory_map(os.path.join(workdir, f"{name}.arrow"))).read_all()
    cap = _vm_bytes() + (memory_mb + SLACK_MB) * MB
    with contextlib.suppress(ValueError, OSError):  # a hard limit already lower: keep it
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    error: dict[str, str] | None = None
    try:
        con = duckdb.connect(config={
            "enable_external_access": False, "autoload_known_extensions": False,
            "autoinstall_known_extensions": False, "allow_community_extensions": False,
            "memory_limit": f"{memory_mb}MB", "threads": int(spec.get("threads") or 1),
        })
        for name, table in tables.items():
            con.register(name, table)
        con.execute("SET lock_configuration = true")
        out = con.sql(spec["sql"]).to_arrow_table()
        sink = pa.BufferOutputStream()
        with ipc.new_file(sink, out.schema) as writer:
            writer.write_table(out)
        _write(os.path.join(workdir, "out.arrow"), sink.getvalue().to_pybytes())
        return 0
    except (duckdb.OutOfMemoryException, MemoryError) as err:
        error = {"kind": "memory", "type": type(err).__name__, "message": ""}
    except (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException) as err:
        # planning errors name columns and types, never row values
        error = {"kind": "plan", "type": type(err).__name__, "message": str(err).splitlines()[0][:300]}
    except duckdb.Error as err:
        # errors while reading rows may quote values: the kind only
        error = {"kind": "runtime", "type": type(err).__name__, "message": ""}
    _write(os.path.join(workdir, "error.json"), json.dumps(error).encode("utf-8"))
    return 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip the interpreter's teardown of DuckDB and the mapped tables: the answer is written
