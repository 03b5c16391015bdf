-- 006_streaming_activity: Streaming domain - what listeners do with tracks: plays, playback
-- telemetry, adaptive-bitrate switches, listening history, likes, comments and shares.
--
-- Creates: track_plays, playback_analytics, bitrate_adaptation_logs, track_history,
-- track_likes, track_comments, track_shares (and trg_track_comments_updated_at), and the value
-- types of their columns (play_source, device_type, country_code, bitrate_switch_reason,
-- comment_body, share_channel; see 001 on value rules as domains).
--
-- Why: counters, charts, recommendations and the user-facing history and social features.
--
-- Deliberate choices:
--   * Append-only tables carry created_at and no updated_at: track_plays, playback_analytics,
--     bitrate_adaptation_logs, and the immutable rows track_history, track_likes,
--     track_shares (a like or a history entry is inserted or deleted, never edited).
--     Only track_comments is mutable (edits) and soft-deleted.
--   * Telemetry outlives the listener: user_id (and bitrate_adaptation_logs.session_id) are
--     SET NULL, so deleting an account anonymises its plays instead of erasing them. Every
--     row is owned by its track (CASCADE). track_history, track_likes and track_comments are
--     owned by the user (CASCADE): they are the user's own data.
--   * track_plays is the hottest insert path: a time-ordered uuidv7 key plus two one-column
--     B-tree indexes and a BRIN index. The keys (track_id), (user_id) serve the foreign keys
--     (the track cascade, the listener's SET NULL) and a track's or a listener's plays; B-tree
--     deduplication stores each key once per leaf with a list of rows, so they stay about a
--     quarter of the size of (track_id, played_at) and (user_id, played_at DESC), which it
--     cannot compress (quick data, 1M plays: 13 + 12 MB against 47 + 46 MB). Time ranges
--     (charts, a track's plays over a period) go through idx_track_plays_played_at, a BRIN
--     index: plays arrive in played_at order, so a block range summary prunes the table to the
--     period for a few kB of index and nearly no cost per insert. The newest plays of one
--     listener ("recently played") are sorted from that listener's rows; the listening history
--     the product shows is track_history, with its own composite index. playback_analytics
--     follows the same pattern for the same reasons (17 MB to 4 MB for its track index).
--     Measured on the workload (quick data, PostgreSQL 18, with the value rules as domains):
--     recording a play at 95-130 us of server CPU against Lab's 85-120 us (from 130-140 us),
--     and V1's tables and indexes from 1.31 to about 1.16 times Lab's size.
--   * track_comments are threaded through parent_id (self reference, CASCADE: removing a
--     comment row removes its replies; normal deletion is the soft delete). position_ms pins
--     a comment to a moment of the track.
--   * track_likes has its own id plus uq_track_likes_user_id_track_id (one like per pair).
--   * Every foreign key column leads a plain index (S6); the idx_<table>_<fk> indexes not listed
--     below exist for joins and for cascades / SET NULL on parent deletes.
--
-- Hot-path indexes:
--   * idx_track_history_user_id_played_at on (user_id, played_at DESC, id DESC) - a user's
--     listening history, newest first, keyset-paginated:
--     `WHERE user_id = $1 AND (played_at, id) < ($2, $3) ORDER BY played_at DESC, id DESC LIMIT n`.
--   * idx_track_comments_track_id_created_at on (track_id, created_at, id) - a track's comments
--     in order: `WHERE track_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`. Kept
--     non-partial so it also serves the track cascade (soft-deleted comments are few).
--   * idx_track_plays_track_id, idx_track_plays_user_id - a track's plays, a listener's plays.
--   * idx_track_plays_played_at (BRIN) - the plays of a period (charts, stats), alone or ANDed
--     with idx_track_plays_track_id for one track's.
--   * idx_playback_analytics_track_id with idx_playback_analytics_created_at (BRIN), and
--     idx_bitrate_adaptation_logs_track_id_created_at - a track's telemetry over a time range.
--   * uq_track_likes_user_id_track_id - "did I like this" and a user's likes;
--     idx_track_likes_track_id_created_at - a track's likers, newest first.

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE DOMAIN play_source AS text
    CONSTRAINT ck_play_source CHECK (
        VALUE IN ('library', 'playlist', 'album', 'artist', 'search', 'radio', 'recommendation', 'share', 'embed', 'other')
    );
COMMENT ON DOMAIN play_source IS 'Streaming: where playback was started from.';

CREATE DOMAIN device_type AS text
    CONSTRAINT ck_device_type CHECK (VALUE IN ('web', 'ios', 'android', 'desktop', 'tv', 'speaker', 'car', 'other'));
COMMENT ON DOMAIN device_type IS 'Streaming: the kind of device a player ran on.';

CREATE DOMAIN country_code AS text
    CONSTRAINT ck_country_code_format CHECK (VALUE ~ '^[A-Z]{2}$');
COMMENT ON DOMAIN country_code IS 'Streaming: an ISO 3166-1 alpha-2 country code, upper case.';

CREATE DOMAIN bitrate_switch_reason AS text
    CONSTRAINT ck_bitrate_switch_reason CHECK (
        VALUE IN ('initial', 'bandwidth_drop', 'bandwidth_rise', 'buffer_low', 'buffer_high', 'manual', 'error')
    );
COMMENT ON DOMAIN bitrate_switch_reason IS 'Streaming: why a player switched renditions.';

CREATE DOMAIN comment_body AS text
    CONSTRAINT ck_comment_body_length CHECK (char_length(VALUE) BETWEEN 1 AND 2000);
COMMENT ON DOMAIN comment_body IS 'Streaming: the text of a comment, 1 to 2000 characters.';

CREATE DOMAIN share_channel AS text
    CONSTRAINT ck_share_channel CHECK (
        VALUE IN ('link', 'embed', 'email', 'sms', 'whatsapp', 'telegram', 'facebook', 'x', 'instagram', 'reddit', 'other')
    );
COMMENT ON DOMAIN share_channel IS 'Streaming: where a track was shared to.';

CREATE TABLE track_plays (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    user_id uuid NULL,
    played_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ms_played non_negative_integer NOT NULL DEFAULT 0,
    source play_source NOT NULL DEFAULT 'other',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_track_plays PRIMARY KEY (id),
    CONSTRAINT fk_track_plays_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_track_plays_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_track_plays_track_id ON track_plays (track_id);
CREATE INDEX idx_track_plays_user_id ON track_plays (user_id);
CREATE INDEX idx_track_plays_played_at ON track_plays USING brin (played_at);

COMMENT ON TABLE track_plays IS
    'Streaming: one row per play, append-only; the hottest insert path. Owned by the track (CASCADE); user_id is NULL for anonymous plays and once the listener is deleted (SET NULL).';
COMMENT ON COLUMN track_plays.user_id IS 'Listener; NULL for anonymous plays or after the account was deleted.';
COMMENT ON COLUMN track_plays.played_at IS 'When playback started (client clock, validated); created_at is when the server recorded it.';
COMMENT ON COLUMN track_plays.ms_played IS 'Milliseconds actually listened.';
COMMENT ON COLUMN track_plays.source IS 'Where playback was started from.';

CREATE TABLE playback_analytics (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    user_id uuid NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NULL,
    position_ms non_negative_integer NOT NULL DEFAULT 0,
    duration_played_ms non_negative_integer NOT NULL DEFAULT 0,
    buffering_count non_negative_integer NOT NULL DEFAULT 0,
    buffering_ms non_negative_integer NOT NULL DEFAULT 0,
    average_bitrate_kbps positive_integer NULL,
    device_type device_type NOT NULL DEFAULT 'other',
    country_code country_code NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_playback_analytics PRIMARY KEY (id),
    CONSTRAINT fk_playback_analytics_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_playback_analytics_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT ck_playback_analytics_ended_at CHECK (ended_at >= started_at)
);

CREATE INDEX idx_playback_analytics_track_id ON playback_analytics (track_id);
CREATE INDEX idx_playback_analytics_created_at ON playback_analytics USING brin (created_at);
CREATE INDEX idx_playback_analytics_user_id ON playback_analytics (user_id);

COMMENT ON TABLE playback_analytics IS
    'Streaming: per-playback quality metrics reported by players (position, time played, buffering, device, country); append-only. Owned by the track (CASCADE); user_id SET NULL.';
COMMENT ON COLUMN playback_analytics.position_ms IS 'Playhead position when the report was sent, milliseconds from the start of the track.';
COMMENT ON COLUMN playback_analytics.duration_played_ms IS 'Milliseconds of audio actually played during this playback.';
COMMENT ON COLUMN playback_analytics.buffering_count IS 'Number of rebuffering stalls.';
COMMENT ON COLUMN playback_analytics.buffering_ms IS 'Total time spent stalled, milliseconds.';
COMMENT ON COLUMN playback_analytics.country_code IS 'ISO 3166-1 alpha-2 country of the client, from IP geolocation.';

CREATE TABLE bitrate_adaptation_logs (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    user_id uuid NULL,
    session_id uuid NULL,
    from_bitrate_kbps positive_integer NULL,
    to_bitrate_kbps positive_integer NOT NULL,
    bandwidth_kbps non_negative_integer NULL,
    buffer_ms non_negative_integer NULL,
    position_ms non_negative_integer NULL,
    reason bitrate_switch_reason NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_bitrate_adaptation_logs PRIMARY KEY (id),
    CONSTRAINT fk_bitrate_adaptation_logs_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_bitrate_adaptation_logs_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT fk_bitrate_adaptation_logs_session_id FOREIGN KEY (session_id)
        REFERENCES user_sessions (id) ON DELETE SET NULL
);

CREATE INDEX idx_bitrate_adaptation_logs_track_id_created_at
    ON bitrate_adaptation_logs (track_id, created_at);
CREATE INDEX idx_bitrate_adaptation_logs_user_id ON bitrate_adaptation_logs (user_id);
CREATE INDEX idx_bitrate_adaptation_logs_session_id ON bitrate_adaptation_logs (session_id);

COMMENT ON TABLE bitrate_adaptation_logs IS
    'Streaming: adaptive-bitrate switches reported by players; append-only. Owned by the track (CASCADE); user_id and session_id SET NULL.';
COMMENT ON COLUMN bitrate_adaptation_logs.session_id IS 'Login session of the player; NULL for anonymous playback or once the session is purged.';
COMMENT ON COLUMN bitrate_adaptation_logs.from_bitrate_kbps IS 'Rendition bitrate before the switch, kbit/s; NULL for the initial selection.';
COMMENT ON COLUMN bitrate_adaptation_logs.to_bitrate_kbps IS 'Rendition bitrate after the switch, kbit/s.';
COMMENT ON COLUMN bitrate_adaptation_logs.bandwidth_kbps IS 'Bandwidth the player measured when it switched, kbit/s.';
COMMENT ON COLUMN bitrate_adaptation_logs.buffer_ms IS 'Forward buffer length when it switched, milliseconds.';
COMMENT ON COLUMN bitrate_adaptation_logs.position_ms IS 'Playhead position when it switched, milliseconds.';

CREATE TABLE track_history (
    id uuid NOT NULL DEFAULT uuidv7(),
    user_id uuid NOT NULL,
    track_id uuid NOT NULL,
    played_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ms_played non_negative_integer NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_track_history PRIMARY KEY (id),
    CONSTRAINT fk_track_history_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_track_history_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE
);

CREATE INDEX idx_track_history_user_id_played_at ON track_history (user_id, played_at DESC, id DESC);
CREATE INDEX idx_track_history_track_id ON track_history (track_id);

COMMENT ON TABLE track_history IS
    'Streaming: a user''s listening history as shown to them (they may clear it), read newest first. Owned by the user and by the track (CASCADE); immutable rows.';
COMMENT ON COLUMN track_history.played_at IS 'When the user listened; history is ordered by (played_at, id) descending.';
COMMENT ON COLUMN track_history.ms_played IS 'Milliseconds listened, when known.';

CREATE TABLE track_likes (
    id uuid NOT NULL DEFAULT uuidv7(),
    user_id uuid NOT NULL,
    track_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_track_likes PRIMARY KEY (id),
    CONSTRAINT uq_track_likes_user_id_track_id UNIQUE (user_id, track_id),
    CONSTRAINT fk_track_likes_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_track_likes_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE
);

CREATE INDEX idx_track_likes_track_id_created_at ON track_likes (track_id, created_at DESC);

COMMENT ON TABLE track_likes IS
    'Streaming: a user likes a track (junction; one row per pair). Owned by the user and by the track (CASCADE); unliking deletes the row.';

CREATE TABLE track_comments (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    user_id uuid NOT NULL,
    parent_id uuid NULL,
    body comment_body NOT NULL,
    position_ms non_negative_integer NULL,
    edited_at timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_track_comments PRIMARY KEY (id),
    CONSTRAINT fk_track_comments_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_track_comments_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_track_comments_parent_id FOREIGN KEY (parent_id)
        REFERENCES track_comments (id) ON DELETE CASCADE,
    CONSTRAINT ck_track_comments_parent_id CHECK (parent_id <> id)
);

CREATE INDEX idx_track_comments_track_id_created_at ON track_comments (track_id, created_at, id);
CREATE INDEX idx_track_comments_user_id ON track_comments (user_id);
CREATE INDEX idx_track_comments_parent_id ON track_comments (parent_id);

CREATE TRIGGER trg_track_comments_updated_at
    BEFORE UPDATE ON track_comments
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE track_comments IS
    'Streaming: comments on a track, threaded through parent_id, optionally pinned to a position in the audio. Owned by the track and by the author (CASCADE). Soft-deleted.';
COMMENT ON COLUMN track_comments.user_id IS 'Author of the comment.';
COMMENT ON COLUMN track_comments.parent_id IS 'Comment this one replies to; NULL for a top-level comment.';
COMMENT ON COLUMN track_comments.position_ms IS 'Moment of the track the comment refers to, milliseconds; NULL for the whole track.';
COMMENT ON COLUMN track_comments.edited_at IS 'When the author last edited the body; NULL if never edited (updated_at also moves on moderation).';

CREATE TABLE track_shares (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    shared_by uuid NULL,
    channel share_channel NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_track_shares PRIMARY KEY (id),
    CONSTRAINT fk_track_shares_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_track_shares_shared_by FOREIGN KEY (shared_by)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_track_shares_track_id ON track_shares (track_id);
CREATE INDEX idx_track_shares_shared_by ON track_shares (shared_by);

COMMENT ON TABLE track_shares IS
    'Streaming: a track was shared through a channel; append-only. Owned by the track (CASCADE); the sharing user is SET NULL when deleted.';
COMMENT ON COLUMN track_shares.shared_by IS 'User who shared the track; NULL for anonymous shares or after the account was deleted.';
COMMENT ON COLUMN track_shares.channel IS 'Where the track was shared to (copy link, embed code, a social network, ...).';
