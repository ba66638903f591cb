"""``bd sync --check``: the integrity pre-check, changing nothing (spec §8.6).

What would make a sync refuse, or carry damage to other clones:

* in ``issues.jsonl`` -- and, in sync-branch mode, in the sync branch's committed copy --
  lines the importer would refuse, git conflict markers and duplicate IDs, found line by
  line with ``bd doctor``'s rules (``doctor_jsonl.classify``, itself the importer's
  ``jsonl.parse_line``: one set of rules), and dependency edges to issues the file lacks;
* in the database, dependency edges to missing issues (``bd doctor``'s query).

Edges to ``external:`` references are never orphans, nor (in a file) edges to wisps, which
are never exported. The result is ``{"ok", "problems", "checked"}``; each problem names
where it is (``file:line`` or the database), its kind and a one-line message.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads import model
    from beads.core.tracker import Tracker

KINDS = ("invalid_record", "conflict_marker", "duplicate_id", "orphaned_dependency")


def check(tracker: Tracker) -> dict[str, Any]:
    from beads.sync.importer import vocab_of

    ws = tracker.workspace
    assert ws is not None
    vocab = vocab_of(tracker)
    problems: list[dict[str, Any]] = []
    checked: list[str] = []
    if os.path.exists(ws.jsonl_path):
        where = os.path.relpath(ws.jsonl_path, ws.root)
        checked.append(where)
        problems += check_file(tracker, ws.jsonl_path, where, vocab)
    copy = _sync_branch_copy(tracker)
    if copy is not None:
        where, data = copy
        checked.append(where)
        from beads.sync.syncmodes import temp_copy

        with temp_copy(data) as path:
            problems += check_file(tracker, path, where, vocab)
    checked.append("database")
    problems += check_database(tracker)
    return {"ok": not problems, "problems": problems, "checked": checked}


def check_file(tracker: Tracker, path: str, where: str, vocab: model.Vocab) -> list[dict[str, Any]]:
    from beads.sync import doctor_jsonl

    have: set[str] = set()
    edges: list[tuple[str, str, str]] = []

    def visit(rec: dict[str, Any]) -> None:  # records are not kept: 100,000 of them would be ~250 MB
        have.add(rec["id"])
        for dep in rec.get("dependencies") or ():
            target = dep.get("depends_on_id") if isinstance(dep, dict) else None
            if isinstance(target, str) and target and not target.startswith("external:"):
                edges.append((rec["id"], target, str(dep.get("type") or "blocks")))

    bad, _, _ = doctor_jsonl.classify(path, vocab, keep=False, visit=visit)
    problems = [{"kind": _kind(why), "where": where, "line": number, "message": why} for number, why in bad]
    orphans = [edge for edge in edges if edge[1] not in have]
    wisps = _wisps(tracker, {t for _, t, _ in orphans})
    for issue_id, target, kind in orphans:
        if target not in wisps:
            problems.append({"kind": "orphaned_dependency", "where": where, "issue": issue_id, "depends_on": target,
                             "type": kind, "message": f"{issue_id} depends on {target} ({kind}), which the file "
                                                      "does not have"})
    return problems


def check_database(tracker: Tracker) -> list[dict[str, Any]]:
    from beads.storage.sqlite import health

    return [{"kind": "orphaned_dependency", "where": "database", "issue": e["issue_id"],
             "depends_on": e["depends_on_id"], "type": e["type"],
             "message": f"{e['issue_id']} depends on {e['depends_on_id']} ({e['type']}), which does not exist"}
            for e in health.orphaned_dependencies(tracker.store)]


def _kind(why: str) -> str:
    if why.startswith("duplicate id"):
        return "duplicate_id"
    if "conflict marker" in why:
        return "conflict_marker"
    return "invalid_record"


def _wisps(tracker: Tracker, ids: set[str]) -> set[str]:
    """Which of ``ids`` are wisps in the database (never exported: an edge to one is no orphan)."""
    out: set[str] = set()
    for issue_id in sorted(ids):
        issue = tracker.store.get_issue(issue_id)
        if issue is not None and issue.get("ephemeral"):
            out.add(issue_id)
    return out


def _sync_branch_copy(tracker: Tracker) -> tuple[str, bytes] | None:
    """(``branch:path``, bytes) of the sync branch's committed JSONL, in sync-branch mode."""
    from beads.sync import syncbranch
    from beads.sync.git import find_git

    ws = tracker.workspace
    assert ws is not None
    name = syncbranch.branch_name(ws.beads_dir)
    git = find_git(ws.root) if name else None
    if git is None or name is None:
        return None
    data = git.show(f"refs/heads/{name}", ws.jsonl_path)
    return (f"{name}:{git.rel(ws.jsonl_path)}", data) if data is not None else None
