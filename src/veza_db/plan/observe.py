"""Run pending migrations on a scratch copy of the schema and watch what each statement does.

After each statement the planner reads, on its own backend, the table locks it holds
(`pg_locks`) and every relation's relfilenode: a relfilenode that changes is a rewrite. Only
relations that existed before the file count: a table the file creates has no traffic yet.
Statements PostgreSQL refuses inside a transaction block run outside one, and their locks come
from PostgreSQL's documentation, since they are released before they could be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from veza_db import db
from veza_db.errors import DatabaseError
from veza_db.migrate.script import Script, Statement
from veza_db.plan import locks

if TYPE_CHECKING:
    import psycopg

    from veza_db.migrate.discover import Migration

    Conn = psycopg.Connection[tuple[object, ...]]

# Relations of the schema (not the catalogs): oid, schema, name, relkind, relfilenode.
_RELATIONS = b"""
SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text, c.relfilenode::bigint
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp%' AND c.relkind IN ('r', 'p', 'i', 'I', 'm', 't', 'v')
"""
_MY_LOCKS = b"""
SELECT relation::bigint, mode FROM pg_catalog.pg_locks
WHERE pid = pg_catalog.pg_backend_pid() AND locktype = 'relation' AND granted
"""
# Validated CHECK constraints of the form `column IS NOT NULL`: PostgreSQL 12+ then skips the
# scan of SET NOT NULL on that column.
_PROVEN_NOT_NULL = b"""
SELECT n.nspname, t.relname, a.attname
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class t ON t.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (k.conkey)
WHERE k.contype = 'c' AND k.convalidated AND cardinality(k.conkey) = 1
  AND pg_catalog.pg_get_constraintdef(k.oid) = 'CHECK ((' || quote_ident(a.attname) || ' IS NOT NULL))'
"""

_KIND_NAMES = {
    "r": "table", "p": "table", "t": "table", "i": "index", "I": "index",
    "m": "materialized view", "v": "view",
}  # fmt: skip

# Locks of the statements that cannot run in a transaction block, from PostgreSQL's
# documentation of each: the CONCURRENTLY forms and plain VACUUM block no reads or writes.
STATIC_LOCKS = {
    "CREATE INDEX CONCURRENTLY": "SHARE UPDATE EXCLUSIVE",
    "DROP INDEX CONCURRENTLY": "SHARE UPDATE EXCLUSIVE",
    "REINDEX CONCURRENTLY": "SHARE UPDATE EXCLUSIVE",
    "DETACH PARTITION CONCURRENTLY": "SHARE UPDATE EXCLUSIVE",
    "VACUUM": "SHARE UPDATE EXCLUSIVE",
    "VACUUM FULL": "ACCESS EXCLUSIVE",
}


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str  # table, index, materialized view

    def __str__(self) -> str:
        from veza_db.catalog.typenames import quote_ident

        shown = quote_ident(self.name)
        return shown if self.schema == "public" else f"{quote_ident(self.schema)}.{shown}"


@dataclass(frozen=True)
class LockTaken:
    relation: Relation
    mode: str  # SQL name, e.g. ACCESS EXCLUSIVE
    documented: bool = False  # from PostgreSQL's documentation, not read from pg_locks

    @property
    def blocks(self) -> str:
        return locks.blocks(self.mode)


@dataclass(frozen=True)
class Observed:
    """What one statement did on the scratch database, to relations that existed before its file."""

    file: str
    statement: Statement
    tree: Any
    locks: tuple[LockTaken, ...]
    rewritten: tuple[Relation, ...]
    existing: frozenset[tuple[str, str]]  # (schema, name) of each relation there before the file
    # (schema, table, column) with a validated CHECK (column IS NOT NULL)
    proven_not_null: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)

    def existed(self, schema: str | None, name: str) -> Relation | None:
        """The relation a statement names, when it existed before the file (unqualified: public)."""
        key = (schema or "public", name)
        return Relation(key[0], key[1], "table") if key in self.existing else None


def _relations(conn: Conn) -> dict[int, tuple[Relation, int]]:
    rows = conn.execute(_RELATIONS).fetchall()
    return {
        int(str(oid)): (Relation(str(schema), str(name), _KIND_NAMES[str(kind)]), int(str(node)))
        for oid, schema, name, kind, node in rows
    }


def _held(conn: Conn) -> set[tuple[int, str]]:
    return {(int(str(oid)), locks.MODE_NAMES[str(mode)]) for oid, mode in conn.execute(_MY_LOCKS)}


def _proven_not_null(conn: Conn) -> frozenset[tuple[str, str, str]]:
    return frozenset(
        (str(schema), str(table), str(column)) for schema, table, column in conn.execute(_PROVEN_NOT_NULL)
    )


def run_pending(conn: Conn, pending: list[Migration]) -> list[Observed]:
    """Apply `pending` on the scratch database `conn` (autocommit), file by file, observing
    each statement. Raises DatabaseError naming the file and line of a statement that fails."""
    observed: list[Observed] = []
    for migration in pending:
        observed += _run_file(conn, migration.up)
    return observed


def _run_file(conn: Conn, script: Script) -> list[Observed]:
    from pglast.parser import parse_sql

    before_file = _relations(conn)
    existing = frozenset((relation.schema, relation.name) for relation, _ in before_file.values())
    results = []
    in_transaction = script.transactional
    if in_transaction:
        conn.execute(script.begin.encode())
    for statement in script.statements:
        tree = parse_sql(statement.sql)[0].stmt
        outside = script.mode != "transaction" and _outside_kind(tree) is not None
        if not in_transaction and not outside:
            conn.execute(b"BEGIN")  # observe it in a transaction of its own
        proven = _proven_not_null(conn)
        before, held_before = _relations(conn), _held(conn)
        _execute(conn, script, statement)
        after = _relations(conn)
        if outside:
            taken = _documented_locks(tree, before)
        else:
            taken = _locks_of(tree, before, before_file, held_before, _held(conn))
        rewritten = [
            relation
            for oid, (relation, node) in before.items()
            if oid in before_file and oid in after and after[oid][1] != node
        ]
        if not in_transaction and not outside:
            conn.execute(b"COMMIT")
        results.append(
            Observed(script.path.name, statement, tree, tuple(taken), tuple(rewritten), existing, proven)
        )
    if in_transaction:
        conn.execute(b"COMMIT")
    return results


def _locks_of(
    tree: Any,
    relations: dict[int, tuple[Relation, int]],
    before_file: dict[int, tuple[Relation, int]],
    held_before: set[tuple[int, str]],
    held_after: set[tuple[int, str]],
) -> list[LockTaken]:
    """The strongest lock held after the statement on each relation that existed before the file
    and that the statement locked anew or names (a lock an earlier statement of the file took is
    still held while this one runs)."""
    from veza_db.migrate.lockwait import relations as named

    names = {(schema or "public", name) for schema, name in named(tree)}
    fresh = {oid for oid, _ in held_after - held_before}
    modes: dict[int, list[str]] = {}
    for oid, mode in held_after:
        relation = relations.get(oid, (None, 0))[0]
        if relation is None or oid not in before_file:
            continue
        if oid in fresh or (relation.schema, relation.name) in names:
            modes.setdefault(oid, []).append(mode)
    return sorted(
        (LockTaken(relations[oid][0], locks.strongest(found)) for oid, found in modes.items()),
        key=lambda lock: (lock.relation.kind != "table", lock.relation.schema, lock.relation.name),
    )


def _execute(conn: Conn, script: Script, statement: Statement) -> None:
    import psycopg

    try:
        conn.execute(statement.sql.encode())
    except psycopg.Error as exc:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute(b"ROLLBACK")
        raise DatabaseError(
            f"{script.path.name}:{statement.line}: fails on a scratch copy of the schema (on the same "
            f"server when allowed, else the embedded one): {db.explain(exc)}"
        ) from None


def _outside_kind(tree: Any) -> str | None:
    """The kind of a statement that cannot run in a transaction block, for STATIC_LOCKS."""
    from pglast import ast

    from veza_db.migrate.script import kind_outside_transaction

    kind = kind_outside_transaction(tree)
    full = isinstance(tree, ast.VacuumStmt) and any(o.defname == "full" for o in tree.options or ())
    if kind == "VACUUM" and full:
        return "VACUUM FULL"
    return kind


def _documented_locks(tree: Any, relations: dict[int, tuple[Relation, int]]) -> list[LockTaken]:
    from veza_db.migrate.lockwait import relations as named

    mode = STATIC_LOCKS.get(_outside_kind(tree) or "")
    if mode is None:
        return []
    by_name = {(relation.schema, relation.name): relation for relation, _ in relations.values()}
    found = [by_name.get((schema or "public", name)) for schema, name in named(tree)]
    return [LockTaken(relation, mode, documented=True) for relation in found if relation is not None]
