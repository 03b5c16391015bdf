"""Apply and roll back migrations: one transaction per file, the version rows written inside it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from veza_db import db, dburl, secrets
from veza_db.errors import DatabaseError, RefusedError, UsageError
from veza_db.migrate import discover, history, lock, sumfile

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class Step:
    """One file run (or, in a dry run, to be run)."""

    version: int
    name: str
    direction: str  # "up" | "down"
    execution_ms: int
    sql: str


@dataclass(frozen=True)
class Status:
    current: int
    head: int
    dirty: bool
    applied: list[history.Applied]
    pending: list[discover.Migration]
    changed: list[str]  # names of applied files whose contents changed
    untracked: list[int] = field(default_factory=list)  # applied versions with no history row

    @property
    def recovery(self) -> str | None:
        """What to do about a dirty database, in one line."""
        if not self.dirty:
            return None
        return (
            f"version {self.current} is dirty: a no-transaction migration failed part-way; "
            f"undo what it did by hand, then run `veza-db force {self.current - 1}` "
            f"and `veza-db up` again"
        )


class MigrationFailed(DatabaseError):
    """A statement of a migration file failed; the file was rolled back."""


def load(directory: Path) -> list[discover.Migration]:
    """Discover, validate and check the sum file: everything that needs no database."""
    migrations = discover.discover(directory)
    sumfile.check(directory, migrations)
    return migrations


@contextmanager
def _locked(url: dburl.DatabaseUrl, lock_timeout: float) -> Iterator[Conn]:
    conn = db.connect(url, autocommit=True)
    try:
        key = lock.acquire(conn, lock_timeout)
        try:
            yield conn
        finally:
            if not conn.closed and not conn.broken:
                lock.release(conn, key)
    finally:
        conn.close()


def _status(conn: Conn, migrations: list[discover.Migration]) -> Status:
    state = history.read(conn)
    by_version = {m.version: m for m in migrations}
    changed = [
        by_version[v].up.path.name
        for v, row in state.history.items()
        if v in by_version and v <= state.version and row.checksum != by_version[v].checksum
    ]
    return Status(
        current=state.version,
        head=migrations[-1].version if migrations else 0,
        dirty=state.dirty,
        applied=[row for v, row in sorted(state.history.items()) if v <= state.version],
        pending=[m for m in migrations if m.version > state.version],
        changed=changed,
        untracked=[v for v in range(1, state.version + 1) if v not in state.history],
    )


def _refuse_unsafe(status: Status) -> None:
    if status.dirty:
        raise RefusedError(status.recovery or "database is dirty")
    if status.changed:
        raise RefusedError(
            f"applied migration changed since it ran: {', '.join(status.changed)}; restore the "
            "file as it was applied and put the change in a new migration"
        )
    if status.current > status.head:
        raise RefusedError(
            f"database is at version {status.current} but the migrations end at {status.head}; "
            "use the migrations directory that applied it"
        )


def status(url: dburl.DatabaseUrl, directory: Path) -> Status:
    """The state of the database against `directory`; changes nothing."""
    migrations = load(directory)
    with db.connect(url, autocommit=True) as conn:
        return _status(conn, migrations)


def up(
    url: dburl.DatabaseUrl,
    directory: Path,
    *,
    to: int | None = None,
    dry_run: bool = False,
    lock_timeout: float = 60,
    on_step: Callable[[Step], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Status:
    """Apply pending migrations up to `to` (default: head); return the resulting status."""
    migrations = load(directory)
    head = migrations[-1].version
    if to is not None and not 0 <= to <= head:
        raise UsageError(f"--to {to} is not a version of this directory (1..{head})")
    target = head if to is None else to
    with _locked(url, lock_timeout) as conn:
        if dry_run:
            current = _status(conn, migrations)
        else:
            history.ensure_tables(conn)
            current = _status(conn, migrations)
        _refuse_unsafe(current)
        if on_warning is not None:
            from veza_db import roles

            if warning := roles.migrating_as_superuser(conn):
                on_warning(warning)
        if target < current.current:
            raise UsageError(
                f"--to {target} is below the current version {current.current}; "
                f"use `veza-db down --to {target}`"
            )
        for migration in current.pending:
            if migration.version > target:
                break
            if dry_run:
                step = Step(migration.version, migration.name, "up", 0, migration.up.text)
            else:
                step = _apply(conn, migration, migration.up, "up", migration.version)
            if on_step:
                on_step(step)
        return _status(conn, migrations)


def down(
    url: dburl.DatabaseUrl,
    directory: Path,
    *,
    to: int | None = None,
    steps: int | None = None,
    dry_run: bool = False,
    lock_timeout: float = 60,
    on_step: Callable[[Step], None] | None = None,
) -> Status:
    """Roll back, newest first, to version `to` or by `steps` files."""
    migrations = load(directory)
    if (to is None) == (steps is None):
        raise UsageError("down needs exactly one target: --to N, --steps K or --all")
    if (to is not None and to < 0) or (steps is not None and steps < 1):
        raise UsageError("down --to must be >= 0 and --steps >= 1; use --all to roll everything back")
    with _locked(url, lock_timeout) as conn:
        current = _status(conn, migrations)
        _refuse_unsafe(current)
        if to is None:
            assert steps is not None
            to = max(current.current - steps, 0)
        if to > current.current:
            raise UsageError(
                f"--to {to} is above the current version {current.current}; use `veza-db up --to {to}`"
            )
        for migration in reversed(migrations):
            if not to < migration.version <= current.current:
                continue
            if dry_run:
                step = Step(migration.version, migration.name, "down", 0, migration.down.text)
            else:
                step = _apply(conn, migration, migration.down, "down", migration.version - 1)
            if on_step:
                on_step(step)
        return _status(conn, migrations)


def force(url: dburl.DatabaseUrl, directory: Path, version: int, *, lock_timeout: float = 60) -> Status:
    """Set the version without running anything (recovery after a failed no-transaction file)."""
    migrations = load(directory)
    if not 0 <= version <= migrations[-1].version:
        raise UsageError(f"version {version} is not in this directory (0..{migrations[-1].version})")
    with _locked(url, lock_timeout) as conn:
        history.ensure_tables(conn)
        with conn.transaction():
            history.set_version(conn, version, dirty=False)
            history.forget_above(conn, version)
        return _status(conn, migrations)


def _apply(
    conn: Conn,
    migration: discover.Migration,
    script: discover.Script,
    direction: str,
    new_version: int,
) -> Step:
    if script.transactional:
        return _apply_in_one_round_trip(conn, migration, script, direction, new_version)
    # Outside a transaction a failure can leave the file half-applied: mark the version dirty
    # first, as golang-migrate does, so nobody builds on top of it unknowingly.
    with conn.transaction():
        history.set_version(conn, migration.version, dirty=True)
    started = time.perf_counter()
    _execute(conn, script)
    elapsed = round((time.perf_counter() - started) * 1000)
    with conn.transaction():
        _bookkeep(conn, migration, direction, new_version, elapsed)
    return Step(migration.version, migration.name, direction, elapsed, script.text)


def _apply_in_one_round_trip(
    conn: Conn, migration: discover.Migration, script: discover.Script, direction: str, new_version: int
) -> Step:
    """The file and its version rows as one simple-query message: BEGIN; file; rows; COMMIT.

    One round trip per file keeps the runner's overhead over `psql -1 -f` small. PostgreSQL
    runs the message's statements in order and stops at the first error, leaving the
    transaction aborted; the file is then replayed statement by statement in a transaction that
    is rolled back, only to name the failing statement's line.
    """
    import psycopg

    from veza_db.migrate.history import bookkeeping_sql

    batch = b"BEGIN;\n" + script.text.encode() + b"\n;\n"
    batch += bookkeeping_sql(conn, migration, direction, new_version) + b"COMMIT;"
    started = time.perf_counter()
    try:
        cursor = conn.execute(batch)
    except psycopg.Error as exc:
        failure = MigrationFailed(f"{script.path.name}: {secrets.mask(db.first_line(exc))}")
        try:
            conn.execute(b"ROLLBACK")
            _locate_failure(conn, script)
        except psycopg.Error:
            # The connection itself is gone (server stopped, network cut): the server rolls the
            # open transaction back on its own, and the first error is the one that explains it.
            raise failure from None
        raise failure from None
    elapsed = round((time.perf_counter() - started) * 1000)
    while True:  # the history row reports the time measured by the server
        if cursor.description is not None and [c.name for c in cursor.description] == ["execution_ms"]:
            row = cursor.fetchone()
            if row is not None:
                elapsed = int(str(row[0]))
        if not cursor.nextset():
            break
    return Step(migration.version, migration.name, direction, elapsed, script.text)


def _locate_failure(conn: Conn, script: discover.Script) -> None:
    """Replay the file statement by statement and roll back: raises MigrationFailed with the line."""
    try:
        with conn.transaction():
            _execute(conn, script)
            raise _Replayed
    except _Replayed:
        pass  # the failure did not repeat (a lock timeout, a race): report it without a line


class _Replayed(Exception):
    """The replay succeeded; its transaction must still be rolled back."""


def _bookkeep(
    conn: Conn, migration: discover.Migration, direction: str, new_version: int, elapsed: int
) -> None:
    history.set_version(conn, new_version, dirty=False)
    if direction == "up":
        history.record(conn, migration.version, migration.up.path.name, migration.checksum, elapsed)
    else:
        history.forget_above(conn, new_version)


def _execute(conn: Conn, script: discover.Script) -> None:
    import psycopg

    for statement in script.statements:
        try:
            conn.execute(statement.sql.encode())
        except psycopg.Error as exc:
            line = statement.line
            position = getattr(exc.diag, "statement_position", None) if hasattr(exc, "diag") else None
            if position:
                line += statement.sql.count("\n", 0, int(position) - 1)
            hint = ""
            sqlstate = getattr(exc, "sqlstate", None)
            if sqlstate == "25001":  # active_sql_transaction: e.g. CREATE INDEX CONCURRENTLY
                hint = f"; to run it outside a transaction make `{discover.NO_TRANSACTION}` the first line"
            raise MigrationFailed(
                f"{script.path.name}:{line}: {secrets.mask(db.first_line(exc))}"
                f"{f' [{sqlstate}]' if sqlstate else ''}{hint}"
            ) from None
