"""Dependency graph rules (spec §4): what ``add_dependency`` refuses, and that a refusal writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from beads import model
from beads.core.tracker import Tracker
from beads.errors import Conflict, CycleError, InvalidInput, NotFound

CYCLE_CHECKED_TYPES = [t for t in model.KNOWN_DEP_TYPES if t != model.DEP_RELATES_TO] + ["my-custom-edge"]


def make(t: Tracker, *names: str, issue_type: str = "task") -> list[str]:
    return [t.create(name, id=f"test-{name}", issue_type=issue_type)["id"] for name in names]


def edges(t: Tracker) -> list[tuple[str, str, str]]:
    return t.store.all_edges(exclude_types=())


def test_an_issue_cannot_depend_on_itself(tracker: Tracker) -> None:
    (a,) = make(tracker, "a")
    with pytest.raises(InvalidInput, match="^issue cannot depend on itself$"):
        tracker.add_dependency(a, a)
    assert edges(tracker) == []


def test_a_missing_target_is_refused(tracker: Tracker) -> None:
    (a,) = make(tracker, "a")
    with pytest.raises(NotFound):
        tracker.add_dependency(a, "test-ghost")
    assert edges(tracker) == []


def test_a_missing_source_is_refused(tracker: Tracker) -> None:
    (a,) = make(tracker, "a")
    with pytest.raises(NotFound):
        tracker.add_dependency("test-ghost", a)


@pytest.mark.parametrize("dep_type", CYCLE_CHECKED_TYPES)
def test_a_direct_cycle_is_refused_for_every_type_but_relates_to(tracker: Tracker, dep_type: str) -> None:
    a, b = make(tracker, "a", "b")
    tracker.add_dependency(a, b, dep_type)
    before_events = tracker.events(b)
    with pytest.raises(CycleError) as err:
        tracker.add_dependency(b, a, dep_type)
    assert str(err.value) == f"cannot add dependency: would create a cycle ({b} → {a} → {b})"
    assert edges(tracker) == [(a, b, dep_type)]
    assert tracker.events(b) == before_events


def test_a_long_cycle_names_the_whole_path(tracker: Tracker) -> None:
    a, b, c, d = make(tracker, "a", "b", "c", "d")
    tracker.add_dependency(a, b)
    tracker.add_dependency(b, c, "discovered-from")
    tracker.add_dependency(c, d, "parent-child")
    with pytest.raises(CycleError) as err:
        tracker.add_dependency(d, a)
    assert str(err.value) == f"cannot add dependency: would create a cycle ({d} → {a} → {b} → {c} → {d})"
    assert len(edges(tracker)) == 3
    assert tracker.store.dependencies_of(d) == []


def test_a_cycle_through_edges_of_mixed_types_is_refused(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.add_dependency(a, b, "related")
    with pytest.raises(CycleError):
        tracker.add_dependency(b, a, "blocks")


def test_relates_to_may_point_both_ways(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.add_dependency(a, b, "relates-to")
    tracker.add_dependency(b, a, "relates-to")
    assert sorted(edges(tracker)) == [(a, b, "relates-to"), (b, a, "relates-to")]


def test_relates_to_edges_are_not_followed_by_the_cycle_check(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.relate(a, b)
    tracker.add_dependency(a, b)
    assert sorted(edges(tracker)) == [(a, b, "blocks"), (a, b, "relates-to"), (b, a, "relates-to")]
    with pytest.raises(CycleError):
        tracker.add_dependency(b, a)


def test_a_refused_cycle_leaves_the_blocked_cache_and_dirty_marks_alone(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.add_dependency(a, b)
    tracker.store.clear_dirty()
    blocked = tracker.store.blocked_ids()
    with pytest.raises(CycleError):
        tracker.add_dependency(b, a)
    assert tracker.store.blocked_ids() == blocked == {a}
    assert tracker.store.dirty_ids() == []


def test_an_epic_cannot_be_the_child_of_a_non_epic(tracker: Tracker) -> None:
    (epic,) = make(tracker, "epic", issue_type="epic")
    (task,) = make(tracker, "task")
    with pytest.raises(InvalidInput) as err:
        tracker.add_dependency(epic, task, "parent-child")
    assert f"Use: bd dep add {task} {epic} --type parent-child" in str(err.value)
    assert edges(tracker) == []


def test_an_epic_may_be_the_child_of_an_epic_and_a_task_of_an_epic(tracker: Tracker) -> None:
    big, small = make(tracker, "big", "small", issue_type="epic")
    (task,) = make(tracker, "task")
    tracker.add_dependency(small, big, "parent-child")
    tracker.add_dependency(task, small, "parent-child")
    assert len(edges(tracker)) == 2


def test_a_hierarchical_child_cannot_explicitly_depend_on_its_ancestor(tracker: Tracker) -> None:
    parent = tracker.create("parent", id="test-p")["id"]
    child = tracker.create("child", parent=parent)["id"]
    grandchild = tracker.create("grandchild", parent=child)["id"]
    assert (child, grandchild) == ("test-p.1", "test-p.1.1")
    for src in (child, grandchild):
        with pytest.raises(InvalidInput, match="is already a child of test-p.*would create a deadlock"):
            tracker.add_dependency(src, parent)
    assert sorted(edges(tracker)) == [(child, parent, "parent-child"), (grandchild, child, "parent-child")]


def test_a_sibling_with_a_similar_id_is_not_mistaken_for_a_child(tracker: Tracker) -> None:
    a = tracker.create("a", id="test-p1")["id"]
    b = tracker.create("b", id="test-p")["id"]
    tracker.add_dependency(a, b)
    assert edges(tracker) == [(a, b, "blocks")]


def test_the_same_edge_cannot_be_added_twice(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.add_dependency(a, b)
    with pytest.raises(Conflict, match="already exists"):
        tracker.add_dependency(a, b)
    assert edges(tracker) == [(a, b, "blocks")]


def test_the_same_pair_may_be_linked_with_different_types(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.add_dependency(a, b)
    tracker.add_dependency(a, b, "discovered-from")
    assert sorted(edges(tracker)) == [(a, b, "blocks"), (a, b, "discovered-from")]


def test_an_external_target_needs_no_local_issue_and_skips_the_cycle_check(tracker: Tracker) -> None:
    (a,) = make(tracker, "a")
    tracker.add_dependency(a, "external:other:auth")
    assert edges(tracker) == [(a, "external:other:auth", "blocks")]
    with pytest.raises(InvalidInput):
        tracker.add_dependency(a, "external:broken")


def test_an_over_long_edge_type_is_refused(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    with pytest.raises(InvalidInput):
        tracker.add_dependency(a, b, "x" * 51)


def test_adding_an_edge_records_an_event_and_marks_both_ends_dirty(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.store.clear_dirty()
    tracker.add_dependency(a, b)
    assert tracker.store.dirty_ids() == sorted([a, b])
    assert [e["event_type"] for e in tracker.events(a)][-1] == "dependency_added"


def test_find_cycles_reports_cycles_that_reached_the_database_by_other_paths(tracker: Tracker) -> None:
    a, b, c = make(tracker, "a", "b", "c")
    tracker.add_dependency(a, b)
    with tracker.store.transaction():  # an import can bring a cycle in
        tracker.store.add_dependency({"issue_id": b, "depends_on_id": a, "type": "blocks",
                                      "created_at": "2025-01-01T00:00:00Z"})
    cycles = tracker.find_cycles()
    assert [sorted(cycle) for cycle in cycles] == [[a, b]]
    assert c not in cycles[0]


def test_the_cycle_warning_walks_the_graph_again_only_after_unchecked_edges(tracker: Tracker) -> None:
    from beads.sync.importer import import_records
    from beads.sync.jsonl import export_records

    a, b, c = (tracker.create(n)["id"] for n in "abc")
    tracker.add_dependency(a, b)
    assert tracker.cycles_after_add() == [] and tracker.store.graph_known_acyclic()
    tracker.add_dependency(b, c)  # checked: the graph stays known acyclic, no walk needed
    assert tracker.store.graph_known_acyclic()
    record = next(r for r in export_records(tracker.store) if r["id"] == c)
    record["updated_at"] = "2099-01-01T00:00:00Z"
    record["dependencies"] = [{"issue_id": c, "depends_on_id": a, "type": "blocks"}]
    import_records(tracker, [record], skip_prefix_validation=True)  # another clone's edge closes a cycle
    assert not tracker.store.graph_known_acyclic()
    assert [sorted(cycle) for cycle in tracker.cycles_after_add()] == [sorted([a, b, c])]


def test_a_cycle_search_that_found_none_is_remembered_unless_the_graph_moved_meanwhile(tracker: Tracker) -> None:
    import beads

    a, b, c = make(tracker, "a", "b", "c")
    with tracker.store.transaction():  # an unchecked edge: the graph is no longer known acyclic
        tracker.store.add_dependency({"issue_id": a, "depends_on_id": b, "type": "blocks",
                                      "created_at": "2025-01-01T00:00:00Z"})
    assert not tracker.store.graph_known_acyclic()
    other = beads.open(str(Path(tracker.store.path).parent), actor="other")
    try:
        with tracker.store.read_snapshot():  # a search whose snapshot another process outdates
            tracker.store.all_edges()
            with other.store.transaction():  # an import in another process closes a cycle
                other.store.add_dependency({"issue_id": b, "depends_on_id": a, "type": "blocks",
                                            "created_at": "2025-01-01T00:00:00Z"})
            assert tracker.store.keep_graph_acyclic() is False
    finally:
        other.disconnect()
    assert not tracker.store.graph_known_acyclic()
    assert [sorted(cycle) for cycle in tracker.find_cycles()] == [[a, b]]
    tracker.remove_dependency(b, a)
    assert tracker.find_cycles() == [] and tracker.store.graph_known_acyclic()  # remembered
    tracker.add_dependency(c, a)  # checked: still known acyclic
    assert tracker.store.graph_known_acyclic()


def test_the_cycle_search_on_the_cyclic_core_finds_what_the_whole_graph_walk_finds() -> None:
    import random

    from beads.core.graph import _cyclic_core, _strongly_connected

    rng = random.Random(6)
    for _ in range(200):
        nodes = [f"n{k}" for k in range(rng.randint(1, 30))]
        adjacency: dict[str, list[str]] = {}
        for _ in range(rng.randint(0, 45)):  # duplicates and self-loops included, as a database can hold
            adjacency.setdefault(rng.choice(nodes), []).append(rng.choice(nodes))
        whole = [c for c in _strongly_connected(adjacency) if len(c) > 1 or c[0] in adjacency.get(c[0], [])]
        core = _cyclic_core(adjacency)
        assert [c for c in _strongly_connected(core) if len(c) > 1 or c[0] in core.get(c[0], [])] == whole
        assert bool(core) == bool(whole)  # an acyclic graph leaves nothing to walk


def test_a_graph_known_acyclic_is_not_walked_and_an_unchecked_edge_makes_it_walked_again(tracker: Tracker) -> None:
    a, b = make(tracker, "a", "b")
    tracker.add_dependency(a, b)
    assert tracker.cycles_after_add() == [] and tracker.store.graph_known_acyclic()
    with tracker.store.transaction():  # an import can bring a cycle in: the mark goes with it
        tracker.store.add_dependency({"issue_id": b, "depends_on_id": a, "type": "blocks",
                                      "created_at": "2025-01-01T00:00:00Z"})
    assert not tracker.store.graph_known_acyclic()
    assert [sorted(c) for c in tracker.find_cycles()] == [sorted([a, b])]
    assert [[i["id"] for i in c] for c in tracker.cycle_issues()] == [tracker.find_cycles()[0]]
    with tracker.store.transaction():  # the mark is trusted (nothing walked): only a cycle check may set it
        tracker.store.mark_graph_acyclic()
    assert tracker.find_cycles() == []
