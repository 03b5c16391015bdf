-- 006_streaming_activity (down): drops the tables 006 up created, in reverse order (their
-- indexes, constraints and triggers go with them).

DROP TABLE track_shares;

DROP TABLE track_comments;

DROP TABLE track_likes;

DROP TABLE track_history;

DROP TABLE bitrate_adaptation_logs;

DROP TABLE playback_analytics;

DROP TABLE track_plays;
