"""Drift: is this database still exactly the canonical schema its migrations define?

The canonical schema is built by applying the migrations to a scratch database (on the same
server when the user may create databases, so the server version and settings match; otherwise
on the embedded server), then both are read with the live loader and compared object by object.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veza_db import db, dburl
from veza_db import policy as schema_policy
from veza_db.catalog import diff, live
from veza_db.catalog.diff import Difference
from veza_db.migrate import discover, history, runner
from veza_db.scratch import scratch_database


@dataclass(frozen=True)
class VerifyResult:
    database: str
    head: int
    version: int | None  # None: nothing applied
    dirty: bool
    differences: tuple[Difference, ...]
    canonical_on: str  # "same server" | "embedded server"

    @property
    def problems(self) -> list[str]:
        lines = []
        if self.dirty:
            lines.append(f"schema_migrations: version {self.version} is dirty; see `veza-db status`")
        if self.version != self.head:
            shown = "none" if self.version is None else self.version
            lines.append(f"schema_migrations: version {shown}, expected {self.head} (head); run `veza-db up`")
        return lines + [d.line() for d in self.differences]

    @property
    def drift(self) -> bool:
        return bool(self.problems)

    def to_dict(self) -> dict[str, Any]:
        """The result as `veza-db verify --format json` prints it."""
        return {
            "database": self.database,
            "drift": self.drift,
            "version": self.version,
            "head": self.head,
            "dirty": self.dirty,
            "canonical_on": self.canonical_on,
            "problems": self.problems,
            "differences": [dataclasses.asdict(d) for d in self.differences],
        }


def verify(url: dburl.DatabaseUrl, migrations: Path | None = None) -> VerifyResult:
    """Compare the database at `url` with the schema its migrations define."""
    directory = migrations or discover.package_dir()
    migration_list = runner.load(directory)
    chosen = schema_policy.default()
    with db.connect(url, autocommit=True) as conn:
        state = history.read(conn)
        found = live.load_connection(conn, str(url))
    with scratch_database(url) as (scratch, where):
        runner.up(scratch, directory)
        expected = live.load(scratch)
    differences = diff.diff(
        expected, found, chosen.owned_schemas, ignore_tables=sorted(chosen.tooling_tables)
    )
    return VerifyResult(
        database=str(url), head=migration_list[-1].version, version=state.version, dirty=state.dirty,
        differences=tuple(differences), canonical_on=where,
    )  # fmt: skip
