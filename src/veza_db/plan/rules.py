"""Verdicts: what an observed statement will do to the target's tables, and the safe way instead.

- danger: the statement rewrites a table or index, builds an index without CONCURRENTLY, or
  validates a constraint by scanning, all while holding a lock that blocks the application's
  reads or writes for as long as the table is big;
- caution: a brief lock, but the change alters or breaks what running application code does
  (renames, drops, triggers): deploy the application change first;
- ok: nothing of the above.

Only relations that exist on the target count: a table an earlier pending file creates is empty
and unused when the statement runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from veza_db.plan.locks import NOTHING
from veza_db.plan.observe import Observed, Relation

OK, CAUTION, DANGER = "ok", "caution", "danger"
VERDICTS = (OK, CAUTION, DANGER)


@dataclass(frozen=True)
class Finding:
    verdict: str  # CAUTION or DANGER
    what: str  # what the statement does, naming the relation
    safe: str  # the safe pattern


@dataclass(frozen=True)
class Assessment:
    verdict: str
    findings: tuple[Finding, ...]
    relations: tuple[Relation, ...]  # the target's relations it touches, for their sizes


def assess(observed: Observed, on_target: frozenset[tuple[str, str]]) -> Assessment:
    """The verdict of one statement against the target's relations `on_target` (schema, name)."""
    live = _Live(observed, on_target)
    findings = [*_rewrites(observed, live), *_builds_and_scans(observed, live), *_cautions(observed, live)]
    verdict = DANGER if any(f.verdict == DANGER for f in findings) else CAUTION if findings else OK
    touched = [lock.relation for lock in observed.locks] + list(observed.rewritten) + live.named
    relations = tuple(dict.fromkeys(r for r in touched if (r.schema, r.name) in on_target))
    return Assessment(verdict, tuple(findings), relations)


class _Live:
    """The relations of a statement that existed before its file and exist on the target."""

    def __init__(self, observed: Observed, on_target: frozenset[tuple[str, str]]) -> None:
        from veza_db.migrate.lockwait import relations

        self.on_target = on_target
        self.named = [
            relation
            for schema, name in relations(observed.tree)
            if (relation := observed.existed(schema, name)) is not None and self.has(relation)
        ]

    def has(self, relation: Relation) -> bool:
        return (relation.schema, relation.name) in self.on_target

    def table(self, observed: Observed, range_var: Any) -> Relation | None:
        relation = observed.existed(range_var.schemaname, range_var.relname) if range_var else None
        return relation if relation is not None and self.has(relation) else None


def _rewrites(observed: Observed, live: _Live) -> list[Finding]:
    from pglast import ast

    rewritten = [f"{relation.kind} {relation}" for relation in observed.rewritten if live.has(relation)]
    if not rewritten:
        return []
    if isinstance(observed.tree, ast.TruncateStmt):  # instant whatever the size: a data loss, not a wait
        return [
            Finding(
                CAUTION,
                f"empties {', '.join(rewritten)} under ACCESS EXCLUSIVE",
                "make sure that is intended: the rows are gone once the file commits",
            )
        ]
    what = f"rewrites {', '.join(rewritten)} (new relfilenodes) under a lock that blocks the application"
    return [Finding(DANGER, what, _rewrite_pattern(observed.tree))]


def _rewrite_pattern(tree: Any) -> str:  # noqa: PLR0911 - one pattern per statement kind
    from pglast import ast
    from pglast.enums import AlterTableType

    if isinstance(tree, (ast.ClusterStmt, ast.VacuumStmt)):
        return "pg_repack rebuilds a table without holding its lock, or fill a new table in batches"
    if isinstance(tree, ast.RefreshMatViewStmt):
        return "REFRESH MATERIALIZED VIEW CONCURRENTLY (the view needs a unique index)"
    if isinstance(tree, ast.ReindexStmt):
        return "REINDEX ... CONCURRENTLY, in a file of its own"
    subtypes = (
        {command.subtype for command in tree.cmds or ()} if isinstance(tree, ast.AlterTableStmt) else set()
    )
    if AlterTableType.AT_AlterColumnType in subtypes:
        return (
            "add a column of the new type, fill it in batches, move the application to it, then "
            "drop the old column"
        )
    if AlterTableType.AT_AddColumn in subtypes:
        return "add the column with no default or a constant one, then fill it in batches"
    if AlterTableType.AT_SetLogged in subtypes:
        return "create the table LOGGED from the start: SET LOGGED writes all of it to the WAL"
    return "a maintenance window, or build the new shape in a new table filled in batches"


def _builds_and_scans(observed: Observed, live: _Live) -> list[Finding]:
    from pglast import ast

    tree = observed.tree
    findings: list[Finding] = []
    if (
        isinstance(tree, ast.IndexStmt)
        and not tree.concurrent
        and (table := live.table(observed, tree.relation))
    ):
        findings.append(
            Finding(
                DANGER,
                f"builds index {tree.idxname or '(unnamed)'} on {table} without CONCURRENTLY, holding "
                "SHARE (blocks writes) for the whole build",
                "CREATE INDEX CONCURRENTLY in a file of its own (it then runs without a transaction)",
            )
        )
    if isinstance(tree, ast.AlterTableStmt) and (table := live.table(observed, tree.relation)):
        for command in tree.cmds or ():
            findings += _alter_command(observed, table, command)
    return findings


def _alter_command(observed: Observed, table: Relation, command: Any) -> list[Finding]:  # noqa: PLR0911 - one per subcommand
    from pglast.enums import AlterTableType

    if command.subtype == AlterTableType.AT_SetNotNull:
        if (table.schema, table.name, command.name) in observed.proven_not_null:
            return []
        return [
            Finding(
                DANGER,
                f"SET NOT NULL on {table}.{command.name} scans {table} under ACCESS EXCLUSIVE",
                f"first ADD CONSTRAINT ... CHECK ({command.name} IS NOT NULL) NOT VALID, VALIDATE it in "
                "a later file, then SET NOT NULL (PostgreSQL 12+ then skips the scan)",
            )
        ]
    if command.subtype == AlterTableType.AT_AddColumn:
        return [f for c in command.def_.constraints or () for f in _constraint(table, c, "a new column's ")]
    if command.subtype == AlterTableType.AT_AttachPartition:
        return [
            Finding(
                DANGER,
                f"attaches partition {command.def_.name.relname} to {table}, scanning it under ACCESS "
                "EXCLUSIVE to check its bound",
                "first add to the partition a validated CHECK matching its bound (NOT VALID, then "
                "VALIDATE in a later file): ATTACH then skips the scan",
            )
        ]
    if command.subtype == AlterTableType.AT_ValidateConstraint:
        held = [
            lock for lock in observed.locks if lock.relation.name == table.name and lock.blocks != NOTHING
        ]
        if held:
            return [
                Finding(
                    DANGER,
                    f"validates {command.name} by scanning {table} while the file holds {held[0].mode} on "
                    "it (taken by an earlier statement), which blocks the application",
                    "VALIDATE CONSTRAINT in a later file of its own: alone it takes SHARE UPDATE EXCLUSIVE",
                )
            ]
        return []
    if command.subtype != AlterTableType.AT_AddConstraint:
        return []
    return _constraint(table, command.def_, "")


def _constraint(table: Relation, constraint: Any, whose: str) -> list[Finding]:
    """What adding `constraint` to an existing table does: a validating scan or an index build."""
    from pglast.enums import ConstrType

    kind = constraint.contype
    if kind in (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN) and not constraint.skip_validation:
        what = "CHECK" if kind == ConstrType.CONSTR_CHECK else "FOREIGN KEY"
        return [
            Finding(
                DANGER,
                f"adds {whose}{what} {constraint.conname or ''} and validates it by scanning {table} "
                "while holding a lock that blocks writes".replace("  ", " "),
                "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later file (it takes "
                "SHARE UPDATE EXCLUSIVE, which blocks no reads or writes)",
            )
        ]
    building = (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_EXCLUSION)
    if kind in building and not constraint.indexname:
        return [
            Finding(
                DANGER,
                f"adds {whose}{constraint.conname or 'constraint'} by building its index on {table} "
                "without CONCURRENTLY, under ACCESS EXCLUSIVE",
                "CREATE UNIQUE INDEX CONCURRENTLY in a file of its own, then ADD CONSTRAINT ... USING INDEX",
            )
        ]
    return []


def _cautions(observed: Observed, live: _Live) -> list[Finding]:
    from pglast import ast
    from pglast.enums import AlterTableType, ObjectType

    tree = observed.tree
    if isinstance(tree, ast.RenameStmt) and (table := live.table(observed, tree.relation)):
        return [
            Finding(
                CAUTION,
                f"renames {'a column of ' if tree.renameType == ObjectType.OBJECT_COLUMN else ''}{table}: "
                "running application code that uses the old name fails",
                "deploy application code that works with both names first, or add a view",
            )
        ]
    if isinstance(tree, ast.CreateTrigStmt) and (table := live.table(observed, tree.relation)):
        return [
            Finding(
                CAUTION,
                f"adds trigger {tree.trigname} to {table}: every matching write now runs it",
                "measure the trigger's cost on a copy of the data before the release",
            )
        ]
    if isinstance(tree, ast.AlterTableStmt) and (table := live.table(observed, tree.relation)):
        dropped = [c.name for c in tree.cmds or () if c.subtype == AlterTableType.AT_DropColumn]
        if dropped:
            return [
                Finding(
                    CAUTION,
                    f"drops column {', '.join(dropped)} of {table}: running code that reads it fails",
                    "deploy application code that no longer uses the column first",
                )
            ]
    if isinstance(tree, ast.DropStmt) and tree.removeType == ObjectType.OBJECT_SCHEMA:
        schemas = {getattr(name, "sval", "") for name in tree.objects or ()}
        emptied = sorted(str(lock.relation) for lock in observed.locks if lock.relation.schema in schemas)
        if emptied or any(schema == s for schema, _ in live.on_target for s in schemas):
            return [
                Finding(
                    CAUTION,
                    f"drops schema {', '.join(sorted(schemas))} and everything in it"
                    + (f" ({', '.join(emptied)})" if emptied else ""),
                    "deploy application code that no longer uses it first",
                )
            ]
    if isinstance(tree, ast.DropStmt) and not tree.concurrent:
        dropped_relations = [r for r in _dropped(observed) if live.has(r)]
        if dropped_relations:
            return [
                Finding(
                    CAUTION,
                    f"drops {', '.join(str(r) for r in dropped_relations)} under ACCESS EXCLUSIVE",
                    "DROP INDEX CONCURRENTLY for an index; for a table, deploy code that no longer "
                    "uses it first",
                )
            ]
    return []


def _dropped(observed: Observed) -> list[Relation]:
    """The relations a DROP statement names (its objects are name lists, not range variables)."""
    found = []
    for name in observed.tree.objects or ():
        parts = [str(getattr(part, "sval", "")) for part in name] if isinstance(name, tuple) else []
        if parts and all(parts):
            relation = observed.existed(parts[-2] if len(parts) > 1 else None, parts[-1])
            if relation is not None:
                found.append(relation)
    return found
