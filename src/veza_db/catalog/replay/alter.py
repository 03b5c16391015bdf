"""ALTER TABLE (and ALTER FOREIGN TABLE) as PostgreSQL applies it, down to the tables that inherit
from the one altered: without ONLY, a change to a parent's columns or checks reaches its children."""

from __future__ import annotations

from collections.abc import Callable

from veza_db.catalog import expr
from veza_db.catalog.model import CheckConstraint
from veza_db.catalog.replay import statements
from veza_db.catalog.replay.state import Json, TableState, default_of
from veza_db.catalog.replay.tables import Pending, TableStatements

# Subcommands that change nothing the model holds (owner, storage, statistics, triggers enabled,
# row security, replica identity, options, tablespace...).
INERT_SUBCOMMANDS = frozenset(
    {
        "AT_SetStatistics", "AT_SetOptions", "AT_ResetOptions", "AT_SetStorage", "AT_SetCompression",
        "AT_ValidateConstraint", "AT_AlterConstraint", "AT_AlterColumnGenericOptions", "AT_ChangeOwner",
        "AT_ClusterOn", "AT_DropCluster", "AT_SetLogged", "AT_SetUnLogged", "AT_DropOids",
        "AT_SetAccessMethod", "AT_SetTableSpace", "AT_SetRelOptions", "AT_ResetRelOptions",
        "AT_ReplaceRelOptions", "AT_EnableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig",
        "AT_DisableTrig", "AT_EnableTrigAll", "AT_DisableTrigAll", "AT_EnableTrigUser",
        "AT_DisableTrigUser", "AT_EnableRule", "AT_EnableAlwaysRule", "AT_EnableReplicaRule",
        "AT_DisableRule", "AT_AddOf", "AT_DropOf", "AT_ReplicaIdentity", "AT_EnableRowSecurity",
        "AT_DisableRowSecurity", "AT_ForceRowSecurity", "AT_NoForceRowSecurity", "AT_GenericOptions",
        "AT_DetachPartitionFinalize",
    }
)  # fmt: skip


def subcommand_words(subtype: str) -> str:
    """`AT_DetachPartition` -> `DETACH PARTITION`, to name a subcommand in a warning."""
    return statements.spelled(subtype.removeprefix("AT_"))


class AlterStatements(TableStatements):
    """ALTER TABLE's subcommands."""

    def _on_AlterTableStmt(self, node: Json) -> None:  # noqa: N802 - named after the node
        if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
            return  # ALTER INDEX, SEQUENCE, VIEW, MATERIALIZED VIEW, TYPE: nothing the model holds
        commands = [
            (subtype, c["AlterTableCmd"])
            for c in node.get("cmds", ())
            if (subtype := c["AlterTableCmd"].get("subtype")) not in INERT_SUBCOMMANDS
        ]
        if not commands:
            return  # OWNER TO and the like: a dump has one per table
        relation = node["relation"]
        key = self.qualify(relation)
        table = self.tables.get(key)
        if table is None:
            if not node.get("missing_ok"):
                self.missing("ALTER TABLE", "table", key)
            return
        recurse = bool(relation.get("inh"))  # false with ONLY
        if len(commands) == 1:
            # Nearly every ALTER TABLE of a dump (a key, a default): nothing to order or merge.
            self._alter(table, *commands[0], recurse, None)
            return
        pending = Pending()  # foreign keys wait for the end of the statement
        for subtype, command in commands:
            self._alter(table, subtype, command, recurse, pending)
            if pending.keys:
                # PostgreSQL merges identical keys within a subcommand (ADD COLUMN x int PRIMARY
                # KEY UNIQUE), not across subcommands.
                self.create_keys(table, pending, foreign_keys=False)
                pending.keys.clear()
        for constraint, column in pending.foreign_keys:
            self.add_foreign_key(table, constraint, column)

    def _alter(
        self, table: TableState, subtype: str, command: Json, recurse: bool, pending: Pending | None
    ) -> None:
        """Apply one subcommand; with `pending`, its keys and foreign keys wait there (the
        statement has several subcommands), else they are created at once."""
        handler = _SUBCOMMANDS.get(subtype)
        if handler is None:
            self.not_followed(
                f"ALTER TABLE ... {subcommand_words(subtype)}", "the model does not follow this change"
            )
        else:
            handler(self, table, command, recurse, pending)

    # ---- columns -----------------------------------------------------------------------------

    def _add_column(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        definition = cmd["def"]["ColumnDef"]
        if cmd.get("missing_ok") and definition["colname"] in table.columns:
            return  # ADD COLUMN IF NOT EXISTS, and it exists
        checks = len(table.checks)
        own = Pending() if pending is None else pending  # a column's keys are merged among them
        column = self.add_column(table, definition, own)
        if own is not pending:
            self.create_keys(table, own)
        if column is None:
            return
        # PostgreSQL adds the column to the children even with ONLY (or refuses the statement).
        self._propagate_column(table, column.name)
        for check in table.checks[checks:]:
            if check.name not in table.no_inherit_checks:
                self._propagate_check(table, check)

    def _propagate_column(self, table: TableState, name: str) -> None:
        """A column added to `table` reaches its children, and theirs through those that did not
        have it (a work list: a hostile text nests inheritance thousands deep)."""
        work = [table]
        while work:
            parent = work.pop()
            for child in parent.children():
                had = name in child.columns
                self.inherit_column(child, parent.columns[name], parent)
                if not had:
                    work.append(child)

    def _propagate_check(self, table: TableState, check: CheckConstraint) -> None:
        work = [table]
        while work:
            parent = work.pop()
            for child in parent.children():
                had = any(c.name == check.name for c in child.checks)
                self.inherit_check(child, check)
                if not had:
                    work.append(child)

    def _each(self, table: TableState, recurse: bool) -> list[TableState]:
        """The table, and its descendants unless ONLY."""
        if table.lineage is None or not recurse:
            return [table]  # nearly every table of a dump: no inheritance
        return [table, *table.descendants()]

    def _drop_column(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        self.drop_column(table, str(cmd["name"]), recurse=recurse)

    def _column_default(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        definition = cmd.get("def")
        default = default_of(definition) if definition else None
        if table.lineage is None:  # a dump's ten thousand `ALTER TABLE ONLY t ALTER COLUMN ... SET DEFAULT`
            self.set_column(table, str(cmd["name"]), default=default)
            return
        for each in self._each(table, recurse):
            self.set_column(each, str(cmd["name"]), default=default)

    def _drop_not_null(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        for each in self._each(table, recurse):
            self.set_column(each, str(cmd["name"]), nullable=True)

    def _set_not_null(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        for each in self._each(table, recurse):
            self.set_column(each, str(cmd["name"]), nullable=False)

    def _column_type(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        type_name = self.format_type(cmd["def"]["ColumnDef"]["typeName"])
        for each in self._each(table, True):  # a parent's column type changes in every child
            self.set_column(each, str(cmd["name"]), type=type_name)

    def _set_expression(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        expression = expr.deparse_expression(cmd["def"])
        for each in self._each(table, recurse):
            self.set_column(each, str(cmd["name"]), default=expression)

    def _drop_expression(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        name = str(cmd["name"])
        for each in self._each(table, recurse):
            if self._generated(each, name):
                self.set_column(each, name, default=None)
                each.generated = (each.generated or frozenset()) - {name}

    # ---- identity ----------------------------------------------------------------------------

    def _add_identity(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        self.add_constraint(table, cmd["def"]["Constraint"], column=str(cmd["name"]))

    def _set_identity(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        for option in cmd.get("def", {}).get("List", {}).get("items", []):
            d = option["DefElem"]
            if d.get("defname") == "generated":
                when = "always" if d["arg"]["Integer"].get("ival") == ord("a") else "by default"
                self.set_column(table, str(cmd["name"]), identity=when)

    def _drop_identity(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        name = str(cmd["name"])
        self.set_column(table, name, identity=None)
        self.drop_owned_sequences(table, name)

    # ---- constraints -------------------------------------------------------------------------

    def _add_constraint(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        node = cmd["def"]["Constraint"]
        kind = node["contype"]
        if kind == "CONSTR_CHECK":
            check = self.add_check(table, node)
            if check is not None and recurse and not node.get("is_no_inherit"):
                self._propagate_check(table, check)
        elif kind == "CONSTR_NOTNULL" and recurse and not node.get("is_no_inherit"):
            for each in self._each(table, True):
                self.add_constraint(each, node)
        else:
            self.add_constraint(table, node, pending=pending)

    def _drop_constraint(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        name = str(cmd["name"])
        if not self.drop_constraint(table, name, recurse=recurse) and not cmd.get("missing_ok"):
            # PostgreSQL 18's NOT NULL constraints and exclusion constraints have names the
            # model does not keep.
            self.not_followed(
                "ALTER TABLE ... DROP CONSTRAINT",
                f"constraint {name} of {table.schema}.{table.name} is not in the model",
            )

    # ---- partitions and inheritance ----------------------------------------------------------

    def _attach_partition(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        # A partition: its parent describes it (as when created with PARTITION OF).
        key = self.qualify(cmd["def"]["PartitionCmd"]["name"])
        self.tables.pop(key, None)
        self.partitions.add(key)
        self.forget_index_names()

    def _detach_partition(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        key = self.qualify(cmd["def"]["PartitionCmd"]["name"])
        self.partitions.discard(key)
        self.not_modelled(
            key,
            "ALTER TABLE ... DETACH PARTITION",
            f"{key[0]}.{key[1]} becomes a table of its own, which is not in the model",
        )

    def _add_inherit(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        self.inherit_from(table, cmd["def"]["RangeVar"], "ALTER TABLE ... INHERIT")

    def _drop_inherit(self, table: TableState, cmd: Json, recurse: bool, pending: Pending | None) -> None:
        parent = self.tables.get(self.qualify(cmd["def"]["RangeVar"]))
        if parent is not None:
            self.disinherit(table, parent)


_Subcommand = Callable[[AlterStatements, TableState, Json, bool, Pending | None], None]
_SUBCOMMANDS: dict[str, _Subcommand] = {
    "AT_AddColumn": AlterStatements._add_column,
    "AT_DropColumn": AlterStatements._drop_column,
    "AT_ColumnDefault": AlterStatements._column_default,
    "AT_DropNotNull": AlterStatements._drop_not_null,
    "AT_SetNotNull": AlterStatements._set_not_null,
    "AT_AlterColumnType": AlterStatements._column_type,
    "AT_SetExpression": AlterStatements._set_expression,
    "AT_DropExpression": AlterStatements._drop_expression,
    "AT_AddIdentity": AlterStatements._add_identity,
    "AT_SetIdentity": AlterStatements._set_identity,
    "AT_DropIdentity": AlterStatements._drop_identity,
    "AT_AddConstraint": AlterStatements._add_constraint,
    "AT_DropConstraint": AlterStatements._drop_constraint,
    "AT_AttachPartition": AlterStatements._attach_partition,
    "AT_DetachPartition": AlterStatements._detach_partition,
    "AT_AddInherit": AlterStatements._add_inherit,
    "AT_DropInherit": AlterStatements._drop_inherit,
}
