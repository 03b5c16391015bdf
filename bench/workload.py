"""The backend's hot paths on the Lab schema and on V1, timed with pgbench.

Three databases on the bench server hold the same logical data:

* `wl_lab`: tests/fixtures/lab_schema.sql filled by bench.labgen (QUICK: 10k users, 20k tracks, 1M
  plays; FULL: ten times that), plus `doomed` users made to be hard-deleted, each with rows in
  every table that refers to users or tracks;
* `wl_v1`: the V1 migrations, filled from wl_lab by the project's own port (`veza_db.api.port`),
  loaded as pg_restore and labgen do (foreign keys and plain indexes recreated after the copy),
  then checked to be exactly the canonical schema (`veza_db.api.verify`);
* `wl_v1_uuid4`: a copy of wl_v1 whose id defaults are gen_random_uuid() instead of uuidv7().

Every hot path is a pgbench script per schema in bench/hot_paths/ (`<path>.lab.sql` and
`<path>.v1.sql`, or one `<path>.sql` when the SQL is the same on both). Random keys come from
pgbench's random() through helper tables in a `workload` schema (n -> id, built the same way in
every database), so both schemas are handed the same logical rows; they are not part of either
schema and are left out of the sizes.

Before any timing, every script runs once per database (`-t 1`) and the rows it must have changed
(pg_stat_user_tables) are checked, then every table's row count is compared across the three
databases: each script must do the same logical work on both schemas. A timed run is
`pgbench -n -M prepared --progress=1` with the same clients, duration and random seed on each
side, repeated `rounds` times; each round starts with the next side (Lab, V1, V1-uuid4; then V1,
V1-uuid4, Lab; ...), so that no side always runs first after the setup, and every run starts
after a CHECKPOINT, with no earlier run's dirty buffers left to write out during it (the sides
still follow each other in the same cycle). A run's figure is its median second after the first
(the first warms this database's pages up again after the other databases' runs); a side's
figure is the median of its rounds. Why, measured on the full data: with Lab always first and
no checkpoint, record_play read 0.83 of Lab in the benchmark and 0.92 to 0.98 in interleaved
runs of the same databases.
Any failed transaction fails the benchmark, and so does a delete_user run whose transactions did
not each delete a user of their own.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import labgen
from bench.cluster import BenchServer

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "hot_paths"
LAB_SCHEMA = REPO / "tests" / "fixtures" / "lab_schema.sql"

PATHS = (
    "record_play",
    "like_unlike",
    "playlist_page",
    "history_page",
    "dequeue_transcode",
    "rotate_refresh_token",
    "comment_delete_restore",
    "delete_user",
)
SIDES = ("lab", "v1", "v1_uuid4")
SEED = 20261101  # pgbench --random-seed: every side draws the same keys in the same order


@dataclass(frozen=True)
class Plan:
    """How much data and how long each timed run lasts."""

    scale: labgen.Scale
    doomed: int  # users created to be hard-deleted; must outlast every delete_user run
    seconds: int  # per timed pgbench run
    delete_seconds: int  # delete_user runs use up doomed users: shorter runs need fewer
    rounds: int  # every side per script, this many times, each round starting with the next side
    clients: int = 2


QUICK = Plan(labgen.QUICK, doomed=12_000, seconds=3, delete_seconds=2, rounds=3)  # each side starts one round
FULL = Plan(labgen.FULL, doomed=40_000, seconds=8, delete_seconds=4, rounds=4)
SMALL = Plan(labgen.SMALL, doomed=40, seconds=1, delete_seconds=1, rounds=1)


def script(path: str, side: str) -> Path:
    """The pgbench script of hot path `path` for `side`."""
    own = SCRIPTS / f"{path}.{'lab' if side == 'lab' else 'v1'}.sql"
    return own if own.is_file() else SCRIPTS / f"{path}.sql"


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

# Users made to be hard-deleted by delete_user, with V1's meaning of ownership in mind: each owns a
# track (with a version, renditions, a finished transcode job, plays, telemetry, history, likes,
# a comment thread and a share by other users), a playlist (with entries, a follower and a
# collaborator it invited), a session with two refresh tokens, e-mail tokens, a role, audit rows,
# and it played, liked, commented, shared, followed and collaborated on other users' things.
# Run on Lab before the port, so V1 gets the very same rows. `pick` maps (n, j) to existing live
# users, tracks and playlists; j < 10 gives distinct picks per n (prime strides).
_DOOMED = """
CREATE TEMP TABLE lu ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM users WHERE deleted_at IS NULL;
CREATE TEMP TABLE lt ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM tracks WHERE deleted_at IS NULL;
CREATE TEMP TABLE lp ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM playlists WHERE deleted_at IS NULL;
CREATE TEMP TABLE d ON COMMIT DROP AS
SELECT n,
       overlay(overlay(md5('bench-doomed/' || n) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid AS uid,
       overlay(overlay(md5('bench-doomed-track/' || n) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid AS tid,
       overlay(overlay(md5('bench-doomed-playlist/' || n) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid AS pid,
       timestamptz '2026-06-01' + n * interval '1 minute' AS c,
       hashint8(n)::bigint & 2147483647 AS h
FROM generate_series(1, {doomed}) AS n;
CREATE TEMP TABLE pick ON COMMIT DROP AS
SELECT d.n, j, lu.id AS uid, lt.id AS tid, lp.id AS pid
FROM d CROSS JOIN generate_series(0, 9) AS j
JOIN lu ON lu.i = mod(d.h + j * 104729, (SELECT count(*) FROM lu))
JOIN lt ON lt.i = mod(d.h + j * 7919, (SELECT count(*) FROM lt))
JOIN lp ON lp.i = mod(d.h + j * 1299709, (SELECT count(*) FROM lp));
CREATE INDEX ON pick (n, j);
ANALYZE d, pick;

INSERT INTO users (id, username, email, password_hash, display_name, account_type, created_at, updated_at)
SELECT uid, 'bench-doomed-' || n, 'doomed.' || n || '@example.com',
       '$argon2id$v=19$m=65536,t=3,p=4$' || md5('s' || n) || '$' || md5('h' || n), 'Doomed ' || n, 'artist', c, c
FROM d;
INSERT INTO user_roles (user_id, role_id, created_at)
SELECT d.uid, r.id, d.c FROM d CROSS JOIN roles AS r WHERE r.name = 'artist';
INSERT INTO tracks (id, user_id, title, storage_key, format, file_size_bytes, duration_ms, visibility, status,
                    created_at, updated_at)
SELECT tid, uid, 'Doomed track ' || n, 'tracks/' || tid || '/original.mp3', 'mp3', 4000000, 180000, 'public',
       'ready', c, c
FROM d;
INSERT INTO track_versions (track_id, created_by, version_number, storage_key, format, file_size_bytes, duration_ms,
                            created_at, updated_at)
SELECT tid, uid, 1, 'tracks/' || tid || '/v1.mp3', 'mp3', 4000000, 180000, c, c FROM d;
INSERT INTO hls_streams (track_id, track_version_id, codec, bitrate_kbps, manifest_key, status, created_at, updated_at)
SELECT d.tid, v.id, 'aac', r.kbps, 'hls/' || d.tid || '/v' || v.id || '/' || r.kbps || '/index.m3u8', 'ready',
       d.c, d.c
FROM d JOIN track_versions AS v ON v.track_id = d.tid CROSS JOIN (VALUES (128), (256)) AS r (kbps);
INSERT INTO hls_transcode_queue (track_id, track_version_id, status, attempts, run_after, finished_at, created_at,
                                 updated_at)
SELECT d.tid, v.id, 'succeeded', 1, d.c AT TIME ZONE 'UTC', d.c, d.c, d.c
FROM d JOIN track_versions AS v ON v.track_id = d.tid;
INSERT INTO user_sessions (user_id, session_token, ip, user_agent, last_seen_at, expires_at, created_at, updated_at)
SELECT uid, 'bench_st_' || md5('st' || n) || md5('st2' || n), '192.0.2.' || mod(n, 256), 'VezaApp/3.2', c,
       c + interval '30 days', c, c
FROM d;
INSERT INTO refresh_tokens (user_id, session_id, token, expires_at, revoked_at, created_at, updated_at)
SELECT d.uid, s.id, 'bench_rt_' || md5('rt' || d.n || '/' || j), d.c + interval '14 days',
       CASE WHEN j = 1 THEN d.c END, d.c, d.c
FROM d JOIN user_sessions AS s ON s.user_id = d.uid CROSS JOIN generate_series(1, 2) AS j;
INSERT INTO password_reset_tokens (user_id, token, expires_at, created_at)
SELECT uid, 'bench_prt_' || md5('prt' || n), c + interval '1 hour', c FROM d;
INSERT INTO email_verification_tokens (user_id, email, token, expires_at, created_at)
SELECT uid, 'doomed.' || n || '@example.com', 'bench_evt_' || md5('evt' || n), c + interval '1 day', c FROM d;
INSERT INTO track_plays (track_id, user_id, played_at, ms_played, source, created_at)
SELECT CASE WHEN p.j < 5 THEN d.tid ELSE p.tid END, CASE WHEN p.j < 5 THEN p.uid ELSE d.uid END,
       d.c + p.j * interval '1 hour', 60000 + p.j, 'library', d.c + p.j * interval '1 hour'
FROM d JOIN pick AS p ON p.n = d.n;
INSERT INTO playback_analytics (track_id, user_id, started_at, ended_at, position_ms, duration_played_ms, device_type,
                                country_code, created_at)
SELECT CASE WHEN p.j < 2 THEN d.tid ELSE p.tid END, CASE WHEN p.j < 2 THEN p.uid ELSE d.uid END,
       d.c + p.j * interval '1 hour', d.c + p.j * interval '1 hour' + interval '1 minute', 60000, 60000, 'web', 'FR',
       d.c + p.j * interval '1 hour'
FROM d JOIN pick AS p ON p.n = d.n AND p.j < 4;
INSERT INTO bitrate_adaptation_logs (track_id, user_id, session_id, from_bitrate_kbps, to_bitrate_kbps, reason,
                                     created_at)
SELECT p.tid, d.uid, s.id, 128, 256, 'bandwidth_rise', d.c
FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0 JOIN user_sessions AS s ON s.user_id = d.uid
UNION ALL
SELECT d.tid, p.uid, NULL, NULL, 128, 'initial', d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0;
INSERT INTO track_history (user_id, track_id, played_at, ms_played, created_at)
SELECT CASE WHEN p.j < 2 THEN p.uid ELSE d.uid END, CASE WHEN p.j < 2 THEN d.tid ELSE p.tid END,
       (d.c + p.j * interval '1 hour') AT TIME ZONE 'UTC', 60000, d.c + p.j * interval '1 hour'
FROM d JOIN pick AS p ON p.n = d.n AND p.j < 7;
INSERT INTO track_likes (user_id, track_id, created_at)
SELECT CASE WHEN p.j < 3 THEN p.uid ELSE d.uid END, CASE WHEN p.j < 3 THEN d.tid ELSE p.tid END, d.c
FROM d JOIN pick AS p ON p.n = d.n AND p.j < 8;
WITH top AS (
    INSERT INTO track_comments (track_id, user_id, body, created_at, updated_at)
    SELECT d.tid, p.uid, 'Great track ' || d.n, d.c, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0
    RETURNING id, track_id, created_at
)
INSERT INTO track_comments (track_id, user_id, parent_id, body, created_at, updated_at)
SELECT top.track_id, p.uid, top.id, 'Agreed', top.created_at + interval '1 hour', top.created_at + interval '1 hour'
FROM top JOIN d ON d.tid = top.track_id JOIN pick AS p ON p.n = d.n AND p.j = 1
UNION ALL
SELECT p.tid, d.uid, NULL, 'Nice one from ' || d.n, d.c, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0;
INSERT INTO track_shares (track_id, shared_by, channel, created_at)
SELECT d.tid, p.uid, 'link', d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0
UNION ALL
SELECT p.tid, d.uid, 'x', d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0;
INSERT INTO playlists (id, user_id, title, visibility, created_at, updated_at)
SELECT pid, uid, 'Doomed mix ' || n, 'public', c, c FROM d;
INSERT INTO playlist_tracks (playlist_id, track_id, added_by, position, created_at)
SELECT d.pid, p.tid, d.uid, p.j, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j < 3
UNION ALL
SELECT p.pid, d.tid, d.uid, 1000000 + d.n, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0;
INSERT INTO playlist_follows (playlist_id, user_id, created_at)
SELECT d.pid, p.uid, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 0
UNION ALL
SELECT p.pid, d.uid, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j IN (1, 2);
INSERT INTO playlist_collaborators (playlist_id, user_id, invited_by, role, created_at, updated_at)
SELECT d.pid, p.uid, d.uid, 'editor', d.c, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 1
UNION ALL
SELECT p.pid, d.uid, NULL, 'viewer', d.c, d.c FROM d JOIN pick AS p ON p.n = d.n AND p.j = 3;
INSERT INTO rooms (created_by, name, is_private, created_at, updated_at)
SELECT uid, 'doomed room ' || n, false, c AT TIME ZONE 'UTC', c AT TIME ZONE 'UTC' FROM d WHERE mod(n, 10) = 0;
INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, metadata, created_at)
SELECT uid, a, 'users', uid::text, '{{}}', c FROM d CROSS JOIN (VALUES ('user.login'), ('track.upload')) AS v (a);
"""

# The keys each script draws from, built the same way in every database (users, tracks and
# playlists keep their uuid in the port; integer-keyed rows keep their order, so `ORDER BY id`
# numbers the same logical rows on both sides). Nothing a doomed user owns is in any of them, so
# delete_user never takes a key another script uses. {token} is the column a client's refresh
# token is looked up by: the token itself on Lab, its SHA-256 on V1; workload.tokens holds the
# tokens a client could still exchange ({exchanged}: a token already exchanged for a successor),
# and the rotation script replaces a row's token by its successor, as the client would.
_HELPERS = """
CREATE SCHEMA workload;
CREATE TABLE workload.doomed AS
    SELECT substr(username, 14)::integer AS n, id FROM users WHERE username LIKE 'bench-doomed-%';
CREATE TABLE workload.users AS
    SELECT row_number() OVER (ORDER BY id)::integer AS n, id FROM users
    WHERE deleted_at IS NULL AND id NOT IN (SELECT id FROM workload.doomed);
CREATE TABLE workload.tracks AS
    SELECT row_number() OVER (ORDER BY id)::integer AS n, id FROM tracks
    WHERE deleted_at IS NULL AND user_id NOT IN (SELECT id FROM workload.doomed);
CREATE TABLE workload.playlists AS
    SELECT row_number() OVER (ORDER BY p.id)::integer AS n, p.id FROM playlists AS p
    WHERE p.deleted_at IS NULL AND p.user_id NOT IN (SELECT id FROM workload.doomed)
      AND EXISTS (SELECT FROM playlist_tracks AS pt WHERE pt.playlist_id = p.id);
CREATE TABLE workload.listeners AS
    WITH heard AS MATERIALIZED (
        -- Computed once: as a correlated EXISTS the planner may nest a hash join of tracks under
        -- a loop over users, and rebuild it per user once it spills to batches (the full data).
        SELECT DISTINCT h.user_id FROM track_history AS h JOIN tracks AS t ON t.id = h.track_id
        WHERE t.user_id NOT IN (SELECT id FROM workload.doomed)
    )
    SELECT row_number() OVER (ORDER BY u.id)::integer AS n, u.id FROM users AS u
    WHERE u.deleted_at IS NULL AND u.id NOT IN (SELECT id FROM workload.doomed)
      AND u.id IN (SELECT user_id FROM heard);
CREATE TABLE workload.comments AS
    SELECT row_number() OVER (ORDER BY c.id)::integer AS n, c.id FROM track_comments AS c
    JOIN tracks AS t ON t.id = c.track_id
    WHERE c.user_id NOT IN (SELECT id FROM workload.doomed) AND t.user_id NOT IN (SELECT id FROM workload.doomed)
      AND NOT EXISTS (SELECT FROM track_comments AS r WHERE r.parent_id = c.id);
CREATE TABLE workload.tokens AS
    SELECT row_number() OVER (ORDER BY id)::integer AS n, {token} AS token FROM refresh_tokens
    WHERE user_id NOT IN (SELECT id FROM workload.doomed) AND revoked_at IS NULL AND NOT ({exchanged});
ALTER TABLE workload.doomed ADD PRIMARY KEY (n);
ALTER TABLE workload.users ADD PRIMARY KEY (n);
ALTER TABLE workload.tracks ADD PRIMARY KEY (n);
ALTER TABLE workload.playlists ADD PRIMARY KEY (n);
ALTER TABLE workload.listeners ADD PRIMARY KEY (n);
ALTER TABLE workload.comments ADD PRIMARY KEY (n);
ALTER TABLE workload.tokens ADD PRIMARY KEY (n);
"""

# One logical value per helper row, comparable across schemas: the helpers of Lab and V1 must
# list the same logical rows in the same order.
_TOKEN_DIGEST = {
    "lab": "SELECT md5(string_agg(encode(sha256(convert_to(token, 'UTF8')), 'hex'), ',' ORDER BY n)) "
    "FROM workload.tokens",
    "v1": "SELECT md5(string_agg(encode(token, 'hex'), ',' ORDER BY n)) FROM workload.tokens",
}
_COMMENT_DIGEST = (
    "SELECT md5(string_agg(c.body || c.created_at::text, ',' ORDER BY w.n)) "
    "FROM workload.comments AS w JOIN track_comments AS c ON c.id = w.id"
)
_EXCHANGED = {
    "lab": "replaced_by_id IS NOT NULL",
    "v1": "EXISTS (SELECT FROM refresh_tokens AS successor WHERE successor.replaces_id = refresh_tokens.id)",
}
_UUID_HELPERS = ("doomed", "users", "tracks", "playlists", "listeners")

# The V1 tables' foreign keys and plain indexes, dropped before the port and recreated after it
# (as labgen loads Lab's big tables, and as pg_restore does): one validation pass per key.
_LOAD_KEYS = """
SELECT 'constraint', c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint AS c
WHERE c.connamespace = 'public'::regnamespace AND c.contype = 'f'
UNION ALL
SELECT 'index', i.indrelid::regclass::text, x.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index AS i JOIN pg_class AS x ON x.oid = i.indexrelid
WHERE x.relnamespace = 'public'::regnamespace AND NOT i.indisunique
  AND NOT EXISTS (SELECT FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
"""

_V7_DEFAULTS = """
SELECT c.relname FROM pg_attrdef AS d
JOIN pg_class AS c ON c.oid = d.adrelid
JOIN pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE c.relnamespace = 'public'::regnamespace AND a.attname = 'id'
  AND pg_get_expr(d.adbin, d.adrelid) LIKE '%uuidv7()'
ORDER BY 1
"""

_SIZE = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
"""


@dataclass(frozen=True)
class Target:
    """Where the databases live: a URL per database name, the directory holding psql and pgbench,
    and the prefix of the three databases' names (`<prefix>_lab`, `<prefix>_v1`, `<prefix>_v1_uuid4`)."""

    url: Callable[[str], str]
    bin_dir: Path
    prefix: str = "wl"

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def name(self, side: str) -> str:
        return f"{self.prefix}_{side}"


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(url, autocommit=True)


def _execute(url: str, statement: sql.SQL | sql.Composed | str) -> None:
    with _connect(url) as conn:
        conn.execute(statement.encode() if isinstance(statement, str) else statement)


def _scalar(conn: psycopg.Connection[tuple[Any, ...]], query: str | sql.Composed) -> Any:
    row = conn.execute(query.encode() if isinstance(query, str) else query).fetchone()
    return row[0] if row else None


def _create_database(target: Target, name: str, template: str | None = None) -> str:
    with _connect(target.admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            # FILE_COPY copies the files instead of logging every block: the copy takes seconds.
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    return target.url(name)


def drop_databases(target: Target) -> None:
    with _connect(target.admin_url) as conn:
        for side in reversed(SIDES):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.name(side)))
            )


def _fill_lab(target: Target, url: str, plan: Plan) -> None:
    subprocess.run(
        [str(target.bin_dir / "psql"), url, "-qX", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(LAB_SCHEMA)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with psycopg.connect(url) as conn:
        labgen.generate(conn, plan.scale)
        with conn.transaction():
            conn.execute("SET LOCAL TimeZone = 'UTC'")  # the doomed rows' instants must not vary
            conn.execute(sql.SQL(_DOOMED).format(doomed=sql.Literal(plan.doomed)))


def _drop_load_keys(v1: str) -> list[sql.SQL | sql.Composed]:
    """Drop V1's foreign keys and plain indexes; return the statements that recreate them."""
    restore: list[sql.SQL | sql.Composed] = []
    with _connect(v1) as conn:
        for kind, table, name, definition in conn.execute(_LOAD_KEYS.encode()).fetchall():
            if kind == "constraint":
                conn.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                )
                restore.append(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                        sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                    )
                )
            else:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
                restore.insert(0, sql.SQL(definition))  # indexes first: the keys' checks use them
    return restore


def _port(lab: str, v1: str) -> None:
    from veza_db import api

    report = api.port(lab, v1, cleanup=True)
    if not report.ok:
        bad = [t.target for t in report.tables if not t.ok]
        raise RuntimeError(
            f"the port of the workload data did not verify: {bad} {report.broken_foreign_keys}"
        )


def _restore_load_keys(v1: str, restore: list[sql.SQL | sql.Composed]) -> None:
    with _connect(v1) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for statement in restore:
            conn.execute(statement)


def _verify(v1: str) -> None:
    from veza_db import api

    drift = api.verify(v1)
    if drift.drift:
        raise RuntimeError("the V1 workload database is not exactly V1: " + "; ".join(drift.problems[:5]))


def _helpers(url: str, side: str) -> None:
    token = sql.Identifier("token" if side == "lab" else "token_hash")
    _execute(url, sql.SQL(_HELPERS).format(token=token, exchanged=sql.SQL(_EXCHANGED[side])))


def _check_helpers(lab: str, v1: str) -> None:
    """The helper tables of Lab and V1 number the same logical rows."""
    with _connect(lab) as a, _connect(v1) as b:
        for helper in _UUID_HELPERS:
            query = sql.SQL("SELECT md5(string_agg(id::text, ',' ORDER BY n)) FROM {}").format(
                sql.Identifier("workload", helper)
            )
            if _scalar(a, query) != _scalar(b, query):
                raise RuntimeError(f"workload.{helper} differs between Lab and V1")
        if _scalar(a, _TOKEN_DIGEST["lab"]) != _scalar(b, _TOKEN_DIGEST["v1"]):
            raise RuntimeError("workload.tokens differs between Lab and V1")
        if _scalar(a, _COMMENT_DIGEST) != _scalar(b, _COMMENT_DIGEST):
            raise RuntimeError("workload.comments differs between Lab and V1")


def _use_uuid4(url: str) -> int:
    """Switch every uuidv7() id default to gen_random_uuid(); return how many tables changed."""
    with _connect(url) as conn:
        tables = [row[0] for row in conn.execute(_V7_DEFAULTS.encode()).fetchall()]
        for table in tables:
            conn.execute(
                sql.SQL("ALTER TABLE {} ALTER COLUMN id SET DEFAULT gen_random_uuid()").format(
                    sql.Identifier(table)
                )
            )
    return len(tables)


def _vacuum(url: str) -> None:
    _execute(url, "VACUUM (ANALYZE)")


def size_bytes(url: str) -> int:
    """Tables and their indexes (and TOAST) in `public`."""
    with _connect(url) as conn:
        return int(_scalar(conn, _SIZE))


@dataclass
class Databases:
    urls: dict[str, str]
    sizes: dict[str, int]
    keys: dict[str, int]  # pgbench -D values: how many rows each helper table numbers
    setup_seconds: float = 0.0


def prepare(target: Target, plan: Plan, say: Callable[[str], None] = lambda _: None) -> Databases:
    """Build the three databases; see the module docstring."""
    from veza_db import api

    started = lap = time.perf_counter()

    def done(step: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        say(f"  {step}: {now - lap:.1f} s")
        lap = now

    lab = _create_database(target, target.name("lab"))
    _fill_lab(target, lab, plan)
    done("Lab data")
    v1 = _create_database(target, target.name("v1"))
    api.up(v1)
    restore = _drop_load_keys(v1)
    _port(lab, v1)
    done("port")
    _restore_load_keys(v1, restore)
    done("V1 keys")
    _verify(v1)
    done("verify")
    _helpers(lab, "lab")
    _helpers(v1, "v1")
    _check_helpers(lab, v1)
    done("helpers")
    _vacuum(lab)
    _vacuum(v1)
    done("vacuum")
    v1_uuid4 = _create_database(target, target.name("v1_uuid4"), template=target.name("v1"))
    if _use_uuid4(v1_uuid4) != len(labgen.LAB_TABLES):
        raise RuntimeError("expected every V1 table to have a uuidv7() id default")
    _vacuum(v1_uuid4)
    done("V1-uuid4 copy")
    urls = {"lab": lab, "v1": v1, "v1_uuid4": v1_uuid4}
    with _connect(lab) as conn:
        keys = {
            name: int(
                _scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("workload", name)))
            )
            for name in ("users", "tracks", "playlists", "listeners", "comments", "tokens")
        }
    databases = Databases(urls, {side: size_bytes(url) for side, url in urls.items()}, keys)
    databases.setup_seconds = time.perf_counter() - started
    return databases


# ---------------------------------------------------------------------------------------------
# pgbench
# ---------------------------------------------------------------------------------------------


_PER_SECOND_FLOOR = 10.0  # tps below which a second's count is too coarse to take a median of


@dataclass(frozen=True)
class Result:
    transactions: int
    tps: float  # over the whole run
    intervals: tuple[float, ...] = ()  # tps of each second (pgbench --progress)

    @property
    def steady_tps(self) -> float:
        """The median second after the first: the first second warms the caches of this database
        up again after the other databases' runs. A script slower than a few transactions a
        second (Lab's delete_user on the full data: under one) gets the whole run's rate, as
        pgbench's per-second counts are whole transactions and round it to 0."""
        steady = sorted(self.intervals[1:])
        median = steady[len(steady) // 2] if steady else 0.0
        return median if median >= _PER_SECOND_FLOOR else self.tps


_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)$", re.MULTILINE)
_DONE = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)
_PROGRESS = re.compile(r"^progress: [0-9.]+ s, ([0-9.]+) tps", re.MULTILINE)


def pgbench(
    target: Target,
    url: str,
    script_file: Path,
    variables: dict[str, int],
    *,
    clients: int,
    seconds: int | None = None,
    transactions: int | None = None,
    seed: int = SEED,
) -> Result:
    """One pgbench run; any error (a failed or aborted transaction) raises."""
    limit = (
        ["--time", str(seconds), "--progress=1"]
        if seconds is not None
        else ["--transactions", str(transactions or 1)]
    )
    defines = [f"--define={name}={value}" for name, value in variables.items()]
    command = [
        str(target.bin_dir / "pgbench"), "--no-vacuum", "--protocol=prepared", f"--client={clients}",
        "--jobs=1", f"--random-seed={seed}", *limit, *defines, f"--file={script_file}", url,
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    out = proc.stdout
    failed = _FAILED.search(out)
    if proc.returncode != 0 or failed is None or int(failed.group(1)) != 0:
        detail = [line for line in proc.stderr.splitlines() if not line.startswith("progress:")][-3:]
        raise RuntimeError(
            f"pgbench {script_file.name} on {url.rsplit('/', 1)[-1]} failed: {' | '.join(detail) or 'no output'}"
        )
    tps, done = _TPS.search(out), _DONE.search(out)
    if tps is None or done is None:
        raise RuntimeError(f"unexpected pgbench output for {script_file.name}: {out[-300:]}")
    intervals = tuple(float(m.group(1)) for m in _PROGRESS.finditer(proc.stderr))
    return Result(int(done.group(1)), float(tps.group(1)), intervals)


# ---------------------------------------------------------------------------------------------
# The sanity pass: every script does its work, the same on both schemas
# ---------------------------------------------------------------------------------------------

# Per hot path and schema: table -> (inserted, updated, deleted) rows one transaction must show in
# pg_stat_user_tables (exactly), or ("read", n): at least n rows fetched.
Expect = dict[str, tuple[int, int, int] | tuple[str, int]]
_EXPECT: dict[str, dict[str, Expect]] = {
    "record_play": {"*": {"track_plays": (1, 0, 0), "playback_analytics": (1, 0, 0)}},
    "like_unlike": {"*": {"track_likes": (1, 0, 1), "tracks": (0, 2, 0)}},
    "playlist_page": {"*": {"playlist_tracks": ("read", 1), "tracks": ("read", 1)}},
    "history_page": {"*": {"track_history": ("read", 1), "tracks": ("read", 1)}},
    "dequeue_transcode": {"*": {"hls_transcode_queue": (1, 2, 0)}},
    "rotate_refresh_token": {"lab": {"refresh_tokens": (1, 1, 0)}, "v1": {"refresh_tokens": (1, 0, 0)}},
    "comment_delete_restore": {"lab": {"track_comments": (1, 0, 1)}, "v1": {"track_comments": (0, 2, 0)}},
    "delete_user": {"*": {"users": (0, 0, 1)}},
}

_STATS = """
SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
FROM pg_stat_user_tables WHERE schemaname = 'public'
"""

Stats = dict[str, tuple[int, int, int, int]]


def _stats(conn: psycopg.Connection[tuple[Any, ...]]) -> Stats:
    return {
        row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in conn.execute(_STATS.encode())
    }


def unmet(before: Stats, after: Stats, expect: Expect) -> list[str]:
    problems = []
    for table, wanted in expect.items():
        delta = tuple(a - b for a, b in zip(after.get(table, (0, 0, 0, 0)), before.get(table, (0, 0, 0, 0)),
                                            strict=True))  # fmt: skip
        if wanted[0] == "read":
            if delta[3] < int(wanted[1]):
                problems.append(f"{table}: {delta[3]} rows read, expected at least {wanted[1]}")
        elif delta[:3] != wanted:
            problems.append(f"{table}: (inserted, updated, deleted) = {delta[:3]}, expected {wanted}")
    return problems


def _await_stats(conn: psycopg.Connection[tuple[Any, ...]], before: Stats, expect: Expect) -> list[str]:
    """The unmet expectations once pgbench's backend has reported its counters (at its exit)."""
    deadline = time.monotonic() + 5
    while True:
        problems = unmet(before, _stats(conn), expect)
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.02)


_USER_REFERENCES = """
SELECT c.conrelid::regclass::text, a.attname
FROM pg_constraint AS c
JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.confrelid = 'public.users'::regclass AND c.connamespace = 'public'::regnamespace
"""


def _left_behind(conn: psycopg.Connection[tuple[Any, ...]], doomed_n: int) -> list[str]:
    """Rows that still name the deleted doomed user: none may remain, on either schema."""
    row = conn.execute("SELECT id FROM workload.doomed WHERE n = %s", (doomed_n,)).fetchone()
    if row is None:
        return [f"no doomed user {doomed_n}"]
    uid = row[0]
    left = []
    if conn.execute("SELECT FROM users WHERE id = %s", (uid,)).fetchone():
        left.append("users: the user is still there")
    for table, column in conn.execute(_USER_REFERENCES.encode()).fetchall():
        query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
            sql.Identifier(table), sql.Identifier(column)
        )
        count = conn.execute(query, (uid,)).fetchone()
        if count and count[0]:
            left.append(f"{table}.{column}: {count[0]} rows still refer to the deleted user")
    return left


def _row_counts(url: str) -> dict[str, int]:
    with _connect(url) as conn:
        return {
            table: int(
                _scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", table)))
            )
            for table in labgen.LAB_TABLES
        }


def doomed_gone(url: str) -> tuple[int, int]:
    """How many doomed users are deleted, and the highest n among them (the next run starts after)."""
    with _connect(url) as conn:
        row = conn.execute(
            b"SELECT count(*), coalesce(max(d.n), 0) FROM workload.doomed AS d "
            b"WHERE NOT EXISTS (SELECT FROM users AS u WHERE u.id = d.id)"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def variables(databases: Databases, url: str, clients: int) -> dict[str, int]:
    """pgbench --define values for a run on `url`: key counts, clients, the next doomed user."""
    return {**databases.keys, "clients": clients, "dk": 0, "doomed_base": doomed_gone(url)[1]}


def sanity(target: Target, databases: Databases, say: Callable[[str], None] = lambda _: None) -> None:
    """Run every script once per database; raise unless each did its work, the same everywhere."""
    problems: list[str] = []
    for path in PATHS:
        for side in SIDES:
            url = databases.urls[side]
            expect = _EXPECT[path].get("lab" if side == "lab" else "v1", _EXPECT[path].get("*", {}))
            defines = variables(databases, url, clients=1)
            with _connect(url) as conn:
                before = _stats(conn)
                pgbench(target, url, script(path, side), defines, clients=1, transactions=1)
                problems += [f"{path} on {side}: {p}" for p in _await_stats(conn, before, expect)]
                if path == "delete_user":
                    problems += [
                        f"{path} on {side}: {p}" for p in _left_behind(conn, defines["doomed_base"] + 1)
                    ]
    counts = {side: _row_counts(url) for side, url in databases.urls.items()}
    for side in ("v1", "v1_uuid4"):
        for table, rows in counts["lab"].items():
            if counts[side][table] != rows:
                problems.append(
                    f"row counts differ after the sanity pass: {table} lab {rows}, {side} {counts[side][table]}"
                )
    if problems:
        raise RuntimeError(
            "the hot-path scripts do not do the same work on both schemas:\n  " + "\n  ".join(problems)
        )
    say("  sanity pass: every script did its work, row counts equal on the three databases")


# ---------------------------------------------------------------------------------------------
# Timed runs
# ---------------------------------------------------------------------------------------------


@dataclass
class Figures:
    tps: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # path -> side -> runs

    def median(self, path: str, side: str) -> float:
        return statistics.median(self.tps[path][side])


def timed(target: Target, databases: Databases, plan: Plan) -> Figures:
    """`plan.rounds` rounds of every script on Lab, V1 and V1-uuid4, round r starting with side
    r mod 3, each run after a CHECKPOINT (see the module docstring)."""
    figures = Figures({path: {side: [] for side in SIDES} for path in PATHS})
    for round_ in range(plan.rounds):
        first = round_ % len(SIDES)
        for path in PATHS:
            seconds = plan.delete_seconds if path == "delete_user" else plan.seconds
            for side in SIDES[first:] + SIDES[:first]:
                url = databases.urls[side]
                _execute(url, "CHECKPOINT")
                gone = doomed_gone(url)[0] if path == "delete_user" else 0
                result = pgbench(target, url, script(path, side), variables(databases, url, plan.clients),
                                 clients=plan.clients, seconds=seconds)  # fmt: skip
                # Each delete_user transaction must have deleted a user of its own.
                if path == "delete_user" and doomed_gone(url)[0] - gone != result.transactions:
                    raise RuntimeError(
                        f"delete_user on {side}: {result.transactions} transactions deleted "
                        f"{doomed_gone(url)[0] - gone} users"
                    )
                figures.tps[path][side].append(result.steady_tps)
    return figures


# Ids per second on this server, in V1's database (where uuidv7() is the server's own on 18 and
# V1's inlined SQL function on 15-17): a server built without OpenSSL (the embedded 18) reads
# /dev/urandom for every uuid, one built with it does not, and every row the scripts insert pays
# for one id.
_ID_RATES = {
    "uuidv7": "SELECT count(uuidv7()) FROM generate_series(1, %s)",
    "gen_random_uuid": "SELECT count(gen_random_uuid()) FROM generate_series(1, %s)",
    "nextval": "SELECT count(nextval('workload_ids')) FROM generate_series(1, %s)",
}


def id_rates(url: str, ids: int = 1_000_000) -> dict[str, int]:
    """Ids generated per second, per generator, best of two passes."""
    rates: dict[str, int] = {}
    with _connect(url) as conn:
        conn.execute("CREATE TEMPORARY SEQUENCE workload_ids")
        for name, query in _ID_RATES.items():
            best = float("inf")
            for _ in range(2):
                started = time.perf_counter()
                conn.execute(query.encode(), (ids,))
                best = min(best, time.perf_counter() - started)
            rates[name] = round(ids / best)
    return rates


def run(server: BenchServer, quick: bool) -> dict[str, Any]:
    """Build the databases, check the scripts, time them; the figures for `python -m bench`."""
    plan = QUICK if quick else FULL
    target = Target(server.url, server.bin_dir)
    started = time.perf_counter()
    try:
        databases = prepare(target, plan)
        sanity(target, databases)
        ids_per_s = id_rates(databases.urls["v1"])
        figures = timed(target, databases, plan)
    finally:
        drop_databases(target)
    scripts: dict[str, dict[str, float]] = {}
    for path in PATHS:
        lab, v1, v1_uuid4 = (figures.median(path, side) for side in SIDES)
        scripts[path] = {
            "lab_tps": round(lab, 1),
            "v1_tps": round(v1, 1),
            "v1_uuid4_tps": round(v1_uuid4, 1),
            "ratio": round(v1 / lab, 3),
            "uuid4_ratio": round(v1_uuid4 / lab, 3),
        }
    sizes = databases.sizes
    return {
        "scripts": scripts,
        "min_ratio": min(s["ratio"] for s in scripts.values()),
        "size_ratio": round(sizes["v1"] / sizes["lab"], 3),
        "sizes_mb": {side: round(size / 2**20, 1) for side, size in sizes.items()},
        "clients": plan.clients,
        "seconds_per_run": plan.seconds,
        "rounds": plan.rounds,
        "ids_per_s": ids_per_s,
        "postgres": server.version(),
        "setup_s": round(databases.setup_seconds, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }
