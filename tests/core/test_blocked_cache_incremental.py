"""The blocked cache is kept exact without rebuilding it on every write (docs/PERFORMANCE.md).

Two kinds of checks: a long random walk over every write that can touch blockedness,
comparing the cache with a fresh rebuild after each step (the incremental paths must
never drift), and statement traces proving that the cheap paths are the ones taken
(no full rebuild for a status change that cannot matter, a local refresh for one that can).
"""

from __future__ import annotations

import random

import pytest

from beads.core.tracker import Tracker
from beads.errors import BdError


def make(t: Tracker, name: str, **fields: object) -> str:
    return t.create(name, id=f"test-{name}", **fields)["id"]


def assert_exact(t: Tracker) -> None:
    cached = t.store.blocked_ids()
    with t.store.transaction():
        t.store.rebuild_blocked_cache()
        fresh = t.store.blocked_ids()
    assert cached == fresh, f"blocked cache drifted: extra {cached - fresh}, missing {fresh - cached}"


class Trace:
    """The SQL statements a block of writes runs (sqlite3's own trace hook)."""

    def __init__(self, t: Tracker) -> None:
        self.conn = t.store.db.conn
        self.statements: list[str] = []

    def __enter__(self) -> Trace:
        self.conn.set_trace_callback(self.statements.append)
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.set_trace_callback(None)

    @property
    def rebuilt(self) -> bool:
        return any(s.strip() == "DELETE FROM blocked_issues_cache" for s in self.statements)

    @property
    def refreshed(self) -> bool:
        return any("json_each" in s and "blocked_issues_cache" in s for s in self.statements)


def _step(t: Tracker, rng: random.Random, ids: list[str], step: int) -> None:
    types = ["blocks", "blocks", "parent-child", "conditional-blocks", "waits-for", "related"]
    live = [i for i in ids if (t.store.get_issue(i) or {}).get("status") not in (None, "tombstone")]
    if len(live) < 3:
        ids.append(make(t, f"fresh{step}"))
        return
    a, b = rng.sample(live, 2)
    op = rng.random()
    if op < 0.35:
        meta: dict[str, str] | None = None
        if rng.random() < 0.3:
            meta = {"gate": rng.choice(["all-children", "any-children"])}
            if rng.random() < 0.5:
                meta["spawner_id"] = rng.choice(live)
        t.add_dependency(a, b, rng.choice(types), metadata=meta)
    elif op < 0.5:
        edges = t.store.dependencies_of(a)
        if edges:
            edge = rng.choice(edges)
            t.remove_dependency(a, edge["depends_on_id"], rng.choice([None, edge["type"]]))
    elif op < 0.6:
        t.close(a, rng.choice(["done", "failed", "wontfix", "timeout"]), force=True)
    elif op < 0.67:
        t.reopen(a)
    elif op < 0.8:
        t.update(a, status=rng.choice(["open", "in_progress", "blocked", "deferred", "pinned", "hooked"]))
    elif op < 0.86:
        t.update(a, parent=rng.choice(["", b]))
    elif op < 0.92:
        ids.append(t.create(f"child {step}", parent=a)["id"])
    elif op < 0.96:
        t.delete([a], hard=rng.random() < 0.3)
        ids.remove(a)
    else:
        t.update(a, assignee=rng.choice(["", "x"]), priority=rng.randint(0, 4))


@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_the_cache_equals_a_rebuild_after_every_step_of_a_random_walk(tracker: Tracker, seed: int) -> None:
    rng = random.Random(seed)
    ids = [make(tracker, f"n{i}", issue_type=rng.choice(["task", "epic"])) for i in range(14)]
    for step in range(160):
        try:
            _step(tracker, rng, ids, step)
        except BdError:
            pass  # refused writes (cycles, guards, duplicates, templates) are part of the walk
        assert_exact(tracker)


def test_a_status_change_within_the_same_class_touches_nothing(tracker: Tracker) -> None:
    blocker, dependent = make(tracker, "blocker"), make(tracker, "dependent")
    tracker.add_dependency(dependent, blocker)
    with Trace(tracker) as trace:
        tracker.update(blocker, status="in_progress")  # still open-ish: blocks exactly as before
        tracker.update(blocker, assignee="someone", priority=0)
    assert not trace.rebuilt and not trace.refreshed
    assert tracker.store.blocked_ids() == {dependent}


def test_closing_an_issue_nobody_depends_on_touches_nothing(tracker: Tracker) -> None:
    other, dependent = make(tracker, "other"), make(tracker, "dependent")
    leaf = make(tracker, "leaf")
    tracker.add_dependency(dependent, other)
    with Trace(tracker) as trace:
        tracker.close(leaf)
        tracker.reopen(leaf)
    assert not trace.rebuilt and not trace.refreshed
    assert_exact(tracker)


def test_closing_a_blocker_refreshes_only_its_dependents(tracker: Tracker) -> None:
    blocker, dependent = make(tracker, "blocker"), make(tracker, "dependent")
    tracker.add_dependency(dependent, blocker)
    child = tracker.create("child", parent=dependent)["id"]
    assert tracker.store.blocked_ids() == {dependent, child}
    with Trace(tracker) as trace:
        tracker.close(blocker)
    assert trace.refreshed and not trace.rebuilt
    assert tracker.store.blocked_ids() == set()
    with Trace(tracker) as trace:
        tracker.reopen(blocker)
    assert trace.refreshed and not trace.rebuilt
    assert tracker.store.blocked_ids() == {dependent, child}


def test_removing_an_edge_or_deleting_refreshes_instead_of_rebuilding(tracker: Tracker) -> None:
    a, b, c = make(tracker, "a"), make(tracker, "b"), make(tracker, "c")
    tracker.add_dependency(a, b)
    tracker.add_dependency(a, c)
    with Trace(tracker) as trace:
        tracker.remove_dependency(a, b)
    assert trace.refreshed and not trace.rebuilt
    assert tracker.store.blocked_ids() == {a}  # c still blocks it
    with Trace(tracker) as trace:
        tracker.delete([c])
    assert trace.refreshed and not trace.rebuilt
    assert tracker.store.blocked_ids() == set()


def test_a_childs_status_reaches_a_waits_for_gate_on_its_parent(tracker: Tracker) -> None:
    spawner = make(tracker, "spawner", issue_type="epic")
    kids = [tracker.create(f"kid{i}", parent=spawner)["id"] for i in range(2)]
    gate = make(tracker, "gate")
    tracker.add_dependency(gate, spawner, "waits-for")
    assert tracker.store.blocked_ids() == {gate}
    tracker.close(kids[0])
    assert tracker.store.blocked_ids() == {gate}
    tracker.close(kids[1])
    assert tracker.store.blocked_ids() == set()
    tracker.reopen(kids[1])
    assert tracker.store.blocked_ids() == {gate}
    tracker.delete([kids[1]])
    assert tracker.store.blocked_ids() == set()
    assert_exact(tracker)


def test_a_small_import_refreshes_the_cache_exactly(tracker: Tracker) -> None:
    from beads.sync.importer import import_records
    from beads.sync.jsonl import export_records

    rng = random.Random(5)
    ids = [make(tracker, f"m{i}", issue_type=rng.choice(["task", "epic"])) for i in range(10)]
    for _ in range(40):
        try:
            _step(tracker, rng, ids, 0)
        except BdError:
            pass
    for round_ in range(25):
        records = export_records(tracker.store)
        chosen = rng.sample(records, 3)
        for r in chosen:  # what another clone might send: newer statuses, new and dropped edges
            r["updated_at"] = f"2099-01-01T00:00:{round_:02d}Z"
            r["status"] = rng.choice(["open", "closed", "in_progress", "deferred", "tombstone"])
            if r["status"] == "tombstone":
                r["deleted_at"] = r["updated_at"]
            target = rng.choice(records)["id"]
            if target != r["id"] and rng.random() < 0.5:
                r["dependencies"] = [*r.get("dependencies", []), {
                    "issue_id": r["id"], "depends_on_id": target, "created_at": r["updated_at"],
                    "type": rng.choice(["blocks", "parent-child", "conditional-blocks", "waits-for"])}]
        chosen.append({"id": f"test-new{round_}", "title": "new", "status": "open", "priority": 2,
                       "issue_type": "task", "created_at": "2099-01-01T00:00:00Z",
                       "updated_at": "2099-01-01T00:00:00Z",
                       "dependencies": [{"depends_on_id": rng.choice(records)["id"], "type": "blocks"},
                                        # dangling until the next round creates it
                                        {"depends_on_id": f"test-new{round_ + 1}", "type": "blocks"}]})
        with Trace(tracker) as trace:
            import_records(tracker, chosen, skip_prefix_validation=True)
        assert not trace.rebuilt
        assert_exact(tracker)
