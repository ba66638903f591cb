"""Dependency commands through the real `bd`: dep add/remove/list/tree/cycles, relate, duplicate, supersede."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def _ids(issues: object) -> list[str]:
    assert isinstance(issues, list)
    return [i["id"] for i in issues]


def _create(bd, title: str, *args: str) -> str:  # noqa: ANN001
    return bd("create", title, "--silent", *args).stdout.strip()


def _edges(bd, issue_id: str) -> list[tuple[str, str]]:  # noqa: ANN001
    shown = bd.json("show", issue_id)[0]
    return [(d["id"], d["dependency_type"]) for d in shown.get("dependencies", [])]


# -- dep add / remove -----------------------------------------------------------------------


def test_dep_add_json_reports_the_edge_with_keys_in_go_map_order(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    result = bd("dep", "add", b, a, "--json")
    assert result.json() == {"depends_on_id": a, "issue_id": b, "status": "added", "type": "blocks"}
    assert list(result.json()) == ["depends_on_id", "issue_id", "status", "type"]  # type: ignore[arg-type]
    assert _edges(bd, b) == [(a, "blocks")]


def test_dep_add_text_and_the_flag_forms_name_the_same_edge(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    c = _create(bd, "C")
    out = bd("dep", "add", b, a, "-t", "related").stdout
    assert out == f"✓ Added dependency: {b} depends on {a} (related)\n"
    bd("dep", "add", c, "--blocked-by", a)
    bd("dep", "add", c, "--depends-on", b, "--type", "discovered-from")
    assert sorted(_edges(bd, c)) == sorted([(a, "blocks"), (b, "discovered-from")])
    assert bd("dep", "add", c, check=False).returncode != 0


def test_dep_add_accepts_short_ids(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    short_a, short_b = a.split("-", 1)[1], b.split("-", 1)[1]
    assert bd.json("dep", "add", short_b, short_a)["issue_id"] == b  # type: ignore[index]


def test_dep_add_refuses_self_dependencies_duplicates_and_unknown_issues(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    result = bd("dep", "add", a, a, check=False)
    assert (result.returncode, result.stderr.strip()) == (1, "Error: issue cannot depend on itself")
    bd("dep", "add", b, a)
    assert bd("dep", "add", b, a, check=False).returncode == 1
    missing = bd("dep", "add", b, "test-zzzzzz", check=False)
    assert missing.returncode == 1
    assert "test-zzzzzz" in missing.stderr
    assert _edges(bd, b) == [(a, "blocks")]


def test_dep_add_refuses_a_child_depending_on_its_own_parent(bd) -> None:  # noqa: ANN001
    epic = _create(bd, "Epic", "-t", "epic")
    child = _create(bd, "Child", "--parent", epic)
    result = bd("dep", "add", child, epic, check=False)
    assert result.returncode == 1
    assert f"{child} is already a child of {epic}" in result.stderr


def test_dep_remove_drops_the_edge_and_unblocks(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    bd("dep", "add", b, a)
    assert b not in _ids(bd.json("ready"))
    result = bd.json("dep", "remove", b, a)
    assert result == {"depends_on_id": a, "issue_id": b, "status": "removed"}
    assert b in _ids(bd.json("ready"))
    again = bd("dep", "remove", b, a, check=False)
    assert again.returncode == 1
    assert "does not exist" in again.stderr


def test_dep_remove_text_output(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    bd("dep", "add", b, a)
    assert bd("dep", "remove", b, a).stdout == f"✓ Removed dependency: {b} no longer depends on {a}\n"


def test_dep_list_shows_dependencies_or_dependents_with_their_type(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    c = _create(bd, "C")
    bd("dep", "add", c, a)
    bd("dep", "add", c, b, "-t", "related")
    down = bd.json("dep", "list", c)
    assert sorted((d["id"], d["dependency_type"]) for d in down) == sorted([(a, "blocks"), (b, "related")])
    assert [(d["id"], d["dependency_type"]) for d in bd.json("dep", "list", a, "--direction", "up")] == [
        (c, "blocks")]
    assert _ids(bd.json("dep", "list", c, "-t", "related")) == [b]
    assert bd.json("dep", "list", a) == []


# -- dep tree -------------------------------------------------------------------------------------


def _chain(bd) -> list[str]:  # noqa: ANN001
    """top depends on mid, mid depends on low (and low on nothing)."""
    low = _create(bd, "Low", "-p", "3")
    mid = _create(bd, "Mid", "-p", "1")
    top = _create(bd, "Top")
    bd("dep", "add", mid, low)
    bd("dep", "add", top, mid)
    return [top, mid, low]


def test_dep_tree_json_is_issue_fields_plus_depth_parent_and_truncated(bd) -> None:  # noqa: ANN001
    top, mid, low = _chain(bd)
    tree = bd.json("dep", "tree", top)
    assert [(n["id"], n["depth"], n["parent_id"], n["truncated"]) for n in tree] == [
        (top, 0, top, False), (mid, 1, top, False), (low, 2, mid, False)]
    root = tree[0]
    assert root["title"] == "Top"
    assert root["status"] == "open"
    assert list(root)[-3:] == ["depth", "parent_id", "truncated"]
    assert "issue" not in root


def test_dep_tree_max_depth_marks_the_cut_nodes_truncated(bd) -> None:  # noqa: ANN001
    top, mid, _ = _chain(bd)
    tree = bd.json("dep", "tree", top, "-d", "1")
    assert [(n["id"], n["truncated"]) for n in tree] == [(top, False), (mid, True)]
    bad = bd("dep", "tree", top, "--max-depth", "0", check=False)
    assert (bad.returncode, bad.stderr.strip()) == (1, "Error: --max-depth must be >= 1")


def test_dep_tree_up_walks_the_dependents_and_both_walks_both_ways(bd) -> None:  # noqa: ANN001
    top, mid, low = _chain(bd)
    up = bd.json("dep", "tree", low, "--direction", "up")
    assert [(n["id"], n["depth"], n["parent_id"]) for n in up] == [(low, 0, low), (mid, 1, low), (top, 2, mid)]
    assert bd.json("dep", "tree", low, "--reverse") == up
    both = bd.json("dep", "tree", mid, "--direction", "both")
    assert sorted(n["id"] for n in both) == sorted([mid, low, top])
    bad = bd("dep", "tree", mid, "--direction", "sideways", check=False)
    assert bad.returncode == 1
    assert "--direction must be 'down', 'up', or 'both'" in bad.stderr


def test_dep_tree_status_filter_keeps_matching_nodes_and_their_ancestors(bd) -> None:  # noqa: ANN001
    top, mid, low = _chain(bd)
    bd("close", low)
    tree = bd.json("dep", "tree", top, "--status", "closed")
    assert _ids(tree) == [top, mid, low]
    assert bd.json("dep", "tree", top, "--status", "deferred") == []


def test_dep_tree_shows_diamonds_once_unless_all_paths_are_asked_for(bd) -> None:  # noqa: ANN001
    base = _create(bd, "Base")
    left = _create(bd, "Left")
    right = _create(bd, "Right")
    top = _create(bd, "Top")
    for a, b in ((left, base), (right, base), (top, left), (top, right)):
        bd("dep", "add", a, b)
    assert _ids(bd.json("dep", "tree", top)).count(base) == 1
    assert _ids(bd.json("dep", "tree", top, "--show-all-paths")).count(base) == 2


def test_dep_tree_text_and_mermaid_renderings(bd) -> None:  # noqa: ANN001
    top, mid, low = _chain(bd)
    out = bd("dep", "tree", top).stdout
    assert f"🌲 Dependency tree for {top}:" in out
    # top waits on mid, so it is not marked ready (the original marked any open root)
    assert f"{top}: Top [P2] (open)\n└── {mid}: Mid [P1] (open)\n    └── {low}: Low [P3] (open)\n" in out
    assert f"{low}: Low [P3] (open) [READY]\n" in bd("dep", "tree", low, "--direction", "up").stdout
    mermaid = bd("dep", "tree", top, "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart TD\n")
    assert f'  {mid}["☐ {mid}: Mid"]' in mermaid
    assert f"  {top} --> {mid}\n" in mermaid
    assert f"  {mid} --> {low}\n" in mermaid


# -- dep cycles -----------------------------------------------------------------------------------


def test_dep_cycles_is_an_empty_array_for_an_acyclic_graph(bd) -> None:  # noqa: ANN001
    _chain(bd)
    assert bd("dep", "cycles", "--json").stdout == "[]\n"
    assert "No dependency cycles detected" in bd("dep", "cycles").stdout


def test_dep_cycles_reports_a_cycle_that_arrived_by_other_means(bd, repo: Path) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    bd("dep", "add", b, a)
    # `bd dep add` refuses cycles, but an imported JSONL can carry one: write the edge underneath.
    import beads

    tracker = beads.open(str(repo))
    try:
        with tracker.write():
            tracker.store.add_dependency({"issue_id": a, "depends_on_id": b, "type": "blocks",
                                          "created_at": "2025-01-01T00:00:00Z"})
    finally:
        tracker.disconnect()
    cycles = bd.json("dep", "cycles")
    assert len(cycles) == 1
    assert sorted(_ids(cycles[0])) == sorted([a, b])
    assert cycles[0][0]["title"] in ("A", "B")
    assert "Found 1 dependency cycles:" in bd("dep", "cycles").stdout
    warned = bd("dep", "add", _create(bd, "C"), a)
    assert "Dependency cycle detected" in warned.stderr


# -- relate / unrelate -----------------------------------------------------------------------------


def test_relate_links_both_ways_without_a_cycle_check_and_unrelate_undoes_it(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    bd("dep", "add", b, a)
    assert bd.json("relate", a, b) == {"id1": a, "id2": b, "related": True}
    assert (b, "relates-to") in _edges(bd, a)
    assert (a, "relates-to") in _edges(bd, b)
    assert _ids(bd.json("ready")) == [a]
    assert bd("unrelate", a, b).stdout == f"✓ Unlinked {a} ↔ {b}\n"
    assert _edges(bd, a) == []
    assert _edges(bd, b) == [(a, "blocks")]
    assert bd("unrelate", a, b, check=False).returncode == 1


def test_relate_refuses_an_issue_with_itself_and_prints_a_link_line(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    result = bd("relate", a, a, check=False)
    assert (result.returncode, result.stderr.strip()) == (1, "Error: cannot relate an issue to itself")
    assert bd("relate", a, b).stdout == f"✓ Linked {a} ↔ {b}\n"


# -- duplicate / supersede ----------------------------------------------------------------------------


def test_duplicate_links_to_the_canonical_issue_and_closes_the_duplicate(bd) -> None:  # noqa: ANN001
    canonical = _create(bd, "Crash on start")
    dup = _create(bd, "App crashes at launch")
    result = bd("duplicate", dup, "--of", canonical, "--json")
    assert result.json() == {"canonical": canonical, "duplicate": dup, "status": "closed"}
    assert list(result.json()) == ["canonical", "duplicate", "status"]  # type: ignore[arg-type]
    shown = bd.json("show", dup)[0]
    assert shown["status"] == "closed"
    assert shown["close_reason"] == f"Duplicate of {canonical}"
    assert _edges(bd, dup) == [(canonical, "duplicates")]
    assert bd.json("show", canonical)[0]["status"] == "open"
    assert _ids(bd.json("ready")) == [canonical]


def test_duplicate_refuses_itself_unknown_canonicals_and_a_missing_of(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    itself = bd("duplicate", a, "--of", a, check=False)
    assert (itself.returncode, itself.stderr.strip()) == (1, "Error: cannot mark an issue as duplicate of itself")
    unknown = bd("duplicate", a, "--of", "test-nope", check=False)
    assert unknown.returncode == 1
    assert "canonical issue not found: test-nope" in unknown.stderr
    assert bd("duplicate", a, check=False).returncode != 0
    assert bd.json("show", a)[0]["status"] == "open"


def test_supersede_links_the_old_issue_to_its_replacement_and_closes_it(bd) -> None:  # noqa: ANN001
    old = _create(bd, "Design v1")
    new = _create(bd, "Design v2")
    out = bd("supersede", old, "--with", new).stdout
    assert out == f"✓ Marked {old} as superseded by {new} (closed)\n"
    shown = bd.json("show", old)[0]
    assert (shown["status"], shown["close_reason"]) == ("closed", f"Superseded by {new}")
    assert _edges(bd, old) == [(new, "supersedes")]
    again = bd.json("supersede", old, "--with", new)
    assert again == {"replacement": new, "status": "closed", "superseded": old}
    assert _edges(bd, old) == [(new, "supersedes")]
