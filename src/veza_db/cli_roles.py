"""`veza-db roles`: print, apply or check the least-privilege role model."""

from __future__ import annotations

from typing import Annotated

import typer

from veza_db import role_names
from veza_db.cli_options import DatabaseUrlOption
from veza_db.errors import CheckFailed, UsageError


def roles(
    database_url: DatabaseUrlOption = None,
    owner: Annotated[
        str, typer.Option("--owner", help="Owns public and everything in it; migrations run as it.")
    ] = role_names.OWNER,
    app_role: Annotated[
        str, typer.Option("--app", help="The API at run time: SELECT/INSERT/UPDATE/DELETE on V1 tables.")
    ] = role_names.APP,
    readonly: Annotated[
        str, typer.Option("--readonly", help="SELECT on V1 tables, credentials excepted.")
    ] = role_names.READONLY,
    chat: Annotated[
        str, typer.Option("--chat", help="The chat server: owns schema chat, reads users' public columns.")
    ] = role_names.CHAT,
    do_apply: Annotated[
        bool, typer.Option("--apply", help="Run the SQL in one transaction (as a superuser).")
    ] = False,
    do_check: Annotated[
        bool, typer.Option("--check", help="Report privileges that differ from the model; exit 1 if any.")
    ] = False,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for each table lock (--apply); exit 3.")
    ] = 5,
) -> None:
    """Least-privilege roles: print the SQL (default), --apply it, or --check the database against it."""
    from veza_db import api

    if do_apply and do_check:
        raise UsageError("roles takes --apply or --check, not both")
    names = {"owner": owner, "app": app_role, "readonly": readonly, "chat": chat}
    if do_check:
        findings = api.roles_check(database_url, **names)
        for line in findings:
            typer.echo(line)
        if findings:
            raise CheckFailed(
                f"{len(findings)} differences from the model; `veza-db roles --apply` restores them"
            )
        typer.echo("privileges match the model")
    elif do_apply:
        applied = api.roles_apply(database_url, lock_timeout=lock_timeout, **names)
        for name in applied.created_roles:
            typer.echo(f"created role  {name}  (NOLOGIN: give it LOGIN and a password to use it)")
        typer.echo(f"applied      {len(applied.statements)} statements in one transaction")
        for line in applied.findings:
            typer.echo(f"warning: {line}", err=True)
        if applied.findings:
            raise CheckFailed("")  # each finding was printed as a warning
    else:
        typer.echo(api.roles_plan(database_url, **names), nl=False)
