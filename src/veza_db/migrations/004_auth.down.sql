-- 004_auth (down): drops the tables 004 up created, in reverse order (their indexes,
-- constraints and triggers go with them), then its value types.

DROP TABLE email_verification_tokens;

DROP TABLE password_reset_tokens;

DROP TABLE refresh_tokens;

DROP TABLE user_sessions;

DROP DOMAIN sha256_digest;

DROP DOMAIN session_revoked_reason;

DROP DOMAIN device_name_text;
