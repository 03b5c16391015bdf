"""The library API: one function per command. The CLI only maps its verbs onto these."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from veza_db import db, dburl, embedded, role_names
from veza_db.errors import UsageError
from veza_db.migrate import discover, history, lockwait, runner, sumfile
from veza_db.migrate.history import VersionTable
from veza_db.migrate.runner import Step
from veza_db.migrate.status import Status

if TYPE_CHECKING:
    from veza_db.audit.engine import AuditResult
    from veza_db.plan.run import PlanResult
    from veza_db.port.plan import TablePlan
    from veza_db.port.run import PortReport, Progress
    from veza_db.roles import Roles, RolesApplied
    from veza_db.verify import VerifyResult

__all__ = [
    "Status",
    "Step",
    "audit",
    "docs",
    "down",
    "force",
    "hash_migrations",
    "plan",
    "port",
    "render_audit",
    "roles_apply",
    "roles_check",
    "roles_plan",
    "server_start",
    "server_status",
    "server_stop",
    "server_url",
    "status",
    "up",
    "verify",
]


def _directory(migrations: Path | str | None) -> Path:
    return Path(migrations) if migrations is not None else discover.package_dir()


def _waits(timeout_ms: int, retries: int, on_retry: Callable[[str], None] | None) -> runner.LockWaits:
    if timeout_ms < 0 or retries < 0:
        raise UsageError("--ddl-lock-timeout and --retries must not be negative")
    return runner.LockWaits(timeout_ms, retries, on_retry)


def _checked(
    database_url: str | None, migrations: Path | str | None, migrations_table: str | None
) -> tuple[Path, VersionTable]:
    """The directory, validated before any server is started, and the version table: the option,
    else the URL's golang-migrate `x-migrations-table`, else `public.schema_migrations`."""
    directory = _directory(migrations)
    table = VersionTable.parse(migrations_table) if migrations_table else history.DEFAULT
    configured = dburl.configured(database_url) if migrations_table is None else None
    if configured is not None and (in_url := configured.migrations_table) is not None:
        schema, name = in_url
        table = VersionTable(schema or "public", name)
    runner.load(directory, table)
    return directory, table


def up(
    database_url: str | None = None,
    migrations: Path | str | None = None,
    *,
    to: int | None = None,
    dry_run: bool = False,
    lock_timeout: float = 60,
    migrations_table: str | None = None,
    ddl_lock_timeout_ms: int = lockwait.DEFAULT_TIMEOUT_MS,
    retries: int = lockwait.DEFAULT_RETRIES,
    on_retry: Callable[[str], None] | None = None,
    on_step: Callable[[Step], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Status:
    """Apply pending migrations (all, or up to version `to`); a dry run only reports them.

    `lock_timeout`: seconds to wait for the migration lock. `migrations_table`: `[SCHEMA.]NAME`
    of the version table (default `public.schema_migrations`). Each file waits at most
    `ddl_lock_timeout_ms` milliseconds for a table lock (0: forever); a transactional file that
    gives up is rolled back and tried again up to `retries` times, `on_retry` hearing of each
    (one line), and then raises LockNotObtained (exit 3). `on_warning` hears about risky but
    allowed situations, such as migrating as a superuser in a database whose tables belong to an
    owner role. Raises UsageError (bad directory or option, exit 2), RefusedError (dirty database,
    changed file, unknown version, lock not obtained: exit 3) or DatabaseError (a failing file,
    rolled back; the server: exit 4)."""
    directory, table = _checked(database_url, migrations, migrations_table)
    return runner.up(
        db.resolve(database_url), directory, to=to, dry_run=dry_run,
        lock_timeout=lock_timeout, table=table, on_step=on_step, on_warning=on_warning,
        waits=_waits(ddl_lock_timeout_ms, retries, on_retry),
    )  # fmt: skip


def down(
    database_url: str | None = None,
    migrations: Path | str | None = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    all_versions: bool = False,
    dry_run: bool = False,
    lock_timeout: float = 60,
    migrations_table: str | None = None,
    ddl_lock_timeout_ms: int = lockwait.DEFAULT_TIMEOUT_MS,
    retries: int = lockwait.DEFAULT_RETRIES,
    on_retry: Callable[[str], None] | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> Status:
    """Roll back newest first: to version `to`, by `steps` files, or everything with `all_versions`.

    Raises as `up` does; RefusedError before anything runs when a file to roll back has no down file."""
    directory, table = _checked(database_url, migrations, migrations_table)
    return runner.down(
        db.resolve(database_url), directory, to=to, steps=steps, all_versions=all_versions,
        dry_run=dry_run, lock_timeout=lock_timeout, table=table, on_step=on_step,
        waits=_waits(ddl_lock_timeout_ms, retries, on_retry),
    )  # fmt: skip


def status(
    database_url: str | None = None,
    migrations: Path | str | None = None,
    *,
    migrations_table: str | None = None,
) -> Status:
    """Every file of the directory against the database: applied (by veza-db or another tool),
    pending, changed since applied. Raises RefusedError when the database's version is not one
    of the directory's (above its last file, or between two files)."""
    directory, table = _checked(database_url, migrations, migrations_table)
    return runner.status(db.resolve(database_url), directory, table=table)


def force(
    version: int | None,
    database_url: str | None = None,
    migrations: Path | str | None = None,
    *,
    lock_timeout: float = 60,
    migrations_table: str | None = None,
) -> Status:
    """Record `version` (None: nothing applied) as current and clean without running any SQL (recovery)."""
    directory, table = _checked(database_url, migrations, migrations_table)
    return runner.force(db.resolve(database_url), directory, version, lock_timeout=lock_timeout, table=table)


def plan(
    database_url: str | None = None,
    migrations: Path | str | None = None,
    *,
    migrations_table: str | None = None,
) -> PlanResult:
    """What the pending migrations will lock and rewrite on the target, per statement, with the
    target's relation sizes and a verdict; the target is only read. Raises RefusedError as `up`
    would, DatabaseError when a pending statement fails on the scratch copy."""
    from veza_db.plan.run import plan as run_plan

    directory, table = _checked(database_url, migrations, migrations_table)
    return run_plan(db.resolve(database_url), directory, table=table)


def hash_migrations(migrations: Path | str | None = None, *, migrations_table: str | None = None) -> Path:
    """Write the directory's `veza.sum` from its current files; return its path."""
    directory = _directory(migrations)
    table = VersionTable.parse(migrations_table) if migrations_table else history.DEFAULT
    return sumfile.write(directory, discover.discover(directory, table))


def server_start() -> str:
    """Start the embedded PostgreSQL (created on first use); return its URL."""
    return embedded.start()


def server_stop() -> bool:
    """Stop the embedded PostgreSQL; False when it was not running."""
    return embedded.stop()


def server_status() -> embedded.ServerStatus:
    return embedded.status()


def server_url() -> str:
    """The embedded server's URL (starting it when needed), as psql accepts it."""
    return embedded.start()


def audit(
    target: str | None = None, *, database_url: str | None = None, policy: Path | str | None = None
) -> AuditResult:
    """Audit a database URL, a SQL file or a migrations directory (default: the configured database)."""
    from veza_db.audit import target as audit_target

    return audit_target.audit(target, database_url=database_url, policy_file=Path(policy) if policy else None)


def render_audit(result: AuditResult, fmt: str = "md") -> str:
    """The audit as `md` (the seed's shape), `json` or `sarif`."""
    from importlib.metadata import version

    from veza_db.audit.report import json_report, markdown, sarif

    if fmt == "md":
        return markdown.render(result)
    if fmt == "json":
        return json_report.render(result)
    if fmt == "sarif":
        return sarif.render(result, version("veza-db"))
    raise UsageError(f"unknown format {fmt!r}; use md, json or sarif")


def roles_plan(
    database_url: str | None = None,
    *,
    owner: str = role_names.OWNER,
    app: str = role_names.APP,
    readonly: str = role_names.READONLY,
    chat: str = role_names.CHAT,
) -> str:
    """The SQL (a psql script, one transaction) that gives the database the least-privilege model."""
    from veza_db import roles

    model = _role_model(owner, app, readonly, chat)
    return roles.render(db.resolve(database_url), model)


def roles_apply(
    database_url: str | None = None,
    *,
    owner: str = role_names.OWNER,
    app: str = role_names.APP,
    readonly: str = role_names.READONLY,
    chat: str = role_names.CHAT,
    lock_timeout: float = 5,
) -> RolesApplied:
    """Create the missing roles and set every privilege of the model, in one transaction."""
    from veza_db import roles

    model = _role_model(owner, app, readonly, chat)
    return roles.apply(db.resolve(database_url), model, lock_timeout=lock_timeout)


def roles_check(
    database_url: str | None = None,
    *,
    owner: str = role_names.OWNER,
    app: str = role_names.APP,
    readonly: str = role_names.READONLY,
    chat: str = role_names.CHAT,
) -> list[str]:
    """Every privilege that differs from the model, one line each; empty when clean."""
    from veza_db import roles

    model = _role_model(owner, app, readonly, chat)
    return roles.check(db.resolve(database_url), model)


def _role_model(owner: str, app: str, readonly: str, chat: str) -> Roles:
    """The four role names, checked before any server is started."""
    from veza_db import roles

    model = roles.Roles(owner, app, readonly, chat)
    model.validate()
    return model


def verify(database_url: str | None = None, migrations: Path | str | None = None) -> VerifyResult:
    """Compare a database with the canonical schema its migrations define (drift)."""
    from veza_db import verify as drift

    directory = _directory(migrations)
    runner.load(directory)
    return drift.verify(db.resolve(database_url), directory)


def docs(
    database_url: str | None = None, out: Path | str = "docs/schema", migrations: Path | str | None = None
) -> list[Path]:
    """Write the schema reference (Markdown + Mermaid ER diagrams) into `out`.

    With a database URL (argument or VEZA_DATABASE_URL) it documents that database; otherwise the
    canonical schema, built from the migrations on the embedded server."""
    from veza_db import dburl, policy
    from veza_db import docs as reference
    from veza_db.catalog import live

    directory = _directory(migrations)
    configured = dburl.configured(database_url)
    if configured is not None:
        files = reference.render(
            live.load(configured), policy.default(), title=f"Schema reference: {configured.dbname}"
        )
    else:
        runner.load(directory)
        with reference.canonical_catalog(directory) as catalog:
            files = reference.render(catalog, policy.default())
    return reference.write(files, Path(out))


def port(
    source_url: str,
    target_url: str,
    mapping: Path | str | None = None,
    *,
    dry_run: bool = False,
    sample: int | None = None,
    resume: bool = False,
    restart: bool = False,
    cleanup: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[TablePlan, str, int], None] | None = None,
) -> PortReport:
    """Copy an existing database's data into a V1 database (at head, empty), then verify it.

    `dry_run` tries every row (the first `sample` per table) in a transaction rolled back;
    `resume` carries on after an interrupted port; `restart` empties what an earlier port wrote
    and starts over. Raises UsageError, RefusedError, CheckFailed (a dry run found a row V1
    refuses) or DatabaseError (a failing row is named by its source table and key)."""
    from veza_db import dburl
    from veza_db.port import mapping as port_mapping
    from veza_db.port import run

    source, target = dburl.parse(source_url), dburl.parse(target_url)
    chosen = Path(mapping) if mapping else None
    port_mapping.load(chosen)  # a bad mapping file is reported before any connection
    return run.port(
        source,
        target,
        chosen,
        dry_run=dry_run,
        sample=sample,
        resume=resume,
        restart=restart,
        cleanup=cleanup,
        progress=progress,
        on_plan=on_plan,
    )


def init_mapping(path: Path | str, source_url: str, target_url: str | None = None) -> Path:
    """Write a draft mapping for the source into V1 at `path` (never overwritten: RefusedError).

    The V1 catalog is read from `target_url`, else from a scratch database built from the
    package's migrations (on the source's server when allowed, else the embedded one)."""
    from veza_db import dburl
    from veza_db.catalog import live
    from veza_db.migrate import discover, runner
    from veza_db.port import draft
    from veza_db.scratch import scratch_database

    out = Path(path)
    if out.exists():  # before any connection; draft.write checks again, atomically
        draft.refuse_existing(out)
    source = dburl.parse(source_url)
    source_catalog = live.load(source)
    if target_url is not None:
        target_catalog = live.load(dburl.parse(target_url))
    else:
        with scratch_database(source, prefix="veza_draft") as (scratch, _):
            runner.up(scratch, discover.package_dir())
            target_catalog = live.load(scratch)
    draft.write(out, source_catalog, target_catalog, f"database {source.dbname}")
    return out
