"""The audit as Markdown, in the shape of the seed's hand-written audit."""

from __future__ import annotations

from collections import defaultdict

from veza_db.audit.engine import AuditResult
from veza_db.audit.findings import Finding
from veza_db.audit.rules import RULES
from veza_db.catalog import expr
from veza_db.policy import UNASSIGNED


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{_cell(text)}{pad}{fence}"


def _domains(result: AuditResult, names: set[str]) -> list[str]:
    ordered = [d for d in result.policy.domain_order if d in names]
    return (
        ordered + sorted(names - set(ordered) - {UNASSIGNED}) + ([UNASSIGNED] if UNASSIGNED in names else [])
    )


def _label(f: Finding) -> str:
    name = ".".join(p for p in (f.table, f.column) if p) or f.object
    return _code(name if f.schema in ("public",) else f"{f.schema}.{name}")


def render(result: AuditResult) -> str:
    with expr.many_objects():  # a report of a large schema is a hundred thousand small objects
        return _render(result)


def _render(result: AuditResult) -> str:
    lines = [
        "# DB Schema Audit",
        "",
        f"**Target:** {_code(result.target)} ({result.kind})",
        "**Standard:** Canonical V1 (UUID keys, one timestamp contract, soft deletes, explicit FK rules)",
        "",
        "## 1. Executive Summary",
        "",
    ]
    errors, warnings = result.count("error"), result.count("warning")
    offending = {(f.schema, f.table) for f in result.findings if f.table}
    clean = [t for t in result.tables if t not in offending]
    if not result.findings:
        lines.append(f"The schema conforms to V1: **no findings** across {len(result.tables)} tables.")
    else:
        lines.append(
            f"The schema has **{len(result.findings)} findings** ({errors} errors, {warnings} warnings) "
            f"across {len(result.tables)} tables; {len(clean)} tables have none."
        )
    if result.suppressed:
        lines.append(f"{result.suppressed} findings were suppressed by the policy.")
    if result.unfollowed:
        count = len(result.unfollowed)
        lines += [
            "",
            f"**{count} {'statement changes' if count == 1 else 'statements change'}** the schema in ways"
            " this audit does not follow (section 3): the database built from this SQL may differ from"
            " what is reported here.",
        ]
    counts: dict[str, int] = defaultdict(int)
    for f in result.findings:
        counts[f.rule] += 1
    if counts:
        lines += ["", "| Rule | Severity | Findings |", "| :--- | :--- | ---: |"]
    for rule in RULES:
        if counts[rule.ID]:
            lines.append(
                f"| `{rule.ID}` | {result.policy.severity.get(rule.ID, rule.SEVERITY)} | {counts[rule.ID]} |"
            )
    lines += ["", "## 2. Gap Analysis", ""]
    lines += _conformance(result)
    lines += _critical(result)
    lines += _structural(result)
    lines += _unfollowed(result)
    return "\n".join(lines).rstrip() + "\n"


def _conformance(result: AuditResult) -> list[str]:
    non_uuid = {
        (f.schema, f.table) for f in result.findings if f.rule in ("pk-not-uuid", "missing-primary-key")
    }
    good = [t for t in result.tables if t not in non_uuid]
    status = "✅ Good" if len(good) == len(result.tables) else "✅ Mostly Good" if good else "❌ Needs Fix"
    lines = [f"### 2.1 Key Conformance (Status: {status})", ""]
    if not good:
        return [*lines, "No table has a UUID primary key.", ""]
    lines += ["These tables have a UUID primary key:", ""]
    by_domain: dict[str, list[str]] = defaultdict(list)
    for schema, table in good:
        by_domain[result.policy.domain(schema, table)].append(table)
    for domain in _domains(result, set(by_domain)):
        tables = ", ".join(_code(t) for t in sorted(by_domain[domain]))
        lines.append(f"* **{domain}:** {tables}")
    return [*lines, ""]


def _critical(result: AuditResult) -> list[str]:
    rows = [f for f in result.findings if f.rule == "pk-not-uuid"]
    status = "❌ Needs Fix" if rows else "✅ None"
    lines = [f"### 2.2 Critical Deficiencies (Status: {status})", ""]
    if not rows:
        return [*lines, "Every primary key is a UUID.", ""]
    lines += [
        "The following tables use a non-UUID primary key. In V1, these **MUST** be `UUID`.",
        "",
        "| Domain | Table | Current PK | Target V1 PK |",
        "| :--- | :--- | :--- | :--- |",
    ]
    for domain in _domains(result, {f.domain for f in rows}):
        for f in sorted((r for r in rows if r.domain == domain), key=lambda r: (r.schema, r.table or "")):
            table = f.table if f.schema == "public" else f"{f.schema}.{f.table}"
            lines.append(f"| **{domain}** | {_code(table or '')} | {_code(f.current or '')} | `UUID` |")
    return [*lines, ""]


def _structural(result: AuditResult) -> list[str]:
    others = [f for f in result.findings if f.rule != "pk-not-uuid"]
    lines = [f"### 2.3 Structural Issues (Status: {'❌ Needs Fix' if others else '✅ None'})", ""]
    if not others:
        return [*lines, "No structural issue found.", ""]
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in others:
        by_rule[f.rule].append(f)
    number = 0
    for rule in RULES:
        hits = by_rule.get(rule.ID)
        if not hits:
            continue
        number += 1
        severity = hits[0].severity
        lines.append(f"{number}. **`{rule.ID}`** ({severity}, {len(hits)}): {rule.SUMMARY}.")
        for f in hits:
            where = f" (line {f.where.line})" if f.where and result.kind == "file" else ""
            lines.append(f"   * {_label(f)}: {_cell(f.message)}{where}")
        lines.append("")
    return lines


def _unfollowed(result: AuditResult) -> list[str]:
    if not result.unfollowed:
        return []
    lines = ["## 3. Statements Not Followed", "", "| File | Line | Statement | Not followed because |"]
    lines.append("| :--- | ---: | :--- | :--- |")
    for u in result.unfollowed:
        lines.append(f"| {_code(u.file)} | {u.line} | `{_cell(u.statement)}` | {_cell(u.reason)} |")
    return [*lines, ""]
