-- Soft-delete a comment, then restore it (trg_track_comments_updated_at stamps updated_at).
-- Each client works on its own comments ((n - 1) mod clients = client_id), as on Lab.
\set n 1 + :client_id + :clients * random(0, (:comments - 1 - :client_id) / :clients)
UPDATE track_comments SET deleted_at = CURRENT_TIMESTAMP
WHERE id = (SELECT id FROM workload.comments WHERE n = :n) AND deleted_at IS NULL;
UPDATE track_comments SET deleted_at = NULL
WHERE id = (SELECT id FROM workload.comments WHERE n = :n) AND deleted_at IS NOT NULL;
