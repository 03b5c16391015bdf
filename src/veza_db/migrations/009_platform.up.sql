-- 009_platform: Platform domain - the audit trail.
--
-- Creates: audit_logs, and the value types audit_action, entity_type_name, metadata_object (see 001
-- on value rules as domains).
--
-- Why: who did what to which object, for security review and support; append-only.
--
-- Deliberate choices:
--   * actor_id refers to the acting user and is SET NULL: the trail must survive the deletion
--     of the account that acted (NULL also means a system action).
--   * entity_type + entity_id name the object acted upon. entity_id is a uuid with no foreign
--     key on purpose: the reference is polymorphic (any table), and an audit row must outlive
--     the object it describes.
--   * Append-only: created_at only, no updated_at. Rows are never updated by the application
--     (the only UPDATE is PostgreSQL's own SET NULL on actor_id), so no trigger forbids
--     updates; enforce it with grants (INSERT/SELECT only for the application role).
--   * metadata is metadata_object (jsonb, always an object) NOT NULL DEFAULT '{}'.
--
-- Hot-path indexes:
--   * idx_audit_logs_actor_id_created_at - what did this user do, newest first.
--   * idx_audit_logs_entity_type_entity_id_created_at - the history of one object, newest first.

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE DOMAIN audit_action AS text
    CONSTRAINT ck_audit_action_length CHECK (char_length(VALUE) BETWEEN 1 AND 100);
COMMENT ON DOMAIN audit_action IS 'Platform: what happened, as a dotted verb (user.login), 1 to 100 characters.';

CREATE DOMAIN entity_type_name AS text
    CONSTRAINT ck_entity_type_name_length CHECK (char_length(VALUE) BETWEEN 1 AND 64);
COMMENT ON DOMAIN entity_type_name IS 'Platform: the kind of an object acted upon, normally a table name, 1 to 64 characters.';

CREATE DOMAIN metadata_object AS jsonb
    CONSTRAINT ck_metadata_object CHECK (jsonb_typeof(VALUE) = 'object');
COMMENT ON DOMAIN metadata_object IS 'Platform: action details as a JSON object (never an array or a scalar).';

CREATE TABLE audit_logs (
    id uuid NOT NULL DEFAULT uuidv7(),
    actor_id uuid NULL,
    action audit_action NOT NULL,
    entity_type entity_type_name NOT NULL,
    entity_id uuid NULL,
    metadata metadata_object NOT NULL DEFAULT '{}',
    ip inet NULL,
    user_agent user_agent_text NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_audit_logs PRIMARY KEY (id),
    CONSTRAINT fk_audit_logs_actor_id FOREIGN KEY (actor_id)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_audit_logs_actor_id_created_at ON audit_logs (actor_id, created_at DESC);
CREATE INDEX idx_audit_logs_entity_type_entity_id_created_at
    ON audit_logs (entity_type, entity_id, created_at DESC);

COMMENT ON TABLE audit_logs IS
    'Platform: append-only audit trail of security-relevant and administrative actions. The actor is SET NULL when deleted; the target (entity_type, entity_id) is polymorphic and has no foreign key.';
COMMENT ON COLUMN audit_logs.actor_id IS 'User who acted; NULL for system actions or after the account was deleted.';
COMMENT ON COLUMN audit_logs.action IS 'What happened, as a dotted verb, e.g. user.login, track.delete, role.grant.';
COMMENT ON COLUMN audit_logs.entity_type IS 'Kind of object acted upon, normally its table name, e.g. tracks.';
COMMENT ON COLUMN audit_logs.entity_id IS 'Id of the object acted upon. Polymorphic: no foreign key, and it may name a row that no longer exists.';
COMMENT ON COLUMN audit_logs.metadata IS 'Action details (changed fields, reasons), a JSON object; never secrets.';
COMMENT ON COLUMN audit_logs.ip IS 'Client IP address of the request that caused the action.';
