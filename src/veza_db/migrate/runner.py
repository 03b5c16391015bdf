"""Apply and roll back migrations: one transaction per file, the version rows written inside it.

Versions are golang-migrate's: the one row of `schema_migrations` holds the last applied file's
version (no row: nothing applied), files are ordered by version and gaps are normal, so the
version before a file is the previous file's, never `version - 1`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from veza_db import db, dburl
from veza_db.errors import RefusedError, UsageError
from veza_db.migrate import discover, execute, history, lock, lockwait, sumfile
from veza_db.migrate.execute import MigrationFailed
from veza_db.migrate.history import DEFAULT, VersionTable
from veza_db.migrate.script import Script
from veza_db.migrate.status import Status, refuse_unknown_version, refuse_unsafe, shown
from veza_db.migrate.status import read as read_status

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    Conn = psycopg.Connection[tuple[object, ...]]

__all__ = ["MigrationFailed", "Status", "Step", "down", "force", "load", "status", "up"]


@dataclass(frozen=True)
class Step:
    """One file run (or, in a dry run, to be run); `execution_ms` in milliseconds."""

    version: int
    name: str  # the file name without `.up.sql` / `.down.sql`
    direction: str  # "up" | "down"
    execution_ms: int
    sql: str
    mode: str = "transaction"  # a Script mode
    noop: bool = False
    file: str = ""  # the file's name


@dataclass(frozen=True)
class LockWaits:
    """How a file waits for table locks: `timeout_ms` per attempt (0: forever), `retries` after
    the first attempt, and who hears of each retry (one line each)."""

    timeout_ms: int = lockwait.DEFAULT_TIMEOUT_MS
    retries: int = lockwait.DEFAULT_RETRIES
    on_retry: Callable[[str], None] | None = None


def load(directory: Path, table: VersionTable = DEFAULT) -> list[discover.Migration]:
    """Discover, validate and check the sum file: everything that needs no database."""
    migrations = discover.discover(directory, table)
    sumfile.check(directory, migrations)
    return migrations


@contextmanager
def _locked(url: dburl.DatabaseUrl, lock_timeout: float, table: VersionTable) -> Iterator[Conn]:
    if lock_timeout < 0:
        raise UsageError(
            f"--lock-timeout {lock_timeout:g} is negative; give the seconds to wait (0: do not wait)"
        )
    conn = db.connect(url, autocommit=True)
    execute.prepare(conn)
    try:
        key = lock.acquire(conn, lock_timeout, table)
        try:
            yield conn
        finally:
            _release(conn, key)
    finally:
        conn.close()


def _release(conn: Conn, key: int) -> None:
    """Give the migration lock back; an error here must not hide the one that ended the run
    (Ctrl-C in the middle of a file), and closing the connection releases it anyway."""
    import psycopg

    if conn.closed or conn.broken:
        return
    try:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute(b"ROLLBACK")
        lock.release(conn, key)
    except psycopg.Error:
        pass


def status(url: dburl.DatabaseUrl, directory: Path, *, table: VersionTable = DEFAULT) -> Status:
    """The state of the database against `directory`; changes nothing.

    Raises RefusedError when the database's version is not one this directory can continue from."""
    migrations = load(directory, table)
    with db.connect(url, autocommit=True) as conn:
        result = read_status(conn, migrations, table)
    refuse_unknown_version(result)
    return result


def _version_of_directory(version: int, migrations: list[discover.Migration], option: str) -> None:
    if version not in {m.version for m in migrations}:
        raise UsageError(
            f"{option} {version} is not a version of this directory (its versions run from "
            f"{migrations[0].version} to {migrations[-1].version}); pass one of its files' versions"
        )


def up(
    url: dburl.DatabaseUrl,
    directory: Path,
    *,
    to: int | None = None,
    dry_run: bool = False,
    lock_timeout: float = 60,
    table: VersionTable = DEFAULT,
    waits: LockWaits = LockWaits(),
    on_step: Callable[[Step], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Status:
    """Apply pending migrations up to version `to` (default: head); return the resulting status.

    `lock_timeout` is in seconds: the wait for the migration lock. `waits` sets how each file
    waits for table locks. Raises UsageError, RefusedError (dirty, changed, unknown version,
    migration lock not obtained; LockNotObtained when a file's table lock was not obtained on
    any attempt) or MigrationFailed (the failing file was rolled back)."""
    migrations = load(directory, table)
    if to is not None:
        _version_of_directory(to, migrations, "--to")
    with _locked(url, lock_timeout, table) as conn:
        history.check_table(conn, table)  # before anything is created beside another tool's table
        if not dry_run:
            history.ensure_tables(conn, table)
        current = read_status(conn, migrations, table)
        refuse_unsafe(current)
        if not dry_run and (found := [m for m in current.untracked if m.version not in current.history_rows]):
            with conn.transaction():
                conn.execute(history.adopt_sql(table, found))
        if on_warning is not None:
            from veza_db.migrate.superuser import migrating_as_superuser

            if warning := migrating_as_superuser(conn, table):
                on_warning(warning)
            first_contact = [m for m in current.untracked if m.version not in current.history_rows]
            if first_contact and directory.resolve() == discover.package_dir():
                on_warning(
                    f"version {current.current} was set by another tool, and veza-db takes it as "
                    "a version of its built-in V1 migrations; if this database belongs to another "
                    "project, pass --migrations with that project's directory"
                )
        if to is not None and current.current is not None and to < current.current:
            raise UsageError(
                f"--to {to} is below the current version {current.current}; use `veza-db down --to {to}`"
            )
        for migration in current.pending:
            if to is not None and migration.version > to:
                break
            if dry_run:
                step = _step(migration, migration.up, "up", 0)
            else:
                step = _apply(conn, migration, "up", migration.version, table, current, waits)
                current = dataclasses.replace(current, current=migration.version)
            if on_step:
                on_step(step)
        return read_status(conn, migrations, table)


def down(
    url: dburl.DatabaseUrl,
    directory: Path,
    *,
    to: int | None = None,
    steps: int | None = None,
    all_versions: bool = False,
    dry_run: bool = False,
    lock_timeout: float = 60,
    table: VersionTable = DEFAULT,
    waits: LockWaits = LockWaits(),
    on_step: Callable[[Step], None] | None = None,
) -> Status:
    """Roll back, newest first: to version `to`, by `steps` files, or everything.

    Refuses (RefusedError, nothing run) when a file to roll back has no down file."""
    migrations = load(directory, table)
    if sum((to is not None, steps is not None, all_versions)) != 1:
        raise UsageError("down needs exactly one target: --to N, --steps K or --all")
    if steps is not None and steps < 1:
        raise UsageError("down --steps must be >= 1; use --all to roll everything back")
    if to is not None:
        _version_of_directory(to, migrations, "--to")
    with _locked(url, lock_timeout, table) as conn:
        current = read_status(conn, migrations, table)
        refuse_unsafe(current)
        chosen = _to_roll_back(current, to, steps)
        if missing := [m for m in chosen if m.down is None and not m.up.noop]:
            raise RefusedError(
                f"cannot roll back {missing[-1].up.path.name}: it has no down file "
                f"({missing[-1].down_name}); write one, or undo it by hand and run "
                f"`veza-db force {shown(current.before(missing[-1].version))}`"
            )
        for migration in reversed(chosen):
            if dry_run:
                step = _step(migration, _down_script(migration), "down", 0)
            else:
                previous = current.before(migration.version)
                step = _apply(conn, migration, "down", previous, table, current, waits)
                current = dataclasses.replace(current, current=previous)
            if on_step:
                on_step(step)
        return read_status(conn, migrations, table)


def _to_roll_back(current: Status, to: int | None, steps: int | None) -> list[discover.Migration]:
    """The applied files `down` rolls back, oldest first: above `to`, the last `steps`, or all."""
    applied = [m for m in current.migrations if current.current is not None and m.version <= current.current]
    if to is not None:
        if current.current is None or to > current.current:
            raise UsageError(
                f"--to {to} is above the current version {shown(current.current)}; use `veza-db up --to {to}`"
            )
        return [m for m in applied if m.version > to]
    if steps is not None:
        if steps > len(applied):
            raise UsageError(
                f"--steps {steps} is more than the {len(applied)} applied file(s); use --all to roll "
                "everything back"
            )
        return applied[-steps:]
    return applied


def force(
    url: dburl.DatabaseUrl,
    directory: Path,
    version: int | None,
    *,
    lock_timeout: float = 60,
    table: VersionTable = DEFAULT,
) -> Status:
    """Set the version (None: nothing applied) without running anything, and clear dirty:
    recovery after a failed no-transaction file."""
    migrations = load(directory, table)
    if version is not None:
        _version_of_directory(version, migrations, "force")
    with _locked(url, lock_timeout, table) as conn:
        history.check_table(conn, table)
        history.ensure_tables(conn, table)
        with conn.transaction():
            history.set_version(conn, version, dirty=False, table=table)
            conn.execute(history.forget_sql(table, version))
        return read_status(conn, migrations, table)


def _down_script(migration: discover.Migration) -> Script:
    """The down file; a no-op up file without one rolls back as a no-op (nothing to undo)."""
    if migration.down is not None:
        return migration.down
    assert migration.up.noop, "down files are checked before anything runs"
    return Script(migration.up.path.with_name(migration.down_name), "", ())


def _step(migration: discover.Migration, script: Script, direction: str, elapsed: int) -> Step:
    file = script.path.name
    return Step(
        migration.version, migration.name, direction, elapsed, script.text, script.mode, script.noop, file
    )


def _apply(
    conn: Conn,
    migration: discover.Migration,
    direction: str,
    new_version: int | None,
    table: VersionTable,
    status: Status,
    waits: LockWaits,
) -> Step:
    script = migration.up if direction == "up" else _down_script(migration)
    if script.transactional:
        bookkeeping = [*history.version_statements(table, new_version, dirty=False)]
        if direction == "up":
            bookkeeping.append(history.record_sql(table, migration))
        else:
            bookkeeping += [history.forget_sql(table, new_version), history.elapsed_sql()]
        elapsed = _with_retries(conn, script, bookkeeping, waits, status)
        return _step(migration, script, direction, max(elapsed, 0))
    # Outside a transaction a failure can leave the file half-applied: mark the target version
    # dirty first, as golang-migrate does (its TargetVersion: this file's on up, the previous
    # one on down), so nobody builds on top of it unknowingly.
    target = migration.version if direction == "up" else new_version
    with conn.transaction():
        history.set_version(conn, target, dirty=True, table=table)
    try:
        elapsed = execute.without_transaction(conn, script, lock_timeout_ms=waits.timeout_ms)
    except MigrationFailed as exc:
        if direction == "up":
            how = (
                f"undo its work by hand and run `veza-db force {shown(status.before(migration.version))}`, "
                f"or finish it and run `veza-db force {migration.version}`"
            )
        else:
            how = (
                f"finish the rollback by hand and run `veza-db force {shown(new_version)}`, or redo "
                f"what it undid and run `veza-db force {migration.version}`"
            )
        raise MigrationFailed(
            f"{_explained(conn, exc)}; {script.path.name} stopped part-way and the database is marked "
            f"dirty: {how}",
            missing_extension=exc.missing_extension,
            lock_timeout=exc.lock_timeout,
            blocker=exc.blocker,
        ) from None
    with conn.transaction():
        history.set_version(conn, new_version, dirty=False, table=table)
        if direction == "up":
            conn.execute(history.record_sql(table, migration, elapsed))
        else:
            conn.execute(history.forget_sql(table, new_version))
    return _step(migration, script, direction, elapsed)


def _explained(conn: Conn, failure: MigrationFailed) -> MigrationFailed:
    """The failure, with why when the server lacks an extension because it was built without
    OpenSSL, as the embedded PostgreSQL is (its `ssl_library` setting is then empty)."""
    import psycopg

    from veza_db import embedded

    if failure.missing_extension is None or conn.broken:
        return failure
    try:
        row = conn.execute("SELECT current_setting('ssl_library')").fetchone()
    except psycopg.Error:
        return failure
    if row is None or row[0] != "":
        return failure
    return MigrationFailed(
        f"{failure}; this server was built without OpenSSL and libuuid, as the embedded PostgreSQL "
        f"is, so it has no {', '.join(embedded.MISSING_EXTENSIONS)}: gen_random_uuid() and (on "
        "PostgreSQL 18) uuidv7() are core functions that need no extension; or pass --database-url "
        "to a server that has the extension",
        missing_extension=failure.missing_extension,
    )


def _with_retries(
    conn: Conn, script: Script, bookkeeping: list[sql.Composed], waits: LockWaits, status: Status
) -> int:
    """Run a transactional file; when a statement gives up waiting for a lock, roll the file back
    and try again after a growing pause, keeping the migration lock. Returns execution_ms.

    Raises LockNotObtained after the last attempt, MigrationFailed on any other error."""
    attempts = waits.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return execute.in_transaction(conn, script, bookkeeping, lock_timeout_ms=waits.timeout_ms)
        except MigrationFailed as exc:
            if not exc.lock_timeout:
                raise _explained(conn, exc) from None
            held = f"a lock on {exc.blocker}" if exc.blocker else "a lock"
            if attempt == attempts:
                raise lockwait.LockNotObtained(
                    f"{script.path.name}: gave up after {attempts} attempts of {waits.timeout_ms} ms "
                    f"waiting for {held}; the file was rolled back and the database is still at "
                    f"version {shown(status.current)}: end that session or retry later "
                    "(--ddl-lock-timeout, --retries)"
                ) from None
            pause = lockwait.pause(attempt)
            if waits.on_retry is not None:
                waits.on_retry(
                    f"{script.path.name}: attempt {attempt} of {attempts} waited {waits.timeout_ms} ms "
                    f"for {held}; rolled back, retrying in {pause:.1f} s"
                )
            time.sleep(pause)
    raise AssertionError("unreachable: the last attempt returns or raises")
