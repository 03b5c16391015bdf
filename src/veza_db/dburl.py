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
# Settings lib/pq (golang-migrate's driver) takes as URL parameters and libpq does not.
_LIB_PQ_SETTINGS = ("search_path",)
# Go's strconv.ParseBool, which golang-migrate reads its flags with.
_GO_BOOLEANS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}


@dataclass(frozen=True)
class DatabaseUrl:
    """A checked PostgreSQL URL, without golang-migrate's `x-` options (kept in `options`);
    `str()` of it never shows the password."""

    url: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def migrations_table(self) -> tuple[str | None, str] | None:
        """golang-migrate's `x-migrations-table` as (schema or None, name), when the URL gives one.

        With `x-migrations-table-quoted` true the value is `"schema"."name"` or `"name"`;
        otherwise it is the table's name taken whole, dots included, as golang-migrate takes it.
        Raises UsageError as golang-migrate refuses: a quoted flag that is not a boolean, a value
        not quoted as the flag says."""
        options = dict(self.options)
        value = options.get("x-migrations-table")
        if not value:
            return None
        flag = options.get("x-migrations-table-quoted", "false")
        if flag not in _GO_BOOLEANS:
            raise UsageError(
                f"x-migrations-table-quoted {flag!r} is not a boolean; write true or false in the URL"
            )
        if not _GO_BOOLEANS[flag]:
            return None, value
        parts = value.split('"."')
        if not (value.startswith('"') and value.endswith('"') and len(value) > 1) or len(parts) > 2:
            raise UsageError(
                f"x-migrations-table {value!r} is not quoted as x-migrations-table-quoted asks; "
                'write it "schema"."name" or "name" in the URL'
            )
        names = [part.strip('"') for part in parts]
        return (names[0], names[1]) if len(names) == 2 else (None, names[0])

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
            "postgresql://user@host:port/dbname (with :password after the user if needed)"
        ) from None
    from psycopg import conninfo

    stripped, options = _without_golang_migrate_options(url.strip())
    try:
        conninfo.conninfo_to_dict(stripped)
    except Exception as exc:  # psycopg raises ProgrammingError with libpq's own message
        raise UsageError(f"malformed database URL {secrets.mask(url)!r}: {secrets.mask(str(exc))}") from None
    return DatabaseUrl(stripped, options)


def _without_golang_migrate_options(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The URL as libpq takes it, and golang-migrate's `x-` query parameters (decoded).

    lib/pq's `search_path` and golang-migrate's `x-statement-timeout` (ms) become libpq
    `options`; other `x-` parameters are golang-migrate's own and are dropped.

    The other parameters are kept exactly as written: libpq decodes `%20` but not `+`, so
    re-encoding them would change their values."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url, ()
    kept, options, settings = [], [], []
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        name = urllib.parse.unquote(key)
        if name.startswith(_GOLANG_MIGRATE_PREFIX):
            options.append((name, urllib.parse.unquote(value)))
            if name == "x-statement-timeout" and value.isdigit():  # milliseconds, as golang-migrate reads it
                settings.append(f"statement_timeout={value}")
        elif name in _LIB_PQ_SETTINGS:
            settings.append(f"{name}={urllib.parse.unquote(value)}")
        else:
            kept.append(pair)
    if not options and not settings:
        return url, ()
    if settings:
        kept = _with_settings(kept, settings)
    return urllib.parse.urlunsplit(parts._replace(query="&".join(kept))), tuple(options)


def _with_settings(pairs: list[str], settings: list[str]) -> list[str]:
    """`pairs` with `settings` (`name=value`) passed as libpq's `options=-c name=value`."""
    flags = " ".join(f"-c {setting.replace(' ', chr(92) + ' ')}" for setting in settings)
    for index, pair in enumerate(pairs):
        key, _, value = pair.partition("=")
        if urllib.parse.unquote(key) == "options":
            pairs[index] = f"{key}={value}{urllib.parse.quote(' ' + flags, safe='')}"
            return pairs
    return [*pairs, f"options={urllib.parse.quote(flags, safe='')}"]


def configured(explicit: str | None) -> DatabaseUrl | None:
    """The URL given by flag, else by `VEZA_DATABASE_URL`, else None (use the embedded one)."""
    if explicit:
        return parse(explicit)
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return parse(from_env)
    return None
