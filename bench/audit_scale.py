"""The audit on a 10,000-table schema against pg_dump --schema-only of the same database.

Floor: `pg_dump --schema-only` (what any schema tool must at least read). Figures: the live audit
(`veza-db audit URL`) and the audit of the dump file, each as a ratio to pg_dump's time, all
three run as whole commands from the same process tree. Targets: live <= 0.1, file <= 0.5.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cluster import BenchServer, best_of

_TYPES = ("text", "integer", "timestamp", "timestamptz", "boolean", "numeric(10,2)", "uuid", "jsonb")


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


def run(server: BenchServer, tables: int = 10_000, runs: int = 3) -> dict[str, float]:
    url = server.createdb("audit_scale")
    psql = str(server.bin_dir / "psql")
    for batch in schema_sql(tables):
        subprocess.run([psql, url, "-qX", "-v", "ON_ERROR_STOP=1"], input=batch, text=True, check=True)
    work = Path(tempfile.mkdtemp(prefix="veza-bench-audit-"))
    dump = work / "dump.sql"
    veza = [sys.executable, "-m", "veza_db.cli", "audit", "--format", "json", "--fail-on", "never"]

    def pg_dump() -> None:
        subprocess.run([str(server.bin_dir / "pg_dump"), "--schema-only", "-f", str(dump), url], check=True)

    def audit(target: str) -> None:
        subprocess.run([*veza, target, "--output", str(work / "out.json")], check=True)

    floor = best_of(runs, pg_dump)
    live = best_of(runs, lambda: audit(url))
    from_file = best_of(runs, lambda: audit(str(dump)))
    return {
        "tables": tables,
        "dump_mb": round(dump.stat().st_size / 1e6, 1),
        "pg_dump_s": round(floor, 3),
        "audit_live_s": round(live, 3),
        "audit_file_s": round(from_file, 3),
        "audit_vs_pg_dump": round(live / floor, 3),
        "audit_file_vs_pg_dump": round(from_file / floor, 3),
    }
