"""The schema policy (TOML): owned schemas, domains, soft-delete tables, and the audit's
severities and suppressions.

Drift verification and the schema reference read it as well as the audit, so it lives outside
the audit package; the audit passes its rule ids in to check the rule names a policy uses.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from veza_db.errors import UsageError

SEVERITIES = ("error", "warning")
UNASSIGNED = "Unassigned"


@dataclass(frozen=True)
class Suppression:
    rule: str
    object: str  # "schema.table", "schema.table.column" or "schema.object"; fnmatch patterns allowed
    reason: str


@dataclass(frozen=True)
class Policy:
    owned_schemas: tuple[str, ...] = ("public",)
    foreign_schemas: dict[str, str] = field(default_factory=dict)
    tooling_tables: frozenset[str] = frozenset()
    domains: dict[str, str] = field(default_factory=dict)  # "table" or "schema.table" -> domain
    domain_order: tuple[str, ...] = ()
    soft_delete: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()

    def domain(self, schema: str, table: str) -> str:
        return self.domains.get(f"{schema}.{table}") or (
            self.domains.get(table, UNASSIGNED) if schema in self.owned_schemas else UNASSIGNED
        )

    def wants_soft_delete(self, schema: str, table: str) -> bool:
        return f"{schema}.{table}" in self.soft_delete or (
            schema in self.owned_schemas and table in self.soft_delete
        )

    def is_tooling(self, schema: str, table: str) -> bool:
        return f"{schema}.{table}" in self.tooling_tables

    def suppressed(self, rule: str, obj: str) -> Suppression | None:
        return next(
            (s for s in self.suppressions if s.rule in (rule, "*") and fnmatch.fnmatchcase(obj, s.object)),
            None,
        )


def default(rule_ids: Collection[str] | None = None) -> Policy:
    """The V1 policy shipped with the package; `rule_ids` as for `parse`."""
    text = (resources.files("veza_db") / "v1_policy.toml").read_text()
    return parse(text, "the V1 policy", rule_ids)


def load(path: Path, rule_ids: Collection[str] | None = None) -> Policy:
    """A policy file; UsageError when it cannot be read or is malformed."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read policy {path}: {exc}") from None
    return parse(text, str(path), rule_ids)


def parse(text: str, name: str, rule_ids: Collection[str] | None = None) -> Policy:
    """A policy from its TOML text (`name` says where it came from, in errors).

    With `rule_ids` (the audit's rules), severities and suppressions must name one of them.
    Raises UsageError naming the key that is wrong."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"policy {name} is not valid TOML: {exc}") from None
    known = {"owned_schemas", "foreign_schemas", "tooling", "domains", "soft_delete", "severity", "suppress"}
    if unknown := sorted(set(data) - known):
        raise UsageError(
            f"policy {name}: unknown key {unknown[0]!r}; expected one of {', '.join(sorted(known))}"
        )
    domains: dict[str, str] = {}
    for domain, tables in data.get("domains", {}).items():
        if not isinstance(tables, list):
            raise UsageError(f"policy {name}: domains.{domain} must be a list of table names")
        for table in tables:
            domains[str(table)] = str(domain)
    severity = {str(k): str(v) for k, v in data.get("severity", {}).items()}
    for rule, level in severity.items():
        if rule_ids is not None and rule not in rule_ids:
            raise UsageError(
                f"policy {name}: severity for unknown rule {rule!r}; see `veza-db audit --list-rules`"
            )
        if level not in (*SEVERITIES, "off"):
            raise UsageError(
                f"policy {name}: severity of {rule} must be error, warning or off, not {level!r}"
            )
    suppressions = []
    for entry in data.get("suppress", []):
        missing = [k for k in ("rule", "object", "reason") if not str(entry.get(k, "")).strip()]
        if missing:
            raise UsageError(
                f"policy {name}: a [[suppress]] entry lacks {', '.join(missing)}; each needs a reason"
            )
        if rule_ids is not None and entry["rule"] not in rule_ids and entry["rule"] != "*":
            raise UsageError(f"policy {name}: suppression for unknown rule {entry['rule']!r}")
        suppressions.append(Suppression(str(entry["rule"]), str(entry["object"]), str(entry["reason"])))
    owned = data.get("owned_schemas", ["public"])
    if not isinstance(owned, list) or not owned:
        raise UsageError(f"policy {name}: owned_schemas must be a non-empty list")
    return Policy(
        owned_schemas=tuple(str(s) for s in owned),
        foreign_schemas={str(k): str(v) for k, v in data.get("foreign_schemas", {}).items()},
        tooling_tables=frozenset(str(t) for t in data.get("tooling", {}).get("tables", [])),
        domains=domains,
        domain_order=tuple(str(d) for d in data.get("domains", {})),
        soft_delete=frozenset(str(t) for t in data.get("soft_delete", [])),
        severity=severity,
        suppressions=tuple(suppressions),
    )
