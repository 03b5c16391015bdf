-- Hard-delete a user and everything it owns, with V1's meaning: what the user owns goes, what
-- only refers to it survives with the reference cleared. Lab's foreign keys mostly lack an
-- ON DELETE, so the API does it by hand, children first, in one transaction. Each transaction
-- takes the next user of `doomed` (a counter per client, interleaved across clients).
\set dk :dk + 1
\set n :doomed_base + (:dk - 1) * :clients + :client_id + 1
SELECT id AS uid FROM workload.doomed WHERE n = :n \gset
BEGIN;
-- Comments by the user or on its tracks, and every reply below them (parent_id: no ON DELETE).
WITH RECURSIVE gone (id) AS (
    SELECT id FROM track_comments WHERE user_id = :uid
    UNION ALL
    SELECT c.id FROM track_comments AS c JOIN tracks AS t ON t.id = c.track_id WHERE t.user_id = :uid
    UNION
    SELECT c.id FROM track_comments AS c JOIN gone ON c.parent_id = gone.id
)
DELETE FROM track_comments WHERE id IN (SELECT id FROM gone);
-- What hangs off the user's tracks without a cascade.
DELETE FROM playback_analytics WHERE track_id IN (SELECT id FROM tracks WHERE user_id = :uid);
DELETE FROM bitrate_adaptation_logs WHERE track_id IN (SELECT id FROM tracks WHERE user_id = :uid);
DELETE FROM track_history WHERE track_id IN (SELECT id FROM tracks WHERE user_id = :uid);
DELETE FROM hls_streams WHERE track_id IN (SELECT id FROM tracks WHERE user_id = :uid);
DELETE FROM hls_transcode_queue WHERE track_id IN (SELECT id FROM tracks WHERE user_id = :uid);
DELETE FROM track_shares WHERE track_id IN (SELECT id FROM tracks WHERE user_id = :uid);
DELETE FROM playlist_tracks WHERE track_id IN (SELECT id FROM tracks WHERE user_id = :uid);
DELETE FROM playlist_follows WHERE playlist_id IN (SELECT id FROM playlists WHERE user_id = :uid);
-- The user's own rows without a cascade.
DELETE FROM track_history WHERE user_id = :uid;
DELETE FROM playlist_follows WHERE user_id = :uid;
DELETE FROM playlist_collaborators WHERE user_id = :uid;
DELETE FROM refresh_tokens WHERE user_id = :uid;
DELETE FROM password_reset_tokens WHERE user_id = :uid;
-- References that survive the user.
UPDATE user_roles SET granted_by = NULL WHERE granted_by = :uid;
UPDATE playlist_tracks SET added_by = NULL WHERE added_by = :uid;
UPDATE track_versions SET created_by = NULL WHERE created_by = :uid;
UPDATE bitrate_adaptation_logs SET user_id = NULL WHERE user_id = :uid;
UPDATE playback_analytics SET user_id = NULL WHERE user_id = :uid;
UPDATE track_shares SET shared_by = NULL WHERE shared_by = :uid;
UPDATE playlist_collaborators SET invited_by = NULL WHERE invited_by = :uid;
UPDATE rooms SET created_by = NULL WHERE created_by = :uid;
UPDATE audit_logs SET actor_id = NULL WHERE actor_id = :uid;
-- Then the tracks (track_versions, track_plays, track_likes cascade) and the user (user_roles,
-- playlists with their entries and collaborators, sessions, e-mail tokens and likes cascade;
-- track_plays.user_id and bitrate_adaptation_logs.session_id are SET NULL).
DELETE FROM tracks WHERE user_id = :uid;
DELETE FROM users WHERE id = :uid;
COMMIT;
