-- Like a track, then unlike it: two requests, each keeping tracks.like_count (the denormalised
-- counter both schemas have) in step with track_likes. Same SQL on Lab and V1.
\set u random(1, :users)
\set t random(1, :tracks)
WITH liked AS (
    INSERT INTO track_likes (user_id, track_id)
    VALUES ((SELECT id FROM workload.users WHERE n = :u), (SELECT id FROM workload.tracks WHERE n = :t))
    ON CONFLICT (user_id, track_id) DO NOTHING
    RETURNING track_id
)
UPDATE tracks SET like_count = like_count + 1 FROM liked WHERE tracks.id = liked.track_id;
WITH unliked AS (
    DELETE FROM track_likes
    WHERE user_id = (SELECT id FROM workload.users WHERE n = :u)
      AND track_id = (SELECT id FROM workload.tracks WHERE n = :t)
    RETURNING track_id
)
UPDATE tracks SET like_count = like_count - 1 FROM unliked WHERE tracks.id = unliked.track_id;
