"""Build the model by replaying DDL statements (parsed to JSON) in order, as PostgreSQL would.

Used for SQL files (dumps, single migrations) and migration directories. Statements that do not
change the schema's shape (SET, SELECT set_config/setval, GRANT, OWNER TO, COPY...) are ignored.
Names PostgreSQL would choose for unnamed constraints and indexes are chosen the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from veza_db.catalog import expr, typenames
from veza_db.catalog.model import (
    Catalog,
    CheckConstraint,
    Column,
    Domain,
    ForeignKey,
    Function,
    Index,
    Location,
    PrimaryKey,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
    fast,
)

Json = dict[str, Any]
ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_MAX_NAME = 63
_SIGNATURE_MODES = {"FUNC_PARAM_DEFAULT", "FUNC_PARAM_IN", "FUNC_PARAM_INOUT", "FUNC_PARAM_VARIADIC"}


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


@dataclass
class _Table:
    schema: str
    name: str
    where: Location | None
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: PrimaryKey | None = None
    uniques: list[UniqueConstraint] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: list[CheckConstraint] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    comment: str | None = None

    def constraint_names(self) -> set[str]:
        names = (
            {c.name for c in self.uniques}
            | {c.name for c in self.foreign_keys}
            | {c.name for c in self.checks}
        )
        return names | ({self.primary_key.name} if self.primary_key else set())


def _changed(column: Column, **changes: Any) -> Column:
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


class UnsupportedStatement(Exception):
    """A statement refers to an object the file never created (reported, not fatal)."""


class Builder:
    """Replays statements into a mutable schema, then freezes it into a `Catalog`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.file = source
        self.tables: dict[tuple[str, str], _Table] = {}
        self.sequences: dict[tuple[str, str], Sequence] = {}
        self.functions: dict[tuple[str, str, str], Function] = {}
        self.views: dict[tuple[str, str], View] = {}
        self.domains: dict[tuple[str, str], Domain] = {}
        self.schemas: set[str] = {"public"}
        self.default_schema = "public"
        self._line: Callable[[int], int] = lambda offset: 1
        self._stmt_location = 0
        # Index names of every table, kept while indexes are only added (unnamed objects are
        # named against it); any other change to an index or a table drops it.
        self._index_names: set[str] | None = None

    # ---- entry points ------------------------------------------------------------------------

    def apply(self, statement: Json, line_of: Callable[[int], int], file: str) -> None:
        """Apply one parsed statement; `line_of(byte_offset)` maps locations to lines."""
        self._line = line_of
        self.file = file
        ((kind, node),) = statement["stmt"].items()
        handler = _HANDLERS.get(kind)
        if handler is not None:
            self._stmt_location = statement.get("stmt_location", 0)
            handler(self, node)

    def freeze(self) -> Catalog:
        # A column of a domain type is named as the live catalog names it: schema-qualified.
        qualified = {
            name: f"{schema}.{name}" for schema, name in self.domains if schema == self.default_schema
        }
        tables = []
        for t in self.tables.values():
            if qualified:
                for key, column in list(t.columns.items()):
                    if column.type in qualified:
                        t.columns[key] = _changed(column, type=qualified[column.type])
            fks = tuple(self._resolve_fk(fk) for fk in t.foreign_keys)
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
        )

    # ---- helpers -----------------------------------------------------------------------------

    def _where(self, location: int | None) -> Location:
        offset = self._stmt_location if location is None or location < 0 else location
        return Location(self.file, self._line(offset))

    def _qualify(self, rangevar: Json) -> tuple[str, str]:
        return (str(rangevar.get("schemaname") or self.default_schema), str(rangevar["relname"]))

    def _names(self, names: list[Json]) -> list[str]:
        return [str(n["String"]["sval"]) for n in names if "String" in n]

    def _table(self, key: tuple[str, str]) -> _Table | None:
        return self.tables.get(key)

    def _resolve_fk(self, fk: ForeignKey) -> ForeignKey:
        if fk.ref_columns:
            return fk
        target = self.tables.get((fk.ref_schema, fk.ref_table))
        pk = target.primary_key.columns if target and target.primary_key else ()
        return replace(fk, ref_columns=pk)

    # ---- statements --------------------------------------------------------------------------

    def _on_VariableSetStmt(self, node: Json) -> None:  # noqa: N802 - named after the node
        if node.get("name") == "search_path" and node.get("kind") == "VAR_SET_VALUE":
            values = [
                str(a["A_Const"]["sval"].get("sval", ""))
                for a in node.get("args", [])
                if "A_Const" in a and "sval" in a["A_Const"]
            ]
            chosen = [v for v in values if v and v != "$user"]
            if chosen:
                self.default_schema = chosen[0]

    def _on_CreateSchemaStmt(self, node: Json) -> None:  # noqa: N802
        name = str(node.get("schemaname") or "")
        self.schemas.add(name)
        previous, self.default_schema = self.default_schema, name
        for element in node.get("schemaElts", []):
            kind, inner = expr.node_type(element)
            handler = _HANDLERS.get(kind)
            if handler is not None:
                handler(self, inner)
        self.default_schema = previous

    def _on_CreateStmt(self, node: Json) -> None:  # noqa: N802
        if node.get("partbound"):
            return  # a partition: its parent describes it
        key = self._qualify(node["relation"])
        if key in self.tables and node.get("if_not_exists"):
            return
        self.schemas.add(key[0])
        table = _Table(key[0], key[1], self._where(node["relation"].get("location")))
        self.tables[key] = table
        for element in node.get("tableElts", []):
            kind, inner = expr.node_type(element)
            if kind == "ColumnDef":
                self._add_column(table, inner)
            elif kind == "Constraint":
                self._add_constraint(table, inner)

    def _add_column(self, table: _Table, node: Json) -> None:
        name = sys.intern(node["colname"])  # shared: the same names come back table after table
        type_name = node["typeName"]
        where = self._where(node.get("location"))
        nullable, default, identity = True, None, None
        if typenames.is_serial(type_name):
            seq = choose_name(table.name, name, "seq")
            self.sequences[(table.schema, seq)] = Sequence(table.schema, seq, (table.name, name), where)
            nullable, default = False, f"nextval('{table.schema}.{seq}'::regclass)"
        # What a column constraint says about the column itself is gathered first, so the column
        # is built once: a dump has a hundred thousand of them.
        others = []
        for constraint in node.get("constraints", ()):
            inner = constraint["Constraint"]
            kind = inner["contype"]
            if kind == "CONSTR_NOTNULL":
                nullable = False
            elif kind == "CONSTR_NULL":
                nullable = True
            elif kind in ("CONSTR_DEFAULT", "CONSTR_GENERATED"):
                default = expr.deparse_expression(inner["raw_expr"])
            elif kind == "CONSTR_IDENTITY":
                identity = "always" if inner.get("generated_when") == "a" else "by default"
                nullable = False
                self._identity_sequence(table, name, inner, where)
            else:
                if kind == "CONSTR_PRIMARY":
                    nullable = False
                others.append(inner)
        table.columns[name] = fast(
            Column,
            {
                "name": name,
                "type": typenames.format_type(type_name),
                "nullable": nullable,
                "default": default,
                "identity": identity,
                "comment": None,
                "where": where,
            },
        )
        for inner in others:
            self._add_constraint(table, inner, column=name)

    def _set_column(self, table: _Table, name: str, **changes: Any) -> None:
        column = table.columns.get(name)
        if column is not None:
            table.columns[name] = _changed(column, **changes)

    def _add_constraint(self, table: _Table, node: Json, column: str | None = None) -> None:
        kind = node["contype"]
        keys = self._names(node.get("keys", [])) or ([column] if column else [])
        where = self._where(node.get("location"))
        name = node.get("conname")
        if kind == "CONSTR_NOTNULL":
            for key in keys:
                if (current := table.columns.get(key)) is not None and current.nullable:
                    self._set_column(table, key, nullable=False)
        elif kind == "CONSTR_NULL" and column:
            self._set_column(table, column, nullable=True)
        elif kind in ("CONSTR_DEFAULT", "CONSTR_GENERATED") and column:
            self._set_column(table, column, default=expr.deparse_expression(node["raw_expr"]))
        elif kind == "CONSTR_IDENTITY" and column:
            when = "always" if node.get("generated_when") == "a" else "by default"
            self._set_column(table, column, identity=when, nullable=False)
            self._identity_sequence(table, column, node, where)
        elif kind == "CONSTR_PRIMARY":
            keys = keys or self._index_columns(table, node.get("indexname"))
            table.primary_key = PrimaryKey(name or choose_name(table.name, "", "pkey"), tuple(keys), where)
            for key in keys:
                if (current := table.columns.get(key)) is not None and current.nullable:
                    self._set_column(table, key, nullable=False)
        elif kind == "CONSTR_UNIQUE":
            keys = keys or self._index_columns(table, node.get("indexname"))
            default = choose_name(table.name, "_".join(keys), "key")
            table.uniques.append(
                UniqueConstraint(name or self._unique_name(table, default), tuple(keys), where)
            )
        elif kind == "CONSTR_FOREIGN":
            fk_columns = self._names(node.get("fk_attrs", [])) or keys
            ref_schema, ref_table = self._qualify(node["pktable"])
            default = choose_name(table.name, "_".join(fk_columns), "fkey")
            table.foreign_keys.append(
                ForeignKey(
                    name or self._unique_name(table, default),
                    tuple(fk_columns),
                    ref_schema,
                    ref_table,
                    tuple(self._names(node.get("pk_attrs", []))),
                    ACTIONS[node.get("fk_del_action", "a")],
                    ACTIONS[node.get("fk_upd_action", "a")],
                    where,
                )
            )
        elif kind == "CONSTR_CHECK":
            default = choose_name(table.name, column or "", "check")
            table.checks.append(
                CheckConstraint(
                    name or self._unique_name(table, default), expr.deparse(node["raw_expr"]), where
                )
            )

    def _identity_sequence(self, table: _Table, column: str, node: Json, where: Location) -> None:
        """The sequence behind an identity column: named by `SEQUENCE NAME`, or as for serial."""
        key = (table.schema, choose_name(table.name, column, "seq"))
        for option in node.get("options", ()):
            d = option["DefElem"]
            if d.get("defname") == "sequence_name" and "List" in d.get("arg", {}):
                names = self._names(d["arg"]["List"]["items"])
                key = (names[-2] if len(names) > 1 else table.schema, names[-1])
        self.sequences[key] = Sequence(key[0], key[1], (table.name, column), where)

    def _unique_name(self, table: _Table, name: str) -> str:
        if self._index_names is None:
            self._index_names = {i.name for t in self.tables.values() for i in t.indexes}
        taken = table.constraint_names() | self._index_names
        if name not in taken:
            return name
        n = 1
        while f"{name}{n}" in taken:
            n += 1
        return f"{name}{n}"

    def _index_columns(self, table: _Table, index_name: str | None) -> list[str]:
        """`ADD CONSTRAINT ... USING INDEX`: the index becomes the constraint's."""
        for index in table.indexes:
            if index.name == index_name:
                table.indexes.remove(index)
                self._index_names = None
                return list(index.columns)
        return []

    def _on_AlterTableStmt(self, node: Json) -> None:  # noqa: N802, PLR0912
        if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
            return
        table = self._table(self._qualify(node["relation"]))
        if table is None:
            return
        for command in node.get("cmds", []):
            cmd = command["AlterTableCmd"]
            sub, name, definition = cmd.get("subtype"), cmd.get("name"), cmd.get("def")
            if sub == "AT_AddColumn" and definition:
                self._add_column(table, definition["ColumnDef"])
            elif sub == "AT_DropColumn" and name:
                table.columns.pop(name, None)
                self._drop_owned_sequences(table, name)
            elif sub == "AT_ColumnDefault" and name:
                self._set_column(
                    table, name, default=expr.deparse_expression(definition) if definition else None
                )
            elif sub == "AT_DropNotNull" and name:
                self._set_column(table, name, nullable=True)
            elif sub == "AT_SetNotNull" and name:
                self._set_column(table, name, nullable=False)
            elif sub == "AT_AlterColumnType" and name and definition:
                self._set_column(table, name, type=typenames.format_type(definition["ColumnDef"]["typeName"]))
            elif sub == "AT_AddConstraint" and definition:
                self._add_constraint(table, definition["Constraint"])
            elif sub == "AT_AddIdentity" and name and definition:
                self._add_constraint(table, definition["Constraint"], column=name)
            elif sub == "AT_DropIdentity" and name:
                self._set_column(table, name, identity=None)
                self._drop_owned_sequences(table, name)
            elif sub == "AT_AttachPartition" and definition:
                # A partition: its parent describes it (as when created with PARTITION OF).
                self.tables.pop(self._qualify(definition["PartitionCmd"]["name"]), None)
                self._index_names = None
            elif sub == "AT_DropConstraint" and name:
                self._drop_constraint(table, name)

    def _drop_owned_sequences(self, table: _Table, column: str) -> None:
        """A column's serial or identity sequence goes with it, as in PostgreSQL."""
        self.sequences = {
            k: seq
            for k, seq in self.sequences.items()
            if not (k[0] == table.schema and seq.owned_by == (table.name, column))
        }

    def _drop_constraint(self, table: _Table, name: str) -> None:
        if table.primary_key and table.primary_key.name == name:
            table.primary_key = None
        table.uniques = [c for c in table.uniques if c.name != name]
        table.foreign_keys = [c for c in table.foreign_keys if c.name != name]
        table.checks = [c for c in table.checks if c.name != name]

    def _on_IndexStmt(self, node: Json) -> None:  # noqa: N802
        table = self._table(self._qualify(node["relation"]))
        if table is None:
            return
        columns = []
        for param in node.get("indexParams", []):
            elem = param["IndexElem"]
            columns.append(str(elem["name"]) if elem.get("name") else f"({expr.deparse(elem['expr'])})")
        label = "pkey" if node.get("primary") else "key" if node.get("isconstraint") else "idx"
        plain = [c if not c.startswith("(") else "expr" for c in columns]
        name = node.get("idxname") or self._unique_name(
            table, choose_name(table.name, "_".join(plain), label)
        )
        if node.get("if_not_exists") and any(i.name == name for i in table.indexes):
            return
        predicate = expr.deparse_expression(node["whereClause"]) if node.get("whereClause") else None
        if self._index_names is not None:
            self._index_names.add(name)
        table.indexes.append(
            Index(
                name,
                tuple(columns),
                bool(node.get("unique")),
                predicate,
                str(node.get("accessMethod") or "btree"),
                self._where(node["relation"].get("location")),
            )
        )

    def _on_CreateSeqStmt(self, node: Json) -> None:  # noqa: N802
        key = self._qualify(node["sequence"])
        self.schemas.add(key[0])
        self.sequences[key] = Sequence(
            key[0], key[1], self._owned_by(node), self._where(node["sequence"].get("location"))
        )

    def _on_AlterSeqStmt(self, node: Json) -> None:  # noqa: N802
        key = self._qualify(node["sequence"])
        owner = self._owned_by(node)
        if key in self.sequences and owner:
            self.sequences[key] = replace(self.sequences[key], owned_by=owner)

    def _owned_by(self, node: Json) -> tuple[str, str] | None:
        for option in node.get("options", []):
            d = option["DefElem"]
            if d.get("defname") == "owned_by":
                names = self._names(d["arg"]["List"]["items"]) if "List" in d.get("arg", {}) else []
                if len(names) >= 2:
                    return (names[-2], names[-1])
        return None

    def _on_CommentStmt(self, node: Json) -> None:  # noqa: N802
        kind = node.get("objtype")
        obj = node.get("object", {})
        names = self._names(obj.get("List", {}).get("items", [])) if "List" in obj else []
        comment = node.get("comment")
        if kind == "OBJECT_TABLE" and names:
            key = (names[-2], names[-1]) if len(names) > 1 else (self.default_schema, names[-1])
            if (table := self._table(key)) is not None:
                table.comment = comment
        elif kind == "OBJECT_COLUMN" and len(names) >= 2:
            key = (names[-3], names[-2]) if len(names) > 2 else (self.default_schema, names[-2])
            if (table := self._table(key)) is not None:
                self._set_column(table, names[-1], comment=comment)
        elif kind == "OBJECT_DOMAIN" and "TypeName" in obj:
            parts = typenames.name_parts(obj["TypeName"])
            key = (parts[-2] if len(parts) > 1 else self.default_schema, parts[-1])
            if (domain := self.domains.get(key)) is not None:
                self.domains[key] = replace(domain, comment=comment)

    def _on_CreateTrigStmt(self, node: Json) -> None:  # noqa: N802
        table = self._table(self._qualify(node["relation"]))
        if table is None:
            return
        function = ".".join(self._names(node.get("funcname", [])))
        where = self._where(node["relation"].get("location"))
        definition = expr.deparse({"CreateTrigStmt": node})
        table.triggers = [t for t in table.triggers if t.name != node["trigname"]]
        table.triggers.append(Trigger(str(node["trigname"]), function, definition, where))

    def _on_CreateFunctionStmt(self, node: Json) -> None:  # noqa: N802
        names = self._names(node.get("funcname", []))
        schema, name = (names[-2] if len(names) > 1 else self.default_schema), names[-1]
        # The call signature, as PostgreSQL keeps it (proargtypes): the input arguments' types,
        # without type modifiers (an argument does not keep one).
        args = []
        for param in node.get("parameters", []):
            p = param["FunctionParameter"]
            if p.get("mode", "FUNC_PARAM_DEFAULT") in _SIGNATURE_MODES:
                args.append(typenames.format_type({**p["argType"], "typmods": []}))
        arguments = ", ".join(args)
        self.schemas.add(schema)
        definition = expr.deparse({"CreateFunctionStmt": node})
        self.functions[(schema, name, arguments)] = Function(
            schema, name, arguments, definition, self._where(None)
        )

    def _on_ViewStmt(self, node: Json) -> None:  # noqa: N802
        key = self._qualify(node["view"])
        self.views[key] = View(key[0], key[1], False, self._where(node["view"].get("location")))

    def _on_CreateTableAsStmt(self, node: Json) -> None:  # noqa: N802
        if node.get("objtype") == "OBJECT_MATVIEW":
            rel = (
                node["into"]["IntoClause"]["rel"]
                if "IntoClause" in node.get("into", {})
                else node["into"]["rel"]
            )
            key = self._qualify(rel)
            self.views[key] = View(key[0], key[1], True, self._where(rel.get("location")))

    def _on_RenameStmt(self, node: Json) -> None:  # noqa: N802
        self._index_names = None
        kind, new = node.get("renameType"), str(node.get("newname", ""))
        relation = node.get("relation")
        if kind == "OBJECT_TABLE" and relation:
            key = self._qualify(relation)
            if (table := self.tables.pop(key, None)) is not None:
                table.name = new
                self.tables[(key[0], new)] = table
        elif kind == "OBJECT_COLUMN" and relation:
            table = self._table(self._qualify(relation))
            old = node.get("subname")
            if table is not None and old in table.columns:
                table.columns = {
                    new if k == old else k: (replace(c, name=new) if k == old else c)
                    for k, c in table.columns.items()
                }
        elif kind == "OBJECT_INDEX" and relation:
            old_schema, old_name = self._qualify(relation)
            for table in self.tables.values():
                table.indexes = [
                    replace(i, name=new) if table.schema == old_schema and i.name == old_name else i
                    for i in table.indexes
                ]

    def _on_CreateDomainStmt(self, node: Json) -> None:  # noqa: N802
        names = self._names(node["domainname"])
        schema = names[-2] if len(names) > 1 else self.default_schema
        where = self._where(None)
        checks, nullable, default = [], True, None
        for item in node.get("constraints", []):
            constraint = item["Constraint"]
            kind = constraint["contype"]
            if kind == "CONSTR_CHECK":
                name = constraint.get("conname") or f"{names[-1]}_check"
                checks.append(CheckConstraint(name, expr.deparse(constraint["raw_expr"]), where))
            elif kind == "CONSTR_NOTNULL":
                nullable = False
            elif kind == "CONSTR_DEFAULT":
                default = expr.deparse_expression(constraint["raw_expr"])
        self.domains[(schema, names[-1])] = Domain(
            schema, names[-1], typenames.format_type(node["typeName"]), nullable, default,
            tuple(sorted(checks, key=lambda c: c.name)), None, where,
        )  # fmt: skip

    def _on_DropStmt(self, node: Json) -> None:  # noqa: N802
        self._index_names = None
        kind = str(node.get("removeType"))
        for obj in node.get("objects", []):
            if kind == "OBJECT_FUNCTION":
                names = self._names(obj.get("ObjectWithArgs", {}).get("objname", []))
                schema = names[-2] if len(names) > 1 else self.default_schema
                self.functions = {
                    k: f for k, f in self.functions.items() if (k[0], k[1]) != (schema, names[-1])
                }
            elif kind == "OBJECT_SCHEMA":
                for name in (
                    [str(obj["String"]["sval"])]
                    if "String" in obj
                    else self._names(obj.get("List", {}).get("items", []))
                ):
                    self._drop_schema(name)
            elif kind == "OBJECT_DOMAIN" and "TypeName" in obj:
                parts = typenames.name_parts(obj["TypeName"])
                self.domains.pop((parts[-2] if len(parts) > 1 else self.default_schema, parts[-1]), None)
            elif names := self._names(obj.get("List", {}).get("items", [])) if "List" in obj else []:
                self._drop_named(kind, names)

    def _drop_named(self, kind: str, names: list[str]) -> None:
        key = (names[-2], names[-1]) if len(names) > 1 else (self.default_schema, names[-1])
        if kind == "OBJECT_TABLE":
            self.tables.pop(key, None)
            self.sequences = {
                k: seq
                for k, seq in self.sequences.items()
                if not (seq.owned_by and (k[0], seq.owned_by[0]) == key)
            }
        elif kind == "OBJECT_INDEX":
            for table in self.tables.values():
                if table.schema == key[0]:
                    table.indexes = [i for i in table.indexes if i.name != key[1]]
        elif kind == "OBJECT_SEQUENCE":
            self.sequences.pop(key, None)
        elif kind in ("OBJECT_VIEW", "OBJECT_MATVIEW"):
            self.views.pop(key, None)
        elif kind == "OBJECT_TRIGGER" and len(names) >= 2:
            table_key = (names[-3], names[-2]) if len(names) > 2 else (self.default_schema, names[-2])
            if (owner := self._table(table_key)) is not None:
                owner.triggers = [t for t in owner.triggers if t.name != names[-1]]

    def _drop_schema(self, name: str) -> None:
        self.schemas.discard(name)
        self.tables = {k: t for k, t in self.tables.items() if k[0] != name}
        self.sequences = {k: s for k, s in self.sequences.items() if k[0] != name}
        self.views = {k: v for k, v in self.views.items() if k[0] != name}
        self.functions = {k: f for k, f in self.functions.items() if k[0] != name}


# Statement kind -> its handler (`_on_CreateStmt`...): looked up once per statement.
_HANDLERS: dict[str, Callable[[Builder, Json], None]] = {
    name.removeprefix("_on_"): handler for name, handler in vars(Builder).items() if name.startswith("_on_")
}
