"""The schema model: plain frozen dataclasses, no behaviour beyond lookups.

Every source of schema information (a live catalog, a dump, a migrations directory) becomes a
`Catalog`; the audit, verify, docs and port read only this. Types are spelled as PostgreSQL's
`format_type()` spells them (`bigint`, `timestamp with time zone`, `character varying(64)`);
expressions (defaults, checks, predicates) are SQL text. `where` is the file and
line that defined an object (None for a live database); it never takes part in comparisons.
A model read from SQL text also lists the statements it could not follow (`Catalog.unfollowed`):
where the database built from that text may differ from the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")


def fast(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of a model class from the values of *all* its fields, without the generated
    `__init__`'s `object.__setattr__` per field (frozen dataclasses): half the cost, and the
    loaders build a few hundred thousand columns and locations for a large schema."""
    built = object.__new__(cls)
    built.__dict__.update(fields)
    return built


class Location(NamedTuple):
    """Where an object was defined. A named tuple: a dump gives one to each of a hundred
    thousand columns and constraints, and a tuple is built several times faster."""

    file: str
    line: int


# pg_constraint.confdeltype / confupdtype -> the foreign key action it stands for.
ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    default: str | None = None
    identity: str | None = None  # "always" | "by default" for identity columns
    comment: str | None = None
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str  # NO ACTION | RESTRICT | CASCADE | SET NULL | SET DEFAULT
    on_update: str
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    expression: str
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Index:
    """An index created on its own (indexes behind PRIMARY KEY / UNIQUE constraints are not here)."""

    name: str
    columns: tuple[str, ...]  # column names, or expressions in parentheses
    unique: bool
    predicate: str | None = None
    method: str = "btree"
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Trigger:
    name: str
    function: str
    definition: str
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    uniques: tuple[UniqueConstraint, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    comment: str | None = None
    where: Location | None = field(default=None, compare=False)
    foreign: bool = False  # a foreign table (CREATE FOREIGN TABLE): another server's storage

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @cached_property
    def _columns_by_name(self) -> dict[str, Column]:
        return {c.name: c for c in reversed(self.columns)}  # reversed: the first of a name wins

    def column(self, name: str) -> Column | None:
        return self._columns_by_name.get(name)


@dataclass(frozen=True)
class Sequence:
    schema: str
    name: str
    owned_by: tuple[str, str] | None = None  # (table, column)
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    arguments: str  # identity arguments, e.g. "integer, text"
    definition: str = ""
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class View:
    schema: str
    name: str
    materialized: bool = False
    where: Location | None = field(default=None, compare=False)


class Unfollowed(NamedTuple):
    """A statement of a SQL file that changes the schema in a way the model does not follow:
    the database that file builds may differ from the model there.

    `statement` names the kind of statement (`ALTER TABLE ... DETACH PARTITION`), `reason` says
    what the model misses (`the detached partition's own table is not in the model`).
    """

    file: str
    line: int
    statement: str
    reason: str

    def message(self) -> str:
        """One line: `file:line: STATEMENT not followed: reason`."""
        return f"{self.file}:{self.line}: {self.statement} not followed: {self.reason}"


@dataclass(frozen=True)
class Domain:
    """A named value type: a base type with its own NOT NULL, default and CHECK rules. A column of
    this type has the domain's qualified name (`public.visibility`) as its `type`."""

    schema: str
    name: str
    base_type: str  # format_type() of the base type
    nullable: bool = True
    default: str | None = None
    checks: tuple[CheckConstraint, ...] = ()
    comment: str | None = None
    where: Location | None = field(default=None, compare=False)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Catalog:
    """A whole database's (or file's) schema."""

    source: str
    tables: tuple[Table, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    functions: tuple[Function, ...] = ()
    views: tuple[View, ...] = ()
    schemas: frozenset[str] = field(default_factory=frozenset)
    domains: tuple[Domain, ...] = ()
    # Statements of a SQL file the model does not follow, in file order (never for a database).
    unfollowed: tuple[Unfollowed, ...] = field(default=(), compare=False)

    @cached_property
    def _by_name(self) -> dict[tuple[str, str], Table]:
        return {(t.schema, t.name): t for t in self.tables}

    def table(self, schema: str, name: str) -> Table | None:
        return self._by_name.get((schema, name))

    @cached_property
    def _domains_by_name(self) -> dict[str, Domain]:
        return {d.qualified: d for d in self.domains}

    def domain(self, type_: str) -> Domain | None:
        """The domain a column of type `type_` has, if it is one."""
        return self._domains_by_name.get(type_)

    def base_type(self, type_: str) -> str:
        """The type a column of type `type_` stores: the base type of a domain, else `type_`."""
        domain = self._domains_by_name.get(type_)
        return domain.base_type if domain is not None else type_
