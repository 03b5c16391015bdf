"""The audit on a 10,000-table schema against pg_dump --schema-only of the same database.

Floor: `pg_dump --schema-only` (what any schema tool must at least read). Figures: the live audit
(`veza-db audit URL`) and the audit of the dump file, each as a ratio to pg_dump's time, all
three run as whole commands from the same process tree. Targets: live <= 0.1, file <= 0.5.

Peer: `squawk FILE` (a migration linter, a dev dependency) on the same dump in the same run;
`audit_file_vs_squawk` is the file audit's time over squawk's (below 1: faster than the peer).

Python compiles each module the first time it imports it and keeps the bytecode for the next
runs (`__pycache__`), unless PYTHONDONTWRITEBYTECODE is set, as it is on some CI machines and
containers: then every run compiles every module again. The commands are timed as the
environment runs them, and once more with a bytecode cache (`*_cached_s`), which is what an
installed veza-db does from its second run on. `breakdown` says where one run's time goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.cluster import BenchServer, best_of, timed

_TYPES = ("text", "integer", "timestamp", "timestamptz", "boolean", "numeric(10,2)", "uuid", "jsonb")

# One audit in a process of its own, timed phase by phase (the phases the CLI goes through).
_PHASES = r"""
import json, sys, time
clock = time.perf_counter
marks = {}
last = clock()
def mark(name):
    global last
    now = clock()
    marks[name] = round(now - last, 3)
    last = now
import veza_db.cli  # the CLI's start-up: typer, the app
mark("import_cli")
from veza_db import api, dburl
from veza_db import policy
from veza_db.audit import engine
from veza_db.catalog import expr, live, sqlfile
mark("import_audit")
import pglast.parser  # PostgreSQL's parser: the file's statements, the defaults the rules read
mark("import_pglast")
target, out = sys.argv[1], sys.argv[2]
if target.startswith("postgresql://"):
    import psycopg
    mark("import_psycopg")
    with psycopg.connect(target) as conn:
        mark("connect")
        # The loader's queries run on a reading thread while it builds the model: one phase.
        catalog = live.load_connection(conn, target)
        mark("catalog_read_and_model")
        # The same queries alone, one after the other, for comparison (not part of the run).
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SET LOCAL search_path = ''")
            cur.execute("SET LOCAL work_mem = '64MB'")
            for name in live._QUERIES:
                cur.execute(live._query(name)).fetchall()
        marks["queries_alone_for_comparison"] = round(clock() - last, 3)
        last = clock()
else:
    from pathlib import Path
    text = sqlfile.read_text(Path(target))
    mark("read")
    catalog = sqlfile.load_text(text, target)
    mark("model")
    with expr.many_objects():
        count = sum(1 for _ in sqlfile.statements(text, target))
    marks["of_which_split_parse_json"] = round(clock() - last, 3)
    last = clock()
result = engine.run(catalog, policy.default(), kind="x", target=target)
mark("rules")
report = api.render_audit(result, "json")
mark("render_json")
Path = __import__("pathlib").Path
Path(out).write_text(report)
mark("write")
print(json.dumps(marks))
"""


def schema_sql(tables: int) -> list[str]:
    """Batches of DDL: tables with a key, typed columns, a foreign key, an index and a comment."""
    batches, batch = [], []
    for n in range(tables):
        columns = ",\n".join(f"    c{i} {_TYPES[(n + i) % len(_TYPES)]}" for i in range(8))
        parent = f",\n    parent_id bigint REFERENCES t{n - 1} (id)" if n else ""
        batch.append(
            f"CREATE TABLE t{n} (\n    id bigserial PRIMARY KEY,\n{columns}{parent},\n"
            f"    created_at timestamptz NOT NULL DEFAULT {'now()' if n % 3 else 'CURRENT_TIMESTAMP'}\n);\n"
            f"CREATE INDEX t{n}_c1_idx ON t{n} (c1);\n"
            + (f"COMMENT ON TABLE t{n} IS 'synthetic table {n}';\n" if n % 2 else "")
        )
        if len(batch) == 250:
            batches.append("BEGIN;\n" + "".join(batch) + "COMMIT;\n")
            batch = []
    if batch:
        batches.append("BEGIN;\n" + "".join(batch) + "COMMIT;\n")
    return batches


def _cached_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def breakdown(target: str, work: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Where one audit of `target` spends its time: the interpreter's start, the command line's
    start (`audit --help`), then each phase of an audit run in a process of its own."""
    python = best_of(3, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True, env=env))
    # The command line's own start (typer and what it imports), without an audit.
    cli = best_of(
        3,
        lambda: subprocess.run(
            [sys.executable, "-m", "veza_db.cli", "audit", "--help"], check=True, capture_output=True, env=env
        ),
    )
    whole, proc = timed(
        lambda: subprocess.run(
            [sys.executable, "-c", _PHASES, target, str(work / "breakdown.json")],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
    )
    phases: dict[str, Any] = {"python_start": round(python, 3), "cli_audit_help": round(cli, 3)}
    phases.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    phases["whole_process"] = round(whole, 3)
    return phases


def run(server: BenchServer, tables: int = 10_000, runs: int = 3, breakdowns: bool = True) -> dict[str, Any]:
    url = server.createdb("audit_scale")
    psql = str(server.bin_dir / "psql")
    for batch in schema_sql(tables):
        subprocess.run([psql, url, "-qX", "-v", "ON_ERROR_STOP=1"], input=batch, text=True, check=True)
    work = Path(tempfile.mkdtemp(prefix="veza-bench-audit-"))
    dump = work / "dump.sql"
    veza = [sys.executable, "-m", "veza_db.cli", "audit", "--format", "json", "--fail-on", "never"]
    cached = _cached_env(work / "pycache")

    def pg_dump() -> None:
        subprocess.run([str(server.bin_dir / "pg_dump"), "--schema-only", "-f", str(dump), url], check=True)

    def audit(target: str, env: dict[str, str] | None = None) -> None:
        subprocess.run([*veza, target, "--output", str(work / "out.json")], check=True, env=env)

    squawk = [str(Path(sys.executable).parent / "squawk"), "--reporter", "json", "--pg-version", "15.0"]

    def lint() -> None:
        # squawk exits 1 when it reports anything; only a crash (2 and above) is a failure here.
        done = subprocess.run([*squawk, str(dump)], check=False, capture_output=True)
        if done.returncode > 1:
            raise RuntimeError(f"squawk failed on the dump (exit {done.returncode})")

    floor = best_of(runs, pg_dump)
    live = best_of(runs, lambda: audit(url))
    from_file = best_of(runs, lambda: audit(str(dump)))
    # The peer: squawk, a migration linter, reading the same dump file in the same run.
    peer = best_of(runs, lint)
    audit(str(dump), cached)  # fills the bytecode cache
    live_cached = best_of(runs, lambda: audit(url, cached))
    file_cached = best_of(runs, lambda: audit(str(dump), cached))
    figures: dict[str, Any] = {
        "postgres": server.version(),
        "tables": tables,
        "dump_mb": round(dump.stat().st_size / 1e6, 1),
        "pg_dump_s": round(floor, 3),
        "audit_live_s": round(live, 3),
        "audit_file_s": round(from_file, 3),
        "audit_vs_pg_dump": round(live / floor, 3),
        "audit_file_vs_pg_dump": round(from_file / floor, 3),
        "squawk_file_s": round(peer, 3),
        "audit_file_vs_squawk": round(from_file / peer, 3),
        "audit_live_cached_s": round(live_cached, 3),
        "audit_file_cached_s": round(file_cached, 3),
        "audit_cached_vs_pg_dump": round(live_cached / floor, 3),
        "audit_file_cached_vs_pg_dump": round(file_cached / floor, 3),
    }
    if breakdowns:
        figures["breakdown_live"] = breakdown(url, work)
        figures["breakdown_file"] = breakdown(str(dump), work)
        figures["breakdown_live_cached"] = breakdown(url, work, cached)
        figures["breakdown_file_cached"] = breakdown(str(dump), work, cached)
    return figures
