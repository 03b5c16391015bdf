"""Run the rules over a schema model and collect findings, severities and suppressions applied."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from veza_db.audit.findings import Context, Finding
from veza_db.audit.rules import RULES, Rule
from veza_db.catalog import expr
from veza_db.catalog.model import Catalog, Unfollowed, fast
from veza_db.policy import UNASSIGNED, Policy

_SEVERITY_ORDER = {"error": 0, "warning": 1}


@dataclass(frozen=True)
class AuditResult:
    target: str
    kind: str  # "database" | "file" | "migrations"
    findings: tuple[Finding, ...]
    tables: tuple[tuple[str, str], ...]  # (schema, table) audited
    suppressed: int = 0
    policy: Policy = field(default_factory=Policy)
    rules: tuple[Rule, ...] = RULES
    # Statements of the SQL the model does not follow: there the database may differ from the
    # audit (always empty for a database).
    unfollowed: tuple[Unfollowed, ...] = ()

    def count(self, severity: str) -> int:
        return self._counts.get(severity, 0)

    @cached_property
    def _counts(self) -> dict[str, int]:
        return dict(Counter(f.severity for f in self.findings))


def run(catalog: Catalog, policy: Policy, *, kind: str, target: str) -> AuditResult:
    with expr.many_objects():
        return _run(catalog, policy, kind=kind, target=target)


def _run(catalog: Catalog, policy: Policy, *, kind: str, target: str) -> AuditResult:
    ctx = Context(catalog, policy, from_migrations=kind == "migrations")
    # Errors before warnings, each in the rules' order: one list per severity, filled rule by rule.
    by_severity: dict[str, list[Finding]] = {severity: [] for severity in _SEVERITY_ORDER}
    suppressed = 0
    # The defaults the rules read are parsed together, many per parser call.
    expr.parse_many(c.default for t in ctx.tables() for c in t.columns if expr.worth_parsing(c.default))
    domains: dict[tuple[str, str], str] = {}
    for rule in RULES:
        severity = policy.severity.get(rule.ID, rule.SEVERITY)
        if severity == "off":
            continue
        found: list[Finding] = []
        for hit in rule.check(ctx):
            obj = hit.object
            if policy.suppressions and policy.suppressed(rule.ID, obj):
                suppressed += 1
                continue
            if hit.table:
                key = (hit.schema, hit.table)
                domain = domains.get(key)
                if domain is None:
                    domain = domains[key] = policy.domain(hit.schema, hit.table)
            else:
                domain = UNASSIGNED
            found.append(
                fast(  # one per hit: the frozen dataclass's `__init__` would double the cost
                    Finding,
                    {
                        "rule": rule.ID,
                        "severity": severity,
                        "schema": hit.schema,
                        "table": hit.table,
                        "column": hit.column,
                        "domain": domain,
                        "message": hit.message,
                        "object": obj,
                        "current": hit.current,
                        "expected": hit.expected,
                        "where": hit.where,
                    },
                )
            )
        found.sort(key=lambda f: (f.schema, f.table or "", f.column or "", f.object))
        by_severity[severity] += found
    findings = tuple(f for severity in _SEVERITY_ORDER for f in by_severity[severity])
    tables = tuple((t.schema, t.name) for t in ctx.tables())
    return AuditResult(target, kind, findings, tables, suppressed, policy, unfollowed=catalog.unfollowed)
