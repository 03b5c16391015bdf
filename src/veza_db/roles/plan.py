"""The SQL that brings a database to the role model, and running it in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from psycopg import sql

from veza_db import db, dburl
from veza_db.errors import DatabaseError, LockTimeout, RefusedError, VezaError
from veza_db.roles.check import findings_in
from veza_db.roles.inspect import read_catalog
from veza_db.roles.model import (
    CHAT_SCHEMA,
    CHAT_USER_COLUMNS,
    PUBLIC_SCHEMA,
    RELATION_KINDS,
    Grants,
    Relation,
    RoleCatalog,
    Roles,
    RolesApplied,
    expected_default_grants,
    expected_grants,
    sorted_privileges,
)

# Between the objects of a GRANT or REVOKE: one per line, so that the printed plan reads well.
_LIST = sql.SQL(",\n    ")


def _idents(names: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _keywords(privileges: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(p) for p in sorted_privileges(privileges))


def _require_v1(catalog: RoleCatalog) -> None:
    users = catalog.relation(PUBLIC_SCHEMA, "users")
    if users is None:
        raise RefusedError(
            f"public.users does not exist in database {catalog.database!r}: apply the V1 "
            "migrations first (`veza-db up`), then the roles"
        )
    missing = [c for c in CHAT_USER_COLUMNS if c not in users.columns]
    if missing:
        raise RefusedError(
            f"public.users has no column {', '.join(missing)}, which the chat role is to read; "
            "update CHAT_USER_COLUMNS in veza_db.roles with the schema"
        )


def plan(roles: Roles, catalog: RoleCatalog) -> list[sql.Composed]:
    """The statements that bring `catalog`'s database to the model, in order.

    Role creations and ownership changes only where needed (an ALTER ... OWNER takes an ACCESS
    EXCLUSIVE lock); grants always, each preceded by the revocation of what the four roles and
    PUBLIC hold, so that the result is the model whatever was there before.
    """
    roles.validate()
    _require_v1(catalog)
    q = sql.SQL
    ident = sql.Identifier
    runtime = roles.runtime
    public, chat_schema = ident(PUBLIC_SCHEMA), ident(CHAT_SCHEMA)
    out: list[sql.Composed] = [
        q("CREATE ROLE {} NOLOGIN").format(ident(name))
        for name in roles.all
        if name not in catalog.existing_roles
    ]
    database = ident(catalog.database)
    out += [
        q("GRANT CONNECT ON DATABASE {} TO {}").format(database, _idents(roles.all)),
        q("REVOKE CREATE ON DATABASE {} FROM PUBLIC, {}").format(database, _idents(runtime)),
        q("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(public),
        q("REVOKE ALL ON SCHEMA {} FROM {}").format(public, _idents(runtime)),
        q("GRANT USAGE ON SCHEMA {} TO {}").format(public, _idents(runtime)),
        q("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(public, ident(roles.owner)),
    ]
    out += _ownership(catalog, PUBLIC_SCHEMA, roles.owner)

    tables = [r for r in catalog.in_schema(PUBLIC_SCHEMA) if r.kind != "S"]
    sequences = [r for r in catalog.in_schema(PUBLIC_SCHEMA) if r.kind == "S"]
    grants = expected_grants(roles, catalog)
    for keyword, group in (("TABLE", tables), ("SEQUENCE", sequences)):
        if not group:
            continue
        objects = _LIST.join(r.ident for r in group)
        out.append(q("REVOKE ALL ON {} {} FROM PUBLIC, {}").format(q(keyword), objects, _idents(runtime)))
        out += _grant_statements(keyword, group, grants, runtime)

    routines = [r for r in catalog.routines if r.schema == PUBLIC_SCHEMA and not r.is_trigger]
    if routines:
        # PUBLIC keeps PostgreSQL's default EXECUTE on functions; the explicit grant says that
        # the app's inserts (and the chat tables' id defaults) need uuidv7() on PostgreSQL 15-17.
        out.append(
            q("GRANT EXECUTE ON ROUTINE {} TO {}").format(
                q(", ").join(r.ident for r in routines), _idents((roles.app, roles.chat))
            )
        )

    for objtype, plural in (("r", "TABLES"), ("S", "SEQUENCES")):
        prefix = q("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}").format(ident(roles.owner), public)
        out.append(q("{} REVOKE ALL ON {} FROM PUBLIC, {}").format(prefix, q(plural), _idents(runtime)))
        for (kind, grantee), privileges in expected_default_grants(roles).items():
            if kind == objtype:
                out.append(
                    q("{} GRANT {} ON {} TO {}").format(
                        prefix, _keywords(privileges), q(plural), ident(grantee)
                    )
                )

    if catalog.chat_schema_owner is None:
        out.append(q("CREATE SCHEMA {} AUTHORIZATION {}").format(chat_schema, ident(roles.chat)))
    elif catalog.chat_schema_owner != roles.chat:
        out.append(q("ALTER SCHEMA {} OWNER TO {}").format(chat_schema, ident(roles.chat)))
    out.append(
        q("REVOKE ALL ON SCHEMA {} FROM PUBLIC, {}").format(
            chat_schema, _idents((roles.owner, roles.app, roles.readonly))
        )
    )
    out += _ownership(catalog, CHAT_SCHEMA, roles.chat)
    return out


def _grant_statements(
    keyword: str, group: Sequence[Relation], grants: Grants, grantees: Sequence[str]
) -> list[sql.Composed]:
    """GRANTs for `group`: table-level ones batched by (grantee, privileges), column-level per table."""
    q = sql.SQL
    out: list[sql.Composed] = []
    for grantee in grantees:
        batches: dict[frozenset[str], list[Relation]] = {}
        for rel in group:
            privileges = grants.get((rel.qualname, None, grantee))
            if privileges:
                batches.setdefault(privileges, []).append(rel)
        for privileges, rels in batches.items():
            out.append(
                q("GRANT {} ON {} {} TO {}").format(
                    _keywords(privileges),
                    q(keyword),
                    _LIST.join(r.ident for r in rels),
                    sql.Identifier(grantee),
                )
            )
        for rel in group:
            columns = {
                c: p for (name, c, g), p in grants.items() if name == rel.qualname and g == grantee and c
            }
            if not columns:
                continue
            clauses = [
                q("{} ({})").format(
                    q(privilege), _idents(c for c in rel.columns if privilege in columns.get(c, ()))
                )
                for privilege in sorted_privileges(frozenset[str]().union(*columns.values()))
            ]
            out.append(
                q("GRANT {} ON {} {} TO {}").format(
                    q(", ").join(clauses), q(keyword), rel.ident, sql.Identifier(grantee)
                )
            )
    return out


def _ownership(catalog: RoleCatalog, schema: str, owner: str) -> list[sql.Composed]:
    q = sql.SQL
    target = sql.Identifier(owner)
    out: list[sql.Composed] = []
    for rel in catalog.in_schema(schema):
        if rel.owner != owner and not rel.owned_by_table:
            out.append(q("ALTER {} {} OWNER TO {}").format(q(RELATION_KINDS[rel.kind]), rel.ident, target))
    for routine in catalog.routines:
        if routine.schema == schema and routine.owner != owner:
            out.append(q("ALTER ROUTINE {} OWNER TO {}").format(routine.ident, target))
    for typ in catalog.types:
        if typ.schema == schema and typ.owner != owner:
            keyword = "DOMAIN" if typ.kind == "d" else "TYPE"
            out.append(
                q("ALTER {} {} OWNER TO {}").format(q(keyword), sql.Identifier(typ.schema, typ.name), target)
            )
    return out


def render(url: dburl.DatabaseUrl, roles: Roles | None = None) -> str:
    """The plan for the database at `url` as a psql script (one transaction); changes nothing."""
    roles = roles or Roles()
    roles.validate()
    with db.connect(url) as conn:
        try:
            catalog = read_catalog(conn, roles)
            statements = plan(roles, catalog)
            lines = [s.as_string(conn) + ";" for s in statements]
        finally:
            conn.rollback()
    return "\n".join(["BEGIN;", "SET LOCAL lock_timeout = '5s';", *lines, "COMMIT;"]) + "\n"


def apply(url: dburl.DatabaseUrl, roles: Roles | None = None, *, lock_timeout: float = 5) -> RolesApplied:
    """Run the plan in one transaction (all or nothing); return what was done and what remains.

    Needs a superuser (or a role with CREATEROLE that is a member of every current owner and of
    the four roles). Waits at most `lock_timeout` seconds for each lock.
    """
    import psycopg

    roles = roles or Roles()
    roles.validate()
    current = ""
    with db.connect(url) as conn:
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('lock_timeout', %s, true)", (f"{round(lock_timeout * 1000)}ms",)
                )
                catalog = read_catalog(conn, roles)
                statements = plan(roles, catalog)
                texts = []
                for statement in statements:
                    current = statement.as_string(conn)
                    conn.execute(statement)
                    texts.append(current)
                current = ""
                findings = findings_in(conn, roles)
        except psycopg.Error as exc:
            raise _translate(exc, current, lock_timeout) from None
    created = [name for name in roles.all if name not in catalog.existing_roles]
    return RolesApplied(created_roles=created, statements=texts, findings=findings)


def _translate(exc: Exception, statement: str, lock_timeout: float) -> VezaError:
    import psycopg

    reason = db.first_line(exc)
    sqlstate = getattr(exc, "sqlstate", None)
    shown = " ".join(statement.split())
    if len(shown) > 160:
        shown = shown[:157] + "..."
    where = f" while running `{shown}`" if shown else ""
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return LockTimeout(
            f"roles: no lock within {lock_timeout:g} s{where}: a long transaction holds it; "
            "nothing was changed, retry when it ends"
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return DatabaseError(
            f"roles: {reason} [{sqlstate}]{where}; nothing was changed: run it as a superuser "
            "(e.g. postgres), or as a role with CREATEROLE that is a member of the objects' owners "
            "and of the four roles"
        )
    if isinstance(exc, psycopg.errors.DuplicateObject | psycopg.errors.UniqueViolation):
        return DatabaseError(
            f"roles: {reason}{where}: created concurrently; nothing was changed, run it again"
        )
    return DatabaseError(f"roles: {reason}{f' [{sqlstate}]' if sqlstate else ''}{where}; nothing was changed")
