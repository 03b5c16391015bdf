"""Find the migration files of a directory and validate all of them before any database is used."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from veza_db.errors import UsageError

SUM_FILE = "veza.sum"
# A first line that lets a file run outside a transaction (CREATE INDEX CONCURRENTLY needs it).
NO_TRANSACTION = "-- veza-db: no-transaction"
# golang-migrate's layout: NNN_slug.up.sql / NNN_slug.down.sql (a file name, not SQL).
_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<slug>[a-z0-9][a-z0-9_]*)\.(?P<direction>up|down)\.sql$")


def package_dir() -> Path:
    """The canonical V1 migrations shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a file: its text, the line it starts on and its first token's name."""

    sql: str
    line: int
    first_token: str = ""


@dataclass(frozen=True)
class Script:
    """One migration file, read and split into statements."""

    path: Path
    text: str
    statements: tuple[Statement, ...]
    transactional: bool

    @property
    def checksum(self) -> str:
        """SHA-256 of the contents, line endings normalised, as hex."""
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: Script
    down: Script

    @property
    def checksum(self) -> str:
        return self.up.checksum


class MigrationDirectoryError(UsageError):
    """The directory has problems; one line per problem, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        # A problem may quote PostgreSQL's message, which can span lines: fold each to one.
        self.problems = [" ".join(problem.split()) for problem in problems]
        Exception.__init__(self, "\n".join(self.problems))


def normalise(raw: bytes) -> str:
    """Decode UTF-8 (BOM dropped) with line endings normalised; UnicodeDecodeError if not UTF-8."""
    return raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def split_statements(text: str) -> tuple[Statement, ...]:
    """Split with PostgreSQL's own parser, so `$$` bodies and `;` in strings are kept whole."""
    from pglast import split
    from pglast.parser import scan

    pieces = list(split(text, with_parser=True, only_slices=True))
    starts = {piece.start for piece in pieces}
    # PostgreSQL's lexer names each statement's first keyword (BEGIN_P, COPY, CREATE...).
    first_tokens = {token.start: token.name for token in scan(text) if token.start in starts}
    statements = []
    line, counted = 1, 0
    for piece in pieces:
        # Count newlines only since the previous statement: linear in the file's size.
        line += text.count("\n", counted, piece.start)
        counted = piece.start
        statements.append(Statement(text[piece], line, first_tokens.get(piece.start, "")))
    return tuple(statements)


def _read_text(path: Path, problems: list[str]) -> str | None:
    """The file as text a PostgreSQL server can take, or None with the problem recorded."""
    try:
        text = normalise(path.read_bytes())
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


def _read_script(path: Path, problems: list[str]) -> Script | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    from pglast.parser import ParseError

    try:
        statements = split_statements(text)
    except ParseError as exc:
        where = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        line = text.count("\n", 0, where) + 1
        problems.append(f"{path.name}:{line}: PostgreSQL cannot parse it: {exc.args[0]}")
        return None
    if not statements:
        problems.append(f"{path.name}: empty (no SQL statement); write the migration or remove it")
        return None
    first_line = text.lstrip().split("\n", 1)[0].strip()
    transactional = first_line != NO_TRANSACTION
    if (problem := _unrunnable(statements, transactional)) is not None:
        statement, why = problem
        problems.append(f"{path.name}:{statement.line}: {why}")
        return None
    return Script(path, text, statements, transactional=transactional)


# First tokens of the statements that may be transaction control or COPY; only those are parsed
# into a tree (a full parse of every statement costs 25 times the split).
_SUSPECT_FIRST_TOKENS = frozenset(
    {"BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P", "SAVEPOINT", "RELEASE", "PREPARE", "COPY"}
)


def _unrunnable(statements: tuple[Statement, ...], transactional: bool) -> tuple[Statement, str] | None:
    """The first statement the runner cannot run, with why and the fix, by PostgreSQL's parser.

    Transaction control would end the file's transaction early; `COPY ... FROM STDIN` / `TO
    STDOUT` needs a client streaming the data, which a migration file has no way to provide.
    """
    from pglast import ast
    from pglast.parser import parse_sql

    for statement in statements:
        if statement.first_token not in _SUSPECT_FIRST_TOKENS:
            continue
        node = parse_sql(statement.sql)[0].stmt
        if transactional and isinstance(node, ast.TransactionStmt):
            return statement, (
                "transaction control inside a migration; the runner runs each file in one "
                f"transaction (remove it, or make `{NO_TRANSACTION}` the first line)"
            )
        if isinstance(node, ast.CopyStmt) and node.filename is None:
            return statement, (
                "COPY from STDIN or to STDOUT needs a client to stream the data, which a migration "
                "cannot give; load the rows with INSERT ... VALUES, or COPY from a file on the server"
            )
    return None


Found = dict[int, dict[str, tuple[str, Path]]]  # version -> direction -> (slug, path)


def _scan(directory: Path, problems: list[str]) -> Found:
    found: Found = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.name == SUM_FILE:
            continue
        match = _NAME.match(path.name)
        if not match or not path.is_file():
            problems.append(
                f"{path.name}: not a migration file; name it NNN_slug.up.sql or NNN_slug.down.sql"
            )
            continue
        version, direction = int(match["version"]), match["direction"]
        per_version = found.setdefault(version, {})
        if direction in per_version:
            other = per_version[direction][1].name
            problems.append(f"{path.name}: duplicate version {version} (also {other})")
            continue
        per_version[direction] = (match["slug"], path)
    return found


def _pair(version: int, files: dict[str, tuple[str, Path]], problems: list[str]) -> Migration | None:
    up, down = files.get("up"), files.get("down")
    if up is None or down is None:
        present, missing = (up, "down") if down is None else (down, "up")
        assert present is not None
        problems.append(f"{present[1].name}: has no {missing} file beside it")
        return None
    if up[0] != down[0]:
        problems.append(f"{down[1].name}: slug differs from {up[1].name}")
        return None
    up_script, down_script = _read_script(up[1], problems), _read_script(down[1], problems)
    if up_script is None or down_script is None:
        return None
    return Migration(version, up[1].name.removesuffix(".up.sql"), up_script, down_script)


def _check_contiguous(found: Found, problems: list[str]) -> None:
    expected = 1
    for version in sorted(found):
        if version != expected:
            name = next(iter(found[version].values()))[1].name
            problems.append(
                f"{name}: version {version} follows {expected - 1}; version {expected} is missing"
            )
        expected = version + 1


def discover(directory: Path) -> list[Migration]:
    """Every migration of `directory` in version order; MigrationDirectoryError lists all problems."""
    if not directory.is_dir():
        raise UsageError(f"migrations directory {str(directory)!r} does not exist; pass --migrations DIR")
    problems: list[str] = []
    found = _scan(directory, problems)
    paired = [_pair(version, found[version], problems) for version in sorted(found)]
    _check_contiguous(found, problems)
    if not found and not problems:
        problems.append(f"{directory}: no migration files (NNN_slug.up.sql / NNN_slug.down.sql)")
    if problems:
        raise MigrationDirectoryError(problems)
    return [migration for migration in paired if migration is not None]
