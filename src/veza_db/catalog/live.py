"""Load the model from a live database: a handful of set-based catalog queries, not one per table.

The queries return plain rows (tuples), columns as numbers and tables as oids, and the loader
names them from the relations and columns it has read: the server does less per row (no
subquery per constraint or index key), and a schema of ten thousand tables reads in a fraction
of a second. The few names not read that way (a foreign key to a partition or an extension's
table) are asked for afterwards, in the same snapshot.

The queries are sent one after the other by a reading thread, the largest (columns) first, while
this thread builds the columns and parses their defaults: the server answers the other queries
during that time instead of waiting for the client (0.86 s down to 0.72 s for 10,000 tables).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from typing import TYPE_CHECKING, Any

from veza_db import db, dburl
from veza_db.catalog import expr
from veza_db.catalog.model import (
    ACTIONS,
    Catalog,
    CheckConstraint,
    Column,
    Domain,
    ForeignKey,
    Function,
    Index,
    PrimaryKey,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
    fast,
)
from veza_db.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

_IDENTITY = {"a": "always", "d": "by default"}
# In the order they are sent: columns, the longest for the server, first.
_QUERIES = (
    "columns",
    "relations",
    "constraints",
    "indexes",
    "sequences",
    "schemas",
    "triggers",
    "functions",
    "domains",
)
_RELATION_NAMES = b"""
SELECT c.oid::bigint, n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid::bigint = ANY (%s)
"""
_COLUMN_NAMES = b"""
SELECT a.attrelid::bigint, a.attnum, a.attname
FROM pg_attribute a
WHERE a.attrelid::bigint = ANY (%s) AND a.attnum > 0
"""

Rows = dict[str, list[tuple[Any, ...]]]


def _query(name: str) -> bytes:
    return (resources.files("veza_db.catalog") / "queries" / f"{name}.sql").read_bytes()


def load(url: dburl.DatabaseUrl) -> Catalog:
    """Read the whole schema of the database at `url` (read-only)."""
    with db.connect(url) as conn:
        return load_connection(conn, str(url))


def load_connection(conn: psycopg.Connection[Any], source: str) -> Catalog:
    """Read the schema through an open connection, in one read-only snapshot."""
    import psycopg

    try:
        with expr.many_objects(), conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # Qualify every name as pg_dump does, so a live database and its dump read the same.
            cur.execute("SET LOCAL search_path = ''")
            # Sort ten thousand tables' columns in memory, not in temporary files.
            cur.execute("SET LOCAL work_mem = '64MB'")
            with _reading(cur) as next_rows:
                rows: Rows = {"columns": next_rows()}
                columns = _columns(rows["columns"])
                # Parsed now, while the server answers the other queries; the rules read them.
                expr.parse_many(
                    c.default for cs in columns.values() for c in cs if expr.worth_parsing(c.default)
                )
                rows.update((name, next_rows()) for name in _QUERIES[1:])
            names = _Names(rows)
            names.complete(cur)
            return _build(rows, columns, names, source)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot read the catalog of {source}: {db.first_line(exc)}") from None


@contextmanager
def _reading(cur: psycopg.Cursor[Any]) -> Iterator[Callable[[], list[tuple[Any, ...]]]]:
    """Run the catalog queries in order on a thread of their own; yields a function that returns
    the next query's rows (waiting for them), or raises the error that query met.

    The thread is joined before the block ends, so the connection is never used by two threads
    at once, whatever happens in the block; when the block fails, the running query is cancelled
    first.
    """
    results: queue.SimpleQueue[list[tuple[Any, ...]] | BaseException] = queue.SimpleQueue()
    stop = threading.Event()

    def read() -> None:
        for name in _QUERIES:
            if stop.is_set():
                return
            try:
                results.put(cur.execute(_query(name)).fetchall())
            except BaseException as exc:  # handed to the reading block, raised there
                results.put(exc)
                return

    def next_rows() -> list[tuple[Any, ...]]:
        got = results.get()
        if isinstance(got, BaseException):
            raise got
        return got

    thread = threading.Thread(target=read, name="veza-db catalog reader", daemon=True)
    thread.start()
    try:
        yield next_rows
    except BaseException:
        # Leaving early (an error, Ctrl-C): the query under way is cancelled, not waited for;
        # again if the thread had just sent its next one when the first cancel arrived.
        stop.set()
        for _ in range(10):
            if not thread.is_alive():
                break
            with suppress(Exception):
                cur.connection.cancel_safe(timeout=2)
            thread.join(0.5)
        raise
    finally:
        stop.set()
        thread.join()


class _Names:
    """Table and column names by oid and number, from the rows read (and asked for when missing)."""

    def __init__(self, rows: Rows) -> None:
        self.relations: dict[int, tuple[str, str]] = {r[0]: (r[1], r[2]) for r in rows["relations"]}
        self.columns: dict[int, dict[int, str]] = {}
        for oid, number, name, *_ in rows["columns"]:
            table = self.columns.get(oid)
            if table is None:
                table = self.columns[oid] = {}
            table[number] = name
        self.wanted_relations: set[int] = set()
        self.wanted_columns: set[int] = set()
        for oid, _, kind, columns, ref_oid, ref_columns, *_ in rows["constraints"]:
            self._want(oid, columns)
            if kind == "f":
                if ref_oid not in self.relations:
                    self.wanted_relations.add(ref_oid)
                self._want(ref_oid, ref_columns)
        for _, table_oid, number in rows["sequences"]:
            if table_oid not in self.relations:
                self.wanted_relations.add(table_oid)
            self._want(table_oid, [number] if number else None)

    def _want(self, oid: int, numbers: list[int] | None) -> None:
        if numbers and any(n not in self.columns.get(oid, ()) for n in numbers):
            self.wanted_columns.add(oid)

    def complete(self, cur: psycopg.Cursor[Any]) -> None:
        """Ask for the names the rows do not give (tables outside those read)."""
        if self.wanted_relations:
            for oid, schema, name in cur.execute(_RELATION_NAMES, [sorted(self.wanted_relations)]):
                self.relations[oid] = (schema, name)
        if self.wanted_columns:
            for oid, number, name in cur.execute(_COLUMN_NAMES, [sorted(self.wanted_columns)]):
                self.columns.setdefault(oid, {})[number] = name

    def column(self, oid: int, number: int) -> str:
        return self.columns[oid][number]

    def columns_of(self, oid: int, numbers: list[int] | None) -> tuple[str, ...]:
        if not numbers:
            return ()
        table = self.columns[oid]
        return tuple(table[n] for n in numbers)


def _columns(rows: list[tuple[Any, ...]]) -> dict[int, list[Column]]:
    """The columns of each table oid, in order."""
    columns: dict[int, list[Column]] = {}
    for oid, _, name, type_, nullable, default, identity, comment in rows:
        column = fast(
            Column,
            {
                "name": name,
                "type": type_,
                "nullable": nullable,
                "default": default,
                "identity": _IDENTITY.get(identity or ""),
                "comment": comment,
                "where": None,
            },
        )
        table_columns = columns.get(oid)
        if table_columns is None:
            columns[oid] = [column]
        else:
            table_columns.append(column)
    return columns


def _build(rows: Rows, columns: dict[int, list[Column]], names: _Names, source: str) -> Catalog:  # noqa: PLR0912 - a pass per query
    pks: dict[int, PrimaryKey] = {}
    uniques: dict[int, list[UniqueConstraint]] = {}
    fks: dict[int, list[ForeignKey]] = {}
    checks: dict[int, list[CheckConstraint]] = {}
    constraint_indexes: set[int] = set()
    for oid, name, kind, keys, ref_oid, ref_keys, on_delete, on_update, expression, index in rows[
        "constraints"
    ]:
        if kind in ("p", "u", "x"):
            constraint_indexes.add(index)
        if kind == "p":
            pks[oid] = PrimaryKey(name, names.columns_of(oid, keys))
        elif kind == "u":
            uniques.setdefault(oid, []).append(UniqueConstraint(name, names.columns_of(oid, keys)))
        elif kind == "f":
            ref_schema, ref_table = names.relations[ref_oid]
            fks.setdefault(oid, []).append(
                ForeignKey(
                    name,
                    names.columns_of(oid, keys),
                    ref_schema,
                    ref_table,
                    names.columns_of(ref_oid, ref_keys),
                    ACTIONS[on_delete],
                    ACTIONS[on_update],
                )
            )
        elif kind == "c":
            checks.setdefault(oid, []).append(CheckConstraint(name, expression))

    indexes: dict[int, list[Index]] = {}
    for index, oid, name, is_unique, keys, expressions, predicate, method in rows["indexes"]:
        if index in constraint_indexes:
            continue  # the index behind a primary key, unique or exclusion constraint
        key_names = tuple(
            f"({expressions[k]})" if number == 0 else names.column(oid, number)
            for k, number in enumerate(keys)
        )
        indexes.setdefault(oid, []).append(Index(name, key_names, is_unique, predicate, method))

    triggers: dict[int, list[Trigger]] = {}
    for oid, name, function, definition in rows["triggers"]:
        triggers.setdefault(oid, []).append(Trigger(name, function, definition))

    # (table, column) owning each sequence; the column is None when the sequence belongs to the
    # table as a whole, as PostgreSQL's catalog allows.
    owners: dict[int, tuple[str, str]] = {}
    for oid, table_oid, number in rows["sequences"]:
        owning = names.columns.get(table_oid, {}).get(number) if number else None
        owners[oid] = (names.relations[table_oid][1], owning)  # type: ignore[assignment]

    tables: list[Table] = []
    sequences: list[Sequence] = []
    views: list[View] = []
    for oid, schema, name, kind, comment in rows["relations"]:
        if kind in ("r", "p", "f"):
            tables.append(
                Table(
                    schema=schema,
                    name=name,
                    columns=tuple(columns.get(oid, ())),
                    primary_key=pks.get(oid),
                    uniques=tuple(uniques.get(oid, ())),
                    foreign_keys=tuple(fks.get(oid, ())),
                    checks=tuple(checks.get(oid, ())),
                    indexes=tuple(indexes.get(oid, ())),
                    triggers=tuple(triggers.get(oid, ())),
                    comment=comment,
                    foreign=kind == "f",
                )
            )
        elif kind == "S":
            sequences.append(Sequence(schema, name, owners.get(oid)))
        else:
            views.append(View(schema, name, materialized=kind == "m"))
    functions = tuple(
        Function(schema, name, arguments, definition)
        for schema, name, arguments, definition in rows["functions"]
    )
    return Catalog(
        source=source,
        tables=tuple(tables),
        sequences=tuple(sequences),
        functions=functions,
        views=tuple(views),
        schemas=frozenset(r[0] for r in rows["schemas"]),
        domains=tuple(
            Domain(schema, name, base, nullable, default, tuple(map(CheckConstraint, names_, exprs)), comment)
            for schema, name, base, nullable, default, comment, names_, exprs in rows["domains"]
        ),
    )
