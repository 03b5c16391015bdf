"""Identifiers as PostgreSQL allows them: quotes, spaces, upper case, non-ASCII, reserved words,
exactly 63 bytes, dots and `%`. Audit (live, dump and the SQL file), verify and docs must report
such names exactly as they are."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql

from tests.conftest import Server, v1_template
from tests.helpers import pg_dump_schema, run_cli
from veza_db import api
from veza_db.audit.engine import AuditResult
from veza_db.audit.findings import Finding
from veza_db.migrate import discover

MAX_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL truncates longer names
RESERVED = ["select", "user", "order", "table", "group", "from", "check", "default", "primary", "end", "all"]
V1_TABLES = {
    "users", "roles", "permissions", "role_permissions", "user_roles", "tracks", "playlists",
    "playlist_tracks", "user_sessions", "refresh_tokens", "password_reset_tokens",
    "email_verification_tokens", "track_versions", "hls_streams", "hls_transcode_queue", "track_plays",
    "playback_analytics", "bitrate_adaptation_logs", "track_history", "track_likes", "track_comments",
    "track_shares", "playlist_collaborators", "playlist_follows", "rooms", "audit_logs",
    "schema_migrations", "schema_migrations_history",
}  # fmt: skip


def _fits(name: str) -> bool:
    return 0 < len(name.encode()) <= MAX_BYTES and name not in V1_TABLES


def _exactly_63_bytes(seed: str) -> str:
    kept = ""
    for char in seed:
        if len((kept + char).encode()) > MAX_BYTES:
            break
        kept += char
    return kept + "x" * (MAX_BYTES - len(kept.encode()))


# Any printable character (control characters aside: they are covered by test_hostile_inputs).
_chars = st.characters(blacklist_categories=("Cs", "Cc"))
_special = st.sampled_from(
    [*RESERVED, "User", "ORDER", "a.b", "x.y.z", "50%", "%s", "%(name)s", "with space", " lead", "trail ",
     'say "hi"', '"', "it's", "ÉTAT", "Ventes Été", "日本語のテーブル", "ß", "$1", "a;b", "--x", "/*", "\\"]
)  # fmt: skip
identifier = st.one_of(
    _special,
    st.text(_chars, min_size=1, max_size=MAX_BYTES),
    st.text(_chars, min_size=1, max_size=MAX_BYTES).map(_exactly_63_bytes),
    st.builds(lambda a, b: f"{a}.{b}%", st.sampled_from(RESERVED), st.sampled_from(["Été", "x", "%"])),
).filter(_fits)

NAMES = ("table", "other_table", "column", "index", "check", "foreign_key")
names_strategy = st.lists(identifier, min_size=len(NAMES), max_size=len(NAMES), unique=True).map(
    lambda values: dict(zip(NAMES, values, strict=True))
)
EXACT_63 = "é" * 31 + "x"  # 63 bytes in UTF-8
assert len(EXACT_63.encode()) == MAX_BYTES

SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@contextmanager
def fresh_database(server: Server, template: str | None = None) -> Iterator[str]:
    name = f"ident_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(create)
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


def schema_statements(names: dict[str, str]) -> list[sql.Composed]:
    """Two tables, a column, an index, a check and a foreign key, all named by `names`."""
    t1, t2, col = (sql.Identifier(names[k]) for k in ("table", "other_table", "column"))
    return [
        sql.SQL(
            "CREATE TABLE {t1} (id bigint NOT NULL PRIMARY KEY, {col} timestamp, "
            "CONSTRAINT {ck} CHECK ({col} IS NOT NULL OR id > 0))"
        ).format(t1=t1, col=col, ck=sql.Identifier(names["check"])),
        sql.SQL("CREATE INDEX {ix} ON {t1} ({col})").format(
            ix=sql.Identifier(names["index"]), t1=t1, col=col
        ),
        sql.SQL(
            "CREATE TABLE {t2} (id uuid NOT NULL PRIMARY KEY, {col} bigint, "
            "CONSTRAINT {fk} FOREIGN KEY ({col}) REFERENCES {t1} (id))"
        ).format(t2=t2, col=col, fk=sql.Identifier(names["foreign_key"]), t1=t1),
    ]


def _snake(name: str) -> bool:
    return (
        name.isascii() and name == name.lower() and name.replace("_", "a").isalnum() and not name[0].isdigit()
    )


def comparable(findings: tuple[Finding, ...]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.rule, f.object, f.column or ""))


def assert_reports_the_names_exactly(result: AuditResult, names: dict[str, str]) -> None:
    t1, t2, col = names["table"], names["other_table"], names["column"]
    by_rule: dict[str, set[tuple[str | None, str | None, str]]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, set()).add((f.table, f.column, f.object))
        assert f.schema == "public"
        assert f.table in (t1, t2), f
        assert f.column in (None, "id", col, "created_at", "updated_at"), f
    assert by_rule["missing-table-comment"] == {(t1, None, f"public.{t1}"), (t2, None, f"public.{t2}")}
    assert by_rule["timestamp-without-time-zone"] == {(t1, col, f"public.{t1}.{col}")}
    assert by_rule["pk-not-uuid"] == {(t1, "id", f"public.{t1}.id")}
    fk_object = f"public.{t2}.{names['foreign_key']}"
    assert by_rule["fk-missing-on-delete"] == {(t2, col, fk_object)}
    assert by_rule["fk-not-indexed"] == {(t2, col, fk_object)}
    naming = {obj for _, _, obj in by_rule.get("naming-convention", set())}
    if not (names["index"].startswith(f"idx_{t1}_") and _snake(names["index"])):
        assert f"public.{t1}.{names['index']}" in naming
    if not (names["check"].startswith(f"ck_{t1}_") and _snake(names["check"])):
        assert f"public.{t1}.{names['check']}" in naming
    assert (f"public.{t1}" in naming) == (not _snake(t1))


@SETTINGS
@given(names=names_strategy)
@example(names=dict(zip(NAMES, ["select", "user", "order", 'say "hi"', "a.b%c", "Ventes Été"], strict=True)))
@example(
    names=dict(zip(NAMES, [EXACT_63, "x" * MAX_BYTES, "ÉTAT", "%s", "with space", "%(name)s"], strict=True))
)
@example(names=dict(zip(NAMES, ["User", "日本語のテーブル", " lead", "trail ", "it's", "$1"], strict=True)))
def test_audit_reports_generated_names_exactly(
    names: dict[str, str], server: Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("names")
    with fresh_database(server) as url, psycopg.connect(url, autocommit=True) as conn:
        statements = schema_statements(names)
        for statement in statements:
            conn.execute(statement)
        source = folder / "schema.sql"
        source.write_text("".join(s.as_string(conn) + ";\n" for s in statements))
        dump = pg_dump_schema(url, server.bin_dir, folder / "dump.sql")

        from_live, from_file, from_dump = api.audit(url), api.audit(str(source)), api.audit(str(dump))
        for result in (from_live, from_file, from_dump):
            assert_reports_the_names_exactly(result, names)
        assert comparable(from_file.findings) == comparable(from_live.findings)
        assert comparable(from_dump.findings) == comparable(from_live.findings)

        # And through the command line, as JSON.
        proc = run_cli("audit", str(dump), "--format", "json", "--fail-on", "never", timeout=120)
        assert proc.returncode == 0, proc.stderr
        reported = {
            (f["rule"], f["table"], f["column"], f["object"]) for f in json.loads(proc.stdout)["findings"]
        }
        assert reported == {(f.rule, f.table, f.column, f.object) for f in from_live.findings}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=names_strategy)
@example(names=dict(zip(NAMES, ["select", "User", "a.b%c", "%s", 'say "hi"', "x"], strict=True)))
@example(names=dict(zip(NAMES, [EXACT_63, "order", "Ventes Été", " lead", "it's", "y"], strict=True)))
def test_verify_and_docs_name_added_objects_exactly(
    names: dict[str, str], server: Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    table, column, index = names["table"], names["column"], names["index"]
    with fresh_database(server, template=v1_template(server)) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE TABLE public.{} (id uuid PRIMARY KEY, {} text)").format(
                    sql.Identifier(table), sql.Identifier(column)
                )
            )
            conn.execute(
                sql.SQL("ALTER TABLE public.users ADD COLUMN {} text").format(sql.Identifier(column))
            )
            conn.execute(sql.SQL("CREATE INDEX {} ON public.tracks (title)").format(sql.Identifier(index)))
        proc = run_cli("verify", url, timeout=180)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0].startswith("drift in ")
        assert all(line.startswith("  ") for line in lines[1:])
        assert sorted(line[2:] for line in lines[1:]) == sorted(
            [
                f"added    table public.{table}: not in the canonical schema",
                f"added    column public.users.{column}: not in the canonical schema",
                f"added    index public.tracks.{index}: not in the canonical schema",
            ]
        )

        out = tmp_path_factory.mktemp("docs")
        proc = run_cli("docs", "--database-url", url, "--out", str(out), timeout=180)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        pages = "\n".join(p.read_text() for p in sorted(out.glob("*.md")))
        for name in (table, column, index):
            assert name.replace("|", "\\|") in pages, name


def test_reserved_and_quoted_names_in_the_migrations_directory(tmp_path: Path) -> None:
    """The runner's own input: a migration whose names need quoting is audited by name too."""
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / "001_names.up.sql").write_text(
        'CREATE TABLE "select" (id uuid PRIMARY KEY, "Order Date" timestamp);\n'
        'CREATE TABLE "a.b%c" (id uuid PRIMARY KEY);\n'
    )
    (migrations / "001_names.down.sql").write_text('DROP TABLE "a.b%c";\nDROP TABLE "select";\n')
    result = api.audit(str(migrations))
    assert result.kind == "migrations"
    assert {f.table for f in result.findings if f.rule == "missing-table-comment"} == {"select", "a.b%c"}
    assert {(f.table, f.column) for f in result.findings if f.rule == "timestamp-without-time-zone"} == {
        ("select", "Order Date")
    }
    assert discover.discover(migrations)[0].up.statements[1].line == 2


def test_identifier_with_a_line_starting_with_backslash_in_a_dump(
    database: str, server: Server, tmp_path: Path
) -> None:
    name = "x\n\\y"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id uuid PRIMARY KEY)").format(sql.Identifier(name)))
    dump = pg_dump_schema(database, server.bin_dir, tmp_path / "dump.sql")
    result = api.audit(str(dump))
    assert {f.table for f in result.findings if f.rule == "missing-table-comment"} == {name}


def test_distinct_tables_are_distinct_entities_in_the_diagram(database: str, tmp_path: Path) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute('CREATE TABLE "a b" (id uuid PRIMARY KEY, left_only text)')
        conn.execute('CREATE TABLE "a-b" (id uuid PRIMARY KEY, right_only text)')
    out = tmp_path / "docs"
    proc = run_cli("docs", "--database-url", database, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    diagrams = [
        block.split("```", 1)[0]
        for page in out.glob("*.md")
        for block in page.read_text().split("```mermaid\n")[1:]
    ]
    entities = [
        line.strip().removesuffix(" {") for d in diagrams for line in d.splitlines() if line.endswith(" {")
    ]
    assert len(entities) == len(set(entities)) == 2, entities
    # The index links each table to its own heading: GitHub numbers the second `a-b` anchor.
    index = (out / "index.md").read_text()
    links = sorted(line.split("](", 1)[1].split(")", 1)[0] for line in index.splitlines() if "`a" in line)
    assert links == ["unassigned.md#a-b", "unassigned.md#a-b-1"], links
