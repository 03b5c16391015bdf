"""Compile a mapping into one streaming `SELECT` per V1 table, parents before children.

Every problem (a source table or column with no destination and no drop, a V1 column that
cannot be filled, an unknown name) is collected, so the port refuses before copying anything
and lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from veza_db.catalog import expr
from veza_db.catalog.model import Catalog, Column, Table
from veza_db.errors import UsageError
from veza_db.port import ids
from veza_db.port.mapping import ColumnSource, Mapping, TableMapping

_INTEGERS = ("smallint", "integer", "bigint")
TOOLING = ("schema_migrations", "schema_migrations_history")


class PlanError(UsageError):
    """The mapping leaves data without a destination, or V1 columns without a value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        Exception.__init__(self, "\n".join(problems))


@dataclass(frozen=True)
class TablePlan:
    target: str
    source: str
    columns: tuple[str, ...]  # V1 columns filled, in SELECT order
    select: sql.Composed  # the source query, each value cast to its V1 type
    key: tuple[str, ...]  # source columns the stream is ordered by (order_by, then the key)
    reads: frozenset[str] = frozenset()  # source columns the query uses


def _referenced(src: Table, column: str) -> str | None:
    """The table a one-column foreign key of `src` on `column` references, if any."""
    return next((fk.ref_table for fk in src.foreign_keys if fk.columns == (column,)), None)


def _key_table(src: Table, column: str) -> str:
    """The table an integer column is a key of: the one it references, else its own."""
    return _referenced(src, column) or src.name


def _columns_in(text: str) -> set[str]:
    """Column names an expression reads (parsed by PostgreSQL's parser)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            refs = node.get("ColumnRef")
            if isinstance(refs, dict):
                names = [f["String"]["sval"] for f in refs.get("fields", []) if "String" in f]
                if names:
                    found.add(str(names[-1]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(expr.parse(text))
    return found


class _Compiler:
    def __init__(self, mapping: Mapping, source: Catalog, target: Catalog) -> None:
        self.mapping, self.source, self.target = mapping, source, target
        self.problems: list[str] = []

    def source_table(self, name: str) -> Table | None:
        return self.source.table(self.mapping.source_schema, name)

    def compile_column(  # noqa: PLR0911 - one return per kind of transform
        self, tm: TableMapping, src: Table, column: Column, spec: ColumnSource
    ) -> tuple[sql.Composable, set[str]] | None:
        where = f"{tm.target}.{column.name}"
        if spec.kind == "value":
            return sql.Literal(spec.value), set()
        if spec.kind == "expr":
            assert spec.expr is not None
            used = self.reads(src, spec.expr, where)
            if used is None:
                return None
            return sql.SQL(spec.expr), used  # SQL text from the mapping file, written by its author
        assert spec.column is not None
        origin = src.column(spec.column)
        if origin is None:
            self.problems.append(f"{where}: source column {src.name}.{spec.column} does not exist")
            return None
        ref = sql.Identifier(spec.column)
        if spec.kind == "sha256":
            return sql.SQL("sha256(convert_to(({})::text, 'UTF8'))").format(ref), {spec.column}
        if spec.kind == "timestamptz":
            return sql.SQL("({} AT TIME ZONE {})").format(ref, sql.Literal(spec.zone)), {spec.column}
        if spec.kind == "id":
            if origin.type == "uuid":
                return ref, {spec.column}
            return ids.key_sql(spec.table or _key_table(src, spec.column), ref), {spec.column}
        return ref, {spec.column}

    def default_spec(self, src: Table, column: Column) -> ColumnSource | None:
        """What a V1 column gets when the mapping says nothing about it."""
        origin = src.column(column.name)
        if origin is None:
            return None
        if column.type == "uuid" and origin.type in _INTEGERS:
            is_key = src.primary_key is not None and src.primary_key.columns == (column.name,)
            if not is_key and _referenced(src, column.name) is None:
                self.problems.append(
                    f"{src.name}.{column.name}: an integer going into a uuid column; map it with "
                    f'{{ id = "{column.name}", table = "<source table>" }}'
                )
                return None
            return ColumnSource("id", column=column.name, table=_key_table(src, column.name))
        return ColumnSource("column", column=column.name)

    def table(self, target: Table, tm: TableMapping) -> TablePlan | None:
        src = self.source_table(tm.source)
        if src is None:
            if tm.target in self.mapping.tables:
                self.problems.append(f"tables.{tm.target}: source table {tm.source!r} does not exist")
            return None
        selects: list[sql.Composable] = []
        columns: list[str] = []
        used: set[str] = set()
        for unknown in sorted(set(tm.columns) - {c.name for c in target.columns}):
            self.problems.append(
                f"tables.{tm.target}.columns.{unknown}: V1 table {tm.target} has no such column"
            )
        for column in target.columns:
            spec = tm.columns.get(column.name) or self.default_spec(src, column)
            compiled = None
            if spec is not None:
                compiled = self.compile_column(tm, src, column, spec)
            elif column.name == "id" and column.type == "uuid" and src.primary_key:
                parts: list[sql.Composable] = [sql.Identifier(c) for c in src.primary_key.columns]
                compiled = ids.composite_sql(src.name, parts), set(src.primary_key.columns)
            if compiled is None:
                if not column.nullable and column.default is None and spec is None:
                    self.problems.append(
                        f"{tm.target}.{column.name}: V1 needs a value (NOT NULL, no default) and {src.name} "
                        "has no such column; map it"
                    )
                continue
            value, reads = compiled
            used |= reads
            # format_type() output of the V1 catalog; a domain's base type, as the source has no
            # such type (the target's COPY checks the domain's rules).
            cast = sql.SQL(self.target.base_type(column.type))
            selects.append(sql.SQL("({})::{} AS {}").format(value, cast, sql.Identifier(column.name)))
            columns.append(column.name)
        for name in sorted(set(tm.drop) - {c.name for c in src.columns}):
            self.problems.append(f"tables.{tm.target}.drop.{name}: {src.name} has no such column")
        condition: sql.Composable = sql.SQL("")
        if tm.where is not None:
            used |= self.reads(src, tm.where, f"tables.{tm.target}.where") or set()
            # SQL text from the mapping file, written by its author, like an `expr`.
            condition = sql.SQL(" WHERE ({})").format(sql.SQL(tm.where))
        key = src.primary_key.columns if src.primary_key else tuple(c.name for c in src.columns[:1])
        for missing in sorted(set(tm.order_by) - {c.name for c in src.columns}):
            self.problems.append(f"tables.{tm.target}.order_by: {missing!r} is not a column of {src.name}")
        # Rows reach the target in this order, so they lie in it on disk: a table read by ranges
        # of another key (a playlist's entries by position) is best written in that key's order.
        # The key ends it, so the stream's order is total.
        order = (*tm.order_by, *(k for k in key if k not in tm.order_by))
        select = sql.SQL("SELECT {} FROM {}{} ORDER BY {}").format(
            sql.SQL(", ").join(selects),
            sql.Identifier(self.mapping.source_schema, src.name),
            condition,
            sql.SQL(", ").join(sql.Identifier(k) for k in order),
        )
        return TablePlan(tm.target, src.name, tuple(columns), select, order, frozenset(used | set(tm.drop)))

    def reads(self, src: Table, text: str, where: str) -> set[str] | None:
        """Columns that mapping SQL reads (a problem for each not in `src`); None if it does not parse."""
        try:
            names = _columns_in(text)
        except Exception as exc:  # pglast's ParseError: report it with the mapping entry
            self.problems.append(f"{where}: does not parse: {exc}")
            return None
        for missing in sorted(names - {c.name for c in src.columns}):
            self.problems.append(f"{where}: reads {missing!r}, not a column of {src.name}")
        return names


def order_by_dependencies(tables: list[Table]) -> list[Table]:
    """Parents before children (self-references aside); ties by name."""
    by_name = {t.name: t for t in tables}
    done: list[Table] = []
    seen: set[str] = set()

    def visit(table: Table, path: set[str]) -> None:
        if table.name in seen:
            return
        for fk in sorted(table.foreign_keys, key=lambda f: f.ref_table):
            parent = by_name.get(fk.ref_table)
            if parent is not None and parent.name != table.name and parent.name not in path:
                visit(parent, path | {table.name})
        seen.add(table.name)
        done.append(table)

    for table in sorted(tables, key=lambda t: t.name):
        visit(table, set())
    return done


def build(mapping: Mapping, source: Catalog, target: Catalog) -> list[TablePlan]:
    """The plan, or PlanError listing every problem."""
    compiler = _Compiler(mapping, source, target)
    targets = [t for t in target.tables if t.schema == mapping.target_schema and t.name not in TOOLING]
    for unknown in sorted(set(mapping.tables) - {t.name for t in targets}):
        compiler.problems.append(f"tables.{unknown}: V1 has no table {unknown!r}")
    plans: list[TablePlan] = []
    for table in order_by_dependencies(targets):
        tm = mapping.tables.get(table.name) or TableMapping(table.name, table.name)
        plan = compiler.table(table, tm)
        if plan is not None:
            plans.append(plan)
    mapped = {p.source for p in plans}
    covered: dict[str, set[str]] = {}
    for p in plans:  # a source table may feed several V1 tables: any of them may read a column
        covered.setdefault(p.source, set()).update(p.reads)
    for name in sorted(covered):
        src = compiler.source_table(name)
        assert src is not None
        first = min(p.target for p in plans if p.source == name)
        for column in sorted({c.name for c in src.columns} - covered[name]):
            compiler.problems.append(
                f"{name}.{column}: source column has no destination; map it or add it to "
                f"[tables.{first}.drop] with the reason"
            )
    sources = [t for t in source.tables if t.schema == mapping.source_schema and t.name not in TOOLING]
    for table in sorted(sources, key=lambda t: t.name):
        if table.name not in mapped and table.name not in mapping.drop_tables:
            compiler.problems.append(
                f"{table.name}: source table has no destination; map it to a V1 table or add it to "
                "[drop_tables] with the reason"
            )
    for name in sorted(set(mapping.drop_tables) - {t.name for t in sources}):
        compiler.problems.append(f"drop_tables.{name}: the source has no such table")
    if compiler.problems:
        raise PlanError(compiler.problems)
    return plans
