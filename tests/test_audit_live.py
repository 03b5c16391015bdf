"""The live loader on a schema with every kind of object it reads: what it reads equals what the
dump of the same database says, and the shortcuts its catalog queries take hold on every server."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import Server
from tests.helpers import pg_dump_schema, query, run_sql
from veza_db import policy
from veza_db.audit import engine
from veza_db.catalog import live, sqlfile
from veza_db.catalog.model import Catalog
from veza_db.dburl import parse as parse_url

RICH = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE SCHEMA billing;
CREATE TABLE public.parent (id int PRIMARY KEY, code text, r int4range) PARTITION BY RANGE (id);
CREATE TABLE public.parent_1 PARTITION OF public.parent FOR VALUES FROM (0) TO (100);
CREATE TABLE public.codes (code text UNIQUE);
CREATE TABLE public.child (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id int REFERENCES public.parent_1 (id) ON DELETE SET NULL,
    pcode text REFERENCES public.codes (code) ON UPDATE CASCADE,
    label text GENERATED ALWAYS AS (upper(pcode) || '-' || id::text) STORED,
    "Mixed Case" varchar(20) DEFAULT 'x'::character varying,
    arr int[] DEFAULT '{1,2}',
    ts timestamp(3) DEFAULT now(),
    d numeric(10,2) DEFAULT 1.5,
    during tstzrange,
    CHECK (d > 0),
    CONSTRAINT ck_two CHECK (length("Mixed Case") < 10 AND d < 100),
    EXCLUDE USING gist (id WITH =, during WITH &&)
);
CREATE INDEX idx_expr ON public.child (lower("Mixed Case"), id) WHERE d > 1;
CREATE UNIQUE INDEX uq_partial ON public.child (pcode) INCLUDE (d) WHERE label IS NOT NULL;
CREATE INDEX idx_hash ON public.child USING hash (pcode);
CREATE SEQUENCE public.orphan_seq;
CREATE SEQUENCE public.owned_seq OWNED BY public.child.d;
CREATE TABLE billing.invoices (
    id serial PRIMARY KEY,
    number int DEFAULT nextval('public.orphan_seq'),
    child_id bigint REFERENCES public.child ON DELETE RESTRICT,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE public.to_parent (id int REFERENCES public.parent (id));
COMMENT ON TABLE public.child IS 'Children';
COMMENT ON COLUMN public.child."Mixed Case" IS 'col comment';
CREATE MATERIALIZED VIEW public.mv AS SELECT id FROM public.child;
CREATE INDEX ON public.mv (id);
CREATE VIEW billing.v AS SELECT 1 AS x;
CREATE FUNCTION public.f(a int, OUT b int) LANGUAGE sql AS $$ SELECT a $$;
CREATE FUNCTION billing.total(amount numeric(10,2), VARIADIC rest int[]) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE PROCEDURE billing.settle(IN a int, INOUT b text, OUT c int) LANGUAGE sql AS $$ SELECT 1, 2 $$;
CREATE FUNCTION public.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_child BEFORE INSERT ON public.child FOR EACH ROW EXECUTE FUNCTION public.trg();
ALTER TABLE public.child DROP COLUMN arr;
CREATE TABLE public.fk_multi (a int, b text, FOREIGN KEY (b) REFERENCES public.codes (code),
    UNIQUE (b, a), PRIMARY KEY (a, b));
CREATE TABLE public.empty ();
ALTER TABLE public.empty ADD CONSTRAINT ck_empty CHECK (true);
"""


@pytest.fixture
def rich(any_server: Server, tmp_path: Path) -> tuple[str, Catalog, Catalog]:
    """A database holding every kind of object, its live model and its dump's model."""
    name = any_server.create_database("rich")
    url = any_server.url(name)
    run_sql(url, RICH)
    dump = pg_dump_schema(url, any_server.bin_dir, tmp_path / "rich.sql")
    return url, live.load(parse_url(url)), sqlfile.load_file(dump)


def _shape(catalog: Catalog) -> dict[str, object]:
    """What a database and its dump must agree on (expression text aside: pg_dump and the
    parser's printer spell some expressions differently)."""
    return {
        "schemas": catalog.schemas,
        "tables": [
            (
                t.qualified,
                [(c.name, c.type, c.nullable, c.identity, c.comment, c.default is None) for c in t.columns],
                t.primary_key,
                t.uniques,
                t.foreign_keys,
                [c.name for c in t.checks],
                [(i.name, [k if not k.startswith("(") else "(...)" for k in i.columns], i.unique, i.method) for i in t.indexes],
                [(g.name, g.function) for g in t.triggers],
                t.comment,
            )
            for t in sorted(catalog.tables, key=lambda t: (t.schema, t.name))
        ],
        "sequences": sorted(catalog.sequences, key=lambda s: (s.schema, s.name)),
        "views": sorted(catalog.views, key=lambda v: (v.schema, v.name)),
        "functions": sorted((f.schema, f.name, f.arguments) for f in catalog.functions),
    }  # fmt: skip


def test_live_model_equals_the_dump_model(rich: tuple[str, Catalog, Catalog]) -> None:
    _, from_live, from_dump = rich
    assert _shape(from_live) == _shape(from_dump)


def test_live_reads_every_kind_of_object(rich: tuple[str, Catalog, Catalog]) -> None:
    _, catalog, _ = rich
    child = catalog.table("public", "child")
    assert child is not None
    assert [c.name for c in child.columns] == [
        "id",
        "parent_id",
        "pcode",
        "label",
        "Mixed Case",
        "ts",
        "d",
        "during",
    ]
    assert child.column("label").default == "((upper(pcode) || '-'::text) || (id)::text)"  # type: ignore[union-attr]
    assert child.column("Mixed Case").default == "'x'::character varying"  # type: ignore[union-attr]
    assert child.column("id").identity == "always"  # type: ignore[union-attr]
    assert sorted(c.name for c in child.checks) == ["child_d_check", "ck_two"]
    # The exclusion constraint's index is not an index of its own; INCLUDE columns are not keys.
    assert [(i.name, i.columns, i.unique, i.predicate, i.method) for i in child.indexes] == [
        ("idx_expr", ('(lower("Mixed Case"::text))', "id"), False, "(d > (1)::numeric)", "btree"),
        ("idx_hash", ("pcode",), False, None, "hash"),
        ("uq_partial", ("pcode",), True, "(label IS NOT NULL)", "btree"),
    ]
    fks = {
        fk.name: (fk.ref_schema, fk.ref_table, fk.ref_columns, fk.on_delete, fk.on_update)
        for fk in child.foreign_keys
    }
    assert fks == {
        "child_parent_id_fkey": ("public", "parent_1", ("id",), "SET NULL", "NO ACTION"),  # a partition
        "child_pcode_fkey": ("public", "codes", ("code",), "NO ACTION", "CASCADE"),
    }
    multi = catalog.table("public", "fk_multi")
    assert multi is not None
    assert multi.primary_key is not None
    assert multi.primary_key.columns == ("a", "b")
    assert [u.columns for u in multi.uniques] == [("b", "a")]
    owners = {s.name: s.owned_by for s in catalog.sequences}
    assert owners == {
        "child_id_seq": ("child", "id"),
        "invoices_id_seq": ("invoices", "id"),
        "orphan_seq": None,
        "owned_seq": ("child", "d"),
    }
    assert [(v.schema, v.name, v.materialized) for v in catalog.views] == [
        ("billing", "v", False),
        ("public", "mv", True),
    ]
    assert [t.name for t in catalog.tables if t.schema == "public"] == [
        "child", "codes", "empty", "fk_multi", "parent", "to_parent",
    ]  # fmt: skip


def test_live_and_dump_give_the_same_findings(rich: tuple[str, Catalog, Catalog]) -> None:
    url, from_live, from_dump = rich
    chosen = policy.default()
    live_findings = engine.run(from_live, chosen, kind="database", target=url).findings
    dump_findings = engine.run(from_dump, chosen, kind="file", target="dump").findings
    assert sorted((f.rule, f.object) for f in live_findings) == sorted(
        (f.rule, f.object) for f in dump_findings
    )
    assert live_findings  # the schema breaks several rules


def test_defaults_print_the_same_without_their_table(any_database: str) -> None:
    """The columns query prints a default without its table unless the column is generated: the
    text is the same, since only a generated column's expression can name columns."""
    run_sql(any_database, RICH + (Path(__file__).parent / "fixtures" / "lab_schema.sql").read_text())
    differing = query(
        any_database,
        "SELECT a.attrelid::regclass::text, a.attname, pg_get_expr(ad.adbin, ad.adrelid), pg_get_expr(ad.adbin, 0)"
        " FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum"
        " WHERE CASE WHEN a.attgenerated = '' THEN"
        " pg_get_expr(ad.adbin, ad.adrelid) IS DISTINCT FROM pg_get_expr(ad.adbin, 0) END",
    )
    assert differing == []
    assert query(any_database, "SELECT count(*) > 20 FROM pg_attrdef") == [(True,)]


def test_names_outside_the_tables_read_are_asked_for(database: str) -> None:
    run_sql(database, "CREATE TABLE public.a (id int PRIMARY KEY, label text UNIQUE)")
    oid = query(database, "SELECT 'public.a'::regclass::oid::bigint")[0][0]
    rows: live.Rows = {
        "relations": [],
        "columns": [],
        "constraints": [(0, "fk", "f", None, oid, [1, 2], "a", "a", None, 0)],
        "sequences": [],
    }
    names = live._Names(rows)
    assert names.wanted_relations == {oid}
    assert names.wanted_columns == {oid}
    with psycopg.connect(database) as conn, conn.cursor() as cur:
        names.complete(cur)
    assert names.relations[oid] == ("public", "a")  # type: ignore[index]
    assert names.columns_of(oid, [2, 1]) == ("label", "id")  # type: ignore[arg-type]


@pytest.mark.parametrize("catalog", ["pg_description", "pg_am"])
def test_a_catalog_query_that_fails_is_one_error_and_frees_the_connection(
    database: str, catalog: str
) -> None:
    """The queries run on a reading thread while the columns are built: an error in the first
    query or in a later one is still one DatabaseError, and the connection is free afterwards."""
    import threading

    from veza_db.errors import DatabaseError

    run_sql(database, "CREATE TABLE public.a (id int PRIMARY KEY DEFAULT 1, note text)")
    with psycopg.connect(database, autocommit=True) as locker, psycopg.connect(database) as conn:
        conn.execute("SET lock_timeout = '100ms'")
        # A parallel worker starting up would wait for pg_am without a timeout.
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.commit()
        threads = threading.active_count()
        with locker.transaction():
            # pg_description is read by the first query (columns), pg_am only by a later one
            # (indexes), when the columns are being built.
            locker.execute(f"LOCK TABLE pg_catalog.{catalog} IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(DatabaseError) as raised:
                live.load_connection(conn, "the test database")
        assert str(raised.value) == (
            "cannot read the catalog of the test database: canceling statement due to lock timeout"
        )
        assert threading.active_count() == threads
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.commit()
        assert [t.name for t in live.load_connection(conn, "again").tables] == ["a"]


def test_a_failure_while_building_cancels_the_query_under_way(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When building the model fails, the reading thread's query is cancelled rather than waited
    for: here it waits for a lock that is not released while the loader runs."""
    import threading
    import time

    def broken(rows: list[tuple[object, ...]]) -> None:
        time.sleep(0.5)  # the reading thread has sent the next query, which waits for the lock
        raise RuntimeError("the build failed")

    run_sql(database, "CREATE TABLE public.a (id int PRIMARY KEY)")
    monkeypatch.setattr(live, "_columns", broken)
    with psycopg.connect(database, autocommit=True) as locker, psycopg.connect(database) as conn:
        threads = threading.active_count()
        with locker.transaction():
            # Read by the second query (relations), not by the first (columns).
            locker.execute("LOCK TABLE pg_catalog.pg_depend IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(RuntimeError, match="the build failed"):
                live.load_connection(conn, "the test database")
            assert time.monotonic() - started < 10
        assert threading.active_count() == threads
        assert conn.execute("SELECT 1").fetchone() == (1,)
