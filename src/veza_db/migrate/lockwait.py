"""Waiting for table locks on a live database: the DDL lock timeout, who blocks, the retry pauses.

An `ALTER TABLE` queued behind one long read puts its ACCESS EXCLUSIVE request at the head of
the table's lock queue, and every later query on the table waits behind it. So each file runs
with a short `lock_timeout` (as strong_migrations does for Rails); when it gives up, the file is
rolled back and retried after a growing pause, while the runner keeps the migration lock.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from veza_db.errors import RefusedError, UsageError

if TYPE_CHECKING:
    import psycopg

    from veza_db.migrate.script import Statement

    Conn = psycopg.Connection[tuple[object, ...]]

DEFAULT_TIMEOUT_MS = 5000
_MAX_MS = 2_147_483_647
DEFAULT_RETRIES = 5
# PostgreSQL's own time units for settings such as lock_timeout, in milliseconds.
_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>us|ms|s|min|h|d)\s*$")
# Pauses between attempts: 0.5 s doubling up to 8 s, each within +-25 % so that runners retrying
# against the same blocker do not come back in step.
_FIRST_PAUSE_S, _MAX_PAUSE_S, _JITTER = 0.5, 8.0, 0.25


def parse_duration(text: str, option: str = "--ddl-lock-timeout") -> int:
    """Milliseconds of a duration written as PostgreSQL writes one (`500ms`, `5s`, `1min`).

    A unit is required: PostgreSQL reads a bare `5` as 5 ms for lock_timeout, a reader as 5 s.
    Raises UsageError."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"{option} {text!r} is not a duration; write it with a unit: 500ms, 5s, 1min")
    ms = float(match["number"]) * _UNITS_MS[match["unit"]]
    # lock_timeout is whole milliseconds up to INT_MAX, and 0 means no timeout at all.
    if ms != 0 and not 1 <= ms <= _MAX_MS:
        raise UsageError(f"{option} {text!r}: give 0s (no timeout) or from 1ms to 24 days")
    return round(ms)


def pause(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1-based): growing, with jitter."""
    base: float = min(_FIRST_PAUSE_S * 2 ** (attempt - 1), _MAX_PAUSE_S)
    return base * random.uniform(1 - _JITTER, 1 + _JITTER)  # noqa: S311 - not for security


@dataclass(frozen=True)
class Blocker:
    """A session holding a lock on a relation a statement waited for; times as the server's."""

    relation: str
    pid: int
    user: str
    application: str
    state: str
    since: datetime | None
    query: str

    def __str__(self) -> str:
        since = f" since {self.since:%Y-%m-%d %H:%M:%S %Z}" if self.since else ""
        query = " ".join(self.query.split())[:80]
        return (
            f"{self.relation}, held by pid {self.pid} (user {self.user}, application "
            f"{self.application or '-'}, {self.state}{since}: {query!r})"
        )


class LockNotObtained(RefusedError):
    """A migration file gave up waiting for a table lock on every attempt; it was rolled back."""


def relations(tree: Any) -> list[tuple[str | None, str]]:
    """The relations a statement's parse tree names, as (schema or None, name), in order."""
    from pglast import ast
    from pglast.visitors import Visitor

    found: list[tuple[str | None, str]] = []

    class Finder(Visitor):
        def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:  # noqa: N802 - pglast's naming
            if node.relname:
                found.append((node.schemaname, node.relname))

    Finder()(tree)
    return list(dict.fromkeys(found))


def regclass_names(statement: Statement) -> list[str]:
    """The relations a statement names, quoted for to_regclass (`"schema"."name"` or `"name"`)."""
    from pglast.parser import parse_sql

    from veza_db.migrate.history import regclass_text

    names = []
    for parsed in parse_sql(statement.sql):
        if parsed.stmt is not None:
            for schema, name in relations(parsed.stmt):
                names.append(regclass_text(schema, name) if schema else regclass_text(name))
    return names


def blocker(conn: Conn, names: list[str]) -> Blocker | None:
    """The longest-running other session holding a lock on one of `names`, if any still does.

    Read from pg_locks and pg_stat_activity, which take no lock on the relations."""
    if not names:
        return None
    row = conn.execute(
        """
        SELECT l.relation::regclass::text, a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''),
               coalesce(a.state, ''), coalesce(a.xact_start, a.state_change), coalesce(a.query, '')
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.granted AND l.pid <> pg_backend_pid() AND l.locktype = 'relation'
          AND l.relation = ANY (ARRAY(SELECT to_regclass(n) FROM unnest(%s::text[]) AS n))
        ORDER BY coalesce(a.xact_start, a.state_change) NULLS LAST, a.pid
        LIMIT 1
        """,
        (names,),
    ).fetchone()
    if row is None:
        return None
    relation, pid, user, app, state, since, query = row
    assert since is None or isinstance(since, datetime)
    return Blocker(str(relation), int(str(pid)), str(user), str(app), str(state), since, str(query))
