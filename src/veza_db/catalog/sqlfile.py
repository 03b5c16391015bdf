"""Load the model from SQL text: a schema dump (`pg_dump`), a migration file, or a migrations
directory. The text is read as psql reads it (`psql_script`) and each statement replayed on the
model (`builder`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from veza_db.catalog import expr
from veza_db.catalog.model import Catalog
from veza_db.catalog.psql_script import Parsed, statements
from veza_db.errors import UsageError

if TYPE_CHECKING:
    from veza_db.catalog.builder import Builder

__all__ = ["Parsed", "decode", "load_directory", "load_file", "load_text", "read_text", "statements"]


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
    """The text of a dump or migration to audit; UsageError as `sqltext.decode`, or when empty."""
    from veza_db import sqltext

    text = sqltext.decode(raw, name)
    if not text.strip():
        raise UsageError(f"{name} is empty; pass a schema dump or a migration")
    return text


def _apply(builder: Builder, text: str, name: str) -> None:
    for parsed in statements(text, name):
        try:
            builder.apply(parsed.statement, parsed.line_of, name)
        except expr.TooDeep:
            line = parsed.line_of(int(parsed.statement.get("stmt_location", 0)))
            raise UsageError(f"{name}:{line}: statement nested too deeply to read") from None


def load_text(text: str, name: str) -> Catalog:
    from veza_db.catalog.builder import Builder

    with expr.many_objects():
        builder = Builder(name)
        _apply(builder, text, name)
        return builder.freeze()


def load_file(path: Path) -> Catalog:
    """The schema a SQL file creates (a dump, or a single migration)."""
    return load_text(read_text(path), str(path))


def load_directory(directory: Path) -> Catalog:
    """The schema a migrations directory creates: its `up` files replayed in version order."""
    from veza_db.catalog.builder import Builder
    from veza_db.migrate.discover import discover

    with expr.many_objects():
        builder = Builder(str(directory))
        for migration in discover(directory):
            _apply(builder, migration.up.text, str(migration.up.path))
        return builder.freeze()
