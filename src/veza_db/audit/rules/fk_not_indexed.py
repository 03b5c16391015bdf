"""A foreign key's columns do not lead any index.

What it checks: for each foreign key, some primary key, unique constraint or (non-partial)
index starts with exactly the foreign key's columns, in any order.

Why: deleting or updating a referenced row looks up its children; without an index each
cascade or check scans the whole child table, under a lock. Joins along the relation need the
same index (S6).

Bad:
    CREATE TABLE track_likes (..., track_id uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE);

Good:
    CREATE INDEX idx_track_likes_track_id ON track_likes (track_id);
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit
from veza_db.catalog.model import Table

ID = "fk-not-indexed"
SEVERITY = "error"
SUMMARY = "foreign-key columns lead no index"


def leading_column_sets(table: Table) -> list[tuple[str, ...]]:
    """Key columns of every index that can serve lookups on all rows (not partial ones)."""
    keys = [u.columns for u in table.uniques] + [i.columns for i in table.indexes if i.predicate is None]
    if table.primary_key:
        keys.append(table.primary_key.columns)
    return keys


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        keys = leading_column_sets(table)
        for fk in table.foreign_keys:
            width, columns = len(fk.columns), ", ".join(fk.columns)
            if not any(set(key[:width]) == set(fk.columns) for key in keys if len(key) >= width):
                yield Hit(
                    table.schema,
                    table.name,
                    f"{fk.name}: no index starts with ({', '.join(fk.columns)})",
                    column=",".join(fk.columns),
                    object_name=fk.name,
                    current="no index",
                    expected=f"an index on {table.name} ({columns})",
                    where=fk.where,
                )
