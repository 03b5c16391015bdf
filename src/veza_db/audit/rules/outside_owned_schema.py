"""An object lives in a schema the policy does not give to this service.

What it checks: tables (foreign tables too), views, sequences and functions outside the policy's
`owned_schemas`.
Schemas the policy gives to another service (`foreign_schemas`, e.g. `chat`) are that
service's business in a database, but this service's migrations must never create anything
there, so for a migrations directory they are reported too.

Why: the backend owns `public`, the chat server owns `chat` (the seed's governance). An object
elsewhere is either another team's, and must not be changed by these migrations, or was put
there by mistake (S7).

Bad:
    CREATE TABLE chat.messages (...);   -- in the backend's migrations

Good:
    -- chat tables are created by the chat server's own migrations
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit
from veza_db.catalog.model import Sequence, Table, View

ID = "outside-owned-schema"
SEVERITY = "error"
SUMMARY = "object outside the schemas this service owns"


def _reported(ctx: Context, schema: str) -> bool:
    if schema in ctx.policy.owned_schemas:
        return False
    return ctx.from_migrations or schema not in ctx.policy.foreign_schemas


def check(ctx: Context) -> Iterator[Hit]:
    expected = ", ".join(ctx.policy.owned_schemas)
    relations: list[tuple[str, Table | View | Sequence]] = [
        *(("foreign table" if t.foreign else "table", t) for t in ctx.catalog.tables),
        *(("view", v) for v in ctx.catalog.views),
        *(("sequence", s) for s in ctx.catalog.sequences),
    ]
    for kind, obj in relations:
        if _reported(ctx, obj.schema):
            yield Hit(
                obj.schema,
                obj.name,
                f"{kind} {obj.schema}.{obj.name} is outside the owned schemas",
                current=obj.schema,
                expected=expected,
                where=obj.where,
            )
    for function in ctx.catalog.functions:
        if _reported(ctx, function.schema):
            yield Hit(
                function.schema,
                None,
                f"function {function.schema}.{function.name}({function.arguments}) is outside the owned"
                " schemas",
                object_name=f"{function.name}({function.arguments})",
                current=function.schema,
                expected=expected,
                where=function.where,
            )
