"""The canonical V1 schema, migrated on PostgreSQL 18 (embedded) and 15: catalog checks and behaviour."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import FIXTURES, Server
from tests.helpers import query, run_sql
from veza_db import api
from veza_db.migrate import discover, sumfile

INVENTORY = {
    "users", "roles", "permissions", "role_permissions", "user_roles", "tracks", "playlists",
    "playlist_tracks", "user_sessions", "refresh_tokens", "password_reset_tokens",
    "email_verification_tokens", "track_versions", "hls_streams", "hls_transcode_queue",
    "bitrate_adaptation_logs", "playback_analytics", "track_plays", "track_history", "track_likes",
    "track_comments", "track_shares", "playlist_collaborators", "playlist_follows", "rooms", "audit_logs",
}  # fmt: skip
SOFT = {
    "users", "tracks", "playlists", "playlist_tracks", "track_versions", "track_comments",
    "playlist_collaborators", "rooms",
}  # fmt: skip
# The runner's own bookkeeping: golang-migrate's table must stay exactly as Go expects it.
RUNNER_TABLES = {"schema_migrations", "schema_migrations_history"}
V1_TABLES_SQL = (
    "SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
    "AND c.relname NOT IN ('schema_migrations', 'schema_migrations_history')"
)


def names(url: str, text: str) -> set[str]:
    return {str(row[0]) for row in query(url, text)}


# ---- catalog checks -------------------------------------------------------------------------


def test_up_creates_every_inventory_table_in_public_only(any_server: Server) -> None:
    name = any_server.create_database()
    url = any_server.url(name)
    try:
        before = names(url, "SELECT nspname FROM pg_namespace")
        status = api.up(url)
        assert status.current == status.head == discover.discover(discover.package_dir())[-1].version
        tables = names(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert tables - RUNNER_TABLES == INVENTORY
        assert names(url, "SELECT nspname FROM pg_namespace") == before
        outside = query(
            url,
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast') "
            "UNION ALL SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname NOT IN ('public', 'pg_catalog', 'information_schema')",
        )
        assert outside == []
    finally:
        any_server.drop_database(name)


def test_every_primary_key_is_a_single_uuid_named_id(any_v1_database: str) -> None:
    rows = query(
        any_v1_database,
        f"""
        SELECT t.oid::regclass::text, array_agg(a.attname ORDER BY a.attnum), array_agg(format_type(a.atttypid, a.atttypmod))
        FROM ({V1_TABLES_SQL}) t
        LEFT JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'p'
        LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (k.conkey)
        GROUP BY t.oid
        """,
    )
    assert len(rows) == len(INVENTORY)
    bad = [row for row in rows if row[1] != ["id"] or row[2] != ["uuid"]]
    assert bad == []


def test_no_sequence_and_no_identity_column(any_v1_database: str) -> None:
    assert query(any_v1_database, "SELECT relname FROM pg_class WHERE relkind = 'S'") == []
    assert (
        query(any_v1_database, "SELECT attname FROM pg_attribute WHERE attidentity <> '' AND attnum > 0")
        == []
    )
    assert (
        query(
            any_v1_database,
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_default LIKE '%nextval%'",
        )
        == []
    )


def test_every_timestamp_column_is_timestamptz(any_v1_database: str) -> None:
    rows = query(
        any_v1_database,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type IN ('timestamp without time zone', 'time without time zone', 'date')",
    )
    assert rows == []


def test_created_at_and_updated_at_contract(any_v1_database: str) -> None:
    rows = query(
        any_v1_database,
        f"""
        SELECT t.oid::regclass::text, a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
               format_type(a.atttypid, a.atttypmod)
        FROM ({V1_TABLES_SQL}) t
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname IN ('created_at', 'updated_at')
        LEFT JOIN pg_attrdef d ON d.adrelid = t.oid AND d.adnum = a.attnum
        """,
    )
    assert {r[0] for r in rows if r[1] == "created_at"} == INVENTORY
    bad = [r for r in rows if (r[2], r[3], r[4]) != (True, "CURRENT_TIMESTAMP", "timestamp with time zone")]
    assert bad == []
    # Every table with updated_at has the shared trigger keeping it current.
    with_updated = {r[0] for r in rows if r[1] == "updated_at"}
    triggered = names(
        any_v1_database,
        "SELECT tgrelid::regclass::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE NOT t.tgisinternal AND p.proname = 'set_updated_at'",
    )
    assert with_updated
    assert with_updated == triggered


def test_no_foreign_key_has_no_action_and_set_null_columns_are_nullable(any_v1_database: str) -> None:
    rules = query(any_v1_database, "SELECT conname, confdeltype FROM pg_constraint WHERE contype = 'f'")
    assert rules
    assert [r for r in rules if r[1] == "a"] == []
    assert {r[1] for r in rules} >= {"c", "n", "r"}
    not_null_set_null = query(
        any_v1_database,
        "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = ANY (c.conkey) WHERE c.contype = 'f' AND c.confdeltype = 'n' AND a.attnotnull",
    )
    assert not_null_set_null == []


def test_every_foreign_key_column_leads_an_index(any_v1_database: str) -> None:
    unindexed = query(
        any_v1_database,
        """
        SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
        WHERE c.contype = 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid AND i.indpred IS NULL
              AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] @> c.conkey
              AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] <@ c.conkey
        )
        """,
    )
    assert unindexed == []


def test_soft_delete_tables_have_deleted_at_and_live_only_uniqueness(any_v1_database: str) -> None:
    with_deleted = names(
        any_v1_database,
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'deleted_at' AND data_type = 'timestamp with time zone' AND is_nullable = 'YES'",
    )
    assert with_deleted >= SOFT
    ignoring = query(
        any_v1_database,
        """
        SELECT i.indexrelid::regclass::text FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE i.indisunique AND NOT i.indisprimary AND t.relname = ANY (%s)
          AND coalesce(pg_get_expr(i.indpred, i.indrelid), '') NOT LIKE '%%deleted_at IS NULL%%'
        """.replace("%s", "ARRAY[" + ",".join(f"'{t}'" for t in sorted(SOFT)) + "]"),
    )
    assert ignoring == []


def test_every_table_has_a_comment(any_v1_database: str) -> None:
    rows = query(
        any_v1_database,
        f"SELECT t.oid::regclass::text, obj_description(t.oid, 'pg_class') FROM ({V1_TABLES_SQL}) t",
    )
    assert [r[0] for r in rows if not r[1]] == []


def test_names_follow_the_convention(any_v1_database: str) -> None:
    prefixes = {"p": "pk_", "f": "fk_", "u": "uq_", "c": "ck_"}
    constraints = query(
        any_v1_database,
        f"SELECT c.conname, c.contype, t.relname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        f"WHERE c.conrelid IN ({V1_TABLES_SQL}) AND c.contype IN ('p', 'f', 'u', 'c')",
    )
    bad = [r for r in constraints if not str(r[0]).startswith(f"{prefixes[str(r[1])]}{r[2]}")]
    assert bad == []
    indexes = query(
        any_v1_database,
        f"SELECT ic.relname, i.indisunique, i.indisprimary, t.relname FROM pg_index i "
        f"JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        f"WHERE i.indrelid IN ({V1_TABLES_SQL})",
    )
    bad_idx = [
        r for r in indexes
        if not str(r[0]).startswith(("pk_" if r[2] else "uq_" if r[1] else "idx_") + str(r[3]))
        or len(str(r[0]).encode()) > 63 or str(r[0]) != str(r[0]).lower()
    ]  # fmt: skip
    assert bad_idx == []


def test_value_rules_are_named_and_commented_domains(any_v1_database: str) -> None:
    domains = query(
        any_v1_database,
        """
        SELECT t.typname, obj_description(t.oid, 'pg_type'), array_agg(c.conname ORDER BY c.conname)
        FROM pg_type t JOIN pg_constraint c ON c.contypid = t.oid AND c.contype = 'c'
        WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'd'
        GROUP BY t.oid, t.typname
        """,
    )
    assert len(domains) >= 40
    assert [d[0] for d in domains if not d[1]] == []
    bad = [
        (d[0], n)
        for d in domains
        for n in list(d[2])  # type: ignore[call-overload]
        if n != f"ck_{d[0]}" and not n.startswith(f"ck_{d[0]}_")
    ]
    assert bad == []
    # Every domain is used by some column, and only rules between columns are table CHECKs.
    unused = query(
        any_v1_database,
        "SELECT t.typname FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'd' "
        "AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.atttypid = t.oid AND NOT a.attisdropped)",
    )
    assert unused == []
    one_column_checks = query(
        any_v1_database,
        f"SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid IN ({V1_TABLES_SQL}) "
        "AND cardinality(conkey) = 1",
    )
    assert one_column_checks == []


def test_every_column_stores_a_type_whose_binary_form_any_major_reads(any_v1_database: str) -> None:
    # The port moves rows in COPY's binary format, which carries no type names: the source's send
    # function writes what the target's receive function reads. These types' binary forms are
    # the same from PostgreSQL 9.4 to 18. Not so, among built-in types: interval (17 added
    # infinity, which 15 and 16 read as a finite value), the reg* types (a bare OID) and aclitem
    # (no binary form); a V1 column of another type needs a look at veza_db.port.run first.
    portable = {
        "uuid",
        "timestamp with time zone",
        "integer",
        "bigint",
        "text",
        "bytea",
        "jsonb",
        "inet",
        "boolean",
    }
    stored = query(
        any_v1_database,
        f"""
        SELECT DISTINCT format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END, NULL)
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid IN ({V1_TABLES_SQL}) AND a.attnum > 0 AND NOT a.attisdropped
        """,
    )
    assert {str(r[0]) for r in stored} - portable == set()


def test_no_secret_is_stored_in_clear(any_v1_database: str) -> None:
    columns = query(
        any_v1_database,
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'",
    )
    words = ("token", "secret", "password", "api_key")
    clear = [c for c in columns if any(w in str(c[1]) for w in words) and not str(c[1]).endswith("_hash")]
    assert clear == []
    hashed = {str(c[0]) for c in columns if c[1] == "token_hash"}
    assert hashed >= {"refresh_tokens", "password_reset_tokens", "email_verification_tokens"}


# ---- behaviour ------------------------------------------------------------------------------


def _user(conn: psycopg.Connection[tuple[object, ...]], name: str, email: str | None = None) -> str:
    row = conn.execute(
        "INSERT INTO users (username, email, password_hash) VALUES (%s, %s, 'argon2id$x') RETURNING id",
        (name, email or f"{name}@example.com"),
    ).fetchone()
    assert row is not None
    return str(row[0])


def _one(conn: psycopg.Connection[tuple[object, ...]], text: str, *params: object) -> object:
    row = conn.execute(text.encode(), params).fetchone()
    assert row is not None
    return row[0]


def test_deleting_a_user_removes_what_it_owns_and_keeps_what_refers_to_it(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        u1, u2, u3 = _user(conn, "alice"), _user(conn, "bob"), _user(conn, "carol")
        t2 = _one(
            conn,
            "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) VALUES (%s, 'Song', 'k/1', 'mp3', 10) RETURNING id",
            u2,
        )
        t1 = _one(
            conn,
            "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) VALUES (%s, 'Mine', 'k/2', 'mp3', 10) RETURNING id",
            u1,
        )
        p2 = _one(conn, "INSERT INTO playlists (user_id, title) VALUES (%s, 'Mix') RETURNING id", u2)
        role = _one(conn, "INSERT INTO roles (name) VALUES ('moderator') RETURNING id")
        s1 = _one(
            conn,
            "INSERT INTO user_sessions (user_id, expires_at) VALUES (%s, CURRENT_TIMESTAMP + interval '1 day') RETURNING id",
            u1,
        )
        owned = [
            (
                "INSERT INTO refresh_tokens (user_id, session_id, token_hash, expires_at) VALUES (%s, %s, sha256('r'::bytea), CURRENT_TIMESTAMP + interval '1 day')",
                (u1, s1),
            ),
            (
                "INSERT INTO password_reset_tokens (user_id, token_hash, expires_at) VALUES (%s, sha256('p'::bytea), CURRENT_TIMESTAMP + interval '1 hour')",
                (u1,),
            ),
            (
                "INSERT INTO email_verification_tokens (user_id, email, token_hash, expires_at) VALUES (%s, 'a@example.com', sha256('e'::bytea), CURRENT_TIMESTAMP + interval '1 hour')",
                (u1,),
            ),
            ("INSERT INTO track_likes (user_id, track_id) VALUES (%s, %s)", (u1, t2)),
            ("INSERT INTO playlist_follows (user_id, playlist_id) VALUES (%s, %s)", (u1, p2)),
            ("INSERT INTO track_history (user_id, track_id) VALUES (%s, %s)", (u1, t2)),
            (
                "INSERT INTO playlist_collaborators (playlist_id, user_id, invited_by) VALUES (%s, %s, %s)",
                (p2, u1, u2),
            ),
            ("INSERT INTO track_comments (track_id, user_id, body) VALUES (%s, %s, 'nice')", (t2, u1)),
            ("INSERT INTO user_roles (user_id, role_id) VALUES (%s, %s)", (u1, role)),
        ]
        referring = [
            ("INSERT INTO track_plays (track_id, user_id) VALUES (%s, %s)", (t2, u1)),
            ("INSERT INTO playback_analytics (track_id, user_id, started_at) VALUES (%s, %s, CURRENT_TIMESTAMP)", (t2, u1)),
            ("INSERT INTO bitrate_adaptation_logs (track_id, user_id, session_id, to_bitrate_kbps, reason) VALUES (%s, %s, %s, 320, 'initial')", (t2, u1, s1)),
            ("INSERT INTO audit_logs (actor_id, action, entity_type) VALUES (%s, 'login', 'user')", (u1,)),
            ("INSERT INTO playlist_tracks (playlist_id, track_id, added_by, position) VALUES (%s, %s, %s, 0)", (p2, t2, u1)),
            ("INSERT INTO user_roles (user_id, role_id, granted_by) VALUES (%s, %s, %s)", (u2, role, u1)),
            ("INSERT INTO playlist_collaborators (playlist_id, user_id, invited_by) VALUES (%s, %s, %s)", (p2, u3, u1)),
            ("INSERT INTO track_shares (track_id, shared_by, channel) VALUES (%s, %s, 'link')", (t2, u1)),
            ("INSERT INTO rooms (created_by, name) VALUES (%s, 'lobby')", (u1,)),
            ("INSERT INTO track_versions (track_id, created_by, version_number, storage_key, format, file_size_bytes) VALUES (%s, %s, 1, 'k/v1', 'mp3', 10)", (t2, u1)),
        ]  # fmt: skip
        for text, params in owned + referring:
            conn.execute(text.encode(), params)

        conn.execute("DELETE FROM users WHERE id = %s", (u1,))

        for table in ("user_sessions", "refresh_tokens", "password_reset_tokens", "email_verification_tokens",
                      "track_likes", "playlist_follows", "track_history", "track_comments"):  # fmt: skip
            assert _one(conn, f"SELECT count(*) FROM {table} WHERE user_id = %s", u1) == 0, table
        assert _one(conn, "SELECT count(*) FROM tracks WHERE id = %s", t1) == 0  # owned by the uploader
        assert _one(conn, "SELECT count(*) FROM playlist_collaborators WHERE user_id = %s", u1) == 0
        assert _one(conn, "SELECT count(*) FROM user_roles WHERE user_id = %s", u1) == 0
        survivors = {
            "track_plays": "user_id", "playback_analytics": "user_id", "bitrate_adaptation_logs": "user_id",
            "audit_logs": "actor_id", "playlist_tracks": "added_by", "user_roles": "granted_by",
            "playlist_collaborators": "invited_by", "track_shares": "shared_by", "rooms": "created_by",
            "track_versions": "created_by",
        }  # fmt: skip
        for table, column in survivors.items():
            assert _one(conn, f"SELECT count(*) FROM {table} WHERE {column} IS NULL") == 1, table
        assert _one(conn, "SELECT session_id FROM bitrate_adaptation_logs") is None  # session went with u1


def test_value_rules_refuse_bad_values_on_insert_and_update(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "judy")
        track = _one(conn, "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) VALUES (%s, 'T', 'k', 'mp3', 1) RETURNING id", user)  # fmt: skip
        refused = [
            ("INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) VALUES (%s, '', 'k', 'mp3', 1)", (user,)),
            ("INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes, visibility) VALUES (%s, 'T', 'k', 'mp3', 1, 'secret')", (user,)),
            ("UPDATE tracks SET like_count = like_count - 1 WHERE id = %s", (track,)),
            ("UPDATE tracks SET format = 'midi' WHERE id = %s", (track,)),
            ("UPDATE users SET email = 'no-at-sign' WHERE id = %s", (user,)),
            ("INSERT INTO track_plays (track_id, ms_played, source) VALUES (%s, -1, 'radio')", (track,)),
            ("INSERT INTO playback_analytics (track_id, started_at, country_code) VALUES (%s, CURRENT_TIMESTAMP, 'fr')", (track,)),
            ("INSERT INTO audit_logs (action, entity_type, metadata) VALUES ('x', 'y', '[]')", ()),
            ("INSERT INTO password_reset_tokens (user_id, token_hash, expires_at) VALUES (%s, '\\x00', CURRENT_TIMESTAMP + interval '1 hour')", (user,)),
        ]  # fmt: skip
        for text, params in refused:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(text.encode(), params)
        # Rules between columns are table CHECKs and hold too.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO playback_analytics (track_id, started_at, ended_at) "
                "VALUES (%s, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP - interval '1 second')",
                (track,),
            )
        assert _one(conn, "SELECT like_count FROM tracks WHERE id = %s", track) == 0
        assert _one(conn, "SELECT count(*) FROM track_plays") == 0


def test_a_refresh_token_is_exchanged_once_and_its_successor_names_it(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "kim")
        session = _one(conn, "INSERT INTO user_sessions (user_id, expires_at) VALUES (%s, CURRENT_TIMESTAMP + interval '1 day') RETURNING id", user)  # fmt: skip
        issue = (
            "INSERT INTO refresh_tokens (user_id, session_id, token_hash, expires_at, replaces_id) "
            "VALUES (%s, %s, sha256(%s::bytea), CURRENT_TIMESTAMP + interval '1 day', %s) RETURNING id"
        )
        first = _one(conn, issue, user, session, b"one", None)
        second = _one(conn, issue, user, session, b"two", first)
        # A second exchange of the first token (a replay, or a concurrent refresh) is refused by
        # the database, and the refresh's own ON CONFLICT form issues nothing.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(issue.encode(), (user, session, b"three", first))
        replay = issue.replace(" RETURNING id", " ON CONFLICT (replaces_id) DO NOTHING RETURNING id")
        assert conn.execute(replay.encode(), (user, session, b"three", first)).fetchall() == []
        # Reuse detection: the first token has a successor, found through replaces_id; the
        # exchange left the first token's row as it was.
        assert _one(conn, "SELECT id FROM refresh_tokens WHERE replaces_id = %s", first) == second
        assert _one(conn, "SELECT revoked_at IS NULL AND created_at = updated_at FROM refresh_tokens WHERE id = %s", first)  # fmt: skip
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE refresh_tokens SET replaces_id = id WHERE id = %s", (second,))
        # Purging the older token keeps the newer one, its link cleared (SET NULL).
        conn.execute("DELETE FROM refresh_tokens WHERE id = %s", (first,))
        assert _one(conn, "SELECT replaces_id FROM refresh_tokens WHERE id = %s", second) is None


def test_restrict_refuses_deleting_an_assigned_role(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "dave")
        role = _one(conn, "INSERT INTO roles (name) VALUES ('artist') RETURNING id")
        conn.execute("INSERT INTO user_roles (user_id, role_id) VALUES (%s, %s)", (user, role))
        # PostgreSQL 18 reports RESTRICT with its own SQLSTATE (23001); 15 reports 23503.
        with pytest.raises((psycopg.errors.RestrictViolation, psycopg.errors.ForeignKeyViolation)):
            conn.execute("DELETE FROM roles WHERE id = %s", (role,))
        assert _one(conn, "SELECT count(*) FROM roles") == 1


# Denormalised counters: columns whose change is not a change of the row's own data.
COUNTERS = {"tracks": {"play_count", "like_count"}}


def test_a_counter_update_leaves_updated_at_and_any_other_column_moves_it(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "fay")
        track = _one(conn, "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) VALUES (%s, 'T', 'k', 'mp3', 1) RETURNING id", user)  # fmt: skip
        stamp = "SELECT updated_at FROM tracks WHERE id = %s"
        first = _one(conn, stamp, track)
        time.sleep(0.01)
        conn.execute("UPDATE tracks SET like_count = like_count + 1, play_count = play_count + 2 WHERE id = %s", (track,))  # fmt: skip
        assert _one(conn, stamp, track) == first
        conn.execute("UPDATE tracks SET like_count = like_count - 1, title = 'T2' WHERE id = %s", (track,))
        assert _one(conn, stamp, track) > first  # type: ignore[operator]
        # The trigger's column list is every column but the counters and updated_at itself, so a
        # column added to tracks later cannot be left out of it unnoticed.
        listed = {
            str(r[0])
            for r in conn.execute(
                "SELECT a.attname FROM pg_trigger t CROSS JOIN unnest(t.tgattr) AS k (attnum) "
                "JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.attnum "
                "WHERE t.tgname = 'trg_tracks_updated_at'"
            )
        }
        columns = {
            str(r[0])
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'tracks'::regclass AND attnum > 0 AND NOT attisdropped"
            )
        }
        assert listed == columns - COUNTERS["tracks"] - {"updated_at"}
        # Every other updated_at trigger fires on any UPDATE.
        narrowed = {
            str(r[0])
            for r in conn.execute(
                "SELECT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal AND cardinality(tgattr) > 0"
            )
        }
        assert narrowed == set(COUNTERS)


def test_updated_at_moves_on_update_and_created_at_does_not(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "erin")
        created, updated = conn.execute(
            "SELECT created_at, updated_at FROM users WHERE id = %s", (user,)
        ).fetchone()  # type: ignore[misc]
        time.sleep(0.01)
        conn.execute("UPDATE users SET bio = 'hello', created_at = created_at WHERE id = %s", (user,))
        created2, updated2 = conn.execute(
            "SELECT created_at, updated_at FROM users WHERE id = %s", (user,)
        ).fetchone()  # type: ignore[misc]
    assert created2 == created
    assert updated2 > updated


def test_ids_sort_in_insertion_order(any_v1_database: str) -> None:
    inserted = []
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        for i in range(40):
            inserted.append(str(_one(conn, "INSERT INTO roles (name) VALUES (%s) RETURNING id", f"r{i}")))
            time.sleep(0.001)
        ordered = [str(r[0]) for r in conn.execute("SELECT id FROM roles ORDER BY id")]
        versions = {str(r[0]) for r in conn.execute("SELECT DISTINCT substr(id::text, 15, 1) FROM roles")}
    assert ordered == inserted
    assert versions == {"7"}


def test_soft_deleted_user_frees_username_and_email(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        first = _user(conn, "frank", "Frank@Example.com")
        with pytest.raises(psycopg.errors.UniqueViolation):
            _user(conn, "FRANK", "other@example.com")
        with pytest.raises(psycopg.errors.UniqueViolation):
            _user(conn, "frank2", "frank@example.COM")
        conn.execute("UPDATE users SET deleted_at = CURRENT_TIMESTAMP WHERE id = %s", (first,))
        second = _user(conn, "frank", "frank@example.com")
    assert second != first


def test_a_playlist_holds_one_live_row_per_position(any_v1_database: str) -> None:
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "gina")
        track = _one(conn, "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) VALUES (%s, 'T', 'k', 'mp3', 1) RETURNING id", user)  # fmt: skip
        playlist = _one(conn, "INSERT INTO playlists (user_id, title) VALUES (%s, 'P') RETURNING id", user)
        add = "INSERT INTO playlist_tracks (playlist_id, track_id, position) VALUES (%s, %s, 0) RETURNING id"
        row = _one(conn, add, playlist, track)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(add.encode(), (playlist, track))
        conn.execute("UPDATE playlist_tracks SET deleted_at = CURRENT_TIMESTAMP WHERE id = %s", (row,))
        conn.execute(add.encode(), (playlist, track))
        assert _one(conn, "SELECT count(*) FROM playlist_tracks WHERE playlist_id = %s", playlist) == 2


DEQUEUE = """
WITH next AS (
    SELECT id FROM hls_transcode_queue
    WHERE status = 'queued' AND run_after <= CURRENT_TIMESTAMP
    ORDER BY priority DESC, run_after, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE hls_transcode_queue q
SET status = 'running', attempts = q.attempts + 1, locked_by = %s,
    locked_at = CURRENT_TIMESTAMP, lease_expires_at = CURRENT_TIMESTAMP + interval '1 minute'
FROM next WHERE q.id = next.id
RETURNING q.id
"""


def test_transcode_queue_two_concurrent_workers_never_share_a_job(any_v1_database: str) -> None:
    jobs = 40
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "hank")
        for i in range(jobs):
            track = _one(conn, "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) VALUES (%s, 'T', %s, 'mp3', 1) RETURNING id", user, f"k{i}")  # fmt: skip
            conn.execute(
                "INSERT INTO hls_transcode_queue (track_id, priority) VALUES (%s, %s)", (track, i % 3)
            )
    taken: dict[str, list[str]] = {"w1": [], "w2": []}

    def work(worker: str) -> None:
        with psycopg.connect(any_v1_database) as conn:
            while True:
                with conn.transaction():
                    row = conn.execute(DEQUEUE.encode(), (worker,)).fetchone()
                    if row is None:
                        return
                    time.sleep(0.002)  # hold the row lock while "working"
                    conn.execute("UPDATE hls_transcode_queue SET status = 'succeeded', finished_at = CURRENT_TIMESTAMP, locked_by = NULL, locked_at = NULL, lease_expires_at = NULL WHERE id = %s", (row[0],))  # fmt: skip
                taken[worker].append(str(row[0]))

    threads = [threading.Thread(target=work, args=(w,)) for w in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    all_taken = taken["w1"] + taken["w2"]
    assert len(all_taken) == jobs
    assert len(set(all_taken)) == jobs
    assert taken["w1"]
    assert taken["w2"]
    assert query(any_v1_database, "SELECT status, count(*) FROM hls_transcode_queue GROUP BY 1") == [
        ("succeeded", jobs)
    ]


# ---- down, idempotence, chat, hygiene -------------------------------------------------------

SNAPSHOT_SQL = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n'
UNION ALL SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'trigger', pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'function', pg_get_functiondef(p.oid) FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
UNION ALL SELECT 'comment', c.relname || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '')
  FROM pg_class c WHERE relnamespace = 'public'::regnamespace
UNION ALL SELECT 'column comment', c.relname || '.' || a.attname || ' ' || d.description
  FROM pg_description d JOIN pg_class c ON c.oid = d.objoid JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
  WHERE c.relnamespace = 'public'::regnamespace AND d.objsubid > 0
UNION ALL SELECT 'type', typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype NOT IN ('c', 'b')
UNION ALL SELECT 'sequence', relname FROM pg_class WHERE relkind = 'S'
ORDER BY 1, 2
"""


def test_down_all_leaves_nothing_and_up_again_is_identical(any_server: Server) -> None:
    name = any_server.create_database()
    url = any_server.url(name)
    try:
        api.up(url)
        first = query(url, SNAPSHOT_SQL)
        api.down(url, all_versions=True)
        left = query(
            url,
            """
            SELECT relkind::text, relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
              AND relname NOT LIKE 'schema_migrations%%'
            UNION ALL SELECT 'function', proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
            UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL SELECT 'type', typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
              AND typname NOT LIKE '%%schema_migrations%%'
            """.replace("%%", "%"),
        )
        assert left == []
        api.up(url)
        assert query(url, SNAPSHOT_SQL) == first
    finally:
        any_server.drop_database(name)


def test_chat_schema_init_works_beside_v1_and_up_never_applies_it(any_v1_database: str) -> None:
    assert query(any_v1_database, "SELECT to_regnamespace('chat') IS NULL") == [(True,)]
    init = FIXTURES / "chat_schema_init.sql"
    assert init.parent != discover.package_dir()
    run_sql(any_v1_database, init.read_text())
    with psycopg.connect(any_v1_database, autocommit=True) as conn:
        user = _user(conn, "ivan")
        tables = {
            str(r[0]) for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'chat'")
        }
        assert tables == {"conversations", "messages"}
        columns = {
            str(r[0]): str(r[1])
            for r in conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'chat'"
            )
        }
        assert columns["id"] == "uuid"
        refs = conn.execute(
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
            "AND connamespace = 'chat'::regnamespace AND confrelid = 'public.users'::regclass"
        ).fetchall()
        assert refs
        assert user
    # V1 is still exactly at head and `up` leaves chat alone.
    assert api.up(any_v1_database).pending == []
    assert query(any_v1_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'chat'") == [(2,)]


def test_committed_sum_file_matches_the_migrations() -> None:
    directory = discover.package_dir()
    expected = sumfile.render(discover.discover(directory))
    assert (directory / discover.SUM_FILE).read_text() == expected, "run `uv run veza-db hash`"


def test_squawk_finds_nothing_in_the_migrations(tmp_path: Path) -> None:
    import shutil
    import subprocess

    squawk = shutil.which("squawk")
    assert squawk, "squawk-cli is a dev dependency"
    files = sorted(str(p) for p in discover.package_dir().glob("*.up.sql"))
    proc = subprocess.run(
        [squawk, *files], capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
