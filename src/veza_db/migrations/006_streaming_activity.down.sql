-- 006_streaming_activity (down): drops the tables 006 up created, in reverse order (their
-- indexes, constraints and triggers go with them), then its value types.

DROP TABLE track_shares;

DROP TABLE track_comments;

DROP TABLE track_likes;

DROP TABLE track_history;

DROP TABLE bitrate_adaptation_logs;

DROP TABLE playback_analytics;

DROP TABLE track_plays;

DROP DOMAIN share_channel;

DROP DOMAIN comment_body;

DROP DOMAIN bitrate_switch_reason;

DROP DOMAIN country_code;

DROP DOMAIN device_type;

DROP DOMAIN play_source;
