"""A failing migration's cost against its floor: psql running the same file in one transaction.

The file works for a few seconds (a table filled and indexed), then fails on its last statement.
`veza-db up` must run it once, as `psql -1 -v ON_ERROR_STOP=1 -f` does: a runner that replays a
failing file to find its line doubles both the time and how long the file's locks are held.
The ratio includes veza-db's fixed start-up cost (Python, validation, the lock), reported apart
as the same command on a one-file directory whose file does nothing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cluster import BenchServer, best_of

FAILING = """\
-- Fills a table and indexes it, then fails: a migration that breaks at its end.
CREATE TABLE bench_work AS
    SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, {rows}) AS g;
CREATE INDEX bench_work_payload ON bench_work (payload);
ALTER TABLE bench_work ADD CONSTRAINT bench_work_id_check CHECK (id < {rows});
"""


def run(server: BenchServer, *, rows: int, runs: int = 3) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="veza-bench-failing-"))
    failing = work / "failing"
    failing.mkdir()
    (failing / "1_fill.up.sql").write_text(FAILING.format(rows=rows))
    noop = work / "noop"
    noop.mkdir()
    (noop / "1_nothing.up.sql").write_text("-- nothing to do\n")
    psql, counter = str(server.bin_dir / "psql"), iter(range(10_000))

    def fresh() -> str:
        return server.createdb(f"failing_{next(counter)}")

    def with_psql() -> None:
        command = [psql, fresh(), "-qX1", "-v", "ON_ERROR_STOP=1", "-f", str(failing / "1_fill.up.sql")]
        done = subprocess.run(command, capture_output=True, check=False)
        assert done.returncode == 3, done.stderr  # psql's exit code for a failed script

    def with_veza(directory: Path, expected: int) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "veza_db.cli", "up", "--database-url", fresh(), "--migrations", str(directory)],
            capture_output=True, check=False,
        )  # fmt: skip
        assert done.returncode == expected, done.stderr

    floor = best_of(runs, with_psql)
    veza = best_of(runs, lambda: with_veza(failing, 4))
    fixed = best_of(runs, lambda: with_veza(noop, 0))
    return {
        "rows": rows,
        "psql_s": round(floor, 3),
        "up_s": round(veza, 3),
        "failing_vs_floor": round(veza / floor, 3),
        "fixed_s": round(fixed, 3),
    }
