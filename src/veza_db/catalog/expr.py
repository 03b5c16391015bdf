"""SQL expressions through PostgreSQL's own parser: deparse, and the few facts rules need.

pglast's `parse_sql_json` is an order of magnitude faster than building Python node objects
for a whole dump, so the SQL-file loader walks the JSON tree; `deparse` turns the small parts
it keeps (defaults, checks, predicates) back into SQL text by converting just those subtrees
into pglast nodes. Rules never compare expression text: they parse it and ask the tree.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

Json = dict[str, Any]

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
    from pglast import ast
    from pglast.stream import RawStream

    simple = _deparse_simple(node)
    if simple is not None:
        return simple
    kind, fields = node_type(node)
    return str(RawStream()(getattr(ast, kind)(_to_pglast(kind, fields))))


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


@lru_cache(maxsize=65536)
def parse(text: str) -> Json:
    """The JSON tree of one expression (cached: do not modify it)."""
    from pglast.parser import parse_sql_json

    statement = orjson.loads(parse_sql_json(f"SELECT {text}"))["stmts"][0]["stmt"]["SelectStmt"]
    value: Json = statement["targetList"][0]["ResTarget"]["val"]
    return value


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


def current_time_spelling(default: str | None) -> str | None:
    """How a default spells "the current time" (`now()`, `CURRENT_TIMESTAMP`...), else None."""
    if not default or not _MAYBE_TIME.intersection(
        default.lower().replace("(", " ").replace("'", " ").split()
    ):
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
