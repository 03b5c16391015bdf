-- Refresh: find the presented token by its SHA-256 (uq_refresh_tokens_token_hash), lock it, issue
-- its successor for the same session, naming the token it replaces (replaces_id), and revoke the
-- old one (a HOT update: no indexed column changes). The new hash stands for the digest of the
-- token the API generates.
\set n random(1, :tokens)
WITH old AS (
    SELECT id, user_id, session_id FROM refresh_tokens
    WHERE token_hash = (SELECT token FROM workload.tokens WHERE n = :n)
    FOR UPDATE
), fresh AS (
    INSERT INTO refresh_tokens (user_id, session_id, token_hash, expires_at, replaces_id)
    SELECT user_id, session_id, sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())),
           CURRENT_TIMESTAMP + interval '14 days', id
    FROM old
    RETURNING replaces_id
)
UPDATE refresh_tokens AS r SET revoked_at = CURRENT_TIMESTAMP
FROM fresh
WHERE r.id = fresh.replaces_id;
