"""`veza-db plan` on a corpus of migration patterns, each with its expected verdict, on 18 and 15.

The target is at version 1 with a few tables holding rows; each pattern is a pending file 2.
The verdicts are PostgreSQL's own behaviour, observed on a scratch copy: a relfilenode that
changes is a rewrite, pg_locks shows the lock each statement holds.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Server
from tests.helpers import query, run_cli, write_migrations
from veza_db import api
from veza_db.migrate import discover

BASE = """\
CREATE TABLE accounts (id bigint PRIMARY KEY, email varchar(50) NOT NULL);
CREATE TABLE tracks (
    id integer PRIMARY KEY,
    account_id bigint,
    title varchar(50),
    plays integer,
    note text,
    CONSTRAINT tracks_title_not_null CHECK (title IS NOT NULL)
);
ALTER TABLE tracks ADD CONSTRAINT tracks_note_length CHECK (length(note) < 1000) NOT VALID;
CREATE INDEX tracks_title ON tracks (title);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 50) AS g;
INSERT INTO tracks SELECT g, g % 50 + 1, 'track ' || g, g, NULL FROM generate_series(1, 500) AS g;
CREATE MATERIALIZED VIEW charts AS SELECT id, account_id FROM tracks;
CREATE UNIQUE INDEX charts_id ON charts (id);
CREATE UNLOGGED TABLE scratchpad (id integer);
CREATE TYPE mood AS ENUM ('sad');
CREATE VIEW track_titles AS SELECT id, title FROM tracks;
CREATE SCHEMA archive;
CREATE TABLE archive.old_tracks (id integer);
ANALYZE accounts, tracks;
"""

TRIGGER = """\
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER tracks_touch BEFORE UPDATE ON tracks FOR EACH ROW EXECUTE FUNCTION touch();
"""

# (pattern, pending file 2, expected verdict)
CORPUS = [
    (
        "add column, constant default",
        "ALTER TABLE tracks ADD COLUMN rating integer NOT NULL DEFAULT 0;",
        "ok",
    ),
    (
        "add column, volatile default",
        "ALTER TABLE tracks ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();",
        "danger",
    ),
    ("widen varchar(50) to varchar(100)", "ALTER TABLE accounts ALTER COLUMN email TYPE varchar(100);", "ok"),
    ("varchar(50) to text", "ALTER TABLE accounts ALTER COLUMN email TYPE text;", "ok"),
    ("integer to bigint", "ALTER TABLE tracks ALTER COLUMN plays TYPE bigint;", "danger"),
    ("SET NOT NULL, no check", "ALTER TABLE tracks ALTER COLUMN plays SET NOT NULL;", "danger"),
    ("SET NOT NULL, validated check", "ALTER TABLE tracks ALTER COLUMN title SET NOT NULL;", "ok"),
    (
        "foreign key, validated",
        "ALTER TABLE tracks ADD CONSTRAINT tracks_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);",
        "danger",
    ),
    (
        "foreign key, NOT VALID",
        "ALTER TABLE tracks ADD CONSTRAINT tracks_account_fk FOREIGN KEY (account_id) "
        "REFERENCES accounts (id) NOT VALID;",
        "ok",
    ),
    (
        "CHECK, validated",
        "ALTER TABLE tracks ADD CONSTRAINT tracks_plays_check CHECK (plays >= 0);",
        "danger",
    ),
    (
        "CHECK, NOT VALID",
        "ALTER TABLE tracks ADD CONSTRAINT tracks_plays_check CHECK (plays >= 0) NOT VALID;",
        "ok",
    ),
    ("VALIDATE CONSTRAINT", "ALTER TABLE tracks VALIDATE CONSTRAINT tracks_note_length;", "ok"),
    ("index", "CREATE INDEX tracks_plays ON tracks (plays);", "danger"),
    ("index, CONCURRENTLY", "CREATE INDEX CONCURRENTLY tracks_plays ON tracks (plays);", "ok"),
    ("unique constraint", "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);", "danger"),
    ("VACUUM FULL", "VACUUM FULL tracks;", "danger"),
    ("CLUSTER", "CLUSTER tracks USING tracks_pkey;", "danger"),
    ("REINDEX", "REINDEX INDEX tracks_title;", "danger"),
    ("REINDEX CONCURRENTLY", "REINDEX INDEX CONCURRENTLY tracks_title;", "ok"),
    ("trigger", TRIGGER, "caution"),
    ("rename column", "ALTER TABLE tracks RENAME COLUMN note TO notes;", "caution"),
    ("rename table", "ALTER TABLE accounts RENAME TO users;", "caution"),
    ("drop column", "ALTER TABLE tracks DROP COLUMN note;", "caution"),
    ("drop index", "DROP INDEX tracks_title;", "caution"),
    ("drop index, CONCURRENTLY", "DROP INDEX CONCURRENTLY tracks_title;", "ok"),
    ("enum value", "ALTER TYPE mood ADD VALUE 'happy';", "ok"),
    ("REFRESH MATERIALIZED VIEW", "REFRESH MATERIALIZED VIEW charts;", "danger"),
    ("REFRESH ... CONCURRENTLY", "REFRESH MATERIALIZED VIEW CONCURRENTLY charts;", "ok"),
    ("SET LOGGED", "ALTER TABLE scratchpad SET LOGGED;", "danger"),
    ("add column with a CHECK", "ALTER TABLE tracks ADD COLUMN stars integer CHECK (stars > 0);", "danger"),
    ("add column UNIQUE", "ALTER TABLE tracks ADD COLUMN isrc text UNIQUE;", "danger"),
    (
        "NOT VALID then VALIDATE in the same file",
        "ALTER TABLE tracks ADD CONSTRAINT tracks_plays_check CHECK (plays >= 0) NOT VALID;\n"
        "ALTER TABLE tracks VALIDATE CONSTRAINT tracks_plays_check;",
        "danger",
    ),
    ("TRUNCATE", "TRUNCATE scratchpad;", "caution"),
    ("drop a view", "DROP VIEW track_titles;", "caution"),
    ("drop a schema", "DROP SCHEMA archive CASCADE;", "caution"),
    (
        "new table with its index and a foreign key",
        "CREATE TABLE playlists (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts (id));\n"
        "CREATE INDEX playlists_account ON playlists (account_id);",
        "ok",
    ),
]


@pytest.fixture
def target(any_server: Server, tmp_path: Path) -> tuple[str, Server]:
    name = any_server.create_database("plan")
    url = any_server.url(name)
    api.up(url, write_migrations(tmp_path / "base", {"1_base.up.sql": BASE}))
    return url, any_server


def _leftovers(server: Server) -> list[tuple[object, ...]]:
    return query(server.admin_url, "SELECT datname FROM pg_database WHERE datname LIKE 'veza_plan_%'")


def test_every_pattern_gets_its_verdict(target: tuple[str, Server], tmp_path: Path) -> None:
    url, server = target
    got = {}
    for index, (pattern, sql, _) in enumerate(CORPUS):
        directory = write_migrations(
            tmp_path / f"m{index}", {"1_base.up.sql": BASE, "2_change.up.sql": sql + "\n"}
        )
        result = api.plan(url, directory)
        assert result.pending == ("2_change.up.sql",)
        got[pattern] = result.verdict
    assert got == {pattern: verdict for pattern, _, verdict in CORPUS}
    assert len(CORPUS) >= 20
    assert _leftovers(server) == []
    assert query(url, "SELECT version, dirty FROM schema_migrations") == [(1, False)]
    assert query(
        url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'tracks'::regclass AND attname = 'rating'"
    ) == [(0,)]


def test_the_plan_shows_locks_rewrites_sizes_and_the_safe_pattern(
    target: tuple[str, Server], tmp_path: Path
) -> None:
    url, _ = target
    directory = write_migrations(
        tmp_path / "m",
        {
            "1_base.up.sql": BASE,
            "2_widen.up.sql": "-- plays outgrew integer\nALTER TABLE tracks ALTER COLUMN plays TYPE bigint;\n",
        },
    )
    proc = run_cli("plan", "--format", "json", "--database-url", url, "--migrations", str(directory))
    assert proc.returncode == 1, proc.stderr
    plan = json.loads(proc.stdout)
    (statement,) = plan["statements"]
    assert (statement["file"], statement["line"], statement["verdict"]) == ("2_widen.up.sql", 2, "danger")
    assert {
        "relation": "tracks",
        "kind": "table",
        "mode": "ACCESS EXCLUSIVE",
        "blocks": "reads and writes",
        "source": "pg_locks",
    } in statement["locks"]
    assert "tracks" in statement["rewrites"]
    assert statement["sizes"]["tracks"]["rows"] == 500
    assert statement["sizes"]["tracks"]["bytes"] > 0
    assert "fill it in batches" in statement["findings"][0]["safe"]
    assert (
        run_cli(
            "plan", "--fail-on", "never", "--database-url", url, "--migrations", str(directory)
        ).returncode
        == 0
    )
    text = run_cli("plan", "--fail-on", "never", "--database-url", url, "--migrations", str(directory)).stdout
    assert "**DANGER** `2_widen.up.sql:2`" in text
    assert "blocks reads and writes" in text


def test_sarif_points_at_the_file_and_line(target: tuple[str, Server], tmp_path: Path) -> None:
    url, _ = target
    directory = write_migrations(
        tmp_path / "m",
        {
            "1_base.up.sql": BASE,
            "2_two.up.sql": "CREATE TABLE likes (id bigint);\n\nCREATE INDEX tracks_plays ON tracks (plays);\n"
            "ALTER TABLE tracks RENAME COLUMN note TO notes;\n",
        },
    )
    out = tmp_path / "plan.sarif"
    proc = run_cli(
        "plan",
        "--format",
        "sarif",
        "--output",
        str(out),
        "--database-url",
        url,
        "--migrations",
        str(directory),
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    rules = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert rules == {"danger", "caution"}
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    located = []
    for result in run["results"]:
        assert result["ruleId"] in rules
        assert result["level"] in ("error", "warning")
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        located.append(
            (
                result["ruleId"],
                Path(physical["artifactLocation"]["uri"]).name,
                physical["region"]["startLine"],
            )
        )
    assert located == [("danger", "2_two.up.sql", 3), ("caution", "2_two.up.sql", 4)]


def test_v1_migrations_on_an_empty_database_are_no_danger(any_database: str) -> None:
    result = api.plan(any_database)
    assert result.pending == tuple(m.up.path.name for m in discover.discover(discover.package_dir()))
    assert result.verdict == "ok", [s.to_dict() for s in result.statements if s.verdict != "ok"]
    assert query(any_database, "SELECT to_regclass('public.schema_migrations')") == [(None,)]


def test_plan_is_not_blocked_by_a_lock_on_the_target(target: tuple[str, Server], tmp_path: Path) -> None:
    url, server = target
    directory = write_migrations(
        tmp_path / "m",
        {"1_base.up.sql": BASE, "2_index.up.sql": "CREATE INDEX tracks_plays ON tracks (plays);\n"},
    )
    with psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE tracks IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        finished: list[float] = []

        def run() -> None:
            api.plan(url, directory)
            finished.append(time.monotonic())

        worker = threading.Thread(target=run)
        worker.start()
        worker.join(timeout=10)
        assert finished, "plan waited behind the lock"
        assert finished[0] - started < 2
        holder.rollback()
    assert _leftovers(server) == []
    assert query(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'tracks_plays'") == [(0,)]


def test_a_statement_that_fails_on_the_copy_is_one_line(target: tuple[str, Server], tmp_path: Path) -> None:
    url, server = target
    directory = write_migrations(
        tmp_path / "m", {"1_base.up.sql": BASE, "2_typo.up.sql": "ALTER TABLE trakcs ADD COLUMN x int;\n"}
    )
    proc = run_cli("plan", "--database-url", url, "--migrations", str(directory))
    assert proc.returncode == 4
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "2_typo.up.sql:1: fails on a scratch copy of the schema" in lines[0]
    assert 'relation "trakcs" does not exist' in lines[0]
    assert _leftovers(server) == []


def test_a_statement_that_changes_the_server_is_refused_not_left_behind(
    target: tuple[str, Server], tmp_path: Path
) -> None:
    url, server = target
    directory = write_migrations(
        tmp_path / "m", {"1_base.up.sql": BASE, "2_role.up.sql": "CREATE ROLE veza_plan_probe NOLOGIN;\n"}
    )
    proc = run_cli("plan", "--database-url", url, "--migrations", str(directory))
    assert proc.returncode == 3
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "2_role.up.sql:1:" in lines[0]
    assert "changes the whole server" in lines[0]
    assert query(server.admin_url, "SELECT count(*) FROM pg_roles WHERE rolname = 'veza_plan_probe'") == [
        (0,)
    ]
    assert _leftovers(server) == []
