"""A table has no comment.

What it checks: `COMMENT ON TABLE` exists for every owned table.

Why: the generated schema reference is built from comments (S11); a table without one is a
table a new developer must reverse-engineer. V1 comments start with the table's domain.

Bad:
    CREATE TABLE track_shares (...);

Good:
    COMMENT ON TABLE track_shares IS 'Streaming: a track shared by a user on a channel; append-only.';
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "missing-table-comment"
SEVERITY = "warning"
SUMMARY = "table has no comment"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        if not (table.comment or "").strip():
            yield Hit(
                table.schema,
                table.name,
                "table has no comment",
                current="none",
                expected="COMMENT ON TABLE",
                where=table.where,
            )
