"""Run the rules over a schema model and collect findings, severities and suppressions applied."""

from __future__ import annotations

from dataclasses import dataclass, field

from veza_db.audit.findings import Context, Finding
from veza_db.audit.policy import UNASSIGNED, Policy
from veza_db.audit.rules import RULES, Rule
from veza_db.catalog.model import Catalog

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

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


def run(catalog: Catalog, policy: Policy, *, kind: str, target: str) -> AuditResult:
    ctx = Context(catalog, policy, from_migrations=kind == "migrations")
    findings: list[Finding] = []
    suppressed = 0
    order = {rule.ID: i for i, rule in enumerate(RULES)}
    for rule in RULES:
        severity = policy.severity.get(rule.ID, rule.SEVERITY)
        if severity == "off":
            continue
        for hit in rule.check(ctx):
            if policy.suppressed(rule.ID, hit.object):
                suppressed += 1
                continue
            domain = policy.domain(hit.schema, hit.table) if hit.table else UNASSIGNED
            findings.append(
                Finding(
                    rule=rule.ID,
                    severity=severity,
                    schema=hit.schema,
                    table=hit.table,
                    column=hit.column,
                    domain=domain,
                    message=hit.message,
                    object=hit.object,
                    current=hit.current,
                    expected=hit.expected,
                    where=hit.where,
                )
            )
    findings.sort(
        key=lambda f: (
            _SEVERITY_ORDER[f.severity],
            order[f.rule],
            f.schema,
            f.table or "",
            f.column or "",
            f.object,
        )
    )
    tables = tuple((t.schema, t.name) for t in ctx.tables())
    return AuditResult(target, kind, tuple(findings), tables, suppressed, policy)
