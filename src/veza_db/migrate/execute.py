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
from veza_db.migrate import lockwait
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

    def __init__(
        self,
        message: str,
        *,
        missing_extension: str | None = None,
        lock_timeout: bool = False,
        blocker: lockwait.Blocker | None = None,
    ) -> None:
        super().__init__(message)
        self.missing_extension = missing_extension
        self.lock_timeout = lock_timeout  # the statement gave up waiting for a lock (55P03)
        self.blocker = blocker  # who held the lock it waited for, when still known


def _failure(conn: Conn, where: str, statement: Statement | None, exc: BaseException) -> MigrationFailed:
    """The MigrationFailed for `exc`, raised by `statement` at `where`, after the rollback."""
    import psycopg

    timed_out = isinstance(exc, psycopg.errors.LockNotAvailable)
    held_by = None
    if timed_out and statement is not None and not conn.broken:
        try:
            held_by = lockwait.blocker(conn, lockwait.regclass_names(statement))
        except psycopg.Error:
            held_by = None  # who blocked is a courtesy; the error itself is what matters
    waited = f"; it waited for a lock on {held_by}" if held_by else ""
    leftover = _invalid_index(conn, statement) if statement is not None and not conn.broken else ""
    return MigrationFailed(
        f"{where}: {db.explain(exc)}{_advice(exc)}{waited}{leftover}",
        missing_extension=_missing_extension(statement, exc),
        lock_timeout=timed_out,
        blocker=held_by,
    )


def _invalid_index(conn: Conn, statement: Statement) -> str:
    """When a failed CREATE INDEX CONCURRENTLY left its index INVALID, how to clear it: the index
    stays, and `IF NOT EXISTS` would then skip it on the next run."""
    import psycopg
    from pglast import ast
    from pglast.parser import parse_sql

    if "concurrently" not in statement.sql.lower():
        return ""
    tree = parse_sql(statement.sql)[0].stmt
    if not (isinstance(tree, ast.IndexStmt) and tree.concurrent and tree.idxname):
        return ""
    schema = tree.relation.schemaname if tree.relation is not None else None
    name = f"{schema}.{tree.idxname}" if schema else tree.idxname
    try:
        row = conn.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)
        ).fetchone()
    except psycopg.Error:
        return ""
    if not (row and row[0]):
        return ""
    return (
        f"; PostgreSQL left index {name} INVALID: DROP INDEX CONCURRENTLY {name} before the file runs again"
    )


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


def _lock_timeout(ms: int, *, local: bool) -> sql.Composed:
    from psycopg import sql

    return sql.SQL("SET LOCAL lock_timeout = {}" if local else "SET lock_timeout = {}").format(
        sql.Literal(f"{ms}ms")
    )


def in_transaction(
    conn: Conn, script: Script, bookkeeping: Sequence[sql.Composed], *, lock_timeout_ms: int
) -> int:
    """Run a transactional file and its `bookkeeping` statements in one transaction, one round trip.

    The file runs with `lock_timeout` set to `lock_timeout_ms` (0: wait forever) unless it sets
    its own. Returns the value of the last bookkeeping row returned (the server-measured
    execution_ms), or -1. Raises MigrationFailed naming the file's line and PostgreSQL's
    explanation (with `lock_timeout` set when a lock was not obtained in time); the transaction
    is rolled back and the session is as it was before the file."""
    import psycopg

    statements: list[bytes | sql.Composed] = [script.begin.encode()]
    statements.append(_lock_timeout(lock_timeout_ms, local=True))
    statements += [statement.sql.encode() for statement in script.statements]
    statements += [*SESSION_RESET, *bookkeeping, b"COMMIT"]
    cursors: list[psycopg.Cursor[tuple[object, ...]]] = []
    try:
        with conn.pipeline():
            for statement in statements:
                cursors.append(conn.execute(statement))
    except psycopg.Error as exc:
        # The first statement without a result is the one the server stopped at.
        failed = next((i for i, cursor in enumerate(cursors) if cursor.pgresult is None), len(cursors))
        index = failed - _OPENING
        failing = script.statements[index] if 0 <= index < len(script.statements) else None
        where = _where_in_transaction(
            script, index, failing, exc, before_commit=len(statements) - 1 - _OPENING
        )
        _roll_back(conn)
        failure = _failure(conn, where, failing, exc)
        if not conn.broken:
            reset(conn)  # a prepared statement or a sequence's cache survives the rollback
        raise failure from None
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


# The statements sent before the file's own: its BEGIN and the lock timeout.
_OPENING = 2


def _where_in_transaction(
    script: Script, index: int, failing: Statement | None, exc: BaseException, *, before_commit: int
) -> str:
    """`file:line` of the file's statement `index` (negative: the opening statements; from the
    file's statement count to `before_commit`: the runner's reset and version rows)."""
    name = script.path.name
    if failing is not None:
        return f"{name}:{_line(failing, exc)}"
    if index < 0:
        return f"{name} (opening its transaction)"
    if index < before_commit:
        return (
            f"{name} (after its last statement, while the runner recorded its version: did the file "
            "drop or change the version tables, or make its transaction read-only?)"
        )
    return f"{name} (at COMMIT, after its last statement: a deferred constraint or trigger)"


def without_transaction(conn: Conn, script: Script, *, lock_timeout_ms: int) -> int:
    """Run a no-transaction file statement by statement; return its time in milliseconds.

    Each statement runs with `lock_timeout` set to `lock_timeout_ms` unless the file sets its
    own. Raises MigrationFailed naming the file's line; a transaction the file left open is
    rolled back first, so the error is the statement's own, and the session is reset."""
    import psycopg

    conn.execute(_lock_timeout(lock_timeout_ms, local=False))
    started = time.perf_counter()
    for statement in script.statements:
        try:
            conn.execute(statement.sql.encode())
        except psycopg.Error as exc:
            line = _line(statement, exc)
            _roll_back(conn)
            failure = _failure(conn, f"{script.path.name}:{line}", statement, exc)
            if not conn.broken:
                reset(conn)
            raise failure from None
    elapsed = round((time.perf_counter() - started) * 1000)
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        reset(conn)  # rolls the open transaction back: a file must commit what it means to keep
        raise MigrationFailed(
            f"{script.path.name}: left a transaction open at its end (a BEGIN without COMMIT): what "
            "it did since that BEGIN was rolled back; end the transaction with COMMIT"
        )
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
    if isinstance(exc, psycopg.errors.InvalidTransactionTermination):
        return f"; a procedure that commits needs a file whose first line is `{NO_TRANSACTION}`"
    return ""
