"""Least privilege: the V1 governance (the backend owns `public`, the chat server owns `chat`) as
PostgreSQL roles and privileges.

Four roles, all created `NOLOGIN` when missing (the operator grants LOGIN and passwords):

- owner (`veza_owner`): owns every object in `public`, the runner's version tables included;
  USAGE and CREATE on `public`. Migrations run as this role, so that the default privileges
  below reach the tables they add.
- app (`veza_app`, the API at run time): USAGE on `public`; SELECT, INSERT, UPDATE, DELETE on
  every V1 table (not on the runner's version tables); USAGE, SELECT on sequences; EXECUTE on
  the `public` functions other than trigger functions (the 15-17 `uuidv7()` behind every id
  default; the chat role gets it too). No TRUNCATE, REFERENCES, TRIGGER; CREATE nowhere.
- readonly (`veza_readonly`): USAGE on `public`; SELECT on every table, except the secret
  columns (`password_hash`, `token_hash`): on a table holding one it gets every other column.
- chat (`veza_chat`): owns schema `chat`; on `public` only USAGE, SELECT on
  `users (id, username, display_name, avatar_url)` and REFERENCES on `users (id)`.

PUBLIC loses CREATE on `public` and every privilege on its tables and sequences. Tables and
sequences the owner creates later get the app's and readonly's privileges by default privileges.

The objects come from the live database: every table, view, sequence, function and type in
`public` (and in `chat`, for its owner) that no extension owns. The plan is computed from the
catalog, so it stays right when a migration adds a table: ownership changes and role creations
are emitted only where needed, and for the four roles and PUBLIC every grant is first revoked
then granted again, so applying converges to the model and applying twice changes nothing.

Names reach SQL only through `psycopg.sql.Identifier` (and literals through bound parameters);
a function's argument list is the one the server prints (`pg_get_function_identity_arguments`).
"""

from veza_db.role_names import APP, CHAT, OWNER, READONLY
from veza_db.roles.check import check
from veza_db.roles.model import RoleCatalog, Roles, RolesApplied
from veza_db.roles.plan import apply, plan, render

__all__ = [
    "APP",
    "CHAT",
    "OWNER",
    "READONLY",
    "RoleCatalog",
    "Roles",
    "RolesApplied",
    "apply",
    "check",
    "plan",
    "render",
]
