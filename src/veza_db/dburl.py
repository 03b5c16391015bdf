"""Database URLs: where they come from, how they are checked, how they are shown."""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from veza_db import secrets
from veza_db.errors import UsageError

ENV_VAR = "VEZA_DATABASE_URL"
_SCHEMES = ("postgresql", "postgres")


# golang-migrate reads its own options from the URL's query (`x-migrations-table`...) and passes
# the rest to the driver; libpq refuses unknown parameters, so they are taken out here.
_GOLANG_MIGRATE_PREFIX = "x-"


@dataclass(frozen=True)
class DatabaseUrl:
    """A checked PostgreSQL URL, without golang-migrate's `x-` options (kept in `options`);
    `str()` of it never shows the password."""

    url: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def migrations_table(self) -> str | None:
        """golang-migrate's `x-migrations-table` as `[SCHEMA.]NAME`, when the URL gives one.

        With `x-migrations-table-quoted` true the value is `"schema"."name"` (golang-migrate's
        form); otherwise it is the table's name, taken whole."""
        options = dict(self.options)
        value = options.get("x-migrations-table")
        if not value:
            return None
        if options.get("x-migrations-table-quoted", "").lower() not in ("1", "t", "true"):
            return value
        parts = value.split('"."')
        if not (value.startswith('"') and value.endswith('"')) or len(parts) > 2:
            raise UsageError(
                f"x-migrations-table {value!r} is not quoted as x-migrations-table-quoted asks; "
                'write it "schema"."name" or "name"'
            )
        return ".".join(part.strip('"') for part in parts)

    @property
    def dbname(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.url).path.lstrip("/"))

    def with_dbname(self, dbname: str) -> DatabaseUrl:
        """The same server and credentials, another database."""
        parts = urllib.parse.urlsplit(self.url)
        path = "/" + urllib.parse.quote(dbname, safe="")
        return DatabaseUrl(urllib.parse.urlunsplit(parts._replace(path=path)), self.options)

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

    stripped, options = _without_golang_migrate_options(url.strip())
    try:
        conninfo.conninfo_to_dict(stripped)
    except Exception as exc:  # psycopg raises ProgrammingError with libpq's own message
        raise UsageError(f"malformed database URL {secrets.mask(url)!r}: {secrets.mask(str(exc))}") from None
    return DatabaseUrl(stripped, options)


def _without_golang_migrate_options(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The URL without golang-migrate's `x-` query parameters, and those parameters."""
    parts = urllib.parse.urlsplit(url)
    if _GOLANG_MIGRATE_PREFIX not in parts.query:
        return url, ()
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    options = tuple((k, v) for k, v in pairs if k.startswith(_GOLANG_MIGRATE_PREFIX))
    kept = urllib.parse.urlencode([(k, v) for k, v in pairs if not k.startswith(_GOLANG_MIGRATE_PREFIX)])
    return urllib.parse.urlunsplit(parts._replace(query=kept)), options


def configured(explicit: str | None) -> DatabaseUrl | None:
    """The URL given by flag, else by `VEZA_DATABASE_URL`, else None (use the embedded one)."""
    if explicit:
        return parse(explicit)
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return parse(from_env)
    return None
