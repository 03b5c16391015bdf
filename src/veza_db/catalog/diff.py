"""Compare two schema models: a small pure function, keyed by each object's identity.

Each difference names one object and says what differs, expected (the canonical schema)
against found (the database). Only the schemas given are compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from veza_db.catalog.model import Catalog, Table

T = TypeVar("T")


@dataclass(frozen=True)
class Difference:
    change: str  # "added" | "removed" | "changed"
    kind: str  # table, column, index, foreign key, ...
    object: str  # qualified name
    detail: str = ""  # what differs, for "changed"
    expected: str | None = None
    found: str | None = None

    def line(self) -> str:
        if self.change == "added":
            return f"added    {self.kind} {self.object}: not in the canonical schema"
        if self.change == "removed":
            return f"removed  {self.kind} {self.object}: in the canonical schema, missing here"
        return (
            f"changed  {self.kind} {self.object}: {self.detail} expected {self.expected}, found {self.found}"
        )


def _show(value: object) -> str:
    return "NULL" if value is None else str(value)


def _keyed(
    kind: str,
    prefix: str,
    expected: Mapping[str, T],
    found: Mapping[str, T],
    fields: Callable[[T], dict[str, object]],
) -> Iterator[Difference]:
    for name in sorted(expected.keys() - found.keys()):
        yield Difference("removed", kind, f"{prefix}{name}")
    for name in sorted(found.keys() - expected.keys()):
        yield Difference("added", kind, f"{prefix}{name}")
    for name in sorted(expected.keys() & found.keys()):
        want, have = fields(expected[name]), fields(found[name])
        for attribute, value in want.items():
            if have[attribute] != value:
                yield Difference(
                    "changed", kind, f"{prefix}{name}", f"{attribute}", _show(value), _show(have[attribute])
                )


# The named parts of a table, each compared by name: (kind, the parts, the fields compared).
_PARTS: tuple[tuple[str, Callable[[Table], Iterable[Any]], Callable[[Any], dict[str, object]]], ...] = (
    (
        "column",
        lambda t: t.columns,
        lambda c: {
            "type": c.type,
            "nullability": "NULL" if c.nullable else "NOT NULL",
            "default": c.default,
            "identity": c.identity,
            "comment": c.comment,
        },
    ),
    (
        "primary key",
        lambda t: (t.primary_key,) if t.primary_key else (),
        lambda k: {"columns": ", ".join(k.columns)},
    ),
    ("unique constraint", lambda t: t.uniques, lambda u: {"columns": ", ".join(u.columns)}),
    (
        "foreign key",
        lambda t: t.foreign_keys,
        lambda f: {
            "columns": ", ".join(f.columns),
            "references": f"{f.ref_schema}.{f.ref_table} ({', '.join(f.ref_columns)})",
            "ON DELETE": f.on_delete,
            "ON UPDATE": f.on_update,
        },
    ),
    ("check constraint", lambda t: t.checks, lambda c: {"expression": c.expression}),
    (
        "index",
        lambda t: t.indexes,
        lambda i: {
            "columns": ", ".join(i.columns),
            "unique": i.unique,
            "predicate": i.predicate,
            "method": i.method,
        },
    ),
    ("trigger", lambda t: t.triggers, lambda t: {"definition": t.definition}),
)


def _table(want: Table, have: Table) -> Iterator[Difference]:
    prefix = f"{want.qualified}."
    for kind, parts, fields in _PARTS:
        expected = {part.name: part for part in parts(want)}
        found = {part.name: part for part in parts(have)}
        yield from _keyed(kind, prefix, expected, found, fields)
    if want.comment != have.comment:
        yield Difference(
            "changed", "table", want.qualified, "comment", _show(want.comment), _show(have.comment)
        )


def diff(
    expected: Catalog, found: Catalog, schemas: Iterable[str], ignore_tables: Iterable[str] = ()
) -> list[Difference]:
    """Every difference between two models within `schemas`, tables in `ignore_tables` aside."""
    owned, ignored = set(schemas), set(ignore_tables)

    def tables(catalog: Catalog) -> dict[str, Table]:
        return {t.qualified: t for t in catalog.tables if t.schema in owned and t.qualified not in ignored}

    want, have = tables(expected), tables(found)
    differences = [Difference("removed", "table", name) for name in sorted(want.keys() - have.keys())]
    differences += [Difference("added", "table", name) for name in sorted(have.keys() - want.keys())]
    for name in sorted(want.keys() & have.keys()):
        differences.extend(_table(want[name], have[name]))
    differences.extend(
        _keyed(
            "function",
            "",
            {f"{f.schema}.{f.name}({f.arguments})": f for f in expected.functions if f.schema in owned},
            {f"{f.schema}.{f.name}({f.arguments})": f for f in found.functions if f.schema in owned},
            lambda f: {"definition": f.definition},
        )
    )
    differences.extend(
        _keyed(
            "domain",
            "",
            {d.qualified: d for d in expected.domains if d.schema in owned},
            {d.qualified: d for d in found.domains if d.schema in owned},
            lambda d: {
                "base type": d.base_type,
                "nullability": "NULL" if d.nullable else "NOT NULL",
                "default": d.default,
                "checks": "; ".join(f"{c.name} {c.expression}" for c in d.checks),
                "comment": d.comment,
            },
        )
    )
    for kind, want_items, have_items in (
        ("view", expected.views, found.views),
        ("sequence", expected.sequences, found.sequences),
    ):
        differences.extend(
            _keyed(
                kind,
                "",
                {f"{v.schema}.{v.name}": v for v in want_items if v.schema in owned},
                {f"{v.schema}.{v.name}": v for v in have_items if v.schema in owned},
                lambda v: {},
            )
        )
    return differences
