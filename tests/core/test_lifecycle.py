"""Issue lifecycle invariants: create, update, close, reopen, delete (spec §2.1, §2.5, §2.7)."""

from __future__ import annotations

import pytest

from beads import model
from beads.core.tracker import Tracker
from beads.errors import Conflict, InvalidInput, NotFound


def event_types(t: Tracker, issue_id: str) -> list[str]:
    return [e["event_type"] for e in t.store.events_of(issue_id)]


def closed_iff_closed_at(issue: dict) -> bool:
    return (issue["status"] == "closed") == bool(issue["closed_at"])


# -- create --------------------------------------------------------------------------------


def test_a_new_issue_is_open_with_defaults_and_no_closed_at(tracker: Tracker) -> None:
    issue = tracker.create("Write docs")
    assert (issue["status"], issue["priority"], issue["issue_type"]) == ("open", 2, "task")
    assert issue["closed_at"] is None
    assert issue["created_by"] == "tester"
    assert issue["created_at"] == issue["updated_at"]
    assert issue["id"].startswith("test-") and len(issue["id"]) == len("test-") + 4


def test_creating_records_a_created_event_with_the_issue_json(tracker: Tracker) -> None:
    issue = tracker.create("Write docs", description="all of them")
    (event,) = tracker.store.events_of(issue["id"])
    assert (event["event_type"], event["actor"]) == ("created", "tester")
    assert '"title":"Write docs"' in event["new_value"]


def test_creating_marks_the_issue_dirty(tracker: Tracker) -> None:
    issue = tracker.create("x")
    assert tracker.store.dirty_ids() == [issue["id"]]


def test_an_issue_created_closed_gets_a_closed_at(tracker: Tracker) -> None:
    issue = tracker.create("already done", status="closed")
    assert issue["closed_at"] and closed_iff_closed_at(issue)


def test_an_issue_cannot_be_created_as_a_tombstone(tracker: Tracker) -> None:
    with pytest.raises(InvalidInput):
        tracker.create("x", status="tombstone")
    assert tracker.store.issue_count() == 0


@pytest.mark.parametrize(("fields", "message"), [
    ({"priority": 7}, "priority must be between 0 and 4"),
    ({"priority": "high"}, 'invalid priority "high"'),
    ({"status": "weird"}, "invalid status: weird"),
    ({"issue_type": "story"}, "invalid issue type: story"),
    ({"estimated_minutes": -5}, "estimated_minutes cannot be negative"),
    ({"id": "nodash"}, "must contain a '-'"),
    ({"id": "other-abc"}, "prefix mismatch"),
    ({"id": "test-a", "parent": "test-b"}, "cannot specify both --id and --parent"),
])
def test_invalid_fields_are_refused(tracker: Tracker, fields: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        tracker.create("x", **fields)


def test_an_empty_or_over_long_title_is_refused(tracker: Tracker) -> None:
    with pytest.raises(InvalidInput, match="title is required"):
        tracker.create("   ")
    with pytest.raises(InvalidInput, match="500 characters or less"):
        tracker.create("x" * 501)
    assert tracker.create("x" * 500)["title"] == "x" * 500


def test_priority_accepts_p_notation(tracker: Tracker) -> None:
    assert tracker.create("x", priority="P0")["priority"] == 0
    assert tracker.create("y", priority="p4")["priority"] == 4


def test_an_explicit_id_that_exists_is_a_conflict(tracker: Tracker) -> None:
    tracker.create("x", id="test-abc")
    with pytest.raises(Conflict):
        tracker.create("y", id="test-abc")


def test_children_get_sequential_ids_and_a_parent_child_edge(tracker: Tracker) -> None:
    parent = tracker.create("epic", id="test-e", issue_type="epic")["id"]
    kids = [tracker.create(f"kid {i}", parent=parent)["id"] for i in range(3)]
    assert kids == ["test-e.1", "test-e.2", "test-e.3"]
    assert tracker.store.children_of(parent) == kids


def test_an_explicit_child_id_bumps_the_child_counter(tracker: Tracker) -> None:
    tracker.create("epic", id="test-e")
    tracker.create("seventh", id="test-e.7")
    assert tracker.create("next", parent="test-e")["id"] == "test-e.8"


def test_hierarchy_is_limited_to_three_levels(tracker: Tracker) -> None:
    current = tracker.create("root", id="test-r")["id"]
    for _ in range(3):
        current = tracker.create("level", parent=current)["id"]
    assert current == "test-r.1.1.1"
    with pytest.raises(InvalidInput, match="maximum hierarchy depth"):
        tracker.create("too deep", parent=current)


def test_an_external_ref_is_unique(tracker: Tracker) -> None:
    tracker.create("x", external_ref="gh-9")
    with pytest.raises(Conflict):
        tracker.create("y", external_ref="gh-9")


# -- update --------------------------------------------------------------------------------


def test_update_changes_fields_bumps_updated_at_and_records_an_event(tracker: Tracker) -> None:
    issue = tracker.create("x")
    tracker.store.clear_dirty()
    updated = tracker.update(issue["id"], title="y", priority=0, assignee="alice")
    assert (updated["title"], updated["priority"], updated["assignee"]) == ("y", 0, "alice")
    assert updated["updated_at"] >= issue["updated_at"]
    assert updated["_content_hash"] == model.content_hash(updated)
    assert event_types(tracker, issue["id"]) == ["created", "updated"]
    assert tracker.store.dirty_ids() == [issue["id"]]


def test_update_to_closed_sets_closed_at_and_back_to_open_clears_it(tracker: Tracker) -> None:
    issue_id = tracker.create("x")["id"]
    closed = tracker.update(issue_id, status="closed")
    assert closed["closed_at"] and closed_iff_closed_at(closed)
    reopened = tracker.update(issue_id, status="open")
    assert reopened["closed_at"] is None and reopened["close_reason"] == ""
    assert event_types(tracker, issue_id) == ["created", "closed", "reopened"]


def test_a_status_change_records_status_changed(tracker: Tracker) -> None:
    issue_id = tracker.create("x")["id"]
    tracker.update(issue_id, status="in_progress")
    assert event_types(tracker, issue_id)[-1] == "status_changed"


def test_update_refuses_the_tombstone_status(tracker: Tracker) -> None:
    issue_id = tracker.create("x")["id"]
    with pytest.raises(InvalidInput, match="use 'bd delete' instead"):
        tracker.update(issue_id, status="tombstone")
    assert tracker.get(issue_id)["status"] == "open"


def test_update_refuses_unknown_fields(tracker: Tracker) -> None:
    issue_id = tracker.create("x")["id"]
    with pytest.raises(InvalidInput, match="invalid field for update: created_at"):
        tracker.update(issue_id, created_at="2020-01-01T00:00:00Z")


def test_update_of_a_missing_issue_is_not_found(tracker: Tracker) -> None:
    with pytest.raises(NotFound):
        tracker.update("test-nope", title="x")


def test_labels_are_added_removed_and_replaced(tracker: Tracker) -> None:
    issue_id = tracker.create("x", labels=["a", " b ", "a", ""])["id"]
    assert tracker.labels(issue_id) == ["a", "b"]
    tracker.update(issue_id, add_labels=["c"], remove_labels=["a"])
    assert tracker.labels(issue_id) == ["b", "c"]
    tracker.update(issue_id, set_labels=["z"])
    assert tracker.labels(issue_id) == ["z"]
    assert "label_removed" in event_types(tracker, issue_id)


def test_claim_takes_an_unclaimed_issue_and_refuses_a_claimed_one(tracker: Tracker) -> None:
    issue_id = tracker.create("x")["id"]
    claimed = tracker.claim(issue_id)
    assert (claimed["assignee"], claimed["status"]) == ("tester", "in_progress")
    tracker.actor = "someone-else"
    with pytest.raises(Conflict, match="already claimed by tester"):
        tracker.claim(issue_id)


# -- close / reopen ------------------------------------------------------------------------------


def test_close_sets_closed_at_and_the_default_reason(tracker: Tracker) -> None:
    issue_id = tracker.create("x")["id"]
    closed = tracker.close(issue_id)
    assert (closed["status"], closed["close_reason"]) == ("closed", "Closed")
    assert closed["closed_at"] and closed_iff_closed_at(closed)
    events = tracker.store.events_of(issue_id)
    assert (events[-1]["event_type"], events[-1]["comment"]) == ("closed", "Closed")


def test_reopen_clears_closed_at_and_close_reason(tracker: Tracker) -> None:
    issue_id = tracker.create("x")["id"]
    tracker.close(issue_id, "won't do")
    reopened = tracker.reopen(issue_id, "changed my mind")
    assert (reopened["status"], reopened["closed_at"], reopened["close_reason"]) == ("open", None, "")
    assert event_types(tracker, issue_id) == ["created", "closed", "reopened"]


def test_a_pinned_issue_closes_only_with_force(tracker: Tracker) -> None:
    issue_id = tracker.create("context", pinned=True)["id"]
    with pytest.raises(InvalidInput, match="pinned"):
        tracker.close(issue_id)
    assert tracker.close(issue_id, force=True)["status"] == "closed"


def test_a_template_is_read_only(tracker: Tracker) -> None:
    issue_id = tracker.create("template", is_template=True)["id"]
    with pytest.raises(InvalidInput, match="read-only"):
        tracker.close(issue_id)
    with pytest.raises(InvalidInput, match="read-only"):
        tracker.update(issue_id, title="new")


def test_the_closed_at_invariant_is_enforced_by_the_schema(tracker: Tracker) -> None:
    issue = tracker.create("x")
    with pytest.raises(InvalidInput, match="constraint"), tracker.store.transaction():
        tracker.store.update_issue(issue["id"], {"status": "closed"}, issue["_content_hash"])
    assert tracker.get(issue["id"])["status"] == "open"


# -- delete --------------------------------------------------------------------------------------


@pytest.fixture
def linked(tracker: Tracker) -> dict[str, str]:
    ids = {name: tracker.create(name, id=f"test-{name}")["id"] for name in ("doomed", "up", "down", "far")}
    tracker.update(ids["up"], description="needs test-doomed first (not test-doomed2 or test-doomed.1)")
    tracker.update(ids["far"], description="mentions test-doomed but is not linked")
    tracker.add_dependency(ids["up"], ids["doomed"])
    tracker.add_dependency(ids["doomed"], ids["down"], "related")
    return ids


def test_delete_turns_the_issue_into_a_tombstone(tracker: Tracker, linked: dict[str, str]) -> None:
    result = tracker.delete([linked["doomed"]])
    assert result["deleted"] == [linked["doomed"]]
    row = tracker.store.get_issue(linked["doomed"])
    assert row is not None
    assert (row["status"], row["closed_at"], row["deleted_by"]) == ("tombstone", None, "tester")
    assert (row["delete_reason"], row["original_type"]) == ("manual delete", "task")
    assert row["deleted_at"]
    assert event_types(tracker, linked["doomed"])[-1] == "deleted"


def test_delete_removes_every_edge_in_both_directions(tracker: Tracker, linked: dict[str, str]) -> None:
    result = tracker.delete([linked["doomed"]])
    assert result["dependencies_removed"] == 2
    assert tracker.store.all_edges(exclude_types=()) == []
    assert result["orphaned_issues"] == [linked["up"]]


def test_delete_rewrites_references_in_connected_issues_only(tracker: Tracker, linked: dict[str, str]) -> None:
    result = tracker.delete([linked["doomed"]])
    assert result["references_updated"] == 1
    assert tracker.get(linked["up"])["description"] == (
        "needs [deleted:test-doomed] first (not test-doomed2 or test-doomed.1)")
    assert tracker.get(linked["far"])["description"] == "mentions test-doomed but is not linked"


def test_delete_marks_the_tombstone_and_its_neighbours_dirty(tracker: Tracker, linked: dict[str, str]) -> None:
    tracker.store.clear_dirty()
    tracker.delete([linked["doomed"]])
    assert tracker.store.dirty_ids() == sorted([linked["doomed"], linked["up"], linked["down"]])


def test_a_tombstone_is_hidden_from_normal_queries(tracker: Tracker, linked: dict[str, str]) -> None:
    tracker.delete([linked["doomed"]])
    assert linked["doomed"] not in [i["id"] for i in tracker.list()]
    assert linked["doomed"] not in [i["id"] for i in tracker.ready(limit=0)]
    with pytest.raises(NotFound):
        tracker.resolve_id("doome")
    assert tracker.get(linked["doomed"])["status"] == "tombstone"  # an exact ID still shows it


def test_several_deletes_at_once_say_batch_delete(tracker: Tracker) -> None:
    a, b = tracker.create("a")["id"], tracker.create("b")["id"]
    tracker.delete([a, b])
    assert {tracker.store.get_issue(i)["delete_reason"] for i in (a, b)} == {"batch delete"}  # type: ignore[index]


def test_a_tombstone_cannot_be_closed_reopened_or_resurrected_by_update(tracker: Tracker) -> None:
    issue_id = tracker.create("x", id="test-x")["id"]
    tracker.delete([issue_id])
    with pytest.raises(InvalidInput):
        tracker.close(issue_id)
    with pytest.raises(InvalidInput):
        tracker.reopen(issue_id)


def test_a_deleted_id_stays_reserved_for_explicit_ids(tracker: Tracker) -> None:
    issue_id = tracker.create("x", id="test-x")["id"]
    tracker.delete([issue_id])
    assert tracker.store.issue_exists(issue_id)
    with pytest.raises(Conflict):
        tracker.create("again", id=issue_id)


def test_minted_ids_never_reuse_a_deleted_id(tracker: Tracker) -> None:
    # Two-character IDs (1,296 of them) make reuse near certain if tombstones were not checked.
    tracker.set_config("min_hash_length", "2")
    tracker.set_config("max_hash_length", "2")
    first = [i["id"] for i in tracker.create_many([{"title": f"first {n}"} for n in range(100)])]
    tracker.delete(first)
    second = [i["id"] for i in tracker.create_many([{"title": f"second {n}"} for n in range(100)])]
    assert len(set(first)) == len(set(second)) == 100
    assert not set(first) & set(second)


def test_hard_delete_removes_the_row_and_everything_hanging_off_it(tracker: Tracker,
                                                                    linked: dict[str, str]) -> None:
    tracker.add_label(linked["doomed"], "x")
    tracker.add_comment(linked["doomed"], "a note")
    tracker.delete([linked["doomed"]], hard=True)
    assert not tracker.store.issue_exists(linked["doomed"])
    assert tracker.store.events_of(linked["doomed"]) == []
    assert tracker.store.labels_of(linked["doomed"]) == []


def test_cascade_delete_takes_the_dependents_along(tracker: Tracker, linked: dict[str, str]) -> None:
    result = tracker.delete([linked["doomed"]], cascade=True)
    assert sorted(result["deleted"]) == sorted([linked["doomed"], linked["up"]])
