"""Compare two schema models: a small pure function, keyed by each object's identity.

Each difference names one object and says what differs, expected (the canonical schema)
against found (the database). Only the schemas given are compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

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


def _by_name(items: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    return {key(item): item for item in items}


def _table(want: Table, have: Table) -> Iterator[Difference]:
    prefix = f"{want.qualified}."
    yield from _keyed(
        "column",
        prefix,
        _by_name(want.columns, lambda c: c.name),
        _by_name(have.columns, lambda c: c.name),
        lambda c: {
            "type": c.type,
            "nullability": "NULL" if c.nullable else "NOT NULL",
            "default": c.default,
            "identity": c.identity,
            "comment": c.comment,
        },
    )
    pk = {want.primary_key.name: want.primary_key} if want.primary_key else {}
    found_pk = {have.primary_key.name: have.primary_key} if have.primary_key else {}
    yield from _keyed("primary key", prefix, pk, found_pk, lambda k: {"columns": ", ".join(k.columns)})
    yield from _keyed(
        "unique constraint",
        prefix,
        _by_name(want.uniques, lambda u: u.name),
        _by_name(have.uniques, lambda u: u.name),
        lambda u: {"columns": ", ".join(u.columns)},
    )
    yield from _keyed(
        "foreign key",
        prefix,
        _by_name(want.foreign_keys, lambda f: f.name),
        _by_name(have.foreign_keys, lambda f: f.name),
        lambda f: {
            "columns": ", ".join(f.columns),
            "references": f"{f.ref_schema}.{f.ref_table} ({', '.join(f.ref_columns)})",
            "ON DELETE": f.on_delete,
            "ON UPDATE": f.on_update,
        },
    )
    yield from _keyed(
        "check constraint",
        prefix,
        _by_name(want.checks, lambda c: c.name),
        _by_name(have.checks, lambda c: c.name),
        lambda c: {"expression": c.expression},
    )
    yield from _keyed(
        "index",
        prefix,
        _by_name(want.indexes, lambda i: i.name),
        _by_name(have.indexes, lambda i: i.name),
        lambda i: {
            "columns": ", ".join(i.columns),
            "unique": i.unique,
            "predicate": i.predicate,
            "method": i.method,
        },
    )
    yield from _keyed(
        "trigger",
        prefix,
        _by_name(want.triggers, lambda t: t.name),
        _by_name(have.triggers, lambda t: t.name),
        lambda t: {"definition": t.definition},
    )
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
