"""The engine's shortcuts build the same objects the plain constructors do."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from veza_db import policy
from veza_db.audit import engine
from veza_db.audit.findings import Finding, Hit
from veza_db.catalog import sqlfile
from veza_db.catalog.model import Column, Location, fast


def test_a_finding_built_by_the_engine_is_a_plain_finding() -> None:
    values: dict[str, Any] = {f.name: f"value of {f.name}" for f in dataclasses.fields(Finding)}
    values["where"] = Location("f.sql", 3)
    built, plain = fast(Finding, values), Finding(**values)
    assert built == plain
    assert hash(built) == hash(plain)
    assert dataclasses.asdict(built) == dataclasses.asdict(plain)


def test_fast_builds_a_plain_model_object() -> None:
    values: dict[str, Any] = {
        "name": "id",
        "type": "uuid",
        "nullable": False,
        "default": None,
        "identity": None,
    }
    built = fast(Column, {**values, "comment": None, "where": Location("f.sql", 1)})
    assert built == Column(**values)
    assert hash(built) == hash(Column(**values))


def test_hit_object_names_the_object() -> None:
    for schema, table, column, name in itertools.product(("s", ""), ("t", None), ("c", None), ("idx", None)):
        hit = Hit(schema, table, "m", column=column, object_name=name)
        assert hit.object == ".".join(p for p in (schema, table, name or column) if p)


def test_engine_findings_match_their_fields() -> None:
    catalog = sqlfile.load_text(
        "CREATE TABLE t (id bigserial PRIMARY KEY, token text, created_at timestamp DEFAULT now());",
        "f.sql",
    )
    result = engine.run(catalog, policy.default(), kind="file", target="f.sql")
    assert result.count("error") == sum(1 for f in result.findings if f.severity == "error")
    assert result.count("warning") == sum(1 for f in result.findings if f.severity == "warning")
    for f in result.findings:
        assert Finding(**{field.name: getattr(f, field.name) for field in dataclasses.fields(Finding)}) == f
    assert {f.rule for f in result.findings} >= {
        "pk-not-uuid",
        "plaintext-secret",
        "timestamp-without-time-zone",
    }
