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
    reads: frozenset[str]  # source columns the query uses
    # The parts of `select`, to find one row of the stream again (a failing row's key and values).
    values: tuple[sql.Composable, ...]  # per column of `columns`, its cast value
    relation: sql.Composable  # FROM ... [LEFT JOIN ...]
    condition: sql.Composable | None  # the mapping's `where`, if any
    key_refs: tuple[sql.Composable, ...]  # the key columns, as the query names them

    def rows_from(self, *also: sql.Composable) -> sql.Composed:
        """FROM ... [WHERE ...]: the rows of the stream, those `also` conditions hold for."""
        conditions = [c for c in (self.condition, *also) if c is not None]
        if not conditions:
            return sql.Composed([self.relation])
        where = sql.SQL(" AND ").join(sql.SQL("({})").format(c) for c in conditions)
        return sql.SQL("{} WHERE {}").format(self.relation, where)


def _referenced(src: Table, column: str) -> str | None:
    """The table a one-column foreign key of `src` on `column` references, if any."""
    return next((fk.ref_table for fk in src.foreign_keys if fk.columns == (column,)), None)


def _key_table(src: Table, column: str) -> str:
    """The table an integer column is a key of: the one it references, else its own."""
    return _referenced(src, column) or src.name


def columns_in(text: str) -> set[tuple[str | None, str]]:
    """(qualifier or None, column name) of each column an expression reads, by PostgreSQL's parser."""
    found: set[tuple[str | None, str]] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            refs = node.get("ColumnRef")
            if isinstance(refs, dict):
                names = [str(f["String"]["sval"]) for f in refs.get("fields", []) if "String" in f]
                if names:
                    found.add((names[-2] if len(names) > 1 else None, names[-1]))
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
        self.unparsed: set[str] = set()  # source tables with mapping SQL that does not parse
        self.joined: dict[str, Table] = {}  # the table being compiled's joins, by alias
        self.join_reads: set[str] = set()  # its own columns its join conditions read

    def ref(self, src: Table, column: str) -> sql.Composable:
        """A source column in the table's query: qualified once other tables are joined."""
        return sql.Identifier(src.name, column) if self.joined else sql.Identifier(column)

    def source_table(self, name: str) -> Table | None:
        return self.source.table(self.mapping.source_schema, name)

    def compile_column(  # noqa: PLR0911 - one return per kind of transform
        self, tm: TableMapping, src: Table, column: Column, spec: ColumnSource
    ) -> tuple[sql.Composable, set[str]] | None:
        where = f"{tm.target}.{column.name}"
        if spec.kind == "value":
            return sql.Literal(spec.value), set()
        if spec.expr is not None:  # expr, or the id of an expression
            used = self.reads(src, spec.expr, where)
            if used is None:
                return None
            text = sql.SQL(spec.expr)  # SQL text from the mapping file, written by its author
            if spec.kind == "id":
                assert spec.table is not None
                return ids.key_sql(spec.table, text), used
            return text, used
        assert spec.column is not None
        origin = src.column(spec.column)
        if origin is None:
            self.problems.append(f"{where}: source column {src.name}.{spec.column} does not exist")
            return None
        ref = self.ref(src, spec.column)
        if spec.kind == "sha256":
            return sql.SQL("sha256(convert_to(({})::text, 'UTF8'))").format(ref), {spec.column}
        if spec.kind == "timestamptz":
            if origin.type == "timestamp with time zone":
                self.problems.append(
                    f"tables.{tm.target}.columns.{column.name}: {src.name}.{spec.column} already is a "
                    "timestamptz (an instant): a zone would move it; map it by name"
                )
                return None
            zone = sql.Literal(spec.zone or "UTC")
            return sql.SQL("({} AT TIME ZONE {})").format(ref, zone), {spec.column}
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
        joins = self.joins(src, tm)
        selects: list[sql.Composable] = []
        values: list[sql.Composable] = []
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
                parts = [self.ref(src, c) for c in src.primary_key.columns]
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
            values.append(sql.SQL("({})::{}").format(value, cast))
            selects.append(sql.SQL("{} AS {}").format(values[-1], sql.Identifier(column.name)))
            columns.append(column.name)
        for name in sorted(set(tm.drop) - {c.name for c in src.columns}):
            self.problems.append(f"tables.{tm.target}.drop.{name}: {src.name} has no such column")
        condition: sql.Composable | None = None
        if tm.where is not None:
            used |= self.reads(src, tm.where, f"tables.{tm.target}.where") or set()
            condition = sql.SQL(tm.where)  # SQL text from the mapping file, written by its author
        key = src.primary_key.columns if src.primary_key else tuple(c.name for c in src.columns[:1])
        for missing in sorted(set(tm.order_by) - {c.name for c in src.columns}):
            self.problems.append(f"tables.{tm.target}.order_by: {missing!r} is not a column of {src.name}")
        # Rows reach the target in this order, so they lie in it on disk: a table read by ranges
        # of another key (a playlist's entries by position) is best written in that key's order.
        # The key ends it, so the stream's order is total.
        key = (*tm.order_by, *(k for k in key if k not in tm.order_by))
        key_refs = tuple(self.ref(src, k) for k in key)
        relation = sql.SQL("FROM {}{}").format(sql.Identifier(self.mapping.source_schema, src.name), joins)
        where = sql.SQL("") if condition is None else sql.SQL(" WHERE ({})").format(condition)
        select = sql.SQL("SELECT {} {}{} ORDER BY {}").format(
            sql.SQL(", ").join(selects), relation, where, sql.SQL(", ").join(key_refs)
        )
        everything_read = frozenset(used | self.join_reads | set(tm.drop))
        return TablePlan(
            tm.target,
            src.name,
            tuple(columns),
            select,
            key,
            everything_read,
            tuple(values),
            relation,
            condition,
            key_refs,
        )

    def joins(self, src: Table, tm: TableMapping) -> sql.Composed:
        """The LEFT JOINs of a table's query; sets `joined` for the expressions that read them."""
        self.joined, self.join_reads = {}, set()
        for join in tm.joins:
            other = self.source_table(join.table)
            if other is None:
                self.problems.append(
                    f"tables.{tm.target}.join.{join.alias}: source table {join.table!r} does not exist"
                )
            else:
                self.joined[join.alias] = other
        parts: list[sql.Composable] = []
        for join in tm.joins:
            if join.alias in self.joined:
                self.join_reads |= (
                    self.reads(src, join.on, f"tables.{tm.target}.join.{join.alias}.on") or set()
                )
                # SQL text from the mapping file, written by its author, like an `expr`.
                parts.append(sql.SQL(" LEFT JOIN {} AS {} ON ({})").format(
                    sql.Identifier(self.mapping.source_schema, join.table), sql.Identifier(join.alias),
                    sql.SQL(join.on)))  # fmt: skip
        return sql.Composed(parts)

    def reads(self, src: Table, text: str, where: str) -> set[str] | None:
        """Columns of `src` that mapping SQL reads (a problem for each name that is no column of
        `src` or of the table a qualifier names); None if it does not parse."""
        try:
            names = columns_in(text)
        except Exception as exc:  # pglast's ParseError: report it with the mapping entry
            self.problems.append(f"{where}: does not parse: {exc}")
            self.unparsed.add(src.name)  # what it reads is unknown: no "no destination" guesses
            return None
        own = {c.name for c in src.columns}
        found: set[str] = set()
        for qualifier, name in sorted(names, key=lambda n: (n[0] or "", n[1])):
            table = src if qualifier in (None, src.name) else self.joined.get(qualifier)
            if table is None:
                self.problems.append(
                    f"{where}: reads {qualifier}.{name}; {qualifier!r} is neither {src.name} nor a join alias"
                )
            elif table is src and name in own:
                found.add(name)
            elif qualifier is None and any(t.column(name) for t in self.joined.values()):
                continue  # a joined table's column
            elif table.column(name) is None:
                self.problems.append(f"{where}: reads {name!r}, not a column of {table.name}")
        return found


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
    for name in sorted(set(covered) - compiler.unparsed):
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
