"""Scratch databases: a new empty database to build a schema in, dropped afterwards.

On the target's own server when the user may create databases, so the server version and
settings match the target's; otherwise on the embedded server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from veza_db import db, dburl
from veza_db.errors import DatabaseError


@contextmanager
def scratch_database(
    url: dburl.DatabaseUrl, prefix: str = "veza_verify"
) -> Iterator[tuple[dburl.DatabaseUrl, str]]:
    """A new empty database named `prefix_<random>` and where it is (`same server` or
    `embedded server`); dropped afterwards, whatever happens."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
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
            pass  # a scratch database is named after its job; nothing else depends on it
