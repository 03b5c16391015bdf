-- A user's listening history, newest first: the first page, then the next one by keyset on
-- (played_at, id) from the last row of the first. Same SQL on Lab and V1 (Lab's played_at is a
-- timestamp without time zone and its id a bigint; the parameters take each schema's types).
-- `listeners` holds users with history (at the QUICK scale most have a second page).
\set u random(1, :listeners)
SELECT h.played_at AS last_played_at, h.id AS last_id, t.title
FROM track_history AS h
JOIN tracks AS t ON t.id = h.track_id
WHERE h.user_id = (SELECT id FROM workload.listeners WHERE n = :u)
ORDER BY h.played_at DESC, h.id DESC
LIMIT 20 \aset
SELECT h.played_at, h.id, t.title
FROM track_history AS h
JOIN tracks AS t ON t.id = h.track_id
WHERE h.user_id = (SELECT id FROM workload.listeners WHERE n = :u)
  AND (h.played_at, h.id) < (:last_played_at, :last_id)
ORDER BY h.played_at DESC, h.id DESC
LIMIT 20;
