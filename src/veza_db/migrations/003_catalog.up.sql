-- 003_catalog: Core domain - the music catalogue: tracks, playlists and their entries.
--
-- Creates: tracks, playlists, playlist_tracks (and their trg_<table>_updated_at triggers).
--
-- Why: the resources users upload and curate; all three are user-managed, so all three are
-- soft-deleted (deleted_at).
--
-- Deliberate choices:
--   * tracks.user_id and playlists.user_id are the owning (uploading / curating) user:
--     ON DELETE CASCADE. playlist_tracks is owned by its playlist and by its track (CASCADE);
--     added_by only refers to the user who added the entry (SET NULL, the entry survives).
--   * tracks.play_count and like_count are denormalised counters (bigint, NOT NULL DEFAULT 0,
--     CHECK >= 0) so catalogue pages need not count track_plays / track_likes.
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

CREATE TABLE tracks (
    id uuid NOT NULL DEFAULT uuidv7(),
    user_id uuid NOT NULL,
    title text NOT NULL,
    artist_name text NULL,
    album text NULL,
    genre text NULL,
    description text NULL,
    duration_ms integer NULL,
    storage_key text NOT NULL,
    format text NOT NULL,
    file_size_bytes bigint NOT NULL,
    bitrate_kbps integer NULL,
    sample_rate_hz integer NULL,
    cover_url text NULL,
    visibility text NOT NULL DEFAULT 'private',
    status text NOT NULL DEFAULT 'uploading',
    play_count bigint NOT NULL DEFAULT 0,
    like_count bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_tracks PRIMARY KEY (id),
    CONSTRAINT fk_tracks_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT ck_tracks_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT ck_tracks_artist_name_length CHECK (char_length(artist_name) <= 200),
    CONSTRAINT ck_tracks_album_length CHECK (char_length(album) <= 200),
    CONSTRAINT ck_tracks_genre_length CHECK (char_length(genre) <= 64),
    CONSTRAINT ck_tracks_description_length CHECK (char_length(description) <= 5000),
    CONSTRAINT ck_tracks_duration_ms CHECK (duration_ms > 0),
    CONSTRAINT ck_tracks_storage_key_length CHECK (char_length(storage_key) BETWEEN 1 AND 1024),
    CONSTRAINT ck_tracks_format CHECK (format IN ('mp3', 'flac', 'wav', 'aac', 'm4a', 'ogg', 'opus', 'aiff')),
    CONSTRAINT ck_tracks_file_size_bytes CHECK (file_size_bytes >= 0),
    CONSTRAINT ck_tracks_bitrate_kbps CHECK (bitrate_kbps > 0),
    CONSTRAINT ck_tracks_sample_rate_hz CHECK (sample_rate_hz > 0),
    CONSTRAINT ck_tracks_cover_url_length CHECK (char_length(cover_url) <= 2048),
    CONSTRAINT ck_tracks_visibility CHECK (visibility IN ('public', 'unlisted', 'private')),
    CONSTRAINT ck_tracks_status CHECK (status IN ('uploading', 'processing', 'ready', 'failed')),
    CONSTRAINT ck_tracks_play_count CHECK (play_count >= 0),
    CONSTRAINT ck_tracks_like_count CHECK (like_count >= 0)
);

CREATE INDEX idx_tracks_user_id_created_at ON tracks (user_id, created_at DESC);

CREATE TRIGGER trg_tracks_updated_at
    BEFORE UPDATE ON tracks
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
COMMENT ON COLUMN tracks.play_count IS 'Denormalised count of track_plays, maintained by the application.';
COMMENT ON COLUMN tracks.like_count IS 'Denormalised count of track_likes, maintained by the application.';

CREATE TABLE playlists (
    id uuid NOT NULL DEFAULT uuidv7(),
    user_id uuid NOT NULL,
    title text NOT NULL,
    description text NULL,
    cover_url text NULL,
    visibility text NOT NULL DEFAULT 'private',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_playlists PRIMARY KEY (id),
    CONSTRAINT fk_playlists_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT ck_playlists_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT ck_playlists_description_length CHECK (char_length(description) <= 5000),
    CONSTRAINT ck_playlists_cover_url_length CHECK (char_length(cover_url) <= 2048),
    CONSTRAINT ck_playlists_visibility CHECK (visibility IN ('public', 'unlisted', 'private'))
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
    position integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_playlist_tracks PRIMARY KEY (id),
    CONSTRAINT fk_playlist_tracks_playlist_id FOREIGN KEY (playlist_id)
        REFERENCES playlists (id) ON DELETE CASCADE,
    CONSTRAINT fk_playlist_tracks_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_playlist_tracks_added_by FOREIGN KEY (added_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT ck_playlist_tracks_position CHECK (position >= 0)
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
