"""What a rule reports, and what every rule is given to look at."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

from veza_db.catalog.model import Catalog, Location, Table

if TYPE_CHECKING:
    from veza_db.policy import Policy


class Hit(NamedTuple):
    """One offending object, as a rule sees it; the engine adds rule, severity and domain.

    A named tuple, not a dataclass: a large schema has a hundred thousand of them, and a tuple
    is built three times faster.
    """

    schema: str
    table: str | None
    message: str
    column: str | None = None
    current: str | None = None
    expected: str | None = None
    object_name: str | None = None  # when the object is not the table or column (an index...)
    where: Location | None = None

    @property
    def object(self) -> str:
        schema, table, last = self.schema, self.table, self.object_name or self.column
        if schema and table:  # nearly every hit: formatted directly, ninety thousand on a large schema
            return f"{schema}.{table}.{last}" if last else f"{schema}.{table}"
        return ".".join(p for p in (schema, table, last) if p)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    schema: str
    table: str | None
    column: str | None
    domain: str
    message: str
    object: str
    current: str | None = None
    expected: str | None = None
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    policy: Policy
    from_migrations: bool = False  # the target is a migrations directory of this service

    @cached_property
    def owned_tables(self) -> tuple[Table, ...]:
        """The tables the service owns, tooling tables aside: what V1's standards apply to.
        A foreign table is another server's storage: the table rules do not apply to it."""
        owned, policy = set(self.policy.owned_schemas), self.policy
        return tuple(
            t
            for t in self.catalog.tables
            if t.schema in owned and not t.foreign and not policy.is_tooling(t.schema, t.name)
        )

    def tables(self) -> Iterator[Table]:
        """The tables the service owns, tooling tables aside: what V1's standards apply to."""
        return iter(self.owned_tables)
