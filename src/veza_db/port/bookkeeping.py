"""The port's record in the target (schema `veza_port`, never `public`): which V1 tables an
earlier run finished, with which mapping, and the checks that decide whether a run may start,
resume or start over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg import sql

from veza_db.errors import RefusedError
from veza_db.port import ids, plan

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[Any, ...]]

SCHEMA = "veza_port"
_OVER = "--restart starts over (it empties the V1 tables this port filled)"


def exists(conn: Conn) -> bool:
    row = conn.execute("SELECT to_regclass('veza_port.tables') IS NOT NULL").fetchone()
    return bool(row and row[0])


def ensure(conn: Conn, fingerprint: str, source: str) -> None:
    """Create the bookkeeping (and record this run's mapping) unless an earlier run did."""
    with conn.transaction():
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}".encode())
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


def done(conn: Conn) -> dict[str, tuple[int, float]]:
    """V1 tables an earlier run finished: rows and seconds."""
    if not exists(conn):
        return {}
    rows = conn.execute(b"SELECT target, rows, seconds FROM veza_port.tables").fetchall()
    return {str(r[0]): (int(r[1]), float(r[2])) for r in rows}


def row_count(conn: Conn, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", table))).fetchone()
    return int(row[0]) if row else 0


def has_rows(conn: Conn, table: str) -> bool:
    row = conn.execute(
        sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier("public", table))
    ).fetchone()
    return bool(row and row[0])


def restart(target: Conn, tables: list[str]) -> None:
    """Empty the V1 `tables` (all of V1's) and drop the bookkeeping, in one transaction, when the target holds
    nothing but an earlier port's rows: every table with rows was recorded as finished, with the
    row count recorded. RefusedError (nothing changed) otherwise."""
    finished = done(target)
    foreign = [t for t in tables if t not in finished and has_rows(target, t)]
    changed = [t for t, (rows, _) in finished.items() if t in tables and row_count(target, t) != rows]
    if foreign or changed:
        named = ", ".join((foreign + changed)[:5])
        raise RefusedError(
            f"--restart empties only what an earlier port wrote, and {named} hold rows it did not "
            "write: port into a fresh V1 database (createdb, then `veza-db up`)"
        )
    with target.transaction():
        # Every V1 table in one TRUNCATE: one a filled table's rows are referenced from must be
        # in it too (all of them are empty or the port's, checked above).
        filled = tables if any(t in finished for t in tables) else []
        if filled:
            target.execute(
                sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier("public", t) for t in filled))
            )
        target.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE".encode())


def check_start(
    target: Conn,
    plans: list[plan.TablePlan],
    finished: dict[str, tuple[int, float]],
    resume: bool,
    fingerprint: str,
) -> None:
    """RefusedError unless the run may start (resume: carry on): every hint given works."""
    if resume:
        if not exists(target):
            raise RefusedError("nothing to resume: the target has no earlier port; run without --resume")
        row = target.execute(b"SELECT fingerprint FROM veza_port.run").fetchone()
        if row and row[0] != fingerprint:
            raise RefusedError(
                "the earlier port used another mapping or source schema: --resume needs the same ones; "
                f"with the new mapping, {_OVER}"
            )
        for p in plans:
            if p.target not in finished and has_rows(target, p.target):
                raise RefusedError(
                    f"{p.target} has rows the earlier port did not record: port into a fresh V1 database"
                )
        return
    if finished or exists(target):
        raise RefusedError(
            "an earlier port into this target did not finish: --resume carries on with the same "
            f"mapping; {_OVER}"
        )
    filled = [p.target for p in plans if has_rows(target, p.target)]
    if filled:
        raise RefusedError(
            f"the target's V1 tables must be empty; {', '.join(filled[:5])} have rows: "
            "port into a fresh V1 database (createdb, then `veza-db up`)"
        )
