"""The audit: the seed's gap analysis as rules over the schema model, reported as Markdown, JSON, SARIF."""
