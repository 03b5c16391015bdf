"""What `veza-db audit TARGET` points at: a database URL, a SQL file or a migrations directory."""

from __future__ import annotations

from pathlib import Path

from veza_db import db, dburl, policy
from veza_db.audit import engine
from veza_db.audit.engine import AuditResult
from veza_db.catalog.model import Catalog
from veza_db.errors import UsageError


def load(target: str | None, database_url: str | None) -> tuple[Catalog, str, str]:
    """The schema model of the target, with its kind and a printable name."""
    from veza_db.catalog import live, sqlfile

    if target is None or target.startswith(("postgresql://", "postgres://")):
        url = dburl.parse(target) if target else db.resolve(database_url)
        return live.load(url), "database", str(url)
    path = Path(target)
    if path.is_dir():
        return sqlfile.load_directory(path), "migrations", str(path)
    if path.is_file():
        return sqlfile.load_file(path), "file", str(path)
    if "://" in target:
        raise UsageError(
            f"malformed database URL {dburl.DatabaseUrl(target)}: expected postgresql://user@host:port/dbname"
        )
    raise UsageError(
        f"{target}: no such file or directory; pass a .sql file, a migrations directory or a database URL"
    )


def audit(
    target: str | None, *, database_url: str | None = None, policy_file: Path | None = None
) -> AuditResult:
    from veza_db.audit.rules import RULE_IDS

    chosen = policy.load(policy_file, RULE_IDS) if policy_file else policy.default(RULE_IDS)
    catalog, kind, name = load(target, database_url)
    return engine.run(catalog, chosen, kind=kind, target=name)
