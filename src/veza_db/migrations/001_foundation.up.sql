-- 001_foundation: shared functions every later V1 migration relies on.
--
-- Creates:
--   * the value types shared by several domains' tables (non_negative_integer, positive_integer,
--     non_negative_bigint, web_url, storage_key, audio_format, visibility, email_address,
--     user_agent_text): see "Value rules as domains" below.
--   * uuidv7()          - only where the server lacks one. PostgreSQL 18 ships pg_catalog.uuidv7();
--                         on 15-17 this file creates public.uuidv7() so that every table can say
--                         `DEFAULT uuidv7()` and the table DDL is identical on 15, 16, 17 and 18.
--   * set_updated_at()  - the one trigger function behind every `trg_<table>_updated_at`.
--
-- Deliberate choices:
--   * The fallback follows RFC 9562 version 7, method 3, as PostgreSQL 18 does: 48-bit Unix
--     milliseconds, then version 7, then a 12-bit sub-millisecond fraction in rand_a, then
--     62 random bits. Ordering below the millisecond keeps uuid primary key indexes dense
--     (measured on PG 15: 60 MB / 90% leaf density for 2M rows, against 82-86 MB / 64-66% with
--     a millisecond-only v7).
--   * It is LANGUAGE sql with a single expression, no FROM and no sub-select, so the planner
--     inlines it into the INSERT (a PL/pgSQL or non-inlinable function costs far more per row).
--     The clock is read once: floor(epoch * 4096000) = unix_ms * 4096 + ((us % 1000) * 4096) / 1000
--     because that fraction never reaches 4096; its 15 hex digits are the 48-bit millisecond
--     count followed by the 12-bit fraction, and the version nibble '7' is inserted between
--     them. The last 16 hex digits come from gen_random_uuid(), which already carries the RFC
--     variant bits (10xx).
--   * Unlike PG 18's built-in, the fallback keeps no per-backend counter: two ids generated in
--     the same microsecond are ordered by their random bits.
--   * Value rules as domains. A closed set or a length rule on one column is a named CHECK on a
--     domain (`CREATE DOMAIN ... CONSTRAINT ck_<domain>[_<what>] CHECK (...)`), and the column
--     has that domain as its type; only rules between columns of a row stay table CHECKs. Why:
--     PostgreSQL prepares every table CHECK from its stored text for each INSERT or UPDATE
--     statement, prepared or not, and evaluates all of them on UPDATE even when the changed
--     column has none, while a domain's rules are prepared once per session and checked only
--     where a value of that type is assigned. Measured on the workload (quick data, PostgreSQL
--     18, server CPU per transaction on a shared 2-core machine): liking then unliking a track
--     (two UPDATEs of tracks and its 16 rules) went from 270-290 us to 107-130 us, Lab's being
--     105-145 us; with the rules simply dropped it measured 133-156 us, so the domains cost
--     nothing measurable. Each domain is named for what it holds, its constraint
--     ck_<domain>[_<what>]; a domain used by one migration's tables only is created there,
--     these are shared. Changing a rule later: loosening it is ALTER DOMAIN ... DROP CONSTRAINT
--     (instant); tightening it on a busy table is a table CHECK ... NOT VALID then VALIDATE
--     CONSTRAINT, which does not block writes, where a new domain constraint's validation would
--     block writes to every table of that type.
--   * No hot-path indexes here: this file creates no table.

-- Fail fast instead of queueing behind a long transaction (and blocking others behind us);
-- LOCAL: both settings end with this migration's transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DO $do$
BEGIN
    IF to_regprocedure('pg_catalog.uuidv7()') IS NULL THEN
        EXECUTE $ddl$
            CREATE FUNCTION public.uuidv7() RETURNS uuid
            LANGUAGE sql
            VOLATILE
            PARALLEL SAFE
            AS $fn$
                SELECT (
                    overlay(
                        lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 4096000)::bigint), 15, '0')
                        PLACING '7' FROM 13 FOR 0
                    )
                    || right(gen_random_uuid()::text, 17)
                )::uuid
            $fn$
        $ddl$;
        EXECUTE $ddl$
            COMMENT ON FUNCTION public.uuidv7() IS
                'Foundation: RFC 9562 UUID version 7 (method 3: 12-bit sub-millisecond fraction in rand_a, as PostgreSQL 18 does) for PostgreSQL 15-17, which lack pg_catalog.uuidv7(). Inlinable SQL; reads clock_timestamp() once.'
        $ddl$;
    END IF;
END
$do$;

CREATE DOMAIN non_negative_integer AS integer
    CONSTRAINT ck_non_negative_integer CHECK (VALUE >= 0);
COMMENT ON DOMAIN non_negative_integer IS 'Foundation: a count, position or duration that cannot be negative (milliseconds, stalls, zero-based positions).';

CREATE DOMAIN positive_integer AS integer
    CONSTRAINT ck_positive_integer CHECK (VALUE > 0);
COMMENT ON DOMAIN positive_integer IS 'Foundation: a measure that is at least 1 when known (durations, bitrates, sample rates, version numbers).';

CREATE DOMAIN non_negative_bigint AS bigint
    CONSTRAINT ck_non_negative_bigint CHECK (VALUE >= 0);
COMMENT ON DOMAIN non_negative_bigint IS 'Foundation: a size in bytes or a counter that cannot be negative.';

CREATE DOMAIN web_url AS text
    CONSTRAINT ck_web_url_length CHECK (char_length(VALUE) <= 2048);
COMMENT ON DOMAIN web_url IS 'Foundation: a URL shown to clients (avatars, covers), at most 2048 characters.';

CREATE DOMAIN storage_key AS text
    CONSTRAINT ck_storage_key_length CHECK (char_length(VALUE) BETWEEN 1 AND 1024);
COMMENT ON DOMAIN storage_key IS 'Foundation: an object-storage key (not a URL), 1 to 1024 characters.';

CREATE DOMAIN audio_format AS text
    CONSTRAINT ck_audio_format CHECK (VALUE IN ('mp3', 'flac', 'wav', 'aac', 'm4a', 'ogg', 'opus', 'aiff'));
COMMENT ON DOMAIN audio_format IS 'Foundation: container/codec of an uploaded audio file.';

CREATE DOMAIN visibility AS text
    CONSTRAINT ck_visibility CHECK (VALUE IN ('public', 'unlisted', 'private'));
COMMENT ON DOMAIN visibility IS 'Foundation: public (listed), unlisted (reachable by link), private (owner and collaborators only).';

CREATE DOMAIN email_address AS text
    CONSTRAINT ck_email_address_length CHECK (char_length(VALUE) BETWEEN 3 AND 254)
    CONSTRAINT ck_email_address_format CHECK (position('@' IN VALUE) > 1);
COMMENT ON DOMAIN email_address IS 'Foundation: an e-mail address, 3 to 254 characters with a local part before the @.';

CREATE DOMAIN user_agent_text AS text
    CONSTRAINT ck_user_agent_text_length CHECK (char_length(VALUE) <= 1024);
COMMENT ON DOMAIN user_agent_text IS 'Foundation: a client''s User-Agent header, at most 1024 characters.';

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    NEW.updated_at := CURRENT_TIMESTAMP;
    RETURN NEW;
END
$fn$;

COMMENT ON FUNCTION set_updated_at() IS
    'Foundation: BEFORE UPDATE row trigger function that stamps updated_at; shared by every trg_<table>_updated_at.';
