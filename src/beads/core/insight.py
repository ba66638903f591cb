"""Read models for seeing the work: ``bd graph``, ``bd triage`` and ``bd show --thread``.

The graph is loaded with two storage calls (``graph_nodes``, ``all_edges``) and analysed in
memory by ``beads.core.analysis``; full issues are fetched only for what JSON output shows.
Numbers and ordering are deterministic (docs/GRAPH.md explains each one).
"""

from __future__ import annotations

from beads import model
from beads.core import analysis
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

    from beads.core.tracker import Tracker

ACTIVE_GRAPH_STATUSES = ("open", "in_progress", "blocked")  # `bd graph --all` (as the original)
DONE_STATUSES = ("closed", "tombstone")
LIGHT_KEYS = ("id", "title", "status", "priority", "issue_type", "assignee", "created_at", "estimated_minutes",
              "pinned", "is_template", "ephemeral", "defer_until")


def load_nodes(tracker: Tracker) -> dict[str, dict[str, Any]]:
    """Every live issue as a light record (id, title, status, priority, issue_type, …)."""
    return {row[0]: dict(zip(LIGHT_KEYS, row, strict=True)) for row in tracker.store.graph_nodes()}


def load_edges(tracker: Tracker) -> list[tuple[str, str, str]]:
    """Every dependency but ``relates-to`` (a symmetric link, not an ordering)."""
    return tracker.store.all_edges()


# -- bd graph ------------------------------------------------------------------------------


def subgraph(nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str, str]], root: str,
             ids: list[str]) -> dict[str, Any]:
    """One graph to draw: its issues, the edges among them, and each issue's layer."""
    members = set(ids)
    inner = sorted({e for e in edges if e[0] in members and e[1] in members and e[0] != e[1]})
    depends_on: dict[str, list[str]] = {}
    for a, b, dep_type in inner:
        if dep_type == "blocks":
            depends_on.setdefault(a, []).append(b)
    layer = analysis.layers(ids, depends_on)
    top = max(layer.values(), default=0)
    rows: list[list[str]] = [[] for _ in range(top + 1)]
    for issue_id in sorted(ids):
        rows[layer[issue_id]].append(issue_id)
    return {"root": root, "ids": sorted(ids), "edges": inner, "layer": layer, "layers": rows,
            "depends_on": {i: sorted(depends_on.get(i, [])) for i in sorted(ids)}, "nodes": nodes}


def graph_of(tracker: Tracker, issue_id: str) -> dict[str, Any]:
    """The issue and everything that depends on it, transitively (children of an epic included)."""
    root = tracker.resolve_id(issue_id)
    store = tracker.store
    with store.read_snapshot():
        edges = store.dependents_closure(root)
        seen = {root} | {a for a, _, _ in edges}
        found = store.get_issues(sorted(seen))
    nodes = {i: {key: issue.get(key) for key in LIGHT_KEYS} for i, issue in found.items()
             if issue["status"] != "tombstone"}
    if root not in nodes:
        raise InvalidInput(f"issue {root} is deleted")
    return subgraph(nodes, edges, root, sorted(i for i in seen if i in nodes))


def graph_all(tracker: Tracker) -> list[dict[str, Any]]:
    """Every open / in-progress / blocked issue, one graph per connected group: largest first,
    then by the root's priority and ID. A group's root is its first epic, else its most urgent issue."""
    return list(iter_graph_all(tracker))


def iter_graph_all(tracker: Tracker) -> Iterator[dict[str, Any]]:
    """``graph_all`` a graph at a time (the graph is read when the first one is asked for)."""
    with tracker.store.read_snapshot():
        nodes = load_nodes(tracker)
        edges = load_edges(tracker)
    active = sorted(i for i, n in nodes.items() if n["status"] in ACTIVE_GRAPH_STATUSES)
    groups = analysis.weak_components(active, [(a, b) for a, b, _ in edges])

    def root_of(group: list[str]) -> str:
        return min(group, key=lambda i: (nodes[i]["issue_type"] != "epic", nodes[i]["priority"], i))

    roots = {g[0]: root_of(g) for g in groups}
    groups.sort(key=lambda g: (-len(g), nodes[roots[g[0]]]["priority"], roots[g[0]]))
    group_of = {i: k for k, g in enumerate(groups) for i in g}
    inside: list[list[tuple[str, str, str]]] = [[] for _ in groups]
    for edge in edges:  # both ends active means both ends in one group
        k = group_of.get(edge[0])
        if k is not None and group_of.get(edge[1]) == k:
            inside[k].append(edge)
    for k, g in enumerate(groups):
        yield subgraph(nodes, inside[k], roots[g[0]], g)
        inside[k] = []  # drawn: its edges are not needed any more


def graphs_json(tracker: Tracker, graphs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``graph_json`` for each graph, the issues read in one go."""
    from beads.core.views import wire

    full = tracker.store.get_issues([i for g in graphs for i in g["ids"]])
    wired = {i: wire(issue) for i, issue in full.items()}
    return [graph_json(g, wired) for g in graphs]


def graphs_json_chunks(tracker: Tracker, graphs: Iterable[dict[str, Any]], batch: int = 500
                       ) -> Iterator[list[dict[str, Any]]]:
    """``graphs_json`` a few hundred graphs at a time (``bd graph --all --json`` streams them)."""
    from itertools import islice

    it = iter(graphs)
    while part := list(islice(it, batch)):
        yield graphs_json(tracker, part)


def graph_json(graph: dict[str, Any], wired: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The original's ``{root, issues, layout}`` (layout keeps its Go field names)."""
    ids = graph["ids"]
    issues = [wired[i] for i in ids if i in wired]
    by_id = {i["id"]: i for i in issues}
    positions = {i: n for row in graph["layers"] for n, i in enumerate(row)}
    layout = {
        "Nodes": {i: {"Issue": by_id.get(i), "Layer": graph["layer"][i], "Position": positions[i],
                      "DependsOn": graph["depends_on"][i] or None} for i in ids},
        "Layers": graph["layers"],
        "MaxLayer": len(graph["layers"]) - 1,
        "RootID": graph["root"],
    }
    return {"root": by_id.get(graph["root"]), "issues": issues,
            "dependencies": [{"issue_id": a, "depends_on_id": b, "type": t} for a, b, t in graph["edges"]],
            "layout": layout}


# -- bd show --thread ------------------------------------------------------------------------


def message_thread(tracker: Tracker, issue_id: str) -> tuple[str, list[dict[str, Any]], dict[str, str]]:
    """The ``replies-to`` conversation around an issue: its root, every message (oldest first)
    and, for each reply, the message it answers."""
    start = tracker.resolve_id(issue_id)
    store = tracker.store
    root = start
    seen = {root}
    while True:
        up = next((d["depends_on_id"] for d in store.dependencies_of(root) if d["type"] == "replies-to"), None)
        if up is None or up in seen or not store.issue_exists(up):
            break
        seen.add(up)
        root = up
    order = [root]
    parent: dict[str, str] = {}
    for current in order:
        for d in sorted(store.dependents_of(current), key=lambda d: d["issue_id"]):
            if d["type"] == "replies-to" and d["issue_id"] not in parent and d["issue_id"] != root:
                parent[d["issue_id"]] = current
                order.append(d["issue_id"])
    found = store.get_issues(order)
    from beads.core.views import wire

    messages = [wire(found[i]) for i in order if i in found]
    messages.sort(key=lambda m: (m.get("created_at", ""), m["id"]))
    return root, messages, parent


# -- bd triage ------------------------------------------------------------------------------


def is_ready(node: dict[str, Any], blocked: set[str], now_ns: int) -> bool:
    """``bd ready``'s rule (spec §4) on a light record."""
    from beads.timefmt import to_ns

    return (node["status"] in model.READY_STATUSES and node["id"] not in blocked and not node["pinned"]
            and not node["is_template"] and not node["ephemeral"]
            and node["issue_type"] not in model.READY_HIDDEN_TYPES
            and not (node["defer_until"] and (to_ns(node["defer_until"]) or 0) > now_ns))


def triage(tracker: Tracker) -> dict[str, Any]:
    """What to work on next, and why (docs/GRAPH.md)."""
    import time

    from beads.core import triage as ranking

    store = tracker.store
    with store.read_snapshot():
        nodes = load_nodes(tracker)
        edges = load_edges(tracker)
        blocked = store.blocked_ids()
    cycles = tracker.find_cycles()
    return ranking.build(nodes, edges, blocked, cycles, time.time_ns())
