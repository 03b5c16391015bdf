"""Read SQL text the way psql reads a script: statements parsed by PostgreSQL's own parser, with
psql meta-command lines (`\\restrict`, `\\connect`...) and the rows of `COPY ... FROM stdin` up to
their `\\.` line stepped over.

The text is read in windows of a few kilobytes, each parsed by PostgreSQL's own parser (pglast's
JSON output) in one call: many small parser calls cost more, one call for a whole dump builds a
tree too large to be fast. A window ends at a line ending with `;`, and is taken whole when the
parser agrees that `;` ends its last statement. A window that may hold what is not SQL (a
backslash, a COPY), or that the parser rejects, is read the careful way: PostgreSQL's scanner
(pglast's split, which knows quotes, dollar quotes and comments) says where each statement ends,
so a line starting with a backslash is a meta-command only outside them, the rows of a COPY are
skipped, and an error is named at its statement's line. Line numbers are always the file's.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

from veza_db.catalog import expr
from veza_db.errors import UsageError

# Characters in a window: the first after a restart (a COPY or a meta-command line ends a window
# early, the rest is read again), then doubled up to the largest, where parsing is fastest.
_FIRST_WINDOW = 8192
_MAX_WINDOW = 1 << 14
_AHEAD_MIN = 1 << 18  # characters of text from which the next window is parsed in a second thread
# A statement that ends in the middle of a construct (`BEGIN ATOMIC ... END`, whose inner `;`
# the scanner cannot tell from statement ends) is joined with the following ones, up to this size.
_MAX_JOINED = 1 << 20
_LONG_PIECE = 65536  # bytes; further into a statement, line numbers are looked up, not counted


class Parsed(NamedTuple):
    """One parsed statement: its JSON tree, and the line of each byte offset of its text."""

    statement: dict[str, Any]
    line_of: Callable[[int], int]


class _Newlines:
    """Where the newlines of a parsed text are, found when first needed (long statements only)."""

    __slots__ = ("data", "newline", "offsets")

    def __init__(self, data: str | bytes, newline: Any) -> None:
        self.data, self.newline = data, newline
        self.offsets: list[int] | None = None

    def between(self, start: int, stop: int) -> int:
        if self.offsets is None:
            offsets, at = [], self.data.find(self.newline)
            while at != -1:
                offsets.append(at)
                at = self.data.find(self.newline, at + 1)
            self.offsets = offsets
        return max(0, bisect.bisect_left(self.offsets, stop) - bisect.bisect_left(self.offsets, start))


class _LineOf:
    """Parser location (a byte offset in the parsed text) -> line in the file, for one statement:
    its first line, plus the newlines between the statement's start and the location."""

    __slots__ = ("base", "data", "first", "newline", "newlines")

    def __init__(self, first: int, base: int, newlines: _Newlines) -> None:
        self.first, self.base, self.newlines = first, base, newlines
        self.data, self.newline = newlines.data, newlines.newline

    def __call__(self, offset: int) -> int:
        if offset - self.base < _LONG_PIECE:  # counting a statement's few lines is cheapest
            return self.first + self.data.count(self.newline, self.base, offset)
        return self.first + self.newlines.between(self.base, offset)


@dataclass
class _Window:
    """A stretch of the text: the statements that end in it, and the first meta-command after them."""

    pos: int
    end: int
    ends: list[tuple[int, int]]  # (start, semicolon) of each statement, relative to pos
    cursor: int  # relative to pos: after the last statement
    meta: int | None  # offset of a meta-command line after them


@dataclass
class _Quick:
    """A window parsed whole: text[pos:end], which ends at a line ending with `;`."""

    pos: int
    end: int
    sql: str
    parsing: Future[str] | None  # its JSON tree, parsed in the other thread

    def statements(self) -> list[dict[str, Any]] | None:
        """Its parsed statements, or None when the window cannot be taken whole: the parser
        rejects it, its last `;` does not end a statement (it was in a string or a body), or it
        holds a COPY whose rows follow."""
        from pglast.parser import ParseError, parse_sql_json

        try:
            tree = expr.loads(self.parsing.result() if self.parsing else parse_sql_json(self.sql))
        except (ParseError, expr.TooDeep):
            return None
        statements: list[dict[str, Any]] = tree.get("stmts", [])
        if statements and "stmt_len" not in statements[-1]:
            return None  # the last statement runs on past the window
        if any(_copy_from_stdin(s) for s in statements):
            return None
        return statements


class _Reader:
    """Statements of one SQL text, in order, with what is not SQL stepped over."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self._line_at = 0  # a known (offset, line) pair: lines are counted forward from it
        self._line = 1
        self.statements = 0
        # A statement the parser found cut at its `;` (`BEGIN ATOMIC ... END` holds `;`s the
        # scanner takes for statement ends): where it starts; the next pieces are joined to it.
        self._joined: int | None = None

    # ---- line numbers ------------------------------------------------------------------------

    def line(self, offset: int) -> int:
        """1-based line of a character offset; cheap when offsets come in increasing order."""
        if offset < self._line_at:
            return self.text.count("\n", 0, offset) + 1
        self._line += self.text.count("\n", self._line_at, offset)
        self._line_at = offset
        return self._line

    def _error(self, offset: int, message: str) -> UsageError:
        return UsageError(f"{self.name}:{self.line(offset)}: {message}")

    def _parse_error(self, start: int, exc: Exception) -> UsageError:
        """PostgreSQL's parser message for `exc` raised on the text at `start`, with its line."""
        args = exc.args
        where = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
        return self._error(start + max(where, 0), f"PostgreSQL cannot parse it: {args[0]}")

    # ---- parsing -----------------------------------------------------------------------------

    def _tree(self, start: int, sql: str) -> list[dict[str, Any]]:
        """The parsed statements of `sql` (the text at `start`); pglast's ParseError passes through."""
        from pglast.parser import parse_sql_json

        try:
            tree = expr.loads(parse_sql_json(sql))
        except expr.TooDeep:
            raise self._error(start, "statement nested too deeply to read") from None
        statements: list[dict[str, Any]] = tree.get("stmts", [])
        return statements

    def _parse(self, start: int, sql: str) -> list[dict[str, Any]]:
        """The parsed statements of `sql` (the text at `start`); a UsageError names a bad line."""
        from pglast.parser import ParseError

        try:
            return self._tree(start, sql)
        except ParseError as exc:
            raise self._parse_error(start, exc) from None

    def _emit(self, start: int, sql: str, statements: list[dict[str, Any]]) -> Iterator[Parsed]:
        """Statements parsed from `sql`, the text at `start`, each with its line numbers."""
        # Parser locations are byte offsets: the same as character offsets in ASCII text.
        data: str | bytes = sql if sql.isascii() else sql.encode()
        newline: Any = "\n" if isinstance(data, str) else b"\n"
        newlines = _Newlines(data, newline)
        line, at = self.line(start), 0
        for statement in statements:
            base = statement.get("stmt_location", 0)
            line += data.count(newline, at, base)
            at = base
            self.statements += 1
            yield Parsed(statement, _LineOf(line, base, newlines))

    # ---- what is not SQL ---------------------------------------------------------------------

    def _construct_end(self, start: int, at: int) -> int | None:
        """None when `at` lies outside every token of the text from `start` (a token boundary);
        else the end of the quote, dollar quote or comment that holds it."""
        from pglast.parser import ParseError, scan, split

        text = self.text
        try:
            split(text[start:at], with_parser=False)
        except ParseError as exc:
            opened = _error_index(exc)
            if opened is None:
                return len(text)
            opened += start
            # Scan from where the construct opens, on more and more text, until it closes.
            size = max(2 * (at - opened), 256)
            while True:
                piece = text[opened : opened + size]
                try:
                    tokens = scan(piece)
                except ParseError as again:
                    where = _error_index(again)
                    if not where and opened + size < len(text):
                        size *= 2
                        continue
                    try:  # our construct closed, another one opens later; or none ever closes
                        tokens = scan(piece[:where]) if where else []
                    except ParseError:
                        tokens = []
                return opened + tokens[0].end + 1 if tokens else len(text)
        return None

    def _meta_command(self, start: int, stop: int) -> int | None:
        """Offset of the first psql meta-command line in text[start:stop], else None.

        A meta-command line is one whose first non-blank character is a backslash outside any
        quote, dollar quote or comment (`\\restrict`, `\\connect`...); `start` is a token boundary.
        """
        text = self.text
        at = text.find("\\", start, stop)
        while at != -1:
            line_start = text.rfind("\n", 0, at) + 1
            if line_start >= start and not text[line_start:at].strip(" \t"):
                inside = self._construct_end(start, at)
                if inside is None:
                    return line_start
                at = text.find("\\", max(inside, at + 1), stop)
            else:
                at = text.find("\\", at + 1, stop)
        return None

    def _skip_meta(self, start: int, line_start: int) -> int:
        """The end of the meta-command line at `line_start`; no SQL may come between `start` and it."""
        from pglast.parser import ParseError

        text = self.text
        end = text.find("\n", line_start)
        end = len(text) if end == -1 else end
        before = text[start:line_start]
        if before.strip():
            try:
                cut = bool(self._tree(start, before))
            except ParseError as exc:
                if _error_index(exc) is not None:
                    raise self._parse_error(start, exc) from None
                cut = True  # a statement the meta-command line interrupts
            if cut:
                command = text[line_start:end].split()[0]
                raise self._error(
                    line_start,
                    f"psql meta-command {command} inside a SQL statement; end the statement with ; before it",
                )
        return end

    def _copy_data(self, newline: int, copy_line: int) -> int:
        """The offset after the `\\.` line ending the rows of a `COPY ... FROM stdin` whose line
        ends at `newline`."""
        text = self.text
        if newline != -1:
            at = newline + 1
            while True:
                # Rows are plain text, not SQL: only a line holding exactly `\.` ends them.
                if text.startswith("\\.", at):
                    after = at + 2
                    if after == len(text) or text.startswith(("\n", "\r\n"), after):
                        return after
                found = text.find("\n\\.", at)
                if found == -1:
                    break
                at = found + 1
        raise UsageError(
            f"{self.name}:{copy_line}: COPY ... FROM stdin has no end-of-data line (\\.); end its rows "
            "with a line holding only \\. (as pg_dump writes it), or remove the COPY"
        )

    # ---- statements --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Parsed]:
        # A large text is parsed one window ahead: PostgreSQL's parser (C, which lets other
        # threads run) works on the next window while this thread builds the model from the
        # current one. A small one is not worth a thread.
        pool = ThreadPoolExecutor(1, "veza-db-parse") if len(self.text) >= _AHEAD_MIN else None
        try:
            yield from self._windows(pool)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _windows(self, pool: ThreadPoolExecutor | None) -> Iterator[Parsed]:
        size = len(self.text)
        pos = 0  # a statement boundary: everything before it is read
        window = _FIRST_WINDOW
        ahead: _Quick | None = None
        while pos < size:
            quick = ahead if ahead is not None and ahead.pos == pos else None
            if quick is None and self._joined is None:
                quick = self._quick(pos, window, pool)
            ahead = None
            if quick is not None:
                if pool is not None and quick.end < size:
                    ahead = self._quick(quick.end, min(window * 2, _MAX_WINDOW), pool)
                statements = quick.statements()
                if statements is not None:
                    yield from self._emit(pos, quick.sql, statements)
                    pos, window = quick.end, min(window * 2, _MAX_WINDOW)
                    continue
                ahead = None
            moved = yield from self._careful(pos, window)
            if moved is None:
                return
            pos, window = moved

    def _quick(self, pos: int, size: int, pool: ThreadPoolExecutor | None) -> _Quick | None:
        """The window of at least `size` characters at `pos` that ends at a line ending with `;`,
        parsed whole (in the other thread when there is one), or None when it holds a backslash
        (perhaps a meta-command line) or no such line comes soon: then the careful way reads it."""
        from pglast.parser import parse_sql_json

        text = self.text
        # The first line ending with `;` after `size` characters; looked for up to 4 x `size`.
        at, stop = pos + size, min(pos + 4 * size, len(text))
        while True:
            newline = text.find("\n", at, stop)
            if newline == -1:
                if stop < len(text):
                    return None
                end = len(text)
                break
            last = newline - 2 if text.startswith("\r", newline - 1) else newline - 1
            if text.startswith(";", last):
                end = newline + 1
                break
            at = newline + 1
        sql = text[pos:end]
        if sql.find("\\") != -1:
            return None
        return _Quick(pos, end, sql, pool.submit(parse_sql_json, sql) if pool is not None else None)

    def _careful(self, pos: int, window: int) -> Generator[Parsed, None, tuple[int, int] | None]:
        """Read one window the careful way: PostgreSQL's scanner says where statements end, so
        meta-command lines and the rows of a COPY are stepped over, a statement cut by the
        window is read again in a larger one, and an error is named at its statement's line.
        Returns where to go on (position, window size), or None at the end of the text."""
        text, size = self.text, len(self.text)
        current = self._window(pos, window)
        restart = (yield from self._read(current)) if current.ends else None
        cursor, meta = current.cursor, current.meta
        if restart is None and meta is not None:
            if self._joined is not None:
                yield from self._flush(self._joined, meta)
                self._joined = None
            restart = self._skip_meta(pos + cursor, meta)
        if restart is not None:
            return restart, _FIRST_WINDOW
        if current.end < size:
            # The last statement runs past the window: read it again in a larger one.
            return pos + cursor, window * 2 if cursor == 0 else min(window * 2, _MAX_WINDOW)
        # The end of the text: a last statement without `;`, comments, or an error.
        first = pos + cursor if self._joined is None else self._joined
        if text[first:].strip():
            yield from self._flush(first, size)
        return None

    def _window(self, pos: int, size: int) -> _Window:
        """The statements that end in the window of about `size` characters at `pos`."""
        text = self.text
        end = len(text) if pos + size >= len(text) else (text.find("\n", pos + size) + 1 or len(text))
        chunk = text[pos:end]
        pieces, limit = _split(chunk)
        ends, cursor, meta = self._ends(pos, chunk, pieces, limit)
        return _Window(pos, end, ends, cursor, meta)

    def _ends(
        self, pos: int, chunk: str, pieces: tuple[str, ...], limit: int
    ) -> tuple[list[tuple[int, int]], int, int | None]:
        """The (start, semicolon) in `chunk` of the statements that end inside it, where the last
        ends, and the offset of a meta-command line that comes after them, if one does."""
        ends: list[tuple[int, int]] = []
        cursor = 0
        for piece in pieces:
            start = chunk.find(piece, cursor)
            semicolon = start + len(piece)
            while semicolon < limit and chunk[semicolon].isspace():
                semicolon += 1
            if semicolon >= limit or chunk[semicolon] != ";":
                break  # not ended inside the window
            if chunk.find("\\", cursor, semicolon) != -1:
                meta = self._meta_command(pos + cursor, pos + semicolon)
                if meta is not None:
                    return ends, cursor, meta
            ends.append((start, semicolon))
            cursor = semicolon + 1
        if chunk.find("\\", cursor, limit) != -1:
            return ends, cursor, self._meta_command(pos + cursor, pos + limit)
        return ends, cursor, None

    def _read(self, current: _Window) -> Generator[Parsed, None, int | None]:
        """Parse the statements of a window one at a time: an error is named at its line, a
        statement the scanner cut (`BEGIN ATOMIC ... END` holds `;`s) is joined again, and the
        rows of a COPY are stepped over. Returns where the SQL resumes after COPY rows, else None."""
        from pglast.parser import ParseError

        text, pos = self.text, current.pos
        previous = 0
        for start, semicolon in current.ends:
            if self._joined is None and text[pos + previous : pos + start].strip(" \t\n\r\f\v;"):
                # Text the scanner set aside between statements (no keyword): comments or an error.
                yield from self._flush(pos + previous, pos + start)
            first = pos + start if self._joined is None else self._joined
            sql = text[first : pos + semicolon + 1]
            previous = semicolon + 1
            try:
                statements = self._tree(first, sql)
            except ParseError as exc:
                if _error_index(exc) is None and len(sql) <= _MAX_JOINED:
                    self._joined = first
                    continue
                raise self._parse_error(first, exc) from None
            self._joined = None
            yield from self._emit(first, sql, statements)
            if statements and _copy_from_stdin(statements[-1]):
                return (yield from self._after_copy(pos + semicolon, first))
        return None

    def _flush(self, start: int, stop: int) -> Iterator[Parsed]:
        """Parse text[start:stop] as it is (statements, comments, or an error naming its line)."""
        sql = self.text[start:stop]
        yield from self._emit(start, sql, self._parse(start, sql))

    def _after_copy(self, semicolon: int, first: int) -> Generator[Parsed, None, int]:
        """What follows a `COPY ... FROM stdin;` on its line (psql runs it once the rows are read),
        then the rows stepped over; returns where the SQL resumes."""
        text = self.text
        newline = text.find("\n", semicolon)
        rest = text[semicolon + 1 : len(text) if newline == -1 else newline]
        if rest.strip():
            statements = self._parse(semicolon + 1, rest)
            if any("CopyStmt" in s["stmt"] for s in statements):
                raise self._error(
                    semicolon + 1, "one COPY ... FROM stdin per line, its rows on the lines after it"
                )
            yield from self._emit(semicolon + 1, rest, statements)
        return self._copy_data(newline, self.line(first))


def _split(chunk: str) -> tuple[tuple[str, ...], int]:
    """The statements PostgreSQL's scanner finds in `chunk`, and how far it could read."""
    from pglast.parser import ParseError, split

    try:
        return split(chunk, with_parser=False), len(chunk)
    except ParseError as exc:
        # A quote, dollar quote or comment still open at the end of the window, or the rows of a
        # COPY: the statements before it are whole.
        where = _error_index(exc)
        limit = len(chunk) if where is None else where
        try:
            return split(chunk[:limit], with_parser=False), limit
        except ParseError:
            return (), limit


def _copy_from_stdin(statement: dict[str, Any]) -> bool:
    copy = statement["stmt"].get("CopyStmt")
    return copy is not None and bool(copy.get("is_from")) and not copy.get("filename")


def _error_index(exc: Exception) -> int | None:
    """Where in its text pglast's ParseError happened (None: at the end of the text)."""
    where = exc.args[1] if len(exc.args) > 1 else None
    return where if isinstance(where, int) else None


def statements(text: str, name: str) -> Iterator[Parsed]:
    """Parsed statements of a SQL text, in order; a UsageError names the line of a problem."""
    reader = _Reader(text, name)
    yield from reader
    if reader.statements == 0:
        raise UsageError(f"{name} holds no SQL statement; pass a schema dump or a migration")
