-- 005_streaming_media (down): drops the tables 005 up created, in reverse order (their
-- indexes, constraints and triggers go with them), then its value types.

DROP TABLE hls_transcode_queue;

DROP TABLE hls_streams;

DROP TABLE track_versions;

DROP DOMAIN error_text;

DROP DOMAIN worker_name;

DROP DOMAIN job_max_attempts;

DROP DOMAIN job_priority;

DROP DOMAIN job_status;

DROP DOMAIN rendition_status;

DROP DOMAIN channel_count;

DROP DOMAIN hls_container;

DROP DOMAIN hls_codec;

DROP DOMAIN changelog_text;
