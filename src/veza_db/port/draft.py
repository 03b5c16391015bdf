"""A draft mapping from two catalogs: `veza-db port --init-mapping FILE`.

For each V1 table, its likely source table (the same name, else the most similar name with
columns in common); for each V1 column not filled by name, a guess, in this order:

* a foreign key: the source column that references the source table of the V1 parent;
* a plaintext secret: `sha256` of the source column named like the V1 `*_hash` column's stem;
* a unit change, by the names' suffixes: `duration_seconds` into `duration_ms` as `* 1000`;
* a status from a boolean: a `CASE` skeleton listing the values the V1 CHECK allows;
* a rename: the most similar unused source name of a compatible type.

Every guess carries a comment saying so; what cannot be decided is `TODO` (a V1 column that
needs a value, the reason a source column or table is dropped), and `veza-db port` refuses a
mapping that still holds one, naming each.
"""

from __future__ import annotations

import difflib
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from veza_db.catalog import expr
from veza_db.catalog.model import Catalog, Column, Table
from veza_db.errors import RefusedError, UsageError
from veza_db.port import plan
from veza_db.port.mapping import TODO

_SIMILAR = 0.6  # difflib ratio from which two names are taken for one another
_COLUMN_ALIKE = 0.7  # stricter for a table's columns: "_id" alone makes names 60% alike
_TABLE_SCORE = 0.4  # _table_score from which a source table is guessed for a V1 table
_EVERYWHERE = {"id", "created_at", "updated_at", "deleted_at"}
# (V1 suffix, source suffix, SQL applied to the source column, what it says)
_UNITS = (
    ("_ms", "_seconds", "{} * 1000", "seconds to milliseconds"),
    ("_ms", "_secs", "{} * 1000", "seconds to milliseconds"),
    ("_ms", "_s", "{} * 1000", "seconds to milliseconds"),
    ("_seconds", "_ms", "{} / 1000", "milliseconds to seconds"),
    ("_bytes", "_kb", "{} * 1024", "kibibytes to bytes"),
    ("_bytes", "_mb", "{} * 1048576", "mebibytes to bytes"),
    ("_kbps", "_bps", "{} / 1000", "bits to kilobits per second"),
)
_FAMILIES = (
    {"smallint", "integer", "bigint", "numeric", "real", "double precision"},
    {"text", "character varying", "character", "citext"},
    {"timestamp with time zone", "timestamp without time zone", "date"},
)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")  # TOML's bare keys


def _family(type_: str) -> int:
    base = type_.split("(", maxsplit=1)[0].strip()
    return next((i for i, f in enumerate(_FAMILIES) if base in f), -1 - hash(base) % 1000)


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _table_score(target: Table, source: Table) -> float:
    """How alike a V1 table and a source table are, from 0 to 1: the mean of their names'
    likeness, the share of the source's columns with a like V1 name, and the share of the V1
    columns that need a value with a like source name (id and timestamps every table has aside)."""

    def alike(names: list[str], others: list[str]) -> float:
        found = sum(1 for n in names if any(_similar(n, o) >= _COLUMN_ALIKE for o in others))
        return found / max(len(names), 1)

    own = [c.name for c in source.columns if c.name not in _EVERYWHERE]
    needed = [
        c.name for c in target.columns if not c.nullable and c.default is None and c.name not in _EVERYWHERE
    ]
    return (
        _similar(target.name, source.name)
        + alike(own, [c.name for c in target.columns])
        + alike(needed, [c.name for c in source.columns])
    ) / 3


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def _text(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def allowed_values(table: Table, column: str) -> list[str]:
    """The string constants of the CHECKs that read only `column` (an `IN (...)` list); a domain's
    rules count as the column's (see `plain_tables`)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            const = node.get("A_Const")
            if isinstance(const, dict) and isinstance(const.get("sval"), dict):
                found.append(str(const["sval"]["sval"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for check in table.checks:
        try:
            if {name for _, name in plan.columns_in(check.expression)} == {column}:
                walk(expr.parse(check.expression))
        except Exception:  # noqa: S112 - a check PostgreSQL printed parses; without it, no list
            continue
    return list(dict.fromkeys(found))


def _derived(column: Column, free: list[Column]) -> tuple[str, str, str] | None:
    """A plaintext secret to hash, or a value in another unit, by the names."""
    if column.name.endswith("_hash"):
        stem = column.name.removesuffix("_hash")
        for c in free:
            if c.name == stem or c.name.endswith(stem):
                return (
                    f"{{ sha256 = {_text(c.name)} }}",
                    f"guess: {c.name} looks like a plaintext secret",
                    c.name,
                )
    for v1_suffix, src_suffix, template, words in _UNITS:
        if column.name.endswith(v1_suffix):
            wanted = column.name.removesuffix(v1_suffix) + src_suffix
            for c in free:
                if c.name == wanted:
                    sql_text = template.format(c.name)
                    return f"{{ expr = {_text(sql_text)} }}", f"guess: {words}", c.name
    return None


def _by_name(target: Table, column: Column, free: list[Column]) -> tuple[str, str, str] | None:
    """A status from a boolean (V1's CHECK lists the values), or a renamed column."""
    allowed = allowed_values(target, column.name) if column.type == "text" else []
    if allowed:  # a boolean whose name is one of the values (is_active: 'active'), or the column's
        best: tuple[float, Column, str] | None = None
        for c in (c for c in free if c.type == "boolean"):
            stem = c.name.removeprefix("is_").removeprefix("has_")
            value = max(allowed, key=lambda v: _similar(stem, v))
            score = max(_similar(stem, value), _similar(c.name, column.name))
            if score >= _SIMILAR and (best is None or score > best[0]):
                best = (score, c, value)
        if best is not None:
            _, c, value = best
            skeleton = f"CASE WHEN {c.name} THEN '{value}' ELSE '{TODO}' END"
            choices = ", ".join(f"'{v}'" for v in allowed)
            return f"{{ expr = {_text(skeleton)} }}", f"guess: boolean {c.name}; V1 allows {choices}", c.name
    family = _family(column.type)
    renames = [c for c in free if _family(c.type) == family or (column.type == c.type == "uuid")]
    if renames:
        c = max(renames, key=lambda r: _similar(r.name, column.name))
        score = _similar(c.name, column.name)
        if score >= _SIMILAR or column.name in c.name or c.name in column.name:
            comment = f"guess: renamed ({c.type}, names {score:.0%} alike)"
            if column.type == "timestamp with time zone" and c.type == "timestamp without time zone":
                value = f'{{ timestamptz = {_text(c.name)}, zone = "UTC" }}'
                return value, comment + "; a local time: say the zone its values were written in", c.name
            return _text(c.name), comment, c.name
    return None


@dataclass
class _Entry:
    lines: list[str] = field(default_factory=list)  # the table's TOML, comments included
    reads: set[str] = field(default_factory=set)  # source columns read


def plain_tables(catalog: Catalog) -> list[Table]:
    """The catalog's tables with each domain-typed column as its base type and the domain's CHECKs
    as the table's (`VALUE` read as the column): what a source column is compared with."""
    import dataclasses

    tables = []
    for table in catalog.tables:
        columns, checks = [], list(table.checks)
        for column in table.columns:
            domain = catalog.domain(column.type)
            if domain is None:
                columns.append(column)
                continue
            columns.append(dataclasses.replace(column, type=domain.base_type))
            for check in domain.checks:
                tree = _renamed_value(expr.parse(check.expression), column.name)
                checks.append(dataclasses.replace(check, expression=expr.deparse(tree)))
        tables.append(dataclasses.replace(table, columns=tuple(columns), checks=tuple(checks)))
    return tables


def _renamed_value(node: Any, column: str) -> Any:
    """A copy of the expression tree with a domain's `VALUE` read as `column`."""
    if isinstance(node, dict):
        if node.get("ColumnRef", {}).get("fields") == [{"String": {"sval": "value"}}]:
            return {"ColumnRef": {"fields": [{"String": {"sval": column}}]}}
        return {key: _renamed_value(value, column) for key, value in node.items()}
    if isinstance(node, list):
        return [_renamed_value(value, column) for value in node]
    return node


class _Drafter:
    def __init__(self, source: Catalog, target: Catalog, schema: str = "public") -> None:
        self.schema = schema
        self.sources = {t.name: t for t in source.tables if t.schema == schema and t.name not in plan.TOOLING}
        targets = [t for t in plain_tables(target) if t.schema == "public" and t.name not in plan.TOOLING]
        self.targets = plan.order_by_dependencies(targets)
        self.chosen: dict[str, Table] = {}  # V1 table -> its source table

    def choose_sources(self) -> dict[str, str]:
        """V1 table -> why its source was chosen ("" for the same name). Other pairs are taken
        best first, each source table once, scored by their names and their columns' names."""
        why: dict[str, str] = {}
        for table in self.targets:
            if table.name in self.sources:
                self.chosen[table.name], why[table.name] = self.sources[table.name], ""
        used = {t.name for t in self.chosen.values()}
        pairs = sorted(
            (
                (_table_score(t, src), t.name, src.name)
                for t in self.targets
                if t.name not in self.chosen
                for src in self.sources.values()
                if src.name not in used
            ),
            reverse=True,
        )
        for score, target, source in pairs:
            if score >= _TABLE_SCORE and target not in self.chosen and source not in used:
                self.chosen[target] = self.sources[source]
                used.add(source)
                why[target] = f"guess: the most similar source table (names and columns {score:.0%} alike)"
        return why

    def column(
        self, target: Table, src: Table, column: Column, free: list[Column]
    ) -> tuple[str, str, str] | None:
        """(TOML value, comment, source column read) for a V1 column the source lacks, or None."""
        return (
            self.reference(target, src, column, free)
            or _derived(column, free)
            or _by_name(target, column, free)
        )

    def reference(
        self, target: Table, src: Table, column: Column, free: list[Column]
    ) -> tuple[str, str, str] | None:
        """The source column that references the source of the V1 column's parent table."""
        for fk in target.foreign_keys:
            parent = self.chosen.get(fk.ref_table)
            if fk.columns == (column.name,) and parent is not None:
                for c in free:
                    if any(f.columns == (c.name,) and f.ref_table == parent.name for f in src.foreign_keys):
                        value = _text(c.name) if c.type == "uuid" else f"{{ id = {_text(c.name)} }}"
                        return (
                            value,
                            f"guess: {c.name} references {parent.name}, {fk.ref_table}'s source",
                            c.name,
                        )
        return None

    def table(self, target: Table, src: Table, why: str) -> _Entry:
        entry = _Entry()
        header = [f"[tables.{_key(target.name)}]"]
        if src.name != target.name:
            header.append(f"from = {_text(src.name)}  # {why}")
        lines: list[str] = []
        own = {c.name: c for c in src.columns}
        entry.reads = {c.name for c in target.columns if c.name in own}
        assigned = set(entry.reads)  # source columns that fill a V1 column
        if src.primary_key:
            entry.reads |= set(src.primary_key.columns)  # the id is computed from the source key
        for column in target.columns:
            origin = own.get(column.name)
            if origin is not None:
                lines += _same_name(src, column, origin)
                continue
            if column.name == "id" and src.primary_key:
                continue  # computed from the source key
            free = [c for c in src.columns if c.name not in assigned]
            guess = self.column(target, src, column, free)
            if guess is not None:
                value, comment, read = guess
                lines.append(f"{_key(column.name)} = {value}  # {comment}")
                entry.reads.add(read)
                assigned.add(read)
            elif not column.nullable and column.default is None:
                lines.append(
                    f'{_key(column.name)} = "{TODO}"  # V1 needs a value: which source column or expr?'
                )
            elif not column.nullable and column.name != "id":
                # Worth a look: a default such as CURRENT_TIMESTAMP differs from one port to the next.
                lines.append(f"# {column.name}: no source column; V1's default fills it: {column.default}")
        drops = [c.name for c in src.columns if c.name not in entry.reads]
        entry.lines = header
        if lines:
            entry.lines += ["", f"[tables.{_key(target.name)}.columns]", *lines]
        if drops:
            entry.lines += [
                "",
                f"[tables.{_key(target.name)}.drop]  # no V1 column found: map each, or say why not",
            ]
            entry.lines += [f'{_key(c)} = "{TODO}"' for c in drops]
        return entry


def _same_name(src: Table, column: Column, origin: Column) -> list[str]:
    """What a V1 column filled by the same name still needs said (a zone, a key's table)."""
    name = _key(column.name)
    if column.type == "timestamp with time zone" and origin.type == "timestamp without time zone":
        value = f'{{ timestamptz = {_text(column.name)}, zone = "UTC" }}'
        return [f"{name} = {value}  # guess: a local time; say the zone its values were written in"]
    if column.type == "uuid" and origin.type in ("smallint", "integer", "bigint"):
        key = src.primary_key is not None and src.primary_key.columns == (column.name,)
        if not key and not any(f.columns == (column.name,) for f in src.foreign_keys):
            value = f'{{ id = {_text(column.name)}, table = "{TODO}" }}'
            return [f"{name} = {value}  # an integer key of which source table?"]
    return []


def draft(source: Catalog, target: Catalog, source_name: str) -> str:
    """The draft mapping's TOML text for `source` into the V1 catalog `target`."""
    drafter = _Drafter(source, target)
    why = drafter.choose_sources()
    out = [
        f"# Draft mapping from {source_name} to V1, written by `veza-db port --init-mapping`.",
        "# Same names map by default and are not listed. Every guess says so in a comment: check it.",
        f'# Replace each "{TODO}" (veza-db port refuses the file while one is left), then run',
        "# `veza-db port --dry-run` with it: it writes every row in a transaction it rolls back.",
        "",
        'source_schema = "public"',
    ]
    fed = {src.name for src in drafter.chosen.values()}
    unmapped = sorted(set(drafter.sources) - fed)
    if unmapped:
        out += ["", "[drop_tables]  # no V1 table found for these: map each, or say why it is dropped"]
        out += [f'{_key(name)} = "{TODO}"' for name in unmapped]
    empty = [t.name for t in drafter.targets if t.name not in drafter.chosen]
    if empty:
        out += ["", "# V1 tables with no source table (they stay empty):"]
        out += textwrap.wrap(", ".join(empty), 96, initial_indent="#   ", subsequent_indent="#   ")
    for table in drafter.targets:
        src = drafter.chosen.get(table.name)
        if src is not None:
            entry = drafter.table(table, src, why[table.name])
            if len(entry.lines) > 1:
                out += ["", *entry.lines]
    return "\n".join(out) + "\n"


def refuse_existing(path: Path) -> NoReturn:
    raise RefusedError(f"{path} exists and --init-mapping never overwrites a file: remove it or name another")


def write(path: Path, source: Catalog, target: Catalog, source_name: str) -> None:
    """Write the draft to `path`; RefusedError if the file exists (a draft is never overwritten)."""
    text = draft(source, target, source_name)
    try:
        with path.open("x") as out:
            out.write(text)
    except FileExistsError:
        refuse_existing(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
