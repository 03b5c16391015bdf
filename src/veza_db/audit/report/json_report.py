"""The audit as JSON: `{"target", "kind", "summary", "findings": [...], "unfollowed": [...]}`, one
finding per offending object, one `unfollowed` entry per statement of the SQL the audit does not
follow."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from veza_db.audit.engine import AuditResult
from veza_db.catalog import expr


def summary(result: AuditResult) -> dict[str, Any]:
    return {
        "tables": len(result.tables),
        "findings": len(result.findings),
        "errors": result.count("error"),
        "warnings": result.count("warning"),
        "suppressed": result.suppressed,
        "unfollowed": len(result.unfollowed),
        "by_rule": dict(sorted(Counter(f.rule for f in result.findings).items())),
    }


def render(result: AuditResult) -> str:
    with expr.many_objects():  # a report of a large schema is a hundred thousand small objects
        return _render(result)


def _render(result: AuditResult) -> str:
    findings = []
    for f in result.findings:
        item: dict[str, Any] = {
            "rule": f.rule,
            "severity": f.severity,
            "schema": f.schema,
            "table": f.table,
            "column": f.column,
            "domain": f.domain,
            "object": f.object,
            "message": f.message,
        }
        if f.current is not None:
            item["current"] = f.current
        if f.expected is not None:
            item["expected"] = f.expected
        if f.where is not None:
            item["file"], item["line"] = f.where.file, f.where.line
        findings.append(item)
    document = {
        "target": result.target,
        "kind": result.kind,
        "summary": summary(result),
        "findings": findings,
        "unfollowed": [
            {"file": u.file, "line": u.line, "statement": u.statement, "reason": u.reason}
            for u in result.unfollowed
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
