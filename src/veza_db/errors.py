"""One exception tree for veza-db; each kind carries the exit code the CLI returns.

Exit codes, the same for every command: 0 ok, 1 a check found something, 2 bad input or
usage, 3 refused to act, 4 database or server error.
"""

from __future__ import annotations


class VezaError(Exception):
    """Base of every error veza-db raises on purpose; its message is one line with the fix."""

    exit_code = 4

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()) if "\n" in message else message)


class CheckFailed(VezaError):
    """A check ran and found something (findings, drift, a failed verification)."""

    exit_code = 1


class UsageError(VezaError):
    """Bad input: a malformed URL, an unreadable file, a misnamed migration, a bad option."""

    exit_code = 2


class RefusedError(VezaError):
    """veza-db could act but refuses: a changed applied migration, a dirty state, a lock."""

    exit_code = 3


class LockTimeout(RefusedError):
    """The migration lock was not obtained within the lock timeout."""


class DatabaseError(VezaError):
    """The database or the server failed: unreachable, authentication, a failing statement."""

    exit_code = 4


class ServerError(DatabaseError):
    """The embedded PostgreSQL server could not be started, stopped or found."""
