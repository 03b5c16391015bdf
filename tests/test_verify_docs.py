"""Drift verification (one test per kind of drift) and the generated schema reference."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, Server, v1_template
from tests.helpers import one_line_error, run_cli, run_sql
from veza_db import api, policy
from veza_db import docs as reference
from veza_db.catalog import live
from veza_db.dburl import parse as parse_url

DRIFTS: dict[str, tuple[str, str]] = {
    "index dropped": ("DROP INDEX idx_tracks_user_id_created_at", "removed  index public.tracks.idx_tracks_user_id_created_at"),
    "index added": ("CREATE INDEX hotfix_tracks_title ON tracks (title)", "added    index public.tracks.hotfix_tracks_title"),
    "default changed": ("ALTER TABLE users ALTER COLUMN status SET DEFAULT 'suspended'", "changed  column public.users.status: default expected 'active'::text, found 'suspended'::text"),
    "column added": ("ALTER TABLE users ADD COLUMN nickname text", "added    column public.users.nickname"),
    "not null dropped": ("ALTER TABLE playlists ALTER COLUMN title DROP NOT NULL", "changed  column public.playlists.title: nullability expected NOT NULL, found NULL"),
    "on delete changed": (
        "ALTER TABLE track_likes DROP CONSTRAINT fk_track_likes_user_id, ADD CONSTRAINT fk_track_likes_user_id "
        "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT",
        "changed  foreign key public.track_likes.fk_track_likes_user_id: ON DELETE expected CASCADE, found RESTRICT",
    ),
    "check altered": (
        "ALTER TABLE playback_analytics DROP CONSTRAINT ck_playback_analytics_ended_at, ADD CONSTRAINT ck_playback_analytics_ended_at CHECK (ended_at > started_at)",
        "changed  check constraint public.playback_analytics.ck_playback_analytics_ended_at: expression expected (ended_at >= started_at), found (ended_at > started_at)",
    ),
    "domain rule altered": (
        "ALTER DOMAIN positive_integer DROP CONSTRAINT ck_positive_integer; ALTER DOMAIN positive_integer ADD CONSTRAINT ck_positive_integer CHECK (VALUE > 1000)",
        "changed  domain public.positive_integer: checks expected ck_positive_integer (VALUE > 0), found ck_positive_integer (VALUE > 1000)",
    ),
    "domain dropped from a column": ("ALTER TABLE rooms ALTER COLUMN privacy TYPE text", "changed  column public.rooms.privacy: type expected public.room_privacy, found text"),
    "table added": ("CREATE TABLE public.hotfix_notes (id uuid PRIMARY KEY)", "added    table public.hotfix_notes"),
    "trigger dropped": ("DROP TRIGGER trg_users_updated_at ON users", "removed  trigger public.users.trg_users_updated_at"),
    "table comment changed": ("COMMENT ON TABLE rooms IS 'legacy'", "changed  table public.rooms: comment expected"),
    "behind head": ("DELETE FROM schema_migrations; INSERT INTO schema_migrations VALUES (8, false)", "schema_migrations: version 8, expected 9 (head)"),
}  # fmt: skip


def test_verify_after_up_reports_no_drift(v1_database: str) -> None:
    proc = run_cli("verify", v1_database)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("no drift")


@pytest.mark.parametrize("kind", sorted(DRIFTS))
def test_each_kind_of_drift_is_named(kind: str, v1_database: str) -> None:
    change, expected_line = DRIFTS[kind]
    run_sql(v1_database, change)
    proc = run_cli("verify", v1_database)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [line.strip() for line in proc.stdout.splitlines()[1:]]
    assert len(lines) == 1, proc.stdout
    assert lines[0].startswith(expected_line), lines[0]


def test_dirty_version_is_reported(v1_database: str) -> None:
    run_sql(v1_database, "UPDATE schema_migrations SET dirty = true")
    proc = run_cli("verify", v1_database, "--format", "json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["dirty"] is True
    assert result["differences"] == []
    assert any("dirty" in p for p in result["problems"])


def test_objects_in_chat_are_not_drift(v1_database: str) -> None:
    run_sql(v1_database, "CREATE SCHEMA chat; CREATE TABLE chat.rooms_v2 (id uuid PRIMARY KEY)")
    proc = run_cli("verify", v1_database, "--format", "json")
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["drift"] is False


def test_verify_without_createdb_uses_the_embedded_server(v1_database: str, veza_home: Path) -> None:
    # A role that may not create databases: the canonical schema is built on the embedded server.
    run_sql(
        v1_database,
        "DROP ROLE IF EXISTS veza_verify_reader; CREATE ROLE veza_verify_reader LOGIN PASSWORD 'pw';"
        "GRANT SELECT ON schema_migrations, schema_migrations_history TO veza_verify_reader",
    )
    url = v1_database.replace("postgres@", "veza_verify_reader:pw@")
    env = {"VEZA_DB_HOME": str(veza_home)}
    try:
        proc = run_cli("verify", url, "--format", "json", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["canonical_on"] == "embedded server"
        assert "pw@" not in proc.stdout
    finally:
        run_cli("server", "stop", env=env)
        shutil.rmtree(veza_home, ignore_errors=True)
        run_sql(v1_database, "DROP OWNED BY veza_verify_reader; DROP ROLE veza_verify_reader")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["verify", "postgresql://x:secret@127.0.0.1:1/db"], 4),
        (["verify", "mysql://nope"], 2),
        (["verify", "postgresql://x@127.0.0.1:1/db", "--format", "xml"], 2),
        (["verify", "postgresql://x@127.0.0.1:1/db", "--migrations", "/nonexistent"], 2),
        (["docs", "--database-url", "postgresql://x:secret@127.0.0.1:1/db"], 4),
        (["docs", "--database-url", "bogus://"], 2),
    ],
)
def test_bad_input_for_verify_and_docs(args: list[str], code: int) -> None:
    proc = run_cli(*args)
    assert proc.returncode == code, proc.stderr
    assert "secret" not in one_line_error(proc)


# ---- docs --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def canonical_files(servers: dict[int, Server]) -> dict[str, str]:
    server = servers[max(servers)]
    catalog = live.load(parse_url(server.url(v1_template(server))))
    return reference.render(catalog, policy.default())


def test_committed_reference_is_not_stale(canonical_files: dict[str, str]) -> None:
    committed = REPO / "docs" / "schema"
    on_disk = {p.name: p.read_text() for p in committed.glob("*.md")}
    assert set(on_disk) == set(canonical_files), "run `uv run veza-db docs`"
    for name, text in canonical_files.items():
        assert on_disk[name] == text, f"docs/schema/{name} is stale: run `uv run veza-db docs`"


def test_reference_covers_every_table_column_and_foreign_key(
    canonical_files: dict[str, str], v1_database: str
) -> None:
    catalog = live.load(parse_url(v1_database))
    pages = "\n".join(text for name, text in canonical_files.items() if name != "index.md")
    diagrams = "\n".join(
        block.split("```", 1)[0]
        for text in canonical_files.values()
        for block in text.split("```mermaid\n")[1:]
    )
    domains = {d.qualified: d for d in catalog.domains}
    assert domains
    for value_type in domains.values():
        assert f"## {value_type.name}\n" in canonical_files["value-types.md"]
        for check in value_type.checks:
            assert f"| `{check.name}` |" in canonical_files["value-types.md"]
    for table in catalog.tables:
        if table.name.startswith("schema_migrations"):
            continue
        assert f"### `{table.name}`" in pages
        assert f"    {table.name} {{" in diagrams
        assert f"[`{table.name}`]" in canonical_files["index.md"]
        for column in table.columns:
            domain = domains.get(column.type)
            cell = (
                f"[`{domain.name}`](value-types.md#{domain.name}) (`{domain.base_type}`)"
                if domain is not None
                else f"`{column.type}`"
            )
            assert f"| `{column.name}` | {cell} |" in pages, (table.name, column.name)
        for fk in table.foreign_keys:
            label = ", ".join(fk.columns)
            assert any(
                line.strip().startswith(f"{table.name} ")
                and line.strip().endswith(f'{fk.ref_table} : "{label}"')
                for line in diagrams.splitlines()
            ), fk.name
            assert f"| `{fk.name}` |" in pages


@pytest.fixture(scope="session")
def mermaid_checker() -> Callable[[list[Path]], subprocess.CompletedProcess[str]]:
    """Mermaid's own parser (the npm package), installed on first use from the lock file."""
    folder = REPO / "tests" / "mermaid"
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node, "Node.js is needed to parse Mermaid with Mermaid's own parser"
    assert npm, "npm is needed to install Mermaid's parser"
    if not (folder / "node_modules" / "mermaid").is_dir():
        subprocess.run(
            [npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=folder, check=True, timeout=600
        )

    def check(files: list[Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [node, "check.mjs", *map(str, files)],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return check


def test_mermaid_blocks_parse_with_mermaid(
    mermaid_checker: Callable[[list[Path]], subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    pages = sorted((REPO / "docs" / "schema").glob("*.md"))
    proc = mermaid_checker(pages)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Every domain page has one diagram; the index and the value types have none.
    assert proc.stdout.count("ok ") == len(pages) - 2
    broken = tmp_path / "broken.md"
    broken.write_text(
        "```mermaid\nerDiagram\n    a {\n        timestamp with time zone created_at\n    }\n```\n"
    )
    assert mermaid_checker([broken]).returncode == 1  # the checker does reject bad diagrams


def test_awkward_table_names_make_valid_distinct_entities(
    mermaid_checker: Callable[[list[Path]], subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    from veza_db.catalog import sqlfile

    catalog = sqlfile.load_text(
        'CREATE TABLE "a b" (id uuid PRIMARY KEY, "Order Date" date);\n'
        'CREATE TABLE "a-b" (id uuid PRIMARY KEY, parent uuid REFERENCES "a b");\n'
        'CREATE TABLE "1st" (id uuid PRIMARY KEY, q uuid REFERENCES "a-b");\n',
        "awkward.sql",
    )
    pages = reference.write(reference.render(catalog, policy.default()), tmp_path)
    proc = mermaid_checker([p for p in pages if p.name != "index.md"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    diagram = (tmp_path / "unassigned.md").read_text()
    for name in ("a b", "a-b", "1st"):
        assert f'["{name}"] {{' in diagram


def test_docs_command_writes_a_database_reference(v1_database: str, tmp_path: Path) -> None:
    out = tmp_path / "ref"
    proc = run_cli("docs", "--database-url", v1_database, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "index.md").is_file()
    assert (out / "core.md").read_text().count("```mermaid") == 1


def test_the_api_verify_result_is_the_json_the_command_prints(v1_database: str) -> None:
    run_sql(v1_database, "ALTER TABLE tracks ADD COLUMN drifted integer")
    proc = run_cli("verify", v1_database, "--format", "json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == api.verify(v1_database).to_dict()
