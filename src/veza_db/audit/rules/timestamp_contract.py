"""`created_at` / `updated_at` are missing, nullable or without a default.

What it checks: every owned table has `created_at`; `created_at`, and `updated_at` where it
exists, are NOT NULL with a default.

Why: V1's timestamp contract (S3) lets every consumer (the API, analytics, the data port)
rely on when a row was created and last changed. A nullable or default-less column makes
inserts that forget it silently store NULL.

Bad:
    CREATE TABLE roles (id uuid PRIMARY KEY, name text, created_at timestamptz);

Good:
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "timestamp-contract"
SEVERITY = "error"
SUMMARY = "created_at/updated_at missing, nullable or without default"
_EXPECTED = "timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        if table.column("created_at") is None:
            yield Hit(
                table.schema,
                table.name,
                "no created_at column",
                column="created_at",
                current="missing",
                expected=_EXPECTED,
                where=table.where,
            )
        for name in ("created_at", "updated_at"):
            column = table.column(name)
            if column is None:
                continue
            problems = [
                p for p, bad in (("nullable", column.nullable), ("no default", column.default is None)) if bad
            ]
            if problems:
                yield Hit(
                    table.schema,
                    table.name,
                    f"{name} has {' and '.join(problems)}".replace("has nullable", "is nullable"),
                    column=name,
                    current=", ".join(problems),
                    expected=_EXPECTED,
                    where=column.where,
                )
