"""Porting a database the port was not built for: a drafted mapping, checked shapes, a dry run
that tries the data, failures that name the row, and a clean restart."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, Server
from tests.helpers import one_line_error, query, run_cli, run_sql
from tests.test_port import fresh_v1, table_state
from veza_db.port import ids, mapping

# What the mapping's author decides once the draft is written: the TODOs, and the data fix.
DECISIONS = {
    "ELSE 'TODO'": "ELSE 'deactivated'",
    'legacy_flag = "TODO"': 'legacy_flag = "always false since 2022"',
    'session_token = "TODO"': 'session_token = "a plaintext secret; V1 keeps no session token"',
}
# A user's profile read from the roles join table, through two joins.
PROFILE = """
[tables.users.join]
ar = { table = "account_roles", on = "ar.account_id = accounts.id" }
r = { table = "roles", on = "r.id = ar.role_id" }
"""
PROFILE_COLUMN = (
    """account_type = { expr = "CASE r.name WHEN 'artist' THEN 'artist' ELSE 'listener' END" }\n"""
)


class _Targets(list[str]):
    def __init__(self, server: Server) -> None:
        super().__init__()
        self.server = server

    def new(self) -> str:
        self.append(fresh_v1(self.server))
        return self[-1]


@pytest.fixture
def targets(server: Server) -> Iterator[_Targets]:
    """Fresh V1 databases, dropped afterwards."""
    made = _Targets(server)
    yield made
    for url in made:
        server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def unfamiliar(server: Server) -> Iterator[str]:
    """A Lab-shaped database that differs in the usual ways (tests/fixtures/unfamiliar_schema.sql)."""
    name = server.create_database("unfamiliar")
    url = server.url(name)
    run_sql(url, (FIXTURES / "unfamiliar_schema.sql").read_text())
    yield url
    server.drop_database(name)


def _decided(draft: str) -> str:
    for todo, decision in DECISIONS.items():
        assert todo in draft, todo
        draft = draft.replace(todo, decision)
    return draft


def _with_fixes(text: str) -> str:
    """The decided draft with the data fix and the profile: TOML tables may not repeat, so the
    lines go into the draft's own tables."""
    fix = "expires_at = { expr = \"greatest(expires_at, created_at + interval '1 second')\" }\n"
    text = text.replace("[tables.user_sessions.columns]\n", "[tables.user_sessions.columns]\n" + fix)
    text = text.replace(
        "[tables.users.columns]\n", PROFILE.lstrip() + "\n[tables.users.columns]\n" + PROFILE_COLUMN
    )
    # Rows with no time of their own get a fixed one, so that a second port is identical.
    text = text.replace(
        "[tables.user_sessions.columns]\n",
        '[tables.user_sessions.columns]\nupdated_at = { expr = "created_at" }\n',
    )
    text = text.replace(
        "[tables.roles.columns]\n",
        '[tables.roles.columns]\ncreated_at = { value = "epoch" }\nupdated_at = { value = "epoch" }\n',
    )
    return text.replace(
        "[tables.user_roles.columns]\n",
        '[tables.user_roles.columns]\nrole_id = { id = "coalesce(role_id, 0)", table = "roles" }\n'
        'created_at = { value = "epoch" }\n',
    )


def test_a_value_a_v1_domain_refuses_is_named_with_its_row(
    unfamiliar: str, targets: Any, tmp_path: Path
) -> None:
    path = tmp_path / "mapping.toml"
    assert run_cli("port", "--from", unfamiliar, "--init-mapping", str(path)).returncode == 0
    decided = tmp_path / "decided.toml"
    decided.write_text(_decided(path.read_text()).replace("ELSE 'deactivated'", "ELSE 'gone'"))
    target = targets.new()
    dry = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", str(decided), "--dry-run")
    assert dry.returncode == 1, dry.stdout + dry.stderr
    line = one_line_error(dry)
    # account_status is a domain: its CHECK names no column, COPY's context does.
    assert "source table accounts, row id = " in line
    assert "breaks V1 users.ck_account_status (status = 'gone')" in line


def test_unfamiliar_database_from_draft_to_verified_port(
    unfamiliar: str, targets: Any, tmp_path: Path
) -> None:
    path = tmp_path / "mapping.toml"
    made = run_cli("port", "--from", unfamiliar, "--init-mapping", str(path))  # V1 from the migrations
    assert made.returncode == 0, made.stderr
    draft = path.read_text()
    guessed = tomllib.loads(draft)["tables"]
    assert guessed["users"]["from"] == "accounts"
    assert guessed["tracks"]["from"] == "songs"
    assert guessed["user_sessions"]["from"] == "sessions"
    assert guessed["users"]["columns"]["password_hash"] == "password_digest"  # noqa: S105 - a column name
    assert guessed["users"]["columns"]["last_login_at"] == {"timestamptz": "last_login", "zone": "UTC"}
    assert guessed["tracks"]["columns"]["user_id"] == "owner_id"
    assert guessed["tracks"]["columns"]["duration_ms"] == {"expr": "duration_seconds * 1000"}
    assert guessed["user_sessions"]["columns"]["user_id"] == "account_id"
    assert guessed["user_sessions"]["columns"]["last_seen_at"] == "last_seen"
    status = guessed["users"]["columns"]["status"]["expr"]
    assert status.startswith("CASE WHEN is_active THEN 'active'")
    assert "'active', 'suspended', 'banned', 'deactivated'" in draft  # the CHECK's values, in a comment
    assert guessed["users"]["drop"] == {"legacy_flag": "TODO"}
    assert guessed["user_sessions"]["drop"] == {"session_token": "TODO"}
    assert "# updated_at: no source column; V1's default fills it: CURRENT_TIMESTAMP" in draft
    for line in draft.splitlines():  # every guess says so
        if " = " in line and not line.startswith(("#", "source_schema")) and "TODO" not in line:
            assert "# guess" in line, line

    again = run_cli("port", "--from", unfamiliar, "--init-mapping", str(path))
    assert again.returncode == 3
    assert "never overwrites" in one_line_error(again)
    assert path.read_text() == draft

    target = targets.new()
    refused = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", str(path), "--dry-run")
    assert refused.returncode == 2
    line = one_line_error(refused)
    for todo in (
        "tables.users.columns.status",
        "tables.users.drop.legacy_flag",
        "tables.user_sessions.drop.session_token",
    ):
        assert todo in line

    decided = tmp_path / "decided.toml"
    decided.write_text(_decided(draft))
    dry = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", str(decided), "--dry-run")
    assert dry.returncode == 1, dry.stdout + dry.stderr
    line = one_line_error(dry)
    assert "source table sessions, row id = 2" in line
    assert "user_sessions.ck_user_sessions_expires_at" in line
    assert "expires_at = '2023-12-01 00:00:00+00:00'" in line
    assert "created_at = '2024-01-01 00:00:00+00:00'" in line
    assert query(target, "SELECT count(*) FROM users") == [(0,)]  # the dry run wrote nothing
    assert query(target, "SELECT to_regnamespace('veza_port') IS NULL") == [(True,)]

    failed = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", str(decided))
    assert failed.returncode == 4
    line = one_line_error(failed)
    assert "source table sessions, row id = 2" in line
    assert "--restart" in line
    assert query(target, "SELECT count(*) FROM users") == [(3,)]  # written before the failing table

    fixed = tmp_path / "fixed.toml"
    fixed.write_text(_with_fixes(_decided(draft)))
    resumed = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", str(fixed), "--resume")
    assert resumed.returncode == 3
    assert "--restart" in one_line_error(resumed)  # the hint given is one that works
    tried = run_cli(
        "port", "--from", unfamiliar, "--to", target, "--mapping", str(fixed), "--dry-run", "--restart"
    )
    assert tried.returncode == 0, tried.stderr
    assert query(target, "SELECT count(*) FROM users") == [(3,)]  # a dry restart keeps everything
    done = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", str(fixed), "--restart")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # no terminal: no progress output
    assert "every foreign key holds" in done.stdout
    verified = run_cli("verify", "--database-url", target)
    assert verified.returncode == 0, verified.stdout

    assert {(str(u), str(s), str(a), int(str(d)) if d else None) for u, s, a, d in query(
        target,
        "SELECT u.username, u.status, u.account_type, max(t.duration_ms) FROM users u "
        "LEFT JOIN tracks t ON t.user_id = u.id GROUP BY 1, 2, 3",
    )} == {("ana", "active", "artist", 245_000), ("bo", "deactivated", "listener", None),
           ("cy", "active", "listener", None)}  # fmt: skip
    paris_summer = query(
        target, "SELECT last_login_at = timestamptz '2024-07-15 10:00:00+00' FROM users WHERE username = 'bo'"
    )
    assert paris_summer == [(True,)]  # the draft's zone guess (UTC), kept
    role_ids = {str(r[0]) for r in query(target, "SELECT role_id FROM user_roles")}
    assert role_ids == {str(ids.id_for_key("roles", 1)), str(ids.id_for_key("roles", 2))}
    assert query(target, "SELECT bool_and(expires_at > created_at) FROM user_sessions") == [(True,)]

    second = targets.new()
    again_port = run_cli(
        "port", "--from", unfamiliar, "--to", second, "--mapping", str(fixed), "--format", "json"
    )
    assert again_port.returncode == 0, again_port.stderr
    assert json.loads(again_port.stdout)["ok"] is True
    assert table_state(second) == table_state(target)


MALFORMED = {
    '[tables.users]\ndrop = ["is_active"]\n': "tables.users.drop: expected a table",
    "tables = 3\n": "tables: expected a table",
    '[tables.users]\ncolumns = "x"\n': "tables.users.columns: expected a table",
    "[tables.users.drop]\nis_active = 3\n": "tables.users.drop.is_active: expected the reason",
    "[drop_tables]\nold = true\n": "drop_tables.old: expected the reason",
    'extends = "django"\n': "extends: unknown mapping 'django'",
    '[tables.users.columns]\ncreated_at = { timestamptz = "created", zone = 1 }\n': "columns.created_at.zone: expected",
    '[tables.users.columns]\nstatus = { expr = "x", zone = "UTC" }\n': "columns.status.zone: not an option of expr",
    '[tables.users.join]\nr = { table = "roles" }\n': "tables.users.join.r: give table",
    '[tables.users.columns]\nid = { id = "a + 1" }\n': "an id of an expression needs table",
    "[tables.users]\nfrom = 7\n": "tables.users.from: expected a source table name",
    'tables = { users = { colums = {} } }\n': "tables.users.colums: unknown key",
}  # fmt: skip


@pytest.mark.parametrize("text", list(MALFORMED))
def test_malformed_mapping_is_one_line_naming_the_key(text: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    # Checked before any connection: the URLs lead nowhere.
    proc = run_cli("port", "--from", "postgresql://x@127.0.0.1:9/a", "--to", "postgresql://x@127.0.0.1:9/b",
                   "--mapping", str(path))  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert MALFORMED[text] in one_line_error(proc)


def _mapping(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.toml"
    path.write_text(text)
    return str(path)


def test_time_zones_refused_before_anything_is_read(unfamiliar: str, targets: Any, tmp_path: Path) -> None:
    target = targets.new()
    twice = _mapping(tmp_path, '[tables.users]\nfrom = "accounts"\n[tables.users.columns]\ncreated_at = { timestamptz = "created_at", zone = "Europe/Paris" }\n')  # fmt: skip
    proc = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", twice, "--dry-run")
    assert proc.returncode == 2
    assert "tables.users.columns.created_at: accounts.created_at already is a timestamptz" in proc.stderr
    misspelt = _mapping(tmp_path, '[tables.users]\nfrom = "accounts"\n[tables.users.columns]\nlast_login_at = { timestamptz = "last_login", zone = "Europe/Pariss" }\n')  # fmt: skip
    proc = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", misspelt)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "tables.users.columns.last_login_at.zone: unknown time zone 'Europe/Pariss'" in line
    assert query(target, "SELECT to_regnamespace('veza_port') IS NULL") == [(True,)]
    assert query(target, "SELECT count(*) FROM users") == [(0,)]


def test_a_parse_error_is_not_followed_by_guesses(unfamiliar: str, targets: Any, tmp_path: Path) -> None:
    path = _mapping(tmp_path, '[tables.users]\nfrom = "accounts"\n[tables.users.columns]\nstatus = { expr = "CASE WHEN is_active THEN \'active\' ELS \'x\' END" }\n')  # fmt: skip
    proc = run_cli("port", "--from", unfamiliar, "--to", targets.new(), "--mapping", path, "--dry-run")
    assert proc.returncode == 2
    assert (
        "tables.users.status: does not parse" in proc.stderr or "users.status: does not parse" in proc.stderr
    )
    assert "accounts.is_active: source column has no destination" not in proc.stderr
    assert "songs: source table has no destination" in proc.stderr  # the other problems still are


def test_extends_lays_a_file_over_the_lab_mapping() -> None:
    lab = mapping.lab()
    over = mapping.parse(
        'extends = "lab"\n[tables.rooms.columns]\nprivacy = { value = "public" }\n'
        '[tables.user_sessions.drop]\nuser_agent = "not kept"\n',
        "over.toml",
    )
    assert over.tables["rooms"].columns["privacy"] == mapping.ColumnSource("value", value="public")
    assert over.tables["rooms"].columns["created_at"] == lab.tables["rooms"].columns["created_at"]
    assert over.tables["user_sessions"].drop == {**lab.tables["user_sessions"].drop, "user_agent": "not kept"}
    assert over.tables["audit_logs"] == lab.tables["audit_logs"]
    alone = mapping.parse('[tables.rooms.columns]\nprivacy = { value = "public" }\n', "alone.toml")
    assert set(alone.tables) == {"rooms"}  # without extends, the file is the whole mapping


SONGS_ONLY = """
[drop_tables]
accounts = "not in this test"
sessions = "not in this test"
account_roles = "not in this test"

[tables.tracks]
from = "songs"
[tables.tracks.columns]
user_id = "owner_id"
duration_ms = { expr = "%s" }
"""


def test_a_value_that_cannot_be_computed_is_named_by_its_row(
    unfamiliar: str, targets: Any, tmp_path: Path
) -> None:
    target = targets.new()
    # Zero for the second song only: found by halving key ranges on the source.
    failing = _mapping(tmp_path, SONGS_ONLY % "1000000 / (245 - duration_seconds)")
    proc = run_cli(
        "port", "--from", unfamiliar, "--to", target, "--mapping", failing, "--dry-run", "--restart"
    )
    assert proc.returncode == 1, proc.stderr
    line = one_line_error(proc)
    assert "source table songs, row id = '0190a3c1-0000-7000-8000-000000000002'" in line
    assert "division by zero" in line
    # A sample of the first row only does not reach it; the full dry run and the port do.
    sampled = run_cli(
        "port", "--from", unfamiliar, "--to", target, "--mapping", failing, "--dry-run", "--sample", "1"
    )
    assert sampled.returncode == 0, sampled.stderr
    assert "2 tables, 2 rows written and rolled back" in sampled.stdout  # tracks and roles: one each
    real = run_cli("port", "--from", unfamiliar, "--to", target, "--mapping", failing)
    assert real.returncode == 4
    assert "row id = '0190a3c1-0000-7000-8000-000000000002'" in one_line_error(real)
    assert query(target, "SELECT count(*) FROM tracks") == [(0,)]
