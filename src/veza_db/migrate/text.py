"""The runner's results as the lines `up`, `down` and `status` print (the CLI only echoes them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from veza_db.migrate.status import shown

if TYPE_CHECKING:
    from veza_db.migrate.runner import Step
    from veza_db.migrate.status import Status


def notes(mode: str, noop: bool, why: str = "") -> str:
    """How a file runs, when that is not one transaction with SQL in it: `  [note]` each."""
    found = []
    if mode != "transaction":
        found.append(f"{mode}: {why}" if why else mode)
    if noop:
        found.append("no-op: no SQL, moves the version")
    return "".join(f"  [{note}]" for note in found)


def step_line(step: Step) -> str:
    """`applied      FILE  N ms  [notes]` (or `rolled back`)."""
    arrow = "applied" if step.direction == "up" else "rolled back"
    return f"{arrow:<12} {step.file}  {step.execution_ms} ms{notes(step.mode, step.noop)}"


def dry_step_text(step: Step) -> str:
    """What a dry run prints for a file: a comment naming it, then its SQL."""
    return f"-- would run {step.file}{notes(step.mode, step.noop)}\n{step.sql.rstrip()}\n"


def dry_run_line(status: Status) -> str:
    """What a dry run ends with: nothing changed, and the version the database is at."""
    return f"-- dry run: nothing was changed; the database is at version {shown(status.current)}"


def version_line(status: Status) -> str:
    """`version N (head)`, `version N (head is M)`, with `, DIRTY` when it is."""
    current = shown(status.current)
    where = "head" if status.current == status.head else f"head is {status.head}"
    return f"version {current} ({where}){', DIRTY' if status.dirty else ''}"


def status_lines(status: Status, database: str) -> list[str]:
    """`veza-db status`: the database, its version, then every file of the directory and its state."""
    lines = [f"database  {database}", version_line(status)]
    history = {a.version: a for a in status.applied}
    for m in status.migrations:
        extra = notes(m.up.mode, m.up.noop, m.up.why) + ("" if m.down else "  [no down file]")
        name = m.up.path.name
        state = status.state_of(m.version)
        if state == "dirty":
            lines.append(f"  DIRTY    {name:<40} stopped part-way{extra}")
        elif state == "out of order":
            lines.append(f"  MISSING  {name:<40} below the current version, never applied{extra}")
        elif state == "applied":
            a = history[m.version]
            mark = "  CHANGED" if name in status.changed else ""
            when = f"{a.applied_at:%Y-%m-%d %H:%M:%S %Z}"
            lines.append(
                f"  applied  {name:<40} {when}  {a.execution_ms:>6} ms  by {a.applied_by}{mark}{extra}"
            )
        elif state == "applied by another tool":
            lines.append(f"  applied  {name:<40} by another tool{extra}")
        else:
            lines.append(f"  pending  {name}{extra}")
    return lines
