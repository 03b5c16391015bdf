"""`ON DELETE SET NULL` on a `NOT NULL` column.

What it checks: foreign keys whose delete rule is `SET NULL` where a referencing column is
declared `NOT NULL`.

Why: PostgreSQL accepts the definition but the first delete of a referenced row fails with a
not-null violation, so the delete the rule was meant to allow is refused at run time.

Bad:
    added_by uuid NOT NULL REFERENCES users (id) ON DELETE SET NULL

Good:
    added_by uuid NULL,
    CONSTRAINT fk_playlist_tracks_added_by FOREIGN KEY (added_by)
        REFERENCES users (id) ON DELETE SET NULL
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "set-null-on-not-null"
SEVERITY = "error"
SUMMARY = "ON DELETE SET NULL on a NOT NULL column"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        for fk in table.foreign_keys:
            if fk.on_delete != "SET NULL":
                continue
            not_null = [
                c.name for name in fk.columns if (c := table.column(name)) is not None and not c.nullable
            ]
            if not_null:
                yield Hit(
                    table.schema,
                    table.name,
                    f"{fk.name} sets {', '.join(not_null)} to NULL but it is NOT NULL",
                    column=",".join(fk.columns),
                    object_name=fk.name,
                    current="NOT NULL",
                    expected="nullable column, or ON DELETE CASCADE / RESTRICT",
                    where=fk.where,
                )
