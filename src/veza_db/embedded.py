"""The embedded PostgreSQL: the database commands use when none is configured.

Its home is `./.veza-db/` (or `$VEZA_DB_HOME`): the lock, and normally the data. As root, when
PostgreSQL's system user cannot enter the home (a project in a private folder such as
`/root/work`), the data lives in `/var/lib/veza-db/servers/<hash of the home's path>/` instead,
and every command finds it again from the home's path.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from veza_db.errors import ServerError
from veza_db.pgcluster import Cluster, embedded_bin_dir, free_port
from veza_db.server_user import STATE_ROOT, SYSTEM_USER, blocking_folder, locked, run_as, state_folder

HOME_ENV = "VEZA_DB_HOME"
DATABASE = "veza"

# Contrib extensions the embedded PostgreSQL lacks: its build has no OpenSSL (pgcrypto, sslinfo),
# no libuuid (uuid-ossp) and no libxml (xml2). Listed by comparing its pg_available_extensions
# with a full build's.
MISSING_EXTENSIONS = ("pgcrypto", "uuid-ossp", "sslinfo", "xml2")


def home() -> Path:
    """Where the embedded server lives: `$VEZA_DB_HOME`, else `./.veza-db/`."""
    return Path(os.environ.get(HOME_ENV) or ".veza-db").absolute()


def _server_key() -> str:
    """The name of this home's folder under `/var/lib/veza-db/servers/`: a hash of its path."""
    return hashlib.sha256(str(home().resolve()).encode()).hexdigest()[:16]


def data_dir() -> Path:
    """This home's data folder: `<home>/data`, or, as root when the server's user cannot enter
    the home, `/var/lib/veza-db/servers/<hash>/data`. A server created in either place stays there.
    """
    local = home() / "data"
    user = run_as()
    if user is None:
        return local
    elsewhere = STATE_ROOT / "servers" / _server_key() / "data"
    for place in (local, elsewhere):
        if (place / "PG_VERSION").is_file():
            return place
    return local if blocking_folder(home(), user) is None else elsewhere


def cluster() -> Cluster:
    return Cluster(bin_dir=embedded_bin_dir(), data_dir=data_dir())


@contextmanager
def _exclusive() -> Iterator[None]:
    """Serialise start and stop between processes (eight `up` at once must share one server)."""
    root = home()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServerError(
            f"cannot create {root}: {exc.strerror or exc}; set {HOME_ENV} to a folder you can write"
        ) from None
    with locked(root / "server.lock"):
        yield


def _make_room(pg: Cluster) -> None:
    """Create the folder for the data when it lives under /var/lib/veza-db, noting whose it is."""
    if not pg.data_dir.is_relative_to(STATE_ROOT):
        return
    fix = f"set {HOME_ENV} to a folder user {SYSTEM_USER!r} can enter"
    folder = state_folder("servers", _server_key(), fix=fix)
    (folder / "home").write_text(f"{home()}\n")


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
    """Start the embedded server (creating it on first use) and return its URL.

    Raises ServerError when it cannot be created, started or connected to.
    """
    with _exclusive():
        pg = cluster()
        if not pg.is_initialized():
            _make_room(pg)
            pg.initdb(free_port())
        if not pg.is_running():
            pg.start()
        _ensure_database(pg)
    return pg.url(DATABASE)


def stop() -> bool:
    """Stop the embedded server; False when it was not running."""
    with _exclusive():
        pg = cluster()
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
