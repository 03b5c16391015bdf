"""What PostgreSQL does to other objects when one is dropped or renamed, replayed on the model.

A dropped column takes the keys, checks and indexes that use it; a dropped key (with CASCADE) the
foreign keys that rely on it; a dropped table its children, the foreign keys that reference it
and the views that read it; a parent's column or check goes from the children that only inherit
it. A renamed table, column or sequence is renamed wherever the model names it. Without CASCADE
PostgreSQL refuses a drop that has dependents, so a file that runs never leaves any behind:
following them unconditionally gives the database's result either way.
"""

from __future__ import annotations

from dataclasses import replace

from veza_db.catalog import references
from veza_db.catalog.model import ForeignKey, Index, Sequence
from veza_db.catalog.replay.state import Key, State, TableState, changed
from veza_db.catalog.typenames import quote_ident


def _mentions(text: str | None, column: str) -> bool:
    """Whether an expression names the column (a cheap test on the text first)."""
    return text is not None and column in text and column in references.columns(text)


def _index_uses(index: Index, column: str, included: tuple[str, ...]) -> bool:
    return (
        column in index.columns
        or column in included
        or any(key.startswith("(") and _mentions(key[1:-1], column) for key in index.columns)
        or _mentions(index.predicate, column)
    )


def serves_foreign_keys(index: Index) -> bool:
    """Whether a foreign key can rely on the index: unique, on plain columns, not partial."""
    return index.unique and index.predicate is None and not any(k.startswith("(") for k in index.columns)


class Dependents(State):
    """Drops and renames that follow PostgreSQL's dependencies between objects."""

    # ---- drops -------------------------------------------------------------------------------

    def drop_owned_sequences(self, table: TableState, column: str | None = None) -> None:
        """The serial or identity sequences of a column (of every column when None) go with it."""
        self.sequences = {
            key: seq
            for key, seq in self.sequences.items()
            if not (
                key[0] == table.schema
                and seq.owned_by is not None
                and seq.owned_by[0] == table.name
                and (column is None or seq.owned_by[1] == column)
            )
        }

    def drop_foreign_keys_to(self, target: TableState, columns: tuple[str, ...] | None = None) -> None:
        """Drop the foreign keys (of every table) that reference `target`: those relying on the
        key over `columns` (their referenced columns are that set), or all of them when None.

        PostgreSQL ties a foreign key to the unique index it found when it was created; two
        unique keys over the same columns are not told apart here.
        """
        wanted = None if columns is None else set(columns)
        for table in self.tables.values():
            if table.foreign_keys and any(self._relies_on(fk, target, wanted) for fk in table.foreign_keys):
                table.foreign_keys = [
                    fk for fk in table.foreign_keys if not self._relies_on(fk, target, wanted)
                ]

    def _relies_on(self, fk: ForeignKey, target: TableState, wanted: set[str] | None) -> bool:
        if (fk.ref_schema, fk.ref_table) != target.key:
            return False
        if wanted is None:
            return True
        referenced = fk.ref_columns or (target.primary_key.columns if target.primary_key else ())
        return set(referenced) == wanted

    def drop_column(self, table: TableState, name: str, *, recurse: bool = True) -> None:
        """Drop a column with what uses it; children that only inherit it lose it too (with
        `recurse`, as without ONLY), others keep it as their own. A work list, not recursion: a
        hostile text nests inheritance thousands deep."""
        work = [(table, name)]
        while work:
            current, column = work.pop()
            if current.columns.pop(column, None) is None:
                continue
            # Generated columns computed from it go too (PostgreSQL asks for CASCADE).
            work += [(current, other) for other in self._drop_column_users(current, column)]
            for child in current.children():
                lineage = child.family()
                if _lose_parent(lineage.columns, lineage.inherited_only, column) and recurse:
                    work.append((child, column))

    def _drop_column_users(self, table: TableState, name: str) -> list[str]:
        """Drop what uses the dropped column `name` of `table`; the generated columns computed
        from it, which go too, are returned."""
        if table.generated:
            table.generated = table.generated - {name}
        self.drop_owned_sequences(table, name)
        included = table.included or {}
        pk = table.primary_key
        if pk and (name in pk.columns or name in included.get(pk.name, ())):
            self.drop_foreign_keys_to(table, pk.columns)
            table.primary_key = None
        dropped = [u for u in table.uniques if name in u.columns or name in included.get(u.name, ())]
        for unique in dropped:
            self.drop_foreign_keys_to(table, unique.columns)
        table.uniques = [u for u in table.uniques if u not in dropped]
        table.foreign_keys = [fk for fk in table.foreign_keys if name not in fk.columns]
        for other in self.tables.values():
            if any(fk.ref_table == table.name and name in fk.ref_columns for fk in other.foreign_keys):
                other.foreign_keys = [
                    fk
                    for fk in other.foreign_keys
                    if not ((fk.ref_schema, fk.ref_table) == table.key and name in fk.ref_columns)
                ]
        table.checks = [c for c in table.checks if not _mentions(c.expression, name)]
        for index in [i for i in table.indexes if _index_uses(i, name, included.get(i.name, ()))]:
            self.drop_index(table, index)
        return [
            c.name
            for c in table.columns.values()
            if self._generated(table, c.name) and _mentions(c.default, name)
        ]

    @staticmethod
    def _generated(table: TableState, column: str) -> bool:
        return table.generated is not None and column in table.generated

    def drop_index(self, table: TableState, index: Index) -> None:
        table.indexes = [i for i in table.indexes if i is not index]
        if table.included:
            table.included.pop(index.name, None)
        if serves_foreign_keys(index):
            self.drop_foreign_keys_to(table, index.columns)
        self.forget_index_names()

    def drop_constraint(self, table: TableState, name: str, *, recurse: bool = True) -> bool:
        """Drop a named constraint, the foreign keys relying on it, and (a check) the copies
        children only inherit. False when the table has no such constraint."""
        if table.primary_key and table.primary_key.name == name:
            self.drop_foreign_keys_to(table, table.primary_key.columns)
            table.primary_key = None
            return True
        for unique in table.uniques:
            if unique.name == name:
                self.drop_foreign_keys_to(table, unique.columns)
                table.uniques.remove(unique)
                return True
        for fk in table.foreign_keys:
            if fk.name == name:
                table.foreign_keys.remove(fk)
                return True
        if not any(c.name == name for c in table.checks):
            return False
        work = [table]
        while work:
            current = work.pop()
            current.checks = [c for c in current.checks if c.name != name]
            if name in current.no_inherit_checks:
                continue
            for child in current.children():
                lineage = child.family()
                if _lose_parent(lineage.checks, lineage.inherited_only_checks, name) and recurse:
                    work.append(child)
        return True

    def drop_table(self, table: TableState) -> None:
        """Drop a table with its descendants (PostgreSQL asks for CASCADE), the foreign keys that
        reference them and the views that read them."""
        if self.tables.get(table.key) is not table:
            return
        for victim in [table, *table.descendants()]:
            self.tables.pop(victim.key, None)
            self.drop_owned_sequences(victim)
            self.drop_foreign_keys_to(victim)
            if victim.lineage is not None:
                for parent in victim.lineage.parents:
                    if victim in parent.family().children:
                        parent.family().children.remove(victim)
            self.drop_views_reading(victim.key)
        self.forget_index_names()

    def drop_view(self, key: Key) -> None:
        """Drop a view and (CASCADE) the views that read it, and those that read them..."""
        work = [key]
        while work:
            current = work.pop()
            if self.views.pop(current, None) is not None:
                self.view_sources.pop(current, None)
                work += [v for v, sources in self.view_sources.items() if current in sources]

    def drop_views_reading(self, key: Key) -> None:
        for view in [v for v, sources in self.view_sources.items() if key in sources]:
            self.drop_view(view)

    def drop_sequence(self, key: Key) -> None:
        """Drop a sequence and (CASCADE) the defaults that draw from it."""
        if self.sequences.pop(key, None) is None:
            return
        for table in self.tables.values():
            for column in list(table.columns.values()):
                if references.sequence_of(column.default, self.default_schema) == key:
                    table.columns[column.name] = changed(column, default=None)

    # ---- renames -----------------------------------------------------------------------------

    def moved_table(self, table: TableState, old: Key) -> None:
        """`table` was `old` (renamed or moved to another schema): references follow it, and the
        sequences its columns own move with it to its schema."""
        del self.tables[old]
        self.tables[table.key] = table
        for other in self.tables.values():
            if any((fk.ref_schema, fk.ref_table) == old for fk in other.foreign_keys):
                other.foreign_keys = [
                    replace(fk, ref_schema=table.schema, ref_table=table.name)
                    if (fk.ref_schema, fk.ref_table) == old
                    else fk
                    for fk in other.foreign_keys
                ]
        for key, seq in list(self.sequences.items()):
            if key[0] == old[0] and seq.owned_by is not None and seq.owned_by[0] == old[1]:
                owned = Sequence(table.schema, seq.name, (table.name, seq.owned_by[1]), seq.where)
                del self.sequences[key]
                self.sequences[(table.schema, seq.name)] = owned
                if key[0] != table.schema:
                    self.moved_sequence(key, (table.schema, seq.name))
        self._moved_source(old, table.key)
        self.forget_index_names()

    def _moved_source(self, old: Key, new: Key) -> None:
        for view, sources in self.view_sources.items():
            if old in sources:
                self.view_sources[view] = (sources - {old}) | {new}

    def moved_view(self, old: Key, new: Key) -> None:
        view = self.views.pop(old)
        self.views[new] = view.__class__(new[0], new[1], view.materialized, view.where)
        if old in self.view_sources:
            self.view_sources[new] = self.view_sources.pop(old)
        self._moved_source(old, new)

    def moved_sequence(self, old: Key, new: Key) -> None:
        """The defaults drawing from sequence `old` now name `new` (a `regclass` constant keeps
        the sequence, not its name)."""
        if old in self.sequences:
            seq = self.sequences.pop(old)
            self.sequences[new] = Sequence(new[0], new[1], seq.owned_by, seq.where)
        spelled = f"{quote_ident(new[0])}.{quote_ident(new[1])}"
        for table in self.tables.values():
            for column in list(table.columns.values()):
                if references.sequence_of(column.default, self.default_schema) == old:
                    default = references.with_sequence(column.default or "", spelled)
                    table.columns[column.name] = changed(column, default=default)

    def renamed_column(self, table: TableState, old: str, new: str) -> None:
        """Column `old` of `table` is now `new`: keys, indexes, checks, generated columns, owned
        sequences and other tables' foreign keys follow; so do the children's copies."""
        renamed = set()
        work = [table]
        while work:
            current = work.pop()
            self._column_renamed(current, old, new)
            renamed.add(current.key)
            for child in current.children():
                lineage = child.family()
                if old in lineage.columns and old in child.columns:
                    lineage.columns[new] = lineage.columns.pop(old)
                    if old in lineage.inherited_only:
                        lineage.inherited_only.discard(old)
                        lineage.inherited_only.add(new)
                    work.append(child)
        # Foreign keys that reference the renamed column, in any table (its own too), in one pass.
        for other in self.tables.values():
            if any(
                (fk.ref_schema, fk.ref_table) in renamed and old in fk.ref_columns
                for fk in other.foreign_keys
            ):
                other.foreign_keys = [
                    replace(fk, ref_columns=tuple(new if c == old else c for c in fk.ref_columns))
                    if (fk.ref_schema, fk.ref_table) in renamed
                    else fk
                    for fk in other.foreign_keys
                ]

    def _column_renamed(self, table: TableState, old: str, new: str) -> None:
        """Column `old` of `table` (only) is now `new`, wherever the model names it."""
        table.columns = {
            (new if name == old else name): (changed(c, name=new) if name == old else c)
            for name, c in table.columns.items()
        }

        def swap(columns: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(new if c == old else c for c in columns)

        if table.primary_key and old in table.primary_key.columns:
            pk = table.primary_key
            table.primary_key = pk.__class__(pk.name, swap(pk.columns), pk.where)
        table.uniques = [u.__class__(u.name, swap(u.columns), u.where) for u in table.uniques]
        table.foreign_keys = [replace(fk, columns=swap(fk.columns)) for fk in table.foreign_keys]
        table.checks = [
            c.__class__(c.name, references.with_column_renamed(c.expression, old, new), c.where)
            if _mentions(c.expression, old)
            else c
            for c in table.checks
        ]
        table.indexes = [self._index_renamed(i, old, new) for i in table.indexes]
        if table.included:
            table.included = {k: swap(v) for k, v in table.included.items()}
        if table.generated and old in table.generated:
            table.generated = (table.generated - {old}) | {new}
        for column in list(table.columns.values()):
            if self._generated(table, column.name) and _mentions(column.default, old):
                default = references.with_column_renamed(column.default or "", old, new)
                table.columns[column.name] = changed(column, default=default)
        for key, seq in list(self.sequences.items()):
            if key[0] == table.schema and seq.owned_by == (table.name, old):
                self.sequences[key] = Sequence(seq.schema, seq.name, (table.name, new), seq.where)

    @staticmethod
    def _index_renamed(index: Index, old: str, new: str) -> Index:
        columns = tuple(
            new
            if key == old
            else f"({references.with_column_renamed(key[1:-1], old, new)})"
            if key.startswith("(") and _mentions(key[1:-1], old)
            else key
            for key in index.columns
        )
        predicate = index.predicate
        if _mentions(predicate, old):
            predicate = references.with_column_renamed(predicate or "", old, new)
        if columns == index.columns and predicate == index.predicate:
            return index
        return Index(index.name, columns, index.unique, predicate, index.method, index.where)


def _lose_parent(counts: dict[str, int], inherited_only: set[str], name: str) -> bool:
    """One parent of a child no longer passes `name` (a column or a check) down: count it off
    the child's parents (PostgreSQL's attinhcount / coninhcount). True when the last parent went
    and the child had it from its parents only, so it goes too; otherwise, with no parent left,
    the child keeps it as its own."""
    count = counts.get(name, 0)
    if count > 1:
        counts[name] = count - 1
    if count != 1:
        return False
    del counts[name]
    only = name in inherited_only
    inherited_only.discard(name)
    return only
