"""Least privilege: the V1 governance (the backend owns `public`, the chat server owns `chat`) as
PostgreSQL roles and privileges.

Four roles, all created `NOLOGIN` when missing (the operator grants LOGIN and passwords):

- owner (`veza_owner`): owns every object in `public`, the runner's version tables included;
  USAGE and CREATE on `public`. Migrations run as this role, so that the default privileges
  below reach the tables they add.
- app (`veza_app`, the API at run time): USAGE on `public`; SELECT, INSERT, UPDATE, DELETE on
  every V1 table (not on the runner's version tables); USAGE, SELECT on sequences; EXECUTE on
  the `public` functions other than trigger functions (the 15-17 `uuidv7()` behind every id
  default; the chat role gets it too). No TRUNCATE, REFERENCES, TRIGGER; CREATE nowhere.
- readonly (`veza_readonly`): USAGE on `public`; SELECT on every table, except the secret
  columns (`password_hash`, `token_hash`): on a table holding one it gets every other column.
- chat (`veza_chat`): owns schema `chat`; on `public` only USAGE, SELECT on
  `users (id, username, display_name, avatar_url)` and REFERENCES on `users (id)`.

PUBLIC loses CREATE on `public` and every privilege on its tables and sequences. Tables and
sequences the owner creates later get the app's and readonly's privileges by default privileges.

The objects come from the live database: every table, view, sequence, function and type in
`public` (and in `chat`, for its owner) that no extension owns. The plan is computed from the
catalog, so it stays right when a migration adds a table: ownership changes and role creations
are emitted only where needed, and for the four roles and PUBLIC every grant is first revoked
then granted again, so applying converges to the model and applying twice changes nothing.

Names reach SQL only through `psycopg.sql.Identifier` (and literals through bound parameters);
a function's argument list is the one the server prints (`pg_get_function_identity_arguments`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from psycopg import sql

from veza_db import db, dburl
from veza_db.errors import DatabaseError, LockTimeout, RefusedError, UsageError, VezaError

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[object, ...]]

OWNER = "veza_owner"
APP = "veza_app"
READONLY = "veza_readonly"
CHAT = "veza_chat"

PUBLIC_SCHEMA = "public"
CHAT_SCHEMA = "chat"
# What the chat server reads of a user (the comment on public.users says the same).
CHAT_USER_COLUMNS = ("id", "username", "display_name", "avatar_url")
# Columns holding a credential (V1 keeps secrets only as hashes, under these names). Only the
# owner and the app may read them.
SECRET_COLUMNS = ("password_hash", "token_hash")
# The runner's bookkeeping (golang-migrate's table and the history): the owner's alone; readonly
# may read them, the app has no business there.
MIGRATION_TABLES = ("schema_migrations", "schema_migrations_history")

DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Rendering order of privileges in GRANT statements and messages.
_ORDER = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN", "USAGE")
# pg_class.relkind -> the ALTER command for it; "S" (sequence) is granted ON SEQUENCE.
_RELATION_KINDS = {
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "f": "FOREIGN TABLE",
    "S": "SEQUENCE",
}
_RESERVED = ("public", "none")
_MAX_NAME_BYTES = 63  # NAMEDATALEN - 1: a longer name would be truncated silently


@dataclass(frozen=True)
class Roles:
    """The names of the four roles; any names (quotes, spaces, upper case) as long as distinct."""

    owner: str = OWNER
    app: str = APP
    readonly: str = READONLY
    chat: str = CHAT

    @property
    def all(self) -> tuple[str, str, str, str]:
        return (self.owner, self.app, self.readonly, self.chat)

    @property
    def runtime(self) -> tuple[str, str, str]:
        """The roles services log in as at run time: they may create nothing (chat: in `chat` only)."""
        return (self.app, self.readonly, self.chat)

    def validate(self) -> None:
        """UsageError unless every name is one PostgreSQL accepts as is and the four are distinct."""
        for option, name in zip(("--owner", "--app", "--readonly", "--chat"), self.all, strict=True):
            if not name or len(name.encode()) > _MAX_NAME_BYTES:
                raise UsageError(f"{option} {name!r}: a role name is 1 to {_MAX_NAME_BYTES} bytes long")
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
                raise UsageError(f"{option} {name!r}: a role name may not contain control characters")
            if name in _RESERVED or name.startswith("pg_"):
                raise UsageError(f"{option} {name!r}: PostgreSQL reserves this name; choose another")
        if len(set(self.all)) != len(self.all):
            raise UsageError(
                f"the four roles must be distinct: owner {self.owner!r}, app {self.app!r}, "
                f"readonly {self.readonly!r}, chat {self.chat!r}"
            )


@dataclass(frozen=True)
class Relation:
    """A table, view, materialized view, foreign table or sequence."""

    schema: str
    name: str
    kind: str  # pg_class.relkind
    owner: str
    columns: tuple[str, ...] = ()
    owned_by_table: bool = False  # a serial/identity sequence: it follows its table's owner

    @property
    def qualname(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def secret_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c in SECRET_COLUMNS)


@dataclass(frozen=True)
class Routine:
    """A function or procedure; `args` is the server's own identity argument list."""

    schema: str
    name: str
    args: str
    owner: str
    is_trigger: bool = False  # returns trigger or event_trigger: never called directly

    @property
    def qualname(self) -> str:
        return f"{self.schema}.{self.name}({self.args})"

    @property
    def ident(self) -> sql.Composed:
        # The argument list is printed by the server (pg_get_function_identity_arguments),
        # types already quoted: it is catalog output, not user input.
        return sql.SQL("{}({})").format(sql.Identifier(self.schema, self.name), sql.SQL(self.args))


@dataclass(frozen=True)
class TypeObject:
    """An enum, domain, range or standalone composite type."""

    schema: str
    name: str
    kind: str  # pg_type.typtype
    owner: str

    @property
    def qualname(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Catalog:
    """What the plan and the check need to know of the live database."""

    database: str
    existing_roles: frozenset[str]
    relations: tuple[Relation, ...] = ()
    routines: tuple[Routine, ...] = ()
    types: tuple[TypeObject, ...] = ()
    chat_schema_owner: str | None = None  # None: schema chat does not exist

    def in_schema(self, schema: str) -> tuple[Relation, ...]:
        return tuple(r for r in self.relations if r.schema == schema)

    def relation(self, schema: str, name: str) -> Relation | None:
        return next((r for r in self.relations if r.schema == schema and r.name == name), None)


@dataclass(frozen=True)
class Applied:
    """What `apply` did: the roles it created, the statements it ran, and what `check` still finds."""

    created_roles: list[str]
    statements: list[str]
    findings: list[str] = field(default_factory=list)


# (object, column or None, grantee) -> privileges; grantee is a role name or "PUBLIC".
Grants = dict[tuple[str, str | None, str], frozenset[str]]

# ---- reading the catalog -------------------------------------------------------------------------

_RELATIONS_SQL = """
SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner),
    ARRAY(SELECT a.attname::text FROM pg_attribute a
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
    EXISTS (SELECT 1 FROM pg_depend d
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY n.nspname, c.relname
"""

_ROUTINES_SQL = """
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), pg_get_userbyid(p.proowner),
    p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%s) AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
ORDER BY 1, 2, 3
"""

_TYPES_SQL = """
SELECT n.nspname, t.typname, t.typtype, pg_get_userbyid(t.typowner)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY(%s) AND t.typtype IN ('e', 'd', 'r', 'c')
  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid AND e.deptype = 'e')
ORDER BY 1, 2
"""


def read_catalog(conn: Conn, roles: Roles) -> Catalog:
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
        for s, n, k, o, cols, owned in conn.execute(_RELATIONS_SQL.encode(), (schemas,))
    )
    routines = tuple(
        Routine(str(s), str(n), str(a), str(o), bool(t))
        for s, n, a, o, t in conn.execute(_ROUTINES_SQL.encode(), (schemas,))
    )
    types = tuple(
        TypeObject(str(s), str(n), str(k), str(o))
        for s, n, k, o in conn.execute(_TYPES_SQL.encode(), (schemas,))
    )
    owner_row = conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (CHAT_SCHEMA,)
    ).fetchone()
    return Catalog(
        database=database,
        existing_roles=existing,
        relations=relations,
        routines=routines,
        types=types,
        chat_schema_owner=str(owner_row[0]) if owner_row else None,
    )


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


# ---- the model -----------------------------------------------------------------------------------


def expected_grants(roles: Roles, catalog: Catalog) -> Grants:
    """Every privilege the model grants on the relations of `public`, table- or column-level.

    The owner's privileges come from ownership and PUBLIC gets nothing, so neither appears.
    """
    grants: Grants = {}
    for rel in catalog.in_schema(PUBLIC_SCHEMA):
        name = rel.qualname
        if rel.kind == "S":
            grants[(name, None, roles.app)] = frozenset({"USAGE", "SELECT"})
            grants[(name, None, roles.readonly)] = frozenset({"SELECT"})
            continue
        if rel.name not in MIGRATION_TABLES:
            grants[(name, None, roles.app)] = frozenset(DML)
        secrets = rel.secret_columns
        if secrets:
            for column in rel.columns:
                if column not in secrets:
                    grants[(name, column, roles.readonly)] = frozenset({"SELECT"})
        else:
            grants[(name, None, roles.readonly)] = frozenset({"SELECT"})
        if rel.name == "users":
            for column in CHAT_USER_COLUMNS:
                # The chat tables' foreign keys to public.users (id) need REFERENCES on that
                # column: the chat server creates them as the chat role.
                privileges = {"SELECT", "REFERENCES"} if column == "id" else {"SELECT"}
                grants[(name, column, roles.chat)] = frozenset(privileges)
    return grants


def expected_default_grants(roles: Roles) -> dict[tuple[str, str], frozenset[str]]:
    """(object type, grantee) -> privileges of the owner's default privileges in `public`."""
    return {
        ("r", roles.app): frozenset(DML),
        ("r", roles.readonly): frozenset({"SELECT"}),
        ("S", roles.app): frozenset({"USAGE", "SELECT"}),
        ("S", roles.readonly): frozenset({"SELECT"}),
    }


def _sorted(privileges: Iterable[str]) -> list[str]:
    return sorted(privileges, key=lambda p: (_ORDER.index(p) if p in _ORDER else len(_ORDER), p))


# Between the objects of a GRANT or REVOKE: one per line, so that the printed plan reads well.
_LIST = sql.SQL(",\n    ")


def _idents(names: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _keywords(privileges: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(p) for p in _sorted(privileges))


def _require_v1(catalog: Catalog) -> None:
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


def plan(roles: Roles, catalog: Catalog) -> list[sql.Composed]:
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
                for privilege in _sorted(frozenset[str]().union(*columns.values()))
            ]
            out.append(
                q("GRANT {} ON {} {} TO {}").format(
                    q(", ").join(clauses), q(keyword), rel.ident, sql.Identifier(grantee)
                )
            )
    return out


def _ownership(catalog: Catalog, schema: str, owner: str) -> list[sql.Composed]:
    q = sql.SQL
    target = sql.Identifier(owner)
    out: list[sql.Composed] = []
    for rel in catalog.in_schema(schema):
        if rel.owner != owner and not rel.owned_by_table:
            out.append(q("ALTER {} {} OWNER TO {}").format(q(_RELATION_KINDS[rel.kind]), rel.ident, target))
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


# ---- render, apply -------------------------------------------------------------------------------


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


def apply(url: dburl.DatabaseUrl, roles: Roles | None = None, *, lock_timeout: float = 5) -> Applied:
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
                findings = _check(conn, roles)
        except psycopg.Error as exc:
            raise _translate(exc, current, lock_timeout) from None
    created = [name for name in roles.all if name not in catalog.existing_roles]
    return Applied(created_roles=created, statements=texts, findings=findings)


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


# ---- check ---------------------------------------------------------------------------------------

_ACL_SQL = """
SELECT c.relname, NULL::text, a.grantee, pg_get_userbyid(a.grantee), a.privilege_type
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND a.grantee <> c.relowner AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
UNION ALL
SELECT c.relname, att.attname::text, a.grantee, pg_get_userbyid(a.grantee), a.privilege_type
FROM pg_class c
JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped,
    aclexplode(att.attacl) a
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.grantee <> c.relowner AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
"""

_DEFAULT_ACL_SQL = """
SELECT d.defaclobjtype::text, a.grantee, pg_get_userbyid(a.grantee), a.privilege_type
FROM pg_default_acl d JOIN pg_roles r ON r.oid = d.defaclrole, aclexplode(d.defaclacl) a
WHERE r.rolname = %s AND d.defaclnamespace = 'public'::regnamespace
"""

_ROLE_FLAGS_SQL = """
SELECT r.rolname, r.rolsuper,
    EXISTS (SELECT 1 FROM pg_roles o
            WHERE o.rolname = %s AND o.oid <> r.oid AND pg_has_role(r.oid, o.oid, 'MEMBER'))
FROM pg_roles r WHERE r.rolname = ANY(%s)
"""

_CREATE_SQL = """
SELECT r.rolname, n.nspname
FROM pg_roles r CROSS JOIN pg_namespace n
WHERE r.rolname = ANY(%(roles)s) AND NOT r.rolsuper
  AND n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
  AND has_schema_privilege(r.oid, n.oid, 'CREATE')
  AND NOT (r.rolname = %(chat)s AND n.nspname = %(chat_schema)s)
ORDER BY 1, 2
"""

_CREATE_DB_SQL = """
SELECT r.rolname FROM pg_roles r
WHERE r.rolname = ANY(%s) AND NOT r.rolsuper AND has_database_privilege(r.oid, current_database(), 'CREATE')
ORDER BY 1
"""

_CHAT_USAGE_SQL = """
SELECT r.rolname FROM pg_roles r
WHERE r.rolname = ANY(%s) AND NOT r.rolsuper AND to_regnamespace(%s) IS NOT NULL
  AND has_schema_privilege(r.oid, to_regnamespace(%s), 'USAGE')
ORDER BY 1
"""

# Who can read a secret column: PUBLIC (then everybody) or, role by role, any role that is not a
# superuser, not a predefined pg_* role, and neither the owner nor the app nor a member of them;
# readonly and chat are reported even when they are members of the app.
_CREDENTIAL_READERS_SQL = """
SELECT c.relname, a.attname::text, NULL::text
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attname = ANY(%(secrets)s) AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
  AND has_column_privilege('public', c.oid, a.attnum, 'SELECT')
UNION ALL
SELECT c.relname, a.attname::text, r.rolname::text
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
CROSS JOIN pg_roles r
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attname = ANY(%(secrets)s) AND NOT EXISTS (SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
  AND NOT has_column_privilege('public', c.oid, a.attnum, 'SELECT')
  AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\\_%%'
  AND has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')
  AND (r.rolname = ANY(%(never)s) OR NOT EXISTS (
        SELECT 1 FROM pg_roles t WHERE t.rolname = ANY(%(trusted)s) AND pg_has_role(r.oid, t.oid, 'USAGE')))
ORDER BY 1, 2, 3
"""

_EXECUTE_SQL = """
SELECT p.oid::regprocedure::text, r.rolname
FROM pg_proc p CROSS JOIN pg_roles r
WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f' AND p.proname = 'uuidv7'
  AND r.rolname = ANY(%s) AND NOT has_function_privilege(r.oid, p.oid, 'EXECUTE')
"""


def check(url: dburl.DatabaseUrl, roles: Roles | None = None) -> list[str]:
    """Every way the database's privileges differ from the model, one line each; [] when clean.

    Needs no particular privilege: it reads the catalog only.
    """
    import psycopg

    roles = roles or Roles()
    roles.validate()
    with db.connect(url, autocommit=True) as conn:
        try:
            return _check(conn, roles)
        except psycopg.Error as exc:
            raise DatabaseError(f"roles check: {db.first_line(exc)}") from None


def _who(grantee_oid: object, name: object) -> str:
    return "PUBLIC" if str(grantee_oid) == "0" else str(name)


def _check(conn: Conn, roles: Roles) -> list[str]:
    catalog = read_catalog(conn, roles)
    findings: list[str] = []
    existing = catalog.existing_roles
    for missing_role in roles.all:
        if missing_role not in existing:
            findings.append(f"role {missing_role} does not exist: run `veza-db roles --apply`")
    if catalog.relation(PUBLIC_SCHEMA, "users") is None:
        findings.append("public.users does not exist: apply the V1 migrations (`veza-db up`)")

    superusers: set[str] = set()
    for role, is_super, member_of_owner in conn.execute(_ROLE_FLAGS_SQL, (roles.owner, list(roles.runtime))):
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
        _CREATE_SQL, {"roles": list(roles.runtime), "chat": roles.chat, "chat_schema": CHAT_SCHEMA}
    ):
        findings.append(f"schema {schema}: {role} can create objects in it (a runtime role creates nothing)")
    for (role,) in conn.execute(_CREATE_DB_SQL, (list(roles.runtime),)):
        findings.append(f"database {catalog.database}: {role} can create schemas in it")
    for (role,) in conn.execute(
        _CHAT_USAGE_SQL, ([roles.owner, roles.app, roles.readonly], CHAT_SCHEMA, CHAT_SCHEMA)
    ):
        findings.append(f"schema {CHAT_SCHEMA}: {role} can use it (it belongs to the chat server)")
    for table, column, reader in conn.execute(
        _CREDENTIAL_READERS_SQL.encode(),
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
    for function, role in conn.execute(_EXECUTE_SQL, ([roles.app, roles.chat],)):
        findings.append(f"{function}: {role} cannot execute it (every id default calls it)")
    return findings


def _ownership_findings(roles: Roles, catalog: Catalog) -> list[str]:
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


def _grant_findings(conn: Conn, roles: Roles, catalog: Catalog, superusers: set[str]) -> list[str]:
    expected = {k: v for k, v in expected_grants(roles, catalog).items() if k[2] in catalog.existing_roles}
    actual: dict[tuple[str, str | None, str], set[str]] = {}
    for table, column, grantee, name, privilege in conn.execute(_ACL_SQL.encode()):
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
                f"{target}: {who} has {', '.join(_sorted(extra))}, which the model does not grant"
            )
        if missing:
            findings.append(f"{target}: {who} lacks {', '.join(_sorted(missing))}")
    return findings


def _default_findings(conn: Conn, roles: Roles, existing: frozenset[str]) -> list[str]:
    if roles.owner not in existing:
        return []
    expected = {k: v for k, v in expected_default_grants(roles).items() if k[1] in existing}
    actual: dict[tuple[str, str], set[str]] = {}
    for objtype, grantee, name, privilege in conn.execute(_DEFAULT_ACL_SQL, (roles.owner,)):
        actual.setdefault((str(objtype), _who(grantee, name)), set()).add(str(privilege))
    plural = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}
    findings: list[str] = []
    for key in sorted(set(expected) | set(actual)):
        objtype, who = key
        extra = actual.get(key, set()) - expected.get(key, frozenset())
        missing = expected.get(key, frozenset()) - actual.get(key, set())
        what = f"default privileges on {plural.get(objtype, objtype)} {roles.owner} creates in public"
        if extra:
            findings.append(f"{what}: {who} gets {', '.join(_sorted(extra))}, which the model does not grant")
        if missing:
            findings.append(f"{what}: {who} lacks {', '.join(_sorted(missing))}")
    return findings


# ---- a hint for `veza-db up` ---------------------------------------------------------------------

# The role that owns the migration table and has set default privileges in `public` (so: the
# owner role of this model, whatever its name), when the current user is a superuser other than
# it. Tables a superuser creates are the superuser's: the default privileges do not reach them.
MIGRATING_AS_SUPERUSER_SQL = """
SELECT o.rolname
FROM pg_class c
JOIN pg_roles o ON o.oid = c.relowner
JOIN pg_roles me ON me.rolname = current_user
WHERE c.oid = to_regclass('public.schema_migrations')
  AND me.rolsuper AND o.oid <> me.oid
  AND EXISTS (SELECT 1 FROM pg_default_acl d
              WHERE d.defaclrole = o.oid AND d.defaclnamespace = 'public'::regnamespace)
"""


def migrating_as_superuser(conn: Conn) -> str | None:
    """A one-line warning when migrations are about to run as a superuser instead of the owner role."""
    row = conn.execute(MIGRATING_AS_SUPERUSER_SQL).fetchone()
    if row is None:
        return None
    return (
        f"running as a superuser, but {row[0]} owns this database's tables: what this run creates "
        f"will be the superuser's and the app will get no privileges on it; run migrations as {row[0]}, "
        "or `veza-db roles --apply` afterwards"
    )
