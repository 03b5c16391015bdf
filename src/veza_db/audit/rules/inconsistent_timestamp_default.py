"""A timestamp default spells "now" other than `CURRENT_TIMESTAMP`.

What it checks: defaults of timestamp columns written as `now()`, `transaction_timestamp()`,
`statement_timestamp()`, `clock_timestamp()`, `LOCALTIMESTAMP` or the string `'now'`.

Why: the seed found both `now()` and `CURRENT_TIMESTAMP`. They mean the same instant, but one
spelling everywhere (S3) keeps diffs, reviews and drift checks quiet; `clock_timestamp()` and
`LOCALTIMESTAMP` do not even mean the same thing.

Bad:
    created_at timestamptz NOT NULL DEFAULT now()

Good:
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit
from veza_db.catalog import expr

ID = "inconsistent-timestamp-default"
SEVERITY = "error"
SUMMARY = "timestamp default not spelled CURRENT_TIMESTAMP"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        for column in table.columns:
            spelling = expr.current_time_spelling(column.default)
            if spelling and spelling != "CURRENT_TIMESTAMP":
                yield Hit(
                    table.schema,
                    table.name,
                    f"{column.name} defaults to {spelling}",
                    column=column.name,
                    current=spelling,
                    expected="CURRENT_TIMESTAMP",
                    where=column.where,
                )
