-- Delete a comment, then restore it. Lab's track_comments has no deleted_at, so the nearest it
-- has is taking the row out (the API keeping it) and putting it back under the same id. Each
-- client works on its own comments ((n - 1) mod clients = client_id) so that two clients never
-- take out the same row. `comments` holds comments without replies: Lab's parent_id has no
-- ON DELETE, so a comment with replies could not be taken out.
\set n 1 + :client_id + :clients * random(0, (:comments - 1 - :client_id) / :clients)
DELETE FROM track_comments WHERE id = (SELECT id FROM workload.comments WHERE n = :n)
RETURNING id AS c_id, track_id AS c_track_id, user_id AS c_user_id, parent_id AS c_parent_id, body AS c_body,
          position_ms AS c_position_ms, created_at AS c_created_at \gset
INSERT INTO track_comments (id, track_id, user_id, parent_id, body, position_ms, created_at)
VALUES (:c_id, :c_track_id, :c_user_id, NULLIF(:c_parent_id, '')::bigint, :c_body,
        NULLIF(:c_position_ms, '')::integer, :c_created_at);
