"""Repairs ``bd doctor --fix`` applies to the data, as use-cases over the Tracker (one
transaction each, audited and marked for export like any other write)."""

from __future__ import annotations

from beads import model, timefmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.core.tracker import Tracker


def remove_orphaned_dependencies(tracker: Tracker, edges: list[dict[str, Any]]) -> int:
    """Remove edges whose target issue does not exist (``storage.sqlite.health.orphaned_dependencies``)."""
    removed = 0
    with tracker.write():
        store = tracker.store
        now = timefmt.now()
        sources: set[str] = set()
        for edge in edges:
            src, dst = edge["issue_id"], edge["depends_on_id"]
            if store.issue_exists(dst) or dst.startswith("external:"):
                continue  # no longer dangling
            types = store.remove_dependency(src, dst, edge.get("type"))
            if not types:
                continue
            removed += 1
            sources.add(src)
            store.add_event(src, "dependency_removed", tracker.actor, now,
                            comment=f"Removed dependency on missing issue {dst} (bd doctor --fix)")
            for dep_type in types:
                if dep_type in model.BLOCKING_DEP_TYPES:
                    tracker._edge_changed(src, dep_type)
        for src in sorted(sources):
            tracker._touch(src, now)
        if sources:
            store.mark_dirty(sorted(sources), now)
    return removed
