"""What the role model needs to know of the live database, read from its catalog (the queries
are the `.sql` files beside this module)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from veza_db.roles.model import CHAT_SCHEMA, PUBLIC_SCHEMA, Relation, RoleCatalog, Roles, Routine, TypeObject

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[object, ...]]


def query(name: str) -> bytes:
    """The text of `queries/<name>.sql`."""
    return (resources.files("veza_db.roles") / "queries" / f"{name}.sql").read_bytes()


def read_catalog(conn: Conn, roles: Roles) -> RoleCatalog:
    """The objects of `public` and `chat`, which of the four roles exist, who owns `chat`."""
    schemas = [PUBLIC_SCHEMA, CHAT_SCHEMA]
    row = conn.execute("SELECT current_database()").fetchone()
    database = str(row[0]) if row else ""
    existing = frozenset(
        str(r[0])
        for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles.all),))
    )
    relations = tuple(
        Relation(str(s), str(n), str(k), str(o), tuple(str(c) for c in _list(cols)), bool(owned))
        for s, n, k, o, cols, owned in conn.execute(query("relations"), (schemas,))
    )
    routines = tuple(
        Routine(str(s), str(n), str(a), str(o), bool(t))
        for s, n, a, o, t in conn.execute(query("routines"), (schemas,))
    )
    types = tuple(
        TypeObject(str(s), str(n), str(k), str(o)) for s, n, k, o in conn.execute(query("types"), (schemas,))
    )
    owner_row = conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (CHAT_SCHEMA,)
    ).fetchone()
    return RoleCatalog(
        database=database,
        existing_roles=existing,
        relations=relations,
        routines=routines,
        types=types,
        chat_schema_owner=str(owner_row[0]) if owner_row else None,
    )


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []
