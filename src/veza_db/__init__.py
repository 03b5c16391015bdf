"""veza-db: the Veza backend's canonical V1 PostgreSQL schema and its tools."""
