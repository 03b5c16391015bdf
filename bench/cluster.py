"""A throwaway PostgreSQL for one benchmark run, tuned like the test servers."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from veza_db.pgcluster import Cluster, embedded_bin_dir, free_port

T = TypeVar("T")

_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "'512MB'",
    "max_locks_per_transaction": "1024",
}


@dataclass(frozen=True)
class BenchServer:
    cluster: Cluster

    @property
    def bin_dir(self) -> Path:
        return self.cluster.bin_dir

    def url(self, dbname: str = "postgres") -> str:
        return self.cluster.url(dbname)

    def version(self) -> str:
        out = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        return out.strip().split(" ", 2)[-1]

    def createdb(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of `template` when given); its URL."""
        import psycopg
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement)
        return self.url(name)


@contextmanager
def server(bin_dir: Path | None = None) -> Iterator[BenchServer]:
    root = Path(tempfile.mkdtemp(prefix="veza-bench-"))
    root.chmod(0o755)
    cluster = Cluster(bin_dir=bin_dir or embedded_bin_dir(), data_dir=root / "data")
    try:
        cluster.initdb(free_port(), _SETTINGS)
        cluster.start()
        yield BenchServer(cluster)
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """Wall-clock seconds of one call, and its result."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The fastest of `runs` timings: the least disturbed by the machine's noise."""
    return min(timed(action)[0] for _ in range(runs))
