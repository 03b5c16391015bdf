"""The data port: Lab -> V1 with nothing lost, deterministic ids, resumable, and refusals."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bench import labgen
from psycopg import sql

from tests.conftest import FIXTURES, REPO, Server, v1_template
from tests.helpers import one_line_error, query, run_cli, run_sql, spawn_cli
from veza_db import api
from veza_db.port import ids

CORE = ("users", "tracks", "playlists")
INTEGER_KEYED = (
    "refresh_tokens", "password_reset_tokens", "email_verification_tokens", "user_sessions",
    "bitrate_adaptation_logs", "hls_streams", "hls_transcode_queue", "playback_analytics", "track_comments",
    "track_history", "track_likes", "track_plays", "track_shares", "track_versions", "playlist_collaborators",
    "playlist_follows", "rooms",
)  # fmt: skip


def fresh_v1(server: Server) -> str:
    name = f"v1_{time.monotonic_ns()}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(v1_template(server))
            )
        )
    return server.url(name)


def _filled(server: Server, schema: str, fill: Callable[[psycopg.Connection[Any]], object]) -> Iterator[str]:
    """A database with the fixture schema `schema`, filled by `fill`, dropped afterwards."""
    name = server.create_database(schema.removesuffix("_schema.sql"))
    url = server.url(name)
    run_sql(url, (FIXTURES / schema).read_text())
    with psycopg.connect(url) as conn:
        fill(conn)
    yield url
    server.drop_database(name)


@pytest.fixture
def lab(server: Server) -> Iterator[str]:
    """A Lab database filled by the generator (every table, tricky strings, soft deletes)."""
    yield from _filled(server, "lab_schema.sql", lambda conn: labgen.generate(conn, labgen.SMALL))


@pytest.fixture
def targets(server: Server) -> Iterator[list[str]]:
    """Fresh V1 databases, dropped afterwards."""
    made: list[str] = []

    class Targets(list[str]):
        def new(self) -> str:
            made.append(fresh_v1(server))
            return made[-1]

    yield Targets()
    for url in made:
        server.drop_database(url.rsplit("/", 1)[1])


def table_state(url: str) -> dict[str, tuple[int, str]]:
    """Per V1 table: row count and a checksum of every column of every row."""
    state = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'schema_migrations%'"
        )]  # fmt: skip
        for table in tables:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
                ).format(sql.Identifier("public", str(table)))
            ).fetchone()
            assert row is not None
            state[str(table)] = (int(row[0]), str(row[1]))
    return state


def ids_of(url: str, table: str) -> set[str]:
    return {str(r[0]) for r in query(url, f"SELECT id FROM public.{table}")}


def test_lab_ports_to_v1_with_nothing_lost(lab: str, targets: Any) -> None:
    target = targets.new()
    proc = run_cli("port", "--from", lab, "--to", target, "--format", "json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert report["broken_foreign_keys"] == []
    assert report["plaintext_left"] == []
    assert len(report["tables"]) == 26
    for table in report["tables"]:
        assert table["ok"], table
        assert table["source_rows"] == table["target_rows"] > 0, table["target"]
        assert table["source_checksum"] == table["target_checksum"]

    for table in CORE:  # UUID keys are kept, so existing links stay valid
        assert ids_of(target, table) == ids_of(lab, table)
    for table in INTEGER_KEYED:  # integer keys become the documented function of (table, key)
        old = [int(str(r[0])) for r in query(lab, f"SELECT id FROM public.{table}")]
        assert ids_of(target, table) == {str(ids.id_for_key(table, k)) for k in old}, table
        in_sql = query(
            target, f"SELECT veza_port.id_for_key('{table}', k)::text FROM unnest(ARRAY{old}::bigint[]) k"
        )
        assert {str(r[0]) for r in in_sql} == ids_of(target, table), table
    ported = max(ids_of(target, "track_plays"))
    fresh = str(query(target, "SELECT uuidv7()")[0][0])
    assert ported < fresh  # ported ids sort before ids generated at run time

    tokens = [
        str(r[0])
        for r in query(
            lab,
            "SELECT token FROM refresh_tokens UNION ALL SELECT token FROM password_reset_tokens UNION ALL SELECT token FROM email_verification_tokens UNION ALL SELECT session_token FROM user_sessions",
        )
    ]
    assert tokens
    with psycopg.connect(target, autocommit=True) as conn:
        text_columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'bytea')"
        ).fetchall()
        for table, column in text_columns:
            found = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE {}::text = ANY (%s) OR {}::text LIKE ANY (%s)").format(
                    sql.Identifier("public", str(table)),
                    sql.Identifier(str(column)),
                    sql.Identifier(str(column)),
                ),
                (tokens, [f"%{t}%" for t in tokens[:50]]),
            ).fetchone()
            assert found == (0,), (table, column)
        hashed = conn.execute(
            "SELECT count(*) FROM refresh_tokens WHERE token_hash = ANY (SELECT sha256(convert_to(t, 'UTF8')) FROM unnest(%s::text[]) t)",
            (tokens,),
        ).fetchone()
    assert hashed == (int(str(query(lab, "SELECT count(*) FROM refresh_tokens")[0][0])),)

    second = targets.new()
    assert run_cli("port", "--from", lab, "--to", second, "--cleanup").returncode == 0
    for table in INTEGER_KEYED + CORE:
        assert ids_of(second, table) == ids_of(target, table)
    assert table_state(second) == table_state(target)
    assert query(second, "SELECT to_regnamespace('veza_port') IS NULL") == [(True,)]


def test_tricky_strings_survive(lab: str, targets: Any) -> None:
    target = targets.new()
    assert run_cli("port", "--from", lab, "--to", target).returncode == 0
    source = {str(r[0]) for r in query(lab, "SELECT bio FROM users WHERE bio IS NOT NULL")}
    ported = {str(r[0]) for r in query(target, "SELECT bio FROM users WHERE bio IS NOT NULL")}
    assert source == ported
    assert any(c in "".join(source) for c in ("\t", "\n", "\\", "'"))
    assert any(not c.isascii() for c in "".join(source))


@pytest.mark.parametrize("source_major", [15, 18])
def test_a_port_across_majors_writes_what_a_port_within_one_writes(
    servers: dict[int, Server], source_major: int
) -> None:
    # Rows cross in COPY's binary format: one major's send functions feed the other's receive
    # functions, and the rows must be the ones a port within the source's own major writes.
    if 15 not in servers:
        pytest.skip("PostgreSQL 15 is not installed on this machine")
    old, new = servers[15], servers[max(servers)]
    home, other = (old, new) if source_major == 15 else (new, old)
    lab_here = contextmanager(_filled)(
        home, "lab_schema.sql", lambda conn: labgen.generate(conn, labgen.SMALL)
    )
    targets = [fresh_v1(home), fresh_v1(other)]
    try:
        with lab_here as source:
            for target in targets:
                proc = run_cli("port", "--from", source, "--to", target, "--format", "json")
                assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
                assert json.loads(proc.stdout)["ok"] is True
        within, across = (table_state(t) for t in targets)
        assert within == across
        assert within["track_plays"][0] > 0
    finally:
        for server, url in ((home, targets[0]), (other, targets[1])):
            server.drop_database(url.rsplit("/", 1)[1])


@pytest.mark.slow
def test_killed_port_resumes_to_the_same_end_state(lab: str, targets: Any) -> None:
    reference = targets.new()
    assert run_cli("port", "--from", lab, "--to", reference).returncode == 0
    expected = table_state(reference)
    # Five moments: blocked before the first table, at tracks, at track_plays, at the last
    # table, and during start-up. A lock held by the test stops the port where we want it.
    for blocked in ("users", "tracks", "track_plays", "user_roles", None):
        target = targets.new()
        with psycopg.connect(target) as holder:
            if blocked:
                holder.execute(
                    sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                        sql.Identifier("public", blocked)
                    )
                )
            proc = spawn_cli("port", "--from", lab, "--to", target)
            deadline = time.monotonic() + 60
            while blocked and time.monotonic() < deadline:
                waiting = query(target, "SELECT count(*) FROM pg_locks WHERE NOT granted")
                if waiting[0][0]:
                    break
                time.sleep(0.02)
            if not blocked:
                time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            holder.rollback()
        resumed = run_cli("port", "--from", lab, "--to", target, "--resume")
        if resumed.returncode == 3 and "nothing to resume" in resumed.stderr:
            resumed = run_cli("port", "--from", lab, "--to", target)  # killed before it began
        assert resumed.returncode == 0, (blocked, resumed.stdout[-2000:], resumed.stderr)
        assert table_state(target) == expected, blocked


@pytest.fixture
def older(server: Server) -> Iterator[str]:
    """A database shaped like an older deployment (tests/fixtures/older_schema.sql), filled."""
    yield from _filled(server, "older_schema.sql", labgen.generate_older)


def test_older_deployment_ports_with_the_example_mapping(older: str, targets: Any) -> None:
    mapping = REPO / "examples" / "older-deployment.toml"
    target = targets.new()
    proc = run_cli("port", "--from", older, "--to", target, "--mapping", str(mapping), "--format", "json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert report["broken_foreign_keys"] == []
    counts = {t["target"]: t["target_rows"] for t in report["tables"]}
    source = {
        table: int(str(query(older, f"SELECT count(*) FROM {table}")[0][0]))
        for table in ("users", "tracks", "playlists", "playlist_tracks", "refresh_tokens", "track_plays", "chat_rooms")
    }  # fmt: skip
    admins = int(str(query(older, "SELECT count(*) FROM users WHERE role = 'admin'")[0][0]))
    assert admins > 0
    assert counts == {
        "users": source["users"], "tracks": source["tracks"], "playlists": source["playlists"],
        "playlist_tracks": source["playlist_tracks"], "refresh_tokens": source["refresh_tokens"],
        "user_sessions": source["refresh_tokens"], "track_plays": source["track_plays"],
        "rooms": source["chat_rooms"], "roles": 1, "user_roles": admins,
    }  # fmt: skip

    # Integer keys, users' included, became the documented ids; foreign keys followed them.
    old_users = [int(str(r[0])) for r in query(older, "SELECT id FROM users")]
    assert ids_of(target, "users") == {str(ids.id_for_key("users", k)) for k in old_users}
    pairs = query(older, "SELECT id, user_id FROM tracks")
    expected = {
        (str(ids.id_for_key("tracks", int(str(t)))), str(ids.id_for_key("users", int(str(u)))))
        for t, u in pairs
    }
    assert {(str(a), str(b)) for a, b in query(target, "SELECT id, user_id FROM tracks")} == expected

    # Local Paris wall-clock times became the instants they meant (winter +01, summer +02).
    paris = query(
        older,
        "SELECT id, to_char(created_at AT TIME ZONE 'Europe/Paris' AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM users",
    )
    utc = query(
        target, "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM users"
    )
    assert {(str(ids.id_for_key("users", int(str(i)))), str(t)) for i, t in paris} == {
        (str(i), str(t)) for i, t in utc
    }
    offsets = query(
        older,
        "SELECT DISTINCT created_at - (created_at AT TIME ZONE 'Europe/Paris' AT TIME ZONE 'UTC') FROM users",
    )
    assert len(offsets) == 2  # the data spans both sides of a daylight-saving change

    # The role column became a profile and an authorisation; nothing of it was lost.
    roles = {str(r): int(str(n)) for r, n in query(older, "SELECT role, count(*) FROM users GROUP BY role")}
    assert {
        str(a): int(str(n)) for a, n in query(target, "SELECT account_type, count(*) FROM users GROUP BY 1")
    } == {
        "artist": roles["artist"],
        "listener": roles["listener"] + roles["admin"],
    }
    assert query(
        target, "SELECT r.name, count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id GROUP BY 1"
    ) == [("admin", admins)]

    # No plaintext token remains: only its SHA-256, and each token got its own session.
    assert query(
        target,
        "SELECT count(*) FROM refresh_tokens rt JOIN user_sessions s ON s.id = rt.session_id AND s.user_id = rt.user_id",
    ) == [(source["refresh_tokens"],)]
    tokens = [str(r[0]) for r in query(older, "SELECT token FROM refresh_tokens")]
    with psycopg.connect(target, autocommit=True) as conn:
        hashed = conn.execute(
            "SELECT count(*) FROM refresh_tokens WHERE token_hash = ANY "
            "(SELECT sha256(convert_to(t, 'UTF8')) FROM unnest(%s::text[]) t)",
            (tokens,),
        ).fetchone()
    assert hashed == (len(tokens),)
    assert report["plaintext_left"] == []

    # The chat messages stay out of V1 (the chat server owns them); the rooms came across.
    assert query(target, "SELECT to_regclass('public.chat_messages') IS NULL") == [(True,)]
    assert query(target, "SELECT count(*) FROM rooms WHERE deleted_at IS NOT NULL") == query(
        older, "SELECT count(*) FROM chat_rooms WHERE archived_at IS NOT NULL"
    )


def test_a_column_without_destination_refuses_before_copying(lab: str, targets: Any) -> None:
    run_sql(
        lab,
        "ALTER TABLE users ADD COLUMN nickname text; ALTER TABLE tracks ADD COLUMN mood text; CREATE TABLE scratch (id int)",
    )
    target = targets.new()
    proc = run_cli("port", "--from", lab, "--to", target)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "users.nickname" in proc.stderr
    assert "tracks.mood" in proc.stderr
    assert "scratch: source table has no destination" in proc.stderr
    assert query(target, "SELECT count(*) FROM users") == [(0,)]
    assert query(target, "SELECT to_regnamespace('veza_port') IS NULL") == [(True,)]


def test_mapping_where_and_split_tables_are_checked(older: str, targets: Any, tmp_path: Path) -> None:
    """A `where` naming a missing column, and a column no table of a split source reads, are listed."""
    mapping = (REPO / "examples" / "older-deployment.toml").read_text()
    mapping = mapping.replace("where = \"role = 'admin'\"", "where = \"rank = 'admin'\"")
    # refresh_tokens feeds user_sessions and refresh_tokens; give user_agent a value instead.
    mapping = mapping.replace(
        "[tables.user_sessions.columns]\n", '[tables.user_sessions.columns]\nuser_agent = { value = "n/a" }\n'
    )
    path = tmp_path / "broken.toml"
    path.write_text(mapping)
    target = targets.new()
    proc = run_cli("port", "--from", older, "--to", target, "--mapping", str(path), "--dry-run")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "tables.user_roles.where: reads 'rank', not a column of users" in proc.stderr
    assert "refresh_tokens.user_agent: source column has no destination" in proc.stderr
    assert "refresh_tokens.token:" not in proc.stderr  # read by the other table it feeds
    assert query(target, "SELECT to_regnamespace('veza_port') IS NULL") == [(True,)]


def test_dry_run_prints_the_plan_and_copies_nothing(lab: str, targets: Any) -> None:
    target = targets.new()
    proc = run_cli("port", "--from", lab, "--to", target, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "track_plays  <-  track_plays" in proc.stdout
    assert "SELECT" in proc.stdout
    assert "ORDER BY" in proc.stdout
    assert query(target, "SELECT count(*) FROM track_plays") == [(0,)]


def test_refusals(lab: str, targets: Any, database: str) -> None:
    not_v1 = run_cli("port", "--from", lab, "--to", database)
    assert not_v1.returncode == 3
    assert "veza-db up" in one_line_error(not_v1)
    target = targets.new()
    nothing = run_cli("port", "--from", lab, "--to", target, "--resume")
    assert nothing.returncode == 3
    run_sql(target, "INSERT INTO roles (name) VALUES ('preexisting')")
    filled = run_cli("port", "--from", lab, "--to", target)
    assert filled.returncode == 3
    assert "roles" in one_line_error(filled)
    bad_mapping = Path(target.rsplit("/", 1)[1] + ".toml")
    try:
        bad_mapping.write_text("[tables.users.columns]\nusername = { shout = 'x' }\n")
        proc = run_cli("port", "--from", lab, "--to", target, "--mapping", str(bad_mapping))
        assert proc.returncode == 2
        assert "exactly one of" in one_line_error(proc)
    finally:
        bad_mapping.unlink()


def test_the_api_report_is_the_json_the_command_prints(lab: str, targets: Any) -> None:
    first, second = targets.new(), targets.new()
    report = api.port(lab, first)
    proc = run_cli("port", "--from", lab, "--to", second, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    expected = report.to_dict()
    # The two runs differ only in their target and their timings.
    for document in (printed, expected):
        document.pop("target")
        for table in document["tables"]:
            table.pop("seconds")
    assert printed == expected
