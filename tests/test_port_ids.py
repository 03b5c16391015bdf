"""The port's id function: the SQL forms and the Python form agree, and the ids are valid UUIDv7."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from veza_db.port import ids

KEYS = [0, 1, 2, 9, 10, 255, 256, 65_535, 2**31 - 1, 2**31, 10**12, 2**47]
TABLES = ["track_plays", "users", 'Weird "name" é', "a:b"]


def test_sql_and_python_ids_are_equal(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA veza_port")
        conn.execute(ids.FUNCTION_SQL.encode())
        for table in TABLES:
            for key in KEYS:
                inline = conn.execute(
                    sql.SQL("SELECT {}").format(ids.key_sql(table, sql.Literal(key)))
                ).fetchone()
                function = conn.execute("SELECT veza_port.id_for_key(%s, %s)", (table, key)).fetchone()
                expected = ids.id_for_key(table, key)
                assert inline == function == (expected,), (table, key)
            parts: list[sql.Composable] = [sql.Literal(7), sql.Literal("x y"), sql.Literal(uuid.UUID(int=5))]
            composite = conn.execute(sql.SQL("SELECT {}").format(ids.composite_sql(table, parts))).fetchone()
            assert composite == (ids.id_for_composite(table, "7", "x y", str(uuid.UUID(int=5))),)
        assert conn.execute(
            sql.SQL("SELECT {}").format(ids.key_sql("t", sql.SQL("NULL::bigint")))
        ).fetchone() == (None,)


def test_ids_are_version_7_in_key_order() -> None:
    made = [ids.id_for_key("track_plays", key) for key in KEYS]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in made)
    assert made == sorted(made)  # the timestamp field follows the old key
    assert int.from_bytes(made[1].bytes[:6], "big") == ids.EPOCH_MS + 1
    assert ids.id_for_key("a", 1) != ids.id_for_key("b", 1)  # the table is part of the id
