"""The role model: the four roles, the objects of the database they concern, and the grants the
model gives. What `plan` applies and `check` compares against; see the package's docstring."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from psycopg import sql

from veza_db.errors import UsageError
from veza_db.role_names import APP, CHAT, OWNER, READONLY

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
RELATION_KINDS = {
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
class RoleCatalog:
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
class RolesApplied:
    """What `apply` did: the roles it created, the statements it ran, and what `check` still finds."""

    created_roles: list[str]
    statements: list[str]
    findings: list[str] = field(default_factory=list)


# (object, column or None, grantee) -> privileges; grantee is a role name or "PUBLIC".
Grants = dict[tuple[str, str | None, str], frozenset[str]]


def expected_grants(roles: Roles, catalog: RoleCatalog) -> Grants:
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


def sorted_privileges(privileges: Iterable[str]) -> list[str]:
    return sorted(privileges, key=lambda p: (_ORDER.index(p) if p in _ORDER else len(_ORDER), p))
