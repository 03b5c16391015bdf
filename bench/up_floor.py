"""`veza-db up` against its floor: psql applying the same SQL in one transaction.

A synthetic directory of 200 small migrations (a table, an index, a comment each) is applied
to an empty database by `veza-db up` and, on another empty database, by `psql -1 -f` of the
same files concatenated. The ratio shows the runner's overhead: a fixed part (start-up,
validating every file, the lock, reading the version: `up` on a database already at head) and a
per-file part (a transaction, the version rows, the history row), reported apart. Also the V1
set's own time and the CLI's start-up.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cluster import BenchServer, best_of

MIGRATIONS = 200


def synthetic(directory: Path, count: int = MIGRATIONS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        (directory / f"{n:03d}_table_{n}.up.sql").write_text(
            f"CREATE TABLE bench_{n} (id uuid PRIMARY KEY, name text NOT NULL,\n"
            f"    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
            f"CREATE INDEX idx_bench_{n}_name ON bench_{n} (name);\n"
            f"COMMENT ON TABLE bench_{n} IS 'synthetic {n}';\n"
        )
        (directory / f"{n:03d}_table_{n}.down.sql").write_text(f"DROP TABLE bench_{n};\n")
    return directory


def run(server: BenchServer, runs: int = 3) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="veza-bench-up-"))
    directory = synthetic(work / "migrations")
    concatenated = work / "all.sql"
    concatenated.write_text("".join(p.read_text() for p in sorted(directory.glob("*.up.sql"))))
    psql, counter = str(server.bin_dir / "psql"), iter(range(10_000))

    def fresh() -> str:
        return server.createdb(f"up_{next(counter)}")

    def with_psql() -> None:
        url = fresh()
        subprocess.run([psql, url, "-qX1", "-v", "ON_ERROR_STOP=1", "-f", str(concatenated)], check=True)

    def with_veza(directory: Path | None = None, url: str | None = None) -> None:
        extra = ["--migrations", str(directory)] if directory else []
        subprocess.run(
            [sys.executable, "-m", "veza_db.cli", "up", "--database-url", url or fresh(), *extra],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    floor = best_of(runs, with_psql)
    veza = best_of(runs, lambda: with_veza(directory))
    # The fixed cost of a run: start-up, validating the 200 files, the lock, reading the version;
    # what is left of `up_s` is the per-file cost, the part psql's floor is there to judge.
    at_head = fresh()
    with_veza(directory, at_head)
    fixed = best_of(runs, lambda: with_veza(directory, at_head))
    v1 = best_of(runs, with_veza)
    help_command = [sys.executable, "-m", "veza_db.cli", "--help"]
    startup = best_of(
        max(runs, 5), lambda: subprocess.run(help_command, check=True, stdout=subprocess.DEVNULL)
    )
    return {
        "migrations": MIGRATIONS,
        "psql_s": round(floor, 3),
        "up_s": round(veza, 3),
        "up_vs_floor": round(veza / floor, 3),
        "up_at_head_s": round(fixed, 3),
        "per_file_vs_floor": round((veza - fixed) / floor, 3),
        "v1_up_s": round(v1, 3),
        "cli_help_ms": round(startup * 1000, 1),
    }
