-- 005_streaming_media (down): drops the tables 005 up created, in reverse order (their
-- indexes, constraints and triggers go with them).

DROP TABLE hls_transcode_queue;

DROP TABLE hls_streams;

DROP TABLE track_versions;
