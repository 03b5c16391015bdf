"""A constraint or index is not named by V1's convention, or a name is not lower snake_case.

What it checks: primary keys `pk_<table>`, foreign keys `fk_<table>_<column>...`, unique
constraints and unique indexes `uq_<table>_...`, checks `ck_<table>_...`, other indexes
`idx_<table>_...`; table and column names in lower snake_case.

Why: one convention (S10) makes every name predictable from the object it belongs to: error
messages name the fix, drift reports line up, and names chosen by PostgreSQL
(`users_pkey`, `track_likes_user_id_fkey`, `users_email_key1`) stop depending on creation order.

Bad:
    user_id uuid REFERENCES users (id)   -- becomes track_likes_user_id_fkey

Good:
    CONSTRAINT fk_track_likes_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from veza_db.audit.findings import Context, Hit
from veza_db.catalog.model import Location, Table

ID = "naming-convention"
SEVERITY = "warning"
SUMMARY = "name does not follow the naming convention"


@lru_cache(maxsize=65536)  # the same column names come back in table after table
def _snake(name: str) -> bool:
    return (
        name.isascii() and name == name.lower() and name.replace("_", "a").isalnum() and not name[0].isdigit()
    )


def _named(table: Table) -> Iterator[tuple[str, str, str | None, Location | None]]:
    """(name, expected prefix, column, where) of every named object of the table."""
    if table.primary_key:
        yield table.primary_key.name, f"pk_{table.name}", None, table.primary_key.where
    for fk in table.foreign_keys:
        yield fk.name, f"fk_{table.name}_", ",".join(fk.columns), fk.where
    for unique in table.uniques:
        yield unique.name, f"uq_{table.name}_", ",".join(unique.columns), unique.where
    for check in table.checks:
        yield check.name, f"ck_{table.name}_", None, check.where
    for index in table.indexes:
        prefix = f"uq_{table.name}_" if index.unique else f"idx_{table.name}_"
        yield index.name, prefix, None, index.where


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        if not _snake(table.name):
            yield Hit(
                table.schema,
                table.name,
                f"table name {table.name!r} is not lower snake_case",
                current=table.name,
                expected="lower snake_case",
                where=table.where,
            )
        for column in table.columns:
            if not _snake(column.name):
                yield Hit(
                    table.schema,
                    table.name,
                    f"column name {column.name!r} is not lower snake_case",
                    column=column.name,
                    current=column.name,
                    expected="lower snake_case",
                    where=column.where,
                )
        for name, prefix, columns, where in _named(table):
            exact = prefix == f"pk_{table.name}"
            if (name != prefix) if exact else not (name.startswith(prefix) and _snake(name)):
                yield Hit(
                    table.schema,
                    table.name,
                    f"{name} should be named {prefix}{'' if exact else '...'}",
                    column=columns,
                    object_name=name,
                    current=name,
                    expected=prefix + ("" if exact else "..."),
                    where=where,
                )
