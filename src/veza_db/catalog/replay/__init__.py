"""The replay of DDL statements into the schema model, one module per job (see `catalog.builder`)."""
