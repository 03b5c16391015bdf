"""What a rule reports, and what every rule is given to look at."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from veza_db.audit.policy import Policy
from veza_db.catalog.model import Catalog, Location, Table


@dataclass(frozen=True)
class Hit:
    """One offending object, as a rule sees it; the engine adds rule, severity and domain."""

    schema: str
    table: str | None
    message: str
    column: str | None = None
    current: str | None = None
    expected: str | None = None
    object_name: str | None = None  # when the object is not the table or column (an index...)
    where: Location | None = field(default=None, compare=False)

    @property
    def object(self) -> str:
        parts = [self.schema, self.table, self.object_name or self.column]
        return ".".join(p for p in parts if p)


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

    def tables(self) -> Iterator[Table]:
        """The tables the service owns, tooling tables aside: what V1's standards apply to."""
        for table in self.catalog.tables:
            if table.schema in self.policy.owned_schemas and not self.policy.is_tooling(
                table.schema, table.name
            ):
                yield table
