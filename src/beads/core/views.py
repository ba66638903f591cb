"""Read models: what ``list``, ``show``, ``ready``, ``blocked``, ``stats``… return.

Each returns JSON-ready dicts in the original's shapes (spec §7) so that every front
end (CLI, daemon, MCP) prints the same thing. Internal-only keys (``_content_hash``)
never leave this module.
"""

from __future__ import annotations

from beads import model
from beads.errors import InvalidInput, NotFound
from beads.query import IssueFilter, ReadyFilter
from beads.timefmt import instant_keys, to_ns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from beads.model import Issue
    from beads.storage.sqlite.store import SqliteStore

    Rows = list[dict[str, Any]]
    BlockedBrief = list[tuple[int, str, str, list[str]]]
    StrList = list[str]
    PairList = list[tuple[str, str]]


def wire(issue: Issue, labels: list[str] | None = None) -> dict[str, Any]:
    """The issue as JSON (struct order, empties omitted), with labels when given."""
    if labels is not None:
        issue = {**issue, "labels": labels}
    return model.to_wire(issue)


class Views:
    store: SqliteStore
    actor: str

    if TYPE_CHECKING:  # provided by Tracker
        def get(self, issue_id: str, *, resolve: bool = True) -> Issue: ...
        def resolve_id(self, text: str) -> str: ...

    def _with_labels(self, issues: list[Issue]) -> Rows:
        labels = self.store.labels_for([i["id"] for i in issues]) if issues else {}
        return [wire(i, labels.get(i["id"], [])) for i in issues]

    def list(self, filt: IssueFilter | None = None, **kwargs: Any) -> Rows:
        """Issues with ``labels``, ``dependency_count`` and ``dependent_count`` (spec §7.3)."""
        return [item for chunk in self.list_chunks(filt, **kwargs) for item in chunk]

    def list_chunks(self, filt: IssueFilter | None = None, **kwargs: Any) -> Iterator[Rows]:
        """``list`` a few hundred issues at a time, all from one read snapshot (for streaming)."""
        filt = filt or IssueFilter(**kwargs)
        if filt.parent_id:
            filt.parent_id = self.resolve_id(filt.parent_id)
        if filt.sort and filt.sort not in _SORTS:
            raise InvalidInput(f"invalid sort field '{filt.sort}'. Valid values: {', '.join(_SORTS)}")
        return self._list_chunks(filt)

    def _list_chunks(self, filt: IssueFilter) -> Iterator[Rows]:
        store = self.store
        with store.read_snapshot():
            for out in store.list_issue_chunks(filt, sparse=True):
                ids = [i["id"] for i in out]
                counts = store.dependency_counts(ids)
                labels = store.labels_for(ids)
                for n, item in enumerate(out):
                    item_labels = labels.get(item["id"])
                    if item_labels:  # the wire form ends before labels unless a later field is set
                        if item.keys() <= model.FIELDS_BEFORE_LABELS:
                            item["labels"] = item_labels
                        else:
                            out[n] = item = wire(item, item_labels)
                    item["dependency_count"], item["dependent_count"] = counts.get(item["id"], (0, 0))
                yield out

    def search(self, query: str, filt: IssueFilter | None = None) -> Rows:
        filt = filt or IssueFilter(limit=50)
        filt.query = query
        return self.list(filt)

    def count(self, filt: IssueFilter | None = None, group_by: str | None = None) -> dict[str, Any]:
        """``{count}``, or ``{total, groups}`` with the original's group names, sorted by name.

        Priorities are named ``P0``…``P4``, an empty assignee ``(unassigned)``; with
        ``label`` each label counts its issues and unlabelled ones count as ``(no labels)``.
        """
        filt = filt or IssueFilter()
        if group_by is not None and group_by not in _COUNT_GROUPS:
            raise InvalidInput(f"invalid group {group_by!r}. Valid values: {', '.join(_COUNT_GROUPS)}")
        if group_by is None:
            return {"count": self.store.count_issues(filt)[0][1]}
        counts: dict[str, int] = {}
        groups = self.store.count_issues(filt, group_by)
        # every issue is in exactly one group, except with labels (none, or several)
        total = self.store.count_issues(filt)[0][1] if group_by == "label" else sum(n for _, n in groups)
        for group, n in groups:
            if group_by == "priority":
                group = f"P{group}"
            elif group_by == "assignee" and not group:
                group = "(unassigned)"
            counts[group] = counts.get(group, 0) + n
        if group_by == "label":
            unlabelled = self.store.count_issues(_with(filt, no_labels=True))[0][1]
            if unlabelled:
                counts["(no labels)"] = unlabelled
        return {"total": total, "groups": [{"group": g, "count": counts[g]} for g in sorted(counts)]}

    def show(self, issue_id: str) -> dict[str, Any]:
        """One issue with labels, dependencies/dependents as full issues, comments, parent (spec §7.4)."""
        issue = self.get(issue_id)
        real = issue["id"]
        store = self.store
        out = wire(issue, store.labels_of(real))
        deps = store.dependencies_of(real)
        dependents = store.dependents_of(real)
        others = store.get_issues([d["depends_on_id"] for d in deps] + [d["issue_id"] for d in dependents])
        # as in the original (a JOIN on issues), external or dangling ends are not listed here:
        # every element is a full issue, which is what readers such as beads-mcp validate
        out["dependencies"] = [_related(others[d["depends_on_id"]], d["type"]) for d in deps
                               if d["depends_on_id"] in others]
        out["dependents"] = [_related(others[d["issue_id"]], d["type"]) for d in dependents
                             if d["issue_id"] in others]
        out["comments"] = store.comments_of(real)
        parent = next((d["depends_on_id"] for d in deps if d["type"] == model.DEP_PARENT_CHILD), None)
        if parent:
            out["parent"] = parent
        for key in ("dependencies", "dependents", "comments"):
            if not out[key]:
                del out[key]
        return out

    def ready(self, filt: ReadyFilter | None = None, **kwargs: Any) -> Rows:
        """Unblocked open work (spec §4 GetReadyWork), with labels."""
        filt = filt or ReadyFilter(**kwargs)
        if filt.sort_policy not in model.SORT_POLICIES:
            raise InvalidInput(f"invalid sort policy '{filt.sort_policy}'. Valid values: hybrid, priority, oldest")
        if filt.parent_id:
            filt.parent_id = self.resolve_id(filt.parent_id)
        return self._with_labels(self.store.ready_issues(filt))

    def blocked(self, parent_id: str | None = None) -> Rows:
        """Issues blocked by ``blocks`` edges or marked blocked/deferred, with ``blocked_by``."""
        return [item for chunk in self.blocked_chunks(parent_id) for item in chunk]

    def blocked_chunks(self, parent_id: str | None = None) -> Iterator[Rows]:
        """``blocked`` a few hundred issues at a time, all from one read snapshot (for streaming)."""
        if parent_id:
            parent_id = self.resolve_id(parent_id)
        return self._blocked_chunks(parent_id)

    def blocked_brief(self, parent_id: str | None = None) -> BlockedBrief:
        """``blocked`` as (priority, id, title, blocker IDs): the text listing's columns only."""
        if parent_id:
            parent_id = self.resolve_id(parent_id)
        with self.store.read_snapshot():
            return [row for chunk in self.store.blocked_brief_chunks(parent_id) for row in chunk]

    def _blocked_chunks(self, parent_id: str | None) -> Iterator[Rows]:
        store = self.store
        with store.read_snapshot():
            for rows in store.blocked_issue_chunks(parent_id):
                labels = store.labels_for([i["id"] for i, _ in rows])
                out = []
                for issue, blockers in rows:
                    item = wire(issue, labels.get(issue["id"], []))
                    item["blocked_by_count"] = len(blockers)
                    item["blocked_by"] = blockers
                    out.append(item)
                yield out

    def stats(self) -> dict[str, Any]:
        """The flat Statistics object (spec §4).

        ``ready_issues`` and ``blocked_issues`` are exactly ``len(ready(limit=0))`` and
        ``len(blocked())``: counted by the same conditions (and the same blocked cache), so the
        summary never contradicts the lists (the original's counts ignored parent-child
        propagation and deferral). The figures are kept until a write changes their inputs
        (``storage/sqlite/statscache.py``).
        """
        store = self.store
        with store.read_snapshot():
            stats = store.cached_stats("stats")
            if stats is None:
                valid_until = store.ready_valid_until()  # first: a deferral ending meanwhile expires the entry
                stats = store.statistics()
                stats["ready_issues"] = store.count_ready(ReadyFilter(limit=0))
                stats["blocked_issues"] = store.count_blocked()
                stats.pop("_by_status", None)
                store.keep_stats(stats, valid_until, "stats")
        return stats

    def total_issues(self) -> int:
        """``stats()["total_issues"]`` (every issue but tombstones) without the other figures."""
        store = self.store
        with store.read_snapshot():
            stats = store.cached_stats("stats")
            if stats is not None:
                return int(stats["total_issues"])
            return store.count_issues(IssueFilter(include_templates=True, include_ephemeral=True))[0][1]

    def assigned_stats(self, assignee: str) -> dict[str, Any]:
        """Statistics over the issues assigned to ``assignee`` (``bd status --assigned``).

        As in the original only the status counts and ``ready_issues`` are computed;
        the other keys are zero.
        """
        by_status = dict(self.store.count_issues(IssueFilter(assignee=assignee), "status"))
        ready = self.store.ready_issues(ReadyFilter(assignee=assignee, limit=0))
        return {
            "total_issues": sum(by_status.values()),
            "open_issues": by_status.get(model.STATUS_OPEN, 0),
            "in_progress_issues": by_status.get(model.STATUS_IN_PROGRESS, 0),
            "closed_issues": by_status.get(model.STATUS_CLOSED, 0),
            "blocked_issues": by_status.get(model.STATUS_BLOCKED, 0),
            "deferred_issues": by_status.get(model.STATUS_DEFERRED, 0),
            "ready_issues": len(ready),
            "tombstone_issues": 0,
            "pinned_issues": 0,
            "epics_eligible_for_closure": 0,
            "average_lead_time_hours": 0.0,
        }

    def stale(self, days: int = 30, status: str | None = None, limit: int = 50) -> Rows:
        if days < 0:
            raise InvalidInput("--days must be >= 0")
        if status and status not in _STALE_STATUSES:
            raise InvalidInput(f"invalid status '{status}'. Valid values: {', '.join(_STALE_STATUSES)}")
        return self._with_labels(self.store.stale_issues(days, status, limit))

    def epic_status(self, eligible_only: bool = False) -> Rows:
        """Open epics with their child counts (closed epics are done and not listed)."""
        out = []
        # the original's order: priority, then oldest first
        rows = self.store.epic_progress()
        when = instant_keys([row[0]["created_at"] for row in rows])
        order = sorted(range(len(rows)), key=lambda k: (rows[k][0]["priority"], when[k]))
        for epic, total, closed in (rows[k] for k in order):  # open epics, already in their wire form
            eligible = total > 0 and total == closed
            if eligible_only and not eligible:
                continue
            out.append({"epic": epic, "total_children": total, "closed_children": closed,
                        "eligible_for_close": eligible})
        return out

    def unblocked_by(self, closed_id: str) -> Rows:
        """Issues that had a ``blocks`` edge to ``closed_id`` and are now ready (``close --suggest-next``)."""
        blocked = self.store.blocked_ids()
        candidates = [d["issue_id"] for d in self.store.dependents_of(closed_id) if d["type"] == model.DEP_BLOCKS]
        issues = self.store.get_issues(candidates)
        ready = [issues[i] for i in candidates if i in issues and i not in blocked
                 and issues[i]["status"] in model.READY_STATUSES and not issues[i].get("pinned")]
        return self._with_labels(ready)

    def is_ready(self, issue_id: str) -> bool:
        """Whether ``bd ready`` (no filters) would offer this issue."""
        issue = self.get(issue_id)
        return (issue["status"] in model.READY_STATUSES and not issue.get("pinned") and not issue.get("ephemeral")
                and not issue.get("is_template") and not self.store.is_blocked(issue["id"])
                and not (issue.get("defer_until") and _in_future(issue["defer_until"])))

    def issues_json(self, ids: StrList) -> Rows:
        """Full issues with labels, in the order given (for update/close/reopen output)."""
        found = self.store.get_issues(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"issue {missing[0]} not found")
        return self._with_labels([found[i] for i in ids])


    def edges_among(self, ids: StrList) -> Rows:
        """``{issue_id, depends_on_id, type}`` of the edges whose both ends are in ``ids``, in the order
        of ``ids`` (``list --pretty`` trees, ``list --format dot|digraph``). A long list reads the whole
        table in one scan instead of hundreds of ``IN (...)`` queries."""
        if not ids:
            return []
        wanted = set(ids)
        by_issue: dict[str, list[tuple[str, str, str]]] = {}
        for edge in self.store.edge_triples(None if len(ids) > 5000 else ids):
            if edge[0] in wanted and edge[1] in wanted:
                by_issue.setdefault(edge[0], []).append(edge)
        return [{"issue_id": e[0], "depends_on_id": e[1], "type": e[2]} for i in ids for e in by_issue.get(i, ())]


def _in_future(stamp: str) -> bool:
    import time

    ns = to_ns(stamp)
    return ns is not None and ns > time.time_ns()


_SORTS = ("priority", "created", "updated", "closed", "status", "id", "title", "type", "assignee")
_COUNT_GROUPS = ("status", "priority", "type", "assignee", "label")
_STALE_STATUSES = ("open", "in_progress", "blocked", "deferred")


def _with(filt: IssueFilter, **changes: Any) -> IssueFilter:
    """A copy of ``filt`` with some fields changed."""
    fields = {name: getattr(filt, name) for name in IssueFilter._defaults}
    fields.update(changes)
    return IssueFilter(**fields)


def _related(issue: Issue, dep_type: str) -> dict[str, Any]:
    item = wire(issue)
    item["dependency_type"] = dep_type
    return item
