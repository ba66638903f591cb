"""``bd list --pretty``'s tree (``beads.cli.style.issue_tree``): each issue once, loops broken at one
point, deep parent chains walked once each, against a brute-force oracle on random graphs."""

from __future__ import annotations

import random
from typing import Any

from beads.cli.style import issue_tree


def _issue(iid: str, issue_type: str = "task") -> dict[str, Any]:
    return {"id": iid, "title": iid, "status": "open", "priority": 2, "issue_type": issue_type}


def _child(child: str, parent: str) -> dict[str, Any]:
    return {"issue_id": child, "depends_on_id": parent, "type": "parent-child"}


def _walk(roots: list[str], children: dict[str, list[str]]) -> list[str]:
    seen: list[str] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        seen.append(node)
        stack.extend(reversed(children.get(node, [])))
    return seen


def test_a_parent_loop_is_broken_where_it_is_first_met_and_what_hangs_below_stays_a_child() -> None:
    issues = [_issue("c"), _issue("a"), _issue("b")]
    edges = [_child("c", "a"), _child("a", "b"), _child("b", "a")]  # a <-> b loop, c under a
    roots, children = issue_tree(issues, edges)
    assert roots == ["a"]
    assert children == {"a": ["c", "b"]}


def test_a_20000_deep_chain_is_one_root_and_every_issue_once() -> None:
    n = 20_000
    issues = [_issue(f"x-{i}") for i in range(n)]
    edges = [_child(f"x-{i}", f"x-{i - 1}") for i in range(1, n)]
    roots, children = issue_tree(issues, edges)
    assert roots == ["x-0"]
    assert len(_walk(roots, children)) == n


def _oracle_parents(issues: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, str]:
    """The first parent edge of each issue, then every loop broken at its first member in edge order."""
    ids = {i["id"] for i in issues}
    parent: dict[str, str] = {}
    for e in edges:
        if e["issue_id"] not in parent and e["issue_id"] in ids and e["depends_on_id"] in ids \
                and e["issue_id"] != e["depends_on_id"]:
            parent[e["issue_id"]] = e["depends_on_id"]
    for start in list(parent):
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in path:
            path.append(node)
            node = parent.get(node)
        if node is not None:
            del parent[node]
    return parent


def test_random_graphs_match_the_oracle_and_show_every_issue_exactly_once() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 25)
        issues = [_issue(f"r-{i}") for i in range(n)]
        edges = [_child(f"r-{rng.randrange(n)}", f"r-{rng.randrange(n)}") for _ in range(rng.randint(0, 2 * n))]
        roots, children = issue_tree(issues, edges)
        shown = _walk(roots, children)
        assert sorted(shown) == sorted(i["id"] for i in issues)
        parents = _oracle_parents(issues, edges)
        assert set(roots) == {i["id"] for i in issues} - set(parents)
        assert {k: p for p, kids in children.items() for k in kids} == parents
