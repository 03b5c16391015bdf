"""DROP statements, with what PostgreSQL drops along (see `dependents`)."""

from __future__ import annotations

from veza_db.catalog import references, typenames
from veza_db.catalog.replay.dependents import Dependents
from veza_db.catalog.replay.state import Json, Key, TableState, changed

_FUNCTIONS = {"OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE"}


class DropStatements(Dependents):
    """DROP TABLE, INDEX, SEQUENCE, VIEW, TRIGGER, FUNCTION, TYPE, SCHEMA, EXTENSION."""

    def _on_DropStmt(self, node: Json) -> None:  # noqa: N802 - named after the node
        kind = str(node.get("removeType"))
        missing_ok = bool(node.get("missing_ok"))
        for obj in node.get("objects", []):
            if kind in _FUNCTIONS:
                self.drop_function(obj["ObjectWithArgs"])
            elif kind == "OBJECT_SCHEMA":
                names = [str(obj["String"]["sval"])] if "String" in obj else self.names(obj["List"]["items"])
                for name in names:
                    self.drop_schema(name)
            elif kind in ("OBJECT_TYPE", "OBJECT_DOMAIN") and "TypeName" in obj:
                key = self.key_of(typenames.name_parts(obj["TypeName"]))
                self.domains.pop(key, None)
                self.drop_type(key)
            elif kind == "OBJECT_EXTENSION":
                if node.get("behavior") == "DROP_CASCADE":
                    self.not_followed(
                        "DROP EXTENSION ... CASCADE",
                        "what depends on the extension (columns of its types, defaults calling its"
                        " functions) is not followed",
                    )
            elif "List" in obj:
                self.drop_named(kind, self.names(obj["List"]["items"]), missing_ok)
        self.forget_index_names()

    def drop_named(self, kind: str, names: list[str], missing_ok: bool) -> None:
        key = self.key_of(names)
        if kind in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
            self._drop_table_named(key, missing_ok)
        elif kind == "OBJECT_INDEX":
            self._drop_index_named(key, missing_ok)
        elif kind == "OBJECT_SEQUENCE":
            if key in self.sequences:
                self.drop_sequence(key)
            elif not missing_ok:
                self.missing("DROP SEQUENCE", "sequence", key)
        elif kind in ("OBJECT_VIEW", "OBJECT_MATVIEW"):
            if key in self.views:
                self.drop_view(key)
            elif not missing_ok:
                self.missing(f"DROP {'MATERIALIZED ' if kind == 'OBJECT_MATVIEW' else ''}VIEW", "view", key)
        elif (
            kind == "OBJECT_TRIGGER"
            and len(names) >= 2
            and (owner := self.tables.get(self.key_of(names[:-1])))
        ):
            owner.triggers = [t for t in owner.triggers if t.name != names[-1]]
        # Policies, rules, casts, operators...: nothing the model holds.

    def _drop_table_named(self, key: Key, missing_ok: bool) -> None:
        if (table := self.tables.get(key)) is not None:
            self.drop_table(table)
        elif key in self.partitions:
            self.partitions.discard(key)
        elif not self.dropped_unmodelled(key) and not missing_ok:
            self.missing("DROP TABLE", "table", key)

    def _drop_index_named(self, key: Key, missing_ok: bool) -> None:
        owner = self.index_owner(key)
        index = next((i for i in owner.indexes if i.name == key[1]), None) if owner else None
        if owner is not None and index is not None:
            self.drop_index(owner, index)
        elif key in self.other_indexes:
            self.other_indexes.discard(key)
        elif not missing_ok and owner is None:
            self.missing("DROP INDEX", "index", key)

    def drop_function(self, target: Json) -> None:
        """Drop a function (the overload the arguments name, or every one of that name), and,
        when none of that name is left, what calls it: triggers, defaults, checks, indexes."""
        schema, name = self.key_of(self.names(target.get("objname", [])))
        arguments = None  # `DROP FUNCTION f`: whichever arguments; `f()`: none
        if not target.get("args_unspecified"):
            arguments = ", ".join(
                self.format_type({**t["TypeName"], "typmods": []}) for t in target.get("objargs", [])
            )
        self.functions = {
            k: f
            for k, f in self.functions.items()
            if not (k[:2] == (schema, name) and arguments in (None, k[2]))
        }
        if not any(k[:2] == (schema, name) for k in self.functions):
            for table in list(self.tables.values()):
                self._drop_callers(table, schema, name)

    def _drop_callers(self, table: TableState, schema: str, name: str) -> None:
        def calls(text: str | None) -> bool:
            return text is not None and name in text and name in references.calls(text)

        table.triggers = [t for t in table.triggers if self.key_of(t.function.split(".")) != (schema, name)]
        table.checks = [c for c in table.checks if not calls(c.expression)]
        for index in [i for i in table.indexes if calls(i.predicate) or any(calls(k) for k in i.columns)]:
            self.drop_index(table, index)
        for column in list(table.columns.values()):
            if calls(column.default):
                if self._generated(table, column.name):
                    self.drop_column(table, column.name)  # a generated column goes, not just its expression
                else:
                    table.columns[column.name] = changed(column, default=None)

    def drop_type(self, key: Key) -> None:
        """DROP TYPE or DOMAIN ... CASCADE: the columns of that type go."""
        self.types.discard(key)
        spellings = {f"{typenames.quote_ident(key[0])}.{typenames.quote_ident(key[1])}"}
        if key[0] == self.default_schema:
            spellings.add(typenames.quote_ident(key[1]))
        for table in list(self.tables.values()):
            for column in list(table.columns.values()):
                if column.type.removesuffix("[]") in spellings:
                    self.drop_column(table, column.name)

    def drop_schema(self, name: str) -> None:
        """DROP SCHEMA ... CASCADE: what is in it, and what depends on that elsewhere."""
        self.schemas.discard(name)
        for table in [t for t in self.tables.values() if t.schema == name]:
            self.drop_table(table)
        for key in [k for k in self.views if k[0] == name]:
            self.drop_view(key)
        for key in [k for k in self.sequences if k[0] == name]:
            self.drop_sequence(key)
        self.partitions = {k for k in self.partitions if k[0] != name}
        self.other_indexes = {k for k in self.other_indexes if k[0] != name}
        for key in [k for k in self.unmodelled if k[0] == name]:
            self.dropped_unmodelled(key)
        self.functions = {k: f for k, f in self.functions.items() if k[0] != name}
        self.types = {k for k in self.types if k[0] != name}
