"""A table has no primary key.

What it checks: every owned table has a PRIMARY KEY constraint.

Why: without one, rows cannot be addressed reliably, logical replication cannot replicate
updates and deletes, and ORMs and the data port have no identity to map (S1).

Bad:
    CREATE TABLE track_likes (user_id uuid, track_id uuid);

Good:
    CREATE TABLE track_likes (id uuid NOT NULL DEFAULT uuidv7(), user_id uuid NOT NULL,
        track_id uuid NOT NULL, CONSTRAINT pk_track_likes PRIMARY KEY (id),
        CONSTRAINT uq_track_likes_user_id_track_id UNIQUE (user_id, track_id));
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "missing-primary-key"
SEVERITY = "error"
SUMMARY = "table has no primary key"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        if table.primary_key is None:
            yield Hit(
                table.schema,
                table.name,
                "table has no primary key",
                expected="id uuid PRIMARY KEY",
                where=table.where,
            )
