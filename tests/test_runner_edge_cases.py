"""The runner on the edges real projects reach: files merged out of order, another tool's version
table, URLs written for golang-migrate, half-done no-transaction files, interrupted runs."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import one_line_error, query, run_cli, run_sql, spawn_cli, write_migrations
from veza_db import api
from veza_db.migrate.discover import MigrationDirectoryError, discover
from veza_db.migrate.script import NO_TRANSACTION_DIRECTIVE

TWO = {
    "20240101000000_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
    "20240101000000_users.down.sql": "DROP TABLE users;\n",
    "20240301000000_posts.up.sql": "CREATE TABLE posts (id bigint PRIMARY KEY);\n",
    "20240301000000_posts.down.sql": "DROP TABLE posts;\n",
}


def up(url: str, migrations: Path, *extra: str) -> tuple[int, str, str]:
    proc = run_cli("up", "--database-url", url, "--migrations", str(migrations), *extra)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_file_merged_below_the_current_version_is_refused_not_skipped(
    database: str, tmp_path: Path
) -> None:
    migrations = write_migrations(tmp_path / "m", TWO)
    api.up(database, migrations)
    write_migrations(migrations, {"20240115000000_likes.up.sql": "CREATE TABLE likes (id bigint);\n"})
    status = run_cli("status", "--database-url", database, "--migrations", str(migrations))
    assert status.returncode == 3
    assert "MISSING  20240115000000_likes.up.sql" in status.stdout
    code, _, err = up(database, migrations)
    assert code == 3
    assert "20240115000000_likes.up.sql is below the current version 20240301000000 but never ran" in err
    assert query(database, "SELECT to_regclass('likes')") == [(None,)]


def test_golang_migrate_table_in_the_search_path_schema_is_named(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", TWO)
    run_sql(
        database,
        "CREATE SCHEMA app; CREATE TABLE app.schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);"
        "INSERT INTO app.schema_migrations VALUES (20240101000000, false);",
    )
    for url in (f"{database}?options=-csearch_path%3Dapp", f"{database}?search_path=app"):
        code, _, err = up(url, migrations)
        assert code == 3, err
        assert "--migrations-table app.schema_migrations" in err
    assert query(database, "SELECT to_regclass('public.schema_migrations')") == [(None,)]
    code, out, err = up(
        f"{database}?search_path=app", migrations, "--migrations-table", "app.schema_migrations"
    )
    assert code == 0, err
    assert "20240101000000_users" not in out  # golang-migrate applied it


def test_another_tools_version_table_is_refused_before_anything_is_written(
    database: str, tmp_path: Path
) -> None:
    run_sql(database, "CREATE TABLE schema_migrations (version varchar NOT NULL PRIMARY KEY)")
    code, _, err = up(database, write_migrations(tmp_path / "m", TWO))
    assert code == 3
    assert "is not golang-migrate's version table" in err
    assert "--migrations-table" in err
    assert query(database, "SELECT to_regclass('schema_migrations_history'), to_regclass('users')") == [
        (None, None)
    ]


def test_urls_written_for_golang_migrate(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", TWO)
    kept = f"{database}?application_name=my%20app&x-migrations-table=my.versions&x-statement-timeout=60000"
    code, _, err = up(kept, migrations)
    assert code == 0, err
    # Unquoted, golang-migrate takes the name whole, dots included.
    assert query(database, """SELECT version FROM public."my.versions\"""") == [(20240301000000,)]
    code, _, err = up(f"{database}?x-migrations-table=v&x-migrations-table-quoted=yes", migrations)
    assert code == 2
    assert "x-migrations-table-quoted 'yes' is not a boolean" in err
    slow = write_migrations(tmp_path / "slow", {"1_slow.up.sql": "SELECT pg_sleep(2);\n"})
    code, _, err = up(f"{database}?x-statement-timeout=300", slow)
    assert code == 4
    assert "canceling statement due to statement timeout" in err


def test_any_extension_is_a_migration_as_golang_migrate_reads_it(tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_a.up.sql": "SELECT 1;\n",
            "2_b.up.SQL": "SELECT 2;\n",
            "3_c.up.pgsql": "SELECT 3;\n",
            "notes.md": "x",
        },
    )
    assert [m.up.path.name for m in discover(migrations)] == ["1_a.up.sql", "2_b.up.SQL", "3_c.up.pgsql"]


def test_a_no_transaction_file_that_leaves_a_transaction_open_fails(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_open.up.sql": "-- veza-db: no-transaction\nCREATE TABLE kept (id int);\nBEGIN;\nCREATE TABLE lost (id int);\n"
        },
    )
    code, _, err = up(database, migrations)
    assert code == 4
    assert "1_open.up.sql: left a transaction open at its end" in err
    assert query(database, "SELECT to_regclass('kept') IS NOT NULL, to_regclass('lost')") == [(True, None)]
    assert query(database, "SELECT version, dirty FROM schema_migrations") == [(1, True)]


def test_a_failed_concurrent_index_names_the_invalid_index_it_left(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_users.up.sql": "CREATE TABLE users (id int, email text);\nINSERT INTO users VALUES (1, 'a'), (2, 'a');\n",
            "2_unique.up.sql": "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n",
        },
    )
    code, _, err = up(database, migrations)
    assert code == 4
    assert "left index users_email_key INVALID: DROP INDEX CONCURRENTLY users_email_key" in err


def test_pg_dump_rows_after_copy_are_explained(tmp_path: Path) -> None:
    text = "CREATE TABLE t (id int);\n\nCOPY public.t (id) FROM stdin;\n1\n2\n\\.\n\nCREATE INDEX t_id ON t (id);\n"
    with pytest.raises(MigrationDirectoryError) as caught:
        discover(write_migrations(tmp_path / "m", {"1_baseline.up.sql": text}))
    (problem,) = caught.value.problems
    assert problem.startswith("1_baseline.up.sql:3: COPY from STDIN")
    assert "pg_dump --inserts" in problem


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE VIEW migration_state AS SELECT version FROM schema_migrations;",
        "GRANT SELECT ON schema_migrations TO PUBLIC;",
        "INSERT INTO users (id) SELECT version FROM schema_migrations;",
    ],
)
def test_reading_the_version_table_is_allowed(tmp_path: Path, statement: str) -> None:
    migrations = write_migrations(
        tmp_path / "m", {"1_read.up.sql": f"CREATE TABLE users (id bigint);\n{statement}\n"}
    )
    assert len(discover(migrations)) == 1


@pytest.mark.parametrize(
    "first_lines",
    [
        "--veza-db: no-transaction\n",
        "-- Migration 7: the big index.\n-- veza-db: no-transaction -- the index must not block writes\n",
        "-- VEZA-DB: NO-TRANSACTION\n",
    ],
)
def test_the_no_transaction_directive_is_found_in_the_leading_comments(
    tmp_path: Path, first_lines: str
) -> None:
    text = first_lines + "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n"
    (migration,) = discover(write_migrations(tmp_path / "m", {"1_x.up.sql": text}))
    assert migration.up.mode == NO_TRANSACTION_DIRECTIVE


def test_begin_and_commit_around_a_concurrent_index_are_named(tmp_path: Path) -> None:
    text = "BEGIN;\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nCOMMIT;\n"
    with pytest.raises(MigrationDirectoryError, match="remove the BEGIN and COMMIT around it"):
        discover(write_migrations(tmp_path / "m", {"1_x.up.sql": text}))


def test_a_file_that_breaks_the_version_bookkeeping_says_so(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m", {"1_reset.up.sql": "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"}
    )
    code, _, err = up(database, migrations)
    assert code == 4
    assert "while the runner recorded its version" in err
    assert query(database, "SELECT to_regclass('public.schema_migrations') IS NOT NULL") == [(True,)]


def test_line_endings_reach_the_server_as_written(database: str, tmp_path: Path) -> None:
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / "1_seed.up.sql").write_bytes(
        b"CREATE TABLE t (v text);\r\nINSERT INTO t VALUES ($$a\r\nb$$);\r\n"
    )
    api.up(database, migrations)
    assert query(database, "SELECT v FROM t") == [("a\r\nb",)]


def test_down_edges(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_reserved.up.sql": "-- nothing yet\n",  # a no-op needs no down file
            "2_slow.up.sql": "CREATE TABLE t (id int);\n",
            "2_slow.down.sql": "SELECT pg_sleep(0.3);\nDROP TABLE t;\n",
        },
    )
    api.up(database, migrations)
    proc = run_cli("down", "--steps", "3", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 2
    assert "--steps 3 is more than the 2 applied file(s)" in one_line_error(proc)
    proc = run_cli("down", "--all", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 0, proc.stderr
    took = int(next(line for line in proc.stdout.splitlines() if "2_slow.down.sql" in line).split()[-2])
    assert took >= 300
    assert "1_reserved.down.sql" in proc.stdout
    assert query(database, "SELECT count(*) FROM schema_migrations") == [(0,)]


def test_ctrl_c_during_a_file_is_an_interruption_and_rolls_it_back(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_t.up.sql": "CREATE TABLE t (id int);\n",
            "2_slow.up.sql": "CREATE TABLE s (id int);\nSELECT pg_sleep(5);\n",
        },
    )
    api.up(database, migrations, to=1)
    proc = spawn_cli("up", "--database-url", database, "--migrations", str(migrations))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not query(
        database,
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'veza-db' AND query LIKE '%pg_sleep(5)%'",
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert "error: interrupted" in (proc.stderr.read() if proc.stderr else "")
    assert query(database, "SELECT version, dirty FROM schema_migrations") == [(1, False)]
    assert query(database, "SELECT to_regclass('s')") == [(None,)]


def test_a_negative_lock_timeout_is_refused(tmp_path: Path) -> None:
    proc = run_cli("up", "--lock-timeout", "-5", "--database-url", "postgresql://x@127.0.0.1:1/x",
                   "--migrations", str(write_migrations(tmp_path / "m", TWO)))  # fmt: skip
    assert proc.returncode == 2  # before any connection: port 1 has no server
    assert "--lock-timeout -5 is negative" in one_line_error(proc)


def test_status_json_lists_out_of_order_files(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", TWO)
    api.up(database, migrations)
    write_migrations(migrations, {"20240115000000_likes.up.sql": "CREATE TABLE likes (id bigint);\n"})
    proc = run_cli("status", "--json", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 3
    status = json.loads(proc.stdout)
    assert status["out_of_order"] == [{"version": 20240115000000, "name": "20240115000000_likes.up.sql"}]
    assert [m["state"] for m in status["migrations"]] == ["applied", "out of order", "applied"]


def test_force_refuses_another_tools_table_before_writing(database: str, tmp_path: Path) -> None:
    run_sql(
        database,
        "CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('1'), ('2')",
    )
    proc = run_cli(
        "force",
        "none",
        "--database-url",
        database,
        "--migrations",
        str(write_migrations(tmp_path / "m", TWO)),
    )
    assert proc.returncode == 3
    assert "is not golang-migrate's version table" in one_line_error(proc)
    assert query(database, "SELECT count(*) FROM schema_migrations") == [(2,)]
    assert query(database, "SELECT to_regclass('schema_migrations_history')") == [(None,)]


def test_golang_migrates_dirty_nil_version_is_read_as_none(database: str, tmp_path: Path) -> None:
    run_sql(
        database,
        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
        "INSERT INTO schema_migrations VALUES (-1, true);",
    )
    proc = run_cli(
        "status", "--database-url", database, "--migrations", str(write_migrations(tmp_path / "m", TWO))
    )
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert "dirty with no version" in line
    assert "veza-db force none" in line


def test_history_above_the_current_version_is_not_taken_for_later_files(
    database: str, tmp_path: Path
) -> None:
    migrations = write_migrations(tmp_path / "m", {"1_a.up.sql": "SELECT 1;\n", "3_c.up.sql": "SELECT 3;\n"})
    api.up(database, migrations)
    # golang-migrate rolls back to 1 (it knows nothing of the history), then a file 2 arrives.
    run_sql(database, "UPDATE schema_migrations SET version = 1")
    write_migrations(migrations, {"2_b.up.sql": "CREATE TABLE b (id int);\n"})
    code, out, err = up(database, migrations)
    assert code == 0, err
    assert "2_b.up.sql" in out


def test_a_retry_starts_from_a_clean_session(database: str, tmp_path: Path) -> None:
    import psycopg

    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_t.up.sql": "CREATE TABLE t (id int);\n",
            "2_p.up.sql": "PREPARE p AS SELECT 1;\nLOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n",
        },
    )
    api.up(database, migrations, to=1)
    with psycopg.connect(database) as blocker:
        blocker.execute("SELECT * FROM t").fetchall()
        proc = run_cli("up", "--ddl-lock-timeout", "200ms", "--retries", "1", "--database-url", database,
                       "--migrations", str(migrations))  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "already exists" not in proc.stderr
    assert "gave up after 2 attempts" in proc.stderr


@pytest.mark.parametrize("text", ["30d", "100us", "0.4ms"])
def test_lock_timeouts_postgresql_cannot_hold_are_refused(text: str) -> None:
    from veza_db.errors import UsageError
    from veza_db.migrate import lockwait

    with pytest.raises(UsageError, match="from 1ms to 24 days"):
        lockwait.parse_duration(text)
