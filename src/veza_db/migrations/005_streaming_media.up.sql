-- 005_streaming_media: Streaming domain - what is streamed: track versions, HLS renditions
-- and the transcode job queue that produces them.
--
-- Creates: track_versions, hls_streams, hls_transcode_queue (and their
-- trg_<table>_updated_at triggers), and the value types of their columns (changelog_text,
-- hls_codec, hls_container, channel_count, rendition_status, job_status, job_priority,
-- job_max_attempts, worker_name, error_text; see 001 on value rules as domains).
--
-- Why: a track's audio can be re-uploaded (versions); each version is transcoded into HLS
-- renditions (one row per bitrate/codec) by workers that pull jobs from a queue.
--
-- Deliberate choices:
--   * track_versions is soft-deleted (user-managed); version_number is unique per track among
--     live rows (uq_track_versions_track_id_version_number ... WHERE deleted_at IS NULL).
--     created_by only refers to the uploader (SET NULL).
--   * hls_streams and hls_transcode_queue are owned by the track and, when set, by the track
--     version (both CASCADE); track_version_id NULL means the track's original upload.
--     Rendition uniqueness uses NULLS NOT DISTINCT (PostgreSQL 15+) so the NULL version is
--     covered too: uq_hls_streams_track_id_track_version_id_codec_bitrate_kbps.
--   * hls_transcode_queue is a job queue for `FOR UPDATE SKIP LOCKED` workers (the query is in
--     its table comment). A worker leases a job (locked_by / locked_at / lease_expires_at); a
--     reaper requeues running jobs whose lease expired. ck_hls_transcode_queue_lease makes a
--     running job always carry its lease.
--   * At most one queued or running job per (track, version):
--     uq_hls_transcode_queue_track_id_track_version_id, partial and NULLS NOT DISTINCT, so an
--     enqueue can be `INSERT ... ON CONFLICT DO NOTHING`.
--   * Every foreign key column also leads a plain index (idx_track_versions_track_id,
--     idx_hls_transcode_queue_track_id, ...) because the hot-path indexes above are partial
--     and a cascade must reach every row.
--
-- Hot-path indexes:
--   * idx_hls_transcode_queue_priority_run_after - dequeue: `WHERE status = 'queued' AND
--     run_after <= CURRENT_TIMESTAMP ORDER BY priority DESC, run_after, id LIMIT 1
--     FOR UPDATE SKIP LOCKED` (partial on status = 'queued', so it only holds pending jobs).
--   * idx_hls_transcode_queue_lease_expires_at - the reaper: `WHERE status = 'running' AND
--     lease_expires_at < CURRENT_TIMESTAMP` (partial on status = 'running').
--   * uq_hls_streams_track_id_track_version_id_codec_bitrate_kbps - a player building the
--     master playlist: `WHERE track_id = $1 AND track_version_id IS NOT DISTINCT FROM $2`.
--   * uq_track_versions_track_id_version_number - a track's versions, latest first.

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE DOMAIN changelog_text AS text
    CONSTRAINT ck_changelog_text_length CHECK (char_length(VALUE) <= 2000);
COMMENT ON DOMAIN changelog_text IS 'Streaming: an uploader''s note on a new version, at most 2000 characters.';

CREATE DOMAIN hls_codec AS text
    CONSTRAINT ck_hls_codec CHECK (VALUE IN ('aac', 'he-aac', 'mp3', 'opus', 'flac', 'alac'));
COMMENT ON DOMAIN hls_codec IS 'Streaming: the audio codec of an HLS rendition.';

CREATE DOMAIN hls_container AS text
    CONSTRAINT ck_hls_container CHECK (VALUE IN ('mpegts', 'fmp4'));
COMMENT ON DOMAIN hls_container IS 'Streaming: the segment container of an HLS rendition.';

CREATE DOMAIN channel_count AS integer
    CONSTRAINT ck_channel_count CHECK (VALUE BETWEEN 1 AND 8);
COMMENT ON DOMAIN channel_count IS 'Streaming: audio channels, 1 to 8.';

CREATE DOMAIN rendition_status AS text
    CONSTRAINT ck_rendition_status CHECK (VALUE IN ('pending', 'processing', 'ready', 'failed'));
COMMENT ON DOMAIN rendition_status IS 'Streaming: the state of an HLS rendition.';

CREATE DOMAIN job_status AS text
    CONSTRAINT ck_job_status CHECK (VALUE IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
COMMENT ON DOMAIN job_status IS 'Streaming: the state of a queued job.';

CREATE DOMAIN job_priority AS integer
    CONSTRAINT ck_job_priority CHECK (VALUE BETWEEN -100 AND 100);
COMMENT ON DOMAIN job_priority IS 'Streaming: a job''s priority, -100 to 100; higher runs first.';

CREATE DOMAIN job_max_attempts AS integer
    CONSTRAINT ck_job_max_attempts CHECK (VALUE BETWEEN 1 AND 100);
COMMENT ON DOMAIN job_max_attempts IS 'Streaming: how many attempts a job may take, 1 to 100.';

CREATE DOMAIN worker_name AS text
    CONSTRAINT ck_worker_name_length CHECK (char_length(VALUE) BETWEEN 1 AND 200);
COMMENT ON DOMAIN worker_name IS 'Streaming: the identifier of a worker (host:pid or pod name), 1 to 200 characters.';

CREATE DOMAIN error_text AS text
    CONSTRAINT ck_error_text_length CHECK (char_length(VALUE) <= 4000);
COMMENT ON DOMAIN error_text IS 'Streaming: an error message, truncated to 4000 characters.';

CREATE TABLE track_versions (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    created_by uuid NULL,
    version_number positive_integer NOT NULL,
    storage_key storage_key NOT NULL,
    format audio_format NOT NULL,
    file_size_bytes non_negative_bigint NOT NULL,
    duration_ms positive_integer NULL,
    changelog changelog_text NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_track_versions PRIMARY KEY (id),
    CONSTRAINT fk_track_versions_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_track_versions_created_by FOREIGN KEY (created_by)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX uq_track_versions_track_id_version_number
    ON track_versions (track_id, version_number) WHERE deleted_at IS NULL;
CREATE INDEX idx_track_versions_track_id ON track_versions (track_id);
CREATE INDEX idx_track_versions_created_by ON track_versions (created_by);

CREATE TRIGGER trg_track_versions_updated_at
    BEFORE UPDATE ON track_versions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE track_versions IS
    'Streaming: successive uploads of a track''s audio, owned by the track (CASCADE); version_number is unique per track among live rows. Soft-deleted.';
COMMENT ON COLUMN track_versions.created_by IS 'User who uploaded this version; NULL once that user is deleted.';
COMMENT ON COLUMN track_versions.version_number IS '1-based version number within the track; unique among live versions.';
COMMENT ON COLUMN track_versions.storage_key IS 'Object-storage key of this version''s original file (not a URL).';
COMMENT ON COLUMN track_versions.changelog IS 'Uploader''s note on what changed (remaster, new mix, ...).';

CREATE TABLE hls_streams (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    track_version_id uuid NULL,
    codec hls_codec NOT NULL,
    container hls_container NOT NULL DEFAULT 'fmp4',
    bitrate_kbps positive_integer NOT NULL,
    sample_rate_hz positive_integer NULL,
    channels channel_count NULL,
    manifest_key storage_key NOT NULL,
    segment_duration_ms positive_integer NULL,
    segment_count non_negative_integer NULL,
    status rendition_status NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_hls_streams PRIMARY KEY (id),
    CONSTRAINT uq_hls_streams_track_id_track_version_id_codec_bitrate_kbps
        UNIQUE NULLS NOT DISTINCT (track_id, track_version_id, codec, bitrate_kbps),
    CONSTRAINT fk_hls_streams_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_hls_streams_track_version_id FOREIGN KEY (track_version_id)
        REFERENCES track_versions (id) ON DELETE CASCADE
);

CREATE INDEX idx_hls_streams_track_version_id ON hls_streams (track_version_id);

CREATE TRIGGER trg_hls_streams_updated_at
    BEFORE UPDATE ON hls_streams
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE hls_streams IS
    'Streaming: HLS renditions of a track, one row per (version, codec, bitrate). Owned by the track and by the track version (CASCADE).';
COMMENT ON COLUMN hls_streams.track_version_id IS 'Version this rendition was cut from; NULL for the track''s original upload.';
COMMENT ON COLUMN hls_streams.container IS 'Segment container: mpegts (.ts) or fmp4 (CMAF .m4s; required for opus, flac and alac).';
COMMENT ON COLUMN hls_streams.bitrate_kbps IS 'Target audio bitrate of the rendition, kbit/s (the BANDWIDTH advertised in the master playlist).';
COMMENT ON COLUMN hls_streams.manifest_key IS 'Object-storage key of the rendition''s media playlist (.m3u8); segments live beside it.';
COMMENT ON COLUMN hls_streams.segment_duration_ms IS 'Target segment duration (EXT-X-TARGETDURATION), milliseconds.';

CREATE TABLE hls_transcode_queue (
    id uuid NOT NULL DEFAULT uuidv7(),
    track_id uuid NOT NULL,
    track_version_id uuid NULL,
    status job_status NOT NULL DEFAULT 'queued',
    priority job_priority NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts job_max_attempts NOT NULL DEFAULT 5,
    run_after timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    locked_by worker_name NULL,
    locked_at timestamptz NULL,
    lease_expires_at timestamptz NULL,
    last_error error_text NULL,
    finished_at timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_hls_transcode_queue PRIMARY KEY (id),
    CONSTRAINT fk_hls_transcode_queue_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT fk_hls_transcode_queue_track_version_id FOREIGN KEY (track_version_id)
        REFERENCES track_versions (id) ON DELETE CASCADE,
    CONSTRAINT ck_hls_transcode_queue_attempts CHECK (attempts >= 0 AND attempts <= max_attempts),
    CONSTRAINT ck_hls_transcode_queue_lease CHECK (
        status <> 'running'
        OR (locked_by IS NOT NULL AND locked_at IS NOT NULL AND lease_expires_at IS NOT NULL)
    )
);

CREATE INDEX idx_hls_transcode_queue_priority_run_after
    ON hls_transcode_queue (priority DESC, run_after, id) WHERE status = 'queued';
CREATE INDEX idx_hls_transcode_queue_lease_expires_at
    ON hls_transcode_queue (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX uq_hls_transcode_queue_track_id_track_version_id
    ON hls_transcode_queue (track_id, track_version_id) NULLS NOT DISTINCT
    WHERE status IN ('queued', 'running');
CREATE INDEX idx_hls_transcode_queue_track_id ON hls_transcode_queue (track_id);
CREATE INDEX idx_hls_transcode_queue_track_version_id ON hls_transcode_queue (track_version_id);

CREATE TRIGGER trg_hls_transcode_queue_updated_at
    BEFORE UPDATE ON hls_transcode_queue
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE hls_transcode_queue IS
    'Streaming: job queue of HLS transcodes, owned by the track and by the track version (CASCADE). Designed for this dequeue, served by the partial index idx_hls_transcode_queue_priority_run_after:
WITH next AS (
    SELECT id FROM hls_transcode_queue
    WHERE status = ''queued'' AND run_after <= CURRENT_TIMESTAMP
    ORDER BY priority DESC, run_after, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE hls_transcode_queue q
SET status = ''running'', attempts = q.attempts + 1, locked_by = $1,
    locked_at = CURRENT_TIMESTAMP, lease_expires_at = CURRENT_TIMESTAMP + $2::interval
FROM next WHERE q.id = next.id
RETURNING q.*;
A failed attempt goes back to queued with a later run_after (backoff) until attempts = max_attempts, then failed. A reaper requeues running jobs whose lease_expires_at has passed (idx_hls_transcode_queue_lease_expires_at).';
COMMENT ON COLUMN hls_transcode_queue.track_version_id IS 'Version to transcode; NULL for the track''s original upload.';
COMMENT ON COLUMN hls_transcode_queue.status IS 'queued (waiting), running (leased by a worker), succeeded, failed (attempts exhausted), cancelled.';
COMMENT ON COLUMN hls_transcode_queue.priority IS 'Higher runs first (-100..100); ties go to the oldest run_after.';
COMMENT ON COLUMN hls_transcode_queue.attempts IS 'Attempts started so far; incremented when a worker takes the job.';
COMMENT ON COLUMN hls_transcode_queue.run_after IS 'Not dequeued before this instant (initial delay or retry backoff).';
COMMENT ON COLUMN hls_transcode_queue.locked_by IS 'Identifier of the worker holding the lease (host:pid or pod name).';
COMMENT ON COLUMN hls_transcode_queue.lease_expires_at IS 'The lease ends here unless the worker extends it; past it, the reaper requeues the job.';
COMMENT ON COLUMN hls_transcode_queue.last_error IS 'Error of the latest failed attempt, truncated to 4000 characters.';
COMMENT ON COLUMN hls_transcode_queue.finished_at IS 'When the job reached succeeded, failed or cancelled.';
