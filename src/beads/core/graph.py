"""Dependency use-cases: add/remove edges with the graph rules, relate, trees and cycles.

Rules (spec §4): no self-dependencies; no cycles for any type except ``relates-to``
(the message names the path); an epic cannot be the child of a non-epic; an issue
cannot explicitly depend on its own hierarchical ancestor.

The blocked cache is kept exact inside each write's transaction, at the smallest cost
that stays exact (docs/PERFORMANCE.md): a new ``blocks`` edge or an unblocked child is
applied in place; a changed edge or a blocker's status change names *seeds* whose
blockedness may have changed, and only they and their descendants are recomputed at
commit (``_cache_seeds``); anything else marks the cache stale for a full rebuild.
"""

from __future__ import annotations

import json

from beads import ids as idgen
from beads import model, timefmt
from beads.errors import Conflict, CycleError, InvalidInput, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.model import Issue
    from beads.storage.sqlite.store import SqliteStore


class GraphOps:
    store: SqliteStore
    actor: str
    _cache_stale: bool
    _cache_seeds: set[str]

    if TYPE_CHECKING:  # provided by Tracker / Views; not defined at runtime so the MRO finds theirs
        def resolve_id(self, text: str) -> str: ...
        def get(self, issue_id: str, *, resolve: bool = True) -> Issue: ...
        def write(self) -> Any: ...
        def close(self, issue_id: str, reason: str | None = None, *, force: bool = False,
                  session: str | None = None) -> Issue: ...
        def epic_status(self, eligible_only: bool = False) -> list[dict[str, Any]]: ...
        def _touch(self, issue_id: str, now: str) -> None: ...

    def add_dependency(self, issue_id: str, depends_on_id: str, dep_type: str = model.DEP_BLOCKS, *,
                       metadata: dict[str, Any] | str | None = None) -> dict[str, Any]:
        """``issue_id`` depends on (is blocked by) ``depends_on_id``."""
        dep_type = model.validate_dep_type(dep_type)
        with self.write():
            src = self.resolve_id(issue_id)
            if depends_on_id.startswith("external:"):
                _validate_external(depends_on_id)
                dst = depends_on_id
            else:
                dst = self.resolve_id(depends_on_id)
            md = metadata if isinstance(metadata, str) or metadata is None else json.dumps(metadata)
            now = timefmt.now()
            dep = self._add_dependency(src, dst, dep_type, md, now, check_hierarchy=True)
            self._touch(src, now)  # the edge is part of src's record: a newer record carries it to other clones
            return dep

    def _add_dependency(self, src: str, dst: str, dep_type: str, metadata: str | None, now: str, *,
                        check_hierarchy: bool) -> dict[str, Any]:
        store = self.store
        if src == dst:
            raise InvalidInput("issue cannot depend on itself")
        external = dst.startswith("external:")
        if not external and not store.issue_exists(dst):
            raise NotFound(f"dependency target {dst} not found")
        if check_hierarchy and dep_type != model.DEP_PARENT_CHILD and src.startswith(dst + "."):
            raise InvalidInput(
                f"cannot add dependency: {src} is already a child of {dst}. Children inherit dependency on parent "
                "completion via hierarchy. Adding an explicit dependency would create a deadlock")
        if dep_type == model.DEP_PARENT_CHILD and not external:
            child, parent = store.get_issue(src), store.get_issue(dst)
            if child and parent and child["issue_type"] == "epic" and parent["issue_type"] != "epic":
                raise InvalidInput(
                    f"invalid parent-child dependency: parent ({src}) cannot depend on child ({dst}). "
                    f"Use: bd dep add {dst} {src} --type parent-child")
        if dep_type != model.DEP_RELATES_TO and not external and store.reaches(dst, src):
            path = self._cycle_path(dst, src)
            raise CycleError(f"cannot add dependency: would create a cycle ({' → '.join([src, *path])})")
        dep = {"issue_id": src, "depends_on_id": dst, "type": dep_type, "created_at": now,
               "created_by": self.actor, "metadata": metadata or "{}", "thread_id": ""}
        acyclic = store.graph_known_acyclic()
        if not store.add_dependency(dep):
            raise Conflict(f"dependency {src} → {dst} ({dep_type}) already exists")
        if acyclic:  # the cycle check above held: still no cycle anywhere
            store.mark_graph_acyclic()
        store.add_event(src, "dependency_added", self.actor, now, comment=f"Added dependency: {src} {dep_type} {dst}")
        store.mark_dirty([src] if external else [src, dst], now)
        if dep_type in model.BLOCKING_DEP_TYPES:
            self._edge_added_to_cache(src, dst, dep_type)
        return dep

    def _edge_added_to_cache(self, src: str, dst: str, dep_type: str) -> None:
        """Keep the blocked cache exact after a new edge: in place when that is cheap, else rebuild at commit.

        A ``blocks`` edge can only make ``src`` a new blocked root (and block its parent-child
        descendants). A ``parent-child`` edge under an unblocked parent changes nothing unless
        some ``waits-for`` gate counts children. Everything else is rebuilt in full.
        """
        if self._cache_stale:
            return
        if dep_type == model.DEP_BLOCKS:
            if not dst.startswith("external:"):
                self.store.block_subtree_if_blocker_open(src, dst)
            return
        if dep_type == model.DEP_PARENT_CHILD and not self.store.is_blocked(dst) \
                and not self.store.has_edges_of_type(model.DEP_WAITS_FOR):
            return
        self._edge_changed(src, dep_type)

    def _edge_changed(self, src: str, dep_type: str) -> None:
        """An edge of ``src`` of a blocking type appeared or went: ``src`` and its descendants are
        recomputed at commit; a changed parent-child edge also moves the children counted by gates."""
        self._cache_seeds.add(src)
        if dep_type == model.DEP_PARENT_CHILD and self.store.has_edges_of_type(model.DEP_WAITS_FOR):
            self._cache_seeds.update(self.store.waits_for_sources())

    def _blocker_changed(self, issue_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        """After a status (or close reason) change: recompute only the issues it can block or release."""
        if blocker_key(old) == blocker_key(new):
            return  # e.g. open -> in_progress: blocks exactly as before
        self._cache_seeds.update(self.store.blocking_dependents(issue_id))
        if self.store.has_edges_of_type(model.DEP_WAITS_FOR) and self.store.parent_of(issue_id):
            self._cache_seeds.update(self.store.waits_for_sources())

    def _cycle_path(self, start: str, goal: str) -> list[str]:
        """Shortest path start → … → goal over the edges reachable from start."""
        adjacency: dict[str, list[str]] = {}
        for a, b in self.store.edges_reachable_from(start):
            adjacency.setdefault(a, []).append(b)
        previous: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            node = queue.pop(0)
            if node == goal:
                break
            for nxt in adjacency.get(node, []):
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        path: list[str] = []
        step: str | None = goal
        while step is not None:
            path.append(step)
            step = previous.get(step)
        return list(reversed(path))

    def remove_dependency(self, issue_id: str, depends_on_id: str, dep_type: str | None = None) -> list[str]:
        with self.write():
            src = self.resolve_id(issue_id)
            dst = depends_on_id if depends_on_id.startswith("external:") else self.resolve_id(depends_on_id)
            removed = self.store.remove_dependency(src, dst, dep_type)
            if not removed:
                raise NotFound(f"dependency from {src} to {dst} does not exist")
            now = timefmt.now()
            self.store.add_event(src, "dependency_removed", self.actor, now, comment=f"Removed dependency on {dst}")
            self._touch(src, now)
            self.store.mark_dirty([src] if dst.startswith("external:") else [src, dst], now)
            for dep_type in removed:
                if dep_type in model.BLOCKING_DEP_TYPES:
                    self._edge_changed(src, dep_type)
        return removed

    def relate(self, a: str, b: str) -> tuple[str, str]:
        """Bidirectional ``relates-to`` link (no cycle check); returns the resolved IDs."""
        with self.write():
            ra, rb = self.resolve_id(a), self.resolve_id(b)
            if ra == rb:
                raise InvalidInput("cannot relate an issue to itself")
            now = timefmt.now()
            for src, dst in ((ra, rb), (rb, ra)):
                if not any(d["depends_on_id"] == dst and d["type"] == model.DEP_RELATES_TO
                           for d in self.store.dependencies_of(src)):
                    self._add_dependency(src, dst, model.DEP_RELATES_TO, None, now, check_hierarchy=False)
                    self._touch(src, now)
        return ra, rb

    def unrelate(self, a: str, b: str) -> tuple[str, str]:
        with self.write():
            ra, rb = self.resolve_id(a), self.resolve_id(b)
            removed = self.store.remove_dependency(ra, rb, model.DEP_RELATES_TO)
            removed += self.store.remove_dependency(rb, ra, model.DEP_RELATES_TO)
            if not removed:
                raise NotFound(f"{ra} and {rb} are not related")
            now = timefmt.now()
            self.store.mark_dirty([ra, rb], now)
            for issue_id in (ra, rb):
                self._touch(issue_id, now)
        return ra, rb

    def mark_duplicate(self, duplicate: str, canonical: str) -> tuple[str, str]:
        """Link ``duplicate`` to ``canonical`` with a ``duplicates`` edge and close it (lessons J)."""
        return self._link_and_close(duplicate, canonical, model.DEP_DUPLICATES, "duplicate of itself",
                                    "canonical issue not found", "Duplicate of {}")

    def mark_superseded(self, old: str, new: str) -> tuple[str, str]:
        """Link ``old`` to its replacement ``new`` with a ``supersedes`` edge and close it."""
        return self._link_and_close(old, new, model.DEP_SUPERSEDES, "superseded by itself",
                                    "replacement issue not found", "Superseded by {}")

    def _link_and_close(self, source: str, target: str, dep_type: str, self_msg: str, missing_msg: str,
                        reason: str) -> tuple[str, str]:
        with self.write():
            src = self.resolve_id(source)
            try:
                dst = self.resolve_id(target)
            except NotFound:
                raise NotFound(f"{missing_msg}: {target}") from None
            if src == dst:
                raise InvalidInput(f"cannot mark an issue as {self_msg}")
            now = timefmt.now()
            already = any(d["depends_on_id"] == dst and d["type"] == dep_type
                          for d in self.store.dependencies_of(src))
            if not already:
                self._add_dependency(src, dst, dep_type, None, now, check_hierarchy=False)
                self._touch(src, now)
            if self.get(src, resolve=False)["status"] != model.STATUS_CLOSED:
                self.close(src, reason.format(dst), force=True)
        return src, dst

    def close_eligible_epics(self, *, dry_run: bool = False) -> list[dict[str, Any]]:
        """Close every open epic whose children are all closed; returns their epic-status entries."""
        with self.write():
            eligible = self.epic_status(eligible_only=True)
            if not dry_run:
                for entry in eligible:
                    self.close(entry["epic"]["id"], "All children completed")
        return eligible

    def _set_parent(self, issue_id: str, parent: str, now: str) -> None:
        """Replace the first parent-child edge of ``issue_id`` (empty ``parent`` removes it)."""
        current = self.store.parent_of(issue_id)
        if current:
            self.store.remove_dependency(issue_id, current, model.DEP_PARENT_CHILD)
            self.store.mark_dirty([issue_id, current], now)
            self._edge_changed(issue_id, model.DEP_PARENT_CHILD)
        if parent:
            target = self.resolve_id(parent)
            self._add_dependency(issue_id, target, model.DEP_PARENT_CHILD, None, now, check_hierarchy=False)

    # -- reading the graph ------------------------------------------------------------------

    def dep_tree(self, issue_id: str, *, direction: str = "down", max_depth: int = 50,
                 show_all_paths: bool = False, status: str | None = None) -> list[dict[str, Any]]:
        """Tree nodes: issue fields + ``depth`` (root 0), ``parent_id`` and ``truncated``."""
        if direction not in ("down", "up", "both"):
            raise InvalidInput("--direction must be 'down', 'up', or 'both'")
        if max_depth < 1:
            raise InvalidInput("--max-depth must be >= 1")
        root = self.get(issue_id)
        directions = ["down", "up"] if direction == "both" else [direction]
        nodes: list[dict[str, Any]] = [_node(root, 0, root["id"], False)]
        for way in directions:
            seen = {root["id"]}
            frontier = [root["id"]]
            depth = 0
            while frontier and depth < max_depth:
                depth += 1
                nxt: list[str] = []
                for current in frontier:
                    edges = self.store.dependencies_of(current) if way == "down" else self.store.dependents_of(current)
                    for edge in edges:
                        other = edge["depends_on_id"] if way == "down" else edge["issue_id"]
                        if other in seen and not show_all_paths:
                            continue
                        if other.startswith("external:"):
                            issue = model.new_issue(id=other, title=f"(external) {other}", status="open",
                                                    created_at="", updated_at="")
                        else:
                            found = self.store.get_issue(other)
                            if found is None:
                                continue
                            issue = found
                        seen.add(other)
                        nodes.append(_node(issue, depth, current, depth == max_depth))
                        if not other.startswith("external:"):
                            nxt.append(other)
                frontier = nxt
        root_node, rest = nodes[0], nodes[1:]
        rest.sort(key=lambda n: (n["depth"], n["issue"]["priority"], n["issue"]["id"]))
        tree = [root_node, *rest]
        return _keep_status(tree, status) if status else tree

    def find_cycles(self, *, thorough: bool = False) -> list[list[str]]:
        """Every cycle (as an ID path) among non-``relates-to`` edges, one per strongly connected group.

        None when the graph is known acyclic: the store drops that mark with every edge it adds,
        and a cycle check or search that found nothing sets it again (a search only if nothing
        was committed since its snapshot). ``thorough`` walks the graph whatever the mark says
        (``bd doctor``: another writer may have added edges behind our back)."""
        store = self.store
        with store.read_snapshot():
            if not thorough and store.graph_known_acyclic():
                return []
            adjacency: dict[str, list[str]] = {}
            for a, b, _ in store.all_edges():
                adjacency.setdefault(a, []).append(b)
            cycles = []
            for component in _strongly_connected(_cyclic_core(adjacency)):
                if len(component) > 1 or component[0] in adjacency.get(component[0], []):
                    cycles.append(_cycle_in(component, adjacency))
            if not cycles:
                store.keep_graph_acyclic()
        return cycles


    def cycles_after_add(self) -> list[list[str]]:
        """``find_cycles`` for the warning after ``add_dependency``. An add refuses cycles, so only an
        import can bring one in: a graph once found acyclic is not walked again (a whole-graph walk on
        every ``dep add``) until an import adds edges."""
        if self.store.graph_known_acyclic():
            return []
        cycles = self.find_cycles()
        if not cycles:
            with self.write():
                self.store.mark_graph_acyclic()
        return cycles

    def cycle_issues(self) -> list[list[Issue]]:
        """``find_cycles`` with each ID replaced by its issue (``bd dep cycles --json``)."""
        cycles = self.find_cycles()
        found = self.store.get_issues(sorted({i for c in cycles for i in c})) if cycles else {}
        return [[found[i] for i in cycle if i in found] for cycle in cycles]


def _keep_status(tree: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    """Nodes with ``status`` plus their ancestors, so the filtered tree stays connected."""
    parent_of = {n["issue"]["id"]: n["parent_id"] for n in tree if n["parent_id"] != n["issue"]["id"]}
    keep: set[str] = set()
    for node in tree:
        current = node["issue"]["id"]
        if node["issue"]["status"] != status:
            continue
        while current not in keep:
            keep.add(current)
            parent = parent_of.get(current)
            if parent is None:
                break
            current = parent
    return [n for n in tree if n["issue"]["id"] in keep]


def _node(issue: Issue, depth: int, parent_id: str, truncated: bool) -> dict[str, Any]:
    return {"issue": issue, "depth": depth, "parent_id": parent_id, "truncated": truncated}


def _validate_external(ref: str) -> None:
    parts = ref.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise InvalidInput(f"invalid external reference {ref!r} (expected external:<project>:<capability>)")


def _cyclic_core(adjacency: dict[str, list[str]]) -> dict[str, list[str]]:
    """``adjacency`` without the nodes that reach no cycle (peeled from the sinks up, linear time).

    Such nodes are singleton components whose DFS never touches the others, so Tarjan's walk of
    the core finds the same cyclic components in the same order, at a fraction of the cost on a
    big graph that is (as usual) acyclic: then the core is empty."""
    pending = {node: len(targets) for node, targets in adjacency.items()}
    sources: dict[str, list[str]] = {}
    for node, targets in adjacency.items():
        for target in targets:
            sources.setdefault(target, []).append(node)
    sinks = [node for node in sources if node not in pending]
    while sinks:
        for source in sources.get(sinks.pop(), ()):
            pending[source] -= 1
            if not pending[source]:
                sinks.append(source)
    return {node: [t for t in targets if pending.get(t)] for node, targets in adjacency.items() if pending[node]}


def _strongly_connected(adjacency: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected groups of the graph (Tarjan, iterative: graphs can be deep chains)."""
    from beads.core.analysis import strongly_connected

    nodes = sorted(set(adjacency) | {b for targets in adjacency.values() for b in targets})
    return strongly_connected(nodes, adjacency)


def _cycle_in(component: list[str], adjacency: dict[str, list[str]]) -> list[str]:
    members = set(component)
    start = component[0]
    path = [start]
    seen = {start}
    node = start
    while True:
        nxt = next((t for t in adjacency.get(node, []) if t in members and (t == start or t not in seen)), None)
        if nxt is None or nxt == start:
            return path
        path.append(nxt)
        seen.add(nxt)
        node = nxt


__all__ = ["GraphOps", "idgen"]


def blocker_key(issue: dict[str, Any]) -> tuple[Any, ...]:
    """What of an issue's state the blocked set depends on (as a blocker, or as a child counted by
    a ``waits-for`` gate): equal keys before and after a write mean the cache needs nothing."""
    status = issue.get("status")
    closed = status == model.STATUS_CLOSED
    return (status in model.BLOCKING_STATUSES, closed, status == model.STATUS_TOMBSTONE,
            (issue.get("close_reason") or "") if closed else None)
