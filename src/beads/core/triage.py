"""``bd triage``: rank the ready work by what it unblocks, and say why (docs/GRAPH.md).

Pure: ``build`` takes the light issue records, the edges, the blocked set and the cycles,
and returns a JSON-ready report. Every number is an integer or a float rounded to a fixed
number of decimals, and every list has a total order (ties end on the issue ID), so the
same workspace always gives byte-identical output.
"""

from __future__ import annotations

from beads.core import analysis

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The score's weights (they sum to 1): what waits on it, how long the chain behind it is,
# its importance in the graph, and its own priority.
W_UNBLOCKS, W_DEPTH, W_IMPORTANCE, W_PRIORITY = 0.4, 0.2, 0.15, 0.25
TOP_LISTS = 5
BRIEF_LIMIT = 2048


def build(nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str, str]], blocked: set[str],
          cycles: list[list[str]], now_ns: int) -> dict[str, Any]:
    from beads.core.insight import DONE_STATUSES, is_ready

    active = sorted(i for i, n in nodes.items() if n["status"] not in DONE_STATUSES)
    active_set = set(active)
    inner = [e for e in edges if e[0] in active_set and e[1] in active_set]
    down = analysis.Downstream(active, inner)
    rank = analysis.pagerank(active, analysis.importance_links(inner))
    ready = [i for i in active if is_ready(nodes[i], blocked, now_ns)]

    metrics = {i: _metrics(down, rank, i) for i in ready}
    scored = _score(nodes, metrics)
    order = sorted(ready, key=lambda i: (-scored[i], nodes[i]["priority"], i))
    recommendations = []
    for n, issue_id in enumerate(order, 1):
        node, m = nodes[issue_id], metrics[issue_id]
        recommendations.append({"rank": n, "id": issue_id, "title": node["title"], "status": node["status"],
                                "priority": node["priority"], "issue_type": node["issue_type"],
                                "score": scored[issue_id], "unblocks": m["unblocks"],
                                "unblocks_now": m["unblocks_now"], "depth": m["depth"],
                                "pagerank": m["pagerank"], "reason": _reason(node, m)})
    position = {r["id"]: r["rank"] for r in recommendations}
    return {
        "summary": _summary(nodes, active, ready, blocked),
        "recommendations": recommendations,
        "quick_wins": _quick_wins(nodes, metrics, position),
        "top_blockers": _top_blockers(nodes, down, set(ready), active),
        "parallel_tracks": _tracks(active, inner, position),
        "warnings": {"cycles": sorted(cycles), "orphans": _orphans(nodes, edges, active_set)},
    }


def _metrics(down: analysis.Downstream, rank: dict[str, float], issue_id: str) -> dict[str, Any]:
    return {"unblocks": down.unblocks(issue_id), "unblocks_now": sorted(down.unblocks_now(issue_id)),
            "depth": down.chain_depth(issue_id), "pagerank": rank.get(issue_id, 0.0)}


def _score(nodes: dict[str, dict[str, Any]], metrics: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each factor scaled to 0..1 over the ready issues, then weighted (W_* above)."""
    if not metrics:
        return {}
    top_unblocks = max(m["unblocks"] for m in metrics.values())
    top_depth = max(m["depth"] for m in metrics.values())
    ranks = [m["pagerank"] for m in metrics.values()]
    low_rank, span = min(ranks), max(ranks) - min(ranks)
    out = {}
    for issue_id, m in metrics.items():
        u = m["unblocks"] / top_unblocks if top_unblocks else 0.0
        d = m["depth"] / top_depth if top_depth else 0.0
        r = (m["pagerank"] - low_rank) / span if span > 1e-12 else 0.0
        p = (4 - min(max(nodes[issue_id]["priority"], 0), 4)) / 4
        out[issue_id] = round(W_UNBLOCKS * u + W_DEPTH * d + W_IMPORTANCE * r + W_PRIORITY * p, 4)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _reason(node: dict[str, Any], m: dict[str, Any]) -> str:
    now, total = len(m["unblocks_now"]), m["unblocks"]
    if now:
        why = f"closing it makes {_plural(now, 'issue')} ready"
        if total > now:
            why += f" ({total} wait on it in all)"
    elif total:
        why = f"{_plural(total, 'issue')} wait on it, in a chain {m['depth']} deep"
    elif node["priority"] <= 1:
        why = f"P{node['priority']} and nothing blocks it"
    else:
        why = "ready; nothing waits on it"
    return ("in progress: " + why) if node["status"] == "in_progress" else why


def _summary(nodes: dict[str, dict[str, Any]], active: list[str], ready: list[str],
             blocked: set[str]) -> dict[str, int]:
    statuses = [nodes[i]["status"] for i in active]
    return {"open_issues": len(active), "ready": len(ready),
            "blocked": sum(1 for i in active if i in blocked or nodes[i]["status"] == "blocked"),
            "in_progress": statuses.count("in_progress"),
            "closed": sum(1 for n in nodes.values() if n["status"] == "closed")}


def _quick_wins(nodes: dict[str, dict[str, Any]], metrics: dict[str, dict[str, Any]],
                position: dict[str, int]) -> list[dict[str, Any]]:
    """Ready issues (not epics) whose closing makes others ready at once, cheapest first."""
    wins = [i for i, m in metrics.items() if m["unblocks_now"] and nodes[i]["issue_type"] != "epic"]
    never = 1 << 62
    wins.sort(key=lambda i: (-len(metrics[i]["unblocks_now"]), nodes[i]["estimated_minutes"] or never,
                             position[i], i))
    return [{"id": i, "title": nodes[i]["title"], "unblocks_now": metrics[i]["unblocks_now"],
             "estimated_minutes": nodes[i]["estimated_minutes"],
             "reason": f"makes {_plural(len(metrics[i]['unblocks_now']), 'issue')} ready"} for i in wins[:TOP_LISTS]]


def _top_blockers(nodes: dict[str, dict[str, Any]], down: analysis.Downstream, ready: set[str],
                  active: list[str]) -> list[dict[str, Any]]:
    """The open issues with the most work waiting on them, ready or not."""
    counts = {i: down.unblocks(i) for i in active}
    best = sorted((i for i in active if counts[i]), key=lambda i: (-counts[i], nodes[i]["priority"], i))
    return [{"id": i, "title": nodes[i]["title"], "status": nodes[i]["status"], "priority": nodes[i]["priority"],
             "ready": i in ready, "unblocks": counts[i], "unblocks_now": len(down.unblocks_now(i)),
             "open_blockers": sorted(down.blockers[i])} for i in best[:TOP_LISTS]]


def _tracks(active: list[str], inner: list[tuple[str, str, str]], position: dict[str, int]) -> list[dict[str, Any]]:
    """Groups of connected work (blocking and parent-child edges) that hold ready issues: agents
    taking different tracks do not wait on each other."""
    links = [(a, b) for a, b, t in inner if t in analysis.BLOCKING_TYPES or t == analysis.PARENT_CHILD]
    tracks: list[dict[str, Any]] = []
    for group in analysis.weak_components(active, links):
        ready = sorted((i for i in group if i in position), key=lambda i: position[i])
        if ready:
            tracks.append({"track": 0, "lead": ready[0], "size": len(group), "ready_count": len(ready),
                           "ready": ready[:3]})
    tracks.sort(key=lambda t: position[str(t["lead"])])
    for n, track in enumerate(tracks, 1):
        track["track"] = n
    return tracks


def _orphans(nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str, str]],
             active: set[str]) -> list[dict[str, str]]:
    """Open issues whose parent is closed or gone, or that depend on an issue that does not exist."""
    found: dict[tuple[str, str], str] = {}
    for a, b, dep_type in edges:
        if a not in active or b.startswith("external:"):
            continue
        if dep_type == analysis.PARENT_CHILD:
            if b not in nodes:
                found[(a, b)] = "parent missing"
            elif nodes[b]["status"] == "closed":
                found[(a, b)] = "parent closed"
        elif dep_type in analysis.BLOCKING_TYPES and b not in nodes:
            found[(a, b)] = "depends on a missing issue"
    return [{"id": a, "other": b, "reason": why} for (a, b), why in sorted(found.items())]


# -- --brief --------------------------------------------------------------------------------


def brief(report: dict[str, Any], size: Any = None) -> dict[str, Any]:
    """The report cut to what fits in 2 KB (``BRIEF_LIMIT``) as printed, whatever the workspace.

    ``size`` measures a candidate as it will be printed; by default the indented JSON
    document ``bd triage --brief --json`` writes, newline included.
    """
    s = report["summary"]
    doc: dict[str, Any] = {
        "ready": s["ready"], "blocked": s["blocked"], "in_progress": s["in_progress"], "open": s["open_issues"],
        "next": [{"id": r["id"], "title": _cut(r["title"], 48), "score": r["score"], "why": r["reason"]}
                 for r in report["recommendations"][:3]],
        "quick_wins": [w["id"] for w in report["quick_wins"][:3]],
        "blockers": [{"id": b["id"], "unblocks": b["unblocks"]} for b in report["top_blockers"][:3]],
        "tracks": len(report["parallel_tracks"]),
        "cycles": len(report["warnings"]["cycles"]), "orphans": len(report["warnings"]["orphans"]),
    }
    return shrink(doc, size or _json_size)


def _json_size(doc: dict[str, Any]) -> int:
    from beads.jsonfmt import pretty

    return len(pretty(doc).encode()) + 1


def shrink(doc: dict[str, Any], size: Any, limit: int = BRIEF_LIMIT) -> dict[str, Any]:
    """Cut long strings (IDs, titles, reasons) shorter and shorter, then drop list items from the end,
    until ``size(doc)`` fits in ``limit`` bytes. Each list holds at most 3 items, so with ordinary
    IDs and titles nothing is cut."""
    lists = ("next", "blockers", "quick_wins")
    width = 32
    while size(doc) > limit and width >= 4:
        for item in doc["next"]:
            item["id"], item["title"], item["why"] = _cut(item["id"], width), _cut(item["title"], width), _cut(
                item["why"], width)
        doc["quick_wins"] = [_cut(i, width) for i in doc["quick_wins"]]
        for item in doc["blockers"]:
            item["id"] = _cut(item["id"], width)
        width //= 2
    while size(doc) > limit and any(doc[k] for k in lists):
        for k in lists:
            doc[k] = doc[k][:-1]
    return doc


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
