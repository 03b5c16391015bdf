-- Refresh: find the presented token (Lab keeps it in clear, UNIQUE (token)), lock it, issue its
-- successor for the same session and revoke it with the rotation link. The new token stands for
-- the one the API generates; Lab has no updated_at trigger here, so the API stamps it. The
-- client keeps the new token.
\set n random(1, :tokens)
WITH old AS (
    SELECT id, user_id, session_id FROM refresh_tokens
    WHERE token = (SELECT token FROM workload.tokens WHERE n = :n)
    FOR UPDATE
), fresh AS (
    INSERT INTO refresh_tokens (user_id, session_id, token, expires_at)
    SELECT user_id, session_id,
           'rt_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
           now() + interval '14 days'
    FROM old
    RETURNING id, token
), revoked AS (
    UPDATE refresh_tokens AS r SET revoked_at = now(), replaced_by_id = fresh.id, updated_at = now()
    FROM old, fresh
    WHERE r.id = old.id
)
UPDATE workload.tokens SET token = fresh.token FROM fresh WHERE n = :n;
