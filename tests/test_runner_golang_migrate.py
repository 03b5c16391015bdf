"""The runner on directories and databases in golang-migrate's shapes, on PostgreSQL 18 and 15.

The files here are written in the shapes `migrate create` and real projects use: timestamp
versions with gaps, version 0, comment-only files, up files without down files, a file holding
only `CREATE INDEX CONCURRENTLY`, files wrapped in their own BEGIN/COMMIT, a database stamped by
golang-migrate with no veza-db history.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest

from tests.helpers import one_line_error, query, run_cli, run_sql, write_migrations
from veza_db import api
from veza_db.errors import RefusedError
from veza_db.migrate import lock
from veza_db.migrate.discover import MigrationDirectoryError, discover
from veza_db.migrate.script import NO_TRANSACTION_AUTOMATIC, TRANSACTION

INDEX_FILE = "20240301000000_index_posts.up.sql"
LAST = "20240402101500_AddUserAgent"

GOLANG_MIGRATE_LAYOUT = {
    "0_init.up.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n",
    "0_init.down.sql": "DROP TABLE accounts;\n",
    "20240101120000_add_posts.up.sql": (
        "CREATE TABLE posts (\n    id bigint PRIMARY KEY,\n    account_id bigint NOT NULL REFERENCES accounts,\n"
        "    slug text NOT NULL\n);\n"
    ),
    "20240101120000_add_posts.down.sql": "DROP TABLE posts;\n",
    "20240115093000_reserved.up.sql": "-- Reserved for the billing team; intentionally empty.\n",
    "20240115093000_reserved.down.sql": "",
    INDEX_FILE: (
        "-- Built without blocking writes on posts.\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS posts_slug_key ON posts (slug);\n"
    ),
    "20240301000000_index_posts.down.sql": "DROP INDEX CONCURRENTLY IF EXISTS posts_slug_key;\n",
    f"{LAST}.up.sql": "ALTER TABLE accounts ADD COLUMN user_agent text;\n",
    "README.md": "Migrations for the accounts service.\n",
}
VERSIONS = [0, 20240101120000, 20240115093000, 20240301000000, 20240402101500]


def cli(*args: str, database: str, migrations: Path) -> tuple[int, str, str]:
    proc = run_cli(*args, "--database-url", database, "--migrations", str(migrations))
    return proc.returncode, proc.stdout, proc.stderr


def version_row(url: str, table: str = "schema_migrations") -> list[tuple[object, ...]]:
    return query(url, f"SELECT version, dirty FROM {table}")


def test_golang_migrate_layout_applies_lists_and_refuses_a_missing_down(
    any_database: str, tmp_path: Path
) -> None:
    migrations = write_migrations(tmp_path / "m", GOLANG_MIGRATE_LAYOUT)
    code, out, err = cli("up", database=any_database, migrations=migrations)
    assert code == 0, err
    assert f"{INDEX_FILE}" in out
    assert "no-transaction (automatic)" in out
    assert "no-op" in out
    assert version_row(any_database) == [(VERSIONS[-1], False)]
    assert query(
        any_database,
        "SELECT indisunique, indisvalid FROM pg_index WHERE indexrelid = 'posts_slug_key'::regclass",
    ) == [(True, True)]

    code, out, err = cli("status", "--json", database=any_database, migrations=migrations)
    assert code == 0, err
    status = json.loads(out)
    listed = {m["version"]: m for m in status["migrations"]}
    assert sorted(listed) == VERSIONS
    assert {m["state"] for m in listed.values()} == {"applied"}
    assert listed[20240301000000]["transaction"] == NO_TRANSACTION_AUTOMATIC
    assert listed[20240101120000]["transaction"] == TRANSACTION
    assert [v for v, m in listed.items() if m["noop"]] == [20240115093000]
    assert [v for v, m in listed.items() if m["down"] is None] == [20240402101500]
    assert [a["version"] for a in status["applied"]] == VERSIONS

    proc = run_cli("down", "--steps", "1", "--database-url", any_database, "--migrations", str(migrations))
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert f"{LAST}.up.sql" in line
    assert f"{LAST}.down.sql" in line
    assert version_row(any_database) == [(VERSIONS[-1], False)]
    assert query(
        any_database,
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'user_agent'",
    ) == [(1,)]

    # With the down file written, rolling back crosses the no-op and the automatic no-transaction file.
    (migrations / f"{LAST}.down.sql").write_text("ALTER TABLE accounts DROP COLUMN user_agent;\n")
    code, out, err = cli("down", "--to", "20240101120000", database=any_database, migrations=migrations)
    assert code == 0, err
    assert version_row(any_database) == [(20240101120000, False)]
    assert query(any_database, "SELECT to_regclass('posts_slug_key')") == [(None,)]
    assert api.up(any_database, migrations).current == VERSIONS[-1]
    assert api.down(any_database, migrations, all_versions=True).current is None
    assert version_row(any_database) == []
    assert query(any_database, "SELECT to_regclass('accounts')") == [(None,)]


def stamp(url: str, version: int) -> None:
    """A database as golang-migrate leaves it: its version table, one row, no veza-db history."""
    run_sql(
        url,
        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
        f"TRUNCATE schema_migrations; INSERT INTO schema_migrations VALUES ({version}, false);",
    )


def test_a_database_golang_migrate_stamped_continues_at_once(any_database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", GOLANG_MIGRATE_LAYOUT)
    # What the first three files built, as another tool applied them.
    run_sql(
        any_database,
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);"
        "CREATE TABLE posts (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, slug text NOT NULL);",
    )
    stamp(any_database, 20240115093000)
    started = time.perf_counter()
    status = api.status(any_database, migrations)
    assert time.perf_counter() - started < 1
    assert [m.version for m in status.untracked] == VERSIONS[:3]
    assert [m.version for m in status.pending] == VERSIONS[3:]
    code, out, err = cli("status", database=any_database, migrations=migrations)
    assert code == 0, err
    assert out.count("by another tool") == 3
    assert out.count("pending") == 2

    code, out, err = cli("up", database=any_database, migrations=migrations)
    assert code == 0, err  # the first files would fail ("already exists") if they ran again
    assert "0_init" not in out
    assert "add_posts" not in out
    assert INDEX_FILE in out
    assert LAST in out
    assert version_row(any_database) == [(VERSIONS[-1], False)]
    # The files golang-migrate applied are recorded as found (execution_ms -1), so that a file
    # merged later below them can be told from one another tool ran.
    history = query(
        any_database, "SELECT version, execution_ms, applied_by FROM schema_migrations_history ORDER BY 1"
    )
    assert [(v, ms == -1, by == "another tool") for v, ms, by in history] == [
        (v, v in VERSIONS[:3], v in VERSIONS[:3]) for v in VERSIONS
    ]
    status = json.loads(cli("status", "--json", database=any_database, migrations=migrations)[1])
    assert [m["state"] for m in status["migrations"]] == ["applied by another tool"] * 3 + ["applied"] * 2


@pytest.mark.parametrize(
    ("stamped", "needle"),
    [(20990101000000, "migrations end at 20240402101500"), (20240201000000, "no file of this directory has")],
)
def test_a_version_the_directory_cannot_continue_from_is_refused_at_once(
    database: str, tmp_path: Path, stamped: int, needle: str
) -> None:
    migrations = write_migrations(tmp_path / "m", GOLANG_MIGRATE_LAYOUT)
    stamp(database, stamped)
    started = time.perf_counter()
    with pytest.raises(RefusedError, match=needle):
        api.status(database, migrations)
    with pytest.raises(RefusedError, match=needle):
        api.up(database, migrations)
    assert time.perf_counter() - started < 1
    for command in ("status", "up"):
        proc = run_cli(command, "--database-url", database, "--migrations", str(migrations))
        assert proc.returncode == 3
        line = one_line_error(proc)
        assert str(stamped) in line
        assert needle in line
    assert query(database, "SELECT to_regclass('accounts')") == [(None,)]


SESSION_STATE_FILES = {
    "001_app_schema.up.sql": "CREATE SCHEMA app;\nSET search_path TO app;\nCREATE TABLE accounts (id int);\n",
    "002_posts.up.sql": "CREATE TABLE posts (id int);\n",
    # pg_dump's baseline preamble empties the search_path for the rest of the session.
    "003_baseline.up.sql": (
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE TABLE public.tags (id int);\n"
        "SET statement_timeout = 1;\n"
    ),
    "004_comments.up.sql": "CREATE TABLE comments (id int, body text);\nSELECT pg_sleep(0.01);\n",
}


def tables(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )


def test_every_file_starts_from_the_same_session_state(any_server: object, tmp_path: Path) -> None:
    from tests.conftest import Server

    assert isinstance(any_server, Server)
    migrations = write_migrations(tmp_path / "m", SESSION_STATE_FILES)
    one, two = any_server.create_database(), any_server.create_database()
    try:
        api.up(any_server.url(one), migrations)
        api.up(any_server.url(two), migrations, to=1)
        api.up(any_server.url(two), migrations, to=3)
        api.up(any_server.url(two), migrations)
        assert tables(any_server.url(one)) == tables(any_server.url(two))
        assert ("public", "posts") in tables(any_server.url(one))
        assert ("public", "comments") in tables(any_server.url(one))
    finally:
        any_server.drop_database(one)
        any_server.drop_database(two)


def test_a_file_wrapped_in_begin_and_commit_runs_in_one_transaction(
    any_database: str, tmp_path: Path
) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_create_users.up.sql": (
                "BEGIN ISOLATION LEVEL SERIALIZABLE;\n\nCREATE TABLE users (id int, isolation text);\n"
                "INSERT INTO users VALUES (1, current_setting('transaction_isolation'));\n"
                "SAVEPOINT before_optional;\nRELEASE SAVEPOINT before_optional;\n\nCOMMIT;\n"
            ),
            "1_create_users.down.sql": "BEGIN;\nDROP TABLE users;\nCOMMIT;\n",
            "2_broken.up.sql": "BEGIN;\nCREATE TABLE broken (id int);\nSELECT 1/0;\nCOMMIT;\n",
        },
    )
    proc = run_cli("up", "--database-url", any_database, "--migrations", str(migrations))
    assert proc.returncode == 4
    line = one_line_error(proc)
    assert "2_broken.up.sql:3: division by zero" in line
    assert query(any_database, "SELECT id, isolation FROM users") == [(1, "serializable")]
    assert query(any_database, "SELECT to_regclass('broken')") == [(None,)]
    assert version_row(any_database) == [(1, False)]
    assert query(any_database, "SELECT version FROM schema_migrations_history") == [(1,)]
    assert api.down(any_database, migrations, all_versions=True).current is None
    assert query(any_database, "SELECT to_regclass('users')") == [(None,)]


def test_a_no_transaction_file_failing_in_its_own_transaction_names_the_line(
    any_database: str, tmp_path: Path
) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_base.up.sql": "CREATE TABLE base (id int);\n",
            "2_manual.up.sql": (
                "-- veza-db: no-transaction\nBEGIN;\nCREATE TABLE t (id int);\nSELECT 1/0;\nCOMMIT;\n"
            ),
        },
    )
    proc = run_cli("up", "--database-url", any_database, "--migrations", str(migrations))
    assert proc.returncode == 4
    line = one_line_error(proc)
    assert "2_manual.up.sql:4: division by zero [22012]" in line
    assert "veza-db force 1" in line
    assert "current transaction is aborted" not in line
    assert version_row(any_database) == [(2, True)]
    assert query(any_database, "SELECT to_regclass('t')") == [(None,)]
    status = run_cli("status", "--database-url", any_database, "--migrations", str(migrations))
    assert status.returncode == 3
    assert "veza-db force 1" in one_line_error(status)


def test_postgresql_detail_and_hint_are_kept(any_database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_mood.up.sql": "CREATE TYPE mood AS ENUM ('sad');\n",
            "2_happy.up.sql": "ALTER TYPE mood ADD VALUE 'happy';\nSELECT 'happy'::mood;\n",
        },
    )
    proc = run_cli("up", "--database-url", any_database, "--migrations", str(migrations))
    assert proc.returncode == 4
    line = one_line_error(proc)
    assert "2_happy.up.sql:2:" in line
    assert "hint: New enum values must be committed before they can be used" in line
    assert version_row(any_database) == [(1, False)]

    write_migrations(
        migrations,
        {
            "2_happy.up.sql": "ALTER TYPE mood ADD VALUE 'happy';\n",
            "3_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (7), (7);\n",
        },
    )
    line = one_line_error(run_cli("up", "--database-url", any_database, "--migrations", str(migrations)))
    assert "3_t.up.sql:2: duplicate key value violates unique constraint" in line
    assert "detail: Key (id)=(7) already exists." in line


def test_a_failing_file_runs_once(database: str, tmp_path: Path) -> None:
    # A sequence is not transactional: each run of the failing file would advance it.
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_runs.up.sql": "CREATE SEQUENCE runs;\n",
            "2_fails.up.sql": "SELECT nextval('runs');\nCREATE TABLE t (id int);\nSELECT 1/0;\n",
        },
    )
    assert run_cli("up", "--database-url", database, "--migrations", str(migrations)).returncode == 4
    assert query(database, "SELECT last_value, is_called FROM runs") == [(1, True)]


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("\\restrict K3yFromPgDump\nCREATE TABLE t (id int);\n", "\\restrict"),
        ("CREATE TABLE t (id int);\n  \\set ON_ERROR_STOP on\n", "\\set"),
        ("\\connect veza\nCREATE TABLE t (id int);\n", "\\connect"),
    ],
)
def test_psql_meta_commands_are_named(tmp_path: Path, text: str, command: str) -> None:
    migrations = write_migrations(tmp_path / "m", {"1_dump.up.sql": text})
    with pytest.raises(MigrationDirectoryError) as caught:
        discover(migrations)
    (problem,) = caught.value.problems
    assert f"`{command}` is a psql meta-command, not SQL" in problem
    assert "cannot parse" not in problem


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE public.schema_migrations (version character varying NOT NULL);",
        "ALTER TABLE ONLY public.schema_migrations ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);",
        "INSERT INTO \"schema_migrations\" (version) VALUES ('20240101120000');",
        "DROP TABLE schema_migrations_history;",
        "TRUNCATE schema_migrations;",
    ],
)
def test_a_file_that_changes_the_version_tables_is_refused(tmp_path: Path, statement: str) -> None:
    migrations = write_migrations(
        tmp_path / "m", {"1_structure.up.sql": f"CREATE TABLE users (id int);\n{statement}\n"}
    )
    with pytest.raises(MigrationDirectoryError) as caught:
        discover(migrations)
    (problem,) = caught.value.problems
    assert problem.startswith("1_structure.up.sql:2: ")
    assert "the runner's own version tables" in problem
    # Reading them is fine; another table of that name in another schema too.
    reading = write_migrations(
        tmp_path / "r",
        {
            "1_read.up.sql": "SELECT version FROM schema_migrations;\nCREATE TABLE audit.schema_migrations (v int);\n"
        },
    )
    assert len(discover(reading)) == 1


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("VACUUM (ANALYZE) posts;", NO_TRANSACTION_AUTOMATIC),
        ("DROP INDEX CONCURRENTLY IF EXISTS posts_slug_key;", NO_TRANSACTION_AUTOMATIC),
        ("REINDEX INDEX CONCURRENTLY posts_slug_key;", NO_TRANSACTION_AUTOMATIC),
        ("ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;", NO_TRANSACTION_AUTOMATIC),
        (
            "CREATE INDEX CONCURRENTLY a ON t (x);\nCREATE INDEX CONCURRENTLY b ON t (y);",
            NO_TRANSACTION_AUTOMATIC,
        ),
        ("ANALYZE posts;", TRANSACTION),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY charts;", TRANSACTION),
        ("COMMENT ON TABLE t IS 'built concurrently';", TRANSACTION),
    ],
)
def test_files_that_cannot_run_in_a_transaction_are_found_by_statement_kind(
    tmp_path: Path, text: str, mode: str
) -> None:
    migrations = write_migrations(tmp_path / "m", {"1_x.up.sql": f"-- maintenance\n{text}\n"})
    (migration,) = discover(migrations)
    assert migration.up.mode == mode


def test_migrations_table_option_uses_golang_migrate_table_and_lock(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", GOLANG_MIGRATE_LAYOUT)
    args = (
        "--migrations-table",
        "migrate.versions",
        "--database-url",
        database,
        "--migrations",
        str(migrations),
    )
    proc = run_cli("up", *args)
    assert proc.returncode == 2
    assert "schema 'migrate' of the version table migrate.versions does not exist" in one_line_error(proc)
    assert query(database, "SELECT to_regclass('accounts')") == [(None,)]

    run_sql(database, "CREATE SCHEMA migrate")
    key = lock.advisory_key(database.rsplit("/", 1)[1], "migrate", "versions")
    with psycopg.connect(database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        blocked = run_cli("up", "--lock-timeout", "1", *args)
        assert blocked.returncode == 3
        assert f"pid {holder.info.backend_pid}" in one_line_error(blocked)
    proc = run_cli("up", *args)
    assert proc.returncode == 0, proc.stderr
    assert version_row(database, "migrate.versions") == [(VERSIONS[-1], False)]
    assert query(database, "SELECT count(*) FROM migrate.versions_history") == [(5,)]
    assert query(database, "SELECT to_regclass('public.schema_migrations')") == [(None,)]
    status = run_cli("status", "--json", *args)
    assert json.loads(status.stdout)["current"] == VERSIONS[-1]
    # golang-migrate's own spelling, in the URL it is given.
    in_url = f"{database}?sslmode=disable&x-migrations-table=%22migrate%22.%22versions%22&x-migrations-table-quoted=1"
    status = run_cli("status", "--json", "--database-url", in_url, "--migrations", str(migrations))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["current"] == VERSIONS[-1]

    for bad in ("a.b.c", ".versions", '"quoted"'):
        proc = run_cli(
            "status", "--migrations-table", bad, "--database-url", database, "--migrations", str(migrations)
        )
        assert proc.returncode == 2
        assert "--migrations-table" in one_line_error(proc)


def test_force_takes_none_and_directory_versions_only(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", GOLANG_MIGRATE_LAYOUT)
    api.up(database, migrations, to=20240101120000)
    proc = run_cli("force", "20240101120001", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 2
    assert "not a version of this directory" in one_line_error(proc)
    proc = run_cli("force", "none", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 0, proc.stderr
    assert "version none" in proc.stdout
    assert version_row(database) == []
    assert query(database, "SELECT count(*) FROM schema_migrations_history") == [(0,)]
    assert (
        run_cli(
            "force", "20240101120000", "--database-url", database, "--migrations", str(migrations)
        ).returncode
        == 0
    )
    proc = run_cli("force", "-1", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 0, proc.stderr  # golang-migrate's spelling of "no version"
    assert version_row(database) == []


def test_an_extension_the_embedded_server_lacks_is_explained(database: str, tmp_path: Path) -> None:
    assert query(database, "SELECT current_setting('ssl_library')") == [("",)]  # the embedded build
    migrations = write_migrations(
        tmp_path / "m",
        {
            "1_extensions.up.sql": 'CREATE EXTENSION IF NOT EXISTS citext;\nCREATE EXTENSION IF NOT EXISTS "uuid-ossp";\n'
        },
    )
    proc = run_cli("up", "--database-url", database, "--migrations", str(migrations))
    assert proc.returncode == 4
    line = one_line_error(proc)
    assert '1_extensions.up.sql:2: extension "uuid-ossp" is not available' in line
    assert "built without OpenSSL and libuuid, as the embedded PostgreSQL is" in line
    assert "gen_random_uuid()" in line
    assert "--database-url" in line
    assert query(database, "SELECT count(*) FROM pg_extension WHERE extname = 'citext'") == [(0,)]


def test_the_api_status_is_the_json_the_command_prints(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", GOLANG_MIGRATE_LAYOUT)
    api.up(database, migrations, to=20240101120000)
    code, out, err = cli("status", "--json", database=database, migrations=migrations)
    assert code == 0, err
    printed = json.loads(out)
    assert printed.pop("database") == database
    assert printed == api.status(database, migrations).to_dict()
