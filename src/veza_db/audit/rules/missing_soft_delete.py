"""A user-managed table has no `deleted_at`.

What it checks: each table the policy lists as user-managed (`soft_delete`) has a
`deleted_at` column.

Why: users delete and restore what they manage (accounts, tracks, playlists, a playlist's
entries); a soft delete keeps the row for undo, moderation and audit, and keeps references
valid (S4). The seed found `playlist_collaborators` with it and `playlist_tracks` without.

Bad:
    CREATE TABLE playlist_tracks (id uuid PRIMARY KEY, playlist_id uuid NOT NULL, ...);

Good:
    CREATE TABLE playlist_tracks (..., deleted_at timestamptz NULL);
"""

from __future__ import annotations

from collections.abc import Iterator

from veza_db.audit.findings import Context, Hit

ID = "missing-soft-delete"
SEVERITY = "error"
SUMMARY = "user-managed table without deleted_at"


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        if ctx.policy.wants_soft_delete(table.schema, table.name) and table.column("deleted_at") is None:
            yield Hit(
                table.schema,
                table.name,
                "user-managed table has no deleted_at",
                column="deleted_at",
                current="missing",
                expected="deleted_at timestamptz NULL",
                where=table.where,
            )
