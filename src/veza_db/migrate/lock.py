"""The migration lock: golang-migrate's advisory lock key, so Go and Python runners exclude each other."""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING

from veza_db.errors import LockTimeout

if TYPE_CHECKING:
    import psycopg

    from veza_db.migrate.history import VersionTable

# golang-migrate's database.GenerateAdvisoryLockId multiplies the CRC by this salt.
_SALT = 1486364155
_POLL_SECONDS = 0.1


def advisory_key(database: str, *names: str) -> int:
    """crc32(names..., database joined by NUL) * salt, as uint32: golang-migrate's
    GenerateAdvisoryLockId. Its postgres driver passes the version table's schema and name."""
    crc = zlib.crc32("\x00".join((*names, database)).encode())
    return (crc * _SALT) & 0xFFFFFFFF


def acquire(conn: psycopg.Connection[tuple[object, ...]], timeout: float, table: VersionTable) -> int:
    """Take the session advisory lock of `table`, waiting up to `timeout` seconds; return its key.

    Raises LockTimeout naming the session that holds it."""
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    key = advisory_key(str(row[0]), table.schema, table.name)
    deadline = time.monotonic() + timeout
    while True:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if got and got[0]:
            return key
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"migration lock (advisory key {key}) not obtained in {timeout:g}s: held by "
                f"{_holder(conn, key)}; wait for it to finish or raise --lock-timeout"
            )
        time.sleep(_POLL_SECONDS)


def release(conn: psycopg.Connection[tuple[object, ...]], key: int) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def _holder(conn: psycopg.Connection[tuple[object, ...]], key: int) -> str:
    # A one-argument bigint advisory lock is stored as classid = high 32 bits, objid = low
    # 32 bits, objsubid = 1.
    row = conn.execute(
        """
        SELECT a.pid, a.usename, a.application_name, a.client_addr::text, a.backend_start, a.state
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s::oid
          AND l.objsubid = 1
        """,
        (key,),
    ).fetchone()
    if row is None:
        return "another session (it was released just now)"
    pid, user, app, addr, started, state = row
    # Another role's session shows no details without pg_read_all_stats: say what is known.
    connected = f"connected {started:%Y-%m-%d %H:%M:%S}, " if started is not None else ""
    return (
        f"pid {pid} (user {user or 'unknown'}, application {app or '-'}, from {addr or 'local socket'}, "
        f"{connected}{state or 'state not visible to this role'})"
    )
