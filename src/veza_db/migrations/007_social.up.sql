-- 007_social: Social domain - people around a playlist: collaborators and followers.
--
-- Creates: playlist_collaborators, playlist_follows (and trg_playlist_collaborators_updated_at),
-- and the value type collaborator_role (see 001 on value rules as domains).
--
-- Why: shared editing of playlists, and following playlists to get their updates.
--
-- Deliberate choices:
--   * playlist_collaborators is soft-deleted (user-managed): a collaborator is unique per
--     playlist among live rows only (uq_playlist_collaborators_playlist_id_user_id ...
--     WHERE deleted_at IS NULL), so a removed collaborator can be invited again. Because that
--     unique index is partial, idx_playlist_collaborators_playlist_id is a plain index for the
--     playlist cascade.
--   * Both tables are owned by the playlist and by the user (CASCADE); invited_by only refers
--     to the inviting user (SET NULL, the collaboration survives).
--   * playlist_follows rows are immutable (follow = insert, unfollow = delete): no updated_at;
--     its own id plus uq_playlist_follows_playlist_id_user_id.
--
-- Hot-path indexes:
--   * uq_playlist_collaborators_playlist_id_user_id - "may this user edit this playlist".
--   * idx_playlist_collaborators_user_id - playlists shared with me.
--   * uq_playlist_follows_playlist_id_user_id - "do I follow it" and a playlist's followers.
--   * idx_playlist_follows_user_id_created_at - playlists I follow, newest first.

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE DOMAIN collaborator_role AS text
    CONSTRAINT ck_collaborator_role CHECK (VALUE IN ('viewer', 'editor', 'admin'));
COMMENT ON DOMAIN collaborator_role IS 'Social: what a collaborator may do on a playlist.';

CREATE TABLE playlist_collaborators (
    id uuid NOT NULL DEFAULT uuidv7(),
    playlist_id uuid NOT NULL,
    user_id uuid NOT NULL,
    invited_by uuid NULL,
    role collaborator_role NOT NULL DEFAULT 'editor',
    accepted_at timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_playlist_collaborators PRIMARY KEY (id),
    CONSTRAINT fk_playlist_collaborators_playlist_id FOREIGN KEY (playlist_id)
        REFERENCES playlists (id) ON DELETE CASCADE,
    CONSTRAINT fk_playlist_collaborators_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_playlist_collaborators_invited_by FOREIGN KEY (invited_by)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX uq_playlist_collaborators_playlist_id_user_id
    ON playlist_collaborators (playlist_id, user_id) WHERE deleted_at IS NULL;
CREATE INDEX idx_playlist_collaborators_playlist_id ON playlist_collaborators (playlist_id);
CREATE INDEX idx_playlist_collaborators_user_id ON playlist_collaborators (user_id);
CREATE INDEX idx_playlist_collaborators_invited_by ON playlist_collaborators (invited_by);

CREATE TRIGGER trg_playlist_collaborators_updated_at
    BEFORE UPDATE ON playlist_collaborators
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE playlist_collaborators IS
    'Social: users invited to work on a playlist. Owned by the playlist and by the collaborator (CASCADE); one live row per pair. Soft-deleted.';
COMMENT ON COLUMN playlist_collaborators.user_id IS 'The collaborator.';
COMMENT ON COLUMN playlist_collaborators.invited_by IS 'User who sent the invitation; NULL once that user is deleted.';
COMMENT ON COLUMN playlist_collaborators.role IS 'viewer: may see a private playlist; editor: may add, remove and reorder tracks; admin: may also manage collaborators.';
COMMENT ON COLUMN playlist_collaborators.accepted_at IS 'When the invitee accepted; NULL while the invitation is pending.';

CREATE TABLE playlist_follows (
    id uuid NOT NULL DEFAULT uuidv7(),
    playlist_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_playlist_follows PRIMARY KEY (id),
    CONSTRAINT uq_playlist_follows_playlist_id_user_id UNIQUE (playlist_id, user_id),
    CONSTRAINT fk_playlist_follows_playlist_id FOREIGN KEY (playlist_id)
        REFERENCES playlists (id) ON DELETE CASCADE,
    CONSTRAINT fk_playlist_follows_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX idx_playlist_follows_user_id_created_at ON playlist_follows (user_id, created_at DESC);

COMMENT ON TABLE playlist_follows IS
    'Social: a user follows a playlist (junction; one row per pair). Owned by the playlist and by the user (CASCADE); unfollowing deletes the row.';
