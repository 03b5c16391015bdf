"""One migration file: read, split by PostgreSQL's parser, and classified before any database is used.

A file runs in one of three ways, decided here from its statements:

- in one transaction (the default), with its version rows written inside it; a file wrapped in
  its own `BEGIN; ... COMMIT;` runs the same way, its BEGIN opening the transaction;
- without a transaction, statement by statement, when its first line is the directive
  `-- veza-db: no-transaction`;
- without a transaction automatically, when every statement is one PostgreSQL refuses to run
  inside a transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`...), as Flyway does.

A file holding no statement (only comments, or nothing) is a no-op that still moves the version,
as golang-migrate treats it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from veza_db.migrate.history import VersionTable

# A first line that lets a file run outside a transaction (mixed statements need it).
NO_TRANSACTION = "-- veza-db: no-transaction"

TRANSACTION = "transaction"
NO_TRANSACTION_DIRECTIVE = "no-transaction"
NO_TRANSACTION_AUTOMATIC = "no-transaction (automatic)"


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a file: its text, the line it starts on and its first token's name."""

    sql: str
    line: int
    first_token: str = ""


@dataclass(frozen=True)
class Script:
    """One migration file, read and split into statements.

    `statements` are the ones the runner sends: a wrapping `BEGIN`/`COMMIT` pair is not among
    them; `begin` keeps that BEGIN (its isolation level and access mode open the transaction).
    `mode` is TRANSACTION, NO_TRANSACTION_DIRECTIVE or NO_TRANSACTION_AUTOMATIC; `why` names the
    statement kind behind an automatic no-transaction file.
    """

    path: Path
    text: str  # as the file holds it (a UTF-8 BOM dropped): sent to the server as it is
    statements: tuple[Statement, ...]
    mode: str = TRANSACTION
    begin: str = "BEGIN"
    why: str = ""

    @property
    def transactional(self) -> bool:
        return self.mode == TRANSACTION

    @property
    def noop(self) -> bool:
        """True when the file holds no statement: it only moves the version."""
        return not self.statements

    @property
    def normalised(self) -> str:
        """The text with its line endings as `\n`: what checksums are taken of, so that a
        checkout with CRLF line endings is the same migration."""
        return self.text.replace("\r\n", "\n").replace("\r", "\n")

    @property
    def checksum(self) -> str:
        """SHA-256 of the contents, line endings normalised, as hex."""
        return hashlib.sha256(self.normalised.encode()).hexdigest()


class ScriptProblem(Exception):
    """Why a file cannot run: `line` (1-based, 0 for the whole file) and the message with its fix."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def split_statements(text: str) -> tuple[Statement, ...]:
    """Split with PostgreSQL's own parser, so `$$` bodies and `;` in strings are kept whole.

    Raises pglast's ParseError (message, offset) when PostgreSQL cannot parse the text."""
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


def read(path: Path, text: str, version_table: VersionTable) -> Script:
    """Classify the file's statements; ScriptProblem names the first one the runner cannot run."""
    from pglast.parser import ParseError

    try:
        statements = split_statements(text)
    except ParseError as exc:
        where = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        line = text.count("\n", 0, where) + 1
        if (command := _meta_command_at(text, where)) is not None:
            raise ScriptProblem(line, _meta_command_message(command)) from None
        if (copy_line := _copy_rows_before(text, where)) is not None:
            why = _CLIENT_COPY + " (pg_dump --inserts writes the rows that way)"
            raise ScriptProblem(copy_line, why) from None
        raise ScriptProblem(line, f"PostgreSQL cannot parse it: {exc.args[0]}") from None
    directive = has_directive(text)
    trees = _Trees(statements)
    _refuse_version_table_changes(statements, trees, version_table)
    _refuse_client_copy(statements, trees)
    if directive:
        return Script(path, text, statements, NO_TRANSACTION_DIRECTIVE)
    statements, begin = _unwrap(statements, trees)
    outside = [(s, kind) for s in statements if (kind := _needs_no_transaction(s, trees)) is not None]
    if outside and len(outside) == len(statements) and begin is None:
        return Script(path, text, statements, NO_TRANSACTION_AUTOMATIC, why=outside[0][1])
    if outside and len(outside) == len(statements):
        statement, kind = outside[0]
        raise ScriptProblem(
            statement.line,
            f"{kind} cannot run inside a transaction block: remove the BEGIN and COMMIT around it "
            "(a file holding only such statements runs without a transaction automatically)",
        )
    if outside:
        statement, kind = outside[0]
        raise ScriptProblem(
            statement.line,
            f"{kind} cannot run inside a transaction block, and this file's other statements "
            "need one; move it to a file of its own (such a file runs without a transaction "
            f"automatically), or make `{NO_TRANSACTION}` the first line",
        )
    return Script(path, text, statements, TRANSACTION, begin=begin or "BEGIN")


class _Trees:
    """Parse trees of single statements, made only when asked for (a full parse costs 25 splits)."""

    def __init__(self, statements: tuple[Statement, ...]) -> None:
        self._trees: dict[int, Any] = {}
        self._statements = statements

    def __call__(self, statement: Statement) -> Any:
        key = id(statement)
        if key not in self._trees:
            from pglast.parser import parse_sql

            self._trees[key] = parse_sql(statement.sql)[0].stmt
        return self._trees[key]


_TRANSACTION_TOKENS = frozenset(
    {"BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P", "SAVEPOINT", "RELEASE", "PREPARE"}
)


def _unwrap(statements: tuple[Statement, ...], trees: _Trees) -> tuple[tuple[Statement, ...], str | None]:
    """The statements without a wrapping BEGIN ... COMMIT, and that BEGIN; other control is refused.

    Savepoints stay: they work inside the file's transaction."""
    from pglast import ast
    from pglast.enums import TransactionStmtKind as Kind

    control = [
        (index, tree)
        for index, statement in enumerate(statements)
        if statement.first_token in _TRANSACTION_TOKENS
        and isinstance(tree := trees(statement), ast.TransactionStmt)
        and tree.kind not in (Kind.TRANS_STMT_SAVEPOINT, Kind.TRANS_STMT_RELEASE, Kind.TRANS_STMT_ROLLBACK_TO)
    ]
    if not control:
        return statements, None
    last = len(statements) - 1
    wrapped = (
        len(control) == 2
        and control[0][0] == 0
        and control[0][1].kind in (Kind.TRANS_STMT_BEGIN, Kind.TRANS_STMT_START)
        and control[1][0] == last
        and control[1][1].kind == Kind.TRANS_STMT_COMMIT
        and not control[1][1].chain
    )
    if wrapped:
        return statements[1:last], statements[0].sql
    index = next((i for i, _ in control if i not in (0, last)), control[-1][0])
    raise ScriptProblem(
        statements[index].line,
        "transaction control inside a migration; the runner runs each file in one transaction "
        "(a file may open with BEGIN and end with COMMIT and hold no other; otherwise remove it, "
        f"or make `{NO_TRANSACTION}` the first line)",
    )


_CLIENT_COPY = (
    "COPY from STDIN or to STDOUT needs a client to stream the data, which a migration cannot "
    "give; load the rows with INSERT ... VALUES, or COPY from a file on the server"
)


def _refuse_client_copy(statements: tuple[Statement, ...], trees: _Trees) -> None:
    """`COPY ... FROM STDIN` / `TO STDOUT` needs a client streaming the data: no file can give it."""
    for statement in statements:
        if statement.first_token == "COPY" and _is_client_copy(trees(statement)):  # noqa: S105 - a token name
            raise ScriptProblem(statement.line, _CLIENT_COPY)


def _is_client_copy(tree: Any) -> bool:
    from pglast import ast

    return isinstance(tree, ast.CopyStmt) and tree.filename is None


def _copy_rows_before(text: str, offset: int) -> int | None:
    """The line of a `COPY ... FROM stdin;` whose inline rows (as pg_dump writes them) PostgreSQL's
    parser stopped at `offset` in, else None: the last statement before that line is the COPY."""
    from pglast import parse_sql, split
    from pglast.parser import ParseError

    line_start = text.rfind("\n", 0, offset) + 1
    try:
        pieces = list(split(text[:line_start], with_parser=True, only_slices=True))
    except ParseError:
        return None
    if not pieces or text[pieces[-1].stop : line_start].strip(" \t\r\n;"):
        return None
    if not _is_client_copy(parse_sql(text[pieces[-1]])[0].stmt):
        return None
    return text.count("\n", 0, pieces[-1].start) + 1


def has_directive(text: str) -> bool:
    """Whether a comment line before the first statement says `veza-db: no-transaction` (spacing
    and case aside, words after it allowed: `-- veza-db: no-transaction -- for the index`)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            return False
        words = stripped.lstrip("-").strip().lower().replace(" ", "")
        if words.startswith("veza-db:no-transaction"):
            return True
    return False


def _needs_no_transaction(statement: Statement, trees: _Trees) -> str | None:
    """The kind of a statement PostgreSQL refuses inside a transaction block, else None.

    From PostgreSQL's PreventInTransactionBlock callers: the CONCURRENTLY forms, VACUUM,
    CLUSTER of every table, REINDEX of a schema, database or the system catalogs, databases,
    tablespaces and ALTER SYSTEM."""
    first, lowered = statement.first_token, statement.sql.lower()
    # Words in the text only decide which statements are worth a parse; the tree decides.
    suspect = (
        first in ("VACUUM", "CLUSTER", "REINDEX")
        or "concurrently" in lowered
        or (first in ("CREATE", "DROP", "ALTER") and ("database" in lowered or "tablespace" in lowered))
        or (first == "ALTER" and "system" in lowered)
    )
    return kind_outside_transaction(trees(statement)) if suspect else None


def kind_outside_transaction(tree: Any) -> str | None:  # noqa: PLR0911 - one return per kind
    """The kind of a parsed statement PostgreSQL refuses inside a transaction block, else None."""
    from pglast import ast
    from pglast.enums import AlterTableType, ReindexObjectType

    if isinstance(tree, ast.IndexStmt) and tree.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(tree, ast.DropStmt) and tree.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(tree, ast.ReindexStmt):
        if any(option.defname == "concurrently" for option in tree.params or ()):
            return "REINDEX CONCURRENTLY"
        if tree.kind in (ReindexObjectType.REINDEX_OBJECT_SCHEMA, ReindexObjectType.REINDEX_OBJECT_DATABASE,
                         ReindexObjectType.REINDEX_OBJECT_SYSTEM):  # fmt: skip
            return "REINDEX SCHEMA, DATABASE or SYSTEM"
    if isinstance(tree, ast.VacuumStmt) and tree.is_vacuumcmd:
        return "VACUUM"
    if isinstance(tree, ast.ClusterStmt) and tree.relation is None:
        return "CLUSTER of every table"
    if isinstance(tree, ast.AlterTableStmt):
        for command in tree.cmds or ():
            if command.subtype == AlterTableType.AT_DetachPartition and command.def_.concurrent:
                return "DETACH PARTITION CONCURRENTLY"
    kinds = {
        ast.CreatedbStmt: "CREATE DATABASE",
        ast.DropdbStmt: "DROP DATABASE",
        ast.CreateTableSpaceStmt: "CREATE TABLESPACE",
        ast.DropTableSpaceStmt: "DROP TABLESPACE",
        ast.AlterSystemStmt: "ALTER SYSTEM",
    }
    return kinds.get(type(tree))


def _refuse_version_table_changes(
    statements: tuple[Statement, ...], trees: _Trees, table: VersionTable
) -> None:
    """A file may read the runner's tables but not create, change or drop them (a Rails
    structure.sql baseline carries a `schema_migrations` of its own)."""
    names = (table.name.lower(), table.history.lower())
    for statement in statements:
        if statement.first_token in ("SELECT", "WITH") or not any(n in statement.sql.lower() for n in names):
            continue
        if _names_relation(trees(statement), table):
            raise ScriptProblem(
                statement.line,
                f"this {statement.first_token.removesuffix('_P')} statement changes "
                f"{table.schema}.{table.name} or {table.history}, the runner's own version "
                "tables; remove it (the runner keeps them), or pass --migrations-table to use "
                "another table",
            )


def _names_relation(tree: Any, table: VersionTable) -> bool:
    """Whether the statement creates, changes, fills or drops the version table or its history;
    reading them (a view, INSERT ... SELECT from them, GRANT SELECT) is fine."""
    from pglast import ast

    wanted = {table.name, table.history}

    def ours(range_var: Any) -> bool:
        return (
            isinstance(range_var, ast.RangeVar)
            and range_var.relname in wanted
            and range_var.schemaname in (None, table.schema)
        )

    changing = (ast.CreateStmt, ast.AlterTableStmt, ast.RenameStmt, ast.IndexStmt, ast.CreateTrigStmt,
                ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.CopyStmt)  # fmt: skip
    targets: list[Any] = []
    if isinstance(tree, changing):
        targets.append(tree.relation)
    elif isinstance(tree, ast.CreateTableAsStmt) and tree.into is not None:
        targets.append(tree.into.rel)
    elif isinstance(tree, ast.TruncateStmt):
        targets += list(tree.relations or ())
    if any(ours(target) for target in targets):
        return True
    if isinstance(tree, ast.DropStmt):
        for name in tree.objects or ():
            parts = [getattr(part, "sval", None) for part in name] if isinstance(name, tuple) else []
            if parts and parts[-1] in wanted and (len(parts) == 1 or parts[-2] == table.schema):
                return True
    return False


def _meta_command_at(text: str, offset: int) -> str | None:
    """The psql meta-command starting at `offset` when it is a line's first non-blank character."""
    if not text.startswith("\\", offset):
        return None
    line_start = text.rfind("\n", 0, offset) + 1
    if text[line_start:offset].strip():
        return None
    rest = text[offset + 1 :]
    return "\\" + (rest.split(None, 1)[0] if rest.strip() else "")


def _meta_command_message(command: str) -> str:
    why = {
        "\\restrict": "pg_dump 17.6 and later write \\restrict and \\unrestrict around a dump; ",
        "\\unrestrict": "pg_dump 17.6 and later write \\restrict and \\unrestrict around a dump; ",
        "\\connect": "a migration runs in the database it is applied to; ",
        "\\c": "a migration runs in the database it is applied to; ",
    }.get(command, "")
    return (
        f"`{command}` is a psql meta-command, not SQL: the runner sends SQL to the server, and "
        f"only psql reads meta-commands; {why}remove the line"
    )
