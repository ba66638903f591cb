"""One exception tree for the whole library.

Every failure a user can cause is a ``BdError`` with a stable ``code`` (used in
JSON errors and by RPC clients) and an ``exit_status``. Front ends map them once,
at their edge; nothing below the CLI prints or exits.
"""

from __future__ import annotations


class BdError(Exception):
    """Base of every error the library raises on purpose."""

    code = "error"
    exit_status = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, str]:
        return {"error": self.message, "code": self.code}


class NotFound(BdError):
    code = "not_found"


class Ambiguous(BdError):
    code = "ambiguous"


class InvalidInput(BdError):
    code = "invalid_input"


class CycleError(InvalidInput):
    code = "cycle"


class Conflict(BdError):
    """The write conflicts with existing state (duplicate ID, already claimed...)."""

    code = "conflict"


class Locked(BdError):
    code = "locked"


class NoWorkspace(BdError):
    code = "no_workspace"


class NotInitialized(BdError):
    code = "not_initialized"


class StorageError(BdError):
    """The database could not be opened, read or written."""

    code = "storage"


class ReadOnly(StorageError):
    code = "read_only"


class SyncError(BdError):
    """JSONL import/export or git synchronisation failed."""

    code = "sync"


class SyncBusy(SyncError):
    """Another sync holds the clone's sync lock (raised once the caller's wait for it ran out)."""


class CorruptJSONL(SyncError):
    code = "corrupt_jsonl"


class MergeConflict(SyncError):
    code = "merge_conflict"


class GitError(SyncError):
    code = "git"
