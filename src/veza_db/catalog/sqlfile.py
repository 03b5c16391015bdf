"""Load the model from SQL text: a schema dump (`pg_dump`), a migration file, or a migrations directory.

The text is parsed by PostgreSQL's own parser (pglast's JSON output, fast on large dumps).
What is not SQL is blanked out first, keeping every offset and line number where it was:
psql meta-commands (`\\restrict`, `\\connect`...) and the data blocks of `COPY ... FROM stdin`.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import orjson

from veza_db.catalog.builder import Builder
from veza_db.catalog.model import Catalog
from veza_db.errors import UsageError

_GZIP_MAGIC = b"\x1f\x8b"
_PGDUMP_CUSTOM_MAGIC = b"PGDMP"


class _Lines:
    """Byte offset -> 1-based line number, for parser locations."""

    def __init__(self, data: bytes) -> None:
        self.newlines: list[int] = []
        start = data.find(b"\n")
        while start != -1:
            self.newlines.append(start)
            start = data.find(b"\n", start + 1)

    def __call__(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1


def read_text(path: Path) -> str:
    """The file as text, or a UsageError saying why it cannot be a SQL file."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory; pass a .sql file, or a migrations directory") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return decode(raw, str(path))


def decode(raw: bytes, name: str) -> str:
    if raw.startswith(_GZIP_MAGIC):
        raise UsageError(f"{name} is gzip-compressed; decompress it first (gunzip -k {name})")
    if raw.startswith(_PGDUMP_CUSTOM_MAGIC):
        raise UsageError(
            f"{name} is a pg_dump archive; convert it with `pg_restore --schema-only -f out.sql {name}`"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UsageError(f"{name} is UTF-16 text; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)")
    if b"\x00" in raw:
        raise UsageError(f"{name} is a binary file, not SQL text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"{name}:{line}: not UTF-8 text (byte {exc.start}); convert the file to UTF-8"
        ) from None
    if not text.strip():
        raise UsageError(f"{name} is empty; pass a schema dump or a migration")
    return text


def blank_non_sql(text: str) -> str:
    """Replace psql meta-command lines and COPY data with spaces, keeping line breaks."""
    from pglast.parser import ParseError, parse_sql_json

    lines = text.split("\n")
    in_copy = False
    for i, line in enumerate(lines):
        if in_copy:
            in_copy = line != "\\."
            lines[i] = " " * len(line)
        elif line.startswith("\\"):
            lines[i] = " " * len(line)
        elif line.startswith("COPY ") and line.rstrip().endswith(";"):
            # pg_dump writes `COPY t (cols) FROM stdin;` on one line, its rows after it.
            try:
                parsed = json.loads(parse_sql_json(line))["stmts"][0]["stmt"]
            except ParseError:
                continue
            copy = parsed.get("CopyStmt", {})
            in_copy = bool(copy.get("is_from")) and not copy.get("filename")
    return "\n".join(lines)


def parse(text: str, name: str) -> tuple[list[dict[str, object]], _Lines]:
    """Parse statements; a UsageError names the line PostgreSQL's parser rejects."""
    from pglast.parser import ParseError, parse_sql_json

    cleaned = blank_non_sql(text)
    try:
        tree = orjson.loads(parse_sql_json(cleaned))
    except ParseError as exc:
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        line = cleaned.count("\n", 0, max(offset, 0)) + 1
        raise UsageError(f"{name}:{line}: PostgreSQL cannot parse it: {exc.args[0]}") from None
    except RecursionError:
        raise UsageError(f"{name}: statements nested too deeply to parse") from None
    statements: list[dict[str, object]] = tree.get("stmts", [])
    if not statements:
        raise UsageError(f"{name} holds no SQL statement; pass a schema dump or a migration")
    return statements, _Lines(cleaned.encode())


def load_text(text: str, name: str) -> Catalog:
    builder = Builder(name)
    statements, lines = parse(text, name)
    for statement in statements:
        builder.apply(statement, lines, name)
    return builder.freeze()


def load_file(path: Path) -> Catalog:
    """The schema a SQL file creates (a dump, or a single migration)."""
    return load_text(read_text(path), str(path))


def load_directory(directory: Path) -> Catalog:
    """The schema a migrations directory creates: its `up` files replayed in version order."""
    from veza_db.migrate.discover import discover

    builder = Builder(str(directory))
    for migration in discover(directory):
        statements, lines = parse(migration.up.text, str(migration.up.path))
        for statement in statements:
            builder.apply(statement, lines, str(migration.up.path))
    return builder.freeze()
