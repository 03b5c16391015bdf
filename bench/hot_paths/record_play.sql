-- Record a play and its playback-analytics row: one statement, as the API writes it.
-- Same SQL on Lab and V1; only the keys the tables generate differ (bigserial / uuidv7()).
\set u random(1, :users)
\set t random(1, :tracks)
\set ms random(1000, 300000)
\set source random(1, 10)
\set device random(1, 8)
\set country random(1, 10)
WITH play AS (
    INSERT INTO track_plays (track_id, user_id, played_at, ms_played, source)
    VALUES ((SELECT id FROM workload.tracks WHERE n = :t),
            (SELECT id FROM workload.users WHERE n = :u),
            CURRENT_TIMESTAMP - :ms * interval '1 millisecond',
            :ms,
            (ARRAY['library', 'playlist', 'album', 'artist', 'search', 'radio', 'recommendation', 'share',
                   'embed', 'other'])[:source])
    RETURNING track_id, user_id, played_at, ms_played
)
INSERT INTO playback_analytics (track_id, user_id, started_at, ended_at, position_ms, duration_played_ms,
                                buffering_count, buffering_ms, average_bitrate_kbps, device_type, country_code)
SELECT track_id, user_id, played_at, CURRENT_TIMESTAMP, ms_played, ms_played, 0, 0, 256,
       (ARRAY['web', 'ios', 'android', 'desktop', 'tv', 'speaker', 'car', 'other'])[:device],
       (ARRAY['FR', 'US', 'JP', 'DE', 'BR', 'GB', 'IN', 'NG', 'CA', 'KR'])[:country]
FROM play;
