"""The `veza-db` command line: parses options, calls `veza_db.api`, renders the result.

Heavy modules (psycopg, pglast, rich) are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from veza_db.migrate.runner import Status, Step

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
LockTimeoutOption = Annotated[
    float,
    typer.Option("--lock-timeout", help="Seconds to wait for the migration lock before giving up (exit 3)."),
]


@app.callback()
def _options(
    traceback: Annotated[bool, typer.Option("--traceback", help="Show the full trace on errors.")] = False,
) -> None:
    global _show_traceback  # noqa: PLW0603 - one process, one invocation
    _show_traceback = traceback


def _print_step(step: Step) -> None:
    arrow = "applied" if step.direction == "up" else "rolled back"
    typer.echo(f"{arrow:<12} {step.name}.{step.direction}.sql  {step.execution_ms} ms")


def _print_dry_step(step: Step) -> None:
    typer.echo(f"-- would run {step.name}.{step.direction}.sql")
    typer.echo(step.sql.rstrip() + "\n")


def _version_line(status: Status) -> str:
    where = "head" if status.current == status.head else f"head is {status.head}"
    return f"version {status.current} ({where}){', DIRTY' if status.dirty else ''}"


@app.command()
def up(
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    to: Annotated[int | None, typer.Option("--to", help="Stop at this version.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the SQL that would run; change nothing.")
    ] = False,
    lock_timeout: LockTimeoutOption = 60,
) -> None:
    """Apply pending migrations, each file in its own transaction."""
    from veza_db import api

    status = api.up(
        database_url, migrations, to=to, dry_run=dry_run, lock_timeout=lock_timeout,
        on_step=_print_dry_step if dry_run else _print_step,
        on_warning=lambda text: typer.echo(f"warning: {text}", err=True),
    )  # fmt: skip
    if dry_run:
        typer.echo(f"-- dry run: nothing was changed; the database is at version {status.current}")
    else:
        typer.echo(_version_line(status))


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
) -> None:
    """Roll back, newest first: --to N, --steps K or --all (never all without --all)."""
    from veza_db import api

    status = api.down(
        database_url, migrations, to=to, steps=steps, all_versions=all_versions, dry_run=dry_run,
        lock_timeout=lock_timeout, on_step=_print_dry_step if dry_run else _print_step,
    )  # fmt: skip
    typer.echo(_version_line(status))


def _status_json(status: Status, database: str) -> str:
    return json.dumps(
        {
            "database": database,
            "current": status.current,
            "head": status.head,
            "dirty": status.dirty,
            "applied": [
                {
                    "version": a.version,
                    "name": a.name,
                    "checksum": a.checksum,
                    "applied_at": a.applied_at.isoformat(),
                    "execution_ms": a.execution_ms,
                    "applied_by": a.applied_by,
                }
                for a in status.applied
            ],
            "untracked": status.untracked,
            "pending": [{"version": m.version, "name": m.up.path.name} for m in status.pending],
            "changed": status.changed,
            "recovery": status.recovery,
        },
        indent=2,
    )


@app.command()
def status(
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Applied and pending migrations; exit 3 if an applied file changed or the database is dirty."""
    from veza_db import api, db

    url = db.resolve(database_url)
    result = api.status(url.url, migrations)
    if as_json:
        typer.echo(_status_json(result, str(url)))
    else:
        typer.echo(f"database  {url}")
        typer.echo(_version_line(result))
        for a in result.applied:
            mark = "  CHANGED" if a.name in result.changed else ""
            when = f"{a.applied_at:%Y-%m-%d %H:%M:%S %Z}"
            typer.echo(f"  applied  {a.name:<40} {when}  {a.execution_ms:>6} ms  by {a.applied_by}{mark}")
        for v in result.untracked:
            typer.echo(f"  applied  version {v} (by another tool: no history row)")
        for m in result.pending:
            typer.echo(f"  pending  {m.up.path.name}")
    if result.dirty:
        _fail(3, result.recovery or "database is dirty")
    if result.changed:
        _fail(3, f"applied migration changed since it ran: {', '.join(result.changed)}")


@app.command()
def force(
    version: Annotated[int, typer.Argument(help="The version to record as applied and clean.")],
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    lock_timeout: LockTimeoutOption = 60,
) -> None:
    """Record VERSION as current and clean, running no SQL (recovery from a dirty state)."""
    from veza_db import api

    typer.echo(_version_line(api.force(version, database_url, migrations, lock_timeout=lock_timeout)))


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
    from veza_db.errors import UsageError

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
    if fmt not in ("md", "json", "sarif"):
        raise UsageError(f"unknown format {fmt!r}; use md, json or sarif")
    if fail_on not in ("error", "warning", "never"):
        raise UsageError(f"--fail-on {fail_on!r}: use error, warning or never")
    result = api.audit(target, database_url=database_url, policy=policy)
    for unfollowed in result.unfollowed:  # on stderr too: never lost in a report written to a file
        typer.echo(f"warning: {unfollowed.message()}", err=True)
    report = api.render_audit(result, fmt)
    if output:
        try:
            output.write_text(report)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        typer.echo(report, nl=False)
    failing = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[fail_on]
    if any(f.severity in failing for f in result.findings):
        raise typer.Exit(1)


@app.command()
def verify(
    target: Annotated[
        str | None, typer.Argument(help="Database URL; default the configured database.")
    ] = None,
    database_url: DatabaseUrlOption = None,
    migrations: MigrationsOption = None,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
) -> None:
    """Drift: compare the database with the canonical schema, object by object; exit 1 on drift."""
    from veza_db import api
    from veza_db.errors import UsageError

    if fmt not in ("md", "json"):
        raise UsageError(f"unknown format {fmt!r}; use md or json")
    result = api.verify(target or database_url, migrations)
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "database": result.database,
                    "drift": result.drift,
                    "version": result.version,
                    "head": result.head,
                    "dirty": result.dirty,
                    "canonical_on": result.canonical_on,
                    "problems": result.problems,
                    "differences": [d.__dict__ for d in result.differences],
                },
                indent=2,
            )
        )
    elif result.drift:
        typer.echo(
            f"drift in {result.database} ({len(result.problems)} differences from the canonical schema):"
        )
        for line in result.problems:
            typer.echo(f"  {line}")
    else:
        typer.echo(f"no drift: {result.database} is exactly the canonical schema at version {result.head}")
    if result.drift:
        raise typer.Exit(1)


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


@app.command()
def port(
    source: Annotated[
        str, typer.Option("--from", help="URL of the database to copy from.", show_default=False)
    ],
    target: Annotated[str, typer.Option("--to", help="URL of the V1 database to fill (at head, empty).")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Mapping TOML; default Lab -> V1.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; copy nothing.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Carry on after an interrupted port.")] = False,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Drop the bookkeeping schema once verified.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
) -> None:
    """Move an existing database's data into V1: deterministic ids, nothing lost, resumable."""
    from veza_db import api
    from veza_db.errors import UsageError
    from veza_db.port import run

    if fmt not in ("md", "json"):
        raise UsageError(f"unknown format {fmt!r}; use md or json")

    def show_plan(plan: object, query: str, rows: int) -> None:
        typer.echo(f"{plan.target}  <-  {plan.source}  ({rows} rows)")  # type: ignore[attr-defined]
        typer.echo(f"    {query}")

    with _port_progress(enabled=not dry_run and fmt == "md") as progress:
        report = api.port(
            source, target, mapping, dry_run=dry_run, resume=resume, cleanup=cleanup,
            progress=progress, on_plan=show_plan,
        )  # fmt: skip
    if dry_run:
        typer.echo(f"-- dry run: {len(report.tables)} tables, nothing was copied")
        return
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "source": report.source, "target": report.target, "ok": report.ok,
                    "tables": [dict(t.__dict__, ok=t.ok) for t in report.tables],
                    "broken_foreign_keys": report.broken_foreign_keys,
                    "plaintext_left": report.plaintext_left,
                },
                indent=2,
            )
        )  # fmt: skip
    else:
        typer.echo(f"{'table':<28} {'source':>10} {'target':>10}  checksum  {'seconds':>8}")
        for t in report.tables:
            state = "ok" if t.ok else "MISMATCH"
            note = "  (earlier run)" if t.resumed else ""
            typer.echo(
                f"{t.target:<28} {t.source_rows:>10} {t.target_rows:>10}  {state:<8}  {t.seconds:>8.2f}{note}"
            )
        typer.echo("every foreign key holds" if not report.broken_foreign_keys else "BROKEN foreign keys:")
        for line in report.broken_foreign_keys:
            typer.echo(f"  {line}")
    run.require_ok(report)


@contextmanager
def _port_progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """Rich progress bars on a terminal; a plain line per finished table otherwise."""
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():

        def plain(table: str, done: int, expected: int) -> None:
            if done >= expected:
                typer.echo(f"copied {table}: {done} row{'' if done == 1 else 's'}", err=True)

        yield plain
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.speed} rows/s"), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, transient=False) as bars:
        tasks: dict[str, object] = {}

        def update(table: str, done: int, expected: int) -> None:
            if table not in tasks:
                tasks[table] = bars.add_task(table, total=max(expected, 1))
            bars.update(tasks[table], completed=done)  # type: ignore[arg-type]

        yield update


@app.command("roles")
def roles_(
    database_url: DatabaseUrlOption = None,
    owner: Annotated[
        str, typer.Option("--owner", help="Owns public and everything in it; migrations run as it.")
    ] = "veza_owner",
    app_role: Annotated[
        str, typer.Option("--app", help="The API at run time: SELECT/INSERT/UPDATE/DELETE on V1 tables.")
    ] = "veza_app",
    readonly: Annotated[
        str, typer.Option("--readonly", help="SELECT on V1 tables, credentials excepted.")
    ] = "veza_readonly",
    chat: Annotated[
        str, typer.Option("--chat", help="The chat server: owns schema chat, reads users' public columns.")
    ] = "veza_chat",
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
        _fail(2, "roles takes --apply or --check, not both")
    names = {"owner": owner, "app": app_role, "readonly": readonly, "chat": chat}
    if do_check:
        findings = api.roles_check(database_url, **names)
        for line in findings:
            typer.echo(line)
        if findings:
            _fail(1, f"{len(findings)} differences from the model; `veza-db roles --apply` restores them")
        typer.echo("privileges match the model")
    elif do_apply:
        applied = api.roles_apply(database_url, lock_timeout=lock_timeout, **names)
        for name in applied.created_roles:
            typer.echo(f"created role  {name}  (NOLOGIN: give it LOGIN and a password to use it)")
        typer.echo(f"applied      {len(applied.statements)} statements in one transaction")
        for line in applied.findings:
            typer.echo(f"warning: {line}", err=True)
        if applied.findings:
            raise typer.Exit(1)
    else:
        typer.echo(api.roles_plan(database_url, **names), nl=False)


@app.command("hash")
def hash_(migrations: MigrationsOption = None) -> None:
    """Rewrite the migrations directory's veza.sum after an intended change."""
    from veza_db import api

    typer.echo(f"wrote {api.hash_migrations(migrations)}")


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
        raise typer.Exit(3)


@server_app.command("url")
def server_url() -> None:
    """Print the embedded server's URL (starting it when needed), for psql and the Go service."""
    from veza_db import api

    typer.echo(api.server_url())


def _fail(code: int, message: str) -> NoReturn:
    from veza_db import secrets

    for line in message.splitlines() or [message]:
        typer.echo(f"error: {secrets.mask(line)}", err=True)
    raise typer.Exit(code)


def _is_driver_error(exc: BaseException) -> bool:
    """A psycopg error that no command turned into one of ours: still a database error (exit 4)."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def main() -> None:
    """Console entry point: run the app, turning our errors into one line and an exit code."""
    import logging

    from veza_db.errors import VezaError

    # psycopg logs clean-up failures after an error it already raised (a COPY cut by a server
    # that went away); the CLI reports that error in its one line, so the log would repeat it.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    try:
        app()
    except VezaError as exc:
        if _show_traceback or os.environ.get("VEZA_TRACEBACK"):
            import traceback

            traceback.print_exc()
        try:
            _fail(exc.exit_code, str(exc))
        except typer.Exit as done:
            sys.exit(done.exit_code)
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
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
