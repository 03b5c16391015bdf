"""Connections: resolve which database to use, connect, and turn driver errors into ours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from veza_db import dburl, secrets
from veza_db.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

APPLICATION_NAME = "veza-db"


def resolve(explicit: str | None) -> dburl.DatabaseUrl:
    """`--database-url`, then `VEZA_DATABASE_URL`, then the embedded server (started if needed)."""
    configured = dburl.configured(explicit)
    if configured is not None:
        return configured
    from veza_db import embedded

    return dburl.DatabaseUrl(embedded.start())


def first_line(exc: BaseException) -> str:
    """The first meaningful line of a driver error, with passwords masked."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return secrets.mask(lines[0] if lines else type(exc).__name__)


def explain(exc: BaseException) -> str:
    """PostgreSQL's message with its SQLSTATE, then its DETAIL and HINT, on one line, passwords masked.

    The detail and hint are often the fix (`New enum values must be committed before they can
    be used`); errors without diagnostics fall back to `first_line`."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if diag is None or not primary:
        return first_line(exc)
    sqlstate = getattr(exc, "sqlstate", None)
    parts = [f"{primary} [{sqlstate}]" if sqlstate else primary]
    for label, text in (("detail", diag.message_detail), ("hint", diag.message_hint)):
        if text:
            parts.append(f"{label}: {text}")
    return secrets.mask("; ".join(" ".join(part.split()) for part in parts))


def connect(url: dburl.DatabaseUrl, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """Open a connection, or raise DatabaseError naming the server and what went wrong."""
    import psycopg

    try:
        return psycopg.connect(
            url.url,
            autocommit=autocommit,
            connect_timeout=10,
            application_name=APPLICATION_NAME,
        )
    except psycopg.Error as exc:
        raise DatabaseError(
            f"cannot connect to {url}: {_connect_reason(exc)}; check the URL, the server and the credentials"
        ) from None


def _connect_reason(exc: BaseException) -> str:
    # libpq reports "connection to server at ... failed: FATAL:  <reason>"; keep the reason.
    text = "; ".join(" ".join(line.split()) for line in str(exc).splitlines() if line.strip())
    for marker in ("FATAL: ", "failed: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
            break
    return secrets.mask(text)
