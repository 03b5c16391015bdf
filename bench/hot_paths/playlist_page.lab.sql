-- A playlist's first page of tracks, in order (served by UNIQUE (playlist_id, position)).
-- Lab's playlist_tracks has no deleted_at: every entry is live.
\set p random(1, :playlists)
SELECT pt.position, t.id, t.title, t.artist_name, t.duration_ms, t.cover_url
FROM playlist_tracks AS pt
JOIN tracks AS t ON t.id = pt.track_id
WHERE pt.playlist_id = (SELECT id FROM workload.playlists WHERE n = :p)
  AND t.deleted_at IS NULL
ORDER BY pt.position
LIMIT 50;
