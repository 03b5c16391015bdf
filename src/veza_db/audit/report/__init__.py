"""Audit reports: Markdown in the seed's shape, JSON for tools, SARIF for code scanning."""
