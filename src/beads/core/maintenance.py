"""Maintenance use-cases: duplicate issues, issues whose work is already committed, old closed issues.

``find_duplicates`` groups open issues with the same content (title, description, design,
acceptance criteria and status) and picks the one to keep as the original does: the most
referenced in other issues' text, then the smallest ID. ``merge_duplicates`` closes the
others ("Duplicate of X") and links them to it with a ``related`` edge, in one transaction.
``committed_but_open`` finds open issues named in a git commit subject as ``(prefix-id)``.
"""

from __future__ import annotations

import re

from beads import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.core.tracker import Tracker

_REFERENCE = re.compile(r"\b[a-zA-Z][-a-zA-Z0-9]*-\d+\b")


def find_duplicates(tracker: Tracker) -> list[dict[str, Any]]:
    """Groups of open issues with identical content, each with its suggested target (JSON shape
    of the original's ``bd duplicates --json`` ``groups``)."""
    issues = tracker.store.all_issues(include_tombstones=False)
    # the original counts only numeric IDs (bd-12); hash IDs of this workspace (bd-a3f8.1) count too
    hashed = re.compile(r"\b" + re.escape(tracker.prefix) + r"-[a-z0-9]+(?:\.[0-9]+)*\b")
    refs: dict[str, int] = {}
    for issue in issues:
        for field in ("description", "design", "acceptance_criteria", "notes"):
            text = issue.get(field) or ""
            spans = {(m.start(), m.group()) for pat in (_REFERENCE, hashed) for m in pat.finditer(text)}
            for _, match in spans:
                refs[match] = refs.get(match, 0) + 1
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for issue in issues:
        if issue["status"] == model.STATUS_CLOSED:
            continue
        content = tuple(issue.get(k) or "" for k in ("title", "description", "design", "acceptance_criteria",
                                                     "status"))
        groups.setdefault(content, []).append(issue)
    out = []
    for members in sorted((sorted(g, key=lambda i: i["id"]) for g in groups.values() if len(g) > 1),
                          key=lambda g: (g[0]["title"], g[0]["id"])):
        target = min(members, key=lambda i: (-refs.get(i["id"], 0), i["id"]))["id"]
        sources = [i["id"] for i in members if i["id"] != target]
        out.append({
            "title": members[0]["title"],
            "issues": [{"id": i["id"], "title": i["title"], "status": i["status"], "priority": i["priority"],
                        "references": refs.get(i["id"], 0), "is_merge_target": i["id"] == target} for i in members],
            "suggested_target": target,
            "suggested_sources": sources,
            "suggested_action": f"bd close {' '.join(sources)} && bd dep add {' '.join(sources)} {target} --type related",
            "note": f"Duplicate: {' '.join(sources)} (same content as {target})",
        })
    return out


def merge_duplicates(tracker: Tracker, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Close every suggested source and link it to its target (``related``); all or nothing."""
    results = []
    with tracker.write():
        for group in groups:
            target, sources = group["suggested_target"], group["suggested_sources"]
            for source in sources:
                tracker.close(source, f"Duplicate of {target}")
                tracker.add_dependency(source, target, model.DEP_RELATED)
            results.append({"target": target, "sources": sources, "closed": list(sources), "linked": list(sources),
                            "errors": []})
    return results


def committed_but_open(tracker: Tracker, subjects: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Open or in-progress issues named ``(prefix-id)`` in a commit subject: their work looks done.

    ``subjects`` are ``(commit, subject)`` pairs, newest first; each issue keeps its newest commit.
    """
    prefix = tracker.prefix
    pattern = re.compile(r"\(" + re.escape(prefix) + r"-[a-z0-9.]+\)")
    latest: dict[str, tuple[str, str]] = {}
    for commit, subject in subjects:
        for match in pattern.findall(subject):
            latest.setdefault(match[1:-1], (commit, subject))
    if not latest:
        return []
    found = tracker.store.get_issues(sorted(latest))
    out = []
    for issue_id in sorted(found):
        issue = found[issue_id]
        if issue["status"] in model.READY_STATUSES:
            commit, subject = latest[issue_id]
            out.append({"issue_id": issue_id, "title": issue["title"], "status": issue["status"],
                        "latest_commit": commit, "latest_commit_message": subject})
    return out


def closed_before(tracker: Tracker, older_than_days: int, *, ephemeral_only: bool = False) -> tuple[list[str], int]:
    """Closed issues to clean up (closed more than N days ago; 0 = all) and how many pinned ones
    were left out (pinned issues are protected)."""
    import time

    from beads.query import IssueFilter
    from beads.timefmt import format_ns

    fields: dict[str, Any] = {"statuses": [model.STATUS_CLOSED], "limit": 0, "include_templates": True}
    if older_than_days > 0:
        fields["closed_before"] = format_ns(time.time_ns() - older_than_days * 86_400 * 10**9)
    issues = tracker.list(IssueFilter(**fields))
    if ephemeral_only:
        issues = [i for i in issues if i.get("ephemeral")]
    pinned = sum(1 for i in issues if i.get("pinned"))
    return sorted(i["id"] for i in issues if not i.get("pinned")), pinned


PREFIX_RULE = re.compile(r"^[a-z][a-z0-9-]*$")
_TEXT_KEYS = ("title", "description", "design", "notes", "acceptance_criteria", "close_reason")


def rename_prefix(tracker: Tracker, new_prefix: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Give every issue of the workspace prefix the new one: IDs, edges, labels, comments, events,
    text references (``old-abc`` → ``new-abc`` in titles, descriptions, notes… and comments) and
    ``issue_prefix``, in one transaction. The JSONL follows at the flush (old lines dropped)."""
    from beads import timefmt
    from beads.errors import Conflict, InvalidInput

    new_prefix = new_prefix.rstrip("-")
    if not PREFIX_RULE.match(new_prefix):
        raise InvalidInput(f"invalid prefix {new_prefix!r}: use lowercase letters, digits and '-', "
                           "starting with a letter")
    store = tracker.store
    with tracker.write():
        old_prefix = tracker.prefix
        if new_prefix == old_prefix:
            raise InvalidInput(f"the prefix is already {old_prefix!r}")
        start = old_prefix + "-"
        ids = [i for i in store.all_ids(include_tombstones=True) if i.startswith(start)]
        mapping = {old: new_prefix + old[len(old_prefix):] for old in ids}
        taken = [new for new in mapping.values() if store.issue_exists(new)]
        if taken:
            raise Conflict(f"cannot rename: {taken[0]} already exists")
        pattern = re.compile(r"(?<![\w.-])" + re.escape(start) + r"([a-z0-9]+(?:\.[0-9]+)*)\b")

        def swap(text: str) -> str:
            return pattern.sub(lambda m: new_prefix + "-" + m.group(1), text)

        result = {"old_prefix": old_prefix, "new_prefix": new_prefix, "issues": len(ids), "dry_run": dry_run,
                  "sample": [{"old": k, "new": mapping[k]} for k in ids[:5]]}
        if dry_run:
            return result
        now = timefmt.now()
        for old, new in mapping.items():
            store.rename_issue(old, new)
        texts_updated = 0
        for issue in store.all_issues(include_tombstones=True):
            changes = {k: swap(issue[k]) for k in _TEXT_KEYS if issue.get(k) and swap(issue[k]) != issue[k]}
            if changes:
                issue.update(changes)
                store.update_issue(issue["id"], changes, model.content_hash(issue), issue)
                texts_updated += 1
        for comments in store.comments_for(None).values():
            for comment in comments:
                text = swap(comment["text"] or "")
                if text != comment["text"]:
                    store.set_comment_text(comment["id"], text)
                    texts_updated += 1
        store.set_config("issue_prefix", new_prefix)
        store.mark_dirty(sorted(set(mapping) | set(mapping.values())), now)  # old IDs: lines to drop
        result["texts_updated"] = texts_updated
    return result
