"""Mapping files (TOML): how source tables and columns become V1's.

Same table and column names map by default. A mapping file adds renames, SQL expressions
evaluated on the source, built-in transforms, values for V1 columns the source lacks, and
explicit drops, each with a reason:

    source_schema = "public"

    [drop_tables]
    old_cache = "derived data, rebuilt by the API"

    [tables.users]                       # a V1 table
    from = "accounts"                    # its source table (default: the same name)
    [tables.users.columns]
    username = "name"                                      # rename
    display_name = { expr = "initcap(name)" }              # SQL on the source row
    id = { id = "id" }                                     # integer key -> deterministic uuid
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

A source column has a destination when any V1 table fed by its table reads it, or when one of
them drops it.

`id` takes `table = "..."` to name the table the integer is a key of; by default that is the
table the column references when the source declares it as a foreign key, else its own table.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from veza_db.errors import UsageError

KINDS = ("column", "expr", "sha256", "timestamptz", "id", "value")


@dataclass(frozen=True)
class ColumnSource:
    kind: str  # one of KINDS
    column: str | None = None  # the source column (column, sha256, timestamptz, id)
    expr: str | None = None
    table: str | None = None  # id: the source table the integer is a key of
    zone: str = "UTC"  # timestamptz: the time zone the source timestamps are in
    value: Any = None


@dataclass(frozen=True)
class TableMapping:
    target: str
    source: str
    columns: dict[str, ColumnSource] = field(default_factory=dict)
    drop: dict[str, str] = field(default_factory=dict)
    where: str | None = None  # a condition on the source rows (one source table feeding several)
    order_by: tuple[str, ...] = ()  # source columns the rows are copied in order of (default: the key)


@dataclass(frozen=True)
class Mapping:
    name: str
    source_schema: str = "public"
    target_schema: str = "public"
    tables: dict[str, TableMapping] = field(default_factory=dict)  # by V1 table
    drop_tables: dict[str, str] = field(default_factory=dict)  # source table -> reason


def _column(spec: object, where: str) -> ColumnSource:
    if isinstance(spec, str):
        return ColumnSource("column", column=spec)
    if not isinstance(spec, dict):
        raise UsageError(f'{where}: expected a source column name or a table like {{ expr = "..." }}')
    kinds = [k for k in KINDS if k in spec]
    if len(kinds) != 1:
        raise UsageError(f"{where}: give exactly one of {', '.join(KINDS)}")
    unknown = set(spec) - {*KINDS, "table", "zone"}
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    kind = kinds[0]
    if kind == "value":
        return ColumnSource("value", value=spec["value"])
    if kind == "expr":
        return ColumnSource("expr", expr=str(spec["expr"]))
    return ColumnSource(
        kind, column=str(spec[kind]), table=spec.get("table"), zone=str(spec.get("zone", "UTC"))
    )


def parse(text: str, name: str) -> Mapping:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"mapping {name} is not valid TOML: {exc}") from None
    unknown = set(data) - {"source_schema", "target_schema", "tables", "drop_tables"}
    if unknown:
        raise UsageError(f"mapping {name}: unknown key {sorted(unknown)[0]!r}")
    tables: dict[str, TableMapping] = {}
    for target, body in data.get("tables", {}).items():
        where = f"mapping {name}: tables.{target}"
        extra = set(body) - {"from", "where", "columns", "drop", "order_by"}
        if extra:
            raise UsageError(
                f"{where}: unknown key {sorted(extra)[0]!r}; use from, where, columns, drop, order_by"
            )
        order_by = body.get("order_by", [])
        if not isinstance(order_by, list) or not all(isinstance(c, str) and c for c in order_by):
            raise UsageError(f"{where}.order_by: give a list of source column names")
        drops = {str(k): str(v) for k, v in body.get("drop", {}).items()}
        if empty := [k for k, v in drops.items() if not v.strip()]:
            raise UsageError(f"{where}.drop.{empty[0]}: give the reason the column is dropped")
        columns = {
            str(c): _column(spec, f"{where}.columns.{c}") for c, spec in body.get("columns", {}).items()
        }
        condition = str(body["where"]) if "where" in body else None
        tables[str(target)] = TableMapping(
            str(target), str(body.get("from", target)), columns, drops, condition, tuple(order_by)
        )
    drop_tables = {str(k): str(v) for k, v in data.get("drop_tables", {}).items()}
    if empty := [k for k, v in drop_tables.items() if not v.strip()]:
        raise UsageError(f"mapping {name}: drop_tables.{empty[0]} needs a reason")
    return Mapping(
        name=name,
        source_schema=str(data.get("source_schema", "public")),
        target_schema=str(data.get("target_schema", "public")),
        tables=tables,
        drop_tables=drop_tables,
    )


def load(path: Path | None) -> Mapping:
    """The mapping file at `path`, or the Lab -> V1 mapping that ships with the package."""
    if path is None:
        return parse((resources.files("veza_db.port") / "lab_v1.toml").read_text(), "lab_v1.toml (built in)")
    try:
        return parse(path.read_text(), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read mapping {path}: {exc}") from None
