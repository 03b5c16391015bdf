-- 007_social (down): drops the tables 007 up created, in reverse order (their indexes,
-- constraints and triggers go with them), then its value types.

DROP TABLE playlist_follows;

DROP TABLE playlist_collaborators;

DROP DOMAIN collaborator_role;
