"""The `veza-db` command line: parses options, calls `veza_db.api`, renders the result.

Heavy modules (psycopg, pglast, rich) are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from veza_db.cli_options import (
    DatabaseUrlOption,
    DdlLockTimeoutOption,
    LockTimeoutOption,
    MigrationsOption,
    MigrationsTableOption,
    RetriesOption,
    choice,
)
from veza_db.cli_port import port as port_command
from veza_db.cli_port import text_or_json
from veza_db.cli_roles import roles as roles_command
from veza_db.errors import CheckFailed, RefusedError, UsageError, VezaError, exit_code

if TYPE_CHECKING:
    from veza_db.migrate.runner import Step
    from veza_db.migrate.status import Status

app = typer.Typer(
    help="The Veza backend's canonical V1 PostgreSQL schema, and the tools to apply, check and move to it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
server_app = typer.Typer(help="The embedded PostgreSQL under ./.veza-db/.", no_args_is_help=True)
app.add_typer(server_app, name="server")

_show_traceback = False


@app.callback()
def _options(
    traceback: Annotated[bool, typer.Option("--traceback", help="Show the full trace on errors.")] = False,
) -> None:
    global _show_traceback  # noqa: PLW0603 - one process, one invocation
    _show_traceback = traceback


def _print_step(step: Step) -> None:
    from veza_db.migrate import text

    typer.echo(text.step_line(step))


def _print_dry_step(step: Step) -> None:
    from veza_db.migrate import text

    typer.echo(text.dry_step_text(step))


def _print_retry(message: str) -> None:
    typer.echo(f"retry: {message}", err=True)


def _dry_run_line(status: Status) -> str:
    from veza_db.migrate import text

    return text.dry_run_line(status)


def _version_line(status: Status) -> str:
    from veza_db.migrate import text

    return text.version_line(status)


@app.command()
def up(
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    to: Annotated[int | None, typer.Option("--to", help="Stop at this version.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the SQL that would run; change nothing.")
    ] = False,
    lock_timeout: LockTimeoutOption = 60,
    migrations_table: MigrationsTableOption = None,
    ddl_lock_timeout: DdlLockTimeoutOption = "5s",
    retries: RetriesOption = 5,
) -> None:
    """Apply pending migrations, each file in its own transaction."""
    from veza_db import api
    from veza_db.migrate.lockwait import parse_duration

    status = api.up(
        database_url, migrations, to=to, dry_run=dry_run, lock_timeout=lock_timeout,
        migrations_table=migrations_table, ddl_lock_timeout_ms=parse_duration(ddl_lock_timeout),
        retries=retries, on_retry=_print_retry, on_step=_print_dry_step if dry_run else _print_step,
        on_warning=lambda text: typer.echo(f"warning: {text}", err=True),
    )  # fmt: skip
    typer.echo(_dry_run_line(status) if dry_run else _version_line(status))


@app.command()
def down(
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    to: Annotated[int | None, typer.Option("--to", help="Roll back to this version.")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Roll back this many files.")] = None,
    all_versions: Annotated[bool, typer.Option("--all", help="Roll back every migration.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the SQL that would run; change nothing.")
    ] = False,
    lock_timeout: LockTimeoutOption = 60,
    migrations_table: MigrationsTableOption = None,
    ddl_lock_timeout: DdlLockTimeoutOption = "5s",
    retries: RetriesOption = 5,
) -> None:
    """Roll back, newest first: --to N, --steps K or --all (never all without --all)."""
    from veza_db import api
    from veza_db.migrate.lockwait import parse_duration

    status = api.down(
        database_url, migrations, to=to, steps=steps, all_versions=all_versions, dry_run=dry_run,
        lock_timeout=lock_timeout, migrations_table=migrations_table,
        ddl_lock_timeout_ms=parse_duration(ddl_lock_timeout), retries=retries, on_retry=_print_retry,
        on_step=_print_dry_step if dry_run else _print_step,
    )  # fmt: skip
    typer.echo(_dry_run_line(status) if dry_run else _version_line(status))


@app.command()
def status(
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    migrations_table: MigrationsTableOption = None,
) -> None:
    """Every migration file and its state; exit 3 if an applied file changed or the database is dirty."""
    from veza_db import api, db

    url = db.resolve(database_url)  # for display; the API reads golang-migrate's options from the URL
    result = api.status(database_url, migrations, migrations_table=migrations_table)
    if as_json:
        typer.echo(json.dumps({"database": str(url), **result.to_dict()}, indent=2))
    else:
        from veza_db.migrate import text

        typer.echo("\n".join(text.status_lines(result, str(url))))
    from veza_db.migrate.status import refuse_unsafe

    refuse_unsafe(result)  # dirty, out of order or changed: exit 3 after the listing


def _force_version(text: str) -> int | None:
    if text.lower() in ("none", "-1"):
        return None
    if not text.isdigit():
        raise UsageError(f"force {text!r}: pass a version of the directory, or `none` for no version")
    return int(text)


@app.command(context_settings={"ignore_unknown_options": True})  # `force -1`, as golang-migrate takes it
def force(
    version: Annotated[
        str, typer.Argument(help="The version to record as applied and clean; `none` for nothing applied.")
    ],
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    lock_timeout: LockTimeoutOption = 60,
    migrations_table: MigrationsTableOption = None,
) -> None:
    """Record VERSION as current and clean, running no SQL (recovery from a dirty state)."""
    from veza_db import api

    status = api.force(
        _force_version(version), database_url, migrations, lock_timeout=lock_timeout,
        migrations_table=migrations_table,
    )  # fmt: skip
    typer.echo(_version_line(status))


@app.command()
def audit(
    target: Annotated[
        str | None,
        typer.Argument(help="Database URL, .sql file or migrations directory; default the database."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, json or sarif.")] = "md",
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy TOML; default the V1 policy.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the report here instead of stdout.")
    ] = None,
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="error, warning or never: when to exit 1.")
    ] = "error",
    explain: Annotated[str | None, typer.Option("--explain", help="Print a rule's documentation.")] = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules.")] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """The seed's gap analysis, automated: rules over a database, a dump or migrations."""
    from veza_db import api
    from veza_db.audit import rules

    if list_rules:
        for rule in rules.RULES:
            typer.echo(f"{rule.ID:<32} {rule.SEVERITY:<8} {rule.SUMMARY}")
        return
    if explain:
        found = rules.by_id(explain)
        if found is None:
            raise UsageError(f"unknown rule {explain!r}; see `veza-db audit --list-rules`")
        typer.echo(f"{found.ID} ({found.SEVERITY})\n\n{rules.documentation(found)}")
        return
    fmt = choice(fmt, "--format", ("md", "json", "sarif"))
    fail_on = choice(fail_on, "--fail-on", ("error", "warning", "never"))
    result = api.audit(target, database_url=database_url, policy=policy)
    for unfollowed in result.unfollowed:  # on stderr too: never lost in a report written to a file
        typer.echo(f"warning: {unfollowed.message()}", err=True)
    _emit(api.render_audit(result, fmt), output)
    failing = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[fail_on]
    if any(f.severity in failing for f in result.findings):
        raise CheckFailed("")  # the report lists the findings


def _emit(report: str, output: Path | None) -> None:
    """A report to `output`, or to stdout ending in one newline."""

    if output is None:
        typer.echo(report.rstrip("\n"))
        return
    try:
        output.write_text(report)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None


@app.command()
def plan(
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    migrations_table: MigrationsTableOption = None,
    fmt: Annotated[str, typer.Option("--format", help="md, json or sarif.")] = "md",
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="danger: exit 1 when a statement is a danger; never.")
    ] = "danger",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the plan here instead of stdout.")
    ] = None,
) -> None:
    """What pending migrations will lock and rewrite on the target, with its sizes, before they run."""
    from importlib.metadata import version

    from veza_db import api
    from veza_db.plan import report

    fmt = choice(fmt, "--format", ("md", "json", "sarif"))
    fail_on = choice(fail_on, "--fail-on", ("danger", "never"))
    result = api.plan(database_url, migrations, migrations_table=migrations_table)
    if fmt == "sarif":
        text = report.sarif(result, version("veza-db"))
    else:
        text = report.markdown(result) if fmt == "md" else report.as_json(result)
    _emit(text, output)
    if fail_on == "danger" and result.verdict == "danger":
        dangers = sum(s.verdict == "danger" for s in result.statements)
        raise CheckFailed(f"plan: {dangers} pending statement(s) are a danger on the target; see the plan")


@app.command()
def verify(
    target: Annotated[
        str | None, typer.Argument(help="Database URL; default the configured database.")
    ] = None,
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json (md: the same as text).")] = "text",
) -> None:
    """Drift: compare the database with the canonical schema, object by object; exit 1 on drift."""
    from veza_db import api

    fmt = text_or_json(fmt)
    result = api.verify(target or database_url, migrations)
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2))
    elif result.drift:
        typer.echo(
            f"drift in {result.database} ({len(result.problems)} differences from the canonical schema):"
        )
        for line in result.problems:
            typer.echo(f"  {line}")
    else:
        typer.echo(f"no drift: {result.database} is exactly the canonical schema at version {result.head}")
    if result.drift:
        raise CheckFailed("")  # the report lists the drift


@app.command()
def docs(
    database_url: DatabaseUrlOption = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the Markdown files.")] = Path(
        "docs/schema"
    ),
    migrations: MigrationsOption = None,
) -> None:
    """Write the schema reference (Markdown, Mermaid ER diagrams) from the catalog and its comments."""
    from veza_db import api

    written = api.docs(database_url, out, migrations)
    typer.echo(f"wrote {len(written)} files to {out}")


app.command("port")(port_command)


app.command("roles")(roles_command)


@app.command("hash")
def hash_(migrations: MigrationsOption = None, migrations_table: MigrationsTableOption = None) -> None:
    """Rewrite the migrations directory's veza.sum after an intended change."""
    from veza_db import api

    typer.echo(f"wrote {api.hash_migrations(migrations, migrations_table=migrations_table)}")


@server_app.command("start")
def server_start() -> None:
    """Start the embedded server (created on first use) and print its URL."""
    from veza_db import api

    typer.echo(api.server_start())


@server_app.command("stop")
def server_stop() -> None:
    """Stop the embedded server."""
    from veza_db import api

    typer.echo("stopped" if api.server_stop() else "not running")


@server_app.command("status")
def server_status() -> None:
    """Whether the embedded server runs, where, and on which port."""
    from veza_db import api

    s = api.server_status()
    if s.running:
        typer.echo(f"running  pid {s.pid}  port {s.port}  data {s.data_dir}")
        typer.echo(f"url      {s.url}")
    else:
        typer.echo(f"stopped  data {s.data_dir}{'' if s.initialized else ' (not created yet)'}")
        raise RefusedError("")  # stopped: the line above says so


@server_app.command("url")
def server_url() -> None:
    """Print the embedded server's URL (starting it when needed), for psql and the Go service."""
    from veza_db import api

    typer.echo(api.server_url())


def _report_error(error: VezaError) -> NoReturn:
    """Print the error's one line (passwords masked) and exit with its code."""
    from veza_db import secrets

    for line in str(error).splitlines():
        typer.echo(f"error: {secrets.mask(line)}", err=True)
    sys.exit(exit_code(error))


def _is_driver_error(exc: BaseException) -> bool:
    """A psycopg error that no command turned into one of ours: still a database error (exit 4)."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def main() -> None:
    """Console entry point: run the app, turning our errors into one line and an exit code."""
    import gc
    import logging

    from veza_db import process

    # One command, one short-lived process: what is loaded by now (the standard library, typer)
    # never becomes garbage, so collections may skip it; and the audit may pause collection while
    # it builds a large model. Only this entry point tunes the collector, never a library call.
    gc.freeze()
    process.pause_collector = True

    # psycopg logs clean-up failures after an error it already raised (a COPY cut by a server
    # that went away); the CLI reports that error in its one line, so the log would repeat it.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    try:
        app()
    except VezaError as exc:
        if _show_traceback or os.environ.get("VEZA_TRACEBACK"):
            import traceback

            traceback.print_exc()
        _report_error(exc)
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
    except SystemExit as done:
        if done.code == 130:  # typer turns Ctrl-C into exit 130 without a word
            typer.echo("error: interrupted", err=True)
        raise
    except Exception as exc:
        if _is_driver_error(exc) and not (_show_traceback or os.environ.get("VEZA_TRACEBACK")):
            from veza_db import db

            typer.echo(f"error: database error: {db.first_line(exc)}", err=True)
            sys.exit(4)
        if _show_traceback or os.environ.get("VEZA_TRACEBACK"):
            raise
        from veza_db import secrets

        detail = (secrets.mask(str(exc)).splitlines() or [""])[0]
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {detail} (run with --traceback and report it)",
            err=True,
        )
        sys.exit(4)


if __name__ == "__main__":
    main()
