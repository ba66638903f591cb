"""Ready vs blocked (spec §4 ★): every rule of the blocked cache, ``ready``, ``blocked`` and ``stats``."""

from __future__ import annotations

import json
import time

import pytest

from beads import model, timefmt
from beads.core.tracker import Tracker
from beads.query import ReadyFilter

DAY_NS = 86_400 * 1_000_000_000


def make(t: Tracker, name: str, **fields: object) -> str:
    return t.create(name, id=f"test-{name}", **fields)["id"]


def ready_ids(t: Tracker, **filters: object) -> list[str]:
    filters.setdefault("limit", 0)
    return [i["id"] for i in t.ready(ReadyFilter(**filters))]


def blocked_ids(t: Tracker) -> set[str]:
    """The cache, after checking it equals a fresh rebuild."""
    cached = t.store.blocked_ids()
    with t.store.transaction():
        t.store.rebuild_blocked_cache()
        fresh = t.store.blocked_ids()
    assert cached == fresh, "blocked cache was stale"
    return cached


def backdate(t: Tracker, issue_id: str, days: float) -> None:
    issue = t.store.get_issue(issue_id)
    assert issue is not None
    ts = timefmt.format_ns(time.time_ns() - int(days * DAY_NS))
    with t.store.transaction():
        t.store.update_issue(issue_id, {"created_at": ts}, issue["_content_hash"])


# -- blocks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["open", "in_progress", "blocked", "deferred", "hooked"])
def test_a_blocks_target_in_an_open_ish_status_blocks_its_dependent(tracker: Tracker, status: str) -> None:
    a, b = make(tracker, "a"), make(tracker, "b")
    tracker.add_dependency(a, b)
    if status != "open":
        tracker.update(b, status=status)
    assert blocked_ids(tracker) == {a}
    assert a not in ready_ids(tracker)


@pytest.mark.parametrize("status", ["closed", "pinned", "review"])
def test_a_blocks_target_that_is_closed_pinned_or_custom_does_not_block(tracker: Tracker, status: str) -> None:
    tracker.set_config("status.custom", "review")
    a, b = make(tracker, "a"), make(tracker, "b")
    tracker.add_dependency(a, b)
    if status == "closed":
        tracker.close(b)
    else:
        tracker.update(b, status=status)
    assert blocked_ids(tracker) == set()
    assert a in ready_ids(tracker)


def test_a_deleted_blocker_no_longer_blocks(tracker: Tracker) -> None:
    a, b = make(tracker, "a"), make(tracker, "b")
    tracker.add_dependency(a, b)
    tracker.delete([b])
    assert blocked_ids(tracker) == set()
    assert ready_ids(tracker) == [a]


def test_closing_and_reopening_the_blocker_flips_the_dependent(tracker: Tracker) -> None:
    a, b = make(tracker, "a"), make(tracker, "b")
    tracker.add_dependency(a, b)
    assert ready_ids(tracker) == [b]
    tracker.close(b)
    assert ready_ids(tracker) == [a]
    tracker.reopen(b)
    assert ready_ids(tracker) == [b]
    assert blocked_ids(tracker) == {a}


def test_removing_the_edge_unblocks(tracker: Tracker) -> None:
    a, b = make(tracker, "a"), make(tracker, "b")
    tracker.add_dependency(a, b)
    tracker.remove_dependency(a, b)
    assert blocked_ids(tracker) == set()


def test_non_blocking_edge_types_never_block(tracker: Tracker) -> None:
    a = make(tracker, "a")
    for n, dep_type in enumerate(["related", "discovered-from", "relates-to", "duplicates", "supersedes",
                                  "replies-to", "my-custom"]):
        target = make(tracker, f"t{n}")
        tracker.add_dependency(a, target, dep_type)
    assert blocked_ids(tracker) == set()
    assert a in ready_ids(tracker)


def test_creating_an_issue_with_a_blocker_blocks_it_at_once(tracker: Tracker) -> None:
    b = make(tracker, "b")
    a = tracker.create("a", dependencies=[b])["id"]
    assert blocked_ids(tracker) == {a}


# -- parent-child propagation ------------------------------------------------------------------


def test_an_open_parent_does_not_block_its_children(tracker: Tracker) -> None:
    epic = make(tracker, "epic", issue_type="epic")
    child = tracker.create("child", parent=epic)["id"]
    assert blocked_ids(tracker) == set()
    assert set(ready_ids(tracker)) == {epic, child}


def test_children_and_grandchildren_of_a_blocked_parent_are_blocked(tracker: Tracker) -> None:
    blocker = make(tracker, "blocker")
    epic = make(tracker, "epic", issue_type="epic")
    child = tracker.create("child", parent=epic)["id"]
    grandchild = tracker.create("grandchild", parent=child)["id"]
    tracker.add_dependency(epic, blocker)
    assert blocked_ids(tracker) == {epic, child, grandchild}
    assert ready_ids(tracker) == [blocker]
    tracker.close(blocker)
    assert blocked_ids(tracker) == set()
    assert set(ready_ids(tracker)) == {epic, child, grandchild}


def test_a_parent_blocked_by_status_alone_does_not_propagate(tracker: Tracker) -> None:
    epic = make(tracker, "epic", issue_type="epic")
    child = tracker.create("child", parent=epic)["id"]
    tracker.update(epic, status="blocked")
    assert blocked_ids(tracker) == set()
    assert ready_ids(tracker) == [child]


def test_changing_the_parent_moves_the_propagated_block(tracker: Tracker) -> None:
    blocker = make(tracker, "blocker")
    stuck, free = make(tracker, "stuck", issue_type="epic"), make(tracker, "free", issue_type="epic")
    tracker.add_dependency(stuck, blocker)
    child = make(tracker, "child", parent=None)
    tracker.update(child, parent=stuck)
    assert child in blocked_ids(tracker)
    tracker.update(child, parent=free)
    assert child not in blocked_ids(tracker)


# -- conditional-blocks -------------------------------------------------------------------------


def test_conditional_blocks_waits_while_the_target_is_open(tracker: Tracker) -> None:
    fallback, attempt = make(tracker, "fallback"), make(tracker, "attempt")
    tracker.add_dependency(fallback, attempt, "conditional-blocks")
    assert blocked_ids(tracker) == {fallback}


def test_conditional_blocks_stays_blocked_when_the_target_succeeds(tracker: Tracker) -> None:
    fallback, attempt = make(tracker, "fallback"), make(tracker, "attempt")
    tracker.add_dependency(fallback, attempt, "conditional-blocks")
    tracker.close(attempt, "Done, shipped")
    assert blocked_ids(tracker) == {fallback}


@pytest.mark.parametrize("reason", ["Build FAILED", "rejected by review", "wontfix", "Won't fix", "canceled",
                                    "Cancelled", "abandoned", "blocked upstream", "ERROR in CI", "timeout",
                                    "aborted"])
def test_conditional_blocks_releases_when_the_target_closes_with_a_failure_keyword(tracker: Tracker,
                                                                                   reason: str) -> None:
    fallback, attempt = make(tracker, "fallback"), make(tracker, "attempt")
    tracker.add_dependency(fallback, attempt, "conditional-blocks")
    tracker.close(attempt, reason)
    assert blocked_ids(tracker) == set()
    assert ready_ids(tracker) == [fallback]


# -- waits-for -----------------------------------------------------------------------------------


def spawner_with_children(t: Tracker, n: int) -> tuple[str, list[str]]:
    spawner = make(t, "spawner", issue_type="epic")
    return spawner, [t.create(f"child {i}", parent=spawner)["id"] for i in range(n)]


def test_waits_for_all_children_blocks_until_every_child_is_closed(tracker: Tracker) -> None:
    spawner, children = spawner_with_children(tracker, 2)
    gate = make(tracker, "gate")
    tracker.add_dependency(gate, spawner, "waits-for", metadata={"gate": "all-children"})
    assert blocked_ids(tracker) == {gate}
    tracker.close(children[0])
    assert blocked_ids(tracker) == {gate}
    tracker.close(children[1])
    assert blocked_ids(tracker) == set()


def test_waits_for_defaults_to_all_children(tracker: Tracker) -> None:
    spawner, children = spawner_with_children(tracker, 2)
    gate = make(tracker, "gate")
    tracker.add_dependency(gate, spawner, "waits-for")
    tracker.close(children[0])
    assert blocked_ids(tracker) == {gate}


def test_waits_for_any_children_releases_when_one_child_is_closed(tracker: Tracker) -> None:
    spawner, children = spawner_with_children(tracker, 3)
    gate = make(tracker, "gate")
    tracker.add_dependency(gate, spawner, "waits-for", metadata={"gate": "any-children"})
    assert blocked_ids(tracker) == {gate}
    tracker.close(children[1])
    assert blocked_ids(tracker) == set()


def test_waits_for_reads_the_spawner_from_metadata(tracker: Tracker) -> None:
    spawner, children = spawner_with_children(tracker, 1)
    target = make(tracker, "target")
    gate = make(tracker, "gate")
    tracker.add_dependency(gate, target, "waits-for", metadata=json.dumps({"spawner_id": spawner}))
    assert blocked_ids(tracker) == {gate}
    tracker.close(children[0])
    assert blocked_ids(tracker) == set()


def test_waits_for_on_a_spawner_without_children_does_not_block(tracker: Tracker) -> None:
    spawner, gate = make(tracker, "spawner"), make(tracker, "gate")
    tracker.add_dependency(gate, spawner, "waits-for")
    assert blocked_ids(tracker) == set()


# -- what ready hides ------------------------------------------------------------------------------


def test_ready_shows_only_open_and_in_progress_issues(tracker: Tracker) -> None:
    ids = {status: make(tracker, status) for status in ("open", "in_progress", "blocked", "deferred", "hooked")}
    for status, issue_id in ids.items():
        if status != "open":
            tracker.update(issue_id, status=status)
    done = make(tracker, "done")
    tracker.close(done)
    assert set(ready_ids(tracker)) == {ids["open"], ids["in_progress"]}
    assert ready_ids(tracker, status="in_progress") == [ids["in_progress"]]


def test_ready_hides_pinned_ephemeral_and_template_issues(tracker: Tracker) -> None:
    plain = make(tracker, "plain")
    make(tracker, "pinned", pinned=True)
    make(tracker, "wisp", ephemeral=True)
    make(tracker, "template", is_template=True)
    assert ready_ids(tracker) == [plain]


@pytest.mark.parametrize("issue_type", model.READY_HIDDEN_TYPES)
def test_ready_hides_workflow_types_unless_asked_for(tracker: Tracker, issue_type: str) -> None:
    plain = make(tracker, "plain")
    special = make(tracker, "special", issue_type=issue_type)
    assert ready_ids(tracker) == [plain]
    assert ready_ids(tracker, issue_type=issue_type) == [special]


def test_ready_hides_issues_deferred_into_the_future(tracker: Tracker) -> None:
    later = make(tracker, "later", defer_until=timefmt.format_ns(time.time_ns() + DAY_NS))
    earlier = make(tracker, "earlier", defer_until=timefmt.format_ns(time.time_ns() - DAY_NS))
    assert ready_ids(tracker) == [earlier]
    assert set(ready_ids(tracker, include_deferred=True)) == {later, earlier}


# -- sort policies ----------------------------------------------------------------------------------


@pytest.fixture
def aged(tracker: Tracker) -> dict[str, str]:
    ids = {
        "recent_p3": make(tracker, "recent_p3", priority=3),
        "recent_p1": make(tracker, "recent_p1", priority=1),
        "old_p0": make(tracker, "old_p0", priority=0),
        "older_p2": make(tracker, "older_p2", priority=2),
    }
    backdate(tracker, ids["old_p0"], 10)
    backdate(tracker, ids["older_p2"], 20)
    return ids


def test_hybrid_sort_puts_recent_issues_first_by_priority_then_older_ones_oldest_first(
        tracker: Tracker, aged: dict[str, str]) -> None:
    assert ready_ids(tracker) == [aged["recent_p1"], aged["recent_p3"], aged["older_p2"], aged["old_p0"]]
    assert ready_ids(tracker, sort_policy="hybrid") == ready_ids(tracker)


def test_priority_sort_orders_by_priority_then_age(tracker: Tracker, aged: dict[str, str]) -> None:
    assert ready_ids(tracker, sort_policy="priority") == [aged["old_p0"], aged["recent_p1"], aged["older_p2"],
                                                          aged["recent_p3"]]


def test_oldest_sort_orders_by_creation_time(tracker: Tracker, aged: dict[str, str]) -> None:
    assert ready_ids(tracker, sort_policy="oldest") == [aged["older_p2"], aged["old_p0"], aged["recent_p3"],
                                                        aged["recent_p1"]]


def test_an_unknown_sort_policy_is_refused(tracker: Tracker) -> None:
    from beads.errors import InvalidInput

    with pytest.raises(InvalidInput, match="invalid sort policy"):
        tracker.ready(sort_policy="random")


# -- filters --------------------------------------------------------------------------------------


def test_ready_filters_by_priority_assignee_and_missing_assignee(tracker: Tracker) -> None:
    mine = make(tracker, "mine", assignee="alice", priority=1)
    theirs = make(tracker, "theirs", assignee="bob", priority=1)
    nobody = make(tracker, "nobody", priority=3)
    assert set(ready_ids(tracker, priority=1)) == {mine, theirs}
    assert ready_ids(tracker, assignee="alice") == [mine]
    assert ready_ids(tracker, unassigned=True) == [nobody]


def test_ready_label_filters_are_all_of_and_any_of(tracker: Tracker) -> None:
    both = make(tracker, "both", labels=["backend", "urgent"])
    back = make(tracker, "back", labels=["backend"])
    make(tracker, "front", labels=["frontend"])
    assert ready_ids(tracker, labels=["backend", "urgent"]) == [both]
    assert set(ready_ids(tracker, labels_any=["urgent", "backend"])) == {both, back}


def test_ready_parent_filter_includes_all_descendants(tracker: Tracker) -> None:
    epic = make(tracker, "epic", issue_type="epic")
    child = tracker.create("child", parent=epic)["id"]
    grandchild = tracker.create("grandchild", parent=child)["id"]
    make(tracker, "elsewhere")
    assert set(ready_ids(tracker, parent_id=epic)) == {child, grandchild}


def test_ready_limit_caps_the_result_and_defaults_to_ten(tracker: Tracker) -> None:
    tracker.create_many([{"title": f"t{i}"} for i in range(12)])
    assert len(tracker.ready()) == 10
    assert len(ready_ids(tracker, limit=3)) == 3


def test_ready_attaches_labels(tracker: Tracker) -> None:
    make(tracker, "a", labels=["x", "y"])
    assert tracker.ready()[0]["labels"] == ["x", "y"]


# -- bd blocked -------------------------------------------------------------------------------------


def test_blocked_lists_issues_with_live_blocks_targets_and_their_blockers(tracker: Tracker) -> None:
    a, b, c = make(tracker, "a"), make(tracker, "b"), make(tracker, "c")
    tracker.add_dependency(a, b)
    tracker.add_dependency(a, c)
    rows = tracker.blocked()
    assert [(r["id"], r["blocked_by"], r["blocked_by_count"]) for r in rows] == [(a, [b, c], 2)]
    tracker.close(c)
    assert [(r["id"], r["blocked_by"]) for r in tracker.blocked()] == [(a, [b])]


def test_blocked_is_narrower_than_not_ready(tracker: Tracker) -> None:
    blocker = make(tracker, "blocker")
    epic = make(tracker, "epic", issue_type="epic")
    child = tracker.create("child", parent=epic)["id"]
    gate_spawner, _ = make(tracker, "spawner"), tracker.create("kid", parent="test-spawner")
    gate = make(tracker, "gate")
    tracker.add_dependency(gate, gate_spawner, "waits-for")
    tracker.add_dependency(epic, blocker)
    listed = {r["id"] for r in tracker.blocked()}
    assert listed == {epic}
    assert {child, gate} <= blocked_ids(tracker)
    assert child not in ready_ids(tracker) and gate not in ready_ids(tracker)


def test_blocked_includes_issues_marked_blocked_or_deferred_without_blockers(tracker: Tracker) -> None:
    stuck, iced = make(tracker, "stuck"), make(tracker, "iced")
    tracker.update(stuck, status="blocked")
    tracker.update(iced, status="deferred")
    rows = {r["id"]: r for r in tracker.blocked()}
    assert set(rows) == {stuck, iced}
    assert rows[stuck]["blocked_by"] == [] and rows[stuck]["blocked_by_count"] == 0


def test_blocked_includes_external_blockers_that_the_cache_ignores(tracker: Tracker) -> None:
    a = make(tracker, "a")
    tracker.add_dependency(a, "external:other:auth")
    assert blocked_ids(tracker) == set()
    assert [(r["id"], r["blocked_by"]) for r in tracker.blocked()] == [(a, ["external:other:auth"])]


def test_blocked_leaves_out_pinned_and_closed_issues_and_sorts_by_priority(tracker: Tracker) -> None:
    b = make(tracker, "b")
    low, high = make(tracker, "low", priority=3), make(tracker, "high", priority=0)
    pinned = make(tracker, "pinned", pinned=True)
    for issue_id in (low, high, pinned):
        tracker.add_dependency(issue_id, b)
    assert [r["id"] for r in tracker.blocked()] == [high, low]


def test_blocked_parent_filter_keeps_descendants_only(tracker: Tracker) -> None:
    b = make(tracker, "b")
    epic = make(tracker, "epic", issue_type="epic")
    child = tracker.create("child", parent=epic)["id"]
    other = make(tracker, "other")
    tracker.add_dependency(child, b)
    tracker.add_dependency(other, b)
    assert [r["id"] for r in tracker.blocked(parent_id=epic)] == [child]


# -- stats ----------------------------------------------------------------------------------------


def test_stats_counts_by_status_and_leaves_tombstones_out_of_the_total(tracker: Tracker) -> None:
    ids = [make(tracker, name) for name in ("o1", "o2", "w", "c", "d", "gone", "pin")]
    tracker.update(ids[2], status="in_progress")
    tracker.close(ids[3])
    tracker.update(ids[4], status="deferred")
    tracker.delete([ids[5]])
    tracker.update(ids[6], pinned=True)
    stats = tracker.stats()
    assert stats["total_issues"] == 6
    assert (stats["open_issues"], stats["in_progress_issues"], stats["closed_issues"]) == (3, 1, 1)
    assert (stats["deferred_issues"], stats["tombstone_issues"], stats["pinned_issues"]) == (1, 1, 1)


def test_stats_ready_and_blocked_equal_the_lengths_of_ready_and_blocked(tracker: Tracker) -> None:
    blocker = make(tracker, "blocker")
    epic = make(tracker, "epic", issue_type="epic")
    child = tracker.create("child", parent=epic)["id"]
    tracker.add_dependency(epic, blocker)
    busy = make(tracker, "busy")
    tracker.update(busy, status="in_progress")
    stats = tracker.stats()
    assert child in blocked_ids(tracker)  # through parent-child only: not ready, not in `bd blocked`
    assert stats["ready_issues"] == 2 == len(ready_ids(tracker))  # blocker and busy (in progress)
    assert stats["blocked_issues"] == 1 == len(tracker.blocked())  # the epic


def _graph_parent_child_chain(t: Tracker) -> None:
    top = make(t, "top", issue_type="epic")
    mid = t.create("mid", parent=top, issue_type="epic")["id"]
    for k in range(3):
        t.create(f"leaf{k}", parent=mid)
    t.add_dependency(top, make(t, "gate-open"))


def _graph_deferred(t: Tracker) -> None:
    a, b = make(t, "a"), make(t, "b")
    t.update(a, status="deferred")
    t.add_dependency(b, a)
    make(t, "later", defer_until="2099-01-01T00:00:00Z")
    make(t, "past", defer_until="2000-01-01T00:00:00Z")
    t.update(make(t, "work"), status="in_progress")


def _graph_waits_for(t: Tracker) -> None:
    spawner, children = spawner_with_children(t, 3)
    t.add_dependency(make(t, "gate"), spawner, "waits-for")
    t.add_dependency(make(t, "anygate"), spawner, "waits-for", metadata={"gate": "any-children"})
    t.close(children[0])
    fallback, attempt = make(t, "fallback"), make(t, "attempt")
    t.add_dependency(fallback, attempt, "conditional-blocks")


def _graph_mixed(t: Tracker) -> None:
    _graph_parent_child_chain(t)
    ids = [make(t, f"m{k}") for k in range(6)]
    t.add_dependency(ids[1], ids[0])
    t.add_dependency(ids[2], ids[1])
    t.close(ids[0])
    t.update(ids[3], status="blocked")
    t.update(ids[4], pinned=True)
    t.add_dependency(ids[5], ids[4])
    t.add_dependency(ids[5], ids[2], "related")
    t.create("wisp", ephemeral=True)
    t.delete([make(t, "gone")])


@pytest.mark.parametrize("build", [_graph_parent_child_chain, _graph_deferred, _graph_waits_for, _graph_mixed])
def test_stats_counts_match_ready_and_blocked_on_every_graph(tracker: Tracker, build: object) -> None:
    build(tracker)  # type: ignore[operator]
    stats = tracker.stats()
    assert stats["ready_issues"] == len(tracker.ready(ReadyFilter(limit=0)))
    assert stats["blocked_issues"] == len(tracker.blocked())
    assert stats["ready_issues"] + stats["blocked_issues"] > 0


def test_stats_average_lead_time_is_in_hours_over_closed_issues(tracker: Tracker) -> None:
    a, b = make(tracker, "a"), make(tracker, "b")
    backdate(tracker, a, 1)
    backdate(tracker, b, 3)
    tracker.close(a)
    tracker.close(b)
    make(tracker, "open")
    assert tracker.stats()["average_lead_time_hours"] == pytest.approx(48.0, abs=0.01)


def test_stats_counts_epics_whose_children_are_all_closed(tracker: Tracker) -> None:
    done = make(tracker, "done", issue_type="epic")
    busy = make(tracker, "busy", issue_type="epic")
    make(tracker, "empty", issue_type="epic")
    tracker.close(tracker.create("x", parent=done)["id"])
    tracker.create("y", parent=busy)
    tracker.close(tracker.create("z", parent=busy)["id"])
    assert tracker.stats()["epics_eligible_for_closure"] == 1
    eligible = [e["epic"]["id"] for e in tracker.epic_status(eligible_only=True)]
    assert eligible == [done]


# -- the cache stays exact through any sequence of writes ---------------------------------------------


def test_a_new_child_of_a_gated_spawner_re_blocks_the_gate(tracker: Tracker) -> None:
    spawner, children = spawner_with_children(tracker, 1)
    gate = make(tracker, "gate")
    tracker.add_dependency(gate, spawner, "waits-for")
    tracker.close(children[0])
    assert blocked_ids(tracker) == set()
    tracker.create("late child", parent=spawner)
    assert blocked_ids(tracker) == {gate}


def test_a_blocks_edge_onto_a_deep_parent_blocks_the_whole_subtree(tracker: Tracker) -> None:
    blocker = make(tracker, "blocker")
    root = make(tracker, "root", issue_type="epic")
    current = root
    chain = []
    for _ in range(3):
        current = tracker.create("level", parent=current)["id"]
        chain.append(current)
    tracker.add_dependency(chain[0], blocker)
    assert blocked_ids(tracker) == set(chain)


def test_the_blocked_cache_equals_a_fresh_rebuild_after_random_writes(tracker: Tracker) -> None:
    import random

    rng = random.Random(42)
    ids = [make(tracker, f"n{i}", issue_type=rng.choice(["task", "epic"])) for i in range(12)]
    types = ["blocks", "blocks", "parent-child", "conditional-blocks", "waits-for", "related"]
    for step in range(120):
        op = rng.random()
        a, b = rng.sample(ids, 2)
        try:
            if op < 0.45:
                meta = {"gate": rng.choice(["all-children", "any-children"])} if rng.random() < 0.3 else None
                tracker.add_dependency(a, b, rng.choice(types), metadata=meta)
            elif op < 0.6:
                edges = tracker.store.dependencies_of(a)
                if edges:
                    tracker.remove_dependency(a, rng.choice(edges)["depends_on_id"])
            elif op < 0.75:
                tracker.close(a, rng.choice(["done", "failed", "wontfix"]))
            elif op < 0.85:
                tracker.reopen(a)
            elif op < 0.95:
                tracker.update(a, status=rng.choice(["open", "in_progress", "blocked", "deferred"]))
            else:
                ids.append(tracker.create(f"child {step}", parent=a)["id"])
        except Exception as exc:  # refused writes (cycles, guards, duplicates) are part of the walk
            from beads.errors import BdError

            assert isinstance(exc, BdError), exc
        blocked_ids(tracker)  # asserts cache == fresh rebuild
