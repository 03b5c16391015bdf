"""PostgreSQL's table lock modes and what each one stops the application from doing.

From PostgreSQL's "Explicit Locking" chapter (table 13.2, conflicting lock modes): plain
SELECT takes ACCESS SHARE, INSERT/UPDATE/DELETE take ROW EXCLUSIVE. A mode blocks reads when it
conflicts with ACCESS SHARE (only ACCESS EXCLUSIVE does), and blocks writes when it conflicts
with ROW EXCLUSIVE (SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE, ACCESS EXCLUSIVE).
"""

from __future__ import annotations

# pg_locks.mode -> the SQL name of the mode
MODE_NAMES = {
    "AccessShareLock": "ACCESS SHARE",
    "RowShareLock": "ROW SHARE",
    "RowExclusiveLock": "ROW EXCLUSIVE",
    "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareLock": "SHARE",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
    "ExclusiveLock": "EXCLUSIVE",
    "AccessExclusiveLock": "ACCESS EXCLUSIVE",
}
_STRENGTH = {name: rank for rank, name in enumerate(MODE_NAMES.values())}

READS_AND_WRITES = "reads and writes"
WRITES = "writes"
NOTHING = "nothing the application does"


def blocks(mode: str) -> str:
    """What a mode (SQL name) blocks: READS_AND_WRITES, WRITES or NOTHING."""
    if mode == "ACCESS EXCLUSIVE":
        return READS_AND_WRITES
    if _STRENGTH[mode] >= _STRENGTH["SHARE"]:
        return WRITES
    return NOTHING


def strongest(modes: list[str]) -> str:
    """The mode that blocks the most among `modes` (SQL names)."""
    return max(modes, key=_STRENGTH.__getitem__)
