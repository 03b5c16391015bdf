"""A column is `timestamp without time zone`.

What it checks: every column of type `timestamp` (with or without precision) that lacks a
time zone.

Why: a `timestamp` stores wall-clock time with no zone, so its meaning depends on the server's
and the client's settings; daylight-saving changes make values ambiguous. V1 stores every
instant as `timestamptz` (S3).

Bad:
    played_at timestamp NOT NULL DEFAULT now()

Good:
    played_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "timestamp-without-time-zone"
SEVERITY = "error"
SUMMARY = "timestamp without time zone"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        for column in table.columns:
            if column.type.startswith("timestamp") and column.type.endswith("without time zone"):
                yield Hit(
                    table.schema,
                    table.name,
                    f"{column.name} is {column.type}",
                    column=column.name,
                    current=column.type,
                    expected="timestamp with time zone",
                    where=column.where,
                )
