-- A playlist's first page of tracks, in order (served by uq_playlist_tracks_playlist_id_position,
-- partial on live entries).
\set p random(1, :playlists)
SELECT pt.position, t.id, t.title, t.artist_name, t.duration_ms, t.cover_url
FROM playlist_tracks AS pt
JOIN tracks AS t ON t.id = pt.track_id
WHERE pt.playlist_id = (SELECT id FROM workload.playlists WHERE n = :p)
  AND pt.deleted_at IS NULL
  AND t.deleted_at IS NULL
ORDER BY pt.position
LIMIT 50;
