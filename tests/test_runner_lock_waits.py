"""A migration on a live database never queues the application behind its lock wait.

A session holds a transaction that has read `tracks`; a migration that alters `tracks` must give
up within its lock timeout, roll back and retry, and after the last retry stop with the table and
the blocking session named, the version unchanged and not dirty.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.helpers import query, spawn_cli, write_migrations
from veza_db.errors import UsageError
from veza_db.migrate import lockwait

FILES = {
    "1_tracks.up.sql": "CREATE TABLE tracks (id bigint PRIMARY KEY, title text NOT NULL);\n"
    "INSERT INTO tracks SELECT g, 'track ' || g FROM generate_series(1, 100) AS g;\n",
    "1_tracks.down.sql": "DROP TABLE tracks;\n",
    "2_duration.up.sql": "ALTER TABLE tracks ADD COLUMN duration_ms integer;\n",
    "2_duration.down.sql": "ALTER TABLE tracks DROP COLUMN duration_ms;\n",
}


def _waiting_migration(url: str) -> bool:
    """Whether veza-db's session is waiting for a lock right now."""
    return bool(
        query(
            url,
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'veza-db' AND wait_event_type = 'Lock'",
        )
    )


def _until(condition: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_lock_wait_gives_up_retries_and_names_the_blocker(any_database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", FILES)
    up_args = ("up", "--database-url", any_database, "--migrations", str(migrations))
    proc = spawn_cli(*up_args, "--to", "1")
    assert proc.wait(timeout=60) == 0
    with psycopg.connect(any_database) as blocker:
        blocker.execute("SELECT count(*) FROM tracks").fetchone()  # holds ACCESS SHARE until it ends
        blocker_pid = blocker.info.backend_pid
        started = time.monotonic()
        proc = spawn_cli(*up_args, "--ddl-lock-timeout", "1s", "--retries", "2")
        _until(lambda: _waiting_migration(any_database))
        # The application's read, queued behind the migration's ACCESS EXCLUSIVE request, waits
        # at most until that request times out.
        read_started = time.monotonic()
        assert query(any_database, "SELECT count(*) FROM tracks") == [(100,)]
        read_wait = time.monotonic() - read_started
        code = proc.wait(timeout=60)
        elapsed = time.monotonic() - started
        _, err = proc.communicate()
    assert code == 3, err
    assert read_wait <= 1.0 + 0.5, read_wait
    assert elapsed >= 3.0  # three attempts of 1 s each
    lines = [line for line in err.splitlines() if line.strip()]
    retries = [line for line in lines if line.startswith("retry: ")]
    assert len(retries) == 2, err
    assert all(f"pid {blocker_pid}" in line and "tracks" in line for line in retries), retries
    error = lines[-1]
    assert error.startswith("error: 2_duration.up.sql: gave up after 3 attempts")
    assert f"a lock on tracks, held by pid {blocker_pid}" in error
    assert "idle in transaction" in error
    assert "SELECT count(*) FROM tracks" in error
    assert query(any_database, "SELECT version, dirty FROM schema_migrations") == [(1, False)]
    assert query(any_database, "SELECT count(*) FROM pg_attribute WHERE attname = 'duration_ms'") == [(0,)]


def test_the_migration_succeeds_once_the_blocker_commits(any_database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", FILES)
    up_args = ("up", "--database-url", any_database, "--migrations", str(migrations))
    assert spawn_cli(*up_args, "--to", "1").wait(timeout=60) == 0
    with psycopg.connect(any_database) as blocker:
        blocker.execute("SELECT count(*) FROM tracks").fetchone()
        proc = spawn_cli(*up_args, "--ddl-lock-timeout", "500ms", "--retries", "5")
        _until(lambda: _waiting_migration(any_database))
        time.sleep(0.8)  # past the first timeout: the migration is between attempts or retrying
        blocker.commit()
    code = proc.wait(timeout=60)
    out, err = proc.communicate()
    assert code == 0, err
    assert "retry: 2_duration.up.sql: attempt 1 of 6 waited 500 ms" in err
    assert "version 2 (head)" in out
    assert query(any_database, "SELECT version, dirty FROM schema_migrations") == [(2, False)]


def test_a_file_that_sets_its_own_lock_timeout_keeps_it(database: str, tmp_path: Path) -> None:
    files = dict(FILES)
    files["2_duration.up.sql"] = "SET LOCAL lock_timeout = '3s';\n" + files["2_duration.up.sql"]
    migrations = write_migrations(tmp_path / "m", files)
    up_args = ("up", "--database-url", database, "--migrations", str(migrations))
    assert spawn_cli(*up_args, "--to", "1").wait(timeout=60) == 0
    with psycopg.connect(database) as blocker:
        blocker.execute("SELECT count(*) FROM tracks").fetchone()
        release = threading.Timer(1.5, blocker.commit)
        release.start()
        proc = spawn_cli(*up_args, "--ddl-lock-timeout", "200ms", "--retries", "0")
        code = proc.wait(timeout=60)
        release.join()
    assert code == 0, proc.communicate()[1]  # 200 ms would have given up before the commit


def test_a_no_transaction_file_gets_the_lock_timeout_and_no_retry(database: str, tmp_path: Path) -> None:
    files = {
        **FILES,
        "2_duration.up.sql": "-- veza-db: no-transaction\nALTER TABLE tracks ADD COLUMN duration_ms integer;\n",
    }
    migrations = write_migrations(tmp_path / "m", files)
    up_args = ("up", "--database-url", database, "--migrations", str(migrations))
    assert spawn_cli(*up_args, "--to", "1").wait(timeout=60) == 0
    with psycopg.connect(database) as blocker:
        blocker.execute("SELECT count(*) FROM tracks").fetchone()
        proc = spawn_cli(*up_args, "--ddl-lock-timeout", "300ms")
        code = proc.wait(timeout=60)
        _, err = proc.communicate()
    assert code == 4
    assert "retry:" not in err
    line = one_line_error_text(err)
    assert "2_duration.up.sql:2: canceling statement due to lock timeout" in line
    assert "a lock on tracks" in line
    assert "veza-db force 1" in line
    assert query(database, "SELECT version, dirty FROM schema_migrations") == [(2, True)]


def one_line_error_text(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("text", "ms"), [("500ms", 500), ("5s", 5000), ("1.5s", 1500), ("1min", 60_000), ("0s", 0)]
)
def test_durations_are_read_as_postgresql_writes_them(text: str, ms: int) -> None:
    assert lockwait.parse_duration(text) == ms


@pytest.mark.parametrize("text", ["5", "five seconds", "-1s", "5 sec"])
def test_a_duration_without_a_unit_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="with a unit"):
        lockwait.parse_duration(text)


def test_pauses_grow_with_jitter() -> None:
    first = [lockwait.pause(1) for _ in range(50)]
    fourth = [lockwait.pause(4) for _ in range(50)]
    assert 0.375 <= min(first) <= max(first) <= 0.625
    assert 3.0 <= min(fourth) <= max(fourth) <= 5.0
    assert len(set(first)) > 1
