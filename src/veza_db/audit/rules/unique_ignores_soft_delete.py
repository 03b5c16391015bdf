"""A unique constraint or index on a soft-delete table counts deleted rows.

What it checks: on tables with a `deleted_at` column, every unique constraint and unique index
(the primary key aside) has a predicate including `deleted_at IS NULL`.

Why: with soft deletes, a deleted row still holds its values; a plain unique constraint then
forbids a new account from taking a deleted account's username, or a playlist from reusing a
removed entry's position. Uniqueness users see holds among live rows only (S4).

Bad:
    CONSTRAINT uq_users_username UNIQUE (username)

Good:
    CREATE UNIQUE INDEX uq_users_username ON users (lower(username)) WHERE deleted_at IS NULL;
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit
from veza_db.catalog import expr

ID = "unique-ignores-soft-delete"
SEVERITY = "warning"
SUMMARY = "unique constraint or index counts soft-deleted rows"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        if table.column("deleted_at") is None:
            continue
        for unique in table.uniques:
            yield Hit(
                table.schema,
                table.name,
                f"unique constraint {unique.name} ({', '.join(unique.columns)}) also counts deleted rows",
                column=",".join(unique.columns),
                object_name=unique.name,
                current="UNIQUE constraint",
                expected="unique index WHERE deleted_at IS NULL",
                where=unique.where,
            )
        for index in table.indexes:
            if index.unique and not expr.requires_not_deleted(index.predicate):
                yield Hit(
                    table.schema,
                    table.name,
                    f"unique index {index.name} ({', '.join(index.columns)}) also counts deleted rows",
                    column=",".join(index.columns),
                    object_name=index.name,
                    current=index.predicate or "no predicate",
                    expected="WHERE deleted_at IS NULL",
                    where=index.where,
                )
