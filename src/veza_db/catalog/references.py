"""What an expression refers to (columns, functions, a sequence), and the same expression with one
of them renamed.

The replay of DDL needs it where PostgreSQL follows dependencies: dropping a column drops the
checks and indexes whose expressions name it, dropping a function with CASCADE drops the defaults
that call it, renaming a column or a sequence changes how the expressions that name them print.
Expressions are SQL text (as the model keeps them), read with PostgreSQL's parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from veza_db.catalog import expr

Json = dict[str, Any]


def nodes(tree: Any) -> Iterator[tuple[str, Json]]:
    """(type, fields) of every node of a parsed tree (node types are the capitalised keys)."""
    stack = [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, dict) and key[:1].isupper():
                    yield key, inner
                stack.append(inner)
        elif isinstance(value, list):
            stack.extend(value)


def _tree(text: str) -> Json | None:
    """The parsed expression, or None when the parser rejects it (then it names nothing)."""
    from pglast.parser import ParseError

    try:
        return expr.parse(text)
    except (ParseError, expr.TooDeep):
        return None


def _column_of(fields: Json) -> str | None:
    names = fields.get("fields", [])
    last = names[-1] if names else {}
    return str(last["String"]["sval"]) if "String" in last else None


def columns(text: str) -> set[str]:
    """Names of the columns an expression refers to (`lower(email)` -> {"email"})."""
    tree = _tree(text)
    if tree is None:
        return set()
    found = {_column_of(fields) for kind, fields in nodes(tree) if kind == "ColumnRef"}
    found.discard(None)
    return found  # type: ignore[return-value] # None removed above


def calls(text: str) -> set[str]:
    """Names (without schema) of the functions an expression calls."""
    tree = _tree(text)
    if tree is None:
        return set()
    return {
        str(fields["funcname"][-1]["String"]["sval"])
        for kind, fields in nodes(tree)
        if kind == "FuncCall" and "String" in fields["funcname"][-1]
    }


def _fresh_tree(text: str) -> Json | None:
    """A tree of the expression of its own, to modify (`expr.parse` shares its trees)."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        statement = expr.loads(parse_sql_json(f"SELECT {text}"))["stmts"][0]["stmt"]["SelectStmt"]
    except (ParseError, expr.TooDeep):
        return None
    tree: Json = statement["targetList"][0]["ResTarget"]["val"]
    return tree


@lru_cache(maxsize=4096)  # children repeat their parent's checks: one rewrite for all
def with_column_renamed(text: str, old: str, new: str) -> str:
    """The expression with its references to column `old` naming `new` instead."""
    if old not in columns(text) or (tree := _fresh_tree(text)) is None:
        return text
    for kind, fields in nodes(tree):
        if kind == "ColumnRef" and _column_of(fields) == old:
            fields["fields"][-1]["String"]["sval"] = new
    return expr.deparse(tree)


def identifier_chain(text: str) -> list[str] | None:
    """The names of a qualified name written as SQL (`public."Seq 1"` -> ["public", "Seq 1"]), as
    PostgreSQL reads a `regclass` literal: unquoted names fold to lower case. None if malformed."""
    names: list[str] = []
    at, size = 0, len(text)
    while True:
        if at < size and text[at] == '"':
            name, at = [], at + 1
            while at < size:
                if text[at] == '"':
                    if text.startswith('""', at):
                        name.append('"')
                        at += 2
                        continue
                    break
                name.append(text[at])
                at += 1
            if at >= size:
                return None  # an unterminated quote
            names.append("".join(name))
            at += 1
        else:
            end = text.find(".", at)
            end = size if end == -1 else end
            part = text[at:end].strip()
            if not part or '"' in part:
                return None
            names.append(part.lower())
            at = end
        if at >= size:
            return names
        if text[at] != ".":
            return None
        at += 1


def sequence_of(default: str | None, default_schema: str) -> tuple[str, str] | None:
    """(schema, name) of the sequence a `nextval('...')` default draws from, else None."""
    if not default or "nextval" not in default:
        return None
    literal = _nextval_literal(_tree(default))
    names = identifier_chain(literal["sval"]) if literal is not None else None
    if not names or len(names) > 2:
        return None
    return (names[0], names[1]) if len(names) == 2 else (default_schema, names[0])


def _nextval_literal(tree: Json | None) -> Json | None:
    """The string constant fields of a `nextval('...')` call's argument, casts aside."""
    if tree is None:
        return None
    for kind, fields in nodes(tree):
        if kind != "FuncCall" or fields["funcname"][-1].get("String", {}).get("sval") != "nextval":
            continue
        argument = fields.get("args", [None])[0]
        while isinstance(argument, dict) and "TypeCast" in argument:
            argument = argument["TypeCast"]["arg"]
        if isinstance(argument, dict) and "sval" in argument.get("A_Const", {}):
            constant: Json = argument["A_Const"]["sval"]
            return constant
    return None


def with_sequence(default: str, sequence: str) -> str:
    """The `nextval` default drawing from `sequence` (a qualified name written as SQL) instead."""
    tree = _fresh_tree(default)
    literal = _nextval_literal(tree)
    if tree is None or literal is None:
        return default
    literal["sval"] = sequence
    return expr.deparse(tree)


_SQL_VALUE_NAMES = {
    "SVFOP_CURRENT_DATE": "current_date",
    "SVFOP_CURRENT_TIME": "current_time",
    "SVFOP_CURRENT_TIME_N": "current_time",
    "SVFOP_CURRENT_TIMESTAMP": "current_timestamp",
    "SVFOP_CURRENT_TIMESTAMP_N": "current_timestamp",
    "SVFOP_LOCALTIME": "localtime",
    "SVFOP_LOCALTIME_N": "localtime",
    "SVFOP_LOCALTIMESTAMP": "localtimestamp",
    "SVFOP_LOCALTIMESTAMP_N": "localtimestamp",
    "SVFOP_CURRENT_ROLE": "current_role",
    "SVFOP_CURRENT_USER": "current_user",
    "SVFOP_USER": "user",
    "SVFOP_SESSION_USER": "session_user",
    "SVFOP_CURRENT_CATALOG": "current_catalog",
    "SVFOP_CURRENT_SCHEMA": "current_schema",
}
_FIXED_NAMES = {
    "CoalesceExpr": "coalesce",
    "A_ArrayExpr": "array",
    "RowExpr": "row",
    "GroupingFunc": "grouping",
}


def figure_name(node: Json) -> tuple[str | None, int]:
    """The name PostgreSQL gives an expression's result (its FigureColname), and how strongly:
    2 for a column or function name, 1 for a fallback such as a cast's type name, 0 for none.
    Index names are built from it: `CREATE INDEX ON t (lower(email))` is `t_lower_idx`.

    Casts, COLLATE and CASE are unwrapped in a loop (a hostile text nests them thousands deep):
    the name is the innermost expression's when it has a strong one, else the fallback of the
    outermost cast (its type) or CASE (`case`)."""
    fallback = None
    kind, fields = expr.node_type(node)
    while kind in ("TypeCast", "CollateClause", "CaseExpr"):
        if kind == "TypeCast" and fallback is None:
            fallback = str(fields["typeName"]["names"][-1]["String"]["sval"])
        elif kind == "CaseExpr" and fallback is None:
            fallback = "case"
        inner = fields.get("defresult") if kind == "CaseExpr" else fields.get("arg")
        if inner is None:
            return fallback, 1
        kind, fields = expr.node_type(inner)
    name = _strong_name(kind, fields)
    if name is not None:
        return name, 2
    return (fallback, 1) if fallback is not None else (None, 0)


def _strong_name(kind: str, fields: Json) -> str | None:
    """The name of an expression that names its result itself: a column, a function call..."""
    if kind == "ColumnRef":
        return _column_of(fields)
    if kind == "FuncCall":
        return str(fields["funcname"][-1]["String"]["sval"])
    if kind == "A_Expr" and fields.get("kind") == "AEXPR_NULLIF":
        return "nullif"
    if kind == "MinMaxExpr":
        return "greatest" if fields.get("op") == "IS_GREATEST" else "least"
    if kind == "SQLValueFunction":
        return _SQL_VALUE_NAMES.get(str(fields.get("op")))
    return _FIXED_NAMES.get(kind)


def index_column_names(keys: list[str | Json]) -> list[str]:
    """The names PostgreSQL makes an index's name from (ChooseIndexColumnNames): a column's
    name, an expression's figured name or `expr`; a repeated name gets a number (`a`, `a1`).
    A key is a column name, or an expression's parsed tree."""
    chosen: list[str] = []
    for key in keys:
        original = key if isinstance(key, str) else (figure_name(key)[0] or "expr")
        name, n = original, 0
        while name in chosen:
            n += 1
            name = f"{original}{n}"
        chosen.append(name)
    return chosen
