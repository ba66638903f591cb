"""``--no-db`` mode: the JSONL is the only store; SQLite lives in memory for one command.

The command runs against an in-memory database loaded from ``issues.jsonl``; if it
wrote, the whole file is exported back (same canonical format, same guards, same
lock) before the process exits.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from beads.core.tracker import Tracker
    from beads.core.workspace import Workspace


def open_tracker(workspace: Workspace, *, actor: str | None = None, prefix: str | None = None) -> Tracker:
    """A Tracker on an in-memory database holding the workspace's JSONL."""
    from beads.core.tracker import Tracker
    from beads.storage.sqlite.store import SqliteStore
    from beads.sync import export as exp
    from beads.sync import importer, jsonl

    store = SqliteStore.in_memory()
    tracker = Tracker(store, actor=actor, workspace=workspace)
    data, st = exp.read_file(workspace.jsonl_path)
    records = jsonl.parse_jsonl(jsonl.decode(data, workspace.jsonl_path), workspace.jsonl_path) if data else []
    prefix = (prefix or "").strip().rstrip("-") or importer.detect_prefix(records) or _dir_prefix(workspace)
    store.set_config("issue_prefix", prefix)
    with store.transaction():
        importer.import_records(tracker, records, skip_prefix_validation=True, mark_dirty=False)
        if data is not None:
            exp.record_file_state(store, data, st, [r["id"] for r in records])
    return tracker


def write_back(tracker: Tracker) -> bool:
    """Export the in-memory database over the JSONL if anything changed; True if written."""
    from beads.sync.export import export_jsonl

    if not tracker.store.dirty_marks():
        return False
    export_jsonl(tracker)
    return True


def _dir_prefix(workspace: Workspace) -> str:
    from beads.core.setup import default_prefix

    return default_prefix(workspace.root) if os.path.isdir(workspace.root) else "bd"
