"""The audit: every rule on its fixtures, dump = live = file, the Lab schema as the seed saw it, V1 clean."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Server
from tests.helpers import one_line_error, pg_dump_schema, run_cli, run_sql
from veza_db import api, policy
from veza_db.audit import engine, rules
from veza_db.audit.engine import AuditResult
from veza_db.audit.findings import Finding
from veza_db.catalog import live, sqlfile
from veza_db.dburl import parse as parse_url
from veza_db.migrate import discover

AUDIT_FIXTURES = FIXTURES / "audit"
BAD_OBJECTS = {
    "pk-not-uuid": {"public.pairs.a", "public.refresh_tokens.id"},
    "missing-primary-key": {"public.track_likes"},
    "fk-type-mismatch": {"public.refresh_tokens.session_id"},
    "uses-sequence": {"public.invoices.number", "public.track_history.id", "public.track_plays.id"},
    "timestamp-without-time-zone": {"public.track_history.played_at", "public.track_history.synced_at"},
    "inconsistent-timestamp-default": {"public.roles.created_at", "public.roles.local_at", "public.roles.seen_at", "public.roles.updated_at"},
    "timestamp-contract": {"public.permissions.created_at", "public.permissions.updated_at", "public.roles.created_at"},
    "missing-soft-delete": {"public.playlist_tracks.deleted_at"},
    "unique-ignores-soft-delete": {"public.users.uq_users_email", "public.users.uq_users_username"},
    "fk-missing-on-delete": {"public.audit_logs.audit_logs_actor_id_fkey", "public.refresh_tokens.refresh_tokens_user_id_fkey"},
    "set-null-on-not-null": {"public.playlist_tracks.playlist_tracks_added_by_fkey"},
    "fk-not-indexed": {"public.track_likes.track_likes_track_id_fkey"},
    "outside-owned-schema": {"billing.invoices", "billing.open_invoices", "billing.total()"},
    "plaintext-secret": {
        "public.integrations.api_key", "public.integrations.client_secret", "public.integrations.session_token",
        "public.refresh_tokens.token", "public.users.password",
    },
    "naming-convention": {
        "public.Tracks", "public.Tracks.Tracks_user_id_fkey", "public.Tracks.tracks_pk", "public.Tracks.tracks_user",
        "public.plays.plays_ms_check", "public.users.DisplayName", "public.users.users_email_key", "public.users.users_pkey",
    },
    "missing-table-comment": {"public.track_likes", "public.track_shares"},
}  # fmt: skip
SEED_CRITICAL = {
    ("Auth", "refresh_tokens"), ("Auth", "password_reset_tokens"), ("Auth", "email_verification_tokens"),
    ("Auth", "user_sessions"), ("Streaming", "bitrate_adaptation_logs"), ("Streaming", "hls_streams"),
    ("Streaming", "hls_transcode_queue"), ("Streaming", "playback_analytics"), ("Streaming", "track_comments"),
    ("Streaming", "track_history"), ("Streaming", "track_likes"), ("Streaming", "track_plays"),
    ("Streaming", "track_shares"), ("Streaming", "track_versions"), ("Social", "playlist_collaborators"),
    ("Social", "playlist_follows"), ("Chat (Legacy)", "rooms"),
}  # fmt: skip


def audit_file(path: Path) -> AuditResult:
    return engine.run(sqlfile.load_file(path), policy.default(), kind="file", target=str(path))


def audit_live(url: str) -> AuditResult:
    return engine.run(live.load(parse_url(url)), policy.default(), kind="database", target=url)


def same(findings: tuple[Finding, ...]) -> list[Finding]:
    """Findings compared without their location (a database has no line numbers)."""
    return sorted(findings, key=lambda f: (f.rule, f.object))


def test_every_rule_has_documentation_and_fixtures() -> None:
    assert set(BAD_OBJECTS) == {r.ID for r in rules.RULES}
    for rule in rules.RULES:
        doc = rules.documentation(rule)
        for part in ("What it checks:", "Why:", "Bad:", "Good:"):
            assert part in doc, (rule.ID, part)
        assert (AUDIT_FIXTURES / rule.ID / "bad.sql").is_file()
        assert (AUDIT_FIXTURES / rule.ID / "ok.sql").is_file()


@pytest.mark.parametrize("rule_id", sorted(BAD_OBJECTS))
def test_rule_reports_exactly_the_bad_objects(rule_id: str) -> None:
    bad = audit_file(AUDIT_FIXTURES / rule_id / "bad.sql")
    assert {f.object for f in bad.findings if f.rule == rule_id} == BAD_OBJECTS[rule_id]
    ok = audit_file(AUDIT_FIXTURES / rule_id / "ok.sql")
    assert [f.object for f in ok.findings if f.rule == rule_id] == []


@pytest.mark.parametrize(
    "fixture", sorted(str(p.relative_to(AUDIT_FIXTURES)) for p in AUDIT_FIXTURES.glob("*/*.sql"))
)
def test_dump_live_and_file_give_the_same_findings(fixture: str, server: Server, tmp_path: Path) -> None:
    name = server.create_database()
    url = server.url(name)
    try:
        source = AUDIT_FIXTURES / fixture
        run_sql(url, source.read_text())
        dump = pg_dump_schema(url, server.bin_dir, tmp_path / "dump.sql")
        from_live, from_dump, from_file = audit_live(url), audit_file(dump), audit_file(source)
        assert same(from_dump.findings) == same(from_live.findings)
        assert same(from_file.findings) == same(from_live.findings)
    finally:
        server.drop_database(name)


@pytest.fixture
def lab(any_server: Server, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The Lab fixture loaded into a database, and that database dumped by the server's pg_dump."""
    name = any_server.create_database("lab")
    url = any_server.url(name)
    run_sql(url, (FIXTURES / "lab_schema.sql").read_text())
    yield url, pg_dump_schema(url, any_server.bin_dir, tmp_path / "lab_dump.sql")
    any_server.drop_database(name)


def test_lab_audit_finds_what_the_seed_found(lab: tuple[str, Path]) -> None:
    url, dump = lab
    from_dump, from_live = audit_file(dump), audit_live(url)
    assert same(from_dump.findings) == same(from_live.findings)
    critical = {(f.domain, f.table) for f in from_dump.findings if f.rule == "pk-not-uuid"}
    assert critical == SEED_CRITICAL
    assert {f.current for f in from_dump.findings if f.rule == "pk-not-uuid"} == {"bigint"}
    soft = {f.table for f in from_dump.findings if f.rule == "missing-soft-delete"}
    assert "playlist_tracks" in soft
    assert "playlist_collaborators" not in soft
    spellings = {f.current for f in from_dump.findings if f.rule == "inconsistent-timestamp-default"}
    assert "now()" in spellings
    assert any(f.rule == "fk-missing-on-delete" for f in from_dump.findings)

    report = api.render_audit(from_dump, "md")
    table = report.split("| Domain | Table | Current PK | Target V1 PK |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    parsed = {tuple(cell.strip().strip("*`") for cell in row.strip("|").split("|")) for row in rows}
    assert parsed == {(domain, table_name, "bigint", "UUID") for domain, table_name in SEED_CRITICAL}
    assert "## 1. Executive Summary" in report
    assert "### 2.3 Structural Issues" in report


def test_lab_json_follows_the_contract(lab: tuple[str, Path]) -> None:
    _, dump = lab
    proc = run_cli("audit", str(dump), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert document["target"] == str(dump)
    assert document["summary"]["findings"] == len(document["findings"]) > 0
    for finding in document["findings"]:
        assert {"rule", "severity", "schema", "table", "column", "domain", "message"} <= set(finding)
    fk = next(f for f in document["findings"] if f["rule"] == "fk-missing-on-delete")
    assert fk["column"]
    assert "," not in fk["column"]
    assert fk["current"] == "NO ACTION"


def test_sarif_is_valid_and_points_at_the_dump_line(lab: tuple[str, Path], tmp_path: Path) -> None:
    _, dump = lab
    out = tmp_path / "audit.sarif"
    proc = run_cli("audit", str(dump), "--format", "sarif", "--output", str(out))
    assert proc.returncode == 1
    assert proc.stdout == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "veza-db"
    assert {r["id"] for r in driver["rules"]} == {r.ID for r in rules.RULES}
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    lines = dump.read_text().splitlines()
    assert run["results"]
    for result in run["results"]:
        assert {"ruleId", "level", "message", "locations"} <= set(result)
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        text = lines[region["startLine"] - 1]
        if result["ruleId"] == "pk-not-uuid":
            table = result["logicalLocations"][0]["fullyQualifiedName"].split(".")[1]
            assert f"{table}_pkey" in text or "PRIMARY KEY" in text, text
        if result["ruleId"] == "plaintext-secret":
            column = result["logicalLocations"][0]["fullyQualifiedName"].rsplit(".", 1)[1]
            assert text.strip().startswith(column), text


def test_v1_migrations_directory_audits_clean() -> None:
    result = api.audit(str(discover.package_dir()))
    assert result.kind == "migrations"
    assert len(result.tables) == 26
    assert result.findings == ()


def test_v1_database_audits_clean(any_v1_database: str) -> None:
    proc = run_cli("audit", any_v1_database, "--fail-on", "warning", "--format", "json")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert json.loads(proc.stdout)["findings"] == []


def test_migrations_directory_equals_applying_it(v1_database: str) -> None:
    from_dir = sqlfile.load_directory(discover.package_dir())
    from_db = live.load(parse_url(v1_database))
    tooling = {"schema_migrations", "schema_migrations_history"}
    db_tables = {t.name: t for t in from_db.tables if t.name not in tooling}
    assert {t.name for t in from_dir.tables} == set(db_tables)
    for table in from_dir.tables:
        other = db_tables[table.name]
        assert [(c.name, c.type, c.nullable) for c in table.columns] == [
            (c.name, c.type, c.nullable) for c in other.columns
        ]
        assert table.primary_key == other.primary_key
        assert sorted(table.foreign_keys, key=lambda f: f.name) == sorted(
            other.foreign_keys, key=lambda f: f.name
        )
        assert sorted(u.name for u in table.uniques) == sorted(u.name for u in other.uniques)
        assert sorted((i.name, i.unique) for i in table.indexes) == sorted(
            (i.name, i.unique) for i in other.indexes
        )
        assert sorted(c.name for c in table.checks) == sorted(c.name for c in other.checks)
        assert table.comment == other.comment


def test_quoted_non_ascii_identifiers_are_reported_exactly(server: Server, tmp_path: Path) -> None:
    sql = (
        'CREATE SCHEMA "Ventes Été";\n'
        'CREATE TABLE "Ventes Été"."Commandes ""VIP""" (id bigserial PRIMARY KEY);\n'
        'CREATE TABLE "User Accounts" (id integer PRIMARY KEY, "Session Token" text, "ÉTAT" timestamp);\n'
    )
    source = tmp_path / "quoted.sql"
    source.write_text(sql)
    name = server.create_database()
    url = server.url(name)
    try:
        run_sql(url, sql)
        dump = pg_dump_schema(url, server.bin_dir, tmp_path / "dump.sql")
        for result in (audit_file(source), audit_file(dump), audit_live(url)):
            objects = {(f.rule, f.object) for f in result.findings}
            assert ("pk-not-uuid", "public.User Accounts.id") in objects
            assert ("timestamp-without-time-zone", "public.User Accounts.ÉTAT") in objects
            assert ("plaintext-secret", "public.User Accounts.Session Token") in objects
            assert ("outside-owned-schema", 'Ventes Été.Commandes "VIP"') in objects
    finally:
        server.drop_database(name)


def test_policy_file_overrides_severity_and_suppresses_with_a_reason(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        'owned_schemas = ["public"]\n'
        '[severity]\n"missing-table-comment" = "off"\n"pk-not-uuid" = "warning"\n'
        '[[suppress]]\nrule = "uses-sequence"\nobject = "public.track_plays.*"\nreason = "ported in release 2"\n'
    )
    bad = AUDIT_FIXTURES / "uses-sequence" / "bad.sql"
    result = api.audit(str(bad), policy=policy_file)
    rules_found = {(f.rule, f.object, f.severity) for f in result.findings}
    assert ("uses-sequence", "public.track_plays.id", "error") not in rules_found
    assert ("uses-sequence", "public.invoices.number", "error") in rules_found
    assert ("pk-not-uuid", "public.track_plays.id", "warning") in rules_found
    assert not any(f.rule == "missing-table-comment" for f in result.findings)
    assert result.suppressed == 1
    no_reason = tmp_path / "no_reason.toml"
    no_reason.write_text('[[suppress]]\nrule = "uses-sequence"\nobject = "x"\n')
    proc = run_cli("audit", str(bad), "--policy", str(no_reason))
    assert proc.returncode == 2
    assert "reason" in one_line_error(proc)


def test_fail_on_levels(tmp_path: Path) -> None:
    warning_only = tmp_path / "warning_only.sql"
    warning_only.write_text(
        "CREATE TABLE notes (id uuid NOT NULL, created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,"
        " CONSTRAINT pk_notes PRIMARY KEY (id));"
    )
    assert run_cli("audit", str(warning_only)).returncode == 0
    assert run_cli("audit", str(warning_only), "--fail-on", "warning").returncode == 1
    error = AUDIT_FIXTURES / "pk-not-uuid" / "bad.sql"
    assert run_cli("audit", str(error), "--fail-on", "never").returncode == 0
    assert run_cli("audit", str(error)).returncode == 1


def test_explain_and_list_rules() -> None:
    listed = run_cli("audit", "--list-rules")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [r.ID for r in rules.RULES]
    explained = run_cli("audit", "--explain", "fk-missing-on-delete")
    assert explained.returncode == 0
    assert "ON DELETE" in explained.stdout
    assert "Bad:" in explained.stdout
    unknown = run_cli("audit", "--explain", "no-such-rule")
    assert unknown.returncode == 2
    assert "--list-rules" in one_line_error(unknown)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary\x00", "binary"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
        ("CREATE TABLE t (id int);".encode("utf-16"), "UTF-16"),
        (b"CREATE TABLE caf\xe9 (id int);", "not UTF-8"),
        (b"CREATE TABLE t (id int;\n", "cannot parse"),
        (b"CREATE TABLE public.t (\n    id bigint NOT NULL,\n    name te", "cannot parse"),
        (b"SELEC 1;", "cannot parse"),
        (b"-- only a comment\n", "no SQL statement"),
    ],
)
def test_bad_files_are_one_line_usage_errors(content: bytes, needle: str, tmp_path: Path) -> None:
    path = tmp_path / "input.sql"
    path.write_bytes(content)
    proc = run_cli("audit", str(path))
    assert proc.returncode == 2, proc.stderr
    assert needle in one_line_error(proc)


def test_bad_targets(tmp_path: Path) -> None:
    empty_dir = tmp_path / "migrations"
    empty_dir.mkdir()
    proc = run_cli("audit", str(empty_dir))
    assert proc.returncode == 2
    assert "no migration files" in one_line_error(proc)
    missing = run_cli("audit", str(tmp_path / "nope.sql"))
    assert missing.returncode == 2
    assert "no such file" in one_line_error(missing)
    unreachable = run_cli("audit", "postgresql://veza:hunter2@127.0.0.1:1/veza")
    assert unreachable.returncode == 4
    assert "hunter2" not in one_line_error(unreachable)
    bad_format = run_cli("audit", str(tmp_path / "nope.sql"), "--format", "xml")
    assert bad_format.returncode == 2


def test_a_now_literal_default_is_caught_in_files(tmp_path: Path) -> None:
    # PostgreSQL folds `'now'::timestamptz` into a constant when the table is created: every row
    # then gets the creation time. Only the SQL still shows the mistake, so files must catch it.
    path = tmp_path / "frozen.sql"
    path.write_text(
        "CREATE TABLE t (id uuid PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT 'now'::timestamptz);"
    )
    spellings = {f.current for f in audit_file(path).findings if f.rule == "inconsistent-timestamp-default"}
    assert spellings == {"'now'"}
