"""Run one migration file on a connection, and on failure name its file, line and PostgreSQL's cause.

A transactional file goes to the server in one pipeline (psycopg's pipeline mode): BEGIN, each
statement as its own query, the session reset, the version rows, COMMIT, in one round trip. The
server stops at the first error, and the first statement without a result is the one that failed,
so a failing file runs once and its locks are held once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from veza_db import db
from veza_db.errors import DatabaseError
from veza_db.migrate.script import NO_TRANSACTION, Script, Statement

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    Conn = psycopg.Connection[tuple[object, ...]]

# Every file starts from the session a new connection has, so that applying files in one run or
# in several builds the same schema: settings (`SET search_path`, `set_config(..., false)`), role
# and session authorization, temporary tables, sequences' cached values, prepared statements,
# cursors and LISTENs are reset. This is DISCARD ALL without its pg_advisory_unlock_all(), which
# would drop the migration lock, and it can run inside the file's transaction.
SESSION_RESET = (
    b"RESET ALL",
    b"RESET SESSION AUTHORIZATION",
    b"RESET ROLE",
    b"DISCARD TEMP",
    b"DISCARD SEQUENCES",
    b"DEALLOCATE ALL",
    b"CLOSE ALL",
    b"UNLISTEN *",
)


class MigrationFailed(DatabaseError):
    """A statement of a migration file failed; a transactional file was rolled back.

    `missing_extension` names the extension when the statement was a CREATE EXTENSION that the
    server does not have."""

    def __init__(self, message: str, *, missing_extension: str | None = None) -> None:
        super().__init__(message)
        self.missing_extension = missing_extension


def _missing_extension(statement: Statement | None, exc: BaseException) -> str | None:
    """The extension a failed CREATE EXTENSION asked for, when the server lacks it (0A000)."""
    import psycopg

    if statement is None or statement.first_token != "CREATE":  # noqa: S105 - a token name
        return None
    if not isinstance(exc, psycopg.errors.FeatureNotSupported):
        return None
    from pglast import ast
    from pglast.parser import parse_sql

    tree = parse_sql(statement.sql)[0].stmt
    return tree.extname if isinstance(tree, ast.CreateExtensionStmt) else None


def prepare(conn: Conn) -> None:
    """Set up a runner connection: statements are never prepared by the driver (each file's
    statements run once, and the session reset deallocates prepared statements)."""
    conn.prepare_threshold = None


def in_transaction(conn: Conn, script: Script, bookkeeping: Sequence[sql.Composed]) -> int:
    """Run a transactional file and its `bookkeeping` statements in one transaction, one round trip.

    Returns the value of the last bookkeeping row returned (the server-measured execution_ms),
    or -1. Raises MigrationFailed naming the file's line and PostgreSQL's explanation; the
    transaction is rolled back and the session is as it was before the file."""
    import psycopg

    statements: list[bytes | sql.Composed] = [script.begin.encode()]
    statements += [statement.sql.encode() for statement in script.statements]
    statements += [*SESSION_RESET, *bookkeeping, b"COMMIT"]
    cursors: list[psycopg.Cursor[tuple[object, ...]]] = []
    try:
        with conn.pipeline():
            for statement in statements:
                cursors.append(conn.execute(statement))
    except psycopg.Error as exc:
        failed = next((i for i, cursor in enumerate(cursors) if cursor.pgresult is None), len(cursors))
        where = _where_in_transaction(script, failed, exc)
        _roll_back(conn)
        failing = script.statements[failed - 1] if 1 <= failed <= len(script.statements) else None
        raise MigrationFailed(
            f"{where}: {db.explain(exc)}{_advice(exc)}", missing_extension=_missing_extension(failing, exc)
        ) from None
    measured = -1
    for cursor in cursors[-1 - len(bookkeeping) : -1]:
        if cursor.description is not None:
            row = cursor.fetchone()
            if row is not None:
                measured = int(str(row[0]))
    return measured


def _line(statement: Statement, exc: BaseException) -> int:
    """The line of the error: the statement's first, or the one PostgreSQL's position points at."""
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    if not position:
        return statement.line
    return statement.line + statement.sql.count("\n", 0, int(position) - 1)


def _where_in_transaction(script: Script, failed: int, exc: BaseException) -> str:
    """`file:line` of the statement at pipeline position `failed` (0 is the BEGIN)."""
    name = script.path.name
    if 1 <= failed <= len(script.statements):
        return f"{name}:{_line(script.statements[failed - 1], exc)}"
    if failed == 0:
        return f"{name} (opening its transaction)"
    return f"{name} (at COMMIT, after its last statement: a deferred constraint or trigger)"


def without_transaction(conn: Conn, script: Script) -> int:
    """Run a no-transaction file statement by statement; return its time in milliseconds.

    Raises MigrationFailed naming the file's line; a transaction the file left open is rolled
    back first, so the error is the statement's own, and the session is reset."""
    import psycopg

    started = time.perf_counter()
    for statement in script.statements:
        try:
            conn.execute(statement.sql.encode())
        except psycopg.Error as exc:
            line = _line(statement, exc)
            _roll_back(conn)
            if not conn.broken:
                reset(conn)
            raise MigrationFailed(
                f"{script.path.name}:{line}: {db.explain(exc)}{_advice(exc)}",
                missing_extension=_missing_extension(statement, exc),
            ) from None
    elapsed = round((time.perf_counter() - started) * 1000)
    reset(conn)
    return elapsed


def reset(conn: Conn) -> None:
    """Bring the session back to a new connection's state (see SESSION_RESET)."""
    import psycopg

    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute(b"ROLLBACK")
    with conn.pipeline():
        for statement in SESSION_RESET:
            conn.execute(statement)


def _roll_back(conn: Conn) -> None:
    """End the failed transaction. When the connection is gone the server rolls back on its own,
    and the first error is the one that explains it, so a second one is not reported."""
    import psycopg

    if conn.closed or conn.broken:
        return
    try:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute(b"ROLLBACK")
    except psycopg.Error:
        pass


def _advice(exc: BaseException) -> str:
    import psycopg

    if isinstance(exc, psycopg.errors.ActiveSqlTransaction):
        return (
            f"; to run it outside a transaction put it in a file of its own, or make "
            f"`{NO_TRANSACTION}` the first line"
        )
    return ""
