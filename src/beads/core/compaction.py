"""Compaction ("memory decay", spec §10.1) without an API key: an agent writes the summary.

``candidates`` lists closed issues old enough to summarise, with their full text (``bd compact
--analyze --json``); ``apply`` stores an agent's summary in place of the text, keeps the original
in ``compaction_snapshots`` and marks the issue (``compaction_level``, ``compacted_at``,
``original_size``); ``restore`` brings the newest snapshot back. ``prune`` removes tombstones past
their time to live. Tier 1: closed ≥ ``compact_tier1_days`` (30) days, never compacted, and no open
issue depends on it within ``compact_tier1_dep_levels`` (2) levels; tier 2: already at level 1,
closed ≥ 90 days, 5 levels. Pinned issues are never candidates.
"""

from __future__ import annotations

import json
import time

from beads import model, timefmt
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.model import Issue

TEXT_FIELDS = ("description", "design", "notes", "acceptance_criteria")
DAY_NS = 86_400 * 10**9
TOMBSTONE_TTL_DAYS = 30


def size_of(issue: Issue) -> int:
    return sum(len((issue.get(k) or "").encode()) for k in TEXT_FIELDS)


def _tier_rules(tracker: Tracker, tier: int) -> tuple[int, int]:
    if tier not in (1, 2):
        raise InvalidInput("--tier must be 1 or 2")
    days_key, levels_key, days, levels = (("compact_tier1_days", "compact_tier1_dep_levels", 30, 2) if tier == 1
                                          else ("compact_tier2_days", "compact_tier2_dep_levels", 90, 5))

    def number(key: str, default: int) -> int:
        value = tracker.store.get_config(key)
        return int(value) if value and value.isdigit() else default

    return number(days_key, days), number(levels_key, levels)


def check(tracker: Tracker, issue: Issue, tier: int, now_ns: int | None = None) -> str | None:
    """Why ``issue`` is not a tier ``tier`` candidate, or None when it is."""
    days, levels = _tier_rules(tracker, tier)
    now = time.time_ns() if now_ns is None else now_ns
    if issue["status"] != model.STATUS_CLOSED:
        return "it is not closed"
    if issue.get("pinned"):
        return "it is pinned"
    level = issue.get("compaction_level") or 0
    if tier == 1 and level:
        return "it is already compacted"
    if tier == 2 and level != 1:
        return "tier 2 applies to issues compacted once (level 1)"
    closed = timefmt.to_ns(issue.get("closed_at")) or now
    if now - closed < days * DAY_NS:
        return f"it was closed less than {days} days ago"
    waiting = _open_dependents(tracker, issue["id"], levels)
    if waiting:
        return f"open work depends on it within {levels} levels ({waiting})"
    return None


def _open_dependents(tracker: Tracker, issue_id: str, levels: int) -> str | None:
    store = tracker.store
    frontier, seen = [issue_id], {issue_id}
    for _ in range(levels):
        nxt = []
        for current in frontier:
            for dep in store.dependents_of(current):
                other = dep["issue_id"]
                if other in seen:
                    continue
                seen.add(other)
                nxt.append(other)
        found = store.get_issues(nxt)
        for other in sorted(found):
            if found[other]["status"] not in (model.STATUS_CLOSED, model.STATUS_TOMBSTONE):
                return other
        frontier = nxt
    return None


def candidates(tracker: Tracker, tier: int = 1, limit: int = 0) -> list[dict[str, Any]]:
    """Every tier ``tier`` candidate with its full text, oldest closed first (``--analyze``)."""
    from beads.query import IssueFilter

    now = time.time_ns()
    closed = tracker.store.list_issues(IssueFilter(statuses=[model.STATUS_CLOSED], limit=0, include_templates=True))
    out = []
    for issue in sorted(closed, key=lambda i: (timefmt.to_ns(i.get("closed_at")) or 0, i["id"])):
        if check(tracker, issue, tier, now) is None:
            out.append(_candidate(issue, tier, now))
            if limit and len(out) >= limit:
                break
    return out


def _candidate(issue: Issue, tier: int, now: int) -> dict[str, Any]:
    closed = timefmt.to_ns(issue.get("closed_at")) or now
    return {"id": issue["id"], "title": issue["title"], **{k: issue.get(k) or "" for k in TEXT_FIELDS},
            "size_bytes": size_of(issue), "age_days": (now - closed) // DAY_NS, "tier": tier,
            "compacted": bool(issue.get("compaction_level"))}


def analyze_one(tracker: Tracker, issue_id: str, tier: int = 1) -> dict[str, Any]:
    return _candidate(tracker.get(issue_id), tier, time.time_ns())


def stats(tracker: Tracker) -> dict[str, Any]:
    out = {}
    for tier in (1, 2):
        found = candidates(tracker, tier)
        out[f"tier{tier}"] = {"candidates": len(found), "total_size": sum(c["size_bytes"] for c in found)}
    return out


def apply(tracker: Tracker, issue_id: str, summary: str, *, tier: int = 1, force: bool = False,
          commit: str | None = None) -> dict[str, Any]:
    """Replace the issue's text by ``summary`` (kept: the original, in a snapshot)."""
    if not summary.strip():
        raise InvalidInput("the summary is empty")
    store = tracker.store
    with tracker.write():
        issue = tracker.get(issue_id)
        real = issue["id"]
        original = size_of(issue)
        compacted = len(summary.encode())
        if not force:
            why = check(tracker, issue, tier)
            if why:
                raise InvalidInput(f"{real} is not eligible for Tier {tier} compaction: {why}",
                                   hint="use --force to bypass eligibility checks")
            if compacted >= original:
                raise InvalidInput(f"summary ({compacted} bytes) is not shorter than original ({original} bytes)",
                                   hint="use --force to bypass size validation")
        now = timefmt.now()
        snapshot = {"title": issue["title"], **{k: issue.get(k) or "" for k in TEXT_FIELDS},
                    "compaction_level": issue.get("compaction_level") or 0, "compacted_at": issue.get("compacted_at"),
                    "compacted_at_commit": issue.get("compacted_at_commit"),
                    "original_size": issue.get("original_size")}
        store.add_compaction_snapshot(real, tier, json.dumps(snapshot, ensure_ascii=False), now)
        tracker.update(real, description=summary, design="", notes="", acceptance_criteria="")
        _set(tracker, real, {"compaction_level": tier, "compacted_at": now, "compacted_at_commit": commit,
                             "original_size": original})
        saved = original - compacted
        pct = saved * 100 / original if original else 0.0
        store.add_comment(real, tracker.actor, f"Tier {tier} compaction: {original} → {compacted} bytes (saved "
                                               f"{saved}, {pct:.1f}%)", now)
        store.add_event(real, "compacted", tracker.actor, now, comment=f"tier {tier}")
    return {"success": True, "issue_id": real, "tier": tier, "original_size": original,
            "compacted_size": compacted, "saved_bytes": saved, "reduction_pct": round(pct, 1)}


def _set(tracker: Tracker, issue_id: str, values: dict[str, Any]) -> None:
    store = tracker.store
    issue = store.get_issue(issue_id)
    assert issue is not None
    issue.update(values)
    store.update_issue(issue_id, values, model.content_hash(issue), issue)
    store.mark_dirty([issue_id], timefmt.now())


def restore(tracker: Tracker, issue_id: str) -> dict[str, Any]:
    """Bring back the text from before the issue's last compaction (and its earlier compaction marks)."""
    store = tracker.store
    with tracker.write():
        real = tracker.get(issue_id)["id"]
        found = store.latest_compaction_snapshot(real)
        if found is None:
            raise InvalidInput(f"{real} has no compaction snapshot to restore")
        snapshot = json.loads(found[1])
        tracker.update(real, **{k: snapshot.get(k) or "" for k in TEXT_FIELDS})
        _set(tracker, real, {"compaction_level": snapshot.get("compaction_level") or 0,
                             "compacted_at": snapshot.get("compacted_at"),
                             "compacted_at_commit": snapshot.get("compacted_at_commit"),
                             "original_size": snapshot.get("original_size")})
        store.drop_compaction_snapshot(real)
        store.add_event(real, "restored", tracker.actor, timefmt.now())
    return tracker.issues_json([real])[0]


def expired_tombstones(tracker: Tracker, older_than_days: int = TOMBSTONE_TTL_DAYS) -> list[str]:
    cutoff = time.time_ns() - older_than_days * DAY_NS
    return sorted(i["id"] for i in tracker.store.all_issues(include_tombstones=True)
                  if i["status"] == model.STATUS_TOMBSTONE and (timefmt.to_ns(i.get("deleted_at")) or 0) <= cutoff)
