"""The version tables: golang-migrate's `schema_migrations` exactly, and a richer history beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from veza_db.errors import RefusedError, UsageError

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from veza_db.migrate.discover import Migration

    Conn = psycopg.Connection[tuple[object, ...]]

# PostgreSQL truncates longer names (NAMEDATALEN - 1 bytes).
_MAX_NAME_BYTES = 63
HISTORY_SUFFIX = "_history"


@dataclass(frozen=True)
class VersionTable:
    """Where the version is kept: golang-migrate's `schema_migrations` (or its
    `x-migrations-table`), and veza-db's history table `<name>_history` beside it."""

    schema: str = "public"
    name: str = "schema_migrations"

    @property
    def history(self) -> str:
        return self.name + HISTORY_SUFFIX

    @classmethod
    def parse(cls, text: str) -> VersionTable:
        """`[SCHEMA.]NAME`, each part taken literally (as golang-migrate's quoted
        `x-migrations-table="schema"."name"`); UsageError when malformed."""
        parts = text.split(".")
        if len(parts) > 2 or not all(parts) or any(p != p.strip() or '"' in p for p in parts):
            raise UsageError(
                f"--migrations-table {text!r} is not [SCHEMA.]NAME; pass a table name, "
                "optionally qualified by one schema, without quotes"
            )
        table = cls(*parts) if len(parts) == 2 else cls(name=parts[0])
        if len((table.history).encode()) > _MAX_NAME_BYTES or len(table.schema.encode()) > _MAX_NAME_BYTES:
            raise UsageError(
                f"--migrations-table {text!r}: PostgreSQL names hold {_MAX_NAME_BYTES} bytes and the "
                f"history table {table.history!r} would not fit; pick a shorter name"
            )
        return table

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    def regclass_text(self) -> str:
        """`"schema"."name"`, quoted as to_regclass() reads it."""
        return _qualified(self, self.name)

    def version_id(self) -> sql.Identifier:
        from psycopg import sql

        return sql.Identifier(self.schema, self.name)

    def history_id(self) -> sql.Identifier:
        from psycopg import sql

        return sql.Identifier(self.schema, self.history)


DEFAULT = VersionTable()


# execution_ms of a row veza-db writes for a file another tool (golang-migrate) applied, when it
# first continues from that tool's version: from then on a file without a row below a row is
# one that never ran.
ADOPTED_MS = -1


@dataclass(frozen=True)
class Applied:
    """One history row: a file applied by veza-db (`execution_ms` in milliseconds), or found
    applied by another tool (`adopted`: `execution_ms` is ADOPTED_MS)."""

    version: int
    name: str
    checksum: str
    applied_at: datetime
    execution_ms: int
    applied_by: str

    @property
    def adopted(self) -> bool:
        return self.execution_ms == ADOPTED_MS


@dataclass(frozen=True)
class State:
    """The database's version (None: nothing applied), dirty flag and history rows by version."""

    version: int | None
    dirty: bool
    history: dict[int, Applied]


def _create(table: VersionTable) -> sql.Composed:
    # golang-migrate creates the version table with `CREATE TABLE IF NOT EXISTS` and these two
    # columns; keep it identical so that either tool can be first.
    from psycopg import sql

    return sql.SQL(
        """
        CREATE TABLE IF NOT EXISTS {version} (
            version bigint NOT NULL PRIMARY KEY,
            dirty boolean NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {history} (
            version bigint NOT NULL PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
            execution_ms integer NOT NULL,
            applied_by text NOT NULL DEFAULT CURRENT_USER
        );
        COMMENT ON TABLE {history} IS
            'veza-db: per applied migration, its file, SHA-256, when, how long and by whom';
        """
    ).format(version=table.version_id(), history=table.history_id())


def ensure_tables(conn: Conn, table: VersionTable = DEFAULT) -> None:
    """Create both tables when missing, in their own transaction.

    Raises UsageError when the table's schema does not exist, RefusedError when the role may not
    create them."""
    import psycopg

    with conn.transaction():
        row = conn.execute(
            "SELECT to_regnamespace(%s) IS NOT NULL, "
            "to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
            (_quoted(table.schema), _qualified(table, table.name), _qualified(table, table.history)),
        ).fetchone()
        assert row is not None
        if not row[0]:
            raise UsageError(
                f"schema {table.schema!r} of the version table {table} does not exist; create it "
                "or pass another --migrations-table"
            )
        if not row[1]:
            try:
                conn.execute(_create(table))
            except psycopg.errors.InsufficientPrivilege as exc:
                raise RefusedError(
                    f"cannot create the version table {table}: {exc.diag.message_primary}; run the "
                    "migrations as the role that owns the schema (veza-db roles: the owner role), "
                    "or pass --migrations-table for a schema this role may create in"
                ) from None


def regclass_text(*parts: str) -> str:
    """A (possibly schema-qualified) name as to_regclass() reads it: each part double-quoted."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def _quoted(name: str) -> str:
    return regclass_text(name)


def _qualified(table: VersionTable, name: str) -> str:
    return regclass_text(table.schema, name)


_COLUMNS = b"""
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""
_CURRENT_SCHEMA_TABLE = b"""
SELECT current_schema(), to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s)) IS NOT NULL
"""


def check_table(conn: Conn, table: VersionTable = DEFAULT, *, explicit: bool = False) -> None:
    """Refuse (RefusedError) a version table that is not golang-migrate's, before anything is
    written: another tool's table of that name (Rails keeps `version varchar`, no `dirty`), or,
    with the default table, golang-migrate's own in another schema of the search path."""
    rows = conn.execute(_COLUMNS, (_qualified(table, table.name),)).fetchall()
    columns = {str(name): str(kind) for name, kind in rows}
    if columns and (columns.get("version") != "bigint" or columns.get("dirty") != "boolean"):
        shape = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        raise RefusedError(
            f"{table} is not golang-migrate's version table (it has {shape}; golang-migrate's has "
            "version bigint, dirty boolean): another tool keeps it; pass --migrations-table to "
            "keep veza-db's version in a table of its own"
        )
    if columns or explicit or table != DEFAULT:
        return
    row = conn.execute(_CURRENT_SCHEMA_TABLE, (table.name,)).fetchone()
    if row is not None and row[0] not in (None, table.schema) and row[1]:
        raise RefusedError(
            f"golang-migrate keeps this database's version in {row[0]}.{table.name} (its search "
            f"path puts schema {row[0]} first); pass --migrations-table {row[0]}.{table.name} so "
            "that both tools read the same version and take the same lock"
        )


def tables_exist(conn: Conn, table: VersionTable = DEFAULT) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (_qualified(table, table.name),)).fetchone()
    return bool(row and row[0])


def read(conn: Conn, table: VersionTable = DEFAULT) -> State:
    """The version row (golang-migrate keeps one) and veza-db's history rows."""
    from psycopg import sql

    if not tables_exist(conn, table):
        return State(None, False, {})
    row = conn.execute(
        sql.SQL("SELECT version, dirty FROM {} ORDER BY version DESC LIMIT 1").format(table.version_id())
    ).fetchone()
    version, dirty = (int(str(row[0])), bool(row[1])) if row else (None, False)
    if version is not None and version < 0:
        version = None  # golang-migrate's NilVersion (-1), written with dirty when a down to nothing fails
    history: dict[int, Applied] = {}
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (_qualified(table, table.history),))
    if exists.fetchone() == (True,):
        for v, name, checksum, at, ms, by in conn.execute(
            sql.SQL(
                "SELECT version, name, checksum, applied_at, execution_ms, applied_by "
                "FROM {} ORDER BY version"
            ).format(table.history_id())
        ):
            assert isinstance(at, datetime)
            history[int(str(v))] = Applied(int(str(v)), str(name), str(checksum), at, int(str(ms)), str(by))
    return State(version, dirty, history)


def version_statements(table: VersionTable, version: int | None, *, dirty: bool) -> list[sql.Composed]:
    """Leave exactly one row (none when nothing is applied), as golang-migrate's SetVersion does."""
    from psycopg import sql

    statements = [sql.SQL("DELETE FROM {}").format(table.version_id())]
    if version is not None or dirty:
        # golang-migrate keeps a dirty "nothing applied" as version -1 (its NilVersion).
        statements.append(
            sql.SQL("INSERT INTO {} (version, dirty) VALUES ({}, {})").format(
                table.version_id(), sql.Literal(-1 if version is None else version), sql.Literal(dirty)
            )
        )
    return statements


def set_version(conn: Conn, version: int | None, *, dirty: bool, table: VersionTable = DEFAULT) -> None:
    for statement in version_statements(table, version, dirty=dirty):
        conn.execute(statement)


def forget_sql(table: VersionTable, version: int | None) -> sql.Composed:
    """Delete the history rows above `version` (all of them when None)."""
    from psycopg import sql

    if version is None:
        return sql.SQL("DELETE FROM {}").format(table.history_id())
    return sql.SQL("DELETE FROM {} WHERE version > {}").format(table.history_id(), sql.Literal(version))


def record_sql(table: VersionTable, migration: Migration, execution_ms: int | None = None) -> sql.Composed:
    """The history row of an applied file; the statement returns its execution_ms.

    Without `execution_ms` the server measures it: from the start of the file's transaction
    (transaction_timestamp(), its BEGIN) to the moment the row is written (clock_timestamp())."""
    from psycopg import sql

    measured = sql.SQL("round(extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)")
    return sql.SQL(
        "INSERT INTO {h} (version, name, checksum, execution_ms) VALUES ({v}, {n}, {c}, {ms}) "
        "ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, "
        "applied_at = EXCLUDED.applied_at, execution_ms = EXCLUDED.execution_ms, "
        "applied_by = EXCLUDED.applied_by RETURNING execution_ms"
    ).format(
        h=table.history_id(),
        v=sql.Literal(migration.version),
        n=sql.Literal(migration.up.path.name),
        c=sql.Literal(migration.checksum),
        ms=measured if execution_ms is None else sql.Literal(execution_ms),
    )


def adopt_sql(table: VersionTable, migrations: list[Migration]) -> sql.Composed:
    """History rows for files another tool applied (execution_ms ADOPTED_MS), with their
    current checksums; rows that exist are kept."""
    from psycopg import sql

    rows = sql.SQL(", ").join(
        sql.SQL("({}, {}, {}, {}, {})").format(
            sql.Literal(m.version),
            sql.Literal(m.up.path.name),
            sql.Literal(m.checksum),
            sql.Literal(ADOPTED_MS),
            sql.Literal("another tool"),
        )
        for m in migrations
    )
    return sql.SQL(
        "INSERT INTO {} (version, name, checksum, execution_ms, applied_by) VALUES {} "
        "ON CONFLICT (version) DO NOTHING"
    ).format(table.history_id(), rows)


def elapsed_sql() -> sql.Composed:
    """The milliseconds since the transaction began, measured by the server."""
    from psycopg import sql

    return sql.SQL(
        "SELECT round(extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)::integer"
    ).format()
