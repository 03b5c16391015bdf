-- A transcode worker: take the next job (highest priority, then oldest run_after) with FOR UPDATE
-- SKIP LOCKED, then complete it. Completing enqueues the track's next job, so the queue keeps
-- its size for the whole run. Lab has only an index on (status, created_at) for this, and no
-- updated_at trigger on the table: the worker stamps updated_at itself.
WITH next AS (
    SELECT id FROM hls_transcode_queue
    WHERE status = 'queued' AND run_after <= now()
    ORDER BY priority DESC, run_after, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE hls_transcode_queue AS q
SET status = 'running', attempts = q.attempts + 1, locked_by = 'worker-' || :client_id, locked_at = now(),
    updated_at = now()
FROM next
WHERE q.id = next.id
RETURNING q.id AS job_id \gset
WITH done AS (
    UPDATE hls_transcode_queue SET status = 'succeeded', finished_at = now(), updated_at = now()
    WHERE id = :job_id
    RETURNING track_id, track_version_id, priority
)
INSERT INTO hls_transcode_queue (track_id, track_version_id, priority)
SELECT track_id, track_version_id, priority FROM done;
