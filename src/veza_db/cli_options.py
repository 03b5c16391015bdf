"""Options several `veza-db` verbs share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="PostgreSQL URL; default $VEZA_DATABASE_URL, else the embedded server.",
        show_default=False,
    ),
]
MigrationsOption = Annotated[
    Path | None,
    typer.Option("--migrations", help="Migrations directory; default the package's V1 migrations."),
]
MigrationsTableOption = Annotated[
    str | None,
    typer.Option(
        "--migrations-table",
        help="[SCHEMA.]NAME of the version table, as golang-migrate's x-migrations-table; "
        "default public.schema_migrations.",
        show_default=False,
    ),
]
DdlLockTimeoutOption = Annotated[
    str,
    typer.Option(
        "--ddl-lock-timeout",
        help="How long each statement of a file may wait for a table lock (500ms, 5s, 1min; 0s: "
        "forever) before the file is rolled back and retried.",
    ),
]
RetriesOption = Annotated[
    int, typer.Option("--retries", help="Attempts after the first when a file's lock wait times out.")
]
LockTimeoutOption = Annotated[
    float,
    typer.Option("--lock-timeout", help="Seconds to wait for the migration lock before giving up (exit 3)."),
]


def choice(value: str, option: str, allowed: tuple[str, ...], aliases: dict[str, str] | None = None) -> str:
    """`value` of `option` when it is one of `allowed` (or an alias of one), else a one-line
    UsageError listing them: the one check of every `--format` and `--fail-on`. (typer's own
    choices answer with click's several-line usage text.)"""
    from veza_db.errors import UsageError

    value = (aliases or {}).get(value, value)
    if value not in allowed:
        listed = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        raise UsageError(f"{option} {value!r} is not one of its values; use {listed}")
    return value
