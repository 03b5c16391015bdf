"""The schema model follows the DDL it accepts, and says so when it cannot.

For every DDL form in tests/fixtures/ddl/ (inheritance, foreign tables, duplicate keys, drops
that cascade, renames, SET SCHEMA, LIKE, DO blocks...), on every server: the SQL file, the
database it builds, that database's dump and a migrations directory made of the file give the
same findings and the same model. A statement the model does not follow is reported with its
file, line and kind, in the model, the reports and on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Server
from tests.helpers import pg_dump_schema, run_cli, run_sql, write_migrations
from veza_db import policy
from veza_db.audit import engine
from veza_db.audit.findings import Finding
from veza_db.catalog import live, sqlfile
from veza_db.catalog.model import Catalog, Table
from veza_db.dburl import parse as parse_url

DDL = FIXTURES / "ddl"
_MARKER = "-- migration: "


def migrations_of(text: str, directory: Path) -> Path:
    """The fixture as a migrations directory: one migration per `-- migration: NNN_slug` part
    (what precedes the first marker goes into the first migration)."""
    parts: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith(_MARKER):
            parts.append((line.removeprefix(_MARKER).strip(), [*preamble, line]))
            preamble = []
        elif parts:
            parts[-1][1].append(line)
        else:
            preamble.append(line)
    if not parts:
        parts = [("001_schema", preamble)]
    files = {f"{name}.up.sql": "".join(lines) for name, lines in parts}
    files |= {f"{name}.down.sql": "SELECT 1;\n" for name, _ in parts}
    return write_migrations(directory, files)


def findings(catalog: Catalog, kind: str) -> list[Finding]:
    """Findings in a stable order; their locations do not take part in comparisons."""
    result = engine.run(catalog, policy.default(), kind=kind, target=catalog.source)
    return sorted(result.findings, key=lambda f: (f.rule, f.object))


def shape(catalog: Catalog, *, column_order: bool = True) -> dict[str, object]:
    """What every source must agree on, expression text aside (pg_dump and the parser's printer
    spell some expressions differently). A dump restores inherited columns first, so its
    columns are compared by name."""

    def columns(table: Table) -> list[tuple[str, str, bool, str | None, str | None, bool]]:
        found = [
            (c.name, c.type, c.nullable, c.identity, c.comment, c.default is None) for c in table.columns
        ]
        return found if column_order else sorted(found)

    return {
        "schemas": catalog.schemas,
        "tables": [
            (
                t.qualified, t.foreign, columns(t), t.primary_key,
                sorted(t.uniques, key=lambda u: u.name), sorted(t.foreign_keys, key=lambda f: f.name),
                sorted(c.name for c in t.checks),
                sorted((i.name, [k if not k.startswith("(") else "(...)" for k in i.columns], i.unique,
                        i.method, i.predicate is None) for i in t.indexes),
                sorted((g.name, g.function.rsplit(".", 1)[-1]) for g in t.triggers),
                t.comment,
            )
            for t in sorted(catalog.tables, key=lambda t: (t.schema, t.name))
        ],
        "sequences": sorted(catalog.sequences, key=lambda s: (s.schema, s.name)),
        "views": sorted(catalog.views, key=lambda v: (v.schema, v.name)),
        "functions": sorted((f.schema, f.name, f.arguments) for f in catalog.functions),
    }  # fmt: skip


@pytest.mark.parametrize("fixture", sorted(p.stem for p in DDL.glob("*.sql")))
def test_file_database_dump_and_migrations_agree(fixture: str, any_server: Server, tmp_path: Path) -> None:
    source = DDL / f"{fixture}.sql"
    text = source.read_text()
    name = any_server.create_database("ddl")
    url = any_server.url(name)
    try:
        run_sql(url, text)
        database = live.load(parse_url(url))
        dump = sqlfile.load_file(pg_dump_schema(url, any_server.bin_dir, tmp_path / "dump.sql"))
    finally:
        any_server.drop_database(name)
    directory = migrations_of(text, tmp_path / "migrations")
    models = {
        "file": (sqlfile.load_file(source), "file"),
        "migrations": (sqlfile.load_directory(directory), "migrations"),
        "dump": (dump, "file"),
    }
    expected = findings(database, "database")
    assert expected, "the fixture breaks no rule: it would show no difference"
    for source_kind, (model, kind) in models.items():
        assert model.unfollowed == (), (source_kind, model.unfollowed)
        assert findings(model, kind) == expected, source_kind
        assert shape(model, column_order=source_kind != "dump") == shape(
            database, column_order=source_kind != "dump"
        ), source_kind


def test_the_migrations_directory_is_the_fixture_split_at_its_markers(tmp_path: Path) -> None:
    text = (
        "-- a header\n-- migration: 001_one\nCREATE TABLE a (id int);\n-- migration: 002_two\nDROP TABLE a;\n"
    )
    directory = migrations_of(text, tmp_path / "m")
    assert sorted(p.name for p in directory.iterdir()) == [
        "001_one.down.sql", "001_one.up.sql", "002_two.down.sql", "002_two.up.sql",
    ]  # fmt: skip
    assert (
        directory / "001_one.up.sql"
    ).read_text() == "-- a header\n-- migration: 001_one\nCREATE TABLE a (id int);\n"
    assert (directory / "002_two.up.sql").read_text() == "-- migration: 002_two\nDROP TABLE a;\n"


# ---- what the model does not follow is reported ---------------------------------------------------

_SETUP = (
    "CREATE TABLE public.plays (id uuid NOT NULL, n int) PARTITION BY RANGE (n);\n"
    "CREATE TABLE public.plays_1 PARTITION OF public.plays FOR VALUES FROM (0) TO (10);\n"
)


@pytest.mark.parametrize(
    ("statement", "kind", "reason", "line"),
    [
        ("CREATE TABLE public.copy AS SELECT 1 AS id;", "CREATE TABLE ... AS", "query's result", 3),
        ("SELECT 1 AS id INTO public.copy;", "SELECT ... INTO", "query's result", 3),
        ("ALTER TABLE public.plays DETACH PARTITION public.plays_1;", "ALTER TABLE ... DETACH PARTITION", "public.plays_1 becomes a table", 3),
        ("ALTER TABLE public.missing ADD COLUMN x int;", "ALTER TABLE", "table public.missing is not created by this SQL", 3),
        ("CREATE INDEX ON public.missing (id);", "CREATE INDEX", "table public.missing is not created", 3),
        ("COMMENT ON TABLE public.missing IS 'x';", "COMMENT ON TABLE", "table public.missing is not created", 3),
        ("ALTER TABLE public.plays DROP CONSTRAINT plays_n_not_null;", "ALTER TABLE ... DROP CONSTRAINT", "plays_n_not_null of public.plays is not in the model", 3),
        ("CREATE TABLE public.typed OF public.some_type;", "CREATE TABLE ... OF", "composite type", 3),
        ("IMPORT FOREIGN SCHEMA remote FROM SERVER partner INTO public;", "IMPORT FOREIGN SCHEMA", "foreign server", 3),
        ("DROP EXTENSION hstore CASCADE;", "DROP EXTENSION ... CASCADE", "depends on the extension", 3),
        ("ALTER EXTENSION hstore ADD TABLE public.plays;", "ALTER EXTENSION ... ADD/DROP", "extension's members", 3),
        ("DROP OWNED BY someone;", "DROP OWNED", "a role owns", 3),
        ("DO $$ BEGIN\n  IF true THEN\n    CREATE TABLE public.x (id int);\n  END IF;\nEND $$;", "DO ... IF", "condition", 4),
        ("DO $$ BEGIN EXECUTE 'CREATE TABLE public.y (id int)'; END $$;", "DO ... EXECUTE", "built at run time", 3),
        ("DO $$\nBEGIN\n  FOR i IN 1..2 LOOP ALTER TABLE public.plays ADD COLUMN c int; END LOOP;\nEND $$;", "DO ... FOR", "loop", 5),
        ("DO $$ BEGIN NULL; EXCEPTION WHEN others THEN DROP TABLE public.plays; END $$;", "DO ... EXCEPTION", "the block fails", 3),
        ("DO LANGUAGE plpython3u $$ import os $$;", "DO", "plpython3u", 3),
    ],
)  # fmt: skip
def test_a_statement_the_model_does_not_follow_is_reported(
    statement: str, kind: str, reason: str, line: int
) -> None:
    catalog = sqlfile.load_text(_SETUP + statement + "\n", "f.sql")
    (unfollowed,) = catalog.unfollowed
    assert (unfollowed.file, unfollowed.line, unfollowed.statement) == ("f.sql", line, kind)
    assert reason in unfollowed.reason
    assert unfollowed.message() == f"f.sql:{line}: {kind} not followed: {unfollowed.reason}"


def test_a_table_the_model_misses_is_reported_once() -> None:
    catalog = sqlfile.load_text(
        _SETUP
        + "CREATE TABLE public.copy AS SELECT 1 AS id;\n"
        + "ALTER TABLE public.copy ADD PRIMARY KEY (id);\nCOMMENT ON TABLE public.copy IS 'a copy';\n"
        + "ALTER TABLE public.plays DETACH PARTITION public.plays_1;\n"
        + "CREATE INDEX ON public.plays_1 (n);\n",
        "f.sql",
    )
    assert [(u.line, u.statement) for u in catalog.unfollowed] == [
        (3, "CREATE TABLE ... AS"),
        (6, "ALTER TABLE ... DETACH PARTITION"),
    ]


def test_a_staging_table_the_model_misses_is_not_reported_once_dropped() -> None:
    catalog = sqlfile.load_text(
        _SETUP
        + "CREATE TABLE public.staging AS SELECT 1 AS id;\nALTER TABLE public.staging RENAME TO staged;\n"
        + "ALTER TABLE public.plays DETACH PARTITION public.plays_1;\n"
        + "DROP TABLE public.staged, public.plays_1;\n",
        "f.sql",
    )
    assert catalog.unfollowed == ()


@pytest.mark.parametrize(
    "statement",
    [
        "GRANT SELECT ON public.plays TO PUBLIC;",
        "ALTER TABLE public.plays OWNER TO postgres;",
        "ALTER TABLE IF EXISTS public.missing ADD COLUMN x int;",
        "DROP TABLE IF EXISTS public.missing;",
        "ALTER TABLE ONLY public.plays_1 ADD CONSTRAINT plays_1_pkey PRIMARY KEY (id);",
        "CREATE INDEX plays_1_n_idx ON public.plays_1 (n);",
        "INSERT INTO public.plays VALUES (gen_random_uuid(), 1);",
        "CREATE EXTENSION IF NOT EXISTS pgcrypto;",
        "COMMENT ON FUNCTION public.f() IS 'x';",
        "CREATE POLICY p ON public.plays USING (true);",
        "ALTER TABLE public.plays ENABLE ROW LEVEL SECURITY;",
        "SET statement_timeout = 0;",
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "CREATE TYPE public.mood AS ENUM ('ok');",
        "DO $$ BEGIN RAISE NOTICE 'hello'; PERFORM 1; END $$;",
        "DO $$ BEGIN IF true THEN RAISE NOTICE 'x'; END IF; END $$;",
        "CREATE RULE plays_log AS ON DELETE TO public.plays DO NOTHING;",
    ],
)
def test_statements_that_change_nothing_modelled_are_not_reported(statement: str) -> None:
    catalog = sqlfile.load_text(_SETUP + statement + "\n", "f.sql")
    assert catalog.unfollowed == ()


def test_the_v1_migrations_are_followed_but_for_the_fallback_uuidv7() -> None:
    """V1 creates public.uuidv7() only where PostgreSQL lacks one (before 18): which servers get
    it, a file cannot say. Everything else of V1, and the Lab schema, is followed."""
    from veza_db.migrate import discover

    (unfollowed,) = sqlfile.load_directory(discover.package_dir()).unfollowed
    foundation = discover.package_dir() / "001_foundation.up.sql"
    assert (unfollowed.file, unfollowed.statement) == (str(foundation), "DO ... IF")
    assert (
        "IF to_regprocedure('pg_catalog.uuidv7()') IS NULL"
        in foundation.read_text().splitlines()[unfollowed.line - 1]
    )
    assert sqlfile.load_file(FIXTURES / "lab_schema.sql").unfollowed == ()


def test_the_audit_reports_what_it_does_not_follow(tmp_path: Path) -> None:
    sql = (
        _SETUP
        + "CREATE TABLE public.copy AS SELECT 1 AS id;\nALTER TABLE public.plays DETACH PARTITION public.plays_1;\n"
    )
    source = tmp_path / "schema.sql"
    source.write_text(sql)
    warnings = [
        f"warning: {source}:3: CREATE TABLE ... AS not followed:",
        f"warning: {source}:4: ALTER TABLE ... DETACH PARTITION not followed:",
    ]

    proc = run_cli("audit", str(source), "--format", "json")
    assert [
        line.split(" not followed:")[0] + " not followed:" for line in proc.stderr.splitlines()
    ] == warnings
    document = json.loads(proc.stdout)
    assert [(u["file"], u["line"], u["statement"]) for u in document["unfollowed"]] == [
        (str(source), 3, "CREATE TABLE ... AS"),
        (str(source), 4, "ALTER TABLE ... DETACH PARTITION"),
    ]
    assert document["summary"]["unfollowed"] == 2

    proc = run_cli("audit", str(source))
    assert "**2 statements change** the schema in ways this audit does not follow" in proc.stdout
    assert "## 3. Statements Not Followed" in proc.stdout
    assert "| `ALTER TABLE ... DETACH PARTITION` |" in proc.stdout

    out = tmp_path / "audit.sarif"
    run_cli("audit", str(source), "--format", "sarif", "--output", str(out))
    (run,) = json.loads(out.read_text())["runs"]
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert [
        (n["level"], n["locations"][0]["physicalLocation"]["region"]["startLine"], n["message"]["text"].split(" not followed")[0])
        for n in notifications
    ] == [("warning", 3, "CREATE TABLE ... AS"), ("warning", 4, "ALTER TABLE ... DETACH PARTITION")]  # fmt: skip


def test_a_migrations_directory_names_the_migration_not_followed(tmp_path: Path) -> None:
    directory = write_migrations(
        tmp_path / "m",
        {
            "001_plays.up.sql": _SETUP,
            "001_plays.down.sql": "DROP TABLE public.plays;\n",
            "002_copy.up.sql": "-- a copy\n\nCREATE TABLE public.copy AS SELECT 1 AS id;\n",
            "002_copy.down.sql": "DROP TABLE public.copy;\n",
        },
    )
    proc = run_cli("audit", str(directory), "--format", "json")
    (unfollowed,) = json.loads(proc.stdout)["unfollowed"]
    assert (unfollowed["file"], unfollowed["line"]) == (str(directory / "002_copy.up.sql"), 3)
    assert proc.stderr.startswith(
        f"warning: {directory / '002_copy.up.sql'}:3: CREATE TABLE ... AS not followed:"
    )


def test_inheritance_and_views_thousands_deep_are_followed() -> None:
    """A parent's changes walk its descendants, a drop the views on views, without recursion."""
    depth = 1500
    sql = "CREATE TABLE t0 (id int, CONSTRAINT c CHECK (id > 0));\n"
    sql += "".join(f"CREATE TABLE t{i} () INHERITS (t{i - 1});\n" for i in range(1, depth))
    sql += "CREATE VIEW v0 AS SELECT * FROM t0;\n"
    sql += "".join(f"CREATE VIEW v{i} AS SELECT * FROM v{i - 1};\n" for i in range(1, depth))
    sql += "ALTER TABLE t0 ADD COLUMN x int CHECK (x > 0);\nALTER TABLE t0 RENAME COLUMN x TO y;\n"
    sql += "ALTER TABLE t0 DROP CONSTRAINT c;\n"
    deepest = sqlfile.load_text(sql, "f.sql").table("public", f"t{depth - 1}")
    assert deepest is not None
    assert [c.name for c in deepest.columns] == ["id", "y"]
    assert [c.name for c in deepest.checks] == ["t0_x_check"]
    dropped = sqlfile.load_text(sql + "DROP TABLE t0 CASCADE;\n", "f.sql")
    assert (dropped.tables, dropped.views) == ((), ())


def test_expressions_nested_hundreds_deep_are_renamed_and_dropped() -> None:
    deep = "CASE WHEN v > 0 THEN " * 300 + "1" + " END" * 300
    catalog = sqlfile.load_text(
        f"CREATE TABLE t (v int, w int, CONSTRAINT c CHECK (({deep}) > 0));\n"
        f"CREATE INDEX i ON t (({deep}));\nCREATE INDEX ON t ((w{'::text' * 2000}));\n"
        "ALTER TABLE t RENAME COLUMN v TO u;\n",
        "f.sql",
    )
    (table,) = catalog.tables
    assert table.checks[0].expression.count("u > 0") == 300
    assert [i.name for i in table.indexes] == ["i", "t_w_idx"]
    assert table.indexes[0].columns[0].count("u > 0") == 300
    dropped = sqlfile.load_text(
        f"CREATE TABLE t (v int, CONSTRAINT c CHECK (({deep}) > 0));\nCREATE INDEX i ON t (({deep}));\n"
        "ALTER TABLE t DROP COLUMN v;\n",
        "f.sql",
    )
    assert (dropped.tables[0].checks, dropped.tables[0].indexes) == ((), ())
