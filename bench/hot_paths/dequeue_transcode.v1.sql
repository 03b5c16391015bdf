-- A transcode worker: the dequeue of hls_transcode_queue's table comment (served by the partial
-- index idx_hls_transcode_queue_priority_run_after), then completion. Completing enqueues the
-- track's next job, so the queue keeps its size for the whole run.
WITH next AS (
    SELECT id FROM hls_transcode_queue
    WHERE status = 'queued' AND run_after <= CURRENT_TIMESTAMP
    ORDER BY priority DESC, run_after, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE hls_transcode_queue AS q
SET status = 'running', attempts = q.attempts + 1, locked_by = 'worker-' || :client_id,
    locked_at = CURRENT_TIMESTAMP, lease_expires_at = CURRENT_TIMESTAMP + interval '5 minutes'
FROM next
WHERE q.id = next.id
RETURNING q.id AS job_id \gset
WITH done AS (
    UPDATE hls_transcode_queue SET status = 'succeeded', finished_at = CURRENT_TIMESTAMP
    WHERE id = :job_id
    RETURNING track_id, track_version_id, priority
)
INSERT INTO hls_transcode_queue (track_id, track_version_id, priority)
SELECT track_id, track_version_id, priority FROM done;
