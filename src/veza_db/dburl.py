"""Database URLs: where they come from, how they are checked, how they are shown."""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from veza_db import secrets
from veza_db.errors import UsageError

ENV_VAR = "VEZA_DATABASE_URL"
_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class DatabaseUrl:
    """A checked PostgreSQL URL; `str()` of it never shows the password."""

    url: str

    @property
    def dbname(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.url).path.lstrip("/"))

    def with_dbname(self, dbname: str) -> DatabaseUrl:
        """The same server and credentials, another database."""
        parts = urllib.parse.urlsplit(self.url)
        path = "/" + urllib.parse.quote(dbname, safe="")
        return DatabaseUrl(urllib.parse.urlunsplit(parts._replace(path=path)))

    def __str__(self) -> str:
        return secrets.mask(self.url)


def parse(url: str) -> DatabaseUrl:
    """Check that `url` is a PostgreSQL URL libpq accepts, and register its password."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in _SCHEMES:
            raise ValueError("not a postgresql:// URL")
        if parts.netloc.count("@") > 1:
            # libpq would end the password at the first `@` and take the rest for a host name.
            raise ValueError("more than one '@': percent-encode an '@' in the password as %40")
        secrets.register(urllib.parse.unquote(parts.password or ""))
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:  # urlsplit's own checks (IPv6 brackets) raise it too
        raise UsageError(
            f"malformed database URL {secrets.mask(url)!r}: {exc}; expected "
            "postgresql://user:password@host:port/dbname"
        ) from None
    from psycopg import conninfo

    try:
        conninfo.conninfo_to_dict(url.strip())
    except Exception as exc:  # psycopg raises ProgrammingError with libpq's own message
        raise UsageError(f"malformed database URL {secrets.mask(url)!r}: {secrets.mask(str(exc))}") from None
    return DatabaseUrl(url.strip())


def configured(explicit: str | None) -> DatabaseUrl | None:
    """The URL given by flag, else by `VEZA_DATABASE_URL`, else None (use the embedded one)."""
    if explicit:
        return parse(explicit)
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return parse(from_env)
    return None
