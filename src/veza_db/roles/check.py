"""Compare a database's privileges with the role model; one line per difference."""

from __future__ import annotations

from typing import TYPE_CHECKING

from veza_db import db, dburl
from veza_db.errors import DatabaseError
from veza_db.roles.inspect import query, read_catalog
from veza_db.roles.model import (
    CHAT_SCHEMA,
    PUBLIC_SCHEMA,
    SECRET_COLUMNS,
    RoleCatalog,
    Roles,
    expected_default_grants,
    expected_grants,
    sorted_privileges,
)

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[object, ...]]


def check(url: dburl.DatabaseUrl, roles: Roles | None = None) -> list[str]:
    """Every way the database's privileges differ from the model, one line each; [] when clean.

    Needs no particular privilege: it reads the catalog only.
    """
    import psycopg

    roles = roles or Roles()
    roles.validate()
    with db.connect(url, autocommit=True) as conn:
        try:
            return findings_in(conn, roles)
        except psycopg.Error as exc:
            raise DatabaseError(f"roles check: {db.first_line(exc)}") from None


def _who(grantee_oid: object, name: object) -> str:
    return "PUBLIC" if str(grantee_oid) == "0" else str(name)


def findings_in(conn: Conn, roles: Roles) -> list[str]:
    """The differences from the model, read on an open connection (inside `apply`'s transaction too)."""
    catalog = read_catalog(conn, roles)
    findings: list[str] = []
    existing = catalog.existing_roles
    for missing_role in roles.all:
        if missing_role not in existing:
            findings.append(f"role {missing_role} does not exist: run `veza-db roles --apply`")
    if catalog.relation(PUBLIC_SCHEMA, "users") is None:
        findings.append("public.users does not exist: apply the V1 migrations (`veza-db up`)")

    superusers: set[str] = set()
    for role, is_super, member_of_owner in conn.execute(
        query("role_flags"), (roles.owner, list(roles.runtime))
    ):
        if is_super:
            superusers.add(str(role))
            findings.append(f"role {role} is a superuser: it bypasses every privilege check")
        elif member_of_owner:
            findings.append(
                f"role {role} is a member of {roles.owner}: it can act as the owner of every V1 object"
            )

    findings += _ownership_findings(roles, catalog)
    findings += _grant_findings(conn, roles, catalog, superusers)
    findings += _default_findings(conn, roles, existing)

    for role, schema in conn.execute(
        query("create_in_schemas"),
        {"roles": list(roles.runtime), "chat": roles.chat, "chat_schema": CHAT_SCHEMA},
    ):
        findings.append(f"schema {schema}: {role} can create objects in it (a runtime role creates nothing)")
    for (role,) in conn.execute(query("create_in_database"), (list(roles.runtime),)):
        findings.append(f"database {catalog.database}: {role} can create schemas in it")
    for (role,) in conn.execute(
        query("chat_usage"), ([roles.owner, roles.app, roles.readonly], CHAT_SCHEMA, CHAT_SCHEMA)
    ):
        findings.append(f"schema {CHAT_SCHEMA}: {role} can use it (it belongs to the chat server)")
    for table, column, reader in conn.execute(
        query("credential_readers"),
        {
            "secrets": list(SECRET_COLUMNS),
            "never": [roles.readonly, roles.chat],
            "trusted": [roles.owner, roles.app],
        },
    ):
        who = "PUBLIC (every role)" if reader is None else str(reader)
        findings.append(
            f"public.{table}.{column}: {who} can read it (only {roles.owner} and {roles.app} may read it)"
        )
    for function, role in conn.execute(query("execute"), ([roles.app, roles.chat],)):
        findings.append(f"{function}: {role} cannot execute it (every id default calls it)")
    return findings


def _ownership_findings(roles: Roles, catalog: RoleCatalog) -> list[str]:
    findings: list[str] = []
    for schema, owner in ((PUBLIC_SCHEMA, roles.owner), (CHAT_SCHEMA, roles.chat)):
        objects: list[tuple[str, str]] = [
            (r.qualname, r.owner) for r in catalog.in_schema(schema) if not r.owned_by_table
        ]
        objects += [(f"{r.qualname}", r.owner) for r in catalog.routines if r.schema == schema]
        objects += [(t.qualname, t.owner) for t in catalog.types if t.schema == schema]
        findings += [
            f"{name} is owned by {actual}, not {owner}: run `veza-db roles --apply`"
            for name, actual in objects
            if actual != owner
        ]
    if catalog.chat_schema_owner is None:
        findings.append(f"schema {CHAT_SCHEMA} does not exist: run `veza-db roles --apply`")
    elif catalog.chat_schema_owner != roles.chat:
        findings.append(f"schema {CHAT_SCHEMA} is owned by {catalog.chat_schema_owner}, not {roles.chat}")
    return findings


def _grant_findings(conn: Conn, roles: Roles, catalog: RoleCatalog, superusers: set[str]) -> list[str]:
    expected = {k: v for k, v in expected_grants(roles, catalog).items() if k[2] in catalog.existing_roles}
    actual: dict[tuple[str, str | None, str], set[str]] = {}
    for table, column, grantee, name, privilege in conn.execute(query("acl")):
        who = _who(grantee, name)
        if who == roles.owner:
            continue  # the owner's rights come from ownership (a wrong owner is reported as such)
        key = (f"{PUBLIC_SCHEMA}.{table}", None if column is None else str(column), who)
        actual.setdefault(key, set()).add(str(privilege))
    findings: list[str] = []
    for key in sorted(set(expected) | set(actual), key=lambda k: (k[0], k[1] or "", k[2])):
        obj, column, who = key
        if who in superusers:
            continue
        target = f"{obj}.{column}" if column else obj
        extra = actual.get(key, set()) - expected.get(key, frozenset())
        missing = expected.get(key, frozenset()) - actual.get(key, set())
        if extra:
            findings.append(
                f"{target}: {who} has {', '.join(sorted_privileges(extra))}, which the model does not grant"
            )
        if missing:
            findings.append(f"{target}: {who} lacks {', '.join(sorted_privileges(missing))}")
    return findings


def _default_findings(conn: Conn, roles: Roles, existing: frozenset[str]) -> list[str]:
    if roles.owner not in existing:
        return []
    expected = {k: v for k, v in expected_default_grants(roles).items() if k[1] in existing}
    actual: dict[tuple[str, str], set[str]] = {}
    for objtype, grantee, name, privilege in conn.execute(query("default_acl"), (roles.owner,)):
        actual.setdefault((str(objtype), _who(grantee, name)), set()).add(str(privilege))
    plural = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}
    findings: list[str] = []
    for key in sorted(set(expected) | set(actual)):
        objtype, who = key
        extra = actual.get(key, set()) - expected.get(key, frozenset())
        missing = expected.get(key, frozenset()) - actual.get(key, set())
        what = f"default privileges on {plural.get(objtype, objtype)} {roles.owner} creates in public"
        if extra:
            findings.append(
                f"{what}: {who} gets {', '.join(sorted_privileges(extra))}, which the model does not grant"
            )
        if missing:
            findings.append(f"{what}: {who} lacks {', '.join(sorted_privileges(missing))}")
    return findings
