"""The write barrier: the one way every front end opens a workspace for a command.

A command (from the CLI in direct mode, from the daemon, from any other front end)
goes through one ``Barrier``:

* ``tracker()`` opens the database (or, with ``no_db``, the JSONL in memory) and runs
  the auto-import of a JSONL changed behind our back (spec §8.3);
* ``writer(op)`` is the same, for a command that writes: refused when read-only, and
  it marks the command as a writer;
* ``finish(warn)`` after a successful writing command flushes the dirty issues to the
  JSONL (spec §8.2) — or, inside the daemon, hands the flush to its debouncer, so
  the reply goes out first and a burst of writes makes one export;
* ``close()`` closes the database.

Two process-wide switches exist for the daemon, which runs commands one at a time:
``defer_flushes(callback)`` (flushes become ``callback()``), and ``shared(tracker)``
(commands use one given Tracker, for an all-or-nothing batch in one transaction).
"""

from __future__ import annotations

import os

from beads.errors import BdError, InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from beads.core.tracker import Tracker
    from beads.core.workspace import Workspace

_deferred: Callable[[Tracker | None, object], None] | None = None
_shared: Tracker | None = None


def defer_flushes(callback: Callable[[Tracker | None, object], None] | None) -> None:
    """From now on a writing command's flush is ``callback(tracker, mark)`` (None: flush at once again).

    ``mark`` is ``tracker.store.mutation_mark()`` taken when the command asked to write
    (after the auto-import), so the callback can tell which issues the command touched.
    """
    global _deferred
    _deferred = callback


class shared:  # noqa: N801 - used as a context manager, like contextlib helpers
    """Within this block every Barrier uses ``tracker`` (and never closes it)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def __enter__(self) -> Tracker:
        global _shared
        _shared = self.tracker
        return self.tracker

    def __exit__(self, *exc: object) -> None:
        global _shared
        _shared = None


class Barrier:
    """Open, guard and flush one command's access to a workspace (see the module docstring)."""

    def __init__(self, workspace: Workspace, *, actor: str, readonly: bool = False, no_db: bool = False,
                 auto_import: bool = True, auto_flush: bool = True, busy_timeout_ms: int = 30_000,
                 command: str = "", prefix: str | None = None,
                 import_warning: Callable[[str], None] | None = None, private: bool = False) -> None:
        self.workspace = workspace
        self.private = private  # its own Tracker and flush even inside the daemon (another workspace)
        self.actor = actor
        self.readonly = readonly
        self.no_db = no_db
        self.auto_import = auto_import
        self.auto_flush = auto_flush
        self.busy_timeout_ms = busy_timeout_ms
        self.command = command
        self.prefix = prefix
        self.import_warning = import_warning
        self.wrote = False
        self.last_import: dict | None = None  # the auto-import's statistics, when it imported
        self._tracker: Tracker | None = None
        self._owned = True
        self._mark: object = None  # inside the daemon: the audit trail before this command wrote

    def tracker(self) -> Tracker:
        """The Tracker, opened on first use (the auto-import runs here)."""
        if self._tracker is not None:
            return self._tracker
        if _shared is not None and not self.private:
            self._tracker, self._owned = _shared, False
            _shared.actor = self.actor
            return _shared
        from beads.core.tracker import Tracker
        from beads.errors import NoWorkspace
        from beads.storage.sqlite.store import SqliteStore

        ws = self.workspace
        if self.no_db:
            from beads.sync import nodb

            self._tracker = nodb.open_tracker(ws, actor=self.actor, prefix=self.prefix)
            return self._tracker
        if not ws.db_exists():
            from beads.core.workspace import NO_WORKSPACE_HINT

            raise NoWorkspace("no beads database found", hint=NO_WORKSPACE_HINT)
        store = SqliteStore(ws.db_path, readonly=self.readonly, busy_timeout_ms=self.busy_timeout_ms, create=False)
        self._tracker = Tracker(store, actor=self.actor, workspace=ws)
        readonly = self.readonly or store.db.read_only_fs
        # `sync` imports on its own terms (after applying the merge's removals; never in --dry-run).
        if self.auto_import and not readonly and self.command not in ("import", "delete", "sync"):
            from beads.sync import auto

            self.last_import = auto.before_command(self._tracker, self.import_warning)
        return self._tracker

    def writer(self, operation: str) -> Tracker:
        """The Tracker, for a command that writes (refused in read-only mode)."""
        if self.readonly:
            raise InvalidInput(f"operation '{operation}' is not allowed in read-only mode")
        self.wrote = True
        tracker = self.tracker()
        if _deferred is not None and self._mark is None and not self.no_db and not self.private:
            self._mark = tracker.store.mutation_mark()
        return tracker

    def finish(self, warn: Callable[[str], None]) -> bool:
        """After a successful command: flush the JSONL if it wrote; False if the flush failed."""
        tracker = self._tracker
        if not self.wrote or tracker is None:
            return True
        if self.no_db:
            from beads.sync import nodb

            nodb.write_back(tracker)
            return True
        if not self.auto_flush:
            return True
        if _deferred is not None and not self.private:
            _deferred(tracker, self._mark)
            return True
        return flush(tracker, warn)

    def close(self) -> None:
        tracker, self._tracker = self._tracker, None
        if tracker is not None and self._owned:
            tracker.disconnect()


def flush(tracker: Tracker, warn: Callable[[str], None]) -> bool:
    """Flush the dirty issues to the JSONL; a failure is one warning (the write stands)."""
    from beads.sync import auto

    failed: list[str] = []

    def note(text: str) -> None:
        failed.append(text)
        warn(text)

    try:
        auto.after_command(tracker, note)
    except Exception as exc:  # noqa: BLE001 - the write is committed: it must exit 0
        # (an agent that sees exit 1 retries, and a retried create is a duplicate)
        if os.environ.get("BD_DEBUG"):
            raise
        why = exc.message if isinstance(exc, BdError) else getattr(exc, "strerror", None) or "unexpected error"
        note(f"auto-flush failed: the JSONL was not updated (the change is saved in the database): {why}")
    return not failed

