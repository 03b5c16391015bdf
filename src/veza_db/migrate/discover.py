"""Find the migration files of a directory and validate all of them before any database is used.

Names are read as golang-migrate's file source reads them: `VERSION_description.up.sql` and
an optional `VERSION_description.down.sql`, VERSION any unsigned integer (`migrate create`
writes timestamps such as `20240101120000`, `-seq` writes `000001`), ordered numerically, gaps
allowed, version 0 valid. Files that are not SQL (a README, `.gitkeep`) are left alone, as
golang-migrate leaves them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from veza_db.errors import UsageError
from veza_db.migrate import script
from veza_db.migrate.history import DEFAULT, VersionTable
from veza_db.migrate.script import Script

SUM_FILE = "veza.sum"
# golang-migrate's source.Regex, for SQL files (a file name, not SQL).
_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<description>.*)\.(?P<direction>up|down)\.sql$")
# schema_migrations.version is a bigint: golang-migrate's uint versions above it cannot be stored.
MAX_VERSION = 2**63 - 1


def package_dir() -> Path:
    """The canonical V1 migrations shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class Migration:
    """One version: its up file and, when there is one, its down file."""

    version: int
    name: str  # the up file's name without `.up.sql`
    up: Script
    down: Script | None

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def down_name(self) -> str:
        """The down file's name, whether or not it exists."""
        return f"{self.name}.down.sql"


class MigrationDirectoryError(UsageError):
    """The directory has problems; one line per problem, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        # A problem may quote PostgreSQL's message, which can span lines: fold each to one.
        self.problems = [" ".join(problem.split()) for problem in problems]
        Exception.__init__(self, "\n".join(self.problems))


def _read_text(path: Path, problems: list[str]) -> str | None:
    """The file as text a PostgreSQL server can take, or None with the problem recorded."""
    try:
        text = script.normalise(path.read_bytes())
    except UnicodeDecodeError as exc:
        problems.append(f"{path.name}: not UTF-8 text (byte {exc.start}); save it as UTF-8")
        return None
    except OSError as exc:
        problems.append(f"{path.name}: cannot read: {exc.strerror}")
        return None
    if (nul := text.find("\x00")) >= 0:
        # libpq ends a query string at a NUL: whatever follows would silently never run.
        line = text.count("\n", 0, nul) + 1
        problems.append(f"{path.name}:{line}: contains a NUL byte, which SQL cannot hold; remove it")
        return None
    return text


def _read_script(path: Path, table: VersionTable, problems: list[str]) -> Script | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        return script.read(path, text, table)
    except script.ScriptProblem as problem:
        problems.append(f"{path.name}:{problem.line}: {problem.message}")
        return None


Found = dict[int, dict[str, Path]]  # version -> direction -> path


def _scan(directory: Path, problems: list[str]) -> Found:
    found: Found = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(".sql"):
            continue
        match = _NAME.match(path.name)
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
            problems.append(f"{path.name}: duplicate version {version} (also {per_version[direction].name})")
            continue
        per_version[direction] = path
    return found


def _pair(version: int, files: dict[str, Path], table: VersionTable, problems: list[str]) -> Migration | None:
    up, down = files.get("up"), files.get("down")
    if up is None:
        assert down is not None
        problems.append(f"{down.name}: has no up file beside it; add it or remove the down file")
        return None
    name = up.name.removesuffix(".up.sql")
    if down is not None and down.name != f"{name}.down.sql":
        problems.append(f"{down.name}: description differs from {up.name}; name both alike")
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
        raise UsageError(f"migrations directory {str(directory)!r} does not exist; pass --migrations DIR")
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
