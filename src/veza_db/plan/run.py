"""`veza-db plan`: what the target's pending migrations will lock and rewrite, before they run.

A scratch database is built at the target's current version (its applied files, on the target's
server when the user may create databases, else on the embedded one); the pending files run
there statement by statement while each statement's locks and rewrites are read. The target
itself is only read through its catalog, without locking any of its relations: sizes come from
pg_class (relpages, reltuples), not pg_relation_size(), which waits behind an ACCESS EXCLUSIVE
lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veza_db import db, dburl
from veza_db.errors import RefusedError
from veza_db.migrate import runner
from veza_db.migrate.discover import Migration
from veza_db.migrate.history import DEFAULT, VersionTable
from veza_db.migrate.status import refuse_unsafe
from veza_db.plan import observe, rules
from veza_db.plan.observe import Observed, Relation
from veza_db.scratch import scratch_database

_TARGET_RELATIONS = b"""
SELECT n.nspname, c.relname,
       c.relpages::bigint * current_setting('block_size')::bigint, c.reltuples::bigint
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND c.relkind IN ('r', 'p', 'i', 'I', 'm', 't', 'v')
"""


@dataclass(frozen=True)
class Size:
    """A relation's size on the target from its statistics: bytes, and rows (-1: never analyzed)."""

    bytes: int
    rows: int


@dataclass(frozen=True)
class StatementPlan:
    observed: Observed
    assessment: rules.Assessment
    sizes: dict[Relation, Size]

    @property
    def verdict(self) -> str:
        return self.assessment.verdict

    def to_dict(self) -> dict[str, Any]:
        statement = self.observed.statement
        return {
            "file": self.observed.file,
            "line": statement.line,
            "statement": " ".join(statement.sql.split())[:200],
            "verdict": self.verdict,
            "locks": [
                {
                    "relation": str(lock.relation),
                    "kind": lock.relation.kind,
                    "mode": lock.mode,
                    "blocks": lock.blocks,
                    "source": "documentation" if lock.documented else "pg_locks",
                }
                for lock in self.observed.locks
            ],
            "rewrites": [str(relation) for relation in self.observed.rewritten],
            "findings": [
                {"verdict": f.verdict, "what": f.what, "safe": f.safe} for f in self.assessment.findings
            ],
            "sizes": {
                str(relation): {"bytes": size.bytes, "rows": size.rows}
                for relation, size in self.sizes.items()
            },
        }


@dataclass(frozen=True)
class PlanResult:
    """Per pending statement, its locks, rewrites, sizes and verdict; `built_on` says where the
    scratch copy was built (`same server` or `embedded server`)."""

    database: str
    directory: Path
    current: int | None
    head: int | None
    pending: tuple[str, ...]  # file names
    statements: tuple[StatementPlan, ...]
    built_on: str

    @property
    def verdict(self) -> str:
        """The worst verdict of any statement (ok when nothing is pending)."""
        verdicts = {s.verdict for s in self.statements}
        return next((v for v in reversed(rules.VERDICTS) if v in verdicts), rules.OK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "current": self.current,
            "head": self.head,
            "pending": list(self.pending),
            "verdict": self.verdict,
            "built_on": self.built_on,
            "statements": [s.to_dict() for s in self.statements],
        }


def plan(url: dburl.DatabaseUrl, directory: Path, *, table: VersionTable = DEFAULT) -> PlanResult:
    """Plan the pending migrations of `directory` against the database at `url`.

    Raises RefusedError (dirty, changed, unknown version) as `up` would, DatabaseError when a
    pending statement fails on the scratch copy or the server fails."""
    status = runner.status(url, directory, table=table)
    refuse_unsafe(status)
    with db.connect(url, autocommit=True) as conn:
        rows = conn.execute(_TARGET_RELATIONS).fetchall()
    sizes = {(str(s), str(n)): Size(int(str(b)), int(str(r))) for s, n, b, r in rows}
    on_target = frozenset(sizes)
    _refuse_cluster_statements(status.migrations)
    with scratch_database(url, prefix="veza_plan") as (scratch, where):
        if status.current is not None:
            runner.up(scratch, directory, to=status.current, table=table)
        with db.connect(scratch, autocommit=True) as conn:
            observed = observe.run_pending(conn, status.pending)
    statements = []
    for item in observed:
        assessment = rules.assess(item, on_target)
        statements.append(
            StatementPlan(item, assessment, {r: sizes[(r.schema, r.name)] for r in assessment.relations})
        )
    return PlanResult(
        database=str(url),
        directory=directory,
        current=status.current,
        head=status.head,
        pending=tuple(m.up.path.name for m in status.pending),
        statements=tuple(statements),
        built_on=where,
    )


# Statements whose effect reaches past the scratch database, to the whole server: the plan would
# leave them behind (a role it created would make the real `up` fail).
_CLUSTER_KINDS = (
    "CreateRoleStmt", "AlterRoleStmt", "AlterRoleSetStmt", "DropRoleStmt", "GrantRoleStmt",
    "AlterSystemStmt", "CreatedbStmt", "DropdbStmt", "AlterDatabaseStmt", "AlterDatabaseSetStmt",
    "CreateTableSpaceStmt", "DropTableSpaceStmt", "AlterTableSpaceOptionsStmt",
)  # fmt: skip


def _refuse_cluster_statements(migrations: list[Migration]) -> None:
    """RefusedError naming the first statement that changes the server rather than one database."""
    from pglast.parser import parse_sql

    words = ("ROLE", "USER", "GROUP", "SYSTEM", "DATABASE", "TABLESPACE", "GRANT")
    for migration in migrations:
        for statement in migration.up.statements:
            if not any(word in statement.sql.upper() for word in words):
                continue
            kind = type(parse_sql(statement.sql)[0].stmt).__name__
            if kind in _CLUSTER_KINDS:
                raise RefusedError(
                    f"{migration.up.path.name}:{statement.line}: plan copies the schema into a scratch "
                    f"database, and this statement ({kind.removesuffix('Stmt')}) changes the whole server "
                    "instead; plan cannot run it without leaving it behind"
                )
