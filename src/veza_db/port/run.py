"""Run a port: check the target, plan, stream each table with COPY, record progress, verify.

Each V1 table is filled by one `COPY (SELECT ...) TO STDOUT` on the source piped into one
`COPY ... FROM STDIN` on the target, inside one target transaction that also records the table
as done in the bookkeeping schema `veza_port` (never in `public`). A killed port therefore
leaves whole tables only, and `--resume` carries on at the first unfinished one. Rows cross
Python as opaque COPY lines: nothing is parsed, so memory stays flat whatever the row count.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import sql

from veza_db import db, dburl
from veza_db.catalog import live
from veza_db.errors import CheckFailed, DatabaseError, RefusedError
from veza_db.migrate import discover, history
from veza_db.port import ids, mapping, plan

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[Any, ...]]

BOOKKEEPING = "veza_port"
_WRITE_BYTES = 128 * 1024  # memory stays flat: at most this much is held between writes
# Both sides print values the same way, so a row's text (and its checksum) is comparable.
_SESSION = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 3",
    "SET bytea_output = 'hex'",
    # A parallel scan would interleave the stream; in key order, v7 ids reach the index in order.
    "SET max_parallel_workers_per_gather = 0",
)


@dataclass
class TableResult:
    target: str
    source: str
    source_rows: int = 0
    target_rows: int = 0
    source_checksum: str = ""
    target_checksum: str = ""
    seconds: float = 0.0
    resumed: bool = False  # copied by an earlier, interrupted run

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


@dataclass
class PortReport:
    source: str
    target: str
    tables: list[TableResult] = field(default_factory=list)
    broken_foreign_keys: list[str] = field(default_factory=list)
    plaintext_left: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables) and not self.broken_foreign_keys and not self.plaintext_left


Progress = Callable[[str, int, int], None]  # (table, rows done, rows expected)


def _prepare(conn: Conn) -> None:
    for statement in _SESSION:
        conn.execute(statement.encode())


def _fingerprint(plans: list[plan.TablePlan], conn: Conn) -> str:
    text = "\n".join(f"{p.target}: {p.select.as_string(conn)}" for p in plans)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_target_head(conn: Conn) -> None:
    state = history.read(conn)
    head = discover.discover(discover.package_dir())[-1].version
    if state.dirty or state.version != head:
        raise RefusedError(
            f"the target is at version {state.version}{' (dirty)' if state.dirty else ''}, "
            f"not V1 head {head}: "
            "run `veza-db up` on it first"
        )


def _bookkeeping_exists(conn: Conn) -> bool:
    row = conn.execute("SELECT to_regclass('veza_port.tables') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _ensure_bookkeeping(conn: Conn, fingerprint: str, source: str) -> None:
    with conn.transaction():
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING}".encode())
        conn.execute(
            b"CREATE TABLE IF NOT EXISTS veza_port.run ("
            b"fingerprint text NOT NULL, source text NOT NULL, started_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            b"CREATE TABLE IF NOT EXISTS veza_port.tables (target text PRIMARY KEY, source text NOT NULL, "
            b"rows bigint NOT NULL, seconds double precision NOT NULL, "
            b"finished_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(ids.FUNCTION_SQL.encode())
        if conn.execute(b"SELECT count(*) FROM veza_port.run").fetchone() == (0,):
            conn.execute(
                "INSERT INTO veza_port.run (fingerprint, source) VALUES (%s, %s)", (fingerprint, source)
            )


def _done(conn: Conn) -> dict[str, tuple[int, float]]:
    if not _bookkeeping_exists(conn):
        return {}
    rows = conn.execute(b"SELECT target, rows, seconds FROM veza_port.tables").fetchall()
    return {str(r[0]): (int(r[1]), float(r[2])) for r in rows}


def _target_rows(conn: Conn, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", table))).fetchone()
    return int(row[0]) if row else 0


def _has_rows(conn: Conn, table: str) -> bool:
    row = conn.execute(
        sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier("public", table))
    ).fetchone()
    return bool(row and row[0])


def _checksum(conn: Conn, query: sql.Composable) -> tuple[int, str]:
    """Row count and an order-independent checksum of the rows' text."""
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(sum(hashtextextended(t::text, 7)::numeric), 0)::text FROM ({}) t"
        ).format(query)
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _copy(source: Conn, target: Conn, p: plan.TablePlan, expected: int, progress: Progress | None) -> int:
    copied = 0
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in p.columns)
    with target.transaction():
        out_sql = sql.SQL("COPY ({}) TO STDOUT").format(p.select)
        in_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier("public", p.target), columns)
        with source.cursor().copy(out_sql) as out, target.cursor().copy(in_sql) as into:
            # COPY lines pass through untouched, gathered into large writes: one write per row
            # costs a driver round per row, about a third of the relay's time.
            pending = bytearray()
            for row in out:
                pending += row
                copied += 1
                if len(pending) >= _WRITE_BYTES:
                    into.write(pending)
                    pending.clear()
                if progress is not None and copied % 50_000 == 0:
                    progress(p.target, copied, expected)
            if pending:
                into.write(pending)
        target.execute(
            "INSERT INTO veza_port.tables (target, source, rows, seconds) VALUES (%s, %s, %s, 0)",
            (p.target, p.source, copied),
        )
    if progress is not None:
        progress(p.target, copied, expected)
    return copied


@contextmanager
def _connections(source_url: dburl.DatabaseUrl, target_url: dburl.DatabaseUrl) -> Iterator[tuple[Conn, Conn]]:
    with db.connect(source_url, autocommit=True) as source, db.connect(target_url, autocommit=True) as target:
        _prepare(source)
        _prepare(target)
        yield source, target


def port(
    source_url: dburl.DatabaseUrl,
    target_url: dburl.DatabaseUrl,
    mapping_path: Path | None = None,
    *,
    dry_run: bool = False,
    resume: bool = False,
    cleanup: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[plan.TablePlan, str, int], None] | None = None,
) -> PortReport:
    """Copy the source's data into the V1 target; see the module docstring for the guarantees."""
    import psycopg

    chosen = mapping.load(mapping_path)
    report = PortReport(str(source_url), str(target_url), dry_run=dry_run)
    step = ""  # what was under way, for the error message
    try:
        with _connections(source_url, target_url) as (source, target):
            _check_target_head(target)
            plans = plan.build(chosen, live.load_connection(source, str(source_url)),
                               live.load_connection(target, str(target_url)))  # fmt: skip
            fingerprint = _fingerprint(plans, source)
            done = _done(target)
            _check_start(target, plans, done, resume, fingerprint)
            # One snapshot of the source for the copy and its verification.
            source.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts = {p.target: _checksum(source, p.select) for p in plans} if not dry_run else {}
            if dry_run:
                for p in plans:
                    # The rows the query yields: a `where` may take only part of its table.
                    row = source.execute(sql.SQL("SELECT count(*) FROM ({}) t").format(p.select)).fetchone()
                    rows = int(row[0]) if row else 0
                    if on_plan is not None:
                        on_plan(p, p.select.as_string(source), rows)
                    report.tables.append(TableResult(p.target, p.source, source_rows=rows))
                source.execute(b"ROLLBACK")
                return report
            _ensure_bookkeeping(target, fingerprint, str(source_url))
            for p in plans:
                step = f" while copying {p.target}"
                result = TableResult(p.target, p.source, source_rows=counts[p.target][0],
                                     source_checksum=counts[p.target][1])  # fmt: skip
                if p.target in done:
                    result.resumed, result.seconds = True, done[p.target][1]
                else:
                    started = time.perf_counter()
                    _copy(source, target, p, result.source_rows, progress)
                    result.seconds = time.perf_counter() - started
                    target.execute("UPDATE veza_port.tables SET seconds = %s WHERE target = %s",
                                   (result.seconds, p.target))  # fmt: skip
                columns = sql.SQL(", ").join(sql.Identifier(c) for c in p.columns)
                copied = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier("public", p.target))
                result.target_rows, result.target_checksum = _checksum(target, copied)
                report.tables.append(result)
            step = " while verifying"
            source.execute(b"COMMIT")
            report.broken_foreign_keys = _broken_foreign_keys(target)
            report.plaintext_left = _plaintext_left(target)
            if report.ok and cleanup:
                target.execute(f"DROP SCHEMA {BOOKKEEPING} CASCADE".encode())
    except psycopg.Error as exc:
        raise DatabaseError(
            f"port failed{step}: {db.first_line(exc)}; run `veza-db port --resume` to continue"
        ) from None
    return report


def _check_start(target: Conn, plans: list[plan.TablePlan], done: dict[str, tuple[int, float]], resume: bool,
                 fingerprint: str) -> None:  # fmt: skip
    if resume:
        if not _bookkeeping_exists(target):
            raise RefusedError("nothing to resume: the target has no earlier port; run without --resume")
        row = target.execute(b"SELECT fingerprint FROM veza_port.run").fetchone()
        if row and row[0] != fingerprint:
            raise RefusedError(
                "the earlier port used another mapping or source schema; resume it with the same ones"
            )
        for p in plans:
            if p.target not in done and _has_rows(target, p.target):
                raise RefusedError(
                    f"{p.target} has rows the earlier port did not record; empty it or start over"
                )
        return
    if done or _bookkeeping_exists(target):
        raise RefusedError(
            "an earlier port into this target did not finish: use --resume, or drop schema veza_port"
        )
    filled = [p.target for p in plans if _has_rows(target, p.target)]
    if filled:
        raise RefusedError(f"the target's V1 tables must be empty; {', '.join(filled[:5])} have rows")


def _broken_foreign_keys(target: Conn) -> list[str]:
    """Every foreign key of the target checked against its data, with a count of orphans."""
    catalog = live.load_connection(target, "target")
    broken = []
    for table in catalog.tables:
        if table.schema != "public":
            continue
        for fk in table.foreign_keys:
            join = sql.SQL(" AND ").join(
                sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c))
                for c, r in zip(fk.columns, fk.ref_columns, strict=True)
            )
            present = sql.SQL(" AND ").join(
                sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c)) for c in fk.columns
            )
            query = sql.SQL(
                "SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT FROM {} p WHERE {})"
            ).format(
                sql.Identifier(table.schema, table.name),
                present,
                sql.Identifier(fk.ref_schema, fk.ref_table),
                join,
            )
            row = target.execute(query).fetchone()
            if row and row[0]:
                broken.append(f"{table.name}.{fk.name}: {row[0]} rows reference a missing {fk.ref_table} row")
    return broken


def _plaintext_left(target: Conn) -> list[str]:
    """Columns of the target that would hold a credential in clear (V1 has none)."""
    from veza_db.audit.rules.plaintext_secret import holds_secret

    catalog = live.load_connection(target, "target")
    return [f"{t.name}.{c.name}" for t in catalog.tables if t.schema == "public" for c in t.columns
            if holds_secret(c.name, c.type)]  # fmt: skip


def require_ok(report: PortReport) -> None:
    """Raise CheckFailed (exit 1) naming what did not verify."""
    bad = [t.target for t in report.tables if not t.ok]
    if bad or report.broken_foreign_keys or report.plaintext_left:
        parts = []
        if bad:
            parts.append(f"tables that do not match the source: {', '.join(bad)}")
        parts += report.broken_foreign_keys + [f"plaintext column {c}" for c in report.plaintext_left]
        raise CheckFailed("port verification failed: " + "; ".join(parts))
