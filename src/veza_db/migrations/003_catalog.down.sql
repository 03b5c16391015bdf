-- 003_catalog (down): drops the tables 003 up created, in reverse order (their indexes,
-- constraints and triggers go with them), then its value types.

DROP TABLE playlist_tracks;

DROP TABLE playlists;

DROP TABLE tracks;

DROP DOMAIN track_status;

DROP DOMAIN description_text;

DROP DOMAIN genre_text;

DROP DOMAIN credit_text;

DROP DOMAIN title_text;
