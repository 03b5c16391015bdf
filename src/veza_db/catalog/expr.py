"""SQL expressions through PostgreSQL's own parser: deparse, and the few facts rules need.

pglast's `parse_sql_json` is an order of magnitude faster than building Python node objects
for a whole dump, so the SQL-file loader walks the JSON tree; `deparse` turns the small parts
it keeps (defaults, checks, predicates) back into SQL text by converting just those subtrees
into pglast nodes. Rules never compare expression text: they parse it and ask the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import orjson

Json = dict[str, Any]
T = TypeVar("T")
# Deep trees (PostgreSQL's parser takes a CASE nested hundreds deep, a `||` chain of thousands
# of terms) are read in a thread of their own, with a stack and a recursion limit that fit them.
_DEEP_STACK = 256 * 1024 * 1024  # address space; only the pages a deep tree touches are used
_DEEP_RECURSION = 200_000

_CONST_KINDS = {
    "ival": "Integer",
    "sval": "String",
    "fval": "Float",
    "boolval": "Boolean",
    "bsval": "BitString",
}
_CONST_ZERO: dict[str, object] = {"ival": 0, "boolval": False}
# The "current time" spellings a default can use; V1 allows only CURRENT_TIMESTAMP.
_TIME_FUNCTIONS = {"now", "transaction_timestamp", "statement_timestamp", "clock_timestamp", "timeofday"}
_TIME_SVF = {
    "SVFOP_CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
    "SVFOP_CURRENT_TIMESTAMP_N": "CURRENT_TIMESTAMP(n)",
    "SVFOP_LOCALTIMESTAMP": "LOCALTIMESTAMP",
    "SVFOP_LOCALTIMESTAMP_N": "LOCALTIMESTAMP(n)",
    "SVFOP_CURRENT_DATE": "CURRENT_DATE",
}


_MAYBE_TIME = {
    "now", "current_timestamp", "localtimestamp", "current_date", "transaction_timestamp",
    "statement_timestamp", "clock_timestamp", "timeofday",
}  # fmt: skip


class TooDeep(Exception):
    """A tree nested deeper than even the deep-recursion thread can read."""


def deep(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` where deep recursion is safe: in a thread with a large stack and a high
    recursion limit. RecursionError there becomes TooDeep."""
    import sys
    import threading

    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:
            outcome.append((False, exc))

    previous_stack = threading.stack_size(_DEEP_STACK)
    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous_limit, _DEEP_RECURSION))
    try:
        worker = threading.Thread(target=target, name="veza-db-deep-tree")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous_stack)
        sys.setrecursionlimit(previous_limit)
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    if isinstance(value, RecursionError | MemoryError):
        raise TooDeep(str(value)) from None
    raise value


def _loads_deep(text: str) -> Any:
    import json
    import json.scanner

    # The pure-Python scanner recurses through Python frames only, which the raised recursion
    # limit governs (the C decoders stop at a fixed depth).
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def loads(text: str) -> Any:
    """A parser's JSON output as Python objects, however deep (orjson stops at 1024 levels)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return deep(_loads_deep, text)


@contextmanager
def many_objects() -> Iterator[None]:
    """Pause the cyclic garbage collector while a model, findings or a report are built, when the
    program allowed it (`veza_db.process.pause_collector`); a library caller's collector is left
    alone.

    They are hundreds of thousands of small objects without reference cycles (reference counting
    frees them), and each collection would walk all of them again: on a large dump that was
    three quarters of the parse time.
    """
    import gc

    from veza_db import process

    if not process.pause_collector:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def node_type(node: Json) -> tuple[str, Json]:
    """The (type, fields) of a JSON node written as `{"Type": {...}}`."""
    ((kind, fields),) = node.items()
    return kind, fields


def _to_pglast(kind: str, fields: Json) -> Json:
    """libpg_query's JSON shape -> pglast's dict shape (`{"@": "Type", ...}`)."""
    from pglast import ast

    out: Json = {"@": kind}
    if kind == "A_Const":
        for key, const in _CONST_KINDS.items():
            if key in fields:
                out["val"] = {"@": const, key: fields[key].get(key, _CONST_ZERO.get(key, ""))}
        out["isnull"] = fields.get("isnull", False)
        return out
    slots = getattr(ast, kind).__slots__
    slots = slots if isinstance(slots, dict) else {}
    for key, value in fields.items():
        attr = key if key in slots or key + "_" not in slots else key + "_"  # `def` -> `def_`
        info = slots.get(attr)
        target = info.c_type[:-1] if info and info.c_type.endswith("*") else ""
        if (
            isinstance(value, dict)
            and not _is_wrapped(value)
            and isinstance(getattr(getattr(ast, target, None), "__slots__", None), dict)
        ):
            out[attr] = _to_pglast(target, value)  # a field of a fixed node type comes unwrapped
        else:
            out[attr] = _convert(value)
    return out


def _is_wrapped(value: Json) -> bool:
    from pglast import ast

    if len(value) != 1:
        return False
    ((key, inner),) = value.items()
    return isinstance(inner, dict) and isinstance(getattr(ast, key, None), type)


def _convert(value: Any) -> Any:
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "List" and isinstance(inner, dict):
                return [_convert(v) for v in inner.get("items", [])]
            if _is_wrapped(value):
                return _to_pglast(key, inner)
        return {k: _convert(v) for k, v in value.items()}
    return value


def deparse(node: Json) -> str:
    """SQL text of one JSON node (an expression or a whole statement)."""
    simple = _deparse_simple(node)
    if simple is not None:
        return simple
    # Imported only now: the printer's modules take longer to import than most dumps need it.
    from pglast import ast
    from pglast.stream import RawStream

    kind, fields = node_type(node)
    try:
        return str(RawStream()(getattr(ast, kind)(_to_pglast(kind, fields))))
    except RecursionError:
        return deep(lambda: str(RawStream()(getattr(ast, kind)(_to_pglast(kind, fields)))))


def _literal(fields: Json) -> str | None:
    if "sval" in fields:
        return "'" + str(fields["sval"].get("sval", "")).replace("'", "''") + "'"
    if "ival" in fields:
        return str(fields["ival"].get("ival", 0))
    if "boolval" in fields:
        return "true" if fields["boolval"].get("boolval") else "false"
    return None


def _deparse_simple(node: Json) -> str | None:
    """The most common defaults (`now()`, `CURRENT_TIMESTAMP`, a literal, `'x'::text`,
    `nextval('seq'::regclass)`) printed directly: pglast's printer costs ~0.3 ms a call, which
    adds up to seconds on a 10,000-table dump. Anything else goes through the printer."""
    kind, fields = node_type(node)
    if kind == "A_Const" and not fields.get("isnull"):
        return _literal(fields)
    if kind == "SQLValueFunction" and fields.get("op") == "SVFOP_CURRENT_TIMESTAMP":
        return "CURRENT_TIMESTAMP"
    if kind == "TypeCast" and "A_Const" in fields["arg"]:
        literal = _literal(fields["arg"]["A_Const"])
        names = [str(n["String"]["sval"]) for n in fields["typeName"]["names"]]
        if (
            literal
            and len(names) <= 2
            and not fields["typeName"].get("typmods")
            and not fields["typeName"].get("arrayBounds")
        ):
            from veza_db.catalog.typenames import format_type

            return f"{literal}::{format_type(fields['typeName'])}"
    if (
        kind == "FuncCall"
        and len(fields["funcname"]) == 1
        and set(fields) <= {"funcname", "args", "funcformat", "location"}
    ):
        args = [_deparse_simple(arg) for arg in fields.get("args", [])]
        if all(a is not None for a in args):
            return f"{fields['funcname'][0]['String']['sval']}({', '.join(a for a in args if a)})"
    return None


_PARSED: dict[str, Json] = {}  # expression text -> its tree; shared, never modified
_PARSED_LIMIT = 200_000
_BATCH = 2000


def _remember(text: str, tree: Json) -> None:
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[text] = tree


def parse(text: str) -> Json:
    """The JSON tree of one expression (cached: do not modify it; its locations mean nothing)."""
    tree = _PARSED.get(text)
    if tree is None:
        from pglast.parser import parse_sql_json

        statement = loads(parse_sql_json(f"SELECT {text}"))["stmts"][0]["stmt"]["SelectStmt"]
        tree = statement["targetList"][0]["ResTarget"]["val"]
        _remember(text, tree)
    return tree


def parse_many(texts: Iterable[str | None]) -> None:
    """Parse the expressions not parsed yet, many per parser call, so that `parse` finds them.

    A parser call costs more than parsing one small expression: ten thousand `nextval(...)`
    defaults parse about five times faster in batches. A batch the parser rejects is left to
    `parse`, one expression at a time, which then reports the one that fails.
    """
    from pglast.parser import ParseError, parse_sql_json

    todo = [t for t in dict.fromkeys(texts) if t and t not in _PARSED]
    for first in range(0, len(todo), _BATCH):
        batch = todo[first : first + _BATCH]
        # One statement per line: a line comment at the end of an expression ends at its line.
        try:
            statements = loads(parse_sql_json("".join(f"SELECT {t}\n;\n" for t in batch)))["stmts"]
        except (ParseError, TooDeep):
            continue
        if len(statements) != len(batch):
            continue
        for text, statement in zip(batch, statements, strict=True):
            targets = statement["stmt"].get("SelectStmt", {}).get("targetList", [])
            if len(targets) == 1:
                _remember(text, targets[0]["ResTarget"]["val"])


def deparse_expression(node: Json) -> str:
    """`deparse` of an expression read from a statement, its tree kept as the text's parsed tree:
    the rules that read a dump's defaults and predicates then never parse them again."""
    text = deparse(node)
    if text not in _PARSED:
        _remember(text, node)
    return text


def worth_parsing(default: str | None) -> bool:
    """Whether a column default may draw from a sequence or spell the current time (the rules
    that read defaults parse only those)."""
    if not default:
        return False
    return "nextval" in default or bool(_MAYBE_TIME.intersection(_words(default)))


def _words(text: str) -> list[str]:
    return text.lower().replace("(", " ").replace("'", " ").split()


def _strip_casts(node: Json) -> Json:
    kind, fields = node_type(node)
    while kind == "TypeCast":
        node = fields["arg"]
        kind, fields = node_type(node)
    return node


def column_name(text: str) -> str | None:
    """The column an expression names, when it is just a column reference."""
    kind, fields = node_type(parse(text))
    if kind == "ColumnRef" and len(fields["fields"]) == 1 and "String" in fields["fields"][0]:
        return str(fields["fields"][0]["String"]["sval"])
    return None


def index_key(text: str) -> str:
    """An index key as the model keeps it: a column's name, or an expression in parentheses."""
    name = column_name(text)
    return name if name is not None else f"({text})"


@lru_cache(maxsize=65536)
def nextval_sequence(default: str | None) -> str | None:
    """The sequence a `nextval(...)` default draws from (schema-qualified), else None."""
    if not default or "nextval" not in default:  # cheap pre-check; the parser decides
        return None
    kind, fields = node_type(_strip_casts(parse(default)))
    if kind != "FuncCall" or fields["funcname"][-1]["String"]["sval"] != "nextval" or not fields.get("args"):
        return None
    arg_kind, arg = node_type(_strip_casts(fields["args"][0]))
    if arg_kind != "A_Const" or "sval" not in arg:
        return None
    name = str(arg["sval"].get("sval", ""))
    return name if "." in name else f"public.{name}"


@lru_cache(maxsize=65536)
def current_time_spelling(default: str | None) -> str | None:
    """How a default spells "the current time" (`now()`, `CURRENT_TIMESTAMP`...), else None."""
    if not default or not _MAYBE_TIME.intersection(_words(default)):
        return None  # cheap pre-check on words; the parser decides
    kind, fields = node_type(_strip_casts(parse(default)))
    if kind == "SQLValueFunction":
        return _TIME_SVF.get(fields.get("op", ""))
    if kind == "FuncCall":
        name = str(fields["funcname"][-1]["String"]["sval"])
        return f"{name}()" if name in _TIME_FUNCTIONS else None
    if kind == "A_Const" and fields.get("sval", {}).get("sval", "").strip().lower() in (
        "now",
        "current_timestamp",
    ):
        return f"'{fields['sval']['sval']}'"
    return None


def requires_not_deleted(predicate: str | None) -> bool:
    """True when an index predicate includes `deleted_at IS NULL` (alone or ANDed)."""
    if not predicate:
        return False
    return _has_deleted_null(parse(predicate))


def _has_deleted_null(node: Json) -> bool:
    kind, fields = node_type(node)
    if kind == "BoolExpr" and fields.get("boolop") == "AND_EXPR":
        return any(_has_deleted_null(arg) for arg in fields["args"])
    if kind == "NullTest" and fields.get("nulltesttype", "IS_NULL") == "IS_NULL":
        arg_kind, arg = node_type(fields["arg"])
        return arg_kind == "ColumnRef" and arg["fields"][-1].get("String", {}).get("sval") == "deleted_at"
    return False
