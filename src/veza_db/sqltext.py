"""SQL files as text: one decoder for the runner and the audit, so a file gets the same answer
from both (`veza-db up` and `veza-db audit` of a UTF-16 migration both say to convert it)."""

from __future__ import annotations

from veza_db.errors import UsageError

_GZIP_MAGIC = b"\x1f\x8b"
# pg_dump's custom-format archive (-Fc) starts with these five bytes.
_PGDUMP_CUSTOM_MAGIC = b"PGDMP"


def decode(raw: bytes, name: str) -> str:
    """The bytes of the SQL file `name` as text: UTF-8, a BOM dropped, line endings kept.

    Raises UsageError naming what the file is instead and how to convert it: gzip, a pg_dump
    archive, UTF-16, a NUL byte (which ends a query string in libpq), or bytes that are not
    UTF-8 (with the line)."""
    if raw.startswith(_GZIP_MAGIC):
        raise UsageError(f"{name} is gzip-compressed; decompress it first (gunzip -k {name})")
    if raw.startswith(_PGDUMP_CUSTOM_MAGIC):
        raise UsageError(
            f"{name} is a pg_dump archive; convert it with `pg_restore --schema-only -f out.sql {name}`"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UsageError(f"{name} is UTF-16 text; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)")
    if (nul := raw.find(b"\x00")) >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise UsageError(
            f"{name}:{line}: contains a NUL byte, which SQL cannot hold (is it a binary file?); remove it"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"{name}:{line}: not UTF-8 text (byte {exc.start}); convert the file to UTF-8"
        ) from None
