"""One schema model, filled from a live database, a SQL file or a migrations directory."""
