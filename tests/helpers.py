"""Helpers shared by the tests: run the CLI as a user would, write migration directories."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `veza-db` as a user would, in a separate process; never raises on a non-zero exit."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("VEZA_DATABASE_URL", "VEZA_TRACEBACK")}
    full_env.setdefault("VEZA_DB_HOME", str(Path(tempfile.gettempdir()) / "veza-home-unused"))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "veza_db.cli", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, check=False,
    )  # fmt: skip


def spawn_cli(*args: str) -> subprocess.Popen[str]:
    """Start `veza-db` in the background (for concurrency and kill tests)."""
    return subprocess.Popen(
        [sys.executable, "-m", "veza_db.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def write_migrations(directory: Path, files: dict[str, str]) -> Path:
    """Create `directory` holding `files` (name -> SQL text)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def query(url: str, text: str) -> list[tuple[object, ...]]:
    """Rows of one read-only query, on a connection of its own."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(text.encode()).fetchall()


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single `error:` line a failing command printed; fails if there is a traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    return lines[0]


def run_sql(url: str, text: str) -> None:
    """Run statements that return no rows, committed, on a connection of their own."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(text.encode())


def pg_dump_schema(url: str, bin_dir: Path | None, out: Path) -> Path:
    """`pg_dump --schema-only` of `url` with the server's own pg_dump, written to `out`."""
    binary = str(bin_dir / "pg_dump") if bin_dir else "pg_dump"
    subprocess.run(
        [binary, "--schema-only", "--no-owner", "-f", str(out), url], check=True, capture_output=True
    )
    return out
