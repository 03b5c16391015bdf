"""The migration runner on real PostgreSQL: locking, transactions, integrity, recovery, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.helpers import one_line_error, query, run_cli, run_sql, spawn_cli, write_migrations
from veza_db import api
from veza_db.migrate import lock
from veza_db.migrate.discover import MigrationDirectoryError, discover

THREE = {
    "001_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY);\nINSERT INTO users VALUES (1);\n",
    "001_users.down.sql": "DROP TABLE users;\n",
    "002_posts.up.sql": (
        "CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);\n"
        "CREATE FUNCTION posts_count() RETURNS bigint LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    RETURN (SELECT count(*) FROM posts); -- a ; inside a dollar-quoted body\nEND\n$$;\n"
    ),
    "002_posts.down.sql": "DROP FUNCTION posts_count();\nDROP TABLE posts;\n",
    "003_tags.up.sql": "CREATE TABLE tags (id int PRIMARY KEY, name text NOT NULL);\n",
    "003_tags.down.sql": "DROP TABLE tags;\n",
}


def version_rows(url: str) -> list[tuple[object, ...]]:
    return query(url, "SELECT version, dirty FROM schema_migrations ORDER BY version")


def table_exists(url: str, name: str) -> bool:
    return query(url, f"SELECT to_regclass('public.{name}') IS NOT NULL")[0][0] is True


def test_golang_migrate_lock_key_vectors() -> None:
    # golang-migrate's own test vectors for GenerateAdvisoryLockId(db, names...), which joins
    # names + [db] with NUL; its postgres driver passes (schema, table).
    assert lock.advisory_key("database_name") == 1764327054
    assert lock.advisory_key("database_name", "schema_name_1") == 2453313553
    assert lock.advisory_key("database_name", "schema_name_2") == 235207038
    assert lock.advisory_key("database_name", "schema_name_1", "schema_name_2") == 3743845847


def test_up_status_and_golang_migrate_table(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    proc = run_cli("up", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 0, proc.stderr
    assert "001_users.up.sql" in proc.stdout
    assert "ms" in proc.stdout
    assert "version 3 (head)" in proc.stdout
    assert version_rows(database) == [(3, False)]
    history = query(
        database,
        "SELECT version, name, length(checksum), execution_ms >= 0, applied_by "
        "FROM schema_migrations_history ORDER BY 1",
    )
    assert history == [
        (1, "001_users.up.sql", 64, True, "postgres"),
        (2, "002_posts.up.sql", 64, True, "postgres"),
        (3, "003_tags.up.sql", 64, True, "postgres"),
    ]
    assert query(database, "SELECT posts_count()") == [(0,)]

    proc = run_cli("status", "--json", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert (status["current"], status["head"], status["dirty"]) == (3, 3, False)
    assert [a["version"] for a in status["applied"]] == [1, 2, 3]
    assert status["pending"] == []
    assert status["changed"] == []


def test_checksum_normalises_line_endings(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    api.up(database, migrations)
    up = migrations / "003_tags.up.sql"
    up.write_bytes(up.read_bytes().replace(b"\n", b"\r\n"))
    assert api.status(database, migrations).changed == []


def test_up_to_and_down_variants(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    assert api.up(database, migrations, to=2).current == 2
    assert not table_exists(database, "tags")
    assert api.up(database, migrations).current == 3
    assert api.down(database, migrations, steps=1).current == 2
    assert not table_exists(database, "tags")
    assert api.down(database, migrations, to=1).current == 1
    assert version_rows(database) == [(1, False)]
    assert query(database, "SELECT version FROM schema_migrations_history") == [(1,)]
    assert api.down(database, migrations, all_versions=True).current is None
    assert version_rows(database) == []
    assert not table_exists(database, "users")


def test_dry_run_prints_sql_and_changes_nothing(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    proc = run_cli("up", "--dry-run", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 0, proc.stderr
    assert "CREATE TABLE posts" in proc.stdout
    assert "nothing was changed" in proc.stdout
    assert not table_exists(database, "users")
    assert not table_exists(database, "schema_migrations")


def test_eight_concurrent_up_processes_apply_each_migration_once(database: str, tmp_path: Path) -> None:
    files = dict(THREE)
    # Each file logs its own run: a second application would add a second row (or fail).
    files["001_users.up.sql"] += "CREATE TABLE run_log (version int);\nINSERT INTO run_log VALUES (1);\n"
    files["001_users.down.sql"] = "DROP TABLE run_log;\n" + files["001_users.down.sql"]
    files["002_posts.up.sql"] += "INSERT INTO run_log VALUES (2);\nSELECT pg_sleep(0.3);\n"
    files["003_tags.up.sql"] += "INSERT INTO run_log VALUES (3);\n"
    migrations = write_migrations(tmp_path / "m", files)
    cmd = [
        sys.executable,
        "-m",
        "veza_db.cli",
        "up",
        "--database-url",
        database,
        "--migrations",
        str(migrations),
    ]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [0] * 8, results
    assert query(database, "SELECT version, count(*) FROM run_log GROUP BY 1 ORDER BY 1") == [
        (1, 1),
        (2, 1),
        (3, 1),
    ]
    assert version_rows(database) == [(3, False)]


def test_lock_held_by_golang_migrate_key_blocks_then_proceeds(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    key = lock.advisory_key(database.rsplit("/", 1)[1], "public", "schema_migrations")
    with psycopg.connect(database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        holder_pid = holder.info.backend_pid
        proc = run_cli(
            "up", "--lock-timeout", "1", "--database-url", database, "--migrations", str(migrations)
        )
        assert proc.returncode == 3
        line = one_line_error(proc)
        assert f"pid {holder_pid}" in line
        assert "lock" in line
        assert not table_exists(database, "users")

        waiting = spawn_cli("up", "--database-url", database, "--migrations", str(migrations))
        time.sleep(1.5)
        assert waiting.poll() is None, "the runner must wait while the lock is held"
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
    assert waiting.wait(timeout=60) == 0
    assert version_rows(database) == [(3, False)]


def test_failing_third_statement_rolls_back_the_whole_file(database: str, tmp_path: Path) -> None:
    files = dict(THREE)
    files["003_tags.up.sql"] = (
        "CREATE TABLE tags (id int PRIMARY KEY);\n"
        "CREATE INDEX tags_id ON tags (id);\n"
        "-- the next statement fails\n"
        "INSERT INTO tags (id)\n    VALUES (no_such_column);\n"
    )
    migrations = write_migrations(tmp_path / "m", files)
    api.up(database, migrations, to=2)
    proc = run_cli("up", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 4
    line = one_line_error(proc)
    assert "003_tags.up.sql:5" in line
    assert "no_such_column" in line
    assert version_rows(database) == [(2, False)]
    assert not table_exists(database, "tags")
    assert query(database, "SELECT count(*) FROM pg_class WHERE relname = 'tags_id'") == [(0,)]


def test_sigkill_during_a_migration_never_leaves_it_dirty(database: str, tmp_path: Path) -> None:
    files = dict(THREE)
    files["002_posts.up.sql"] = (
        "CREATE TABLE posts (id int);\nSELECT pg_sleep(3);\nCREATE TABLE posts2 (id int);\n"
    )
    files["002_posts.down.sql"] = "DROP TABLE posts2;\nDROP TABLE posts;\n"
    migrations = write_migrations(tmp_path / "m", files)
    proc = spawn_cli("up", "--database-url", database, "--migrations", str(migrations))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not query(
        database,
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'veza-db' AND query LIKE '%pg_sleep(3)%'",
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert version_rows(database) == [(1, False)]
    assert not table_exists(database, "posts")
    result = run_cli("up", "--database-url", database, "--migrations", str(migrations))
    assert result.returncode == 0, result.stderr
    assert version_rows(database) == [(3, False)]


def test_edited_applied_file_is_refused_by_up_and_status(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    api.up(database, migrations, to=2)
    (migrations / "002_posts.up.sql").write_text(THREE["002_posts.up.sql"] + "-- edited\n")
    for command in ("up", "status"):
        proc = run_cli(command, "--database-url", database, "--migrations", str(migrations))
        assert proc.returncode == 3, proc.stderr
        assert "002_posts.up.sql" in proc.stderr
        assert "changed" in proc.stderr
    assert version_rows(database) == [(2, False)]


@pytest.mark.parametrize("change", ["insert", "renumber", "edit"])
def test_sum_file_refuses_before_any_database_is_touched(tmp_path: Path, change: str) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    api.hash_migrations(migrations)
    if change == "insert":
        (migrations / "003_tags.up.sql").rename(migrations / "004_tags.up.sql")
        (migrations / "003_tags.down.sql").rename(migrations / "004_tags.down.sql")
        write_migrations(migrations, {"003_extra.up.sql": "SELECT 1;\n", "003_extra.down.sql": "SELECT 1;\n"})
    elif change == "renumber":
        for direction in ("up", "down"):
            (migrations / f"002_posts.{direction}.sql").write_text(THREE[f"003_tags.{direction}.sql"])
            (migrations / f"003_tags.{direction}.sql").write_text(THREE[f"002_posts.{direction}.sql"])
    else:
        (migrations / "001_users.up.sql").write_text("CREATE TABLE users (id int);\n")
    # Port 1 has no server: exit 3 rather than 4 shows no connection was attempted.
    proc = run_cli("up", "--database-url", "postgresql://x@127.0.0.1:1/none", "--migrations", str(migrations))
    assert proc.returncode == 3, proc.stderr
    assert "veza.sum" in one_line_error(proc)


def test_validation_reports_every_problem_by_file(tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "001_a.up.sql": "SELECT 1;\n",
            "001_a.down.sql": "SELECT 1;\n",
            "002_b.up.sql": "SELECT 1;\n",  # no down: fine
            "003_c.up.sql": "-- nothing here\n",  # a no-op: fine
            "003_c.down.sql": "SELECT 1;\n",
            "004_d.up.sql": "CREAT TABLE x (id int);\n",
            "004_d.down.sql": "SELECT 1;\n",
            "008_f.up.sql": "SELECT 1;\n",  # a gap: fine
            "008_f.down.sql": "SELECT 1;\n",
            "README.md": "not SQL: left alone, as golang-migrate leaves it",
            "7-bad-name.up.sql": "SELECT 1;\n",
            "005_e.up.sql": "CREATE TABLE e (id int);\nCOMMIT;\n",
            "005_e.down.sql": "DROP TABLE e;\n",
            "006_orphan.down.sql": "SELECT 1;\n",
            "99999999999999999999_huge.up.sql": "SELECT 1;\n",
        },
    )
    with pytest.raises(MigrationDirectoryError) as caught:
        discover(migrations)
    problems = "\n".join(caught.value.problems)
    assert "004_d.up.sql:1: PostgreSQL cannot parse it" in problems
    assert "7-bad-name.up.sql: not a migration file" in problems
    assert "005_e.up.sql:2: transaction control inside a migration" in problems
    assert "006_orphan.down.sql: has no up file" in problems
    assert "99999999999999999999_huge.up.sql: version 99999999999999999999 does not fit" in problems
    assert len(caught.value.problems) == 5, problems
    proc = run_cli("up", "--database-url", "postgresql://x@127.0.0.1:1/none", "--migrations", str(migrations))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == len(caught.value.problems)


def test_statements_the_runner_cannot_run_are_refused_by_the_parser(tmp_path: Path) -> None:
    """Transaction control and client COPY are refused by statement kind, not by their spelling."""
    migrations = write_migrations(
        tmp_path / "m",
        {
            # PREPARE and a COPY from a server file are runnable; 'COPY' and 'BEGIN' in strings
            # and in a function body are not statements.
            "001_a.up.sql": (
                "PREPARE p AS SELECT 'BEGIN; COPY t FROM STDIN';\nDEALLOCATE p;\n"
                "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;\n"
                "CREATE TABLE t (id int);\nCOPY t FROM '/dev/null';\n"
            ),
            "001_a.down.sql": "DROP TABLE t;\nDROP FUNCTION f();\n",
            "002_b.up.sql": "SELECT 1;\n\n  copy t (id)\n  from stdin;\n",
            "002_b.down.sql": "SELECT 1;\n",
            "003_c.up.sql": "SELECT 1;\n/* a comment */ Start Transaction;\n",
            "003_c.down.sql": "SELECT 1;\n",
            "004_d.up.sql": "COPY (SELECT 1) TO STDOUT;\n",
            "004_d.down.sql": "SELECT 1;\n",
            "005_e.up.sql": "SELECT 1;\nSELECT 'x\x00y';\n",
            "005_e.down.sql": "SELECT 1;\n",
        },
    )
    with pytest.raises(MigrationDirectoryError) as caught:
        discover(migrations)
    assert caught.value.problems == [
        "002_b.up.sql:3: COPY from STDIN or to STDOUT needs a client to stream the data, which a "
        "migration cannot give; load the rows with INSERT ... VALUES, or COPY from a file on the server",
        "003_c.up.sql:2: transaction control inside a migration; the runner runs each file in one "
        "transaction (a file may open with BEGIN and end with COMMIT and hold no other; otherwise "
        "remove it, or make `-- veza-db: no-transaction` the first line)",
        "004_d.up.sql:1: COPY from STDIN or to STDOUT needs a client to stream the data, which a "
        "migration cannot give; load the rows with INSERT ... VALUES, or COPY from a file on the server",
        "005_e.up.sql:2: contains a NUL byte, which SQL cannot hold (is it a binary file?); remove it",
    ]


def test_split_keeps_line_numbers_in_a_long_file() -> None:
    from veza_db.migrate.script import split_statements

    statements = split_statements("SELECT 1;\n" * 3 + "\n-- c\nSELECT\n2;" + "SELECT 3;\n" * 2)
    assert [(s.line, s.first_token) for s in statements] == [
        (1, "SELECT"),
        (2, "SELECT"),
        (3, "SELECT"),
        (6, "SELECT"),
        (7, "SELECT"),
        (8, "SELECT"),
    ]


def test_duplicate_version_is_refused(tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "001_a.up.sql": "SELECT 1;",
            "001_a.down.sql": "SELECT 1;",
            "1_b.up.sql": "SELECT 1;",
            "1_b.down.sql": "SELECT 1;",
        },
    )
    with pytest.raises(MigrationDirectoryError, match="duplicate version 1"):
        discover(migrations)


def test_no_transaction_file_can_be_dirty_and_status_says_how_to_recover(
    database: str, tmp_path: Path
) -> None:
    files = dict(THREE)
    files["004_index.up.sql"] = (
        "-- veza-db: no-transaction\nCREATE INDEX CONCURRENTLY idx_tags_name ON tags (name);\n"
        "CREATE INDEX CONCURRENTLY idx_broken ON tags (no_such_column);\n"
    )
    files["004_index.down.sql"] = "-- veza-db: no-transaction\nDROP INDEX CONCURRENTLY idx_tags_name;\n"
    migrations = write_migrations(tmp_path / "m", files)
    proc = run_cli("up", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 4
    assert "004_index.up.sql:3" in one_line_error(proc)
    assert version_rows(database) == [(4, True)]
    status = run_cli("status", "--database-url", database, "--migrations", str(migrations))
    assert status.returncode == 3
    assert "veza-db force 3" in status.stderr
    assert run_cli("up", "--database-url", database, "--migrations", str(migrations)).returncode == 3
    # Recovery as status describes it: undo by hand, force the previous version, fix, up.
    run_sql(database, "DROP INDEX idx_tags_name")
    assert run_cli("force", "3", "--database-url", database, "--migrations", str(migrations)).returncode == 0
    (migrations / "004_index.up.sql").write_text(files["004_index.up.sql"].rsplit("CREATE INDEX", 1)[0])
    assert run_cli("up", "--database-url", database, "--migrations", str(migrations)).returncode == 0
    assert version_rows(database) == [(4, False)]


def test_concurrently_mixed_with_other_statements_is_refused_before_anything_runs(
    database: str, tmp_path: Path
) -> None:
    files = dict(THREE)
    files["003_tags.up.sql"] += "CREATE INDEX CONCURRENTLY idx_tags_name ON tags (name);\n"
    migrations = write_migrations(tmp_path / "m", files)
    proc = run_cli("up", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "003_tags.up.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in line
    assert "file of its own" in line
    assert "veza-db: no-transaction" in line
    assert not table_exists(database, "schema_migrations")


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["up", "--database-url", "mysql://root@localhost/x"], 2, "malformed database URL"),
        (
            ["up", "--database-url", "postgresql://u:pw@host:notaport/db"],
            2,
            "malformed database URL",
        ),
        (["up", "--database-url", "postgresql://u:s3cr3t-pw@127.0.0.1:1/db"], 4, "cannot connect"),
        (
            [
                "up",
                "--migrations",
                "/nonexistent/migrations",
                "--database-url",
                "postgresql://x@127.0.0.1:1/x",
            ],
            2,
            "does not exist",
        ),
        (["down", "--database-url", "postgresql://x@127.0.0.1:1/x"], 2, "exactly one target"),
    ],
)
def test_bad_input_is_one_line_with_the_right_exit_code(args: list[str], code: int, needle: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == code, proc.stderr
    line = one_line_error(proc)
    assert needle in line
    assert "s3cr3t-pw" not in proc.stderr + proc.stdout


def test_wrong_password_is_masked_and_changes_nothing(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS veza_pw_test")
        conn.execute("CREATE ROLE veza_pw_test LOGIN PASSWORD 'right-password'")
    secret = "Wr0ng-P%40ss"  # noqa: S105 - a deliberately wrong password, percent-encoded '@'
    bad = database.replace("postgres@", f"veza_pw_test:{secret}@")
    proc = run_cli("up", "--database-url", bad, "--migrations", str(migrations))
    assert proc.returncode == 4
    line = one_line_error(proc)
    assert "password authentication failed" in line
    assert secret not in proc.stderr
    assert "Wr0ng-P@ss" not in proc.stderr
    assert not table_exists(database, "schema_migrations")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DROP ROLE veza_pw_test")


def test_misnamed_file_is_a_usage_error(tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", {**THREE, "004-tags.up.sql": "SELECT 1;"})
    proc = run_cli("up", "--database-url", "postgresql://x@127.0.0.1:1/x", "--migrations", str(migrations))
    assert proc.returncode == 2
    assert "004-tags.up.sql" in one_line_error(proc)


def test_database_ahead_of_directory_is_refused(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", THREE)
    api.up(database, migrations)
    fewer = write_migrations(tmp_path / "fewer", {k: v for k, v in THREE.items() if not k.startswith("003")})
    proc = run_cli("up", "--database-url", database, "--migrations", str(fewer))
    assert proc.returncode == 3
    assert "version 3" in one_line_error(proc)
