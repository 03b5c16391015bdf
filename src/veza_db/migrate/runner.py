"""Apply and roll back migrations: one transaction per file, the version rows written inside it.

Versions are golang-migrate's: the one row of `schema_migrations` holds the last applied file's
version (no row: nothing applied), files are ordered by version and gaps are normal, so the
version before a file is the previous file's, never `version - 1`.
"""

from __future__ import annotations

import bisect
import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from veza_db import db, dburl
from veza_db.errors import RefusedError, UsageError
from veza_db.migrate import discover, execute, history, lock, lockwait, sumfile
from veza_db.migrate.execute import MigrationFailed
from veza_db.migrate.history import DEFAULT, VersionTable
from veza_db.migrate.script import Script

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
class Status:
    """The database against a migrations directory.

    `current` and `head` are versions (None: nothing applied / no file); `applied` are veza-db's
    history rows of applied files; `untracked` the applied files with no history row (applied by
    another tool, such as golang-migrate); `changed` the names of applied files edited since."""

    current: int | None
    head: int | None
    dirty: bool
    migrations: list[discover.Migration]
    applied: list[history.Applied]
    pending: list[discover.Migration]
    changed: list[str]
    untracked: list[discover.Migration]
    # Files below the current version that never ran: veza-db's history holds later files.
    out_of_order: list[discover.Migration] = field(default_factory=list)
    history_rows: frozenset[int] = frozenset()  # versions with a history row, adopted ones too

    def before(self, version: int) -> int | None:
        """The version of the file before `version` in the directory, None for the first."""
        versions = [m.version for m in self.migrations]
        index = bisect.bisect_left(versions, version)
        return versions[index - 1] if index > 0 else None

    @property
    def recovery(self) -> str | None:
        """What to do about a dirty database, in one line."""
        if not self.dirty or self.current is None:
            return None
        previous = self.before(self.current)
        return (
            f"version {self.current} is dirty: a migration stopped part-way (a no-transaction file of "
            "veza-db's, or any file golang-migrate ran); make the database match one version by "
            f"hand, then record it: undo the file's work and run `veza-db force {_shown(previous)}`, "
            f"or finish it and run `veza-db force {self.current}`; then `veza-db up` again"
        )

    def state_of(
        self, version: int, applied: dict[int, Any], untracked: set[int], out_of_order: set[int]
    ) -> str:
        """applied, applied by another tool, dirty, out of order (never applied) or pending."""
        if self.dirty and version == self.current:
            return "dirty"
        if version in out_of_order:
            return "out of order"
        if version in untracked:
            return "applied by another tool"
        return "applied" if version in applied else "pending"

    def to_dict(self) -> dict[str, Any]:
        """The status as `veza-db status --json` prints it (without the database URL)."""
        history_by_version = {a.version: a for a in self.applied}
        untracked = {m.version for m in self.untracked}
        out_of_order = {m.version for m in self.out_of_order}
        return {
            "current": self.current,
            "head": self.head,
            "dirty": self.dirty,
            "applied": [
                {
                    "version": a.version,
                    "name": a.name,
                    "checksum": a.checksum,
                    "applied_at": a.applied_at.isoformat(),
                    "execution_ms": a.execution_ms,
                    "applied_by": a.applied_by,
                }
                for a in self.applied
            ],
            "untracked": [{"version": m.version, "name": m.up.path.name} for m in self.untracked],
            "out_of_order": [{"version": m.version, "name": m.up.path.name} for m in self.out_of_order],
            "pending": [{"version": m.version, "name": m.up.path.name} for m in self.pending],
            "changed": self.changed,
            "recovery": self.recovery,
            "migrations": [
                {
                    "version": m.version,
                    "name": m.up.path.name,
                    "state": self.state_of(m.version, history_by_version, untracked, out_of_order),
                    "transaction": m.up.mode,
                    "noop": m.up.noop,
                    "down": m.down.path.name if m.down is not None else None,
                }
                for m in self.migrations
            ],
        }


@dataclass(frozen=True)
class LockWaits:
    """How a file waits for table locks: `timeout_ms` per attempt (0: forever), `retries` after
    the first attempt, and who hears of each retry (one line each)."""

    timeout_ms: int = lockwait.DEFAULT_TIMEOUT_MS
    retries: int = lockwait.DEFAULT_RETRIES
    on_retry: Callable[[str], None] | None = None


def _shown(version: int | None) -> str:
    """A version as the CLI takes it: `none` when nothing is applied."""
    return "none" if version is None else str(version)


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


def _status(conn: Conn, migrations: list[discover.Migration], table: VersionTable) -> Status:
    history.check_table(conn, table)
    state = history.read(conn, table)
    current = state.version
    applied = [m for m in migrations if current is not None and m.version <= current]
    changed = [
        m.up.path.name
        for m in applied
        if m.version in state.history and state.history[m.version].checksum != m.checksum
    ]
    ran = {v for v, row in state.history.items() if not row.adopted}
    highest_run = max(state.history, default=None)
    missing = [m for m in applied if m.version not in state.history]
    out_of_order = [m for m in missing if highest_run is not None and m.version < highest_run]
    return Status(
        current=current,
        head=migrations[-1].version if migrations else None,
        dirty=state.dirty,
        migrations=migrations,
        applied=[state.history[m.version] for m in applied if m.version in ran],
        pending=migrations[len(applied) :],
        changed=changed,
        untracked=[m for m in applied if m.version not in ran and m not in out_of_order],
        out_of_order=out_of_order,
        history_rows=frozenset(state.history),
    )


def _refuse_unknown_version(status: Status) -> None:
    """A version the directory cannot continue from: above its last file, or between two files."""
    if status.current is None or status.head is None:
        return
    if status.current > status.head:
        raise RefusedError(
            f"database is at version {status.current} but the migrations end at {status.head}; "
            "use the migrations directory that applied it"
        )
    versions = {m.version for m in status.migrations}
    if status.current not in versions:
        below = status.before(status.current)
        nearest = f"the nearest below is {below}" if below is not None else "all its files are above it"
        raise RefusedError(
            f"database is at version {status.current}, which no file of this directory has "
            f"({nearest}); use the migrations directory that applied it, or record the version "
            "this directory matches with `veza-db force`"
        )


def refuse_unsafe(status: Status) -> None:
    """Raise RefusedError when the runner must not go on: an unknown version, a dirty database,
    an applied file edited since, or a file below the current version that never ran."""
    _refuse_unknown_version(status)
    if status.dirty:
        raise RefusedError(status.recovery or "database is dirty")
    if status.out_of_order:
        first = status.out_of_order[0]
        raise RefusedError(
            f"{first.up.path.name} is below the current version {status.current} but never ran "
            "(veza-db's history holds later files); give it a version above "
            f"{status.head} (rename the file and run `veza-db hash`), so that it runs after them"
        )
    if status.changed:
        raise RefusedError(
            f"applied migration changed since it ran: {', '.join(status.changed)}; restore the "
            "file as it was applied and put the change in a new migration"
        )


def status(url: dburl.DatabaseUrl, directory: Path, *, table: VersionTable = DEFAULT) -> Status:
    """The state of the database against `directory`; changes nothing.

    Raises RefusedError when the database's version is not one this directory can continue from."""
    migrations = load(directory, table)
    with db.connect(url, autocommit=True) as conn:
        result = _status(conn, migrations, table)
    _refuse_unknown_version(result)
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
        current = _status(conn, migrations, table)
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
        return _status(conn, migrations, table)


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
        current = _status(conn, migrations, table)
        refuse_unsafe(current)
        chosen = _to_roll_back(current, to, steps)
        if missing := [m for m in chosen if m.down is None and not m.up.noop]:
            raise RefusedError(
                f"cannot roll back {missing[-1].up.path.name}: it has no down file "
                f"({missing[-1].down_name}); write one, or undo it by hand and run "
                f"`veza-db force {_shown(current.before(missing[-1].version))}`"
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
        return _status(conn, migrations, table)


def _to_roll_back(current: Status, to: int | None, steps: int | None) -> list[discover.Migration]:
    """The applied files `down` rolls back, oldest first: above `to`, the last `steps`, or all."""
    applied = [m for m in current.migrations if current.current is not None and m.version <= current.current]
    if to is not None:
        if current.current is None or to > current.current:
            raise UsageError(
                f"--to {to} is above the current version {_shown(current.current)}; "
                f"use `veza-db up --to {to}`"
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
        history.ensure_tables(conn, table)
        with conn.transaction():
            history.set_version(conn, version, dirty=False, table=table)
            conn.execute(history.forget_sql(table, version))
        return _status(conn, migrations, table)


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
    # Outside a transaction a failure can leave the file half-applied: mark the version dirty
    # first, as golang-migrate does, so nobody builds on top of it unknowingly.
    with conn.transaction():
        history.set_version(conn, migration.version, dirty=True, table=table)
    try:
        elapsed = execute.without_transaction(conn, script, lock_timeout_ms=waits.timeout_ms)
    except MigrationFailed as exc:
        dirty = Status(migration.version, status.head, True, status.migrations, [], [], [], [])
        raise MigrationFailed(f"{_explained(conn, exc)}; {dirty.recovery}") from None
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
                    f"version {_shown(status.current)}: end that session or retry later "
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
