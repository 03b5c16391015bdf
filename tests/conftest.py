"""Test servers: the embedded PostgreSQL 18 and every other major on the machine, one per session.

Each test gets a fresh database. `VEZA_TEST_DATABASE_URL` points the suite at an existing server
instead of the embedded one. In CI (`CI` set) a missing PostgreSQL 15 is an error, not a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from veza_db.pgcluster import Cluster, embedded_bin_dir, free_port, system_bin_dirs

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Test servers trade durability for speed; they are thrown away after the session.
_FAST = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


@dataclass(frozen=True)
class Server:
    """A running PostgreSQL the tests may create databases on."""

    major: int
    admin_url: str  # superuser URL to the `postgres` database
    bin_dir: Path | None
    cluster: Cluster | None = None

    def url(self, dbname: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + dbname

    def create_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _start_cluster(bin_dir: Path, root: Path) -> Server:
    cluster = Cluster(bin_dir=bin_dir, data_dir=root / f"pg-{bin_dir.parent.name}" / "data")
    cluster.data_dir.parent.mkdir(parents=True)
    cluster.data_dir.parent.chmod(0o755)
    cluster.initdb(free_port(), _FAST)
    cluster.start()
    return Server(cluster.major(), cluster.url("postgres"), bin_dir, cluster)


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[int, Server]]:
    """Every server of the session, by major version."""
    external = os.environ.get("VEZA_TEST_DATABASE_URL")
    root = Path(tempfile.mkdtemp(prefix="veza-db-tests-"))
    root.chmod(0o755)  # the servers' system user must reach its data directory
    started: dict[int, Server] = {}
    try:
        if external:
            with psycopg.connect(external) as conn:
                major = int(str(conn.execute("SHOW server_version_num").fetchone()[0])) // 10000  # type: ignore[index]
            started[major] = Server(major, external, None)
        else:
            primary = _start_cluster(embedded_bin_dir(), root)
            started[primary.major] = primary
        for major, bin_dir in sorted(system_bin_dirs().items()):
            if major not in started:
                started[major] = _start_cluster(bin_dir, root)
        if os.environ.get("CI") and 15 not in started:
            pytest.fail("PostgreSQL 15 is required in CI (apt-get install postgresql-15)")
        yield started
    finally:
        for server in started.values():
            if server.cluster is not None:
                server.cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def server(servers: dict[int, Server]) -> Server:
    """The primary server: the embedded PostgreSQL 18 (or VEZA_TEST_DATABASE_URL's)."""
    return servers[max(servers)]


@pytest.fixture
def database(server: Server) -> Iterator[str]:
    """A fresh, empty database on the primary server; its superuser URL."""
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture(params=["primary", "pg15"])
def any_server(request: pytest.FixtureRequest, servers: dict[int, Server]) -> Server:
    """The primary server, then PostgreSQL 15: for tests that V1 must pass on 15 to 18."""
    if request.param == "primary":
        return servers[max(servers)]
    if 15 not in servers:
        pytest.skip("PostgreSQL 15 is not installed on this machine")
    return servers[15]


@pytest.fixture
def any_database(any_server: Server) -> Iterator[str]:
    name = any_server.create_database()
    yield any_server.url(name)
    any_server.drop_database(name)


@pytest.fixture
def veza_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An isolated place for the embedded server, so tests never touch ./.veza-db/."""
    path = Path(tempfile.mkdtemp(prefix="veza-home-"))
    path.chmod(0o755)
    return path


_v1_templates: dict[str, str] = {}


def v1_template(server: Server) -> str:
    """A database on `server` migrated to V1 head once per session, to clone from."""
    if server.admin_url not in _v1_templates:
        from veza_db import api

        name = server.create_database("v1_template")
        api.up(server.url(name))
        _v1_templates[server.admin_url] = name
    return _v1_templates[server.admin_url]


def _clone(server: Server, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        )
    return name


@pytest.fixture
def v1_database(server: Server) -> Iterator[str]:
    """A fresh database at V1 head on the primary server (cloned from a migrated template)."""
    name = _clone(server, v1_template(server))
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def any_v1_database(any_server: Server) -> Iterator[str]:
    """A fresh database at V1 head, on the primary server and on PostgreSQL 15."""
    name = _clone(any_server, v1_template(any_server))
    yield any_server.url(name)
    any_server.drop_database(name)
