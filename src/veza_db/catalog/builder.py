"""Build the model by replaying DDL statements (parsed to JSON) in order, as PostgreSQL would.

Used for SQL files (dumps, single migrations) and migration directories. Each statement kind is
followed (a handler in `catalog.replay` applies it, with what PostgreSQL does along: inheritance,
dependent objects, the names it chooses for unnamed constraints and indexes), known to change
nothing the model holds (SET, SELECT, GRANT, OWNER TO, COPY, CREATE TYPE...), or recorded as not
followed (`Catalog.unfollowed`): a difference from the database is never silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from veza_db.catalog import expr
from veza_db.catalog.model import Catalog, ForeignKey, Table
from veza_db.catalog.replay import statements
from veza_db.catalog.replay.blocks import DoBlocks
from veza_db.catalog.replay.drops import DropStatements
from veza_db.catalog.replay.objects import ObjectStatements
from veza_db.catalog.replay.renames import RenameStatements
from veza_db.catalog.replay.state import Json, choose_name

__all__ = ["Builder", "choose_name"]


class Builder(ObjectStatements, RenameStatements, DropStatements, DoBlocks):
    """Replays statements into a mutable schema, then freezes it into a `Catalog`."""

    def apply(self, statement: Json, line_of: Callable[[int], int], file: str) -> None:
        """Apply one parsed statement of `file`; `line_of(byte_offset)` maps locations to lines.

        Raises expr.TooDeep for an expression nested too deeply to print.
        """
        self._line = line_of
        self.file = file
        ((kind, node),) = statement["stmt"].items()
        self._stmt_location = statement.get("stmt_location", 0)
        handler = _HANDLERS.get(kind)  # `dispatch`, without its call: a dump has 100,000 statements
        if handler is not None:
            handler(self, node)
        elif kind not in statements.INERT:
            self.not_followed(statements.words(kind, node), statements.reason(kind))

    def dispatch(self, kind: str, node: Json) -> None:
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node)
        elif kind not in statements.INERT:
            self.not_followed(statements.words(kind, node), statements.reason(kind))

    def _on_CreateSchemaStmt(self, node: Json) -> None:  # noqa: N802 - named after the node
        name = str(node.get("schemaname") or "")
        self.schemas.add(name)
        previous, self.default_schema = self.default_schema, name
        try:
            for element in node.get("schemaElts", []):
                self.dispatch(*expr.node_type(element))
        finally:
            self.default_schema = previous

    def freeze(self) -> Catalog:
        tables = []
        for t in self.tables.values():
            fks = tuple(fk if fk.ref_columns else self._resolve(fk) for fk in t.foreign_keys)
            tables.append(
                Table(
                    schema=t.schema,
                    name=t.name,
                    columns=tuple(t.columns.values()),
                    primary_key=t.primary_key,
                    uniques=tuple(t.uniques),
                    foreign_keys=fks,
                    checks=tuple(t.checks),
                    indexes=tuple(t.indexes),
                    triggers=tuple(t.triggers),
                    comment=t.comment,
                    where=t.where,
                    foreign=t.foreign,
                )
            )
        return Catalog(
            source=self.source,
            tables=tuple(tables),
            sequences=tuple(self.sequences.values()),
            functions=tuple(self.functions.values()),
            views=tuple(self.views.values()),
            schemas=frozenset(self.schemas),
            domains=tuple(self.domains.values()),
            unfollowed=tuple(self.unfollowed),
        )

    def _resolve(self, fk: ForeignKey) -> ForeignKey:
        """A foreign key whose referenced table had no primary key when it was created (its
        table came later in the text): the primary key it has at the end."""
        target = self.tables.get((fk.ref_schema, fk.ref_table))
        pk = target.primary_key.columns if target and target.primary_key else ()
        return replace(fk, ref_columns=pk)


# Statement kind -> its handler (`_on_CreateStmt`...), from every class the builder is made of.
_HANDLERS: dict[str, Callable[[Builder, Json], None]] = {
    name.removeprefix("_on_"): handler
    for cls in reversed(Builder.__mro__)
    for name, handler in vars(cls).items()
    if name.startswith("_on_")
}
