"""The state of a database against a migrations directory, and when the runner must refuse it."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from veza_db.errors import RefusedError
from veza_db.migrate import discover, history
from veza_db.migrate.history import VersionTable

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[object, ...]]


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
        if not self.dirty:
            return None
        if self.current is None:
            first = self.migrations[0].version if self.migrations else None
            return (
                "the database is dirty with no version: a rollback of the first file stopped part-way; "
                f"finish it by hand and run `veza-db force none`, or redo what it undid and run "
                f"`veza-db force {shown(first)}`; then run `veza-db up` or `down` again"
            )
        previous = self.before(self.current)
        return (
            f"version {self.current} is dirty: a migration stopped part-way (a no-transaction file of "
            "veza-db's, or any file golang-migrate ran); make the database match one version by "
            f"hand, then record it: `veza-db force {shown(previous)}` if the file's work is undone, "
            f"`veza-db force {self.current}` if it is complete; then `veza-db up` again"
        )

    def state_of(self, version: int) -> str:
        """applied, applied by another tool, dirty, out of order (never applied) or pending."""
        if self.dirty and version == self.current:
            return "dirty"
        if any(m.version == version for m in self.out_of_order):
            return "out of order"
        if any(m.version == version for m in self.untracked):
            return "applied by another tool"
        return "applied" if any(a.version == version for a in self.applied) else "pending"

    def to_dict(self) -> dict[str, Any]:
        """The status as `veza-db status --json` prints it (without the database URL)."""
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
                    "state": self.state_of(m.version),
                    "transaction": m.up.mode,
                    "noop": m.up.noop,
                    "down": m.down.path.name if m.down is not None else None,
                }
                for m in self.migrations
            ],
        }


def shown(version: int | None) -> str:
    """A version as the CLI takes it: `none` when nothing is applied."""
    return "none" if version is None else str(version)


def read(conn: Conn, migrations: list[discover.Migration], table: VersionTable) -> Status:
    """The database's state against `migrations`; RefusedError when its version table is not
    golang-migrate's (see history.check_table)."""
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
    # Rows above the current version are stale (another tool rolled back past them).
    highest_run = max((v for v in state.history if current is not None and v <= current), default=None)
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


def refuse_unknown_version(status: Status) -> None:
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
    refuse_unknown_version(status)
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
