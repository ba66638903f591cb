"""``bd triage`` numbers on hand-made graphs whose answers are known (docs/GRAPH.md).

Each graph is built in a real Tracker (real SQLite, the real blocked cache), except the
cyclic and dangling ones, which ``add_dependency`` refuses and which therefore go
straight to the pure ``triage.build``. PageRank values are checked against an exact
rational solution of the PageRank equations, computed here independently.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction
from typing import Any

from beads.core import analysis, insight, triage
from beads.core.tracker import Tracker


def make(t: Tracker, *names: str, issue_type: str = "task", priority: int = 2) -> list[str]:
    return [t.create(n, id=f"test-{n}", issue_type=issue_type, priority=priority)["id"] for n in names]


def blocks(t: Tracker, blocker: str, *blocked: str) -> None:
    for b in blocked:
        t.add_dependency(f"test-{b}", f"test-{blocker}")


def child(t: Tracker, parent: str, *children: str) -> None:
    for c in children:
        t.add_dependency(f"test-{c}", f"test-{parent}", "parent-child")


def recs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"].removeprefix("test-"): r for r in report["recommendations"]}


def exact_pagerank(nodes: list[str], links: list[tuple[str, str]], d: Fraction = Fraction(85, 100)) -> dict[str, float]:
    """Solve r = (1-d)/n + d·(M·r + dangling/n) exactly (Gauss-Jordan over fractions)."""
    n = len(nodes)
    pos = {x: k for k, x in enumerate(nodes)}
    out: dict[int, list[int]] = {k: [] for k in range(n)}
    for a, b in sorted(set(links)):
        out[pos[a]].append(pos[b])
    m = [[Fraction(int(i == j)) for j in range(n)] + [(1 - d) / n] for i in range(n)]
    for k in range(n):
        targets = out[k] or list(range(n))
        for t in targets:
            m[t][k] -= d / len(targets)
    for col in range(n):
        pivot = next(r for r in range(col, n) if m[r][col] != 0)
        m[col], m[pivot] = m[pivot], m[col]
        m[col] = [v / m[col][col] for v in m[col]]
        for r in range(n):
            if r != col and m[r][col] != 0:
                factor = m[r][col]
                m[r] = [a - factor * b for a, b in zip(m[r], m[col], strict=True)]
    return {x: round(float(m[pos[x]][n]), 6) for x in nodes}


def test_a_chain_counts_everything_downstream_of_its_head(tracker: Tracker) -> None:
    make(tracker, "a", "b", "c", "d")
    blocks(tracker, "a", "b")
    blocks(tracker, "b", "c")
    blocks(tracker, "c", "d")
    report = insight.triage(tracker)
    assert list(recs(report)) == ["a"]
    a = recs(report)["a"]
    assert (a["unblocks"], a["unblocks_now"], a["depth"]) == (3, ["test-b"], 3)
    assert [(b["id"], b["unblocks"], b["unblocks_now"], b["ready"]) for b in report["top_blockers"]] == [
        ("test-a", 3, 1, True), ("test-b", 2, 1, False), ("test-c", 1, 1, False)]
    assert report["top_blockers"][1]["open_blockers"] == ["test-a"]
    ids = ["test-a", "test-b", "test-c", "test-d"]
    expected = exact_pagerank(ids, [("test-b", "test-a"), ("test-c", "test-b"), ("test-d", "test-c")])
    assert a["pagerank"] == expected["test-a"]
    assert expected["test-a"] > expected["test-b"] > expected["test-c"] > expected["test-d"]
    # the only ready issue has every factor at its maximum, and P2 gives half the priority weight
    assert a["score"] == round(0.4 + 0.2 + 0.0 + 0.25 * 0.5, 4)
    assert a["reason"] == "closing it makes 1 issue ready (3 wait on it in all)"
    assert report["summary"] == {"open_issues": 4, "ready": 1, "blocked": 3, "in_progress": 0, "closed": 0}
    assert [w["id"] for w in report["quick_wins"]] == ["test-a"]
    assert report["parallel_tracks"] == [{"track": 1, "lead": "test-a", "size": 4, "ready_count": 1,
                                          "ready": ["test-a"]}]


def test_a_diamond_counts_the_shared_issue_once(tracker: Tracker) -> None:
    make(tracker, "a", "b", "c", "d")
    blocks(tracker, "a", "b", "c")
    blocks(tracker, "b", "d")
    blocks(tracker, "c", "d")
    report = insight.triage(tracker)
    a = recs(report)["a"]
    assert (a["unblocks"], a["unblocks_now"], a["depth"]) == (3, ["test-b", "test-c"], 2)
    by_id = {b["id"]: b for b in report["top_blockers"]}
    # d waits on both b and c: closing either alone makes nothing ready
    assert (by_id["test-b"]["unblocks"], by_id["test-b"]["unblocks_now"]) == (1, 0)
    assert (by_id["test-c"]["unblocks"], by_id["test-c"]["unblocks_now"]) == (1, 0)
    ids = ["test-a", "test-b", "test-c", "test-d"]
    links = [("test-b", "test-a"), ("test-c", "test-a"), ("test-d", "test-b"), ("test-d", "test-c")]
    assert a["pagerank"] == exact_pagerank(ids, links)["test-a"]


def test_fan_out_and_fan_in(tracker: Tracker) -> None:
    make(tracker, "hub", "o1", "o2", "o3", "o4", "i1", "i2", "i3", "sink")
    blocks(tracker, "hub", "o1", "o2", "o3", "o4")
    for name in ("i1", "i2", "i3"):
        blocks(tracker, name, "sink")
    report = insight.triage(tracker)
    r = recs(report)
    assert (r["hub"]["unblocks"], len(r["hub"]["unblocks_now"]), r["hub"]["depth"]) == (4, 4, 1)
    for name in ("i1", "i2", "i3"):
        assert (r[name]["unblocks"], r[name]["unblocks_now"], r[name]["depth"]) == (1, [], 1)
    # the hub first; the three equal fan-in blockers in ID order
    assert [x["id"] for x in report["recommendations"]] == ["test-hub", "test-i1", "test-i2", "test-i3"]
    assert r["i1"]["score"] == r["i2"]["score"] == r["i3"]["score"]
    assert r["i1"]["reason"] == "1 issue wait on it, in a chain 1 deep"
    nodes = ["test-hub", "test-o1", "test-o2", "test-o3", "test-o4", "test-i1", "test-i2", "test-i3", "test-sink"]
    links = [(f"test-o{k}", "test-hub") for k in range(1, 5)] + [("test-sink", f"test-i{k}") for k in range(1, 4)]
    expected = exact_pagerank(sorted(nodes), links)
    assert {k: v["pagerank"] for k, v in r.items()} == {k.removeprefix("test-"): expected[k] for k in
                                                       ("test-hub", "test-i1", "test-i2", "test-i3")}
    # scores from the formula: unblocks/4, depth/1, importance scaled between the lowest and highest ready
    low, high = expected["test-i1"], expected["test-hub"]
    assert r["hub"]["score"] == round(0.4 * 1 + 0.2 * 1 + 0.15 * 1 + 0.25 * 0.5, 4)
    assert r["i1"]["score"] == round(0.4 * 0.25 + 0.2 * 1 + 0.15 * (low - low) / (high - low) + 0.25 * 0.5, 4)
    assert [t["lead"] for t in report["parallel_tracks"]] == ["test-hub", "test-i1"]
    assert report["parallel_tracks"][1] == {"track": 2, "lead": "test-i1", "size": 4, "ready_count": 3,
                                            "ready": ["test-i1", "test-i2", "test-i3"]}


def test_a_blocked_parent_blocks_its_children_and_their_dependents(tracker: Tracker) -> None:
    make(tracker, "x", "c1", "c2", "c3", "g1")
    make(tracker, "epic", "open-epic", issue_type="epic")
    blocks(tracker, "x", "epic")
    child(tracker, "epic", "c1", "c2")
    blocks(tracker, "c2", "c3")
    child(tracker, "open-epic", "g1")
    report = insight.triage(tracker)
    r = recs(report)
    assert sorted(r) == ["g1", "open-epic", "x"]
    # x holds up the epic, through it both children, and through c2 the issue c2 blocks
    assert (r["x"]["unblocks"], r["x"]["unblocks_now"], r["x"]["depth"]) == (4, ["test-epic"], 3)
    # an open parent blocks none of its children
    assert (r["open-epic"]["unblocks"], r["open-epic"]["depth"]) == (0, 0)
    assert report["recommendations"][0]["id"] == "test-x"
    by_id = {b["id"]: b["unblocks"] for b in report["top_blockers"]}
    assert by_id == {"test-x": 4, "test-c2": 1}
    nodes = sorted(f"test-{n}" for n in ("x", "c1", "c2", "c3", "g1", "epic", "open-epic"))
    links = [("test-epic", "test-x"), ("test-epic", "test-c1"), ("test-epic", "test-c2"), ("test-c3", "test-c2"),
             ("test-open-epic", "test-g1")]
    expected = exact_pagerank(nodes, links)
    assert {k: v["pagerank"] for k, v in r.items()} == {k: expected[f"test-{k}"] for k in r}


def test_closed_issues_neither_block_nor_count(tracker: Tracker) -> None:
    make(tracker, "a", "b", "c")
    blocks(tracker, "a", "b")
    blocks(tracker, "b", "c")
    tracker.close("test-a")
    report = insight.triage(tracker)
    assert list(recs(report)) == ["b"]
    assert recs(report)["b"]["unblocks"] == 1
    assert report["summary"]["closed"] == 1 and report["summary"]["open_issues"] == 2


def test_priority_breaks_even_graphs_and_the_ranking_is_stable(tracker: Tracker) -> None:
    make(tracker, "low", priority=3)
    make(tracker, "urgent", priority=0)
    make(tracker, "mid", "mid2", priority=1)
    report = insight.triage(tracker)
    assert [r["id"] for r in report["recommendations"]] == ["test-urgent", "test-mid", "test-mid2", "test-low"]
    assert [r["score"] for r in report["recommendations"]] == [0.25, 0.1875, 0.1875, 0.0625]
    assert recs(report)["urgent"]["reason"] == "P0 and nothing blocks it"
    assert recs(report)["low"]["reason"] == "ready; nothing waits on it"
    assert json.dumps(insight.triage(tracker)) == json.dumps(report)


def _node(issue_id: str, status: str = "open", **extra: Any) -> dict[str, Any]:
    base = {"id": issue_id, "title": issue_id.upper(), "status": status, "priority": 2, "issue_type": "task",
            "assignee": "", "created_at": "2026-01-01T00:00:00Z", "estimated_minutes": None, "pinned": 0,
            "is_template": 0, "ephemeral": 0, "defer_until": None}
    return {**base, **extra}


def test_cycles_are_warnings_and_their_members_count_once() -> None:
    nodes = {i: _node(i) for i in ("x", "a", "b", "z")}
    edges = [("a", "x", "blocks"), ("a", "b", "blocks"), ("b", "a", "blocks"), ("z", "b", "blocks")]
    report = triage.build(nodes, edges, {"a", "b", "z"}, [["a", "b"]], 0)
    (x,) = report["recommendations"]
    # x holds up the cycle {a, b} and z behind it: the cycle is one step of the chain, then one inside it
    assert (x["id"], x["unblocks"], x["depth"]) == ("x", 3, 3)
    assert report["warnings"]["cycles"] == [["a", "b"]]
    down = analysis.Downstream(list(nodes), edges)
    assert down.unblocks("a") == 2 and down.unblocks("b") == 2  # each other and z
    # groups come sinks first (reverse topological order), which is what one pass of reach needs
    assert analysis.strongly_connected(["a", "b", "x", "z"], down.successors) == [["z"], ["a", "b"], ["x"]]


def test_orphans_are_open_children_of_closed_or_missing_parents() -> None:
    nodes = {"p": _node("p", "closed"), "c": _node("c"), "d": _node("d"), "e": _node("e", "closed")}
    edges = [("c", "p", "parent-child"), ("d", "gone", "parent-child"), ("d", "ghost", "blocks"),
             ("e", "p", "parent-child"), ("d", "external:proj:cap", "blocks")]
    report = triage.build(nodes, edges, set(), [], 0)
    assert report["warnings"]["orphans"] == [
        {"id": "c", "other": "p", "reason": "parent closed"},
        {"id": "d", "other": "ghost", "reason": "depends on a missing issue"},
        {"id": "d", "other": "gone", "reason": "parent missing"}]


def test_quick_wins_prefer_more_unblocked_then_cheaper() -> None:
    nodes = {i: _node(i) for i in ("a", "b", "c", "d", "e", "f", "g")}
    nodes["a"]["estimated_minutes"] = 120
    nodes["b"]["estimated_minutes"] = 15
    nodes["g"]["issue_type"] = "epic"
    edges = [("d", "a", "blocks"), ("e", "b", "blocks"), ("f", "c", "blocks"), ("f", "g", "blocks")]
    report = triage.build(nodes, edges, {"d", "e", "f"}, [], 0)
    assert [w["id"] for w in report["quick_wins"]] == ["b", "a"]  # c and g share f: neither frees it alone
    assert report["quick_wins"][0] == {"id": "b", "title": "B", "unblocks_now": ["e"], "estimated_minutes": 15,
                                       "reason": "makes 1 issue ready"}


def test_deferred_pinned_and_hidden_types_are_not_recommended() -> None:
    nodes = {"a": _node("a"), "later": _node("later", defer_until="2999-01-01T00:00:00Z"),
             "pin": _node("pin", pinned=1), "gate": _node("gate", issue_type="gate"),
             "was": _node("was", defer_until="2000-01-01T00:00:00Z")}
    report = triage.build(nodes, [], set(), [], 1_700_000_000 * 10**9)
    assert [r["id"] for r in report["recommendations"]] == ["a", "was"]


def test_the_report_does_not_depend_on_input_order() -> None:
    rng = random.Random(7)
    ids = [f"n{k:03d}" for k in range(120)]
    edges = []
    for k in range(1, 120):
        for _ in range(2):
            j = rng.randrange(k)
            edges.append((ids[k], ids[j], rng.choice(["blocks", "parent-child", "related"])))
    nodes = {i: _node(i, priority=rng.randrange(5)) for i in ids}
    blocked = {a for a, b, t in edges if t == "blocks"}
    first = json.dumps(triage.build(nodes, edges, blocked, [], 0))
    shuffled_nodes = dict(rng.sample(sorted(nodes.items()), len(nodes)))
    again = json.dumps(triage.build(shuffled_nodes, rng.sample(edges, len(edges)), blocked, [], 0))
    assert first == again


def test_brief_fits_in_2_kb_whatever_the_workspace() -> None:
    from beads.cli.cmd_graph import brief_lines
    from beads.jsonfmt import pretty

    huge = "x" * 3000
    nodes = {f"{huge}-{k}": _node(f"{huge}-{k}", title="t" * 5000) for k in range(300)}
    ids = sorted(nodes)
    edges = [(ids[k], ids[k - 1], "blocks") for k in range(1, 300, 2)]
    report = triage.build(nodes, edges, {e[0] for e in edges}, [ids[:3]], 0)
    doc = triage.brief(report)
    assert len(pretty(doc).encode()) + 1 <= triage.BRIEF_LIMIT
    assert doc["ready"] == 150 and doc["next"]  # cut, not emptied
    text = triage.brief(report, size=lambda d: len("\n".join(brief_lines(d)).encode()) + 1)
    assert len("\n".join(brief_lines(text)).encode()) + 1 <= triage.BRIEF_LIMIT


def test_layers_follow_blocking_depth_and_cycles_fall_to_layer_zero() -> None:
    deps = {"b": ["a"], "c": ["a", "b"], "d": ["c"], "x": ["y"], "y": ["x"]}
    assert analysis.layers(["a", "b", "c", "d", "x", "y"], deps) == {"a": 0, "b": 1, "c": 2, "d": 3, "x": 0, "y": 0}


def test_pagerank_sums_to_one_and_matches_the_exact_solution() -> None:
    nodes = ["a", "b", "c", "d", "e"]
    links = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a"), ("d", "e")]
    got = analysis.pagerank(nodes, links)
    assert got == exact_pagerank(nodes, links)
    assert abs(sum(got.values()) - 1) < 1e-5


def test_graph_all_json_in_chunks_equals_the_whole(tracker: Tracker) -> None:
    """``bd graph --all --json`` streams ``graphs_json_chunks``: the same documents, in the same
    order, whatever the batch size (1, 2, 3 and more graphs than there are)."""
    make(tracker, "e", issue_type="epic")
    make(tracker, "c1", "c2", "a", "b", "x", "y", "z")
    child(tracker, "e", "c1", "c2")
    blocks(tracker, "a", "b")
    blocks(tracker, "x", "y")
    whole = insight.graphs_json(tracker, insight.graph_all(tracker))
    assert len(whole) == 4  # the epic's group, a-b, x-y, and z alone
    for batch in (1, 2, 3, 10):
        chunks = list(insight.graphs_json_chunks(tracker, insight.iter_graph_all(tracker), batch=batch))
        assert all(0 < len(c) <= batch for c in chunks)
        assert [doc for c in chunks for doc in c] == whole
