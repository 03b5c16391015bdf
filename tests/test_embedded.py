"""The embedded server: commands with no database configured start it, or reuse the running one."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.test_v1_schema import INVENTORY


@pytest.fixture
def home_env(veza_home: Path) -> Iterator[dict[str, str]]:
    env = {"VEZA_DB_HOME": str(veza_home)}
    yield env
    run_cli("server", "stop", env=env)
    shutil.rmtree(veza_home, ignore_errors=True)


def test_up_with_no_database_configured_starts_the_embedded_server(
    home_env: dict[str, str],
) -> None:
    assert run_cli("server", "status", env=home_env).returncode == 3  # not created yet
    proc = run_cli("up", env=home_env)
    assert proc.returncode == 0, proc.stderr
    assert "(head)" in proc.stdout

    status = run_cli("status", "--json", env=home_env)
    assert status.returncode == 0, status.stderr
    parsed = json.loads(status.stdout)
    assert parsed["current"] == parsed["head"] >= 1

    running = run_cli("server", "status", env=home_env)
    assert running.returncode == 0
    assert "running" in running.stdout

    url = run_cli("server", "url", env=home_env).stdout.strip()
    assert url.startswith("postgresql://")
    psql = shutil.which("psql")
    assert psql, "psql is needed to prove the URL works with it"
    out = subprocess.run(
        [psql, url, "-Atc", "SELECT version, dirty FROM schema_migrations"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == f"{parsed['head']}|f"
    listed = subprocess.run([psql, url, "-c", r"\dt"], capture_output=True, text=True, check=True).stdout
    assert all(f" {table} " in listed for table in INVENTORY)

    # A second command reuses the same server rather than starting another.
    assert run_cli("server", "start", env=home_env).stdout.strip() == url
    assert run_cli("server", "stop", env=home_env).stdout.strip() == "stopped"
    assert run_cli("server", "status", env=home_env).returncode == 3
    assert run_cli("server", "stop", env=home_env).stdout.strip() == "not running"
