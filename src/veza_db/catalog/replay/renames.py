"""ALTER ... RENAME and ALTER ... SET SCHEMA: the object moves, and what names it follows.

As in PostgreSQL, ALTER TABLE, ALTER INDEX, ALTER SEQUENCE and ALTER VIEW rename whichever relation
has the name; renaming the index of a primary key or unique constraint renames the constraint;
an index moves with its table (it has no schema of its own); a table moves with the sequences its
columns own. Defaults drawing from a renamed or moved sequence, and columns of a renamed or moved
type, name it anew.
"""

from __future__ import annotations

from dataclasses import replace

from veza_db.catalog import typenames
from veza_db.catalog.model import CheckConstraint, Function, Index, PrimaryKey, UniqueConstraint
from veza_db.catalog.replay.dependents import Dependents
from veza_db.catalog.replay.state import Json, Key, TableState, changed

_RELATIONS = {
    "OBJECT_TABLE": "TABLE",
    "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE",
    "OBJECT_VIEW": "VIEW",
    "OBJECT_MATVIEW": "MATERIALIZED VIEW",
    "OBJECT_SEQUENCE": "SEQUENCE",
    "OBJECT_INDEX": "INDEX",
}
_FUNCTIONS = {"OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE"}
_TYPES = {"OBJECT_TYPE", "OBJECT_DOMAIN"}


class RenameStatements(Dependents):
    """ALTER ... RENAME TO, RENAME COLUMN, RENAME CONSTRAINT, SET SCHEMA."""

    def _on_RenameStmt(self, node: Json) -> None:  # noqa: N802 - named after the node
        kind, new = str(node.get("renameType")), str(node.get("newname", ""))
        relation, missing_ok = node.get("relation"), bool(node.get("missing_ok"))
        if kind in _RELATIONS and relation:
            key = self.qualify(relation)
            self.move_relation(key, (key[0], new), f"ALTER {_RELATIONS[kind]} ... RENAME", missing_ok)
        elif kind in ("OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER") and relation:
            key = self.qualify(relation)
            table = self.tables.get(key)
            if table is None:
                if not missing_ok:
                    self.missing(f"ALTER TABLE ... RENAME {kind.rsplit('_', 1)[-1]}", "table", key)
                return
            old = str(node.get("subname"))
            if kind == "OBJECT_COLUMN":
                if old in table.columns:
                    self.renamed_column(table, old, new)
            elif kind == "OBJECT_TRIGGER":
                table.triggers = [
                    t.__class__(new, t.function, t.definition, t.where) if t.name == old else t
                    for t in table.triggers
                ]
            elif not self.rename_constraint(table, old, new):
                self.not_followed(
                    "ALTER TABLE ... RENAME CONSTRAINT",
                    f"constraint {old} of {key[0]}.{key[1]} is not in the model",
                )
        elif kind == "OBJECT_SCHEMA":
            self.move_schema(str(node.get("subname")), new)
        elif kind in _FUNCTIONS:
            self.move_function(node["object"]["ObjectWithArgs"], None, new)
        elif kind in _TYPES:
            old_key = self.key_of(self.names(node["object"]["List"]["items"]))
            self.moved_type(old_key, (old_key[0], new))
        # Roles, databases, policies, rules, attributes...: nothing the model holds.

    def _on_AlterObjectSchemaStmt(self, node: Json) -> None:  # noqa: N802
        kind, schema = str(node.get("objectType")), str(node.get("newschema"))
        relation, missing_ok = node.get("relation"), bool(node.get("missing_ok"))
        if kind in _RELATIONS and relation:
            key = self.qualify(relation)
            self.move_relation(key, (schema, key[1]), f"ALTER {_RELATIONS[kind]} ... SET SCHEMA", missing_ok)
        elif kind in _FUNCTIONS:
            self.move_function(node["object"]["ObjectWithArgs"], schema, None)
        elif kind in _TYPES:
            names = self.names(node["object"]["List"]["items"])
            old_key = self.key_of(names)
            self.moved_type(old_key, (schema, old_key[1]))

    # ---- relations ---------------------------------------------------------------------------

    def move_relation(self, key: Key, new: Key, statement: str, missing_ok: bool) -> None:
        """The relation `key` (whatever its kind) is now `new`: renamed, or in another schema."""
        if (table := self.tables.get(key)) is not None:
            table.schema, table.name = new
            self.moved_table(table, key)
            self.type_names.add(new[1])
        elif key in self.views:
            self.moved_view(key, new)
        elif key in self.sequences:
            self.moved_sequence(key, new)
        elif key in self.partitions:
            self.partitions.discard(key)
            self.partitions.add(new)
        elif key in self.other_indexes:
            self.other_indexes.discard(key)
            self.other_indexes.add(new)
        elif key in self.unmodelled:
            self.unmodelled[new] = self.unmodelled.pop(key)
        elif (owner := self.index_owner(key)) is not None and key[0] == new[0]:
            self.renamed_index(owner, key[1], new[1])
        elif not missing_ok:
            self.missing(statement, "relation", key)
        self.forget_index_names()

    def renamed_index(self, table: TableState, old: str, new: str) -> None:
        """An index renamed; the index of a primary key or unique constraint names the constraint."""
        if table.included and old in table.included:
            table.included[new] = table.included.pop(old)
        if table.primary_key and table.primary_key.name == old:
            table.primary_key = PrimaryKey(new, table.primary_key.columns, table.primary_key.where)
        table.uniques = [
            UniqueConstraint(new, u.columns, u.where) if u.name == old else u for u in table.uniques
        ]
        table.indexes = [
            Index(new, i.columns, i.unique, i.predicate, i.method, i.where) if i.name == old else i
            for i in table.indexes
        ]

    def rename_constraint(self, table: TableState, old: str, new: str) -> bool:
        """A constraint renamed (a check also in the children that inherit it); False when the
        table has no such constraint in the model."""
        if (table.primary_key and table.primary_key.name == old) or any(u.name == old for u in table.uniques):
            self.renamed_index(table, old, new)  # the constraint and its index share the name
            return True
        if any(fk.name == old for fk in table.foreign_keys):
            table.foreign_keys = [
                replace(fk, name=new) if fk.name == old else fk for fk in table.foreign_keys
            ]
            return True
        if not any(c.name == old for c in table.checks):
            return False
        work = [table]
        while work:  # a check is renamed in the children that inherit it too
            current = work.pop()
            current.checks = [
                CheckConstraint(new, c.expression, c.where) if c.name == old else c for c in current.checks
            ]
            if old in current.no_inherit_checks:
                current.no_inherit_checks = (current.no_inherit_checks - {old}) | {new}
                continue
            for child in current.children():
                lineage = child.family()
                if old in lineage.checks:
                    lineage.checks[new] = lineage.checks.pop(old)
                    if old in lineage.inherited_only_checks:
                        lineage.inherited_only_checks = (lineage.inherited_only_checks - {old}) | {new}
                    work.append(child)
        return True

    # ---- schemas, functions, types -----------------------------------------------------------

    def move_schema(self, old: str, new: str) -> None:
        """ALTER SCHEMA old RENAME TO new: everything in it follows."""
        if old not in self.schemas:
            return
        self.schemas = (self.schemas - {old}) | {new}
        for table in [t for t in self.tables.values() if t.schema == old]:
            key = table.key
            table.schema = new
            self.moved_table(table, key)
        for key in [k for k in self.sequences if k[0] == old]:
            self.moved_sequence(key, (new, key[1]))
        for key in [k for k in self.views if k[0] == old]:
            self.moved_view(key, (new, key[1]))
        self.partitions = {(new, k[1]) if k[0] == old else k for k in self.partitions}
        self.types = {(new, k[1]) if k[0] == old else k for k in self.types}
        self.other_indexes = {(new, k[1]) if k[0] == old else k for k in self.other_indexes}
        self.unmodelled = {((new, k[1]) if k[0] == old else k): u for k, u in self.unmodelled.items()}
        self.functions = {
            ((new, k[1], k[2]) if k[0] == old else k): (
                Function(new, f.name, f.arguments, f.definition, f.where) if k[0] == old else f
            )
            for k, f in self.functions.items()
        }
        prefix = typenames.quote_ident(old) + "."
        for table in self.tables.values():
            for column in list(table.columns.values()):
                if column.type.startswith(prefix):
                    new_type = typenames.quote_ident(new) + "." + column.type[len(prefix) :]
                    table.columns[column.name] = changed(column, type=new_type)

    def move_function(self, target: Json, schema: str | None, name: str | None) -> None:
        """A function (or procedure) renamed or moved; its overloads are told apart by arguments
        when the statement gives them."""
        old_schema, old_name = self.key_of(self.names(target.get("objname", [])))
        arguments = None  # `DROP FUNCTION f`: whichever arguments; `f()`: none
        if not target.get("args_unspecified"):
            arguments = ", ".join(
                self.format_type({**t["TypeName"], "typmods": []}) for t in target.get("objargs", [])
            )
        moved = {}
        for key, function in list(self.functions.items()):
            if key[:2] == (old_schema, old_name) and arguments in (None, key[2]):
                del self.functions[key]
                new_schema, new_name = schema or key[0], name or key[1]
                moved[(new_schema, new_name, key[2])] = Function(
                    new_schema, new_name, key[2], function.definition, function.where
                )
        self.functions.update(moved)

    def moved_type(self, old: Key, new: Key) -> None:
        """Columns of type (or domain) `old` are now of type `new`, as the database prints them."""
        qualified_old = f"{typenames.quote_ident(old[0])}.{typenames.quote_ident(old[1])}"
        plain_old = typenames.quote_ident(old[1])
        qualified_new = f"{typenames.quote_ident(new[0])}.{typenames.quote_ident(new[1])}"
        plain_new = typenames.quote_ident(new[1]) if new[0] == old[0] else qualified_new
        spellings = {qualified_old: qualified_new}
        if old[0] == self.default_schema:
            spellings[plain_old] = plain_new
        if old in self.types:
            self.types.discard(old)
            self.new_type(new)

        def renamed(type_name: str) -> str:
            base, array = (type_name[:-2], "[]") if type_name.endswith("[]") else (type_name, "")
            return spellings[base] + array if base in spellings else type_name

        for table in self.tables.values():
            for column in list(table.columns.values()):
                if (new_type := renamed(column.type)) != column.type:
                    table.columns[column.name] = changed(column, type=new_type)
        for key, function in list(self.functions.items()):
            arguments = (
                ", ".join(renamed(a) for a in function.arguments.split(", ")) if function.arguments else ""
            )
            if arguments != function.arguments:
                del self.functions[key]
                self.functions[(key[0], key[1], arguments)] = replace(function, arguments=arguments)
