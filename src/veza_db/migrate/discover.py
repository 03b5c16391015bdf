"""Find the migration files of a directory and validate all of them before any database is used.

Names are read as golang-migrate's file source reads them (its `source.Regex`):
`VERSION_description.up.EXT` and an optional `VERSION_description.down.EXT`, VERSION any
unsigned integer (`migrate create` writes timestamps such as `20240101120000`, `-seq` writes
`000001`), ordered numerically, gaps allowed, version 0 valid, any extension (`.sql` is usual).
Other files (a README, `.gitkeep`) are left alone, as golang-migrate leaves them, except a
`.sql` file, which is surely meant as a migration and so must be named like one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from veza_db import sqltext
from veza_db.errors import UsageError
from veza_db.migrate import script
from veza_db.migrate.history import DEFAULT, VersionTable
from veza_db.migrate.script import Script

SUM_FILE = "veza.sum"
# golang-migrate's source.Regex (a file name, not SQL).
_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<description>.*)\.(?P<direction>up|down)\.(?P<extension>.*)$")
# schema_migrations.version is a bigint: golang-migrate's uint versions above it cannot be stored.
MAX_VERSION = 2**63 - 1


def package_dir() -> Path:
    """The canonical V1 migrations shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class Migration:
    """One version: its up file and, when there is one, its down file."""

    version: int
    name: str  # VERSION_description
    up: Script
    down: Script | None

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def down_name(self) -> str:
        """The down file's name, whether or not it exists."""
        if self.down is not None:
            return self.down.path.name
        return self.up.path.name.replace(".up.", ".down.", 1)


class MigrationDirectoryError(UsageError):
    """The directory has problems; one line per problem, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        # A problem may quote PostgreSQL's message, which can span lines: fold each to one.
        self.problems = [" ".join(problem.split()) for problem in problems]
        Exception.__init__(self, "\n".join(self.problems))


def _read_text(path: Path, problems: list[str]) -> str | None:
    """The file as text a PostgreSQL server can take, or None with the problem recorded."""
    try:
        return sqltext.decode(path.read_bytes(), path.name)
    except UsageError as exc:
        problems.append(str(exc))
    except OSError as exc:
        problems.append(f"{path.name}: cannot read: {exc.strerror}")
    return None


def _read_script(path: Path, table: VersionTable, problems: list[str]) -> Script | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        return script.read(path, text, table)
    except script.ScriptProblem as problem:
        problems.append(f"{path.name}:{problem.line}: {problem.message}")
        return None


Found = dict[int, dict[str, tuple[str, Path]]]  # version -> direction -> (description, path)


def _scan(directory: Path, problems: list[str]) -> Found:
    found: Found = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.name == SUM_FILE:
            continue
        match = _NAME.match(path.name)
        if match is None and not path.name.endswith(".sql"):
            continue
        if not match or not path.is_file():
            problems.append(
                f"{path.name}: not a migration file (golang-migrate would skip it); name it "
                "VERSION_description.up.sql or VERSION_description.down.sql"
            )
            continue
        version, direction = int(match["version"]), match["direction"]
        if version > MAX_VERSION:
            problems.append(
                f"{path.name}: version {version} does not fit schema_migrations.version (bigint, at "
                f"most {MAX_VERSION}); use a smaller version"
            )
            continue
        per_version = found.setdefault(version, {})
        if direction in per_version:
            other = per_version[direction][1].name
            problems.append(f"{path.name}: duplicate version {version} (also {other})")
            continue
        per_version[direction] = (match["description"], path)
    return found


def _pair(
    version: int, files: dict[str, tuple[str, Path]], table: VersionTable, problems: list[str]
) -> Migration | None:
    up_file, down_file = files.get("up"), files.get("down")
    if up_file is None:
        assert down_file is not None
        problems.append(f"{down_file[1].name}: has no up file beside it; add it or remove the down file")
        return None
    (description, up), down = up_file, down_file[1] if down_file else None
    name = up.name[: up.name.index("_") + 1 + len(description)]  # VERSION_description
    if down_file is not None and down_file[0] != description:
        problems.append(f"{down_file[1].name}: description differs from {up.name}; name both alike")
        return None
    up_script = _read_script(up, table, problems)
    down_script = _read_script(down, table, problems) if down is not None else None
    if up_script is None or (down is not None and down_script is None):
        return None
    return Migration(version, name, up_script, down_script)


def discover(directory: Path, table: VersionTable = DEFAULT) -> list[Migration]:
    """Every migration of `directory` in version order.

    Raises UsageError when the directory is missing, MigrationDirectoryError listing every
    problem (one line each, naming its file) otherwise."""
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise UsageError(f"migrations directory {str(directory)!r} {what}; pass --migrations DIR")
    problems: list[str] = []
    found = _scan(directory, problems)
    paired = [_pair(version, found[version], table, problems) for version in sorted(found)]
    if not found and not problems:
        problems.append(
            f"{directory}: no migration files (VERSION_description.up.sql / VERSION_description.down.sql)"
        )
    if problems:
        raise MigrationDirectoryError(problems)
    return [migration for migration in paired if migration is not None]
