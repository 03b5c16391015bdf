"""A foreign key has no `ON DELETE` action (`NO ACTION`, also what an omitted clause gives).

What it checks: every foreign key's delete rule; `NO ACTION` is reported whether written or
implied by leaving the clause out.

Why: the seed found many foreign keys with no rule, so deleting a user fails on the first
child table nobody thought about. V1 states the intent of every relation (S5): `CASCADE` for
ownership, `SET NULL` for references that must survive, `RESTRICT` where a delete must be
refused.

Bad:
    user_id uuid REFERENCES users (id)

Good:
    CONSTRAINT fk_refresh_tokens_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "fk-missing-on-delete"
SEVERITY = "error"
SUMMARY = "foreign key without an explicit ON DELETE"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        for fk in table.foreign_keys:
            if fk.on_delete == "NO ACTION":
                yield Hit(
                    table.schema,
                    table.name,
                    f"{fk.name} ({', '.join(fk.columns)} -> {fk.ref_table}) has no ON DELETE rule",
                    column=",".join(fk.columns),
                    object_name=fk.name,
                    current="NO ACTION",
                    expected="CASCADE, SET NULL or RESTRICT",
                    where=fk.where,
                )
