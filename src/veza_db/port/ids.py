"""Deterministic UUIDs for rows whose old key is an integer (or a composite key).

The id of a row with integer key K in source table T is a valid RFC 9562 version 7 UUID:

* bytes 0-5 (unix_ts_ms): EPOCH_MS + K, big-endian, with EPOCH_MS = 946684800000
  (2000-01-01T00:00:00Z). Ids therefore sort in old-key order, and before every id generated at
  run time (their timestamp is "now"), for any key below about 8.5e11.
* bytes 6-15: bytes 6-15 of SHA-256("T:K") (UTF-8, K in decimal), with the version nibble
  (byte 6, high 4 bits) set to 7 and the variant (byte 8, high 2 bits) set to 10.

A row with a composite key (c1, c2, ...) uses the text "T:c1:c2:..." (each value as PostgreSQL
prints it) and unix_ts_ms = EPOCH_MS. The function is pure: a child computes its parent's new
id from the old foreign-key value, with no lookup, and a second port gives identical ids. The
Go API can map an old id in a URL the same way (see `id_for_key`).
"""

from __future__ import annotations

import hashlib
import uuid

from psycopg import sql

EPOCH_MS = 946_684_800_000


def _assemble(timestamp_ms: int, digest: bytes) -> uuid.UUID:
    raw = bytearray(timestamp_ms.to_bytes(8, "big")[2:] + digest[6:16])
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(raw))


def id_for_key(table: str, key: int) -> uuid.UUID:
    """The V1 id of the row with integer key `key` in source table `table`."""
    return _assemble(EPOCH_MS + key, hashlib.sha256(f"{table}:{key}".encode()).digest())


def id_for_composite(table: str, *parts: str) -> uuid.UUID:
    """The V1 id of a row whose source key is composite (each part as PostgreSQL prints it)."""
    text = ":".join((table, *parts))
    return _assemble(EPOCH_MS, hashlib.sha256(text.encode()).digest())


def _digest(text: sql.Composable) -> sql.Composable:
    return sql.SQL("sha256(convert_to({}, 'UTF8'))").format(text)


def _assemble_sql(timestamp: sql.Composable, text: sql.Composable) -> sql.Composed:
    # overlay puts the 6 timestamp bytes over the digest's first 6; set_bit writes the version
    # (bits 55-52: 0111) and the variant (bits 71-70: 10) - PostgreSQL numbers bits from the
    # least significant of each byte - so the digest is computed once per row (get_byte would
    # need it again: PostgreSQL does not share common subexpressions). The first 16 bytes, as
    # hex, are the uuid.
    bytes_ = sql.SQL("overlay({d} placing substring(int8send({ts}) from 3 for 6) from 1 for 6)").format(
        d=_digest(text), ts=timestamp
    )
    return sql.SQL(
        "encode(substring(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit({b}, 55, 0), 54, 1), 53, 1), "
        "52, 1), 71, 1), 70, 0) from 1 for 16), 'hex')::uuid"
    ).format(b=bytes_)


def key_sql(table: str, key: sql.Composable) -> sql.Composed:
    """SQL for `id_for_key(table, key)`; NULL when the key is NULL."""
    text = sql.SQL("{} || ':' || ({})::bigint::text").format(sql.Literal(table), key)
    return _assemble_sql(sql.SQL("({} + ({})::bigint)").format(sql.Literal(EPOCH_MS), key), text)


def composite_sql(table: str, parts: list[sql.Composable]) -> sql.Composed:
    """SQL for `id_for_composite(table, *parts)`."""
    text = sql.SQL(" || ':' || ").join(
        [sql.Literal(table), *(sql.SQL("({})::text").format(p) for p in parts)]
    )
    return _assemble_sql(sql.Literal(EPOCH_MS), text)


FUNCTION_SQL = """
-- The same function as veza_db.port.ids.id_for_key, for SQL users (installed by the port in its
-- bookkeeping schema; copy it anywhere): map an old integer id to its V1 uuid.
CREATE OR REPLACE FUNCTION veza_port.id_for_key(source_table text, old_key bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(substring(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(
        overlay(sha256(convert_to(source_table || ':' || old_key::text, 'UTF8'))
                placing substring(int8send(946684800000 + old_key) from 3 for 6) from 1 for 6),
        55, 0), 54, 1), 53, 1), 52, 1), 71, 1), 70, 0) from 1 for 16), 'hex')::uuid
$$;
"""
