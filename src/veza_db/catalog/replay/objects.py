"""The objects around tables: indexes, sequences, comments, triggers, functions, views, rules;
and SET search_path, which decides where unqualified names go."""

from __future__ import annotations

from dataclasses import replace

from veza_db.catalog import expr, references, typenames
from veza_db.catalog.model import CheckConstraint, Domain, Function, Index, Sequence, Trigger, View
from veza_db.catalog.replay.alter import AlterStatements
from veza_db.catalog.replay.state import Json, Key, choose_name

_SIGNATURE_MODES = {"FUNC_PARAM_DEFAULT", "FUNC_PARAM_IN", "FUNC_PARAM_INOUT", "FUNC_PARAM_VARIADIC"}
_NOT_IN_MODEL = (
    "its columns are those of a query's result, which only a database knows; the table is not in the model"
)


class ObjectStatements(AlterStatements):
    """CREATE INDEX, SEQUENCE, TRIGGER, FUNCTION, VIEW, RULE; COMMENT ON; SET search_path."""

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

    # ---- types -------------------------------------------------------------------------------

    def _on_CreateEnumStmt(self, node: Json) -> None:  # noqa: N802
        self.new_type(self.key_of(self.names(node["typeName"])))

    def _on_CreateDomainStmt(self, node: Json) -> None:  # noqa: N802
        key = self.key_of(self.names(node["domainname"]))
        self.new_type(key)
        where = self.where(None)
        checks, nullable, default = [], True, None
        for item in node.get("constraints", []):
            constraint = item["Constraint"]
            kind = constraint["contype"]
            if kind == "CONSTR_CHECK":
                name = constraint.get("conname") or f"{key[1]}_check"
                checks.append(CheckConstraint(name, expr.deparse(constraint["raw_expr"]), where))
            elif kind == "CONSTR_NOTNULL":
                nullable = False
            elif kind == "CONSTR_DEFAULT":
                default = expr.deparse_expression(constraint["raw_expr"])
        self.domains[key] = Domain(
            key[0], key[1], typenames.format_type(node["typeName"]), nullable, default,
            tuple(sorted(checks, key=lambda c: c.name)), None, where,
        )  # fmt: skip

    def _on_CompositeTypeStmt(self, node: Json) -> None:  # noqa: N802
        self.new_type(self.qualify(node["typevar"]))

    def _on_CreateRangeStmt(self, node: Json) -> None:  # noqa: N802
        schema, name = self.key_of(self.names(node["typeName"]))
        self.new_type((schema, name))
        # Its multirange type: named by the statement, or after the range type.
        multirange = name.replace("range", "multirange") if "range" in name else f"{name}_multirange"
        for param in node.get("params", []):
            option = param["DefElem"]
            if option.get("defname") == "multirange_type_name":
                schema, multirange = self.key_of(typenames.name_parts(option["arg"]["TypeName"]))
        self.new_type((schema, multirange))

    def _on_DefineStmt(self, node: Json) -> None:  # noqa: N802
        # A base type (or its shell); aggregates, operators...: nothing the model holds.
        if node.get("kind") == "OBJECT_TYPE":
            self.new_type(self.key_of(self.names(node.get("defnames", []))))

    # ---- indexes -----------------------------------------------------------------------------

    def _on_IndexStmt(self, node: Json) -> None:  # noqa: N802
        key = self.qualify(node["relation"])
        table = self.tables.get(key)
        if table is None:
            if node.get("idxname") and (key in self.partitions or key in self.views):
                self.other_indexes.add((key[0], str(node["idxname"])))  # on what the model leaves out
            self.missing("CREATE INDEX", "table", key)
            return
        columns: list[str] = []
        named: list[str | Json] = []  # what PostgreSQL names the index after: names, expressions
        for param in node.get("indexParams", []):
            elem = param["IndexElem"]
            if elem.get("name"):
                columns.append(str(elem["name"]))
                named.append(str(elem["name"]))
            else:
                columns.append(f"({expr.deparse(elem['expr'])})")
                named.append(elem["expr"])
        included = [
            str(p["IndexElem"]["name"])
            for p in node.get("indexIncludingParams", [])
            if p["IndexElem"].get("name")
        ]
        name = node.get("idxname")
        if name and node.get("if_not_exists") and self.is_relation((table.schema, name)):
            return
        if not name:
            label = "pkey" if node.get("primary") else "key" if node.get("isconstraint") else "idx"
            addition = (
                "" if node.get("primary") else "_".join(references.index_column_names([*named, *included]))
            )
            name = self.unique_name(table, choose_name(table.name, addition, label))
        predicate = expr.deparse_expression(node["whereClause"]) if node.get("whereClause") else None
        if self._index_names is not None:
            self._index_names.add(name)
        if included:
            table.included = {**(table.included or {}), name: tuple(included)}
        table.indexes.append(
            Index(
                name,
                tuple(columns),
                bool(node.get("unique")),
                predicate,
                str(node.get("accessMethod") or "btree"),
                self.where(node["relation"].get("location")),
            )
        )

    # ---- sequences ---------------------------------------------------------------------------

    def _on_CreateSeqStmt(self, node: Json) -> None:  # noqa: N802
        key = self.qualify(node["sequence"])
        if node.get("if_not_exists") and key in self.sequences:
            return
        self.schemas.add(key[0])
        owned = self._owned_by(node)
        self.sequences[key] = Sequence(
            key[0], key[1], owned[1] if owned else None, self.where(node["sequence"].get("location"))
        )

    def _on_AlterSeqStmt(self, node: Json) -> None:  # noqa: N802
        key = self.qualify(node["sequence"])
        owned = self._owned_by(node)
        if owned is None:
            return  # RESTART, INCREMENT...: nothing the model holds
        current = self.sequences.get(key)
        if current is None:
            if not node.get("missing_ok"):
                self.missing("ALTER SEQUENCE ... OWNED BY", "sequence", key)
            return
        self.sequences[key] = Sequence(current.schema, current.name, owned[1], current.where)

    def _owned_by(self, node: Json) -> tuple[bool, tuple[str, str] | None] | None:
        """None without OWNED BY; else (True, its (table, column), or None for OWNED BY NONE)."""
        for option in node.get("options", []):
            d = option["DefElem"]
            if d.get("defname") == "owned_by":
                names = self.names(d["arg"]["List"]["items"]) if "List" in d.get("arg", {}) else []
                return True, ((names[-2], names[-1]) if len(names) >= 2 else None)
        return None

    # ---- comments and triggers ---------------------------------------------------------------

    def _on_CommentStmt(self, node: Json) -> None:  # noqa: N802
        kind = node.get("objtype")
        obj = node.get("object", {})
        names = self.names(obj.get("List", {}).get("items", [])) if "List" in obj else []
        comment = node.get("comment")
        if kind in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE") and names:
            key = self.key_of(names)
            if (table := self.tables.get(key)) is not None:
                table.comment = comment
            else:
                self.missing("COMMENT ON TABLE", "table", key)
        elif kind == "OBJECT_COLUMN" and len(names) >= 2:
            key = self.key_of(names[:-1])
            if (table := self.tables.get(key)) is not None:
                self.set_column(table, names[-1], comment=comment)
            else:
                self.missing("COMMENT ON COLUMN", "table", key)
        elif kind == "OBJECT_DOMAIN" and "TypeName" in obj:
            key = self.key_of(typenames.name_parts(obj["TypeName"]))
            if (domain := self.domains.get(key)) is not None:
                self.domains[key] = replace(domain, comment=comment)

    def _on_CreateTrigStmt(self, node: Json) -> None:  # noqa: N802
        key = self.qualify(node["relation"])
        table = self.tables.get(key)
        if table is None:
            self.missing("CREATE TRIGGER", "table", key)
            return
        function = ".".join(self.names(node.get("funcname", [])))
        where = self.where(node["relation"].get("location"))
        definition = expr.deparse({"CreateTrigStmt": node})
        table.triggers = [t for t in table.triggers if t.name != node["trigname"]]
        table.triggers.append(Trigger(str(node["trigname"]), function, definition, where))

    # ---- functions, views, rules -------------------------------------------------------------

    def _on_CreateFunctionStmt(self, node: Json) -> None:  # noqa: N802
        names = self.names(node.get("funcname", []))
        schema, name = self.key_of(names)
        # The call signature, as PostgreSQL keeps it (proargtypes): the input arguments' types,
        # without type modifiers (an argument does not keep one).
        args = []
        for param in node.get("parameters", []):
            p = param["FunctionParameter"]
            if p.get("mode", "FUNC_PARAM_DEFAULT") in _SIGNATURE_MODES:
                args.append(self.format_type({**p["argType"], "typmods": []}))
        arguments = ", ".join(args)
        self.schemas.add(schema)
        definition = expr.deparse({"CreateFunctionStmt": node})
        self.functions[(schema, name, arguments)] = Function(
            schema, name, arguments, definition, self.where(None)
        )

    def _sources(self, query: Json) -> frozenset[Key]:
        """The relations a query reads (its FROM items; names of its WITH queries aside)."""
        found = list(references.nodes(query))
        ctes = {str(fields.get("ctename")) for kind, fields in found if kind == "CommonTableExpr"}
        return frozenset(
            self.qualify(fields)
            for kind, fields in found
            if kind == "RangeVar" and (fields.get("schemaname") or fields.get("relname") not in ctes)
        )

    def _on_ViewStmt(self, node: Json) -> None:  # noqa: N802
        key = self.qualify(node["view"])
        self.views[key] = View(key[0], key[1], False, self.where(node["view"].get("location")))
        self.view_sources[key] = self._sources(node.get("query", {}))

    def _on_CreateTableAsStmt(self, node: Json) -> None:  # noqa: N802
        into = node["into"]["IntoClause"] if "IntoClause" in node.get("into", {}) else node["into"]
        if node.get("objtype") == "OBJECT_MATVIEW":
            key = self.qualify(into["rel"])
            if node.get("if_not_exists") and key in self.views:
                return
            self.views[key] = View(key[0], key[1], True, self.where(into["rel"].get("location")))
            self.view_sources[key] = self._sources(node.get("query", {}))
        else:
            self.not_modelled(self.qualify(into["rel"]), "CREATE TABLE ... AS", _NOT_IN_MODEL)

    def _on_SelectStmt(self, node: Json) -> None:  # noqa: N802
        if node.get("intoClause"):
            self.not_modelled(self.qualify(node["intoClause"]["rel"]), "SELECT ... INTO", _NOT_IN_MODEL)

    def _on_RuleStmt(self, node: Json) -> None:  # noqa: N802
        # A `_RETURN` rule ON SELECT makes a table a view (how pg_dump before PostgreSQL 16 wrote
        # views that depend on each other); other rules change nothing the model holds.
        if node.get("rulename") != "_RETURN" or node.get("event") != "CMD_SELECT":
            return
        key = self.qualify(node["relation"])
        table = self.tables.pop(key, None)
        if table is not None:
            self.views[key] = View(key[0], key[1], False, table.where)
            self.view_sources[key] = self._sources({"actions": node.get("actions", [])})
            self.forget_index_names()
