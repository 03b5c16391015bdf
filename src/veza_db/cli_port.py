"""`veza-db port`: its options, output and progress bars (the command line's largest verb)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from veza_db.cli_options import choice
from veza_db.errors import UsageError


def text_or_json(fmt: str) -> str:
    """`--format` of the commands that print lines or JSON; `md`, their old name, means text."""
    return choice(fmt, "--format", ("text", "json"), {"md": "text"})


def port(
    source: Annotated[
        str, typer.Option("--from", help="URL of the database to copy from.", show_default=False)
    ],
    target: Annotated[
        str | None,
        typer.Option("--to", help="URL of the V1 database to fill (at head, empty).", show_default=False),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", help='Mapping TOML; it replaces the built-in Lab one unless it says extends = "lab".'
        ),
    ] = None,
    init_mapping: Annotated[
        Path | None,
        typer.Option(
            "--init-mapping", help="Write a draft mapping for the source here (never overwrites), then stop."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Write every row in a transaction that is rolled back; keep nothing."),
    ] = False,
    sample: Annotated[
        int | None, typer.Option("--sample", help="With --dry-run: try only the first N rows of each table.")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Carry on after an interrupted port.")] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Empty what an earlier port wrote, then start over.")
    ] = False,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Drop the bookkeeping schema once verified.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text or json (md: the same as text).")] = "text",
) -> None:
    """Move an existing database's data into V1: deterministic ids, nothing lost, resumable."""
    from veza_db import api
    from veza_db.port import run

    fmt = text_or_json(fmt)
    if init_mapping is not None:
        written = api.init_mapping(init_mapping, source, target)
        typer.echo(f"wrote {written}: check each guess, replace each TODO, then run the port with --dry-run")
        return
    if target is None:
        raise UsageError("give --to URL, the V1 database to fill")
    if sample is not None and (not dry_run or sample < 1):
        raise UsageError("--sample N (N at least 1) goes with --dry-run")

    def show_plan(plan: object, query: str, rows: int) -> None:
        if fmt == "text":
            typer.echo(f"{plan.target}  <-  {plan.source}  ({rows} rows)")  # type: ignore[attr-defined]
            typer.echo(f"    {query}")

    with _port_progress(enabled=not dry_run and fmt == "text") as progress:
        report = api.port(
            source, target, mapping, dry_run=dry_run, sample=sample, resume=resume, restart=restart,
            cleanup=cleanup, progress=progress, on_plan=show_plan,
        )  # fmt: skip
    if dry_run:
        tried = sum(t.target_rows for t in report.tables)
        if fmt == "json":
            typer.echo(json.dumps(report.to_dict(), indent=2))
            return
        typer.echo(
            f"-- dry run: {len(report.tables)} tables, {tried} rows written and rolled back; nothing kept"
        )
        return
    if fmt == "json":
        typer.echo(json.dumps(report.to_dict(), indent=2))
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
    """A rich progress bar per table on a terminal (rows, rows/s, time left); nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} rows/s"),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bars:
        tasks: dict[str, Any] = {}

        def update(table: str, done: int, expected: int) -> None:
            if table not in tasks:
                tasks[table] = bars.add_task(table, total=max(expected, 1), rate="")
            task = tasks[table]
            speed = bars.tasks[task].speed
            bars.update(task, completed=done, rate=f"{speed:,.0f}" if speed else "")

        yield update
