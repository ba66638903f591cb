"""Removals the 3-way merge made, applied to the database after a pull (spec §8.6, lessons A).

The import is additive, so it cannot see a removal; the 3-way merge can. ``bd sync``
and the post-merge hook (``bd sync --import-only --merged-from``) call this with what
this clone exported before the pull and the merged file.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.sync.linescan import Scan


def apply_removals(tracker: Tracker, left: list[dict[str, Any]], merged: list[dict[str, Any]], *,
                   skip: set[str] | frozenset[str] = frozenset()) -> int:
    """Remove labels and dependency edges that our export had and the merged file dropped.

    The import is additive, so it cannot see a removal; the 3-way merge can (a
    label gone from the merged line was removed on the other side, relative to the
    common base), and ``left`` is exactly what this database exported before the
    pull. Only issues present in both files are considered; issues themselves are
    never deleted here. Returns how many relations were removed.
    """
    from beads import model, timefmt
    from beads.sync.merge import collides, identity_key

    store = tracker.store
    merged_by_id = {r["id"]: r for r in merged if isinstance(r.get("id"), str)}
    # An id the merge gave to another clone's issue: ours moved to a new id (merge.resolve_collisions),
    # and is compared with its record there; the database still has it under the old id.
    by_identity: dict[Any, str] = {}
    for r in merged_by_id.values():
        key = identity_key(r)
        if key is not None:
            by_identity.setdefault(key, r["id"])
    moved: dict[str, str] = {}
    for old in left:
        other = merged_by_id.get(old.get("id"))  # type: ignore[arg-type]
        if other is not None and collides(old, other):
            key = identity_key(old)
            if key is not None and key in by_identity:
                moved[old["id"]] = by_identity[key]
    back = {new: old for old, new in moved.items()}
    count = 0
    graph_changed = False
    now = timefmt.now()
    with store.transaction():
        events: list[tuple[str, str, str, str | None, str]] = []
        for old in left:
            issue_id = old.get("id")
            if not isinstance(issue_id, str):
                continue
            rec = merged_by_id.get(moved.get(issue_id, issue_id))
            if rec is None or issue_id in skip or rec.get("status") == model.STATUS_TOMBSTONE or collides(old, rec):
                continue
            gone_labels = set(_strings(old.get("labels"))) - set(_strings(rec.get("labels")))
            for label in sorted(gone_labels):
                if store.remove_label(issue_id, label):
                    count += 1
                    events.append((issue_id, "label_removed", "sync", f"Removed label: {label}", now))
            old_deps = {(moved.get(target, target), dep_type) for target, dep_type in _dep_keys(old)}
            gone_deps = old_deps - _dep_keys(rec)
            for target, dep_type in sorted(gone_deps):
                target = back.get(target, target)
                if store.remove_dependency(issue_id, target, dep_type):
                    count += 1
                    graph_changed = True
                    events.append((issue_id, "dependency_removed", "sync",
                                   f"Removed dependency: {issue_id} -> {target} ({dep_type})", now))
        if events:
            store.add_events(events)
        if graph_changed:
            store.rebuild_blocked_cache()
    return count


def _strings(values: Any) -> list[str]:
    return [v for v in values or () if isinstance(v, str)]


def _dep_keys(rec: dict[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for dep in rec.get("dependencies") or ():
        if isinstance(dep, dict) and dep.get("depends_on_id"):
            out.add((dep["depends_on_id"], dep.get("type") or "blocks"))
    return out


# -- after a merge: only the lines that changed ----------------------------------------------------


def changed_lines(left: bytes, path: str, vocab: Any) -> Scan | None:
    """The merged file at ``path`` read against ``left`` (this clone's file before the merge):
    only the lines that are not byte-identical to one of ``left``'s are parsed and validated
    (``CorruptJSONL`` for a bad one, naming its line in the merged file). None if it is absent.

    A line both files share brings no removal and no record the clone did not have, so a pull
    that changed three lines of a 100,000-line file parses three records, not 100,000.
    """
    from beads.sync import linescan

    return linescan.scan_file(path, vocab, linescan.digest_map(left))


def removals_after_merge(tracker: Tracker, left: bytes, merged: Scan, *,
                         skip: set[str] | frozenset[str] = frozenset()) -> int:
    """``apply_removals`` for the issues whose line the merge changed (``changed_lines``)."""
    from beads.sync import linescan
    from beads.sync.merge import parse_records

    changed = {r["id"] for r in merged.records}
    if not changed:
        return 0
    # our lines for those issues (and any line whose ID cannot be read without parsing it)
    wanted = [line for line in left.split(b"\n") if line.strip()
              and (linescan.line_id(line) is None or linescan.line_id(line) in changed)]
    left_records, _ = parse_records(b"\n".join(wanted), "left")
    return apply_removals(tracker, left_records, merged.records, skip=skip)
