"""Batch creation: one transaction, all or nothing, never a reused ID (lessons D, H)."""

from __future__ import annotations

import math

import pytest

from beads import ids
from beads.core.tracker import Tracker
from beads.errors import InvalidInput, NotFound


def statements(t: Tracker) -> list[str]:
    seen: list[str] = []
    t.store.connection.set_trace_callback(seen.append)
    return seen


def test_create_many_runs_in_a_single_transaction(tracker: Tracker) -> None:
    seen = statements(tracker)
    created = tracker.create_many([{"title": f"t{i}", "labels": ["x"]} for i in range(50)])
    tracker.store.connection.set_trace_callback(None)
    assert len(created) == 50
    assert sum(s.startswith("BEGIN") for s in seen) == 1
    assert sum(s == "COMMIT" for s in seen) == 1


def test_a_failing_spec_rolls_back_the_whole_batch(tracker: Tracker) -> None:
    tracker.create("parent", id="test-p")
    specs = [{"title": "good"}, {"title": "kid", "parent": "test-p", "labels": ["l"]},
             {"title": "bad", "priority": 9}]
    before = tracker.store.dirty_ids()
    with pytest.raises(InvalidInput):
        tracker.create_many(specs)
    assert tracker.store.all_ids() == ["test-p"]
    assert tracker.store.all_labels() == {}
    assert tracker.store.dirty_ids() == before
    assert tracker.create("kid", parent="test-p")["id"] == "test-p.1"  # the child counter rolled back too


def test_a_spec_with_a_missing_dependency_rolls_back_the_batch(tracker: Tracker) -> None:
    with pytest.raises(NotFound):
        tracker.create_many([{"title": "a"}, {"title": "b", "dependencies": ["test-ghost"]}])
    assert tracker.store.issue_count() == 0


def test_a_batch_of_a_thousand_gets_a_thousand_distinct_ids_of_adaptive_length(tracker: Tracker) -> None:
    created = tracker.create_many([{"title": "same title", "description": "same"} for _ in range(1000)])
    got = [i["id"] for i in created]
    assert len(set(got)) == 1000
    for n, issue_id in enumerate(got):
        # never shorter than the length the count of earlier issues calls for
        assert len(ids.hash_part(issue_id)) >= ids.adaptive_length(n)
    assert {len(ids.hash_part(i)) for i in got} <= {4, 5}
    crossover = math.isqrt(int(-2 * 36**4 * math.log(0.75)))
    assert len(ids.hash_part(got[crossover + 5])) == 5
    assert tracker.store.issue_count() == 1000


def test_later_specs_may_depend_on_and_nest_under_earlier_ones(tracker: Tracker) -> None:
    created = tracker.create_many([
        {"title": "epic", "id": "test-e", "issue_type": "epic"},
        {"title": "first", "parent": "test-e"},
        {"title": "second", "parent": "test-e", "dependencies": ["test-e.1"]},
        {"title": "found", "dependencies": ["discovered-from:test-e.2"]},
    ])
    assert [c["id"] for c in created[:3]] == ["test-e", "test-e.1", "test-e.2"]
    edges = tracker.store.all_edges(exclude_types=())
    assert ("test-e.2", "test-e.1", "blocks") in edges
    assert (created[3]["id"], "test-e.2", "discovered-from") in edges
    assert tracker.store.blocked_ids() == {"test-e.2"}


def test_a_batch_refuses_the_same_explicit_id_twice(tracker: Tracker) -> None:
    from beads.errors import Conflict

    with pytest.raises(Conflict):
        tracker.create_many([{"title": "a", "id": "test-dup"}, {"title": "b", "id": "test-dup"}])
    assert tracker.store.issue_count() == 0


def test_an_empty_batch_creates_nothing(tracker: Tracker) -> None:
    assert tracker.create_many([]) == []


def test_ids_get_the_length_of_the_exact_top_level_count_across_thresholds(tracker: Tracker) -> None:
    """The count behind the adaptive length may stop early (see ``_Batch._count``), never so early
    that a length differs from the one the exact count of top-level IDs gives."""
    tracker.set_config("min_hash_length", "3")
    tracker.set_config("max_collision_prob", "0.001")  # lengths 3, 4, 5, 6 up to ~9, ~58, ~350 issues

    def expected(n: int) -> int:
        return ids.adaptive_length(n, 3, ids.DEFAULT_MAX_LENGTH, 0.001)

    parent = tracker.create("parent")["id"]
    for k in range(12):
        tracker.create(f"child {k}", parent=parent)  # rows that are not top-level
    gone = tracker.create("gone")["id"]
    tracker.delete([gone], hard=True)  # a freed rowid
    sizes = [1] * 12 + [20, 1, 1, 30, 1] + [1] * 10
    for size in sizes:
        before = tracker.store.count_top_level("test")
        made = tracker.create_many([{"title": f"t{before} {k}"} for k in range(size)])
        assert [len(ids.hash_part(i["id"])) for i in made] == [expected(before + k) for k in range(size)]
    assert tracker.store.count_top_level("test") > 60  # past two thresholds


def test_the_top_level_count_stops_where_the_length_is_decided(tracker: Tracker) -> None:
    tracker.set_config("min_hash_length", "3")
    tracker.set_config("max_collision_prob", "0.001")
    tracker.create_many([{"title": f"t{k}"} for k in range(100)])
    seen = statements(tracker)
    made = tracker.create("one more")
    tracker.store.connection.set_trace_callback(None)
    counts = [s for s in seen if "instr(id, '.')" in s]
    # at most 101 issues, all with length 5 from `floor` on: the walk stops after `floor` IDs
    floor = min(n for n in range(101) if ids.adaptive_length(n, 3, ids.DEFAULT_MAX_LENGTH, 0.001) == 5)
    assert 0 < floor < 100 and ids.adaptive_length(101, 3, ids.DEFAULT_MAX_LENGTH, 0.001) == 5
    assert len(counts) == 1 and counts[0].rstrip().endswith(f"LIMIT {floor})")
    assert len(ids.hash_part(made["id"])) == 5


def test_children_and_explicit_ids_count_nothing(tracker: Tracker) -> None:
    parent = tracker.create("parent")["id"]
    seen = statements(tracker)
    tracker.create("kid", parent=parent)
    tracker.create("explicit", id="test-explicit")
    tracker.store.connection.set_trace_callback(None)
    assert not [s for s in seen if "COUNT(*)" in s and "instr(" in s]
