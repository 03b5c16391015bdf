-- 003_catalog: Core domain - the music catalogue: tracks, playlists and their entries.
--
-- Creates: tracks, playlists, playlist_tracks (and their trg_<table>_updated_at triggers), and
-- the value types of their columns (title_text, credit_text, genre_text, description_text,
-- track_status; see 001 on value rules as domains).
--
-- Why: the resources users upload and curate; all three are user-managed, so all three are
-- soft-deleted (deleted_at).
--
-- Deliberate choices:
--   * tracks.user_id and playlists.user_id are the owning (uploading / curating) user:
--     ON DELETE CASCADE. playlist_tracks is owned by its playlist and by its track (CASCADE);
--     added_by only refers to the user who added the entry (SET NULL, the entry survives).
--   * tracks.play_count and like_count are denormalised counters (non_negative_bigint, NOT NULL
--     DEFAULT 0) so catalogue pages need not count track_plays / track_likes.
--   * trg_tracks_updated_at fires on an UPDATE OF any column but the two counters: updated_at
--     says when the track itself was last changed, and a like or a play changes a count derived
--     from other tables, not the track (as Rails' counter caches leave updated_at alone). A
--     like/unlike then runs no trigger. Measured on the workload (quick data, PostgreSQL 18, 5
--     rounds of 5 s, medians): 8,969 like/unlike transactions/s and 144.9 us of server CPU,
--     against 8,447/s and 162.6 us with the trigger firing on every UPDATE, and Lab's 9,295/s
--     and 143.6 us. A new column of tracks joins the list (a schema test holds the list to every
--     column but play_count, like_count and updated_at).
--   * A track may appear several times in one playlist, so there is no unique (playlist_id,
--     track_id); the order is unique instead: uq_playlist_tracks_playlist_id_position on
--     (playlist_id, position) WHERE deleted_at IS NULL. Unique indexes are checked row by row,
--     so a reorder that shifts positions moves them out of the way first (e.g. add a large
--     offset, then set the final positions) within one transaction.
--   * Every foreign key column leads a plain (non-partial) index, because cascades from a
--     parent delete must also find soft-deleted children: idx_playlist_tracks_playlist_id
--     exists beside the partial unique index for that reason.
--
-- Hot-path indexes:
--   * uq_playlist_tracks_playlist_id_position - a playlist's tracks in order:
--     `WHERE playlist_id = $1 AND deleted_at IS NULL ORDER BY position`.
--   * idx_tracks_user_id_created_at - an artist's uploads, newest first.
--   * idx_playlists_user_id_created_at - a user's playlists, newest first.
--   * idx_playlist_tracks_track_id - the playlists a track appears in (and the track cascade).

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE DOMAIN title_text AS text
    CONSTRAINT ck_title_text_length CHECK (char_length(VALUE) BETWEEN 1 AND 200);
COMMENT ON DOMAIN title_text IS 'Core: the title of a track or a playlist, 1 to 200 characters.';

CREATE DOMAIN credit_text AS text
    CONSTRAINT ck_credit_text_length CHECK (char_length(VALUE) <= 200);
COMMENT ON DOMAIN credit_text IS 'Core: a credit shown with a track (artist, album), at most 200 characters.';

CREATE DOMAIN genre_text AS text
    CONSTRAINT ck_genre_text_length CHECK (char_length(VALUE) <= 64);
COMMENT ON DOMAIN genre_text IS 'Core: a genre label, at most 64 characters.';

CREATE DOMAIN description_text AS text
    CONSTRAINT ck_description_text_length CHECK (char_length(VALUE) <= 5000);
COMMENT ON DOMAIN description_text IS 'Core: the description of a track or a playlist, at most 5000 characters.';

CREATE DOMAIN track_status AS text
    CONSTRAINT ck_track_status CHECK (VALUE IN ('uploading', 'processing', 'ready', 'failed'));
COMMENT ON DOMAIN track_status IS 'Core: the ingest state of a track.';

CREATE TABLE tracks (
    id uuid NOT NULL DEFAULT uuidv7(),
    user_id uuid NOT NULL,
    title title_text NOT NULL,
    artist_name credit_text NULL,
    album credit_text NULL,
    genre genre_text NULL,
    description description_text NULL,
    duration_ms positive_integer NULL,
    storage_key storage_key NOT NULL,
    format audio_format NOT NULL,
    file_size_bytes non_negative_bigint NOT NULL,
    bitrate_kbps positive_integer NULL,
    sample_rate_hz positive_integer NULL,
    cover_url web_url NULL,
    visibility visibility NOT NULL DEFAULT 'private',
    status track_status NOT NULL DEFAULT 'uploading',
    play_count non_negative_bigint NOT NULL DEFAULT 0,
    like_count non_negative_bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_tracks PRIMARY KEY (id),
    CONSTRAINT fk_tracks_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX idx_tracks_user_id_created_at ON tracks (user_id, created_at DESC);

CREATE TRIGGER trg_tracks_updated_at
    BEFORE UPDATE OF id, user_id, title, artist_name, album, genre, description, duration_ms, storage_key, format,
        file_size_bytes, bitrate_kbps, sample_rate_hz, cover_url, visibility, status, created_at, deleted_at
    ON tracks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE tracks IS
    'Core: uploaded audio tracks, owned by the uploading user (CASCADE). Soft-deleted.';
COMMENT ON COLUMN tracks.user_id IS 'Uploading user, the owner of the track.';
COMMENT ON COLUMN tracks.artist_name IS 'Credited artist as displayed; free text, may differ from the uploader''s display name.';
COMMENT ON COLUMN tracks.duration_ms IS 'Duration in milliseconds; NULL until the upload has been probed.';
COMMENT ON COLUMN tracks.storage_key IS 'Object-storage key of the original uploaded file (not a URL).';
COMMENT ON COLUMN tracks.format IS 'Container/codec of the original upload.';
COMMENT ON COLUMN tracks.file_size_bytes IS 'Size of the original upload in bytes.';
COMMENT ON COLUMN tracks.visibility IS 'public: listed and playable by anyone; unlisted: playable by link; private: owner (and collaborators) only.';
COMMENT ON COLUMN tracks.status IS 'Ingest state: uploading, processing (transcoding), ready (streamable), failed.';
COMMENT ON COLUMN tracks.play_count IS 'Denormalised count of track_plays, maintained by the application; changing it does not move updated_at.';
COMMENT ON COLUMN tracks.like_count IS 'Denormalised count of track_likes, maintained by the application; changing it does not move updated_at.';

CREATE TABLE playlists (
    id uuid NOT NULL DEFAULT uuidv7(),
    user_id uuid NOT NULL,
    title title_text NOT NULL,
    description description_text NULL,
    cover_url web_url NULL,
    visibility visibility NOT NULL DEFAULT 'private',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_playlists PRIMARY KEY (id),
    CONSTRAINT fk_playlists_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX idx_playlists_user_id_created_at ON playlists (user_id, created_at DESC);

CREATE TRIGGER trg_playlists_updated_at
    BEFORE UPDATE ON playlists
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE playlists IS 'Core: user-curated playlists, owned by their creator (CASCADE). Soft-deleted.';
COMMENT ON COLUMN playlists.user_id IS 'Creating user, the owner of the playlist.';
COMMENT ON COLUMN playlists.visibility IS 'public: listed; unlisted: reachable by link; private: owner and collaborators only.';

CREATE TABLE playlist_tracks (
    id uuid NOT NULL DEFAULT uuidv7(),
    playlist_id uuid NOT NULL,
    track_id uuid NOT NULL,
    added_by uuid NULL,
    position non_negative_integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_playlist_tracks PRIMARY KEY (id),
    CONSTRAINT fk_playlist_tracks_playlist_id FOREIGN KEY (playlist_id)
        REFERENCES playlists (id) ON DELETE CASCADE,
    CONSTRAINT fk_playlist_tracks_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_playlist_tracks_added_by FOREIGN KEY (added_by)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX uq_playlist_tracks_playlist_id_position
    ON playlist_tracks (playlist_id, position) WHERE deleted_at IS NULL;
CREATE INDEX idx_playlist_tracks_playlist_id ON playlist_tracks (playlist_id);
CREATE INDEX idx_playlist_tracks_track_id ON playlist_tracks (track_id);
CREATE INDEX idx_playlist_tracks_added_by ON playlist_tracks (added_by);

CREATE TRIGGER trg_playlist_tracks_updated_at
    BEFORE UPDATE ON playlist_tracks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE playlist_tracks IS
    'Core: the ordered entries of a playlist. Owned by the playlist and by the track (CASCADE); position is unique among live entries of a playlist; a track may appear more than once. Soft-deleted.';
COMMENT ON COLUMN playlist_tracks.added_by IS 'User who added the entry (owner or collaborator); NULL once that user is deleted.';
COMMENT ON COLUMN playlist_tracks.position IS 'Zero-based order within the playlist; unique among live entries (uq_playlist_tracks_playlist_id_position).';
