-- 003_catalog (down): drops the tables 003 up created, in reverse order (their indexes,
-- constraints and triggers go with them).

DROP TABLE playlist_tracks;

DROP TABLE playlists;

DROP TABLE tracks;
