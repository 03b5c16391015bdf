"""Type names as PostgreSQL's `format_type()` prints them, from a parsed `TypeName`.

A dump says `bigint`, a migration may say `int8` or `BIGSERIAL`, the parser says
`pg_catalog.int8`: all become `bigint`, so every loader fills the model with one spelling.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_NAMES = {
    "int8": "bigint",
    "int4": "integer",
    "int": "integer",
    "int2": "smallint",
    "float8": "double precision",
    "float4": "real",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "varbit": "bit varying",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
    "decimal": "numeric",
}
# serial pseudo-types: the integer type they stand for.
SERIALS = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}
_WITH_ZONE = {
    "timestamptz": "with time zone",
    "timestamp": "without time zone",
    "timetz": "with time zone",
    "time": "without time zone",
}
_INTERVAL_FIELDS = {
    4: "year",
    2: "month",
    6: "year to month",
    8: "day",
    1024: "hour",
    1032: "day to hour",
    2048: "minute",
    3072: "hour to minute",
    3080: "day to minute",
    4096: "second",
    7168: "minute to second",
    6144: "hour to second",
    6152: "day to second",
}


def quote_ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL's quote_ident() does."""
    from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    safe = (
        name != ""
        and (name[0].islower() or name[0] == "_")
        and all(c.islower() or c.isdigit() or c in "_$" for c in name)
        and name.isascii()
        and name not in RESERVED_KEYWORDS
        and name not in TYPE_FUNC_NAME_KEYWORDS
        and name not in COL_NAME_KEYWORDS
    )
    return name if safe else '"' + name.replace('"', '""') + '"'


def _modifiers(type_name: dict[str, Any]) -> tuple[int, ...]:
    mods = []
    for mod in type_name.get("typmods", ()):
        const = mod.get("A_Const", {})
        if "ival" in const:
            mods.append(int(const["ival"].get("ival", 0)))
    return tuple(mods)


def name_parts(type_name: dict[str, Any]) -> list[str]:
    return [str(n["String"]["sval"]) for n in type_name["names"]]


def format_type(type_name: dict[str, Any]) -> str:
    """`format_type()`'s spelling of a parsed TypeName (serial types become their integer type)."""
    names = type_name["names"]
    if len(names) == 2:  # the common `pg_catalog.int8` and `public.mytype`
        schema: str | None = names[0]["String"]["sval"]
        base = names[1]["String"]["sval"]
    elif len(names) == 1:
        schema, base = None, names[0]["String"]["sval"]
    else:
        parts = name_parts(type_name)
        schema, base = parts[-2], parts[-1]
    mods = _modifiers(type_name) if "typmods" in type_name else ()
    return _format(schema, base, mods, bool(type_name.get("arrayBounds")))


@lru_cache(maxsize=4096)
def _format(schema: str | None, base: str, mods: tuple[int, ...], array: bool) -> str:
    """The spelling of one type; a dump names the same few types a hundred thousand times."""
    if schema not in (None, "pg_catalog"):
        text = f"{quote_ident(schema or '')}.{quote_ident(base)}"
    elif base in SERIALS:
        text = SERIALS[base]
    elif base in _WITH_ZONE:
        precision = f"({mods[0]})" if mods else ""
        text = f"{base.removesuffix('tz')}{precision} {_WITH_ZONE[base]}"
    elif base == "interval":
        fields = _INTERVAL_FIELDS.get(mods[0]) if mods else None
        text = "interval" + (f" {fields}" if fields else "")
    else:
        text = _NAMES.get(base, base if schema == "pg_catalog" else quote_ident(base))
        if base == "numeric" and mods:
            text += f"({mods[0]},{mods[1] if len(mods) > 1 else 0})"
        elif mods:
            text += "(" + ",".join(str(m) for m in mods) + ")"
    if array:
        text += "[]"
    return text


def is_serial(type_name: dict[str, Any]) -> bool:
    names = type_name["names"]
    return len(names) == 1 and names[0]["String"]["sval"] in SERIALS
