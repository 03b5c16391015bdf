-- Refresh: find the presented token by its SHA-256 (uq_refresh_tokens_token_hash) and issue its
-- successor for the same session, naming the token it replaces (replaces_id). One INSERT: the
-- old token is not updated, and uq_refresh_tokens_replaces_id lets it be exchanged once (a second
-- exchange finds the conflict and issues nothing: the API treats that as reuse). As in Lab's
-- script, the API's checks of the row it read (revoked, expired) are not part of the SQL. The
-- new hash stands for the digest of the token the API generates; the client keeps the new token.
\set n random(1, :tokens)
WITH old AS (
    SELECT id, user_id, session_id FROM refresh_tokens
    WHERE token_hash = (SELECT token FROM workload.tokens WHERE n = :n)
), fresh AS (
    INSERT INTO refresh_tokens (user_id, session_id, token_hash, expires_at, replaces_id)
    SELECT user_id, session_id, sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())),
           CURRENT_TIMESTAMP + interval '14 days', id
    FROM old
    ON CONFLICT (replaces_id) DO NOTHING
    RETURNING token_hash
)
UPDATE workload.tokens SET token = fresh.token_hash FROM fresh WHERE n = :n;
