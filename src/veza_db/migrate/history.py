"""The version tables: golang-migrate's `schema_migrations` exactly, and a richer history beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

    from veza_db.migrate.discover import Migration

    Conn = psycopg.Connection[tuple[object, ...]]

VERSION_TABLE = "schema_migrations"
HISTORY_TABLE = "schema_migrations_history"

# golang-migrate creates the same table with `CREATE TABLE IF NOT EXISTS`; keep it identical
# so that either tool can be first.
_CREATE = """
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version bigint NOT NULL PRIMARY KEY,
    dirty boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS public.schema_migrations_history (
    version bigint NOT NULL PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    execution_ms integer NOT NULL,
    applied_by text NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE public.schema_migrations_history IS
    'veza-db: per applied migration, its file, SHA-256, when, how long and by whom';
"""


@dataclass(frozen=True)
class Applied:
    version: int
    name: str
    checksum: str
    applied_at: datetime
    execution_ms: int
    applied_by: str


@dataclass(frozen=True)
class State:
    version: int  # 0 when nothing is applied
    dirty: bool
    history: dict[int, Applied]


def ensure_tables(conn: Conn) -> None:
    """Create both tables when missing, in their own transaction."""
    with conn.transaction():
        exists = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
            (f"public.{VERSION_TABLE}", f"public.{HISTORY_TABLE}"),
        ).fetchone()
        if not (exists and exists[0]):
            conn.execute(_CREATE.encode())


def tables_exist(conn: Conn) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{VERSION_TABLE}",)).fetchone()
    return bool(row and row[0])


def read(conn: Conn) -> State:
    if not tables_exist(conn):
        return State(0, False, {})
    row = conn.execute(
        "SELECT version, dirty FROM public.schema_migrations ORDER BY version DESC LIMIT 1"
    ).fetchone()
    version, dirty = (int(str(row[0])), bool(row[1])) if row else (0, False)
    history: dict[int, Applied] = {}
    if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{HISTORY_TABLE}",)).fetchone() == (True,):
        for v, name, checksum, at, ms, by in conn.execute(
            "SELECT version, name, checksum, applied_at, execution_ms, applied_by "
            "FROM public.schema_migrations_history ORDER BY version"
        ):
            assert isinstance(at, datetime)
            history[int(str(v))] = Applied(int(str(v)), str(name), str(checksum), at, int(str(ms)), str(by))
    return State(version, dirty, history)


def set_version(conn: Conn, version: int, *, dirty: bool) -> None:
    """Leave exactly one row (or none for version 0), as golang-migrate's SetVersion does."""
    conn.execute("DELETE FROM public.schema_migrations")
    if version > 0:
        conn.execute(
            "INSERT INTO public.schema_migrations (version, dirty) VALUES (%s, %s)", (version, dirty)
        )


def record(conn: Conn, version: int, name: str, checksum: str, execution_ms: int) -> None:
    conn.execute(
        "INSERT INTO public.schema_migrations_history (version, name, checksum, execution_ms) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, "
        "checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at, "
        "execution_ms = EXCLUDED.execution_ms, applied_by = EXCLUDED.applied_by",
        (version, name, checksum, execution_ms),
    )


def forget_above(conn: Conn, version: int) -> None:
    conn.execute("DELETE FROM public.schema_migrations_history WHERE version > %s", (version,))


def bookkeeping_sql(conn: Conn, migration: Migration, direction: str, new_version: int) -> bytes:
    """The version rows of one applied file, as statements to send with the file itself.

    The history row measures the file's execution on the server: the whole message shares one
    statement_timestamp(), and clock_timestamp() is read when the row is written."""
    from psycopg import sql

    rows: list[sql.Composable] = [sql.SQL("DELETE FROM public.schema_migrations;")]
    if new_version > 0:
        rows.append(
            sql.SQL("INSERT INTO public.schema_migrations (version, dirty) VALUES ({}, false);").format(
                sql.Literal(new_version)
            )
        )
    if direction == "up":
        rows.append(
            sql.SQL(
                "INSERT INTO public.schema_migrations_history (version, name, checksum, execution_ms) "
                "VALUES ({v}, {n}, {c}, "
                "round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)) "
                "ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, "
                "applied_at = EXCLUDED.applied_at, execution_ms = EXCLUDED.execution_ms, "
                "applied_by = EXCLUDED.applied_by RETURNING execution_ms;"
            ).format(
                v=sql.Literal(migration.version),
                n=sql.Literal(migration.up.path.name),
                c=sql.Literal(migration.checksum),
            )
        )
    else:
        rows.append(
            sql.SQL("DELETE FROM public.schema_migrations_history WHERE version > {};").format(
                sql.Literal(new_version)
            )
        )
    return sql.SQL("\n").join(rows).as_bytes(conn) + b"\n"
