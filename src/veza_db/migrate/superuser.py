"""A warning for `up`: migrations about to run as a superuser in a database an owner role owns."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

    from veza_db.migrate.history import VersionTable

    Conn = psycopg.Connection[tuple[object, ...]]


# The role that owns the migration table and has set default privileges in `public` (so: the
# owner role of this model, whatever its name), when the current user is a superuser other than
# it. Tables a superuser creates are the superuser's: the default privileges do not reach them.
MIGRATING_AS_SUPERUSER_SQL = """
SELECT o.rolname
FROM pg_class c
JOIN pg_roles o ON o.oid = c.relowner
JOIN pg_roles me ON me.rolname = current_user
WHERE c.oid = to_regclass(%s)
  AND me.rolsuper AND o.oid <> me.oid
  AND EXISTS (SELECT 1 FROM pg_default_acl d
              WHERE d.defaclrole = o.oid AND d.defaclnamespace = 'public'::regnamespace)
"""


def migrating_as_superuser(conn: Conn, table: VersionTable) -> str | None:
    """A one-line warning when migrations are about to run as a superuser instead of the role
    that owns the version table `table` and has set default privileges in `public`."""
    row = conn.execute(MIGRATING_AS_SUPERUSER_SQL, (table.regclass_text(),)).fetchone()
    if row is None:
        return None
    return (
        f"running as a superuser, but {row[0]} owns this database's tables: what this run creates "
        f"will be the superuser's and the app will get no privileges on it; run migrations as {row[0]}, "
        "or `veza-db roles --apply` afterwards"
    )
