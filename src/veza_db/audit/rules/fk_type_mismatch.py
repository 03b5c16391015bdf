"""A foreign-key column's type differs from the column it references.

What it checks: each column of each foreign key against the referenced column's type.

Why: PostgreSQL accepts some mismatches (integer -> bigint) but every join and cascade then
needs a cast, the indexes cannot always be used, and a key migration (BIGINT -> UUID) that
misses one side leaves the schema half converted (S2).

Bad:
    CREATE TABLE refresh_tokens (..., session_id integer REFERENCES user_sessions (id));  -- id is bigint

Good:
    CREATE TABLE refresh_tokens (..., session_id uuid NOT NULL,
        CONSTRAINT fk_refresh_tokens_session_id FOREIGN KEY (session_id)
            REFERENCES user_sessions (id) ON DELETE CASCADE);
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "fk-type-mismatch"
SEVERITY = "error"
SUMMARY = "foreign-key column type differs from the referenced column"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        for fk in table.foreign_keys:
            target = ctx.catalog.table(fk.ref_schema, fk.ref_table)
            if target is None:
                continue
            for name, ref_name in zip(fk.columns, fk.ref_columns, strict=False):
                column, ref = table.column(name), target.column(ref_name)
                if column and ref and column.type != ref.type:
                    yield Hit(
                        table.schema,
                        table.name,
                        f"{name} is {column.type} but references {fk.ref_table}.{ref_name} ({ref.type})",
                        column=name,
                        current=column.type,
                        expected=ref.type,
                        where=fk.where,
                    )
