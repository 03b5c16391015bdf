"""Mapping files (TOML): how source tables and columns become V1's.

Same table and column names map by default. A mapping file adds renames, SQL expressions
evaluated on the source, built-in transforms, values for V1 columns the source lacks, other
source tables to read, and explicit drops, each with a reason:

    extends = "lab"                      # optional: start from the built-in Lab -> V1 mapping
    source_schema = "public"

    [drop_tables]
    old_cache = "derived data, rebuilt by the API"

    [tables.users]                       # a V1 table
    from = "accounts"                    # its source table (default: the same name)
    [tables.users.join]                  # other source tables its expressions may read
    r = { table = "ranks", on = "r.account_id = accounts.id" }   # LEFT JOIN, by alias
    [tables.users.columns]
    username = "name"                                      # rename
    display_name = { expr = "initcap(name)" }              # SQL on the source row
    id = { id = "id" }                                     # integer key -> deterministic uuid
    owner_id = { id = "coalesce(owner, creator)", table = "accounts" }   # ... of an expression
    created_at = { timestamptz = "created", zone = "Europe/Paris" }   # timestamp -> timestamptz
    status = { value = "active" }                          # a value for a column the source lacks
    [tables.users.drop]
    legacy_flag = "always false since 2021"
    [tables.refresh_tokens.columns]
    token_hash = { sha256 = "token" }                      # plaintext secret -> SHA-256
    [tables.user_roles]
    from = "accounts"                    # a second V1 table from the same source table...
    where = "is_admin"                   # ...from some of its rows (SQL on the source row)
    [tables.playlist_tracks]
    order_by = ["playlist_id", "position"]   # the order rows are written in (default: the key)

A mapping file replaces the built-in Lab mapping unless it says `extends = "lab"`; then its
tables are laid over the Lab's: `from`, `where`, `join` and `order_by` replace the Lab's, `columns` and
`drop` entries are added to (or replace, key by key) the Lab's, `drop_tables` likewise.

A source column has a destination when any V1 table fed by its table reads it, or when one of
them drops it. Every key of the file is checked for its shape (exit 2, naming the key's path)
before any database is read.

`id` takes `table = "..."` to name the table the integer is a key of; by default that is the
table the column references when the source declares it as a foreign key, else its own table.
An `id` of an expression (anything but a bare column name) needs `table`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from veza_db.errors import UsageError

KINDS = ("column", "expr", "sha256", "timestamptz", "id", "value")
_SPEC_KEYS = ("expr", "sha256", "timestamptz", "id", "value")  # the kinds a table spec may name
TODO = "TODO"  # what a draft mapping holds where its author must decide


@dataclass(frozen=True)
class ColumnSource:
    kind: str  # one of KINDS
    column: str | None = None  # the source column (column, sha256, timestamptz, id of a column)
    expr: str | None = None  # expr; id of an expression
    table: str | None = None  # id: the source table the integer is a key of
    zone: str | None = None  # timestamptz: the time zone the source timestamps are in (UTC if None)
    value: Any = None


@dataclass(frozen=True)
class Join:
    alias: str
    table: str  # a source table (in the source schema)
    on: str  # SQL: the join condition


@dataclass(frozen=True)
class TableMapping:
    target: str
    source: str
    columns: dict[str, ColumnSource] = field(default_factory=dict)
    drop: dict[str, str] = field(default_factory=dict)
    where: str | None = None  # a condition on the source rows (one source table feeding several)
    joins: tuple[Join, ...] = ()
    order_by: tuple[str, ...] = ()  # source columns the rows are copied in order of (default: the key)


@dataclass(frozen=True)
class Mapping:
    name: str
    source_schema: str = "public"
    target_schema: str = "public"
    tables: dict[str, TableMapping] = field(default_factory=dict)  # by V1 table
    drop_tables: dict[str, str] = field(default_factory=dict)  # source table -> reason

    def zones(self) -> dict[str, str]:
        """Every time zone the mapping names, with the first key path naming it."""
        found: dict[str, str] = {}
        for tm in self.tables.values():
            for name, spec in tm.columns.items():
                if spec.zone is not None:
                    found.setdefault(spec.zone, f"tables.{tm.target}.columns.{name}.zone")
        return found

    def todos(self) -> list[str]:
        """The key path of every value still `TODO` (a draft's open decisions)."""
        found = [f"drop_tables.{k}" for k, v in self.drop_tables.items() if v.strip() == TODO]
        for tm in self.tables.values():
            where = f"tables.{tm.target}"
            if tm.source == TODO:
                found.append(f"{where}.from")
            for name, spec in tm.columns.items():
                texts = (spec.column, spec.expr, spec.table, spec.zone, spec.value)
                if any(isinstance(t, str) and TODO in t for t in texts):
                    found.append(f"{where}.columns.{name}")
            found += [f"{where}.drop.{k}" for k, v in tm.drop.items() if v.strip() == TODO]
        return found


class _Shape:
    """Checks of one file's values, each error naming the key's path."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, path: str, problem: str) -> UsageError:
        return UsageError(f"mapping {self.name}: {path}: {problem}")

    def table(self, value: object, path: str, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table ([{path}] or {{ ... }}), found {_kind(value)}")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise self.fail(f"{path}.{key}", f"unknown key; use {', '.join(allowed)}")
        return value

    def text(self, value: object, path: str, what: str = "a string") -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"expected {what}, found {_kind(value)}")
        return value

    def reason(self, value: object, path: str) -> str:
        text = self.text(value, path, "the reason, as a string")
        if not text.strip():
            raise self.fail(path, "give the reason, as a string")
        return text


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value})"
    return f"{type(value).__name__} {value!r}"


def _column(shape: _Shape, spec: object, path: str) -> ColumnSource:
    if isinstance(spec, str):
        return ColumnSource("column", column=spec)
    if not isinstance(spec, dict):
        raise shape.fail(
            path, f'expected a source column name or a table like {{ expr = "..." }}, found {_kind(spec)}'
        )
    kinds = [k for k in _SPEC_KEYS if k in spec]
    if len(kinds) != 1:
        raise shape.fail(path, f"give exactly one of {', '.join(_SPEC_KEYS)}")
    kind = kinds[0]
    allowed = {"id": ("id", "table"), "timestamptz": ("timestamptz", "zone")}.get(kind, (kind,))
    for key in spec:
        if key not in allowed:
            raise shape.fail(f"{path}.{key}", f"not an option of {kind}; {kind} takes {', '.join(allowed)}")
    if kind == "value":
        return ColumnSource("value", value=spec["value"])
    text = shape.text(spec[kind], f"{path}.{kind}")
    if kind == "expr":
        return ColumnSource("expr", expr=text)
    if kind == "id":
        table = shape.text(spec["table"], f"{path}.table") if "table" in spec else None
        if _is_name(text):
            return ColumnSource("id", column=text, table=table)
        if table is None:
            raise shape.fail(path, 'an id of an expression needs table = "<the source table it is a key of>"')
        return ColumnSource("id", expr=text, table=table)
    zone = shape.text(spec["zone"], f"{path}.zone") if "zone" in spec else None
    return ColumnSource(kind, column=text, zone=zone)


def _is_name(text: str) -> bool:
    """A bare column name, as the `id` of a column has always been written; anything else is SQL."""
    return text.isidentifier()


def _table(shape: _Shape, target: str, body: object) -> tuple[dict[str, Any], TableMapping]:
    path = f"tables.{target}"
    data = shape.table(body, path, ("from", "where", "join", "columns", "drop", "order_by"))
    source = shape.text(data["from"], f"{path}.from", "a source table name") if "from" in data else target
    condition = shape.text(data["where"], f"{path}.where", "SQL text") if "where" in data else None
    joins = []
    for alias, spec in shape.table(data.get("join", {}), f"{path}.join").items():
        join = shape.table(spec, f"{path}.join.{alias}", ("table", "on"))
        if "table" not in join or "on" not in join:
            raise shape.fail(
                f"{path}.join.{alias}", 'give table = "<source table>" and on = "<SQL condition>"'
            )
        table = shape.text(join["table"], f"{path}.join.{alias}.table", "a source table name")
        joins.append(Join(alias, table, shape.text(join["on"], f"{path}.join.{alias}.on", "SQL text")))
    columns = {
        c: _column(shape, spec, f"{path}.columns.{c}")
        for c, spec in shape.table(data.get("columns", {}), f"{path}.columns").items()
    }
    drops = {
        c: shape.reason(r, f"{path}.drop.{c}")
        for c, r in shape.table(data.get("drop", {}), f"{path}.drop").items()
    }
    order_by = data.get("order_by", [])
    if not isinstance(order_by, list) or not all(isinstance(c, str) and c for c in order_by):
        raise shape.fail(f"{path}.order_by", "give a list of source column names")
    return data, TableMapping(target, source, columns, drops, condition, tuple(joins), tuple(order_by))


def parse(text: str, name: str) -> Mapping:
    """The mapping in `text` (TOML); UsageError naming the first key of a wrong shape."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"mapping {name} is not valid TOML: {exc}") from None
    shape = _Shape(name)
    shape.table(data, "(top level)", ("extends", "source_schema", "target_schema", "tables", "drop_tables"))
    tables: dict[str, TableMapping] = {}
    given: dict[str, dict[str, Any]] = {}
    for target, body in shape.table(data.get("tables", {}), "tables").items():
        given[target], tables[target] = _table(shape, target, body)
    drop_tables = {
        k: shape.reason(v, f"drop_tables.{k}")
        for k, v in shape.table(data.get("drop_tables", {}), "drop_tables").items()
    }
    mapping = Mapping(
        name=name,
        source_schema=shape.text(data.get("source_schema", "public"), "source_schema", "a schema name"),
        target_schema=shape.text(data.get("target_schema", "public"), "target_schema", "a schema name"),
        tables=tables,
        drop_tables=drop_tables,
    )
    if "extends" in data:
        base = shape.text(data["extends"], "extends")
        if base != "lab":
            raise shape.fail("extends", f'unknown mapping {base!r}; the only built-in one is "lab"')
        mapping = _extend(lab(), mapping, given)
    return mapping


def _extend(base: Mapping, over: Mapping, given: dict[str, dict[str, Any]]) -> Mapping:
    """`over` laid over `base`: see the module docstring."""
    tables = dict(base.tables)
    for target, tm in over.tables.items():
        old = tables.get(target)
        if old is None:
            tables[target] = tm
            continue
        keys = given[target]
        tables[target] = replace(
            old,
            source=tm.source if "from" in keys else old.source,
            where=tm.where if "where" in keys else old.where,
            joins=tm.joins if "join" in keys else old.joins,
            order_by=tm.order_by if "order_by" in keys else old.order_by,
            columns={**old.columns, **tm.columns},
            drop={**old.drop, **tm.drop},
        )
    return replace(
        over,
        source_schema=over.source_schema,
        tables=tables,
        drop_tables={**base.drop_tables, **over.drop_tables},
    )


def lab() -> Mapping:
    """The Lab -> V1 mapping that ships with the package."""
    return parse((resources.files("veza_db.port") / "lab_v1.toml").read_text(), "lab_v1.toml (built in)")


def load(path: Path | None) -> Mapping:
    """The mapping file at `path` (UsageError when unreadable, malformed or holding a TODO), or
    the built-in Lab -> V1 mapping."""
    if path is None:
        return lab()
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read mapping {path}: {exc}") from None
    mapping = parse(text, str(path))
    if todos := mapping.todos():
        raise UsageError(
            f"mapping {path} still has {len(todos)} TODO{'s' if len(todos) > 1 else ''} to decide: "
            + ", ".join(todos)
        )
    return mapping
