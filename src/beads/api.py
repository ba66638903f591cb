"""The library's front door: open or initialise a workspace and get a ``Tracker``.

``open`` finds the workspace exactly as ``bd`` does (``BEADS_DIR``, ``BEADS_DB``,
walk-up, redirects, git worktrees); ``init`` creates one; ``open_memory`` gives a
throw-away in-memory tracker for tests and tools.
"""

from __future__ import annotations

import os

from beads.core.tracker import Tracker
from beads.core.workspace import Workspace, discover
from beads.errors import NoWorkspace
from beads.storage.sqlite.store import SqliteStore


def open(path: str | None = None, *, db: str | None = None, actor: str | None = None,  # noqa: A001
         readonly: bool = False, busy_timeout_ms: int = 30_000) -> Tracker:
    """Open the workspace containing ``path`` (default: the current directory).

    ``db`` names a database file directly (like ``bd --db``).
    """
    if db is None and path is not None and os.path.basename(os.path.normpath(path)) == ".beads":
        workspace = Workspace(path)
    else:
        workspace = discover(cwd=path, db=db)
    if not workspace.db_exists():
        raise NoWorkspace(f"no beads database found at {workspace.db_path}",
                          hint="run 'bd init' to create one")
    store = SqliteStore(workspace.db_path, readonly=readonly, busy_timeout_ms=busy_timeout_ms, create=False)
    return Tracker(store, actor=actor, workspace=workspace)


def open_memory(prefix: str = "bd", *, actor: str | None = None) -> Tracker:
    """A tracker on an in-memory database (nothing touches the disk)."""
    store = SqliteStore.in_memory()
    store.set_config("issue_prefix", prefix)
    return Tracker(store, actor=actor)


def init(path: str | None = None, prefix: str | None = None, *, actor: str | None = None) -> Tracker:
    """Create ``.beads/`` in ``path`` (default: cwd) and return a tracker on it."""
    from beads.core.setup import init_workspace

    workspace = init_workspace(path or os.getcwd(), prefix=prefix)
    store = SqliteStore(workspace.db_path)
    return Tracker(store, actor=actor, workspace=workspace)


def flush(tracker: Tracker) -> bool:
    """Write the tracker's pending changes to the workspace's ``issues.jsonl`` now.

    What ``bd`` does after each write command (incremental, under the export lock, importing
    a file someone else changed first). True if the file was written; False when there was
    nothing to write or the tracker has no workspace. A conflicted or corrupt file raises
    ``SyncError`` and the changes stay marked for the next flush.
    """
    from beads.sync import export

    return export.flush(tracker)
