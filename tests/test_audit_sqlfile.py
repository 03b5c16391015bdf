"""The SQL-file reader: what psql would skip is skipped (quote-aware), lines stay the file's,
and reading in windows, in one parser call per window or per statement, or with the read-ahead
thread, gives the same model as reading the text at once."""

from __future__ import annotations

import dataclasses
import random

import pytest
from pglast.parser import parse_sql_json

from veza_db.catalog import expr, psql_script, sqlfile
from veza_db.catalog.model import Catalog
from veza_db.errors import UsageError

TABLE = "CREATE TABLE public.t (id uuid NOT NULL);\n"


def tables(text: str) -> list[tuple[str, int, str | None]]:
    """(name, line, comment) of each table the text creates."""
    catalog = sqlfile.load_text(text, "f.sql")
    return [(t.name, t.where.line if t.where else 0, t.comment) for t in catalog.tables]


def error(text: str) -> str:
    with pytest.raises(UsageError) as caught:
        sqlfile.load_text(text, "f.sql")
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture(params=["at once", "in small windows", "read ahead"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way the reader can go through a text: one window; windows of a few characters (so
    statements, strings and comments straddle them); the read-ahead thread on any text."""
    if request.param == "at once":
        monkeypatch.setattr(psql_script, "_FIRST_WINDOW", 1 << 30)
    elif request.param == "in small windows":
        monkeypatch.setattr(psql_script, "_FIRST_WINDOW", 16)
        monkeypatch.setattr(psql_script, "_MAX_WINDOW", 64)
    else:
        monkeypatch.setattr(psql_script, "_AHEAD_MIN", 0)
        monkeypatch.setattr(psql_script, "_FIRST_WINDOW", 64)
        monkeypatch.setattr(psql_script, "_MAX_WINDOW", 256)
    return str(request.param)


# ---- psql meta-commands and COPY data, told from SQL by PostgreSQL's scanner -------------------


def test_meta_command_lines_are_skipped_and_lines_kept(reading: str) -> None:
    text = "--\n-- dump\n--\n\n\\restrict abc\n\nSET x = 1;\n" + TABLE + "\n\\unrestrict abc\n\n"
    assert tables(text) == [("t", 8, None)]


@pytest.mark.parametrize(
    "comment",
    [
        "Files live on a share:\n\\\\fileserver\\veza\\uploads",
        "Import with:\nCOPY t FROM stdin;\nthen analyse.",
        "A psql terminator:\n\\.\nends a COPY block.",
        "\\restrict abc\n\\unrestrict abc",
    ],
)
def test_lines_inside_a_string_are_sql_whatever_they_look_like(comment: str, reading: str) -> None:
    quoted = comment.replace("'", "''")
    text = TABLE + f"COMMENT ON TABLE public.t IS '{quoted}';\nCREATE TABLE public.u (id int);\n"
    assert tables(text) == [("t", 1, comment), ("u", 3 + comment.count("\n"), None)]


def test_lines_inside_dollar_quotes_comments_and_identifiers_are_sql(reading: str) -> None:
    text = (
        "CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $body$\nSELECT '\n\\x\n'\n$body$;\n"
        "/* a comment\n\\connect other\n*/\n"
        'CREATE TABLE public."x\n\\y" (id int);\n'
        "\\connect veza\n" + TABLE
    )
    assert [(name, line) for name, line, _ in tables(text)] == [("x\n\\y", 9), ("t", 12)]


def test_copy_rows_are_skipped_up_to_their_end_line(reading: str) -> None:
    text = (
        "CREATE TABLE public.t (id int, s text);\n"
        "COPY public.t (id, s) FROM stdin;\n1\tit's\n2\t\\N\n3\t$$\n\\.\n"
        "CREATE TABLE public.u (id int);\n"
        "COPY public.u (id) FROM stdin;\n\\.\n"
        "CREATE TABLE public.v (id int);\n"
    )
    assert [(name, line) for name, line, _ in tables(text)] == [("t", 1), ("u", 7), ("v", 10)]


def test_copy_with_crlf_lines_and_at_the_end_of_the_file(reading: str) -> None:
    crlf = "CREATE TABLE t (id int);\r\nCOPY t FROM stdin;\r\n1\r\n\\.\r\nCREATE TABLE u (id int);\r\n"
    assert [(name, line) for name, line, _ in tables(crlf)] == [("t", 1), ("u", 5)]
    assert [name for name, _, _ in tables("CREATE TABLE t (id int);\nCOPY t FROM stdin;\n1\n\\.")] == ["t"]


def test_what_follows_a_copy_on_its_line_is_read(reading: str) -> None:
    text = "CREATE TABLE t (id int);\nCOPY t FROM stdin; CREATE TABLE u (id int);\n1\n\\.\n"
    assert [name for name, _, _ in tables(text)] == ["t", "u"]


def test_a_copy_without_its_end_line_is_an_error_naming_the_copy(reading: str) -> None:
    text = (
        "CREATE TABLE public.t (id uuid NOT NULL);\n"
        "COPY public.t (id) FROM stdin;\n"
        "0190a0e0-0000-7000-8000-000000000001\n"
        "ALTER TABLE ONLY public.t ADD CONSTRAINT pk_t PRIMARY KEY (id);\n"
    )
    message = error(text)
    assert message.startswith("f.sql:2: COPY ... FROM stdin has no end-of-data line")
    assert "\\." in message


def test_a_meta_command_inside_a_statement_is_an_error(reading: str) -> None:
    assert error("CREATE TABLE t (\n\\echo hi\n id int);\n").startswith(
        "f.sql:2: psql meta-command \\echo inside a SQL statement"
    )


def test_a_meta_command_with_an_open_quote_ends_at_its_line(reading: str) -> None:
    text = "\\echo it's\nCREATE TABLE t (id int);\nCOMMENT ON TABLE t IS 'x';\n"
    assert tables(text) == [("t", 2, "x")]


def test_only_meta_commands_hold_no_statement(reading: str) -> None:
    assert "holds no SQL statement" in error("\\connect veza\n\\set ON_ERROR_STOP on\n")


# ---- statements the scanner alone would cut wrong, and errors ----------------------------------


def test_begin_atomic_bodies_and_rules_are_whole_statements(reading: str) -> None:
    text = (
        "CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2));\n"
        "CREATE TABLE v (id int);\n"
    )
    catalog = sqlfile.load_text(text, "f.sql")
    assert [(t.name, t.where.line if t.where else 0) for t in catalog.tables] == [
        ("t", 1),
        ("u", 2),
        ("v", 5),
    ]
    assert [f.name for f in catalog.functions] == ["f"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CREATE TABLE t (id int);\nfoo bar;\nCREATE TABLE u (id int);\n", 'f.sql:2: PostgreSQL cannot parse it: syntax error at or near "foo"'),
        ("CREATE TABLE t (id int);\nfoo bar", 'f.sql:2: PostgreSQL cannot parse it: syntax error at or near "foo"'),
        ("CREATE TABLE t (id int;\nCREATE TABLE u (id int);\n", 'f.sql:1: PostgreSQL cannot parse it: syntax error at or near ";"'),
        ("SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;\n", "f.sql:2: PostgreSQL cannot parse it: syntax error at end of input"),
        ("SELECT 1;\nCOMMENT ON TABLE t IS 'never ends;\nSELECT 1;\n", "f.sql:2: PostgreSQL cannot parse it: unterminated quoted string"),
    ],
)  # fmt: skip
def test_errors_name_their_line(text: str, expected: str, reading: str) -> None:
    assert error(text).startswith(expected)


def test_statements_without_a_final_semicolon_and_empty_ones(reading: str) -> None:
    assert [name for name, _, _ in tables(";;\nCREATE TABLE t (id int);;;\nCREATE TABLE u (id int)")] == [
        "t",
        "u",
    ]


# ---- deep SQL PostgreSQL takes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "default",
    ["CASE WHEN true THEN " * 300 + "1" + " END" * 300, " || ".join(["'a'"] * 1000)],
    ids=["case-300", "concatenation-1000"],
)
def test_a_tree_deeper_than_orjson_reads_is_read(default: str) -> None:
    catalog = sqlfile.load_text(f"CREATE TABLE t (id int, v text DEFAULT ({default}));\n", "f.sql")
    column = catalog.tables[0].columns[1]
    assert column.default is not None
    assert column.default.count("CASE") == 300 or column.default.count("'a'") == 1000


def test_loads_reads_past_orjson_depth_limit() -> None:
    deep = "[" * 5000 + "]" * 5000
    tree = expr.loads(deep)
    depth = 0
    while tree:
        tree, depth = tree[0], depth + 1
    assert depth == 4999


# ---- windows, batches and the read-ahead thread give the text's model ---------------------------


def _model(catalog: Catalog) -> object:
    """Every field of the model, locations included (they do not take part in `==`)."""

    def walk(value: object) -> object:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return tuple((f.name, walk(getattr(value, f.name))) for f in dataclasses.fields(value))
        if isinstance(value, tuple | list):
            return tuple(walk(v) for v in value)
        if isinstance(value, frozenset):
            return tuple(sorted(map(str, value)))
        return value

    return walk(catalog)


def _generated_dump(seed: int) -> str:
    """A dump-like text: tables, comments with quotes and newlines, functions, COPY blocks, meta
    lines, all in a random order of sizes."""
    rng = random.Random(seed)  # noqa: S311 - reproducible text, not secrets
    parts = ["--\n-- generated\n--\n\n\\restrict k3y\n\nSET search_path = public;\n"]
    for n in range(60):
        columns = ",\n    ".join(
            f"c{i} {rng.choice(['int', 'text', 'timestamptz'])}" for i in range(rng.randint(1, 6))
        )
        parts.append(f"CREATE TABLE t{n} (\n    id bigserial PRIMARY KEY,\n    {columns}\n);\n")
        if rng.random() < 0.3:
            parts.append(
                f"COMMENT ON TABLE t{n} IS 'it''s table {n};\n\\not a command\nCOPY x FROM stdin;';\n"
            )
        if rng.random() < 0.2:
            parts.append(f"CREATE FUNCTION f{n}() RETURNS text LANGUAGE sql AS $$ SELECT ';\n\\.\n' $$;\n")
        if rng.random() < 0.2:
            rows = "".join(f"{i}\tit's a row; \\N\n" for i in range(rng.randint(0, 5)))
            parts.append(f"COPY t{n} (id) FROM stdin;\n{rows}\\.\n")
        if rng.random() < 0.1:
            parts.append("\\connect veza\n")
        parts.append(f"CREATE INDEX t{n}_idx ON t{n} (id) WHERE id > {n};\n" if rng.random() < 0.5 else "\n")
    parts.append("\n\\unrestrict k3y\n")
    return "".join(parts)


@pytest.mark.parametrize("seed", range(3))
def test_every_way_of_reading_gives_the_same_model(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _generated_dump(seed)
    monkeypatch.setattr(psql_script, "_FIRST_WINDOW", 1 << 30)
    expected = _model(sqlfile.load_text(text, "f.sql"))
    for first, largest, ahead in [(16, 64, 1 << 40), (50, 50, 0), (64, 512, 0), (8192, 16384, 0)]:
        monkeypatch.setattr(psql_script, "_FIRST_WINDOW", first)
        monkeypatch.setattr(psql_script, "_MAX_WINDOW", largest)
        monkeypatch.setattr(psql_script, "_AHEAD_MIN", ahead)
        assert _model(sqlfile.load_text(text, "f.sql")) == expected, (first, largest, ahead)


@pytest.mark.parametrize("seed", range(3))
def test_windows_parsed_whole_and_statement_by_statement_agree(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _generated_dump(seed)
    whole = _model(sqlfile.load_text(text, "f.sql"))
    monkeypatch.setattr(psql_script._Reader, "_quick", lambda *_: None)  # the careful way only
    assert _model(sqlfile.load_text(text, "f.sql")) == whole


# ---- expressions parsed in batches ---------------------------------------------------------------


def test_parse_many_gives_what_parse_gives() -> None:
    texts = [
        "nextval('public.t_id_seq'::regclass)",
        "now()",
        "CURRENT_TIMESTAMP",
        "'now'::text",
        "1 -- a comment at the end",
        "((a)::text || 'x;y'::text)",
    ]
    one_by_one = [_without_locations(expr.parse(t)) for t in texts]
    expr._PARSED.clear()
    expr.parse_many([*texts, None, "", texts[0]])
    assert all(t in expr._PARSED for t in texts)
    assert [_without_locations(expr.parse(t)) for t in texts] == one_by_one


_LOCATIONS = ("location", "list_start", "list_end")  # offsets in the text parsed


def _without_locations(tree: object) -> object:
    """A tree without its parser locations (a batch's are offsets in the batch)."""
    if isinstance(tree, dict):
        return {k: _without_locations(v) for k, v in tree.items() if k not in _LOCATIONS}
    if isinstance(tree, list):
        return [_without_locations(v) for v in tree]
    return tree


@pytest.mark.parametrize(
    "default",
    [
        "now()",
        "CURRENT_TIMESTAMP",
        "nextval('public.t_id_seq'::regclass)",
        "'now'::text::timestamp with time zone",
        "(lower((name)::text) || 'x;y')",
        "deleted_at IS NULL AND n > (1 + 2) * 3",
        "ARRAY[1, 2]::integer[]",
        "CASE WHEN n > 0 THEN 'a' ELSE NULL END",
    ],
)
def test_a_kept_tree_is_the_tree_of_its_text(default: str) -> None:
    """A dump's defaults and predicates keep the tree they were read from, for the rules: it must
    be the tree that parsing their text gives (what a live database's text gives)."""
    statement = expr.loads(
        parse_sql_json(f"CREATE TABLE t (n int, name text, deleted_at date, c text DEFAULT ({default}))")
    )
    column = statement["stmts"][0]["stmt"]["CreateStmt"]["tableElts"][-1]["ColumnDef"]
    node = column["constraints"][0]["Constraint"]["raw_expr"]
    expr._PARSED.clear()
    text = expr.deparse_expression(node)
    assert expr._PARSED[text] is node
    expr._PARSED.clear()
    assert _without_locations(node) == _without_locations(expr.parse(text))


def test_parse_many_leaves_a_bad_batch_to_parse() -> None:
    expr._PARSED.clear()
    expr.parse_many(["1 +", "now()"])  # the parser rejects the batch
    assert "now()" not in expr._PARSED
    assert expr.current_time_spelling("now()") == "now()"


# ---- objects a dump and its database must describe alike -----------------------------------------


def test_identity_columns_have_their_sequence_and_dropped_columns_lose_it() -> None:
    catalog = sqlfile.load_text(
        "CREATE SCHEMA s;\n"
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, n bigserial, gone serial);\n"
        "CREATE TABLE u (id bigint NOT NULL);\n"
        "ALTER TABLE u ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME s.u_ids START WITH 1);\n"
        "ALTER TABLE t DROP COLUMN gone;\n",
        "f.sql",
    )
    assert {(q.schema, q.name, q.owned_by) for q in catalog.sequences} == {
        ("public", "t_id_seq", ("t", "id")),
        ("public", "t_n_seq", ("t", "n")),
        ("s", "u_ids", ("u", "id")),
    }
    u = catalog.table("public", "u")
    assert u is not None
    assert u.columns[0].identity == "by default"


def test_an_attached_partition_is_described_by_its_parent() -> None:
    catalog = sqlfile.load_text(
        "CREATE TABLE p (id int, PRIMARY KEY (id)) PARTITION BY RANGE (id);\n"
        "CREATE TABLE p_1 (id int NOT NULL);\n"
        "ALTER TABLE ONLY p ATTACH PARTITION p_1 FOR VALUES FROM (0) TO (10);\n"
        "CREATE TABLE p_2 PARTITION OF p FOR VALUES FROM (10) TO (20);\n",
        "f.sql",
    )
    assert [t.name for t in catalog.tables] == ["p"]


def test_function_arguments_are_their_call_signature() -> None:
    catalog = sqlfile.load_text(
        "CREATE FUNCTION f(a varchar(10), OUT b int, INOUT c numeric(5,2), VARIADIC d int[]) "
        "LANGUAGE sql AS $$ SELECT 1, 2.0 $$;\n",
        "f.sql",
    )
    assert [(f.name, f.arguments) for f in catalog.functions] == [
        ("f", "character varying, numeric, integer[]")
    ]
