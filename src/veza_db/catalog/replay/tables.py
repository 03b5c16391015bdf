"""CREATE TABLE and CREATE FOREIGN TABLE as PostgreSQL builds them: columns, constraints, INHERITS
and LIKE, and the names it chooses for what is not named."""

from __future__ import annotations

import sys

from veza_db.catalog import expr, references, typenames
from veza_db.catalog.model import (
    ACTIONS,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Location,
    PrimaryKey,
    Sequence,
    UniqueConstraint,
    fast,
)
from veza_db.catalog.replay.dependents import Dependents
from veza_db.catalog.replay.state import Json, TableState, changed, choose_name, default_of

# CREATE TABLE ... (LIKE source INCLUDING ...): PostgreSQL's TableLikeOption bits.
_LIKE_COMMENTS, _LIKE_CONSTRAINTS, _LIKE_DEFAULTS = 1, 4, 8
_LIKE_GENERATED, _LIKE_IDENTITY, _LIKE_INDEXES = 16, 32, 64


class Pending:
    """The key constraints and foreign keys of one statement. PostgreSQL creates them once the
    columns and checks exist, the primary key first, and keeps one of identical keys (a column
    declared `PRIMARY KEY UNIQUE` has only its primary key)."""

    __slots__ = ("foreign_keys", "keys", "likes")

    def __init__(self) -> None:
        self.keys: list[tuple[Json, str | None]] = []  # (Constraint, the column it is declared on)
        self.foreign_keys: list[tuple[Json, str | None]] = []
        self.likes: list[TableState] = []  # LIKE ... INCLUDING INDEXES sources


def _same_index(a: tuple[Json, list[str]], b: tuple[Json, list[str]]) -> bool:
    """Whether two key constraints would build the same index (PostgreSQL then keeps one)."""
    (left, left_keys), (right, right_keys) = a, b
    if left.get("indexname") or right.get("indexname"):
        return False  # `USING INDEX`: an index of its own
    return left_keys == right_keys and all(
        left.get(part) == right.get(part)
        for part in ("including", "deferrable", "initdeferred", "nulls_not_distinct")
    )


class TableStatements(Dependents):
    """CREATE TABLE, its columns and constraints, and the inheritance between tables."""

    def _on_CreateStmt(self, node: Json) -> None:  # noqa: N802 - named after the node
        self.create_table(node)

    def _on_CreateForeignTableStmt(self, node: Json) -> None:  # noqa: N802
        self.create_table(node["base"], foreign=True)

    def create_table(self, node: Json, *, foreign: bool = False) -> None:
        key = self.qualify(node["relation"])
        if node.get("partbound"):
            self.partitions.add(key)  # a partition: its parent describes it
            return
        if key in self.tables and node.get("if_not_exists"):
            return
        if node.get("ofTypename"):
            self.not_followed(
                "CREATE TABLE ... OF", "the columns its composite type gives the table are not in the model"
            )
        self.schemas.add(key[0])
        table = TableState(key[0], key[1], self.where(node["relation"].get("location")), foreign=foreign)
        self.tables[key] = table
        self.type_names.add(key[1])  # its row type
        for parent in node.get("inhRelations", ()):
            self.inherit_from(table, parent["RangeVar"], "CREATE TABLE ... INHERITS")
        pending = Pending()
        for element in node.get("tableElts", ()):
            kind, inner = expr.node_type(element)
            if kind == "ColumnDef":
                self.add_column(table, inner, pending)
            elif kind == "Constraint":
                self.add_constraint(table, inner, pending=pending)
            elif kind == "TableLikeClause":
                self.copy_like(table, inner, pending)
        if pending.keys or pending.foreign_keys or pending.likes:  # a dump adds them later
            self.create_keys(table, pending)

    # ---- columns -----------------------------------------------------------------------------

    def add_column(self, table: TableState, node: Json, pending: Pending) -> Column | None:  # noqa: PLR0912 - one branch per column constraint
        """Add a column (merged with an inherited one of the same name, as PostgreSQL does)."""
        name = sys.intern(node["colname"])  # shared: the same names come back table after table
        try:
            type_name = node["typeName"]
        except KeyError:
            return None  # `column WITH OPTIONS` of a typed table: its type's column, not modelled
        where = self.where(node.get("location"))
        nullable, default, identity, generated = True, None, None, False
        declared_default = False  # DEFAULT NULL declares one: no default, not the inherited one
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
                if "is_no_inherit" in inner:
                    table.no_inherit_not_null |= {name}
            elif kind == "CONSTR_NULL":
                nullable = True
            elif kind == "CONSTR_DEFAULT":
                default, declared_default = default_of(inner["raw_expr"]), True
            elif kind == "CONSTR_GENERATED":
                default, generated, declared_default = expr.deparse_expression(inner["raw_expr"]), True, True
            elif kind == "CONSTR_IDENTITY":
                identity = "always" if inner.get("generated_when") == "a" else "by default"
                nullable = False
                self.identity_sequence(table, name, inner, where)
            else:
                if kind == "CONSTR_PRIMARY":
                    nullable = False
                others.append(inner)
        names = type_name["names"]
        if len(names) == 1 and names[0]["String"]["sval"] in self.type_names:
            type_text = self.format_type(type_name)  # perhaps a type of this text, unqualified
        else:
            type_text = typenames.format_type(type_name)  # a dump's hundred thousand columns
        lineage = table.lineage
        if lineage is not None and name in lineage.columns and name in table.columns:
            # Declared here and inherited: one column, NOT NULL if either says so, this default.
            inherited = table.columns[name]
            nullable = nullable and inherited.nullable
            if not declared_default:
                default, generated = inherited.default, self._generated(table, name)
            lineage.inherited_only.discard(name)
        column = fast(
            Column,
            {
                "name": name,
                "type": type_text,
                "nullable": nullable,
                "default": default,
                "identity": identity,
                "comment": None,
                "where": where,
            },
        )
        table.columns[name] = column
        if generated:
            table.generated = (table.generated or frozenset()) | {name}
        for inner in others:
            self.add_constraint(table, inner, column=name, pending=pending)
        return column

    def set_column(self, table: TableState, name: str, **changes: object) -> None:
        column = table.columns.get(name)
        if column is not None:
            table.columns[name] = changed(column, **changes)

    def identity_sequence(self, table: TableState, column: str, node: Json, where: Location) -> None:
        """The sequence behind an identity column: named by `SEQUENCE NAME`, or as for serial."""
        key = (table.schema, choose_name(table.name, column, "seq"))
        for option in node.get("options", ()):
            d = option["DefElem"]
            if d.get("defname") == "sequence_name" and "List" in d.get("arg", {}):
                key = self.key_of(self.names(d["arg"]["List"]["items"]))
        self.sequences[key] = Sequence(key[0], key[1], (table.name, column), where)

    # ---- constraints -------------------------------------------------------------------------

    def add_constraint(  # noqa: PLR0912 - one branch per constraint kind
        self, table: TableState, node: Json, column: str | None = None, pending: Pending | None = None
    ) -> None:
        """Apply a constraint; key constraints and foreign keys wait in `pending` (when given)
        for the end of the statement, as in PostgreSQL."""
        kind = node["contype"]
        if kind in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):  # first: what a dump's ALTER TABLEs add
            if pending is not None:
                pending.keys.append((node, column))
            else:
                self.add_key(table, node, column)
        elif kind == "CONSTR_FOREIGN":
            if pending is not None:
                pending.foreign_keys.append((node, column))
            else:
                self.add_foreign_key(table, node, column)
        elif kind == "CONSTR_NOTNULL":
            for key in self.names(node.get("keys", [])) or ([column] if column else []):
                if (current := table.columns.get(key)) is not None and current.nullable:
                    self.set_column(table, key, nullable=False)
                if node.get("is_no_inherit"):
                    table.no_inherit_not_null |= {key}
        elif kind == "CONSTR_NULL" and column:
            self.set_column(table, column, nullable=True)
        elif kind == "CONSTR_DEFAULT" and column:
            self.set_column(table, column, default=default_of(node["raw_expr"]))
        elif kind == "CONSTR_GENERATED" and column:
            self.set_column(table, column, default=expr.deparse_expression(node["raw_expr"]))
            table.generated = (table.generated or frozenset()) | {column}
        elif kind == "CONSTR_IDENTITY" and column:
            when = "always" if node.get("generated_when") == "a" else "by default"
            self.set_column(table, column, identity=when, nullable=False)
            self.identity_sequence(table, column, node, self.where(node.get("location")))
        elif kind == "CONSTR_CHECK":
            self.add_check(table, node)

    def add_check(self, table: TableState, node: Json) -> CheckConstraint | None:
        """Add a check; None when it merges with an inherited check of the same name."""
        name = node.get("conname")
        lineage = table.lineage
        if name and lineage is not None and name in lineage.checks:
            lineage.inherited_only_checks.discard(name)
            return None
        expression = expr.deparse(node["raw_expr"])
        if not name:
            # PostgreSQL names a check after its column when its expression reads just one.
            read = references.columns(expression)
            only = next(iter(read)) if len(read) == 1 else ""
            name = self.unique_name(table, choose_name(table.name, only, "check"))
        check = CheckConstraint(name, expression, self.where(node.get("location")))
        table.checks.append(check)
        if node.get("is_no_inherit"):
            table.no_inherit_checks |= {name}
        return check

    def create_keys(self, table: TableState, pending: Pending, *, foreign_keys: bool = True) -> None:
        """Create the key constraints of a CREATE TABLE or of one ALTER TABLE subcommand
        (identical ones once, the primary key first), then (unless told not to) its foreign keys."""
        if len(pending.keys) == 1:  # nearly always: nothing to merge
            self.add_key(table, *pending.keys[0])
        elif pending.keys:
            keyed = [(node, self._key_columns(node, column), column) for node, column in pending.keys]
            primary = [k for k in keyed if k[0]["contype"] == "CONSTR_PRIMARY"]
            final = primary[-1:]
            for item in keyed:
                if final and item is final[0]:
                    continue
                for n, prior in enumerate(final):
                    if _same_index((item[0], item[1]), (prior[0], prior[1])):
                        if not prior[0].get("conname") and item[0].get("conname"):
                            final[n] = ({**prior[0], "conname": item[0]["conname"]}, prior[1], prior[2])
                        break
                else:
                    final.append(item)
            for node, _, column in final:
                self.add_key(table, node, column)
        for source in pending.likes:
            self.clone_indexes(table, source)
        if foreign_keys:
            for node, column in pending.foreign_keys:
                self.add_foreign_key(table, node, column)

    def _key_columns(self, node: Json, column: str | None) -> list[str]:
        return self.names(node.get("keys", [])) or ([column] if column else [])

    def add_key(self, table: TableState, node: Json, column: str | None) -> None:
        """A primary key or unique constraint (its columns, or those of `USING INDEX`)."""
        keys = self._key_columns(node, column) or self.index_columns(table, node.get("indexname"))
        included = self.names(node.get("including", []))
        where = self.where(node.get("location"))
        name = node.get("conname")
        if node["contype"] == "CONSTR_PRIMARY":
            name = name or self.unique_name(table, choose_name(table.name, "", "pkey"))
            table.primary_key = PrimaryKey(name, tuple(keys), where)
            for key in keys:
                if (current := table.columns.get(key)) is not None and current.nullable:
                    self.set_column(table, key, nullable=False)
        else:
            addition = "_".join(references.index_column_names([*keys, *included]))
            name = name or self.unique_name(table, choose_name(table.name, addition, "key"))
            table.uniques.append(UniqueConstraint(name, tuple(keys), where))
        if included:
            table.included = {**(table.included or {}), name: tuple(included)}

    def add_foreign_key(self, table: TableState, node: Json, column: str | None) -> None:
        columns = self.names(node.get("fk_attrs", [])) or self._key_columns(node, column)
        ref_schema, ref_table = self.qualify(node["pktable"])
        ref_columns = tuple(self.names(node.get("pk_attrs", [])))
        if not ref_columns and (target := self.tables.get((ref_schema, ref_table))) is not None:
            # Resolved now, as PostgreSQL does: a later change of that primary key does not move it.
            ref_columns = target.primary_key.columns if target.primary_key else ()
        name = node.get("conname") or self.unique_name(
            table, choose_name(table.name, "_".join(columns), "fkey")
        )
        table.foreign_keys.append(
            ForeignKey(
                name,
                tuple(columns),
                ref_schema,
                ref_table,
                ref_columns,
                ACTIONS[node.get("fk_del_action", "a")],
                ACTIONS[node.get("fk_upd_action", "a")],
                self.where(node.get("location")),
            )
        )

    def index_columns(self, table: TableState, index_name: str | None) -> list[str]:
        """`ADD CONSTRAINT ... USING INDEX`: the index becomes the constraint's."""
        for index in table.indexes:
            if index.name == index_name:
                table.indexes.remove(index)
                self.forget_index_names()
                return list(index.columns)
        return []

    # ---- inheritance -------------------------------------------------------------------------

    def inherit_from(self, table: TableState, rangevar: Json, statement: str) -> None:
        """`table` inherits from the table `rangevar` names: its columns and checks, merged by name."""
        key = self.qualify(rangevar)
        parent = self.tables.get(key)
        if parent is None:
            self.missing(statement, "table", key)
            return
        parent.family().children.append(table)
        table.family().parents.append(parent)
        for column in list(parent.columns.values()):
            self.inherit_column(table, column, parent)
        for check in parent.checks:
            if check.name not in parent.no_inherit_checks:
                self.inherit_check(table, check)

    def inherit_column(self, child: TableState, column: Column, parent: TableState) -> None:
        """The child gets the parent's column: its type, NOT NULL and default (not its identity
        nor its comment), or counts one more parent for a column it has."""
        lineage = child.family()
        name = column.name
        not_null = not column.nullable and name not in parent.no_inherit_not_null
        existing = child.columns.get(name)
        if existing is None:
            child.columns[name] = fast(
                Column,
                {
                    "name": name,
                    "type": column.type,
                    "nullable": not not_null,
                    "default": column.default,
                    "identity": None,
                    "comment": None,
                    "where": child.where,
                },
            )
            if self._generated(parent, name):
                child.generated = (child.generated or frozenset()) | {name}
            lineage.columns[name] = 1
            lineage.inherited_only.add(name)
        else:
            lineage.columns[name] = lineage.columns.get(name, 0) + 1
            if not_null and existing.nullable:
                child.columns[name] = changed(existing, nullable=False)

    def inherit_check(self, child: TableState, check: CheckConstraint) -> None:
        lineage = child.family()
        if any(c.name == check.name for c in child.checks):
            lineage.checks[check.name] = lineage.checks.get(check.name, 0) + 1
        else:
            child.checks.append(CheckConstraint(check.name, check.expression, child.where))
            lineage.checks[check.name] = 1
            lineage.inherited_only_checks.add(check.name)

    def disinherit(self, child: TableState, parent: TableState) -> None:
        """ALTER TABLE child NO INHERIT parent: what only the parent gave stays, as the child's own."""
        lineage = child.family()
        if parent not in lineage.parents:
            return
        lineage.parents.remove(parent)
        parent.family().children.remove(child)
        given = [(lineage.columns, lineage.inherited_only, name) for name in parent.columns]
        given += [
            (lineage.checks, lineage.inherited_only_checks, c.name)
            for c in parent.checks
            if c.name not in parent.no_inherit_checks
        ]
        for counts, inherited_only, name in given:
            if counts.get(name, 0) > 1:
                counts[name] -= 1
            elif name in counts:
                del counts[name]
                inherited_only.discard(name)

    # ---- LIKE --------------------------------------------------------------------------------

    def copy_like(self, table: TableState, node: Json, pending: Pending) -> None:
        """`LIKE source INCLUDING ...`: the source's columns (NOT NULL always), and what the
        options ask for: defaults, generated expressions, identity, checks, indexes, comments."""
        key = self.qualify(node["relation"])
        source = self.tables.get(key)
        if source is None:
            if key in self.views:
                self.not_followed(
                    "CREATE TABLE ... LIKE", f"the columns of view {key[0]}.{key[1]} are not in the model"
                )
            else:
                self.missing("CREATE TABLE ... LIKE", "table", key)
            return
        options = int(node.get("options", 0))
        for column in list(source.columns.values()):
            generated = self._generated(source, column.name)
            keep_default = (options & _LIKE_GENERATED) if generated else (options & _LIKE_DEFAULTS)
            identity = column.identity if options & _LIKE_IDENTITY else None
            table.columns[column.name] = fast(
                Column,
                {
                    "name": column.name,
                    "type": column.type,
                    "nullable": column.nullable,
                    "default": column.default if keep_default else None,
                    "identity": identity,
                    "comment": column.comment if options & _LIKE_COMMENTS else None,
                    "where": table.where,
                },
            )
            if generated and keep_default:
                table.generated = (table.generated or frozenset()) | {column.name}
            if identity:
                seq = choose_name(table.name, column.name, "seq")
                self.sequences[(table.schema, seq)] = Sequence(
                    table.schema, seq, (table.name, column.name), table.where
                )
        if options & _LIKE_CONSTRAINTS:
            for check in source.checks:
                table.checks.append(CheckConstraint(check.name, check.expression, table.where))
            table.no_inherit_checks |= source.no_inherit_checks
        if options & _LIKE_INDEXES:
            # Created after the table, as PostgreSQL does, each named as if it had no name.
            pending.likes.append(source)

    def clone_indexes(self, table: TableState, source: TableState) -> None:
        """LIKE ... INCLUDING INDEXES: the source's keys and indexes, named for the new table."""
        included = source.included or {}

        def addition(index_name: str, columns: tuple[str, ...]) -> str:
            keys: list[str | Json] = [expr.parse(c[1:-1]) if c.startswith("(") else c for c in columns]
            keys += list(included.get(index_name, ()))
            return "_".join(references.index_column_names(keys))

        where = table.where
        if source.primary_key is not None:
            name = self.unique_name(table, choose_name(table.name, "", "pkey"))
            table.primary_key = PrimaryKey(name, source.primary_key.columns, where)
        for unique in source.uniques:
            name = self.unique_name(
                table, choose_name(table.name, addition(unique.name, unique.columns), "key")
            )
            table.uniques.append(UniqueConstraint(name, unique.columns, where))
        for index in source.indexes:
            name = self.unique_name(
                table, choose_name(table.name, addition(index.name, index.columns), "idx")
            )
            table.indexes.append(
                Index(name, index.columns, index.unique, index.predicate, index.method, where)
            )
            if self._index_names is not None:
                self._index_names.add(name)
