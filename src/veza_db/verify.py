"""Drift: is this database still exactly the canonical schema its migrations define?

The canonical schema is built by applying the migrations to a scratch database (on the same
server when the user may create databases, so the server version and settings match; otherwise
on the embedded server), then both are read with the live loader and compared object by object.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from veza_db import db, dburl
from veza_db.audit import policy as audit_policy
from veza_db.catalog import diff, live
from veza_db.catalog.diff import Difference
from veza_db.errors import DatabaseError
from veza_db.migrate import discover, history, runner


@dataclass(frozen=True)
class VerifyResult:
    database: str
    head: int
    version: int | None  # None: nothing applied
    dirty: bool
    differences: tuple[Difference, ...]
    canonical_on: str  # "same server" | "embedded server"

    @property
    def problems(self) -> list[str]:
        lines = []
        if self.dirty:
            lines.append(f"schema_migrations: version {self.version} is dirty; see `veza-db status`")
        if self.version != self.head:
            shown = "none" if self.version is None else self.version
            lines.append(f"schema_migrations: version {shown}, expected {self.head} (head); run `veza-db up`")
        return lines + [d.line() for d in self.differences]

    @property
    def drift(self) -> bool:
        return bool(self.problems)


@contextmanager
def scratch_database(url: dburl.DatabaseUrl) -> Iterator[tuple[dburl.DatabaseUrl, str]]:
    """A new empty database, dropped afterwards: on the same server when allowed, else embedded."""
    import psycopg
    from psycopg import sql

    name = f"veza_verify_{uuid.uuid4().hex[:12]}"
    with db.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    if row and row[0]:
        server, where = url, "same server"
    else:
        from veza_db import embedded

        server, where = dburl.DatabaseUrl(embedded.start()), "embedded server"
    with db.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield server.with_dbname(name), where
    finally:
        try:
            with db.connect(server, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        except (psycopg.Error, DatabaseError):
            pass  # the scratch database is named veza_verify_*; nothing else depends on it


def verify(url: dburl.DatabaseUrl, migrations: Path | None = None) -> VerifyResult:
    """Compare the database at `url` with the schema its migrations define."""
    directory = migrations or discover.package_dir()
    migration_list = runner.load(directory)
    chosen = audit_policy.default()
    with db.connect(url, autocommit=True) as conn:
        state = history.read(conn)
        found = live.load_connection(conn, str(url))
    with scratch_database(url) as (scratch, where):
        runner.up(scratch, directory)
        expected = live.load(scratch)
    differences = diff.diff(
        expected, found, chosen.owned_schemas, ignore_tables=sorted(chosen.tooling_tables)
    )
    return VerifyResult(
        database=str(url), head=migration_list[-1].version, version=state.version, dirty=state.dirty,
        differences=tuple(differences), canonical_on=where,
    )  # fmt: skip
