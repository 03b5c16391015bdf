"""The plan as Markdown (for people and pull requests), JSON, or SARIF 2.1.0 (for code scanning)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from veza_db.plan.rules import CAUTION, DANGER
from veza_db.plan.run import PlanResult, Size, StatementPlan

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_MARKS = {"ok": "ok", CAUTION: "CAUTION", DANGER: "DANGER"}
_RULES = {
    DANGER: "Blocks the application's reads or writes for as long as the relation is big.",
    CAUTION: "Briefly locks, but changes what running application code sees.",
}


def _size(size: Size) -> str:
    rows = "rows never counted (not analyzed)" if size.rows < 0 else f"~{size.rows:,} rows"
    amount = float(size.bytes)
    for unit in ("bytes", "kB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            break
        amount /= 1024
    shown = f"{size.bytes} bytes" if unit == "bytes" else f"{amount:,.1f} {unit}"
    return f"{shown}, {rows}"


def _statement_md(item: StatementPlan) -> list[str]:
    observed = item.observed
    text = " ".join(observed.statement.sql.split())
    text = text if len(text) <= 100 else text[:99] + "…"
    lines = [f"- **{_MARKS[item.verdict]}** `{observed.file}:{observed.statement.line}` `{text}`"]
    for lock in observed.locks:
        source = " (from PostgreSQL's documentation)" if lock.documented else ""
        lines.append(
            f"  - locks {lock.relation.kind} `{lock.relation}` in {lock.mode}: blocks {lock.blocks}{source}"
        )
    for relation, size in item.sizes.items():
        lines.append(f"  - `{relation}` on the target: {_size(size)}")
    for finding in item.assessment.findings:
        lines.append(f"  - {finding.verdict}: {finding.what}; instead: {finding.safe}")
    return lines


def markdown(result: PlanResult) -> str:
    current = "none" if result.current is None else result.current
    lines = [
        "# Migration plan",
        "",
        f"**Target:** `{result.database}` at version {current} (head {result.head}); "
        f"scratch copy on the {result.built_on}.",
        "",
    ]
    if not result.pending:
        return "\n".join([*lines, "Nothing is pending.", ""])
    counts = {v: sum(s.verdict == v for s in result.statements) for v in ("ok", CAUTION, DANGER)}
    lines += [
        f"**Verdict: {_MARKS[result.verdict]}** ({counts[DANGER]} danger, {counts[CAUTION]} caution, "
        f"{counts['ok']} ok) over {len(result.pending)} pending file(s).",
        "",
    ]
    for name in result.pending:
        lines += [f"## {name}", ""]
        for item in result.statements:
            if item.observed.file == name:
                lines += _statement_md(item)
        lines.append("")
    return "\n".join(lines)


def as_json(result: PlanResult) -> str:
    return json.dumps(result.to_dict(), indent=2)


def _uri(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def sarif(result: PlanResult, version: str) -> str:
    """One result per caution or danger, located at the statement's file and line."""
    results: list[dict[str, Any]] = []
    for item in result.statements:
        for finding in item.assessment.findings:
            results.append(
                {
                    "ruleId": finding.verdict,
                    "level": "error" if finding.verdict == DANGER else "warning",
                    "message": {"text": f"{finding.what}; instead: {finding.safe}"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": _uri(result.directory / item.observed.file)},
                                "region": {"startLine": item.observed.statement.line},
                            }
                        }
                    ],
                }
            )
    rules = [
        {"id": verdict, "shortDescription": {"text": text}, "defaultConfiguration": {"level": level}}
        for (verdict, text), level in zip(_RULES.items(), ("error", "warning"), strict=True)
    ]
    document = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "veza-db plan",
                        "version": version,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)
