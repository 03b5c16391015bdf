"""The schema as DDL statements build it, while they are replayed: mutable tables, and what every
statement handler shares (names, locations, what the model does not follow)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from veza_db.catalog import expr, typenames
from veza_db.catalog.model import (
    CheckConstraint,
    Column,
    Domain,
    ForeignKey,
    Function,
    Index,
    Location,
    PrimaryKey,
    Sequence,
    Trigger,
    Unfollowed,
    UniqueConstraint,
    View,
    fast,
)

Json = dict[str, Any]
Key = tuple[str, str]  # (schema, name) of a relation
_MAX_NAME = 63


def choose_name(name1: str, name2: str, label: str) -> str:
    """PostgreSQL's makeObjectName: `name1_name2_label`, the longer part clipped to fit 63 bytes."""
    overhead = len(label) + 1 + (1 if name2 else 0)
    a, b = name1.encode(), name2.encode()
    while len(a) + len(b) > _MAX_NAME - overhead:
        if len(a) > len(b):
            a = a[:-1]
        else:
            b = b[:-1]
    # errors="ignore": a clipped multibyte character is dropped, never split
    parts = (a.decode(errors="ignore"), b.decode(errors="ignore"), label)
    return "_".join(p for p in parts if p)


def default_of(node: Json) -> str | None:
    """A column default's text; None for `DEFAULT NULL` (PostgreSQL stores no default then, and
    a child's `DEFAULT NULL` overrides the default it inherits)."""
    inner = node
    while "TypeCast" in inner:
        inner = inner["TypeCast"]["arg"]
    if inner.get("A_Const", {}).get("isnull"):
        return None
    return expr.deparse_expression(node)


def changed(column: Column, **changes: Any) -> Column:
    """`dataclasses.replace` for a column, without its per-call field introspection."""
    values: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "nullable": column.nullable,
        "default": column.default,
        "identity": column.identity,
        "comment": column.comment,
        "where": column.where,
    }
    values.update(changes)
    return fast(Column, values)


@dataclass(eq=False)
class Lineage:
    """A table's place in inheritance (INHERITS, ALTER TABLE ... INHERIT), and what it holds
    because of it: PostgreSQL's attinhcount / attislocal for columns, coninhcount / conislocal
    for check constraints. Only tables in an inheritance tree have one."""

    parents: list[TableState] = field(default_factory=list)
    children: list[TableState] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)  # inherited column -> parents giving it
    checks: dict[str, int] = field(default_factory=dict)  # inherited check -> parents giving it
    # Inherited, and not declared by the table itself: they go when no parent gives them.
    inherited_only: set[str] = field(default_factory=set)
    inherited_only_checks: set[str] = field(default_factory=set)


class TableState:
    """A table being built (frozen into a `model.Table` at the end). A plain class with slots: a
    dump builds ten thousand of them, and a dataclass with default factories costs twice as much."""

    __slots__ = (
        "checks", "columns", "comment", "foreign", "foreign_keys", "generated", "included", "indexes",
        "lineage", "name", "no_inherit_checks", "no_inherit_not_null", "primary_key", "schema",
        "triggers", "uniques", "where",
    )  # fmt: skip

    def __init__(self, schema: str, name: str, where: Location | None, *, foreign: bool = False) -> None:
        self.schema, self.name, self.where, self.foreign = schema, name, where, foreign
        self.columns: dict[str, Column] = {}
        self.primary_key: PrimaryKey | None = None
        self.uniques: list[UniqueConstraint] = []
        self.foreign_keys: list[ForeignKey] = []
        self.checks: list[CheckConstraint] = []
        self.indexes: list[Index] = []
        self.triggers: list[Trigger] = []
        self.comment: str | None = None
        self.lineage: Lineage | None = None
        # What children do not inherit: CHECK ... NO INHERIT, and (PostgreSQL 18) NOT NULL NO INHERIT.
        self.no_inherit_checks: frozenset[str] = frozenset()
        self.no_inherit_not_null: frozenset[str] = frozenset()
        # INCLUDE columns of indexes that have some: dropping one of them drops the index.
        self.included: dict[str, tuple[str, ...]] | None = None
        # Generated columns (their expression is the column's default in the model).
        self.generated: frozenset[str] | None = None

    @property
    def key(self) -> Key:
        return (self.schema, self.name)

    def constraint_names(self) -> set[str]:
        names = (
            {c.name for c in self.uniques}
            | {c.name for c in self.foreign_keys}
            | {c.name for c in self.checks}
        )
        return names | ({self.primary_key.name} if self.primary_key else set())

    def family(self) -> Lineage:
        """The table's lineage, created when it first joins an inheritance tree."""
        if self.lineage is None:
            self.lineage = Lineage()
        return self.lineage

    def children(self) -> list[TableState]:
        return self.lineage.children if self.lineage is not None else []

    def descendants(self) -> Iterator[TableState]:
        """Children, their children..., each once (a table may inherit from two of them)."""
        seen: set[int] = set()
        stack = list(reversed(self.children()))
        while stack:
            table = stack.pop()
            if id(table) in seen:
                continue
            seen.add(id(table))
            yield table
            stack.extend(reversed(table.children()))


class State:
    """The objects replayed so far, and where in which file the current statement is."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.file = source
        self.tables: dict[Key, TableState] = {}
        # Partitions are described by their parent: their statements change nothing in the model.
        self.partitions: set[Key] = set()
        self.other_indexes: set[Key] = set()  # indexes of partitions and materialized views
        # Relations a statement not followed created (CREATE TABLE ... AS, DETACH PARTITION), with
        # that statement's report: what the text does to them later is not reported again, and
        # when it drops them the model is right again (a staging table), so the report goes.
        self.unmodelled: dict[Key, Unfollowed] = {}
        self.sequences: dict[Key, Sequence] = {}
        self.functions: dict[tuple[str, str, str], Function] = {}
        self.views: dict[Key, View] = {}
        self.view_sources: dict[Key, frozenset[Key]] = {}  # view -> relations its query reads
        # Types the text creates (enums, domains, composite, range and base types): a column of one
        # named without its schema is of the type in the schema unqualified names go to.
        self.types: set[Key] = set()
        self.domains: dict[Key, Domain] = {}  # the domains among them, with their rules
        # Bare names of those types and of tables (row types): a cheap first test for a column's
        # type, which is most often a built-in one. Never shrinks: only a first test.
        self.type_names: set[str] = set()
        self.schemas: set[str] = {"public"}
        self.default_schema = "public"
        self.unfollowed: list[Unfollowed] = []
        self._line: Callable[[int], int] = lambda offset: 1
        self._stmt_location = 0
        # Index names of every table, kept while indexes are only added (unnamed objects are
        # named against it); any other change to an index or a table drops it.
        self._index_names: set[str] | None = None

    # ---- locations ---------------------------------------------------------------------------

    def where(self, location: int | None) -> Location:
        offset = self._stmt_location if location is None or location < 0 else location
        return Location(self.file, self._line(offset))

    def not_followed(self, statement: str, reason: str) -> None:
        """Record that the current statement changes the schema in a way the model misses."""
        self.unfollowed.append(Unfollowed(self.file, self._line(self._stmt_location), statement, reason))

    def not_modelled(self, key: Key, statement: str, reason: str) -> None:
        """Report a statement that creates the relation `key` the model cannot hold."""
        self.not_followed(statement, reason)
        self.unmodelled[key] = self.unfollowed[-1]

    def dropped_unmodelled(self, key: Key) -> bool:
        """A relation the model could not hold is dropped: its report goes. False if unknown."""
        report = self.unmodelled.pop(key, None)
        if report is None:
            return False
        if report in self.unfollowed:
            self.unfollowed.remove(report)
        return True

    def missing(self, statement: str, kind: str, key: Key) -> None:
        """The statement changes a relation the text never created: the model cannot follow it."""
        if not self.is_relation(key):
            self.not_followed(statement, f"{kind} {key[0]}.{key[1]} is not created by this SQL")

    # ---- names -------------------------------------------------------------------------------

    def qualify(self, rangevar: Json) -> Key:
        return (str(rangevar.get("schemaname") or self.default_schema), str(rangevar["relname"]))

    def names(self, nodes: list[Json]) -> list[str]:
        return [str(n["String"]["sval"]) for n in nodes if "String" in n]

    def key_of(self, names: list[str]) -> Key:
        """(schema, name) of a possibly qualified name given as its parts."""
        return (names[-2], names[-1]) if len(names) > 1 else (self.default_schema, names[-1])

    def new_type(self, key: Key) -> None:
        """A type the text creates (an enum, a domain, a composite, range or base type)."""
        self.types.add(key)
        self.type_names.add(key[1])

    def format_type(self, type_name: Json) -> str:
        """A parsed type's name as the database prints it: `format_type()`'s spelling, with the
        schema of a type this text created (or a table's row type) when it is named without one."""
        names = type_name["names"]
        if len(names) == 1 and names[0]["String"]["sval"] in self.type_names:
            key = (self.default_schema, str(names[0]["String"]["sval"]))
            if key in self.types or key in self.tables:
                return typenames.format_type({**type_name, "names": [{"String": {"sval": key[0]}}, *names]})
        return typenames.format_type(type_name)

    def table(self, key: Key) -> TableState | None:
        return self.tables.get(key)

    def is_relation(self, key: Key) -> bool:
        """Whether a relation of that name exists: table, partition, view, sequence or index."""
        if key in self.tables or key in self.partitions or key in self.views or key in self.sequences:
            return True
        if key in self.other_indexes or key in self.unmodelled:
            return True
        return self.index_owner(key) is not None

    def index_owner(self, key: Key) -> TableState | None:
        """The table holding the index `key` (a standalone index or one behind a key constraint)."""
        schema, name = key
        for table in self.tables.values():
            if table.schema != schema:
                continue
            if any(i.name == name for i in table.indexes):
                return table
            if (table.primary_key and table.primary_key.name == name) or any(
                u.name == name for u in table.uniques
            ):
                return table
        return None

    def unique_name(self, table: TableState, name: str) -> str:
        """`name`, or `name1`, `name2`... when the table's constraints or an index already use it."""
        if self._index_names is None:
            self._index_names = {i.name for t in self.tables.values() for i in t.indexes}
        taken = table.constraint_names() | self._index_names
        if name not in taken:
            return name
        n = 1
        while f"{name}{n}" in taken:
            n += 1
        return f"{name}{n}"

    def dispatch(self, kind: str, node: Json) -> None:
        """Apply one statement node of type `kind` (the builder's statement table decides)."""
        raise NotImplementedError

    def forget_index_names(self) -> None:
        """Indexes were renamed or dropped: the names are gathered again when next needed."""
        self._index_names = None
