"""One exception tree for veza-db, and the one place that maps its classes to exit codes.

Exit codes, the same for every command: 0 ok, 1 a check found something, 2 bad input or
usage, 3 refused to act, 4 database or server error.
"""

from __future__ import annotations


class VezaError(Exception):
    """Base of every error veza-db raises on purpose; its message is one line with the fix.

    An empty message means the command's own output already says what happened (a report
    with findings, a stopped server): only the exit code is left to give."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()) if "\n" in message else message)


class CheckFailed(VezaError):
    """A check ran and found something (findings, drift, a failed verification)."""


class UsageError(VezaError):
    """Bad input: a malformed URL, an unreadable file, a misnamed migration, a bad option."""


class RefusedError(VezaError):
    """veza-db could act but refuses: a changed applied migration, a dirty state, a lock."""


class LockTimeout(RefusedError):
    """The migration lock was not obtained within the lock timeout."""


class DatabaseError(VezaError):
    """The database or the server failed: unreachable, authentication, a failing statement."""


class ServerError(DatabaseError):
    """The embedded PostgreSQL server could not be started, stopped or found."""


# Most specific first: the first class an error is an instance of decides.
_EXIT_CODES: tuple[tuple[type[VezaError], int], ...] = (
    (CheckFailed, 1),
    (UsageError, 2),
    (RefusedError, 3),
    (DatabaseError, 4),
)


def exit_code(error: VezaError) -> int:
    """The exit code of an error: 1 check, 2 usage, 3 refused, 4 database or server (and any
    other VezaError)."""
    return next((code for kind, code in _EXIT_CODES if isinstance(error, kind)), 4)
