"""The audit as SARIF 2.1.0: one result per finding, rule metadata from each rule's documentation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from veza_db.audit.engine import AuditResult
from veza_db.audit.rules import RULES, documentation
from veza_db.catalog import expr

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"error": "error", "warning": "warning"}


def _uri(file: str) -> str:
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def _rule(rule_id: str, summary: str, doc: str, level: str) -> dict[str, Any]:
    first = doc.split("\n\n", 1)[0].replace("\n", " ")
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": first},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": _LEVELS[level]},
    }


def render(result: AuditResult, version: str) -> str:
    with expr.many_objects():  # a report of a large schema is a hundred thousand small objects
        return _render(result, version)


def _render(result: AuditResult, version: str) -> str:
    rules = [
        _rule(
            r.ID,
            r.SUMMARY,
            documentation(r),
            result.policy.severity.get(r.ID, r.SEVERITY)
            if result.policy.severity.get(r.ID, r.SEVERITY) != "off"
            else r.SEVERITY,
        )
        for r in RULES
    ]
    index = {r.ID: i for i, r in enumerate(RULES)}
    uris: dict[str, str] = {}  # one file for thousands of findings; resolving it is a system call
    results = []
    for f in result.findings:
        item: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _LEVELS[f.severity],
            "message": {"text": f.message},
            "logicalLocations": [{"fullyQualifiedName": f.object, "kind": "column" if f.column else "table"}],
            "properties": {"domain": f.domain, "current": f.current, "expected": f.expected},
        }
        if f.where is not None:
            uri = uris.get(f.where.file)
            if uri is None:
                uri = uris[f.where.file] = _uri(f.where.file)
            item["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": f.where.line},
                    },
                    "logicalLocations": item["logicalLocations"],
                }
            ]
        results.append(item)
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"{u.statement} not followed: {u.reason}"},
            "descriptor": {"id": "unfollowed-statement"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(u.file)},
                        "region": {"startLine": u.line},
                    }
                }
            ],
        }
        for u in result.unfollowed
    ]
    document = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "veza-db", "version": version, "rules": rules}},
                "automationDetails": {"id": f"veza-db/audit/{result.kind}"},
                # Statements the audit does not follow: the tool's own warnings, not findings.
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
