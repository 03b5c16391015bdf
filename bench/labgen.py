"""Deterministic data for the Lab schema (tests/fixtures/lab_schema.sql) and for an older deployment.

`generate(conn, scale, seed)` fills an EMPTY database that already has the Lab schema: every one
of its 26 tables gets rows, server-side (`INSERT ... SELECT ... FROM generate_series`, never row by
row from Python), in one transaction committed at the end. `generate_older(conn, seed)` does the
same, at a fixed small size, for tests/fixtures/older_schema.sql.

Determinism: every "random" value is a hash of (seed, row number, salt) - hashint8extended for
numbers, md5 for ids - so a seed always gives the same rows whatever plan or order the server
picks, and timestamps count back from ANCHOR, not from now(). Integer keys are explicit (1..N) and
the sequences are set past them at the end. uuid keys are md5-derived, shaped like version 4.
The session's TimeZone is set to UTC for the transaction, so interval arithmetic never varies.

Speed: the helpers are inlinable SQL functions in pg_temp (dropped before the commit). A table
getting 100,000 rows or more is loaded as pg_restore does: its foreign keys and plain indexes are
dropped, then recreated from their own definitions under the same names (one validation pass
each), in the same transaction; `pg_dump --schema-only` is unchanged.
QUICK takes about 20 s on 2 cores; SMALL well under a second.

What the data exercises, on purpose:
  * foreign keys everywhere, bigint ones included: refresh-token rotation chains
    (replaced_by_id points to the next, newer token of the same session), comment threads
    (parent_id, always an earlier comment of the same track), renditions and transcode jobs of
    track versions (of the same track), adaptation logs of sessions (and of their user);
  * soft-deleted rows (users, tracks, playlists, playlist_collaborators); a deleted user may
    carry the upper-cased username and e-mail of a live one (unique in Lab, and in V1 among
    live rows case-insensitively);
  * NULLs in nullable columns at about `Scale.null_rate`, and a FEW NULLs where the Lab allows
    them and V1 does not (the port must fill them): created_at of roles, permissions,
    role_permissions, playlist_tracks, track_history, track_likes, track_shares,
    playlist_follows, rooms; updated_at of roles, user_sessions, refresh_tokens, rooms;
    user_sessions.last_seen_at; playback_analytics.device_type; audit_logs.metadata;
  * free text with quotes, tabs, newlines, carriage returns, backslashes, `\\N`, `\\.`, '',
    non-ASCII and emoji (NASTY), and strings at V1's exact length limits;
  * audit_logs.entity_id holding uuids (some upper-case) and legacy integer ids.

Every value is one V1 accepts after the obvious conversions (its CHECK constraints, lengths,
value sets, unique indexes, `inet` for user_sessions.ip).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

# Timestamps lie within the two years before this instant (fixed, so that a seed is reproducible).
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)

NASTY: tuple[str, ...] = (
    "it's",
    'a "quoted" word',
    "tab\there",
    "two\nlines",
    "crlf\r\nline",
    "lone\rreturn",
    "back\\slash and \\\\ two",
    "\\N",
    "\\.",
    "café, crème brûlée, naïve é",
    "日本の音楽",
    "emoji 🎵🔥 and 👩🏽\u200d🎤",
    'O\'Brien said "\\N"\tthen\nleft\r\n日本 é 🎧',
    "NULL",
    "  padded  ",
    "comma, semi; pipe| and %percent_",
    "e\u0301 combining, zero\u200bwidth",
    "مرحبا بالعالم",
    "<b>html</b> & <script>alert('x')</script>",
    "'); DROP TABLE users; --",
    "$$ dollar $tag$ quotes $$",
    '{"json": ["array", 1]}',
    '{a,b,"c d"}',
    "ümlaut Ärger Øre ß",
)

# Distinct once lower-cased, none ending in a digit, each with a lower-case letter (so that
# upper() always changes it): prefix || n is unique, case-insensitively too.
_USERNAME_PREFIXES = (
    "user_", "dj.", "josé_", "zoë-", "o'neil_", "日本_fan_", 'mc "q" ', "the\\band_", "émile.", "🎧fan_",
    "MixedCase_",
)  # fmt: skip
_EMAIL_LOCALS = (
    "user",
    "o'neil",
    "first.last",
    "josé",
    "Émile",
    "name+tag",
    '"quoted local"',
    "日本",
    "MiXeD",
)
_EMAIL_DOMAINS = ("example.com", "exämple.org", "mail.example.co.uk", "Example.NET")

_ROLES = (
    ("admin", "Full access"),
    ("moderator", "Moderates comments\nand rooms"),
    ("artist", "Uploads tracks"),
    ("listener", None),
    ("support", "Customer support: can't delete"),
    ('curator "editorial"', "Curates playlists \\N"),
    ("bêta-testeur", "日本語 🎧"),
    ("legacy\\role", None),
)
_RESOURCES = ("tracks", "playlists", "users", "comments", "rooms", "audit", "roles", "analytics")
_ACTIONS = ("read", "create", "update", "delete", "moderate")

LAB_TABLES = (
    "users", "roles", "permissions", "role_permissions", "user_roles", "tracks", "playlists",
    "playlist_tracks", "user_sessions", "refresh_tokens", "password_reset_tokens",
    "email_verification_tokens", "track_versions", "hls_streams", "hls_transcode_queue",
    "bitrate_adaptation_logs", "playback_analytics", "track_plays", "track_history", "track_likes",
    "track_comments", "track_shares", "playlist_collaborators", "playlist_follows", "rooms", "audit_logs",
)  # fmt: skip

# Lab tables with an integer key backed by a sequence (set past the generated ids at the end).
_SEQUENCED = (
    "user_sessions", "refresh_tokens", "password_reset_tokens", "email_verification_tokens", "track_versions",
    "hls_streams", "hls_transcode_queue", "bitrate_adaptation_logs", "playback_analytics", "track_plays",
    "track_history", "track_likes", "track_comments", "track_shares", "playlist_collaborators",
    "playlist_follows", "rooms",
)  # fmt: skip

OLDER_TABLES = (
    "users", "tracks", "playlists", "playlist_tracks", "refresh_tokens", "track_plays", "chat_rooms",
    "chat_messages",
)  # fmt: skip


@dataclass(frozen=True)
class Scale:
    """How much data: three sizes, and per-parent averages for everything else."""

    users: int
    tracks: int
    plays: int
    playlists_per_user: float = 0.5
    tracks_per_playlist: float = 12.0
    sessions_per_user: float = 2.0
    tokens_per_session: float = 2.5  # refresh-token rotation chains, 1 to 2x-1 tokens long
    reset_tokens_per_user: float = 0.2
    verification_tokens_per_user: float = 0.8
    versions_per_track: float = 1.5
    likes_per_user: float = 10.0
    comments_per_track: float = 2.0
    shares_per_track: float = 0.5
    analytics_per_play: float = 0.2
    adaptations_per_play: float = 0.1
    history_per_play: float = 0.3
    collaborators_per_playlist: float = 0.5
    follows_per_playlist: float = 4.0
    users_per_room: int = 50
    audit_logs_per_user: float = 2.0
    null_rate: float = 0.1  # share of NULLs in nullable columns
    deleted_rate: float = 0.05  # share of soft-deleted rows where the Lab has deleted_at

    def __post_init__(self) -> None:
        if self.users < 10 or self.tracks < 10 or self.plays < 0:
            raise ValueError("a Scale needs at least 10 users and 10 tracks, and plays >= 0")

    @property
    def playlists(self) -> int:
        return max(1, round(self.users * self.playlists_per_user))

    @property
    def sessions(self) -> int:
        return max(1, round(self.users * self.sessions_per_user))

    @property
    def rooms(self) -> int:
        return max(20, self.users // self.users_per_room)


SMALL = Scale(users=200, tracks=300, plays=1_000)
QUICK = Scale(users=10_000, tracks=20_000, plays=1_000_000)
FULL = Scale(users=100_000, tracks=200_000, plays=10_000_000)


def _stride(n: int) -> int:
    """A step coprime with n: j -> (base + j * step) mod n visits n distinct values."""
    step = max(1, round(n * 0.618))
    while math.gcd(step, n) != 1:
        step += 1
    return step


def _per_parent(average: float) -> int:
    """k for `lg_ri(x, salt, k)`: a uniform count in 0..k-1 with the given average."""
    return max(1, round(2 * average) + 1)


# The helpers every statement uses, created in pg_temp and dropped before the commit. Each is a
# one-expression SQL function using each argument once, so the planner inlines it.
_FUNCTIONS = """
CREATE FUNCTION pg_temp.lg_r(n bigint, salt integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT ((hashint8extended(n, salt::bigint * 1000003 + {seed}) >> 11) & 9007199254740991)::float8
                 / 9007199254740992.0 $fn$;
CREATE FUNCTION pg_temp.lg_r2(a bigint, b bigint, salt integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT pg_temp.lg_r(a * 1000003 + b, salt) $fn$;
CREATE FUNCTION pg_temp.lg_ri(n bigint, salt integer, k bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT floor(pg_temp.lg_r(n, salt) * k)::bigint $fn$;
CREATE FUNCTION pg_temp.lg_uuid(tbl text, n bigint) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT overlay(overlay(md5({seed_text} || tbl || '/' || n::text) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid $fn$;
CREATE FUNCTION pg_temp.lg_ago(n bigint, salt integer) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $fn$ SELECT {anchor}::timestamptz - pg_temp.lg_r(n, salt) * interval '730 days' $fn$;
CREATE FUNCTION pg_temp.lg_nasty(n bigint, salt integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT ({nasty}::text[])[1 + pg_temp.lg_ri(n, salt, {nasty_count})] $fn$;
CREATE FUNCTION pg_temp.lg_username(n bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT CASE WHEN n = 3 THEN 'z'
                      WHEN mod(n, 97) = 13 THEN rpad(({prefixes}::text[])[1 + pg_temp.lg_ri(n, 901, {prefix_count})] || n::text, 50, 'x')
                      ELSE ({prefixes}::text[])[1 + pg_temp.lg_ri(n, 901, {prefix_count})] || n::text END $fn$;
CREATE FUNCTION pg_temp.lg_email(n bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT CASE WHEN n = 5 THEN 'a@b'
                      WHEN mod(n, 89) = 7 THEN rpad(({locals}::text[])[1 + pg_temp.lg_ri(n, 902, {local_count})] || '.' || n::text || '.', 235, 'x') || '@mail.example.co.uk'
                      ELSE ({locals}::text[])[1 + pg_temp.lg_ri(n, 902, {local_count})] || '.' || n::text || '@'
                           || ({domains}::text[])[1 + pg_temp.lg_ri(n, 903, {domain_count})] END $fn$;
CREATE FUNCTION pg_temp.lg_play_track(n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT 1 + mod(floor(power(pg_temp.lg_r(n, 70), 2) * {tracks})::bigint * {track_stride}, {tracks}) $fn$;
CREATE FUNCTION pg_temp.lg_likes_of(u bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT least({tracks}, pg_temp.lg_ri(u, 81, {likes_k})) $fn$;
CREATE FUNCTION pg_temp.lg_like_track(u bigint, j bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT 1 + mod(pg_temp.lg_ri(u, 80, {tracks}) + j * {track_stride}, {tracks}) $fn$;
"""

_DROP_FUNCTIONS = """
DROP FUNCTION pg_temp.lg_like_track(bigint, bigint), pg_temp.lg_likes_of(bigint), pg_temp.lg_play_track(bigint),
    pg_temp.lg_email(bigint), pg_temp.lg_username(bigint), pg_temp.lg_nasty(bigint, integer),
    pg_temp.lg_ago(bigint, integer), pg_temp.lg_uuid(text, bigint), pg_temp.lg_ri(bigint, integer, bigint),
    pg_temp.lg_r2(bigint, bigint, integer), pg_temp.lg_r(bigint, integer)
"""

# One INSERT ... SELECT per Lab table, parents first. Parameters: see _params(). No `%` operator
# (psycopg placeholders): mod() instead.
_LAB: tuple[tuple[str, str], ...] = (
    ("users", """
INSERT INTO users (id, username, email, password_hash, display_name, avatar_url, bio, account_type, status,
                   email_verified_at, last_login_at, created_at, updated_at, deleted_at)
SELECT pg_temp.lg_uuid('users', n),
       CASE WHEN dead AND mod(n, 2) = 0 THEN upper(pg_temp.lg_username(n - 1)) ELSE pg_temp.lg_username(n) END,
       CASE WHEN dead AND mod(n, 2) = 0 THEN upper(pg_temp.lg_email(n - 1)) ELSE pg_temp.lg_email(n) END,
       CASE WHEN mod(n, 3) = 0 THEN '$2b$12$' || left(md5('a' || n) || md5('b' || n), 53)
            ELSE '$argon2id$v=19$m=65536,t=3,p=4$' || md5('c' || n) || '$' || md5('d' || n) END,
       CASE WHEN mod(n, 97) = 11 THEN repeat('é', 100)
            WHEN pg_temp.lg_r(n, 3) < %(null_rate)s THEN NULL
            ELSE pg_temp.lg_nasty(n, 4) || ' #' || n END,
       CASE WHEN pg_temp.lg_r(n, 5) < 3 * %(null_rate)s THEN NULL
            ELSE 'https://cdn.example.com/avatars/' || n || '.jpg' END,
       CASE WHEN mod(n, 89) = 5 THEN repeat('b', 2000)
            WHEN mod(n, 89) = 6 THEN ''
            WHEN pg_temp.lg_r(n, 6) < 3 * %(null_rate)s THEN NULL
            ELSE pg_temp.lg_nasty(n, 7) || chr(10) || pg_temp.lg_nasty(n, 8) END,
       CASE WHEN mod(n, 5) = 1 THEN 'artist' ELSE 'listener' END,
       CASE WHEN st < 90 THEN 'active' WHEN st < 94 THEN 'suspended' WHEN st < 97 THEN 'banned'
            ELSE 'deactivated' END,
       CASE WHEN pg_temp.lg_r(n, 10) < 0.2 THEN NULL
            ELSE c + (%(anchor)s - c) * (0.05 * pg_temp.lg_r(n, 11)) END,
       CASE WHEN pg_temp.lg_r(n, 12) < %(null_rate)s THEN NULL
            ELSE c + (%(anchor)s - c) * pg_temp.lg_r(n, 13) END,
       c,
       CASE WHEN dead THEN c + (%(anchor)s - c) * pg_temp.lg_r(n, 15)
            ELSE c + (%(anchor)s - c) * pg_temp.lg_r(n, 14) END,
       CASE WHEN dead THEN c + (%(anchor)s - c) * pg_temp.lg_r(n, 15) END
FROM (SELECT n, pg_temp.lg_ago(n, 2) AS c, pg_temp.lg_ri(n, 9, 100) AS st,
             (pg_temp.lg_r(n, 1) < %(deleted_rate)s OR mod(n, 50) = 4) AS dead
      FROM generate_series(1, %(users)s::bigint) AS n OFFSET 0) AS s
"""),
    ("roles", """
INSERT INTO roles (id, name, description, created_at, updated_at)
SELECT pg_temp.lg_uuid('roles', n), name, descr,
       CASE WHEN n = 4 THEN NULL ELSE pg_temp.lg_ago(n, 200) END,
       CASE WHEN n IN (4, 6) THEN NULL ELSE pg_temp.lg_ago(n, 200) + interval '1 day' END
FROM unnest(%(role_names)s::text[], %(role_descriptions)s::text[]) WITH ORDINALITY AS v(name, descr, n)
"""),
    ("permissions", """
INSERT INTO permissions (id, name, description, created_at)
SELECT pg_temp.lg_uuid('permissions', n), name,
       CASE WHEN mod(n, 4) = 0 THEN NULL
            WHEN mod(n, 7) = 0 THEN 'May ' || name || ': ' || pg_temp.lg_nasty(n, 210)
            ELSE 'May ' || name END,
       CASE WHEN mod(n, 17) = 3 THEN NULL ELSE pg_temp.lg_ago(n, 211) END
FROM unnest(%(permission_names)s::text[]) WITH ORDINALITY AS v(name, n)
"""),
    ("role_permissions", """
INSERT INTO role_permissions (role_id, permission_id, created_at)
SELECT pg_temp.lg_uuid('roles', r), pg_temp.lg_uuid('permissions', p),
       CASE WHEN mod(r * 31 + p, 23) = 0 THEN NULL ELSE pg_temp.lg_ago(r * 1000 + p, 220) END
FROM generate_series(1, %(role_count)s::bigint) AS r, generate_series(1, %(permission_count)s::bigint) AS p
WHERE r = 1 OR pg_temp.lg_r2(r, p, 221) < 0.3
"""),
    ("user_roles", """
INSERT INTO user_roles (user_id, role_id, granted_by, created_at)
SELECT pg_temp.lg_uuid('users', g.u), pg_temp.lg_uuid('roles', g.r),
       CASE WHEN pg_temp.lg_r2(g.u, g.r, 230) < 0.3 THEN NULL
            WHEN pg_temp.lg_r2(g.u, g.r, 231) < 0.5 THEN pg_temp.lg_uuid('users', 1)
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(g.u * 10 + g.r, 232, %(users)s)) END,
       u.created_at + (%(anchor)s - u.created_at) * pg_temp.lg_r2(g.u, g.r, 233)
FROM (SELECT n AS u, CASE WHEN mod(n, 5) = 1 THEN 3 ELSE 4 END AS r
      FROM generate_series(1, %(users)s::bigint) AS n WHERE pg_temp.lg_r(n, 234) >= 0.1
      UNION ALL
      SELECT n, 1 FROM generate_series(1, least(3, %(users)s)::bigint) AS n
      UNION ALL
      SELECT n, 2 FROM generate_series(4, %(users)s::bigint) AS n WHERE pg_temp.lg_r(n, 235) < 0.02
      UNION ALL
      SELECT n, 5 + pg_temp.lg_ri(n, 237, 4) FROM generate_series(4, %(users)s::bigint) AS n
      WHERE pg_temp.lg_r(n, 236) < 0.03) AS g
JOIN users AS u ON u.id = pg_temp.lg_uuid('users', g.u)
"""),
    ("tracks", """
INSERT INTO tracks (id, user_id, title, artist_name, album, genre, description, duration_ms, storage_key, format,
                    file_size_bytes, bitrate_kbps, sample_rate_hz, cover_url, visibility, status, play_count,
                    like_count, created_at, updated_at, deleted_at)
SELECT pg_temp.lg_uuid('tracks', s.n), u.id,
       CASE WHEN mod(s.n, 71) = 3 THEN repeat('日', 200)
            WHEN mod(s.n, 71) = 4 THEN repeat('x', 200)
            WHEN pg_temp.lg_r(s.n, 22) < 0.3 THEN 'Track ' || s.n || ' ' || pg_temp.lg_nasty(s.n, 23)
            ELSE 'Track ' || s.n END,
       CASE WHEN pg_temp.lg_r(s.n, 24) < %(null_rate)s THEN NULL ELSE coalesce(u.display_name, u.username) END,
       CASE WHEN pg_temp.lg_r(s.n, 25) < 3 * %(null_rate)s THEN NULL
            ELSE 'Album ' || mod(s.n, 997) || ' ' || pg_temp.lg_nasty(s.n, 26) END,
       CASE WHEN pg_temp.lg_r(s.n, 27) < %(null_rate)s THEN NULL
            ELSE (ARRAY['rock', 'électro', 'hip-hop', 'lo-fi', 'drum''n''bass', 'J-pop 日本', 'jazz', 'metal',
                        'classical', 'world'])[1 + pg_temp.lg_ri(s.n, 28, 10)] END,
       CASE WHEN mod(s.n, 73) = 2 THEN repeat('d', 5000)
            WHEN mod(s.n, 73) = 5 THEN ''
            WHEN pg_temp.lg_r(s.n, 33) < 3 * %(null_rate)s THEN NULL
            ELSE pg_temp.lg_nasty(s.n, 34) || chr(10) || pg_temp.lg_nasty(s.n, 35) || chr(9) || 'n°' || s.n END,
       CASE WHEN s.status = 'uploading' OR pg_temp.lg_r(s.n, 36) < %(null_rate)s THEN NULL
            ELSE 30000 + pg_temp.lg_ri(s.n, 30, 570000) END,
       'tracks/' || pg_temp.lg_uuid('tracks', s.n) || '/original.' || s.fmt,
       s.fmt,
       CASE WHEN s.status = 'uploading' AND mod(s.n, 3) = 0 THEN 0
            ELSE 100000 + pg_temp.lg_ri(s.n, 31, 200000000) END,
       CASE WHEN pg_temp.lg_r(s.n, 37) < %(null_rate)s THEN NULL
            ELSE (ARRAY[96, 128, 192, 256, 320, 1411])[1 + pg_temp.lg_ri(s.n, 38, 6)] END,
       CASE WHEN pg_temp.lg_r(s.n, 39) < %(null_rate)s THEN NULL
            ELSE (ARRAY[44100, 48000, 96000])[1 + pg_temp.lg_ri(s.n, 40, 3)] END,
       CASE WHEN pg_temp.lg_r(s.n, 41) < 3 * %(null_rate)s THEN NULL
            ELSE 'https://cdn.example.com/covers/' || s.n || '.png' END,
       (ARRAY['public', 'public', 'public', 'unlisted', 'private'])[1 + pg_temp.lg_ri(s.n, 42, 5)],
       s.status,
       coalesce(pc.c, 0), coalesce(lc.c, 0),
       cx.c,
       CASE WHEN s.dead THEN cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r(s.n, 44)
            ELSE cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r(s.n, 43) END,
       CASE WHEN s.dead THEN cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r(s.n, 44) END
FROM (SELECT n, 1 + 5 * pg_temp.lg_ri(n, 20, %(artists)s) AS owner,
             (ARRAY['mp3', 'flac', 'wav', 'aac', 'm4a', 'ogg', 'opus', 'aiff'])[1 + pg_temp.lg_ri(n, 29, 8)] AS fmt,
             CASE WHEN pg_temp.lg_ri(n, 21, 100) < 85 THEN 'ready'
                  WHEN pg_temp.lg_ri(n, 21, 100) < 90 THEN 'processing'
                  WHEN pg_temp.lg_ri(n, 21, 100) < 95 THEN 'uploading' ELSE 'failed' END AS status,
             (pg_temp.lg_r(n, 45) < %(deleted_rate)s OR mod(n, 61) = 7) AS dead
      FROM generate_series(1, %(tracks)s::bigint) AS n OFFSET 0) AS s
JOIN users AS u ON u.id = pg_temp.lg_uuid('users', s.owner)
CROSS JOIN LATERAL (SELECT u.created_at + (%(anchor)s - u.created_at) * pg_temp.lg_r(s.n, 32) AS c) AS cx
LEFT JOIN (SELECT pg_temp.lg_play_track(p) AS tno, count(*) AS c
           FROM generate_series(1, %(plays)s::bigint) AS p GROUP BY 1) AS pc ON pc.tno = s.n
LEFT JOIN (SELECT pg_temp.lg_like_track(u, j) AS tno, count(*) AS c
           FROM generate_series(1, %(users)s::bigint) AS u,
                generate_series(0, pg_temp.lg_likes_of(u) - 1) AS j GROUP BY 1) AS lc ON lc.tno = s.n
"""),
    ("playlists", """
INSERT INTO playlists (id, user_id, title, description, cover_url, visibility, created_at, updated_at, deleted_at)
SELECT pg_temp.lg_uuid('playlists', s.n), u.id,
       CASE WHEN mod(s.n, 67) = 3 THEN repeat('🎵', 200)
            WHEN pg_temp.lg_r(s.n, 51) < 0.4 THEN pg_temp.lg_nasty(s.n, 52) || ' mix ' || s.n
            ELSE 'Playlist ' || s.n END,
       CASE WHEN mod(s.n, 67) = 5 THEN repeat('ß', 5000)
            WHEN mod(s.n, 67) = 6 THEN ''
            WHEN pg_temp.lg_r(s.n, 53) < 3 * %(null_rate)s THEN NULL
            ELSE pg_temp.lg_nasty(s.n, 54) || chr(13) || chr(10) || pg_temp.lg_nasty(s.n, 55) END,
       CASE WHEN pg_temp.lg_r(s.n, 56) < 5 * %(null_rate)s THEN NULL
            ELSE 'https://cdn.example.com/playlists/' || s.n || '.webp' END,
       (ARRAY['public', 'unlisted', 'private'])[1 + pg_temp.lg_ri(s.n, 57, 3)],
       cx.c,
       CASE WHEN s.dead THEN cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r(s.n, 59)
            ELSE cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r(s.n, 58) END,
       CASE WHEN s.dead THEN cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r(s.n, 59) END
FROM (SELECT n, 1 + pg_temp.lg_ri(n, 50, %(users)s) AS owner,
             (pg_temp.lg_r(n, 60) < %(deleted_rate)s OR mod(n, 41) = 9) AS dead
      FROM generate_series(1, %(playlists)s::bigint) AS n OFFSET 0) AS s
JOIN users AS u ON u.id = pg_temp.lg_uuid('users', s.owner)
CROSS JOIN LATERAL (SELECT u.created_at + (%(anchor)s - u.created_at) * pg_temp.lg_r(s.n, 61) AS c) AS cx
"""),
    ("playlist_tracks", """
INSERT INTO playlist_tracks (id, playlist_id, track_id, added_by, position, created_at)
SELECT pg_temp.lg_uuid('playlist_tracks', s.pn * 100000 + j), p.id,
       pg_temp.lg_uuid('tracks', 1 + pg_temp.lg_ri(s.pn * 100000 + j, 62, %(tracks)s)),
       CASE WHEN pg_temp.lg_r2(s.pn, j, 63) < %(null_rate)s THEN NULL
            WHEN pg_temp.lg_r2(s.pn, j, 64) < 0.8 THEN p.user_id
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(s.pn * 100000 + j, 65, %(users)s)) END,
       CASE WHEN mod(s.pn, 4) = 0 THEN 10 * j ELSE j END,
       CASE WHEN mod(s.pn * 31 + j, 113) = 0 THEN NULL
            ELSE p.created_at + (%(anchor)s - p.created_at) * pg_temp.lg_r2(s.pn, j, 66) END
FROM (SELECT n AS pn, pg_temp.lg_ri(n, 67, %(entries_k)s) AS k
      FROM generate_series(1, %(playlists)s::bigint) AS n OFFSET 0) AS s
JOIN playlists AS p ON p.id = pg_temp.lg_uuid('playlists', s.pn)
CROSS JOIN LATERAL generate_series(0, s.k - 1) AS j
"""),
    ("user_sessions", """
INSERT INTO user_sessions (id, user_id, session_token, ip, user_agent, last_seen_at, expires_at, revoked_at,
                           created_at, updated_at)
SELECT s.n, u.id,
       'st_' || replace(pg_temp.lg_uuid('session_token', s.n)::text, '-', '')
             || replace(pg_temp.lg_uuid('session_token2', s.n)::text, '-', ''),
       CASE s.ipk WHEN 0 THEN NULL
                  WHEN 1 THEN '203.0.113.' || mod(s.n, 256)
                  WHEN 2 THEN '10.' || mod(s.n / 65536, 256) || '.' || mod(s.n / 256, 256) || '.' || mod(s.n, 256)
                  WHEN 3 THEN '2001:db8::' || to_hex(s.n / 65536) || ':' || to_hex(mod(s.n, 65536))
                  WHEN 4 THEN '::ffff:192.0.2.' || mod(s.n, 256)
                  WHEN 5 THEN '2001:0db8:0000:0000:0000:ff00:0042:' || lpad(to_hex(mod(s.n, 65536)::int), 4, '0')
                  WHEN 6 THEN '0000:0000:0000:0000:0000:ffff:203.113.' || (100 + mod(s.n, 100)) || '.' || (100 + mod(s.n / 100, 156))
                  WHEN 7 THEN '::1'
                  ELSE '192.168.' || mod(s.n / 256, 256) || '.' || mod(s.n, 256) END,
       CASE WHEN mod(s.n, 97) = 1 THEN repeat('u', 1024)
            WHEN pg_temp.lg_r(s.n, 71) < %(null_rate)s THEN NULL
            ELSE (ARRAY['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
                        'VezaApp/3.2 (iPhone; iOS 17.1; "beta")', 'curl/8.4.0', 'Dalvik/2.1.0 (Linux; U; Android 14)',
                        'okhttp/4.12.0'])[1 + pg_temp.lg_ri(s.n, 72, 5)] || ' ' || pg_temp.lg_nasty(s.n, 73) END,
       CASE WHEN mod(s.n, 37) = 4 THEN NULL
            ELSE cx.c + (least(cx.e, %(anchor)s) - cx.c) * pg_temp.lg_r(s.n, 74) END,
       cx.e,
       CASE WHEN s.revoked THEN cx.c + (least(cx.e, %(anchor)s) - cx.c) * pg_temp.lg_r(s.n, 75) END,
       cx.c,
       CASE WHEN mod(s.n, 43) = 6 THEN NULL
            ELSE cx.c + (least(cx.e, %(anchor)s) - cx.c) * pg_temp.lg_r(s.n, 76) END
FROM (SELECT n, 1 + pg_temp.lg_ri(n, 70, %(users)s) AS owner, pg_temp.lg_ri(n, 77, 10) AS ipk,
             pg_temp.lg_r(n, 78) < 0.2 AS revoked,
             (ARRAY[interval '1 day', interval '30 days', interval '30 days', interval '365 days'])
                 [1 + pg_temp.lg_ri(n, 79, 4)] AS life
      FROM generate_series(1, %(sessions)s::bigint) AS n OFFSET 0) AS s
JOIN users AS u ON u.id = pg_temp.lg_uuid('users', s.owner)
CROSS JOIN LATERAL (SELECT u.created_at + (%(anchor)s - u.created_at) * pg_temp.lg_r(s.n, 80) AS c,
                           u.created_at + (%(anchor)s - u.created_at) * pg_temp.lg_r(s.n, 80) + s.life AS e) AS cx
"""),
    ("refresh_tokens", """
INSERT INTO refresh_tokens (id, user_id, session_id, token, expires_at, revoked_at, replaced_by_id, created_at,
                            updated_at)
SELECT t.id, t.user_id, t.session_id,
       'rt_' || replace(pg_temp.lg_uuid('refresh_token', t.id)::text, '-', '')
             || replace(pg_temp.lg_uuid('refresh_token2', t.id)::text, '-', ''),
       t.c + interval '14 days',
       CASE WHEN t.j < t.k - 1 THEN t.c + t.step
            WHEN t.revoked_at IS NOT NULL THEN greatest(t.revoked_at, t.c) END,
       CASE WHEN t.j < t.k - 1 THEN t.id + 1 END,
       t.c,
       CASE WHEN mod(t.id, 47) = 5 THEN NULL
            WHEN t.j < t.k - 1 THEN t.c + t.step
            ELSE t.c END
FROM (SELECT row_number() OVER (ORDER BY s.id, j) AS id, s.user_id, s.id AS session_id, s.revoked_at, j, s.k,
             s.created_at + j * s.step AS c, s.step
      FROM (SELECT us.*, 1 + pg_temp.lg_ri(us.id, 90, %(chain_k)s) AS k,
                   (ARRAY[interval '15 minutes', interval '1 hour', interval '1 day'])
                       [1 + pg_temp.lg_ri(us.id, 91, 3)] AS step
            FROM user_sessions AS us) AS s
      CROSS JOIN LATERAL generate_series(0, s.k - 1) AS j) AS t
"""),
    ("password_reset_tokens", """
INSERT INTO password_reset_tokens (id, user_id, token, expires_at, used_at, created_at)
SELECT s.n, u.id,
       'prt_' || replace(pg_temp.lg_uuid('reset_token', s.n)::text, '-', ''),
       cx.c + (ARRAY[interval '15 minutes', interval '1 hour'])[1 + pg_temp.lg_ri(s.n, 101, 2)],
       CASE WHEN pg_temp.lg_r(s.n, 102) < 0.6 THEN NULL
            ELSE cx.c + pg_temp.lg_r(s.n, 103) * interval '10 minutes' END,
       cx.c
FROM (SELECT n, 1 + pg_temp.lg_ri(n, 100, %(users)s) AS owner
      FROM generate_series(1, %(reset_tokens)s::bigint) AS n OFFSET 0) AS s
JOIN users AS u ON u.id = pg_temp.lg_uuid('users', s.owner)
CROSS JOIN LATERAL (SELECT u.created_at + (%(anchor)s - u.created_at) * pg_temp.lg_r(s.n, 104) AS c) AS cx
"""),
    ("email_verification_tokens", """
INSERT INTO email_verification_tokens (id, user_id, email, token, expires_at, used_at, created_at)
SELECT s.n, u.id,
       CASE WHEN pg_temp.lg_r(s.n, 111) < 0.8 THEN u.email
            ELSE 'new.' || s.n || '@' || split_part(pg_temp.lg_email(s.n), '@', 2) END,
       'evt_' || replace(pg_temp.lg_uuid('verification_token', s.n)::text, '-', ''),
       cx.c + interval '24 hours',
       CASE WHEN pg_temp.lg_r(s.n, 112) < 0.4 THEN NULL
            ELSE cx.c + pg_temp.lg_r(s.n, 113) * interval '20 hours' END,
       cx.c
FROM (SELECT n, 1 + pg_temp.lg_ri(n, 110, %(users)s) AS owner
      FROM generate_series(1, %(verification_tokens)s::bigint) AS n OFFSET 0) AS s
JOIN users AS u ON u.id = pg_temp.lg_uuid('users', s.owner)
CROSS JOIN LATERAL (SELECT u.created_at + (%(anchor)s - u.created_at) * pg_temp.lg_r(s.n, 114) AS c) AS cx
"""),
    ("track_versions", """
INSERT INTO track_versions (id, track_id, created_by, version_number, storage_key, format, file_size_bytes,
                            duration_ms, changelog, created_at, updated_at)
SELECT row_number() OVER (ORDER BY v.tn, v.j), v.track_id,
       CASE WHEN pg_temp.lg_r2(v.tn, v.j, 121) < %(null_rate)s THEN NULL
            WHEN pg_temp.lg_r2(v.tn, v.j, 122) < 0.9 THEN v.owner
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(v.tn * 100 + v.j, 123, %(users)s)) END,
       v.vn,
       'tracks/' || v.track_id || '/v' || v.vn || '.' || v.fmt,
       v.fmt,
       CASE WHEN mod(v.tn + v.j, 53) = 0 THEN 0 ELSE 100000 + pg_temp.lg_ri(v.tn * 100 + v.j, 124, 200000000) END,
       CASE WHEN pg_temp.lg_r2(v.tn, v.j, 125) < %(null_rate)s THEN NULL
            ELSE 30000 + pg_temp.lg_ri(v.tn * 100 + v.j, 126, 570000) END,
       CASE WHEN mod(v.tn + v.j, 59) = 1 THEN repeat('c', 2000)
            WHEN mod(v.tn + v.j, 59) = 2 THEN ''
            WHEN pg_temp.lg_r2(v.tn, v.j, 127) < 3 * %(null_rate)s THEN NULL
            ELSE 'v' || v.vn || ': ' || pg_temp.lg_nasty(v.tn * 100 + v.j, 128) || chr(10) || '- '
                 || pg_temp.lg_nasty(v.tn * 100 + v.j, 129) END,
       v.c, v.c + (%(anchor)s - v.c) * pg_temp.lg_r2(v.tn, v.j, 130)
FROM (SELECT s.tn, j, t.id AS track_id, t.user_id AS owner,
             j + 1 + CASE WHEN mod(s.tn, 6) = 0 AND j >= 1 THEN 1 ELSE 0 END AS vn,
             (ARRAY['mp3', 'flac', 'wav', 'aac', 'm4a', 'ogg', 'opus', 'aiff'])
                 [1 + pg_temp.lg_ri(s.tn * 100 + j, 131, 8)] AS fmt,
             t.created_at + (%(anchor)s - t.created_at) * ((j + pg_temp.lg_r2(s.tn, j, 132)) / s.k) AS c
      FROM (SELECT n AS tn, pg_temp.lg_ri(n, 120, %(versions_k)s) AS k
            FROM generate_series(1, %(tracks)s::bigint) AS n OFFSET 0) AS s
      JOIN tracks AS t ON t.id = pg_temp.lg_uuid('tracks', s.tn)
      CROSS JOIN LATERAL generate_series(0, s.k - 1) AS j) AS v
"""),
    ("hls_streams", """
WITH targets AS (
    SELECT n AS k, t.id AS track_id, NULL::bigint AS version_id, t.created_at
    FROM generate_series(1, %(tracks)s::bigint) AS n
    JOIN tracks AS t ON t.id = pg_temp.lg_uuid('tracks', n)
    WHERE pg_temp.lg_r(n, 140) < 0.5
    UNION ALL
    SELECT %(tracks)s + v.id, v.track_id, v.id, v.created_at
    FROM track_versions AS v
    WHERE pg_temp.lg_r(v.id, 141) < 0.5
)
INSERT INTO hls_streams (id, track_id, track_version_id, codec, bitrate_kbps, sample_rate_hz, manifest_key,
                         segment_duration_ms, segment_count, status, created_at, updated_at)
SELECT row_number() OVER (ORDER BY g.k, rd.i), g.track_id, g.version_id, rd.codec, rd.kbps,
       CASE WHEN pg_temp.lg_r2(g.k, rd.i, 142) < %(null_rate)s THEN NULL
            ELSE (ARRAY[44100, 48000])[1 + pg_temp.lg_ri(g.k * 16 + rd.i, 143, 2)] END,
       'hls/' || g.track_id || '/' || coalesce('v' || g.version_id, 'original') || '/' || rd.codec || '_' || rd.kbps
           || '/index.m3u8',
       CASE WHEN pg_temp.lg_r2(g.k, rd.i, 144) < %(null_rate)s THEN NULL
            ELSE (ARRAY[2000, 4000, 6000, 6006])[1 + pg_temp.lg_ri(g.k * 16 + rd.i, 145, 4)] END,
       CASE WHEN pg_temp.lg_r2(g.k, rd.i, 146) < %(null_rate)s THEN NULL
            WHEN pg_temp.lg_r2(g.k, rd.i, 147) < 0.1 THEN 0
            ELSE 10 + pg_temp.lg_ri(g.k * 16 + rd.i, 148, 200) END,
       (ARRAY['ready', 'ready', 'ready', 'ready', 'pending', 'processing', 'failed'])
           [1 + pg_temp.lg_ri(g.k * 16 + rd.i, 149, 7)],
       g.created_at + (%(anchor)s - g.created_at) * (0.1 * pg_temp.lg_r2(g.k, rd.i, 150)),
       g.created_at + (%(anchor)s - g.created_at) * (0.1 + 0.9 * pg_temp.lg_r2(g.k, rd.i, 151))
FROM targets AS g
CROSS JOIN unnest(ARRAY['aac', 'aac', 'aac', 'he-aac', 'opus', 'mp3', 'flac', 'alac'],
                  ARRAY[64, 128, 256, 48, 96, 320, 1411, 1411]) WITH ORDINALITY AS rd(codec, kbps, i)
WHERE pg_temp.lg_r2(g.k, rd.i, 152) < 0.4
"""),
    ("hls_transcode_queue", """
WITH targets AS (
    SELECT n AS k, t.id AS track_id, NULL::bigint AS version_id, t.created_at
    FROM generate_series(1, %(tracks)s::bigint) AS n
    JOIN tracks AS t ON t.id = pg_temp.lg_uuid('tracks', n)
    WHERE pg_temp.lg_r(n, 160) < 0.6
    UNION ALL
    SELECT %(tracks)s + v.id, v.track_id, v.id, v.created_at
    FROM track_versions AS v
    WHERE pg_temp.lg_r(v.id, 161) < 0.6
), jobs AS (
    SELECT g.*, j, g.k * 4 + j AS h,
           CASE WHEN j < m - 1 THEN (ARRAY['succeeded', 'failed', 'cancelled'])[1 + pg_temp.lg_ri(g.k * 4 + j, 163, 3)]
                ELSE (ARRAY['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'cancelled',
                            'queued', 'queued', 'running', 'running'])[1 + pg_temp.lg_ri(g.k * 4 + j, 164, 11)] END
               AS status,
           (ARRAY[3, 3, 3, 5, 1, 10, 100])[1 + pg_temp.lg_ri(g.k * 4 + j, 165, 7)] AS ma,
           g.created_at + (%(anchor)s - g.created_at) * ((j + pg_temp.lg_r2(g.k, j, 166)) / m) AS c
    FROM (SELECT targets.*, 1 + pg_temp.lg_ri(targets.k, 162, 3) AS m FROM targets) AS g
    CROSS JOIN LATERAL generate_series(0, g.m - 1) AS j
), locked AS (
    SELECT jobs.*,
           CASE WHEN status = 'running' OR (status IN ('succeeded', 'failed') AND pg_temp.lg_r(h, 167) < 0.7)
                THEN CASE WHEN mod(h, 211) = 17 THEN repeat('w', 200)
                          ELSE (ARRAY['worker-1', 'transcoder-7f9c', 'host-日本-2', 'pod ''a''/b'])
                                   [1 + pg_temp.lg_ri(h, 168, 4)] || ':' || mod(h, 1000) END END AS locked_by,
           c + pg_temp.lg_r(h, 169) * interval '2 minutes' AS lock_time
    FROM jobs
)
INSERT INTO hls_transcode_queue (id, track_id, track_version_id, status, priority, attempts, max_attempts, run_after,
                                 locked_by, locked_at, last_error, finished_at, created_at, updated_at)
SELECT row_number() OVER (ORDER BY l.k, l.j), l.track_id, l.version_id, l.status,
       (ARRAY[0, 0, 0, 0, 0, 10, -10, 50, 100, -100])[1 + pg_temp.lg_ri(l.h, 170, 10)],
       CASE l.status WHEN 'failed' THEN l.ma
                     WHEN 'queued' THEN pg_temp.lg_ri(l.h, 171, l.ma)
                     WHEN 'cancelled' THEN pg_temp.lg_ri(l.h, 171, l.ma + 1)
                     ELSE 1 + pg_temp.lg_ri(l.h, 171, l.ma) END,
       l.ma,
       (l.c + pg_temp.lg_r(l.h, 172) * interval '10 minutes') AT TIME ZONE 'UTC',
       l.locked_by,
       CASE WHEN l.locked_by IS NOT NULL THEN l.lock_time END,
       CASE WHEN l.status = 'failed' OR (l.status = 'queued' AND mod(l.h, 3) = 0)
            THEN CASE WHEN mod(l.h, 199) = 3 THEN repeat('e', 4000)
                      ELSE 'ffmpeg exited with status ' || (1 + mod(l.h, 255)) || ':' || chr(10) || chr(9)
                           || pg_temp.lg_nasty(l.h, 173) || chr(13) || chr(10) || 'at C:\\tmp\\' || l.k END END,
       CASE WHEN l.status IN ('succeeded', 'failed', 'cancelled')
            THEN l.lock_time + interval '1 minute' + pg_temp.lg_r(l.h, 174) * interval '20 minutes' END,
       l.c,
       CASE WHEN l.status IN ('succeeded', 'failed', 'cancelled')
            THEN l.lock_time + interval '1 minute' + pg_temp.lg_r(l.h, 174) * interval '20 minutes'
            WHEN l.locked_by IS NOT NULL THEN l.lock_time
            ELSE l.c END
FROM locked AS l
"""),
    ("bitrate_adaptation_logs", """
INSERT INTO bitrate_adaptation_logs (id, track_id, user_id, session_id, from_bitrate_kbps, to_bitrate_kbps,
                                     bandwidth_kbps, buffer_ms, position_ms, reason, created_at)
SELECT s.n,
       pg_temp.lg_uuid('tracks', pg_temp.lg_play_track(s.n + 7777777)),
       CASE WHEN pg_temp.lg_r(s.n, 181) < %(null_rate)s THEN NULL
            WHEN us.user_id IS NOT NULL THEN us.user_id
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(s.n, 182, %(users)s)) END,
       us.id,
       CASE WHEN s.reason = 'initial' THEN NULL ELSE s.from_kbps END,
       s.to_kbps,
       CASE WHEN mod(s.n, 31) = 0 THEN 0
            WHEN pg_temp.lg_r(s.n, 183) < %(null_rate)s THEN NULL
            ELSE 50 + pg_temp.lg_ri(s.n, 184, 20000) END,
       CASE WHEN pg_temp.lg_r(s.n, 185) < %(null_rate)s THEN NULL ELSE pg_temp.lg_ri(s.n, 186, 30000) END,
       CASE WHEN pg_temp.lg_r(s.n, 187) < %(null_rate)s THEN NULL ELSE pg_temp.lg_ri(s.n, 188, 600000) END,
       s.reason,
       CASE WHEN us.id IS NULL THEN pg_temp.lg_ago(s.n, 189)
            ELSE us.created_at + (least(us.expires_at, %(anchor)s) - us.created_at) * pg_temp.lg_r(s.n, 190) END
FROM (SELECT n,
             CASE WHEN pg_temp.lg_r(n, 191) < 0.15 THEN NULL ELSE 1 + pg_temp.lg_ri(n, 192, %(sessions)s) END AS sno,
             (ARRAY[64, 96, 128, 256, 320])[1 + pg_temp.lg_ri(n, 193, 5)] AS from_kbps,
             (ARRAY[48, 64, 128, 192, 256])[1 + pg_temp.lg_ri(n, 194, 5)] AS to_kbps,
             (ARRAY['initial', 'bandwidth_drop', 'bandwidth_rise', 'buffer_low', 'buffer_high', 'manual', 'error'])
                 [1 + pg_temp.lg_ri(n, 195, 7)] AS reason
      FROM generate_series(1, %(adaptations)s::bigint) AS n OFFSET 0) AS s
LEFT JOIN user_sessions AS us ON us.id = s.sno
"""),
    ("playback_analytics", """
INSERT INTO playback_analytics (id, track_id, user_id, started_at, ended_at, position_ms, duration_played_ms,
                                buffering_count, buffering_ms, average_bitrate_kbps, device_type, country_code,
                                created_at)
SELECT s.n,
       pg_temp.lg_uuid('tracks', pg_temp.lg_play_track(s.n + 5555555)),
       CASE WHEN pg_temp.lg_r(s.n, 201) < 0.15 THEN NULL
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(s.n, 202, %(users)s)) END,
       s.started,
       CASE WHEN pg_temp.lg_r(s.n, 203) < 0.15 THEN NULL
            WHEN mod(s.n, 29) = 0 THEN s.started
            ELSE s.started + s.played * interval '1 millisecond' + pg_temp.lg_r(s.n, 204) * interval '5 seconds' END,
       pg_temp.lg_ri(s.n, 205, 600000),
       CASE WHEN mod(s.n, 29) = 0 THEN 0 ELSE s.played END,
       pg_temp.lg_ri(s.n, 206, 5),
       CASE WHEN mod(s.n, 5) = 0 THEN pg_temp.lg_ri(s.n, 207, 20000) ELSE 0 END,
       CASE WHEN pg_temp.lg_r(s.n, 208) < %(null_rate)s THEN NULL ELSE 64 + pg_temp.lg_ri(s.n, 209, 256) END,
       CASE WHEN mod(s.n, 53) = 7 THEN NULL
            ELSE (ARRAY['web', 'ios', 'android', 'desktop', 'tv', 'speaker', 'car', 'other'])
                     [1 + pg_temp.lg_ri(s.n, 210, 8)] END,
       CASE WHEN pg_temp.lg_r(s.n, 211) < %(null_rate)s THEN NULL
            ELSE (ARRAY['FR', 'US', 'JP', 'DE', 'BR', 'GB', 'IN', 'NG', 'CA', 'KR'])[1 + pg_temp.lg_ri(s.n, 212, 10)] END,
       s.started + pg_temp.lg_r(s.n, 213) * interval '1 second'
FROM (SELECT n, pg_temp.lg_ago(n, 214) AS started, pg_temp.lg_ri(n, 215, 600000) AS played
      FROM generate_series(1, %(analytics)s::bigint) AS n OFFSET 0) AS s
"""),
    ("track_plays", """
INSERT INTO track_plays (id, track_id, user_id, played_at, ms_played, source, created_at)
SELECT s.n, t.id,
       CASE WHEN pg_temp.lg_r(s.n, 221) < 0.15 THEN NULL
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(s.n, 222, %(users)s)) END,
       cx.p,
       CASE WHEN pg_temp.lg_r(s.n, 223) < 0.05 THEN 0
            ELSE least(coalesce(t.duration_ms, 300000), pg_temp.lg_ri(s.n, 224, 400000)) END,
       (ARRAY['library', 'playlist', 'album', 'artist', 'search', 'radio', 'recommendation', 'share', 'embed',
              'other'])[1 + pg_temp.lg_ri(s.n, 225, 10)],
       cx.p + pg_temp.lg_r(s.n, 226) * interval '2 seconds'
FROM (SELECT n, pg_temp.lg_play_track(n) AS tno FROM generate_series(1, %(plays)s::bigint) AS n OFFSET 0) AS s
JOIN tracks AS t ON t.id = pg_temp.lg_uuid('tracks', s.tno)
CROSS JOIN LATERAL (SELECT t.created_at + (%(anchor)s - t.created_at) * pg_temp.lg_r(s.n, 227) AS p) AS cx
"""),
    ("track_history", """
INSERT INTO track_history (id, user_id, track_id, played_at, ms_played, created_at)
SELECT s.n,
       pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(s.n, 231, %(users)s)),
       pg_temp.lg_uuid('tracks', pg_temp.lg_play_track(s.n + 3333333)),
       s.p AT TIME ZONE 'UTC',
       CASE WHEN pg_temp.lg_r(s.n, 232) < %(null_rate)s THEN NULL ELSE pg_temp.lg_ri(s.n, 233, 400000) END,
       CASE WHEN mod(s.n, 101) = 7 THEN NULL ELSE s.p + pg_temp.lg_r(s.n, 234) * interval '1 second' END
FROM (SELECT n, pg_temp.lg_ago(n, 235) AS p FROM generate_series(1, %(history)s::bigint) AS n OFFSET 0) AS s
"""),
    ("track_likes", """
INSERT INTO track_likes (id, user_id, track_id, created_at)
SELECT row_number() OVER (ORDER BY u, j), pg_temp.lg_uuid('users', u),
       pg_temp.lg_uuid('tracks', pg_temp.lg_like_track(u, j)),
       CASE WHEN mod(u * 7 + j, 211) = 0 THEN NULL ELSE pg_temp.lg_ago(u * 1000 + j, 241) END
FROM generate_series(1, %(users)s::bigint) AS u, generate_series(0, pg_temp.lg_likes_of(u) - 1) AS j
"""),
    ("track_comments", """
INSERT INTO track_comments (id, track_id, user_id, parent_id, body, position_ms, created_at, updated_at)
SELECT c.id, c.track_id,
       pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(c.id, 251, %(users)s)),
       CASE WHEN c.j > 0 AND pg_temp.lg_r(c.id, 252) < 0.4 THEN c.id - c.j + pg_temp.lg_ri(c.id, 253, c.j) END,
       CASE WHEN mod(c.id, 83) = 5 THEN repeat('é', 2000)
            WHEN mod(c.id, 83) = 6 THEN '.'
            ELSE pg_temp.lg_nasty(c.id, 254) || ' ' || pg_temp.lg_nasty(c.id, 255) || chr(10) || '#' || c.id END,
       CASE WHEN pg_temp.lg_r(c.id, 256) < 0.4 THEN NULL
            ELSE pg_temp.lg_ri(c.id, 257, coalesce(c.duration_ms, 180000)) END,
       c.c,
       CASE WHEN pg_temp.lg_r(c.id, 258) < 0.8 THEN c.c ELSE c.c + (%(anchor)s - c.c) * pg_temp.lg_r(c.id, 259) END
FROM (SELECT row_number() OVER (ORDER BY s.tn, j) AS id, j, t.id AS track_id, t.duration_ms,
             t.created_at + (%(anchor)s - t.created_at) * ((j + pg_temp.lg_r2(s.tn, j, 260)) / s.k) AS c
      FROM (SELECT n AS tn, pg_temp.lg_ri(n, 250, %(comments_k)s) AS k
            FROM generate_series(1, %(tracks)s::bigint) AS n OFFSET 0) AS s
      JOIN tracks AS t ON t.id = pg_temp.lg_uuid('tracks', s.tn)
      CROSS JOIN LATERAL generate_series(0, s.k - 1) AS j) AS c
"""),
    ("track_shares", """
INSERT INTO track_shares (id, track_id, shared_by, channel, created_at)
SELECT n,
       pg_temp.lg_uuid('tracks', pg_temp.lg_play_track(n + 1111111)),
       CASE WHEN pg_temp.lg_r(n, 261) < 0.2 THEN NULL
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(n, 262, %(users)s)) END,
       (ARRAY['link', 'embed', 'email', 'sms', 'whatsapp', 'telegram', 'facebook', 'x', 'instagram', 'reddit',
              'other'])[1 + pg_temp.lg_ri(n, 263, 11)],
       CASE WHEN mod(n, 97) = 8 THEN NULL ELSE pg_temp.lg_ago(n, 264) END
FROM generate_series(1, %(shares)s::bigint) AS n
"""),
    ("playlist_collaborators", """
INSERT INTO playlist_collaborators (id, playlist_id, user_id, invited_by, role, accepted_at, created_at, updated_at,
                                    deleted_at)
SELECT row_number() OVER (ORDER BY s.pn, j), p.id,
       pg_temp.lg_uuid('users', 1 + mod(s.base + j * %(user_stride)s, %(users)s)),
       CASE WHEN pg_temp.lg_r2(s.pn, j, 271) < %(null_rate)s THEN NULL ELSE p.user_id END,
       (ARRAY['viewer', 'editor', 'editor', 'admin'])[1 + pg_temp.lg_ri(s.pn * 100 + j, 272, 4)],
       CASE WHEN pg_temp.lg_r2(s.pn, j, 273) < 0.3 THEN NULL
            ELSE cx.c + (%(anchor)s - cx.c) * (0.1 * pg_temp.lg_r2(s.pn, j, 274)) END,
       cx.c,
       cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r2(s.pn, j, 275),
       CASE WHEN pg_temp.lg_r2(s.pn, j, 276) < %(deleted_rate)s OR mod(s.pn + j, 37) = 2
            THEN cx.c + (%(anchor)s - cx.c) * pg_temp.lg_r2(s.pn, j, 275) END
FROM (SELECT n AS pn, pg_temp.lg_ri(n, 270, %(users)s) AS base,
             least(%(users)s, pg_temp.lg_ri(n, 277, %(collaborators_k)s)) AS k
      FROM generate_series(1, %(playlists)s::bigint) AS n OFFSET 0) AS s
JOIN playlists AS p ON p.id = pg_temp.lg_uuid('playlists', s.pn)
CROSS JOIN LATERAL generate_series(0, s.k - 1) AS j
CROSS JOIN LATERAL (SELECT p.created_at + (%(anchor)s - p.created_at) * pg_temp.lg_r2(s.pn, j, 278) AS c) AS cx
"""),
    ("playlist_follows", """
INSERT INTO playlist_follows (id, playlist_id, user_id, created_at)
SELECT row_number() OVER (ORDER BY s.pn, j), p.id,
       pg_temp.lg_uuid('users', 1 + mod(s.base + j * %(user_stride)s, %(users)s)),
       CASE WHEN mod(s.pn * 13 + j, 157) = 0 THEN NULL
            ELSE p.created_at + (%(anchor)s - p.created_at) * pg_temp.lg_r2(s.pn, j, 281) END
FROM (SELECT n AS pn, pg_temp.lg_ri(n, 280, %(users)s) AS base,
             least(%(users)s, pg_temp.lg_ri(n, 282, %(follows_k)s)) AS k
      FROM generate_series(1, %(playlists)s::bigint) AS n OFFSET 0) AS s
JOIN playlists AS p ON p.id = pg_temp.lg_uuid('playlists', s.pn)
CROSS JOIN LATERAL generate_series(0, s.k - 1) AS j
"""),
    ("rooms", """
INSERT INTO rooms (id, created_by, name, description, is_private, created_at, updated_at)
SELECT n,
       CASE WHEN pg_temp.lg_r(n, 291) < 0.2 THEN NULL
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(n, 292, %(users)s)) END,
       CASE WHEN mod(n, 3) = 0 THEN 'general'
            WHEN mod(n, 17) = 4 THEN repeat('é', 100)
            ELSE left(pg_temp.lg_nasty(n, 293), 90) || ' ' || n END,
       CASE WHEN mod(n, 17) = 5 THEN repeat('r', 1000)
            WHEN mod(n, 17) = 6 THEN ''
            WHEN pg_temp.lg_r(n, 294) < 3 * %(null_rate)s THEN NULL
            ELSE pg_temp.lg_nasty(n, 295) || chr(9) || pg_temp.lg_nasty(n, 296) END,
       pg_temp.lg_r(n, 297) < 0.3,
       CASE WHEN mod(n, 11) = 2 THEN NULL ELSE pg_temp.lg_ago(n, 298) AT TIME ZONE 'UTC' END,
       CASE WHEN mod(n, 11) IN (2, 3) THEN NULL
            ELSE (pg_temp.lg_ago(n, 298) + interval '1 hour') AT TIME ZONE 'UTC' END
FROM generate_series(1, %(rooms)s::bigint) AS n
"""),
    ("audit_logs", """
INSERT INTO audit_logs (id, actor_id, action, entity_type, entity_id, metadata, ip, user_agent, created_at)
SELECT pg_temp.lg_uuid('audit_logs', s.n),
       CASE WHEN pg_temp.lg_r(s.n, 301) < 0.15 THEN NULL
            ELSE pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(s.n, 302, %(users)s)) END,
       (ARRAY['user.login', 'user.logout', 'track.upload', 'track.delete', 'playlist.update', 'role.grant',
              'comment.moderate', 'session.revoke'])[1 + s.kind],
       (ARRAY['users', 'users', 'tracks', 'tracks', 'playlists', 'user_roles', 'track_comments', 'user_sessions'])
           [1 + s.kind],
       CASE WHEN pg_temp.lg_r(s.n, 303) < %(null_rate)s THEN NULL
            WHEN s.kind IN (0, 1) THEN pg_temp.lg_uuid('users', 1 + pg_temp.lg_ri(s.n, 304, %(users)s))::text
            WHEN s.kind IN (2, 3) AND mod(s.n, 5) = 0
                THEN upper(pg_temp.lg_uuid('tracks', 1 + pg_temp.lg_ri(s.n, 305, %(tracks)s))::text)
            WHEN s.kind IN (2, 3) THEN pg_temp.lg_uuid('tracks', 1 + pg_temp.lg_ri(s.n, 305, %(tracks)s))::text
            WHEN s.kind = 4 THEN pg_temp.lg_uuid('playlists', 1 + pg_temp.lg_ri(s.n, 306, %(playlists)s))::text
            WHEN s.kind = 5 THEN NULL
            ELSE (1 + pg_temp.lg_ri(s.n, 307, 1000))::text END,
       CASE WHEN mod(s.n, 59) = 3 THEN NULL
            WHEN mod(s.n, 4) = 0 THEN '{}'::jsonb
            ELSE jsonb_build_object('note', pg_temp.lg_nasty(s.n, 308), 'n', s.n,
                                    'nested', jsonb_build_object('ok', mod(s.n, 2) = 0, 'list', jsonb_build_array(1, 'é')))
       END,
       CASE WHEN mod(s.n, 3) = 0 THEN ('2001:db8:1::' || to_hex(s.n / 65536) || ':' || to_hex(mod(s.n, 65536)))::inet
            WHEN pg_temp.lg_r(s.n, 309) < %(null_rate)s THEN NULL
            ELSE ('198.51.100.' || mod(s.n, 256))::inet END,
       CASE WHEN mod(s.n, 101) = 9 THEN repeat('a', 1024)
            WHEN pg_temp.lg_r(s.n, 310) < %(null_rate)s THEN NULL
            ELSE 'VezaAdmin/1.0 ' || pg_temp.lg_nasty(s.n, 311) END,
       pg_temp.lg_ago(s.n, 312)
FROM (SELECT n, pg_temp.lg_ri(n, 300, 8) AS kind
      FROM generate_series(1, %(audit_logs)s::bigint) AS n OFFSET 0) AS s
"""),
)  # fmt: skip


def _functions_sql(seed: int, tracks: int, likes_k: int) -> sql.Composed:
    return sql.SQL(_FUNCTIONS).format(
        seed=sql.Literal(seed),
        seed_text=sql.Literal(f"{seed}/"),
        anchor=sql.Literal(ANCHOR.isoformat()),
        nasty=sql.Literal(list(NASTY)),
        nasty_count=sql.Literal(len(NASTY)),
        prefixes=sql.Literal(list(_USERNAME_PREFIXES)),
        prefix_count=sql.Literal(len(_USERNAME_PREFIXES)),
        locals=sql.Literal(list(_EMAIL_LOCALS)),
        local_count=sql.Literal(len(_EMAIL_LOCALS)),
        domains=sql.Literal(list(_EMAIL_DOMAINS)),
        domain_count=sql.Literal(len(_EMAIL_DOMAINS)),
        tracks=sql.Literal(tracks),
        track_stride=sql.Literal(_stride(tracks)),
        likes_k=sql.Literal(likes_k),
    )


def _params(scale: Scale) -> dict[str, Any]:
    return {
        "anchor": ANCHOR,
        "null_rate": scale.null_rate,
        "deleted_rate": scale.deleted_rate,
        "users": scale.users,
        "artists": (scale.users + 4) // 5,  # users 1, 6, 11, ... are artists
        "tracks": scale.tracks,
        "plays": scale.plays,
        "playlists": scale.playlists,
        "sessions": scale.sessions,
        "rooms": scale.rooms,
        "user_stride": _stride(scale.users),
        "role_names": [name for name, _ in _ROLES],
        "role_descriptions": [description for _, description in _ROLES],
        "role_count": len(_ROLES),
        "permission_names": [f"{r}:{a}" for r in _RESOURCES for a in _ACTIONS],
        "permission_count": len(_RESOURCES) * len(_ACTIONS),
        "entries_k": _per_parent(scale.tracks_per_playlist),
        "chain_k": max(1, round(2 * scale.tokens_per_session) - 1),
        "reset_tokens": round(scale.users * scale.reset_tokens_per_user),
        "verification_tokens": round(scale.users * scale.verification_tokens_per_user),
        "versions_k": _per_parent(scale.versions_per_track),
        "comments_k": _per_parent(scale.comments_per_track),
        "collaborators_k": _per_parent(scale.collaborators_per_playlist),
        "follows_k": _per_parent(scale.follows_per_playlist),
        "adaptations": round(scale.plays * scale.adaptations_per_play),
        "analytics": round(scale.plays * scale.analytics_per_play),
        "history": round(scale.plays * scale.history_per_play),
        "shares": round(scale.tracks * scale.shares_per_track),
        "audit_logs": round(scale.users * scale.audit_logs_per_user),
    }


def _planned_rows(scale: Scale) -> dict[str, float]:
    """About how many rows each large table gets (only compared with _BULK_ROWS)."""
    renditions = scale.tracks * (1 + scale.versions_per_track)
    return {
        "users": scale.users,
        "user_roles": scale.users,
        "tracks": scale.tracks,
        "playlists": scale.playlists,
        "playlist_tracks": scale.playlists * scale.tracks_per_playlist,
        "user_sessions": scale.sessions,
        "refresh_tokens": scale.sessions * scale.tokens_per_session,
        "email_verification_tokens": scale.users * scale.verification_tokens_per_user,
        "track_versions": scale.tracks * scale.versions_per_track,
        "hls_streams": renditions * 0.5 * 8 * 0.4,
        "hls_transcode_queue": renditions * 0.6 * 2,
        "bitrate_adaptation_logs": scale.plays * scale.adaptations_per_play,
        "playback_analytics": scale.plays * scale.analytics_per_play,
        "track_plays": scale.plays,
        "track_history": scale.plays * scale.history_per_play,
        "track_likes": scale.users * scale.likes_per_user,
        "track_comments": scale.tracks * scale.comments_per_track,
        "track_shares": scale.tracks * scale.shares_per_track,
        "playlist_collaborators": scale.playlists * scale.collaborators_per_playlist,
        "playlist_follows": scale.playlists * scale.follows_per_playlist,
        "audit_logs": scale.users * scale.audit_logs_per_user,
    }


def _ensure_empty(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> None:
    for table in tables:
        row = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(table))).fetchone()
        if row is not None and row[0]:
            raise ValueError(f"table {table} already has rows; the generator fills an empty database")


def _finish(conn: psycopg.Connection[Any], sequenced: tuple[str, ...], analyzed: tuple[str, ...]) -> None:
    """Move each sequence past the generated keys, drop the helpers, refresh the statistics."""
    for table in sequenced:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({name}, 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) "
                "FROM {table}"
            ).format(name=sql.Literal(table), table=sql.Identifier(table))
        )
    conn.execute(_DROP_FUNCTIONS)
    conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in analyzed)))


# Tables getting this many rows are loaded as pg_restore does: their foreign keys and plain
# indexes are dropped first, then recreated from their own definitions (same names), each
# validated in one pass.
_BULK_ROWS = 100_000

_KEYS_QUERY = """
SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = to_regclass(%(table)s) AND contype = 'f'
UNION ALL
SELECT 'index', c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE i.indrelid = to_regclass(%(table)s) AND NOT i.indisunique
  AND NOT EXISTS (SELECT FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
ORDER BY 1 DESC, 2
"""


def _drop_keys(conn: psycopg.Connection[Any], table: str) -> list[sql.SQL | sql.Composed]:
    """Drop `table`'s foreign keys and plain indexes; return the statements that restore them."""
    restore: list[sql.SQL | sql.Composed] = []
    for kind, name, definition in conn.execute(_KEYS_QUERY, {"table": table}).fetchall():
        if kind == "index":
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            restore.append(sql.SQL(definition))
        else:
            target = sql.Identifier(table)
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(name)))
            restore.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    target, sql.Identifier(name), sql.SQL(definition)
                )
            )
    return restore


def _commit(conn: psycopg.Connection[Any]) -> None:
    if not conn.autocommit:
        conn.commit()


def generate(conn: psycopg.Connection[Any], scale: Scale, seed: int = 1) -> dict[str, int]:
    """Fill an empty database that has the Lab schema; return the rows inserted per table."""
    counts: dict[str, int] = {}
    with conn.transaction():
        _ensure_empty(conn, LAB_TABLES)
        conn.execute("SET LOCAL TimeZone = 'UTC'")  # interval arithmetic on timestamptz must not vary
        conn.execute(_functions_sql(seed, scale.tracks, _per_parent(scale.likes_per_user)))
        params = _params(scale)
        planned = _planned_rows(scale)
        for table, statement in _LAB:
            bulk = planned.get(table, 0) >= _BULK_ROWS
            restore = _drop_keys(conn, table) if bulk else []
            cur = conn.execute(statement.encode(), params)
            counts[table] = cur.rowcount
            for restatement in restore:
                conn.execute(restatement)
        _finish(conn, _SEQUENCED, LAB_TABLES)
    _commit(conn)
    return counts


# ---------------------------------------------------------------------------------------------
# The older deployment (tests/fixtures/older_schema.sql): integer keys everywhere, local
# timestamps without time zone (Europe/Paris), a text role on users, plaintext refresh tokens,
# public.chat_rooms / public.chat_messages.
# ---------------------------------------------------------------------------------------------

OLDER_ZONE = "Europe/Paris"  # the old server's TimeZone: what its `timestamp` columns mean

_OLDER: tuple[tuple[str, str], ...] = (
    ("users", """
INSERT INTO users (id, name, email, password_digest, full_name, bio, role, is_active, created_at, updated_at)
SELECT n,
       CASE WHEN n = 7 THEN 'Q' ELSE pg_temp.lg_username(n) END,
       pg_temp.lg_email(n),
       '$2a$10$' || left(md5('old' || n) || md5('digest' || n), 53),
       CASE WHEN n = 11 THEN repeat('é', 100)
            WHEN pg_temp.lg_r(n, 402) < 0.15 THEN NULL
            ELSE pg_temp.lg_nasty(n, 403) || ' ' || n END,
       CASE WHEN n = 12 THEN repeat('b', 2000)
            WHEN n = 13 THEN ''
            WHEN pg_temp.lg_r(n, 404) < 0.25 THEN NULL
            ELSE pg_temp.lg_nasty(n, 405) || chr(13) || chr(10) || pg_temp.lg_nasty(n, 406) END,
       CASE WHEN n <= 2 THEN 'admin' WHEN mod(n, 4) = 1 THEN 'artist' ELSE 'listener' END,
       pg_temp.lg_r(n, 407) >= 0.1,
       pg_temp.lg_ago(n, 408) AT TIME ZONE %(zone)s,
       CASE WHEN pg_temp.lg_r(n, 409) < 0.3 THEN NULL
            ELSE (pg_temp.lg_ago(n, 408) + interval '3 days') AT TIME ZONE %(zone)s END
FROM generate_series(1, 120) AS n
"""),
    ("tracks", """
INSERT INTO tracks (id, user_id, title, artist, genre, length_seconds, file_path, format, file_size, is_public,
                    plays, created_at, updated_at)
SELECT n, owner,
       CASE WHEN n = 9 THEN repeat('日', 200)
            WHEN pg_temp.lg_r(n, 411) < 0.4 THEN 'Song ' || n || ' ' || pg_temp.lg_nasty(n, 412)
            ELSE 'Song ' || n END,
       CASE WHEN pg_temp.lg_r(n, 413) < 0.2 THEN NULL ELSE pg_temp.lg_username(owner) END,
       CASE WHEN pg_temp.lg_r(n, 414) < 0.2 THEN NULL
            ELSE (ARRAY['Rock', 'électro', 'hip-hop', 'drum''n''bass', '日本'])[1 + pg_temp.lg_ri(n, 415, 5)] END,
       CASE WHEN pg_temp.lg_r(n, 416) < 0.1 THEN NULL ELSE 30 + pg_temp.lg_ri(n, 417, 570) END,
       '/var/veza/uploads/' || owner || '/' || n || ' ' || pg_temp.lg_nasty(n, 418) || '.bin',
       (ARRAY['MP3', 'mp3', 'Flac', 'WAV', 'ogg', 'AAC', 'm4a'])[1 + pg_temp.lg_ri(n, 419, 7)],
       CASE WHEN mod(n, 37) = 0 THEN 0 ELSE 100000 + pg_temp.lg_ri(n, 420, 50000000) END,
       pg_temp.lg_r(n, 421) < 0.7,
       pg_temp.lg_ri(n, 422, 5000),
       (pg_temp.lg_ago(owner, 408) + (%(anchor)s - pg_temp.lg_ago(owner, 408)) * pg_temp.lg_r(n, 423))
           AT TIME ZONE %(zone)s,
       CASE WHEN pg_temp.lg_r(n, 424) < 0.3 THEN NULL ELSE %(anchor)s::timestamptz AT TIME ZONE %(zone)s END
FROM (SELECT n, 1 + pg_temp.lg_ri(n, 410, 120) AS owner FROM generate_series(1, 150) AS n OFFSET 0) AS s
"""),
    ("playlists", """
INSERT INTO playlists (id, user_id, name, description, is_public, created_at, updated_at)
SELECT n, 1 + pg_temp.lg_ri(n, 430, 120),
       CASE WHEN n = 5 THEN repeat('🎵', 200) ELSE pg_temp.lg_nasty(n, 431) || ' list ' || n END,
       CASE WHEN n = 6 THEN '' WHEN pg_temp.lg_r(n, 432) < 0.3 THEN NULL ELSE pg_temp.lg_nasty(n, 433) END,
       pg_temp.lg_r(n, 434) < 0.6,
       pg_temp.lg_ago(n, 435) AT TIME ZONE %(zone)s,
       CASE WHEN pg_temp.lg_r(n, 436) < 0.3 THEN NULL
            ELSE (pg_temp.lg_ago(n, 435) + interval '1 day') AT TIME ZONE %(zone)s END
FROM generate_series(1, 60) AS n
"""),
    ("playlist_tracks", """
INSERT INTO playlist_tracks (playlist_id, track_id, position, added_at)
SELECT p, 1 + pg_temp.lg_ri(p * 100 + j, 441, 150), j + 1,
       CASE WHEN mod(p + j, 23) = 0 THEN NULL
            ELSE (pg_temp.lg_ago(p, 435) + interval '1 hour' * j) AT TIME ZONE %(zone)s END
FROM generate_series(1, 60) AS p, generate_series(0, pg_temp.lg_ri(p, 440, 7) - 1) AS j
"""),
    ("refresh_tokens", """
INSERT INTO refresh_tokens (id, user_id, token, user_agent, revoked, expires_at, created_at)
SELECT n, 1 + pg_temp.lg_ri(n, 450, 120),
       encode(sha256(convert_to('old-token/' || %(seed)s || '/' || n, 'UTF8')), 'base64'),
       CASE WHEN pg_temp.lg_r(n, 451) < 0.2 THEN NULL
            ELSE 'Mozilla/5.0 ' || pg_temp.lg_nasty(n, 452) END,
       pg_temp.lg_r(n, 453) < 0.3,
       (pg_temp.lg_ago(n, 454) + interval '30 days') AT TIME ZONE %(zone)s,
       pg_temp.lg_ago(n, 454) AT TIME ZONE %(zone)s
FROM generate_series(1, 150) AS n
"""),
    ("track_plays", """
INSERT INTO track_plays (id, track_id, user_id, played_at, seconds_played, context)
SELECT n, 1 + pg_temp.lg_ri(n, 460, 150),
       CASE WHEN pg_temp.lg_r(n, 461) < 0.2 THEN NULL ELSE 1 + pg_temp.lg_ri(n, 462, 120) END,
       pg_temp.lg_ago(n, 463) AT TIME ZONE %(zone)s,
       CASE WHEN pg_temp.lg_r(n, 464) < 0.15 THEN NULL ELSE pg_temp.lg_ri(n, 465, 600) END,
       CASE WHEN pg_temp.lg_r(n, 466) < 0.15 THEN NULL
            ELSE (ARRAY['playlist', 'search', 'radio', 'library', 'Album', 'unknown', 'web'])
                     [1 + pg_temp.lg_ri(n, 467, 7)] END
FROM generate_series(1, 200) AS n
"""),
    ("chat_rooms", """
INSERT INTO chat_rooms (id, owner_id, title, topic, is_private, created_at, archived_at)
SELECT n,
       CASE WHEN pg_temp.lg_r(n, 470) < 0.2 THEN NULL ELSE 1 + pg_temp.lg_ri(n, 471, 120) END,
       CASE WHEN mod(n, 4) = 0 THEN 'general' WHEN n = 7 THEN repeat('é', 100)
            ELSE pg_temp.lg_nasty(n, 472) || ' ' || n END,
       CASE WHEN n = 8 THEN repeat('t', 1000) WHEN pg_temp.lg_r(n, 473) < 0.3 THEN NULL
            ELSE pg_temp.lg_nasty(n, 474) END,
       pg_temp.lg_r(n, 475) < 0.3,
       pg_temp.lg_ago(n, 476) AT TIME ZONE %(zone)s,
       CASE WHEN pg_temp.lg_r(n, 477) < 0.85 THEN NULL
            ELSE (pg_temp.lg_ago(n, 476) + interval '90 days') AT TIME ZONE %(zone)s END
FROM generate_series(1, 50) AS n
"""),
    ("chat_messages", """
INSERT INTO chat_messages (id, room_id, sender_id, body, sent_at, edited_at)
SELECT n, room,
       CASE WHEN pg_temp.lg_r(n, 481) < 0.1 THEN NULL ELSE 1 + pg_temp.lg_ri(n, 482, 120) END,
       pg_temp.lg_nasty(n, 483) || ' ' || pg_temp.lg_nasty(n, 484),
       (pg_temp.lg_ago(room, 476) + interval '1 minute' * n) AT TIME ZONE %(zone)s,
       CASE WHEN pg_temp.lg_r(n, 485) < 0.8 THEN NULL
            ELSE (pg_temp.lg_ago(room, 476) + interval '1 minute' * n + interval '5 minutes') AT TIME ZONE %(zone)s
       END
FROM (SELECT n, 1 + pg_temp.lg_ri(n, 480, 50) AS room FROM generate_series(1, 200) AS n OFFSET 0) AS s
"""),
)  # fmt: skip


def generate_older(conn: psycopg.Connection[Any], seed: int = 1) -> dict[str, int]:
    """Fill an empty database that has tests/fixtures/older_schema.sql; return rows per table."""
    counts: dict[str, int] = {}
    with conn.transaction():
        _ensure_empty(conn, OLDER_TABLES)
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        conn.execute(_functions_sql(seed, 150, 1))
        params = {"anchor": ANCHOR, "zone": OLDER_ZONE, "seed": seed}
        for table, statement in _OLDER:
            cur = conn.execute(statement.encode(), params)
            counts[table] = cur.rowcount
        keyed = tuple(t for t in OLDER_TABLES if t != "playlist_tracks")
        _finish(conn, keyed, OLDER_TABLES)
    _commit(conn)
    return counts
