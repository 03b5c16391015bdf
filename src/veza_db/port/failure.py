"""Name the row a port stopped on: its source table and key, the V1 constraint, the values.

A row V1 refuses fails on the target: PostgreSQL names the constraint and the COPY line, and
line N is the Nth row of the table's stream (the source query in key order), so the key is the
source query's Nth key. A row whose mapping expression fails (a cast, a division by zero) fails
on the source, where no line is known: the first failing row is found by halving key ranges,
each probe evaluating the mapping on the rows below a key only (about log2(rows) probes).

Only the values of the constrained columns are shown, never the whole row: a row may hold a
credential's hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import sql

from veza_db.catalog.model import Catalog, Table
from veza_db.port import plan

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[Any, ...]]

# SQLSTATE classes of a row the mapping or the data gets wrong (a fixed mapping cures them); any
# other failure (a lost connection, a stopped server) is cured by carrying on where it stopped.
_DATA_CLASSES = ("22", "23", "42", "2B")
# PostgreSQL's CONTEXT of a COPY FROM error: "COPY t, line N" or, when one column's value is
# refused (a type, a domain's CHECK), "COPY t, line N, column c" (binary format: nothing after).
_COPY_LINE = re.compile(r"^COPY \S+, line (\d+)(?:, column ([^:\s]+))?")
_SHOWN = 120  # characters of a value shown


@dataclass(frozen=True)
class RowFailure:
    """One row the port cannot write, in words: `line()`."""

    target: str  # V1 table
    source: str  # source table
    key: str  # "id = 42" (the source key), or "" when it could not be found
    constraint: str  # the V1 constraint, or "" for an error computing a value
    values: str  # "status = 'gone'", or the error's own words
    error: str  # PostgreSQL's message

    def line(self) -> str:
        row = f"source table {self.source}, row {self.key}" if self.key else f"source table {self.source}"
        if self.constraint:
            shown = f" ({self.values})" if self.values else ""
            return f"{row}: breaks V1 {self.target}.{self.constraint}{shown}: {self.error}"
        return f"{row}: computing V1 {self.target}'s values failed: {self.error}"


def is_data_error(exc: psycopg.Error) -> bool:
    """A failure the mapping or the data causes (a constraint, a cast), not the connection."""
    state = exc.sqlstate or ""
    return state[:2] in _DATA_CLASSES


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    text = str(value) if isinstance(value, int | float) else repr(str(value))
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _names_in(expressions: list[str]) -> list[str]:
    found: set[str] = set()
    for text in expressions:
        try:
            found |= {name for _, name in plan.columns_in(text)}
        except Exception:  # noqa: S112 - an expression PostgreSQL printed parses; else show no values
            continue
    return sorted(found)


def _constrained(table: Table | None, constraint: str, column: str | None) -> list[str]:
    """The V1 columns a constraint reads (a NOT NULL names its column itself)."""
    if column or table is None:
        return [column] if column else []
    by_name: dict[str, list[str]] = {k.name: list(k.columns) for k in table.uniques}
    by_name |= {k.name: list(k.columns) for k in table.foreign_keys}
    if table.primary_key:
        by_name[table.primary_key.name] = list(table.primary_key.columns)
    by_name |= {c.name: _names_in([c.expression]) for c in table.checks}
    by_name |= {i.name: _names_in(list(i.columns)) for i in table.indexes}
    return by_name.get(constraint, [])


class _Rows:
    """The rows of one table's stream, fetched again one at a time by offset or key."""

    def __init__(self, conn: Conn, p: plan.TablePlan) -> None:
        self.conn, self.p = conn, p
        self.order = sql.SQL(", ").join(p.key_refs)

    def key_at(self, offset: int) -> tuple[Any, ...] | None:
        row = self.conn.execute(
            sql.SQL("SELECT {} {} ORDER BY {} OFFSET {} LIMIT 1").format(
                self.order, self.p.rows_from(), self.order, sql.Literal(offset)
            )
        ).fetchone()
        return tuple(row) if row is not None else None

    def below(self, key: tuple[Any, ...] | None) -> sql.Composed:
        """The stream's rows before `key` (all of them for None), every value evaluated."""
        bounds: list[sql.Composable] = []
        if key is not None:
            bounds.append(
                sql.SQL("({}) < ({})").format(self.order, sql.SQL(", ").join(sql.Literal(v) for v in key))
            )
        # Every value is printed (t::text), so none is skipped as unused; the key bound is a
        # condition, checked before the values are computed.
        return sql.SQL("SELECT count(t::text) FROM (SELECT {} {}) t").format(
            sql.SQL(", ").join(self.p.values), self.p.rows_from(*bounds)
        )

    def fails_below(self, key: tuple[Any, ...] | None) -> bool:
        import psycopg

        try:
            self.conn.execute(self.below(key))
        except psycopg.Error:
            return True
        return False

    def first_failing(self) -> tuple[Any, ...] | None:
        """The key of the first row whose values cannot be computed (None if none fails now)."""
        row = self.conn.execute(sql.SQL("SELECT count(*) {}").format(self.p.rows_from())).fetchone()
        total = int(row[0]) if row else 0
        if not self.fails_below(None):
            return None
        low, high = 0, total - 1  # the failing row's offset lies in [low, high]
        while low < high:
            middle = (low + high) // 2
            if self.fails_below(self.key_at(middle + 1)):
                high = middle
            else:
                low = middle + 1
        return self.key_at(low)

    def values_at(self, offset: int, columns: list[str]) -> dict[str, object]:
        index = {c: i for i, c in enumerate(self.p.columns)}
        wanted = [c for c in columns if c in index]
        if not wanted:
            return {}
        row = self.conn.execute(
            sql.SQL("SELECT {} {} ORDER BY {} OFFSET {} LIMIT 1").format(
                sql.SQL(", ").join(self.p.values[index[c]] for c in wanted),
                self.p.rows_from(),
                self.order,
                sql.Literal(offset),
            )
        ).fetchone()
        return dict(zip(wanted, row, strict=True)) if row else {}


def describe(conn: Conn, p: plan.TablePlan, target: Catalog, exc: psycopg.Error) -> RowFailure:
    """The failing row of `p`'s copy, read again from the source on `conn` (out of any failed
    transaction). Raises nothing: what cannot be found is left out."""
    import psycopg

    diag = exc.diag
    message = (diag.message_primary or str(exc)).strip()
    context = (diag.context or "").splitlines()
    line = next((m for c in context if (m := _COPY_LINE.match(c.strip()))), None)
    rows = _Rows(conn, p)
    key_text, values_text, constraint = "", "", diag.constraint_name or ""
    try:
        if line is not None:  # the target refused row N of the stream
            offset = int(line.group(1)) - 1
            key = rows.key_at(offset)
            table = target.table("public", p.target)
            # A domain's CHECK names no column of its own: COPY's context does.
            columns = _constrained(table, constraint, diag.column_name or line.group(2))
            values = rows.values_at(offset, columns)
            values_text = ", ".join(f"{c} = {_literal(v)}" for c, v in values.items())
            if not constraint and diag.column_name:
                constraint = f"{diag.column_name} (type)"
        else:  # a value could not be computed on the source
            key = rows.first_failing()
    except psycopg.Error:
        key = None
    if key is not None:
        key_text = ", ".join(f"{k} = {_literal(v)}" for k, v in zip(p.key, key, strict=False))
    return RowFailure(p.target, p.source, key_text, constraint, values_text, message)
