"""Run a port: check the target, plan, stream each table with COPY, record progress, verify.

Each V1 table is filled by one `COPY (SELECT ...) TO STDOUT` on the source piped into one
`COPY ... FROM STDIN` on the target, inside one target transaction that also records the table
as done in the bookkeeping schema `veza_port` (never in `public`). A killed port therefore
leaves whole tables only, and `--resume` carries on at the first unfinished one. Rows cross
Python as opaque COPY messages: nothing is parsed, so memory stays flat whatever the row count.

Both COPYs use PostgreSQL's binary format: the source query casts every value to the V1
column's base type, and every such type has the same binary form on every major from 9.4 to 18
(uuid, timestamptz, integer, bigint, text, bytea, jsonb, inet, boolean; a schema test holds V1
to that list), so the source's send functions produce exactly what the target's receive
functions read, across majors. The binary format spares both servers the text forms: at 1M
plays the port went from 0.95 to 1.12 of psql's text-format copy of the same rows
(docs/benchmarks.md). A V1 column of another type (interval, an enum) would need the text
format here.
"""

from __future__ import annotations

import dataclasses
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
from veza_db.catalog.model import Catalog
from veza_db.errors import CheckFailed, DatabaseError, RefusedError, UsageError, VezaError
from veza_db.migrate import discover, history
from veza_db.port import bookkeeping, failure, mapping, plan

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[Any, ...]]

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

    def to_dict(self) -> dict[str, Any]:
        """The report as `veza-db port --format json` prints it: per table its rows, checksums,
        seconds and whether it was copied by an earlier run; a dry run gives the rows tried."""
        if self.dry_run:
            tables = [
                {
                    "target": t.target,
                    "source": t.source,
                    "source_rows": t.source_rows,
                    "rows_tried": t.target_rows,
                }
                for t in self.tables
            ]
            return {"dry_run": True, "ok": True, "tables": tables}
        return {
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "tables": [dict(dataclasses.asdict(t), ok=t.ok) for t in self.tables],
            "broken_foreign_keys": self.broken_foreign_keys,
            "plaintext_left": self.plaintext_left,
        }


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


def _checksum(conn: Conn, query: sql.Composable) -> tuple[int, str]:
    """Row count and an order-independent checksum of the rows' text."""
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(sum(hashtextextended(t::text, 7)::numeric), 0)::text FROM ({}) t"
        ).format(query)
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _copy(source: Conn, target: Conn, p: plan.TablePlan, expected: int, progress: Progress | None,
          *, query: sql.Composable | None = None, record: bool = True) -> int:  # fmt: skip
    """Stream `query` (default: the plan's) into the V1 table in one target transaction (a
    savepoint when one is open), recorded as done unless `record` is false; the rows copied."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in p.columns)
    with target.transaction():
        out_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(query or p.select)
        in_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
            sql.Identifier("public", p.target), columns
        )
        writer = target.cursor()
        with source.cursor().copy(out_sql) as out, writer.copy(in_sql) as into:
            # COPY messages pass through untouched, gathered into large writes: one write per
            # row costs a driver round per row, about a third of the relay's time. A message is
            # a row (the format's header and trailer ride in messages of their own or with the
            # first row), which is close enough for the progress bar.
            pending = bytearray()
            for messages, row in enumerate(out, 1):
                pending += row
                if len(pending) >= _WRITE_BYTES:
                    into.write(pending)
                    pending.clear()
                    if progress is not None:
                        progress(p.target, messages, expected)
            if pending:
                into.write(pending)
        copied = writer.rowcount  # the target's own count: COPY's command tag
        if record:
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


def _check_zones(conn: Conn, chosen: mapping.Mapping) -> None:
    """UsageError naming the first time zone of the mapping PostgreSQL does not know."""
    import psycopg

    for zone, where in chosen.zones().items():
        try:
            conn.execute("SELECT timestamp '2000-01-01' AT TIME ZONE %s", (zone,))
        except psycopg.Error:
            raise UsageError(
                f"mapping {chosen.name}: {where}: unknown time zone {zone!r}; use a name of "
                "pg_timezone_names, such as 'Europe/Paris' or 'UTC'"
            ) from None


def _v1_tables(target: Catalog) -> list[str]:
    return [t.name for t in target.tables if t.schema == "public" and t.name not in plan.TOOLING]


class _Failed(Exception):
    """A table's copy failed: the driver's error, and the table."""

    def __init__(self, p: plan.TablePlan, error: psycopg.Error) -> None:
        super().__init__(p.target)
        self.plan, self.error = p, error


def _explain(failed: _Failed, source: Conn, target_catalog: Catalog, *, dry_run: bool) -> VezaError:
    """The error a failed copy ends the port with: the row it stopped on, and a hint that works."""
    p, exc = failed.plan, failed.error
    if not failure.is_data_error(exc):
        if dry_run:
            return DatabaseError(
                f"dry run failed while trying {p.target}: {db.first_line(exc)}; run it again"
            )
        return DatabaseError(
            f"port failed while copying {p.target}: {db.first_line(exc)}; "
            "run `veza-db port --resume` to continue"
        )
    source.execute(b"ROLLBACK")  # the source snapshot ended with the copy; the row is read again
    found = failure.describe(source, p, target_catalog, exc).line()
    if dry_run:
        return CheckFailed(f"dry run: {found}; fix the mapping (or the row), then run the dry run again")
    return DatabaseError(
        f"port failed: {found}; fix the mapping (or the row), then run `veza-db port --restart` with it"
    )


@dataclass(frozen=True)
class _Trial:
    sample: int | None  # rows tried per table; None: all
    restart: bool  # empty what an earlier port wrote first (rolled back too)
    on_plan: Callable[[plan.TablePlan, str, int], None] | None


def _trial(
    source: Conn,
    target: Conn,
    plans: list[plan.TablePlan],
    target_catalog: Catalog,
    trial: _Trial,
    report: PortReport,
) -> None:
    """The dry run: every table's rows (the first `sample` of each) written into the target in a
    transaction that is always rolled back. Raises _Failed at the first row V1 refuses."""
    import psycopg

    sample = trial.sample
    with target.transaction(force_rollback=True):
        if trial.restart:
            bookkeeping.restart(target, _v1_tables(target_catalog))
        if sample is not None:
            # A sample holds children whose parents are not in it: foreign keys wait for a full run.
            for table in target_catalog.tables:
                if table.schema == "public":
                    for fk in table.foreign_keys:
                        target.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                            sql.Identifier("public", table.name), sql.Identifier(fk.name)))  # fmt: skip
        for p in plans:
            query = (
                p.select if sample is None else sql.SQL("{} LIMIT {}").format(p.select, sql.Literal(sample))
            )
            try:
                tried = _copy(source, target, p, 0, None, query=query, record=False)
            except psycopg.Error as exc:
                raise _Failed(p, exc) from None
            rows = tried
            if sample is not None:
                row = source.execute(sql.SQL("SELECT count(*) {}").format(p.rows_from())).fetchone()
                rows = int(row[0]) if row else 0
            if trial.on_plan is not None:
                trial.on_plan(p, p.select.as_string(source), rows)
            report.tables.append(TableResult(p.target, p.source, source_rows=rows, target_rows=tried))


def port(
    source_url: dburl.DatabaseUrl,
    target_url: dburl.DatabaseUrl,
    mapping_path: Path | None = None,
    *,
    dry_run: bool = False,
    sample: int | None = None,
    resume: bool = False,
    restart: bool = False,
    cleanup: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[plan.TablePlan, str, int], None] | None = None,
) -> PortReport:
    """Copy the source's data into the V1 target; see the module docstring for the guarantees.

    `dry_run` writes every row (the first `sample` per table) in a transaction rolled back;
    `restart` first empties what an earlier port wrote. Raises UsageError (mapping), RefusedError
    (target state), CheckFailed (a dry run found a row V1 refuses), DatabaseError."""
    import psycopg

    if resume and restart:
        raise UsageError("--resume carries on and --restart starts over: give one of them")
    chosen = mapping.load(mapping_path)
    report = PortReport(str(source_url), str(target_url), dry_run=dry_run)
    step = ""  # what was under way, for the error message
    hint = "run the same command again"
    try:
        with _connections(source_url, target_url) as (source, target):
            _check_target_head(target)
            _check_zones(source, chosen)
            target_catalog = live.load_connection(target, str(target_url))
            plans = plan.build(chosen, live.load_connection(source, str(source_url)), target_catalog)
            fingerprint = _fingerprint(plans, source)
            if restart and not dry_run:
                bookkeeping.restart(target, _v1_tables(target_catalog))
            done = bookkeeping.done(target)
            if not (dry_run and restart):  # a dry run restarts inside its rolled-back transaction
                bookkeeping.check_start(target, plans, done, resume, fingerprint)
            # One snapshot of the source for the copy and its verification.
            source.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                if dry_run:
                    _trial(source, target, plans, target_catalog, _Trial(sample, restart, on_plan), report)
                    source.execute(b"ROLLBACK")
                    return report
                hint = "run `veza-db port --resume` to continue"  # once the bookkeeping exists
                _copy_all(source, target, plans, done, _Run(fingerprint, str(source_url), progress), report)
            except _Failed as failed:
                raise _explain(failed, source, target_catalog, dry_run=dry_run) from None
            step = " while verifying"
            source.execute(b"COMMIT")
            report.broken_foreign_keys = _broken_foreign_keys(target)
            report.plaintext_left = _plaintext_left(target)
            if report.ok and cleanup:
                target.execute(f"DROP SCHEMA {bookkeeping.SCHEMA} CASCADE".encode())
    except psycopg.Error as exc:
        raise DatabaseError(f"port failed{step}: {db.first_line(exc)}; {hint}") from None
    return report


@dataclass(frozen=True)
class _Run:
    fingerprint: str  # of the plans: a resume needs the same
    source: str  # the source URL, as recorded
    progress: Progress | None


def _copy_all(
    source: Conn, target: Conn, plans: list[plan.TablePlan], done: dict[str, tuple[int, float]], run: _Run,
    report: PortReport,
) -> None:  # fmt: skip
    """Copy every table not done yet, then read each back for its checksum. Raises _Failed."""
    import psycopg

    counts = {}
    for p in plans:
        try:
            counts[p.target] = _checksum(source, p.select)
        except psycopg.Error as exc:  # a value the mapping cannot compute: named before any write
            raise _Failed(p, exc) from None
    bookkeeping.ensure(target, run.fingerprint, run.source)
    progress = run.progress
    for p in plans:
        result = TableResult(p.target, p.source, source_rows=counts[p.target][0],
                             source_checksum=counts[p.target][1])  # fmt: skip
        if p.target in done:
            result.resumed, result.seconds = True, done[p.target][1]
        else:
            started = time.perf_counter()
            try:
                _copy(source, target, p, result.source_rows, progress)
            except psycopg.Error as exc:
                raise _Failed(p, exc) from None
            result.seconds = time.perf_counter() - started
            target.execute("UPDATE veza_port.tables SET seconds = %s WHERE target = %s",
                           (result.seconds, p.target))  # fmt: skip
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in p.columns)
        copied = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier("public", p.target))
        result.target_rows, result.target_checksum = _checksum(target, copied)
        report.tables.append(result)


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
