-- 008_legacy_chat: Chat (Legacy) domain - the rooms the Go backend still serves.
--
-- Creates: rooms (and trg_rooms_updated_at), and the value types room_name, room_description,
-- room_privacy (see 001 on value rules as domains).
--
-- Why: the legacy room list lives in public and is owned by veza-backend-api. The chat
-- server's own tables (chat.conversations, chat.messages) are NOT created here: the chat
-- schema belongs to veza-chat-server, and V1 touches public only.
--
-- Deliberate choices:
--   * rooms is soft-deleted (user-managed). created_by only refers to the creator (SET NULL):
--     a room outlives the account that opened it.
--   * Room names are not unique (two communities may both have a "general" room).
--
-- Hot-path indexes: idx_rooms_created_by (rooms a user opened; the user delete's SET NULL).

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE DOMAIN room_name AS text
    CONSTRAINT ck_room_name_length CHECK (char_length(VALUE) BETWEEN 1 AND 100);
COMMENT ON DOMAIN room_name IS 'Chat (Legacy): the name of a room, 1 to 100 characters.';

CREATE DOMAIN room_description AS text
    CONSTRAINT ck_room_description_length CHECK (char_length(VALUE) <= 1000);
COMMENT ON DOMAIN room_description IS 'Chat (Legacy): what a room is about, at most 1000 characters.';

CREATE DOMAIN room_privacy AS text
    CONSTRAINT ck_room_privacy CHECK (VALUE IN ('public', 'private'));
COMMENT ON DOMAIN room_privacy IS 'Chat (Legacy): public (listed, open to join) or private (by invitation).';

CREATE TABLE rooms (
    id uuid NOT NULL DEFAULT uuidv7(),
    created_by uuid NULL,
    name room_name NOT NULL,
    description room_description NULL,
    privacy room_privacy NOT NULL DEFAULT 'public',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_rooms PRIMARY KEY (id),
    CONSTRAINT fk_rooms_created_by FOREIGN KEY (created_by)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_rooms_created_by ON rooms (created_by);

CREATE TRIGGER trg_rooms_updated_at
    BEFORE UPDATE ON rooms
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE rooms IS
    'Chat (Legacy): chat rooms still served by the Go backend; the chat server''s own schema (chat) is separate and not managed here. Soft-deleted.';
COMMENT ON COLUMN rooms.created_by IS 'User who created the room; NULL once that user is deleted.';
COMMENT ON COLUMN rooms.privacy IS 'public: listed and open to join; private: by invitation only.';
