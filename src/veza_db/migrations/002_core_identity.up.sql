-- 002_core_identity: Core domain - accounts and role-based access control.
--
-- Creates: users, roles, permissions, role_permissions, user_roles (and their
-- trg_<table>_updated_at triggers), and the value types of their columns (handle,
-- password_hash_text, display_name_text, bio_text, account_type, account_status, role_name,
-- permission_name, rbac_description; see 001 on value rules as domains).
--
-- Why: every other V1 table hangs off users; permissions are granted through roles only.
--
-- Deliberate choices:
--   * users is soft-deleted (deleted_at). Usernames and e-mail addresses are unique among live
--     accounts only, and case-insensitively: uq_users_username on lower(username) and
--     uq_users_email on lower(email), both WHERE deleted_at IS NULL. Login looks users up with
--     `WHERE lower(email) = lower($1) AND deleted_at IS NULL`, which these indexes serve.
--   * users.password_hash holds a slow hash (argon2id / bcrypt, self-describing string), never
--     a password. users carries no role column: permissions come from user_roles only;
--     users.account_type is the product profile (listener or artist), not an authorisation.
--   * RESTRICT: fk_user_roles_role_id is ON DELETE RESTRICT. Deleting a role that is still
--     assigned would silently strip permissions from every holder; an operator must unassign
--     it first. This never blocks deleting a user: user_roles.user_id cascades.
--     (The inventory lists user_roles as "owned by role"; this is the one place V1 refuses
--     instead, on purpose.)
--   * role_permissions cascades from both sides (a grant means nothing without its role or
--     permission); user_roles.granted_by is SET NULL so the assignment survives its granter.
--   * Junction tables have their own uuid id plus a named unique pair:
--     uq_role_permissions_role_id_permission_id, uq_user_roles_user_id_role_id; the second
--     column of each pair gets its own index for the foreign key (idx_role_permissions_permission_id,
--     idx_user_roles_role_id, idx_user_roles_granted_by).
--   * Grants are immutable rows (granted = inserted, revoked = deleted): no updated_at on
--     role_permissions or user_roles.
--
-- Hot-path indexes: uq_users_username, uq_users_email (login and profile lookup by name),
-- uq_user_roles_user_id_role_id (a user's roles, checked on every authorisation).

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE DOMAIN handle AS text
    CONSTRAINT ck_handle_length CHECK (char_length(VALUE) BETWEEN 1 AND 64);
COMMENT ON DOMAIN handle IS 'Core: a public handle (username), 1 to 64 characters.';

CREATE DOMAIN password_hash_text AS text
    CONSTRAINT ck_password_hash_text_length CHECK (char_length(VALUE) BETWEEN 1 AND 255);
COMMENT ON DOMAIN password_hash_text IS 'Core: a slow password hash as a self-describing string (argon2id, bcrypt), never a password.';

CREATE DOMAIN display_name_text AS text
    CONSTRAINT ck_display_name_text_length CHECK (char_length(VALUE) <= 100);
COMMENT ON DOMAIN display_name_text IS 'Core: a name shown in place of the handle, at most 100 characters.';

CREATE DOMAIN bio_text AS text
    CONSTRAINT ck_bio_text_length CHECK (char_length(VALUE) <= 2000);
COMMENT ON DOMAIN bio_text IS 'Core: a profile''s free text, at most 2000 characters.';

CREATE DOMAIN account_type AS text
    CONSTRAINT ck_account_type CHECK (VALUE IN ('listener', 'artist'));
COMMENT ON DOMAIN account_type IS 'Core: the product profile of an account (not an authorisation).';

CREATE DOMAIN account_status AS text
    CONSTRAINT ck_account_status CHECK (VALUE IN ('active', 'suspended', 'banned', 'deactivated'));
COMMENT ON DOMAIN account_status IS 'Core: the state of an account.';

CREATE DOMAIN role_name AS text
    CONSTRAINT ck_role_name_length CHECK (char_length(VALUE) BETWEEN 1 AND 64);
COMMENT ON DOMAIN role_name IS 'Core: the machine name of a role, 1 to 64 characters.';

CREATE DOMAIN permission_name AS text
    CONSTRAINT ck_permission_name_length CHECK (char_length(VALUE) BETWEEN 1 AND 128);
COMMENT ON DOMAIN permission_name IS 'Core: the machine name of a permission, 1 to 128 characters.';

CREATE DOMAIN rbac_description AS text
    CONSTRAINT ck_rbac_description_length CHECK (char_length(VALUE) <= 500);
COMMENT ON DOMAIN rbac_description IS 'Core: what a role or a permission is for, at most 500 characters.';

CREATE TABLE users (
    id uuid NOT NULL DEFAULT uuidv7(),
    username handle NOT NULL,
    email email_address NOT NULL,
    password_hash password_hash_text NOT NULL,
    display_name display_name_text NULL,
    avatar_url web_url NULL,
    bio bio_text NULL,
    account_type account_type NOT NULL DEFAULT 'listener',
    status account_status NOT NULL DEFAULT 'active',
    email_verified_at timestamptz NULL,
    last_login_at timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at timestamptz NULL,
    CONSTRAINT pk_users PRIMARY KEY (id)
);

CREATE UNIQUE INDEX uq_users_username ON users (lower(username)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX uq_users_email ON users (lower(email)) WHERE deleted_at IS NULL;

CREATE TRIGGER trg_users_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE users IS
    'Core: user accounts (listeners and artists). Soft-deleted; username and email are unique case-insensitively among live rows. The chat server reads id, username, display_name, avatar_url.';
COMMENT ON COLUMN users.username IS 'Public handle; unique among live accounts, compared case-insensitively (uq_users_username on lower(username)).';
COMMENT ON COLUMN users.email IS 'Login address; unique among live accounts, compared case-insensitively (uq_users_email on lower(email)).';
COMMENT ON COLUMN users.password_hash IS 'Slow password hash (argon2id or bcrypt, self-describing encoded string); the password itself is never stored.';
COMMENT ON COLUMN users.account_type IS 'Product profile: listener or artist. Not an authorisation; permissions come from user_roles.';
COMMENT ON COLUMN users.status IS 'Account state: active, suspended (temporary), banned (permanent), deactivated (by the user).';
COMMENT ON COLUMN users.email_verified_at IS 'When the current email was verified; NULL while unverified.';
COMMENT ON COLUMN users.deleted_at IS 'Soft delete: set when the account is deleted; the row is hidden and its username/email become reusable.';

CREATE TABLE roles (
    id uuid NOT NULL DEFAULT uuidv7(),
    name role_name NOT NULL,
    description rbac_description NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_roles PRIMARY KEY (id),
    CONSTRAINT uq_roles_name UNIQUE (name)
);

CREATE TRIGGER trg_roles_updated_at
    BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE roles IS
    'Core: RBAC roles (e.g. admin, moderator, artist). A role cannot be deleted while assigned to a user (fk_user_roles_role_id is RESTRICT).';
COMMENT ON COLUMN roles.name IS 'Stable machine name the application checks, e.g. admin; unique.';

CREATE TABLE permissions (
    id uuid NOT NULL DEFAULT uuidv7(),
    name permission_name NOT NULL,
    description rbac_description NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_permissions PRIMARY KEY (id),
    CONSTRAINT uq_permissions_name UNIQUE (name)
);

CREATE TRIGGER trg_permissions_updated_at
    BEFORE UPDATE ON permissions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE permissions IS 'Core: RBAC permissions, granted to roles through role_permissions.';
COMMENT ON COLUMN permissions.name IS 'Stable machine name the application checks, e.g. tracks:upload; unique.';

CREATE TABLE role_permissions (
    id uuid NOT NULL DEFAULT uuidv7(),
    role_id uuid NOT NULL,
    permission_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_role_permissions PRIMARY KEY (id),
    CONSTRAINT uq_role_permissions_role_id_permission_id UNIQUE (role_id, permission_id),
    CONSTRAINT fk_role_permissions_role_id FOREIGN KEY (role_id)
        REFERENCES roles (id) ON DELETE CASCADE,
    CONSTRAINT fk_role_permissions_permission_id FOREIGN KEY (permission_id)
        REFERENCES permissions (id) ON DELETE CASCADE
);

CREATE INDEX idx_role_permissions_permission_id ON role_permissions (permission_id);

COMMENT ON TABLE role_permissions IS
    'Core: grants a permission to a role (junction; one row per pair). Owned by both sides; immutable.';

CREATE TABLE user_roles (
    id uuid NOT NULL DEFAULT uuidv7(),
    user_id uuid NOT NULL,
    role_id uuid NOT NULL,
    granted_by uuid NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_user_roles PRIMARY KEY (id),
    CONSTRAINT uq_user_roles_user_id_role_id UNIQUE (user_id, role_id),
    CONSTRAINT fk_user_roles_user_id FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_roles_role_id FOREIGN KEY (role_id)
        REFERENCES roles (id) ON DELETE RESTRICT,
    CONSTRAINT fk_user_roles_granted_by FOREIGN KEY (granted_by)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX idx_user_roles_role_id ON user_roles (role_id);
CREATE INDEX idx_user_roles_granted_by ON user_roles (granted_by);

COMMENT ON TABLE user_roles IS
    'Core: assigns a role to a user (junction; one row per pair). Owned by the user (CASCADE); a role still assigned cannot be deleted (RESTRICT); immutable.';
COMMENT ON COLUMN user_roles.granted_by IS 'User who granted the role; NULL when granted by the system or when that user was deleted.';
COMMENT ON COLUMN user_roles.created_at IS 'When the role was granted.';
