"""The embedded PostgreSQL under `./.veza-db/`: the database commands use when none is configured."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from veza_db.errors import ServerError
from veza_db.pgcluster import Cluster, embedded_bin_dir, free_port

HOME_ENV = "VEZA_DB_HOME"
DATABASE = "veza"


def home() -> Path:
    """Where the embedded server lives: `$VEZA_DB_HOME`, else `./.veza-db/`."""
    return Path(os.environ.get(HOME_ENV) or ".veza-db").absolute()


def cluster() -> Cluster:
    return Cluster(bin_dir=embedded_bin_dir(), data_dir=home() / "data")


@contextmanager
def _exclusive() -> Iterator[None]:
    """Serialise start and stop between processes (eight `up` at once must share one server)."""
    root = home()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the server's system user must reach its data directory
    with (root / "server.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    initialized: bool
    data_dir: Path
    pid: int | None
    port: int | None
    url: str | None


def status() -> ServerStatus:
    pg = cluster()
    initialized = pg.is_initialized()
    pid = pg.pid() if initialized else None
    port = pg.port() if initialized else None
    url = pg.url(DATABASE) if pid else None
    return ServerStatus(pid is not None, initialized, pg.data_dir, pid, port, url)


def start() -> str:
    """Start the embedded server (creating it on first use) and return its URL."""
    pg = cluster()
    with _exclusive():
        if not pg.is_initialized():
            pg.initdb(free_port())
        if not pg.is_running():
            pg.start()
        _ensure_database(pg)
    return pg.url(DATABASE)


def stop() -> bool:
    """Stop the embedded server; False when it was not running."""
    pg = cluster()
    with _exclusive():
        if not pg.is_initialized() or not pg.is_running():
            return False
        pg.stop()
    return True


def _ensure_database(pg: Cluster) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(pg.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    except psycopg.Error as exc:
        raise ServerError(f"embedded server at {pg.data_dir} is not usable: {exc}") from None
