"""DO blocks: the SQL statements a PL/pgSQL block runs in sequence are followed like any other.

Migration tools wrap DDL in blocks to make it idempotent (`DO $$ BEGIN ALTER TABLE ... ADD
CONSTRAINT ...; EXCEPTION WHEN duplicate_object THEN null; END $$`): replayed from an empty
database the statement runs, so the model applies it. What depends on the database's state (an
IF or a loop around DDL, an EXCEPTION handler doing DDL) or is built at run time (EXECUTE) is
reported as not followed. Blocks are read with PostgreSQL's PL/pgSQL parser (pglast).
"""

from __future__ import annotations

from typing import Any

from veza_db.catalog import expr
from veza_db.catalog.replay import statements
from veza_db.catalog.replay.state import Json, State

# PL/pgSQL statements that change no schema (assignments, RAISE, PERFORM of a query, RETURN...).
_INERT = frozenset(
    {
        "PLpgSQL_stmt_assign", "PLpgSQL_stmt_raise", "PLpgSQL_stmt_perform", "PLpgSQL_stmt_return",
        "PLpgSQL_stmt_return_next", "PLpgSQL_stmt_return_query", "PLpgSQL_stmt_getdiag",
        "PLpgSQL_stmt_assert", "PLpgSQL_stmt_open", "PLpgSQL_stmt_fetch", "PLpgSQL_stmt_close",
        "PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback", "PLpgSQL_stmt_exit", "PLpgSQL_stmt_call",
    }
)  # fmt: skip
_CONSTRUCTS = {
    "PLpgSQL_stmt_if": ("IF", "its statements run only when a condition holds in the database"),
    "PLpgSQL_stmt_case": ("CASE", "its statements run only when a condition holds in the database"),
    "PLpgSQL_stmt_loop": ("LOOP", "its statements run as many times as the database's state makes them"),
    "PLpgSQL_stmt_while": ("WHILE", "its statements run as many times as the database's state makes them"),
    "PLpgSQL_stmt_fori": ("FOR", "its statements run once per iteration of a loop"),
    "PLpgSQL_stmt_fors": ("FOR", "its statements run once per row of a query"),
    "PLpgSQL_stmt_forc": ("FOR", "its statements run once per row of a query"),
    "PLpgSQL_stmt_foreach_a": ("FOREACH", "its statements run once per array element"),
    "PLpgSQL_stmt_dynfors": ("FOR ... EXECUTE", "its SQL is built at run time"),
    "PLpgSQL_stmt_dynexecute": ("EXECUTE", "its SQL is built at run time"),
}


def _parse_block(body: str) -> Json:
    """The PL/pgSQL tree of a DO block's body (pglast parses it as a function's body)."""
    from pglast.parser import parse_plpgsql_json

    tag, n = "$veza$", 0
    while tag in body:
        n += 1
        tag = f"$veza{n}$"
    source = f"CREATE FUNCTION pg_temp.veza_do() RETURNS void LANGUAGE plpgsql AS {tag}{body}{tag}"
    function: Json = expr.loads(parse_plpgsql_json(source))[0]["PLpgSQL_function"]
    return function


class DoBlocks(State):
    """DO: the statements of a PL/pgSQL block, followed or reported."""

    def _on_DoStmt(self, node: Json) -> None:  # noqa: N802 - named after the node
        from pglast.parser import ParseError

        body, language, at = None, "plpgsql", self._stmt_location
        for argument in node.get("args", []):
            option = argument["DefElem"]
            if option.get("defname") == "as":
                body = str(option["arg"]["String"]["sval"])
                at = int(option.get("arg_location", option.get("location", at)))
            elif option.get("defname") == "language":
                language = str(option["arg"]["String"]["sval"])
        if body is None:
            return
        if language.lower() != "plpgsql":
            self.not_followed("DO", f"a block in {language} is not read")
            return
        try:
            function = _parse_block(body)
        except (ParseError, expr.TooDeep) as exc:
            self.not_followed(
                "DO", f"PostgreSQL's PL/pgSQL parser cannot read it: {exc.args[0] if exc.args else exc}"
            )
            return
        first_line = self._line(at)  # PL/pgSQL counts the body's lines from 1: the line of `$$`
        self._run(function.get("action", {}).get("PLpgSQL_stmt_block", {}).get("body", []), first_line)

    def _run(self, body: list[Json], first_line: int) -> None:
        """Follow a block's statements in order; nested blocks are walked with a stack of their
        own (a hostile block nests thousands deep)."""
        pending = [iter(body)]
        while pending:
            item = next(pending[-1], None)
            if item is None:
                pending.pop()
                continue
            ((kind, fields),) = item.items()
            line = first_line + int(fields.get("lineno", 1)) - 1
            if kind == "PLpgSQL_stmt_execsql":
                self._execute(str(fields["sqlstmt"]["PLpgSQL_expr"]["query"]), line)
            elif kind == "PLpgSQL_stmt_block":
                # Handlers run only when the block fails, which a replay from scratch assumes not.
                block = fields.get("exceptions", {}).get("PLpgSQL_exception_block", {})
                for handler in block.get("exc_list", []):
                    if self._changes_schema(handler["PLpgSQL_exception"].get("action", [])):
                        self._not_followed_at(
                            line, "DO ... EXCEPTION", "its statements run only when the block fails"
                        )
                pending.append(iter(fields.get("body", [])))
            elif kind not in _INERT and self._changes_schema(item):
                what, why = _CONSTRUCTS.get(
                    kind,
                    (kind.removeprefix("PLpgSQL_stmt_").upper(), "the model does not read this construct"),
                )
                self._not_followed_at(line, f"DO ... {what}", why)

    def _execute(self, query: str, line: int) -> None:
        """Apply the statements of one SQL statement of the block, as if they stood in the file."""
        from pglast.parser import ParseError, parse_sql_json

        try:
            parsed = expr.loads(parse_sql_json(query))["stmts"]
        except (ParseError, expr.TooDeep):
            self._not_followed_at(line, "DO", "PostgreSQL cannot parse a statement of the block")
            return
        data: str | bytes = query if query.isascii() else query.encode()
        newline: Any = "\n" if isinstance(data, str) else b"\n"
        saved = self._line, self._stmt_location
        try:
            self._line = lambda offset: line + data.count(newline, 0, offset)
            for statement in parsed:
                ((kind, node),) = statement["stmt"].items()
                self._stmt_location = int(statement.get("stmt_location", 0))
                self.dispatch(kind, node)
        finally:
            self._line, self._stmt_location = saved

    def _changes_schema(self, tree: Any) -> bool:
        """Whether PL/pgSQL statements may change the schema: SQL that is not a query or data,
        or SQL built at run time."""
        from pglast.parser import ParseError, parse_sql_json

        stack = [tree]
        while stack:
            value = stack.pop()
            if isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, dict):
                for kind, inner in value.items():
                    if kind in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"):
                        return True
                    if kind == "PLpgSQL_stmt_execsql":
                        try:
                            parsed = expr.loads(parse_sql_json(inner["sqlstmt"]["PLpgSQL_expr"]["query"]))
                        except (ParseError, expr.TooDeep):
                            return True
                        for statement in parsed.get("stmts", []):
                            ((statement_kind, node),) = statement["stmt"].items()
                            if statements.changes_schema(statement_kind, node):
                                return True
                    elif isinstance(inner, dict | list):
                        stack.append(inner)
        return False

    def _not_followed_at(self, line: int, statement: str, reason: str) -> None:
        saved = self._line
        self._line = lambda offset: line
        try:
            self.not_followed(statement, reason)
        finally:
            self._line = saved
