"""The port against its floor: psql's `\\copy` of the same rows, already in V1 shape.

The port streams COPY's binary format; the floor is psql's default text format, and psql's
binary `\\copy` of the same rows is reported beside it (`port_vs_binary_copy`), so the port's own
overhead over the cheapest load PostgreSQL offers stays visible.

The source is a Lab database with users, tracks and N `track_plays` (1M quick, 10M full). The
port's rows/s on `track_plays` (its own copy time, from its JSON report) is compared with
`psql \\copy` loading the very rows the port produced into the same V1 table of another fresh V1
database. Peak memory of the port process is read from the kernel (wait4's ru_maxrss).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.cluster import BenchServer

REPO = Path(__file__).resolve().parent.parent
_LAB = REPO / "tests" / "fixtures" / "lab_schema.sql"


def _psql(server: BenchServer, url: str, *args: str, stdin: str | None = None) -> None:
    subprocess.run([str(server.bin_dir / "psql"), url, "-qX", "-v", "ON_ERROR_STOP=1", *args], input=stdin,
                   text=True, check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def fill_source(server: BenchServer, url: str, plays: int) -> None:
    _psql(server, url, "-f", str(_LAB))
    _psql(
        server, url, "-c",
        "INSERT INTO users (username, email, password_hash) SELECT 'user' || g, 'user' || g || '@example.com', 'x' "
        "FROM generate_series(1, 1000) g;"
        "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes, duration_ms) "
        "SELECT (SELECT id FROM users ORDER BY id OFFSET g % 1000 LIMIT 1), 'track ' || g, 'k/' || g, 'mp3', 1000, 180000 "
        "FROM generate_series(1, 2000) g;",
    )  # fmt: skip
    _psql(
        server, url, "-c",
        "CREATE TEMP TABLE u AS SELECT array_agg(id) a FROM users; CREATE TEMP TABLE t AS SELECT array_agg(id) a FROM tracks;"
        "INSERT INTO track_plays (track_id, user_id, played_at, ms_played, source) "
        f"SELECT t.a[1 + g % 2000], CASE WHEN g % 10 = 0 THEN NULL ELSE u.a[1 + g % 1000] END, "
        "timestamptz '2025-01-01' + g * interval '1 second', g % 300000, "
        "(ARRAY['library','playlist','search','radio','other'])[1 + g % 5] "
        f"FROM u, t, generate_series(1, {plays}) g;",
    )  # fmt: skip
    _psql(server, url, "-c", "VACUUM ANALYZE")


def run(server: BenchServer, plays: int = 1_000_000) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="veza-bench-port-"))
    work.chmod(0o777)  # the server's user writes the floor's data file here
    source = server.createdb("port_source")
    fill_source(server, source, plays)
    veza = [sys.executable, "-m", "veza_db.cli"]
    target = server.createdb("port_target")
    subprocess.run([*veza, "up", "--database-url", target], check=True, stdout=subprocess.DEVNULL)

    started = time.perf_counter()
    proc = subprocess.Popen([*veza, "port", "--from", source, "--to", target, "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    total = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"port failed: {output[-500:]}")
    report = json.loads(output)
    plays_result = next(t for t in report["tables"] if t["target"] == "track_plays")

    # The floor: the rows the port wrote, dumped in V1 shape, loaded by psql \copy into the same
    # table of a fresh V1 database that already holds the parents. psql's default text format is
    # the floor; its binary format (what the port streams) is shown beside it.
    floor = _load_seconds(server, target, work, "text")
    binary_floor = _load_seconds(server, target, work, "binary")
    port_rate = plays / plays_result["seconds"]
    floor_rate = plays / floor
    return {
        "rows": plays,
        "port_rows_per_s": round(port_rate),
        "copy_rows_per_s": round(floor_rate),
        "port_vs_floor": round(port_rate / floor_rate, 3),
        "binary_copy_rows_per_s": round(plays / binary_floor),
        "port_vs_binary_copy": round(port_rate * binary_floor / plays, 3),
        "port_total_s": round(total, 2),
        "port_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def _load_seconds(server: BenchServer, target: str, work: Path, format_: str) -> float:
    """Seconds psql's \\copy takes to load the ported plays, in `format_`, into a copy of the
    port's target whose track_plays is empty."""
    data = work / f"track_plays.{format_}"
    _psql(
        server, target, "-c", f"\\copy (SELECT * FROM track_plays ORDER BY id) TO '{data}' (FORMAT {format_})"
    )
    floor_db = server.createdb(f"port_floor_{format_}", template="port_target")  # V1 with the same parents
    _psql(server, floor_db, "-c", "TRUNCATE track_plays", "-c", "VACUUM ANALYZE")
    started = time.perf_counter()
    _psql(server, floor_db, "-c", f"\\copy track_plays FROM '{data}' (FORMAT {format_})")
    seconds = time.perf_counter() - started
    data.unlink()
    return seconds
