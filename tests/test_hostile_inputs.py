"""Hostile inputs for `veza-db audit FILE` and for the runner (`up --migrations DIR`).

Whatever the bytes, either command ends within a bounded time with its documented outcome: exit 2
and exactly one `error:` line naming the problem (the runner before touching the database), or,
for input that is valid SQL after all, a report. Never a traceback, never exit 4 for a bad file.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from tests.conftest import Server
from tests.helpers import one_line_error, pg_dump_schema, query, run_cli, run_sql, write_migrations
from veza_db import api
from veza_db.catalog import live, sqlfile
from veza_db.dburl import parse as parse_url

T = TypeVar("T")
BOUND = 60  # seconds any single hostile input may take
MIGRATION = "001_hostile.up.sql"
DOWN = "001_hostile.down.sql"

_rng = random.Random(1125)  # noqa: S311 - reproducible noise, not secrets
_SQL = b"CREATE TABLE t (id uuid PRIMARY KEY);\n"
_TAR_HEADER = b"toc.dat".ljust(100, b"\x00") + b"0000600\x00" + b"\x00" * 404

# id -> (content, a word the audit's error line must hold, or None)
CORPUS: dict[str, tuple[bytes, str | None]] = {
    "empty": (b"", "empty"),
    "whitespace-only": (b"   \n\t\n  \r\n", "empty"),
    "utf8-bom-only": (b"\xef\xbb\xbf", "empty"),
    "binary-all-bytes": (bytes(range(256)), "binary"),
    "binary-random": (bytes(_rng.randrange(256) for _ in range(4096)), None),
    "gzip": (gzip.compress(_SQL), "gzip"),
    "tar-header": (_TAR_HEADER, "binary"),
    "utf16-le-bom": (_SQL.decode().encode("utf-16"), "UTF-16"),
    "utf16-be-bom": (b"\xfe\xff" + _SQL.decode().encode("utf-16-be"), "UTF-16"),
    "utf16-le-no-bom": (_SQL.decode().encode("utf-16-le"), None),
    "utf16-be-no-bom": (_SQL.decode().encode("utf-16-be"), None),
    "utf32-bom": (_SQL.decode().encode("utf-32"), None),
    "invalid-utf8": (b"CREATE TABLE t (id int); -- \xff\xfe\xc3\x28\n", "not UTF-8"),
    "latin1-text": ("CREATE TABLE café (id int);\n".encode("latin-1"), "not UTF-8"),
    "utf8-encoded-surrogate": (b"SELECT '\xed\xa0\x80';\n", "not UTF-8"),
    "overlong-utf8": (b"SELECT '\xc0\xaf';\n", "not UTF-8"),
    "nul-in-text": (b"CREATE TABLE t (id int);\x00\nCREATE TABLE u (id int);\n", "binary"),
    "nul-at-end": (b"CREATE TABLE t (id int);\n\x00", "binary"),
    "pg-dump-custom-header": (b"PGDMP\x01\x0e\x00\x04\x08\x01\x01\x01" + b"\x00" * 64, "pg_dump archive"),
    "nested-parentheses-100000": (
        b"SELECT " + b"(" * 100_000 + b"1" + b")" * 100_000 + b";\n",
        "cannot parse",
    ),
    "nested-case-10000": (
        b"SELECT " + b"CASE WHEN true THEN " * 10_000 + b"1" + b" END" * 10_000 + b";\n",
        "cannot parse",
    ),
    "nested-subqueries-20000": (
        b"SELECT " + b"(SELECT " * 20_000 + b"1" + b")" * 20_000 + b";\n",
        "cannot parse",
    ),
    "parser-rejects-table-without-name": (b"CREATE TABLE (id int);\n", "cannot parse"),
    "parser-rejects-typo": (b"SELEC 1;\n", "cannot parse"),
    "parser-rejects-unbalanced": (b"CREATE TABLE t (id int;\n", "cannot parse"),
    "garbage-after-valid-statement": (_SQL + b"THIS IS NOT SQL;\n", "cannot parse"),
    "html-page": (b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n", "cannot parse"),
    "psql-variable": (b"CREATE TABLE :tbl (id int);\n", "cannot parse"),
    "control-characters": (b"CREATE TABLE t (id int);\x1b[31m\x07\n", "cannot parse"),
    "huge-garbage-line": (b"SELECT 1 FROM t WHERE " + b"! " * 2_000_000 + b"\n", "cannot parse"),
    "only-comments": (b"-- a comment\n/* another */\n-- and one more\n", "no SQL statement"),
    "only-semicolons": (b";;;\n;\n", "no SQL statement"),
    "unterminated-block-comment": (b"/* never closed\nCREATE TABLE t (id int);\n", "cannot parse"),
    "unbalanced-nested-comment": (b"/* /* */ SELECT 1;\n", "cannot parse"),
    "restrict-lines-alone": (
        b"\\restrict 7Hq2kP9\n\n\\unrestrict 7Hq2kP9\n",
        "no SQL statement",
    ),
    "psql-meta-commands-only": (b"\\connect veza\n\\set ON_ERROR_STOP on\n", "no SQL statement"),
    "copy-block-without-terminator": (
        b"CREATE TABLE public.t (id uuid NOT NULL);\n"
        b"COPY public.t (id) FROM stdin;\n"
        b"0190a0e0-0000-7000-8000-000000000001\n"
        b"ALTER TABLE ONLY public.t ADD CONSTRAINT pk_t PRIMARY KEY (id);\n",
        None,
    ),
    "unterminated-dollar-quote": (
        b"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\nSELECT 1;\n",
        "cannot parse",
    ),
    "unterminated-tagged-dollar-quote": (b"DO $body$ BEGIN NULL; END $bod$;\n", "cannot parse"),
    "unterminated-string": (b"COMMENT ON TABLE t IS 'it never ends;\nSELECT 1;\n", "cannot parse"),
    "unterminated-escape-string": (b"SELECT E'abc\\';\n", "cannot parse"),
    "unterminated-quoted-identifier": (b'CREATE TABLE "t (id int);\n', "cannot parse"),
}

AUDIT_BUGS: dict[str, str] = {}
RUNNER_BUGS: dict[str, str] = {}
# Inputs with no statement: an error for the audit, but a no-op migration for the runner, which
# moves the version as golang-migrate does.
NO_STATEMENT = ("empty", "whitespace-only", "utf8-bom-only", "only-comments", "only-semicolons")


def _cases(bugs: dict[str, str], skip: tuple[str, ...] = ()) -> list[object]:
    return [
        pytest.param(name, id=name, marks=pytest.mark.xfail(strict=True, reason=bugs[name]))
        if name in bugs
        else pytest.param(name, id=name)
        for name in CORPUS
        if name not in skip
    ]


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


Run = tuple[subprocess.CompletedProcess[str] | None, float]  # None: killed at the bound


def _timed(*args: str) -> Run:
    started = time.monotonic()
    try:
        proc: subprocess.CompletedProcess[str] | None = run_cli(*args, timeout=BOUND)
    except subprocess.TimeoutExpired:
        proc = None
    return proc, time.monotonic() - started


def _finished(run: Run) -> subprocess.CompletedProcess[str]:
    proc, elapsed = run
    assert proc is not None, f"still running after {BOUND}s"
    assert elapsed < BOUND
    return proc


def _untouched(url: str) -> bool:
    return query(url, "SELECT to_regclass('public.schema_migrations') IS NULL")[0][0] is True


def _in_parallel(names: list[str], work: Callable[[str], T]) -> dict[str, T]:
    """Each input in its own process, a few at a time: the corpus is large, the checks independent."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(work, names), strict=True))


@pytest.fixture(scope="module")
def audit_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """`veza-db audit FILE` over every input of the corpus."""
    folder = tmp_path_factory.mktemp("audit_corpus")

    def audit(name: str) -> Run:
        path = folder / f"{name}.sql"
        path.write_bytes(CORPUS[name][0])
        return _timed("audit", str(path))

    return _in_parallel(list(CORPUS), audit)


@pytest.fixture(scope="module")
def runner_runs(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Run, bool]]:
    """`veza-db up --migrations DIR` with every input as the migration, each on a fresh database;
    with whether that database was left untouched."""
    folder = tmp_path_factory.mktemp("runner_corpus")

    def up(name: str) -> tuple[Run, bool]:
        migrations = folder / name
        migrations.mkdir()
        (migrations / MIGRATION).write_bytes(CORPUS[name][0])
        (migrations / DOWN).write_text("SELECT 1;\n")
        database = server.create_database("hostile")
        try:
            run = _timed("up", "--database-url", server.url(database), "--migrations", str(migrations))
            return run, _untouched(server.url(database))
        finally:
            server.drop_database(database)

    return _in_parallel(list(CORPUS), up)


@pytest.mark.parametrize("name", _cases(AUDIT_BUGS))
def test_audit_rejects_hostile_file_in_one_line(name: str, audit_runs: dict[str, Run]) -> None:
    proc = _finished(audit_runs[name])
    assert proc.returncode == 2, (proc.returncode, proc.stdout[:500], proc.stderr)
    line = one_line_error(proc)
    assert proc.stdout == ""
    needle = CORPUS[name][1]
    if needle:
        assert needle in line, line


@pytest.mark.parametrize("name", _cases(RUNNER_BUGS, skip=NO_STATEMENT))
def test_runner_rejects_hostile_migration_before_touching_the_database(
    name: str, runner_runs: dict[str, tuple[Run, bool]]
) -> None:
    run, untouched = runner_runs[name]
    proc = _finished(run)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert MIGRATION in one_line_error(proc)
    assert untouched


@pytest.mark.parametrize("name", NO_STATEMENT)
def test_runner_applies_a_file_without_statements_as_a_no_op(
    name: str, runner_runs: dict[str, tuple[Run, bool]]
) -> None:
    run, untouched = runner_runs[name]
    proc = _finished(run)
    assert proc.returncode == 0, proc.stderr
    assert "no-op" in proc.stdout
    assert "version 1 (head)" in proc.stdout
    assert not untouched


# ---- truncated and huge dumps ------------------------------------------------------------------


@pytest.fixture(scope="module")
def v1_dump(server: Server, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """`pg_dump --schema-only` of a V1 database, as pg_dump wrote it."""
    name = server.create_database("dump")
    try:
        api.up(server.url(name))
        path = pg_dump_schema(server.url(name), server.bin_dir, tmp_path_factory.mktemp("dump") / "v1.sql")
    finally:
        server.drop_database(name)
    return path.read_bytes()


CUTS = 10


def _cut(dump: bytes, index: int) -> bytes:
    offsets = sorted(random.Random(20261125).sample(range(1, len(dump)), CUTS))  # noqa: S311 - reproducible cuts
    return dump[: offsets[index]]


def _is_report(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.stdout.startswith("# DB Schema Audit") and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def truncated_audits(v1_dump: bytes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    folder = tmp_path_factory.mktemp("cuts")

    def audit(index: str) -> Run:
        path = folder / f"cut{index}.sql"
        path.write_bytes(_cut(v1_dump, int(index)))
        return _timed("audit", str(path))

    return _in_parallel([str(i) for i in range(CUTS)], audit)


@pytest.mark.parametrize("index", range(CUTS))
def test_audit_of_a_truncated_dump(index: int, truncated_audits: dict[str, Run]) -> None:
    proc = _finished(truncated_audits[str(index)])
    # A cut on a statement boundary is still valid SQL: then a report is the right answer.
    if proc.returncode in (0, 1):
        assert _is_report(proc), proc.stderr
        assert proc.stderr == ""
    else:
        assert proc.returncode == 2, (proc.returncode, proc.stderr)
        one_line_error(proc)


@pytest.mark.parametrize("index", range(CUTS))
def test_runner_on_a_truncated_dump(index: int, v1_dump: bytes, database: str, tmp_path: Path) -> None:
    # As a baseline migration, without pg_dump's psql meta-commands (\restrict) that are not SQL.
    text = b"\n".join(line for line in _cut(v1_dump, index).split(b"\n") if not line.startswith(b"\\"))
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / MIGRATION).write_bytes(text)
    (migrations / DOWN).write_text("SELECT 1;\n")
    proc = _finished(_timed("up", "--database-url", database, "--migrations", str(migrations)))
    assert "Traceback" not in proc.stderr
    if proc.returncode == 0:  # cut on a statement boundary: a valid migration, applied whole
        assert query(database, "SELECT version, dirty FROM schema_migrations") == [(1, False)]
    elif proc.returncode == 2:  # PostgreSQL's parser rejects it: nothing touched
        assert MIGRATION in one_line_error(proc)
        assert _untouched(database)
    else:  # valid SQL the server refuses (a dangling reference): the file is rolled back whole
        assert proc.returncode == 4, proc.stderr
        assert f"{MIGRATION}:" in one_line_error(proc)
        assert query(database, "SELECT count(*) FROM schema_migrations") == [(0,)]
        assert query(
            database,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname NOT LIKE 'schema_migrations%'",
        ) == [(0,)]


@pytest.fixture(scope="module")
def fifty_megabyte_dump(v1_dump: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The V1 dump repeated, each copy's tables in a schema of its own, to 50 MB."""
    text = v1_dump.decode()
    parts: list[str] = []
    size = 0
    copy = 0
    while size < 50_000_000:
        part = f"CREATE SCHEMA s{copy};\n" + text.replace("public.", f"s{copy}.")
        parts.append(part)
        size += len(part.encode())
        copy += 1
    path = tmp_path_factory.mktemp("big") / "fifty.sql"
    path.write_text("\n".join(parts))
    return path


@pytest.mark.slow
def test_audit_of_a_fifty_megabyte_dump_is_bounded(fifty_megabyte_dump: Path) -> None:
    assert fifty_megabyte_dump.stat().st_size >= 50_000_000
    proc = _finished(_timed("audit", str(fifty_megabyte_dump), "--format", "json", "--fail-on", "never"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    schemas = {f["schema"] for f in report["findings"] if f["rule"] == "outside-owned-schema"}
    copies = fifty_megabyte_dump.read_text().count("CREATE SCHEMA s")
    assert schemas == {f"s{i}" for i in range(copies)}


@pytest.mark.slow
def test_runner_refuses_a_fifty_megabyte_dump_quickly(
    fifty_megabyte_dump: Path, database: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / MIGRATION).symlink_to(fifty_megabyte_dump)
    (migrations / DOWN).write_text("SELECT 1;\n")
    proc = _finished(_timed("up", "--database-url", database, "--migrations", str(migrations)))
    assert proc.returncode == 2, proc.stderr
    with fifty_megabyte_dump.open("rb") as head:
        first_lines = head.read(4096).split(b"\n")
    restrict = next(i for i, line in enumerate(first_lines, 1) if line.startswith(b"\\restrict"))
    assert f"{MIGRATION}:{restrict}: `\\restrict` is a psql meta-command, not SQL" in one_line_error(proc)
    assert _untouched(database)


def test_audit_of_a_long_garbage_token_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "token.sql"
    path.write_text("a" * 200_000 + "\n")
    proc = run_cli("audit", str(path), timeout=5)  # a linear mask answers in well under a second
    assert proc.returncode == 2
    assert "cannot parse" in one_line_error(proc)


def test_runner_validates_a_large_migration_in_linear_time(tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", {DOWN: "SELECT 1;\n"})
    (migrations / MIGRATION).write_text("SELECT 1;\n" * 150_000)
    # Port 1: no server. Exit 4 "cannot connect" proves validation finished.
    proc = run_cli(
        "up", "--database-url", "postgresql://x@127.0.0.1:1/x", "--migrations", str(migrations), timeout=8
    )
    assert proc.returncode == 4
    assert "cannot connect" in one_line_error(proc)


# ---- valid SQL that is deep: PostgreSQL takes it, so must veza-db ------------------------------

DEEP_BUT_VALID = {
    "concatenation-1000": "CREATE TABLE t (id int, label text GENERATED ALWAYS AS ("
    + " || ".join(["'a'"] * 1000)
    + ") STORED);\n",
    "nested-case-300": "CREATE TABLE t (id int, v int DEFAULT ("
    + "CASE WHEN true THEN " * 300
    + "1"
    + " END" * 300
    + "));\n",
}


@pytest.mark.parametrize("name", sorted(DEEP_BUT_VALID))
@pytest.mark.parametrize("command", ["audit", "up"])
def test_deep_but_valid_sql_is_audited_and_applied(
    command: str, name: str, database: str, tmp_path: Path
) -> None:
    text = DEEP_BUT_VALID[name]
    run_sql(database, "BEGIN;" + text + "ROLLBACK;")  # PostgreSQL accepts it
    if command == "audit":
        path = tmp_path / "deep.sql"
        path.write_text(text)
        proc = run_cli("audit", str(path), timeout=BOUND)
        assert proc.returncode in (0, 1), proc.stderr
        assert _is_report(proc)
    else:
        migrations = write_migrations(tmp_path / "m", {MIGRATION: text, DOWN: "DROP TABLE t;\n"})
        proc = run_cli("up", "--database-url", database, "--migrations", str(migrations), timeout=BOUND)
        assert proc.returncode == 0, proc.stderr
        assert query(database, "SELECT version, dirty FROM schema_migrations") == [(1, False)]


# ---- SQL the parser takes but the runner's protocol does not -----------------------------------


def test_copy_from_stdin_in_a_migration_fails_naming_the_file(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m", {MIGRATION: "CREATE TABLE t (id int);\nCOPY t FROM STDIN;\n", DOWN: "DROP TABLE t;\n"}
    )
    proc = run_cli("up", "--database-url", database, "--migrations", str(migrations), timeout=BOUND)
    assert proc.returncode in (2, 4), proc.stderr
    assert MIGRATION in one_line_error(proc)
    assert query(database, "SELECT to_regclass('public.t') IS NULL") == [(True,)]
    if not _untouched(database):
        assert query(database, "SELECT count(*) FROM schema_migrations") == [(0,)]


def test_copy_to_stdout_in_a_migration_exit_code_tells_the_truth(database: str, tmp_path: Path) -> None:
    migrations = write_migrations(
        tmp_path / "m", {MIGRATION: "CREATE TABLE t (id int);\nCOPY t TO STDOUT;\n", DOWN: "DROP TABLE t;\n"}
    )
    proc = run_cli("up", "--database-url", database, "--migrations", str(migrations), timeout=BOUND)
    assert "Traceback" not in proc.stderr
    applied = not _untouched(database) and query(database, "SELECT count(*) FROM schema_migrations") == [(1,)]
    if proc.returncode == 0:
        assert applied
    else:
        one_line_error(proc)
        assert not applied, "the command failed, yet the migration was committed"


# ---- a valid dump whose text has lines that look like psql's -----------------------------------

TRICKY_COMMENTS = {
    "backslash-line": "Files live on a share:\n\\\\fileserver\\veza\\uploads",
    "copy-line": "Import with:\nCOPY t FROM stdin;\nthen analyse.",
    "end-of-copy-line": "A psql terminator:\n\\.\nends a COPY block.",
}


@pytest.mark.parametrize("kind", sorted(TRICKY_COMMENTS))
def test_dump_with_comment_lines_that_look_like_psql(
    kind: str, database: str, server: Server, tmp_path: Path
) -> None:
    comment = TRICKY_COMMENTS[kind].replace("'", "''")
    run_sql(database, f"CREATE TABLE t (id uuid PRIMARY KEY); COMMENT ON TABLE t IS '{comment}';")
    dump = pg_dump_schema(database, server.bin_dir, tmp_path / "dump.sql")
    proc = run_cli("audit", str(dump), "--format", "json", timeout=BOUND)
    assert proc.returncode in (0, 1), proc.stderr
    from_live = {t.name: t.comment for t in live.load(parse_url(database)).tables}
    from_dump = {t.name: t.comment for t in sqlfile.load_file(dump).tables}
    assert from_dump == from_live


# ---- hostile URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql://u:Pw9@127.0.0.1:1/db?unknown_param=1", id="unknown-parameter"),
        pytest.param("postgresql://%zz:Pw9@127.0.0.1:1/db", id="bad-percent-encoding"),
        pytest.param("postgresql://u:Pw9@127.0.0.1:1/%ff%fe", id="dbname-not-utf8"),
        pytest.param("postgresql://u:Pw9%00x@127.0.0.1:1/db", id="nul-in-password"),
        pytest.param("postgresql://u:Pw9@127.0.0.1:99999/db", id="port-out-of-range"),
        pytest.param(
            "postgresql://u:Pw9@[::1/db",
            id="unclosed-ipv6-bracket",
        ),
        pytest.param(
            "postgresql://u:Pw9@]::1[/db",
            id="reversed-ipv6-brackets",
        ),
    ],
)
def test_malformed_urls_are_usage_errors(url: str) -> None:
    # Every command parses its URL with dburl.parse; `up` stands for them all.
    proc = run_cli("up", "--database-url", url, timeout=BOUND)
    assert proc.returncode == 2, proc.stderr
    assert "malformed database URL" in one_line_error(proc)
    assert "Pw9" not in proc.stdout + proc.stderr
