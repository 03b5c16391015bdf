"""Load the model from a live database: a handful of set-based catalog queries, not one per table."""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from typing import TYPE_CHECKING, Any

from veza_db import db, dburl
from veza_db.catalog.model import (
    Catalog,
    CheckConstraint,
    Column,
    ForeignKey,
    Function,
    Index,
    PrimaryKey,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from veza_db.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_IDENTITY = {"a": "always", "d": "by default"}


def _query(name: str) -> bytes:
    return (resources.files("veza_db.catalog") / "queries" / f"{name}.sql").read_bytes()


def load(url: dburl.DatabaseUrl) -> Catalog:
    """Read the whole schema of the database at `url` (read-only)."""
    with db.connect(url) as conn:
        return load_connection(conn, str(url))


def load_connection(conn: psycopg.Connection[Any], source: str) -> Catalog:
    """Read the schema through an open connection, in one read-only snapshot."""
    import psycopg
    from psycopg.rows import dict_row

    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # Qualify every name as pg_dump does, so a live database and its dump read the same.
            cur.execute("SET LOCAL search_path = ''")
            rows = {name: cur.execute(_query(name)).fetchall() for name in _QUERIES}
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot read the catalog of {source}: {db.first_line(exc)}") from None
    return _build(rows, source)


_QUERIES = ("schemas", "relations", "columns", "constraints", "indexes", "triggers", "functions")


def _build(rows: dict[str, list[dict[str, Any]]], source: str) -> Catalog:
    columns: dict[int, list[Column]] = defaultdict(list)
    for r in rows["columns"]:
        columns[r["oid"]].append(
            Column(
                name=r["name"],
                type=r["type"],
                nullable=r["nullable"],
                default=r["default_expr"],
                identity=_IDENTITY.get(r["identity"] or ""),
                comment=r["comment"],
            )
        )
    pks: dict[int, PrimaryKey] = {}
    uniques: dict[int, list[UniqueConstraint]] = defaultdict(list)
    fks: dict[int, list[ForeignKey]] = defaultdict(list)
    checks: dict[int, list[CheckConstraint]] = defaultdict(list)
    for r in rows["constraints"]:
        cols = tuple(r["columns"])
        if r["kind"] == "p":
            pks[r["oid"]] = PrimaryKey(r["name"], cols)
        elif r["kind"] == "u":
            uniques[r["oid"]].append(UniqueConstraint(r["name"], cols))
        elif r["kind"] == "f":
            fks[r["oid"]].append(
                ForeignKey(
                    r["name"],
                    cols,
                    r["ref_schema"],
                    r["ref_table"],
                    tuple(r["ref_columns"]),
                    ACTIONS[r["on_delete"]],
                    ACTIONS[r["on_update"]],
                )
            )
        else:
            checks[r["oid"]].append(CheckConstraint(r["name"], r["expression"]))
    indexes: dict[int, list[Index]] = defaultdict(list)
    for r in rows["indexes"]:
        indexes[r["oid"]].append(
            Index(
                r["name"],
                tuple(r["columns"]),
                r["is_unique"],
                r["predicate"],
                r["method"],
            )
        )
    triggers: dict[int, list[Trigger]] = defaultdict(list)
    for r in rows["triggers"]:
        triggers[r["oid"]].append(Trigger(r["name"], r["function"], r["definition"]))

    tables: list[Table] = []
    sequences: list[Sequence] = []
    views: list[View] = []
    for r in rows["relations"]:
        oid, kind = r["oid"], r["kind"]
        if kind in ("r", "p", "f"):
            tables.append(
                Table(
                    schema=r["schema"],
                    name=r["name"],
                    columns=tuple(columns[oid]),
                    primary_key=pks.get(oid),
                    uniques=tuple(uniques[oid]),
                    foreign_keys=tuple(fks[oid]),
                    checks=tuple(checks[oid]),
                    indexes=tuple(indexes[oid]),
                    triggers=tuple(triggers[oid]),
                    comment=r["comment"],
                )
            )
        elif kind == "S":
            owner = (r["owned_by_table"], r["owned_by_column"]) if r["owned_by_table"] else None
            sequences.append(Sequence(r["schema"], r["name"], owner))
        else:
            views.append(View(r["schema"], r["name"], materialized=kind == "m"))
    functions = tuple(
        Function(r["schema"], r["name"], r["arguments"], r["definition"]) for r in rows["functions"]
    )
    return Catalog(
        source=source,
        tables=tuple(tables),
        sequences=tuple(sequences),
        functions=functions,
        views=tuple(views),
        schemas=frozenset(r["name"] for r in rows["schemas"]),
    )
