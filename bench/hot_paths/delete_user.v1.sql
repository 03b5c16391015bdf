-- Hard-delete a user and everything it owns: V1's foreign keys say it all (CASCADE for what the
-- user owns, SET NULL for what must survive), so one statement does it. Each transaction takes
-- the next user of `doomed` (a counter per client, interleaved across clients), users created
-- for this with data in every table that refers to users or tracks.
\set dk :dk + 1
\set n :doomed_base + (:dk - 1) * :clients + :client_id + 1
SELECT id AS uid FROM workload.doomed WHERE n = :n \gset
DELETE FROM users WHERE id = :uid;
