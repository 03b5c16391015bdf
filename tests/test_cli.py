"""The command line's own checks: every `--format` and `--fail-on` refused in one line, before any
database or file is touched."""

from __future__ import annotations

import pytest

from tests.helpers import one_line_error, run_cli


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (["audit", "--format", "xml", "missing.sql"], "md, json or sarif"),
        (["audit", "--fail-on", "sometimes", "missing.sql"], "error, warning or never"),
        (["plan", "--format", "xml", "--database-url", "postgresql://x@127.0.0.1:1/x"], "md, json or sarif"),
        (
            ["plan", "--fail-on", "caution", "--database-url", "postgresql://x@127.0.0.1:1/x"],
            "danger or never",
        ),
        (["verify", "postgresql://x@127.0.0.1:1/x", "--format", "yaml"], "text or json"),
        (
            [
                "port",
                "--from",
                "postgresql://x@127.0.0.1:1/a",
                "--to",
                "postgresql://x@127.0.0.1:1/b",
                "--format",
                "csv",
            ],
            "text or json",
        ),
    ],
)
def test_a_wrong_choice_is_one_line_before_anything_runs(args: list[str], listed: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2  # port 1 has no server: a connection would have been exit 4
    line = one_line_error(proc)
    assert "is not one of its values" in line
    assert line.endswith(f"use {listed}")


def test_md_is_still_accepted_where_text_is_meant() -> None:
    proc = run_cli("verify", "postgresql://x@127.0.0.1:1/x", "--format", "md")
    assert proc.returncode == 4  # past the option check: the connection fails
    assert "cannot connect" in one_line_error(proc)
