"""The kept ``bd stats`` figures (``storage/sqlite/statscache.py``) are never stale.

Every check compares ``Tracker.stats()`` with the figures computed from scratch. Writers are real:
the same tracker, a second connection (another ``Tracker`` on the file), a foreign tool (plain
``sqlite3``) and the real ``bd`` as a subprocess.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.conftest import Bd

import beads
from beads.core.tracker import Tracker
from beads.query import ReadyFilter
from beads.storage.sqlite import statscache


def fresh(t: Tracker) -> dict[str, object]:
    """The figures computed without the cache."""
    store = t.store
    with store.read_snapshot():
        stats = store.statistics()
        stats["ready_issues"] = store.count_ready(ReadyFilter(limit=0))
        stats["blocked_issues"] = store.count_blocked()
    stats.pop("_by_status")
    return stats


def kept(t: Tracker) -> dict[str, object] | None:
    with t.store.read_snapshot():
        return t.store.cached_stats()


def check(t: Tracker) -> dict[str, object]:
    """stats() twice (computed, then kept) both equal the fresh figures and the lists' lengths."""
    first, second = t.stats(), t.stats()
    expected = fresh(t)
    assert first == second == expected
    assert expected["ready_issues"] == len(t.ready(ReadyFilter(limit=0)))
    assert expected["blocked_issues"] == len(t.blocked())
    return first


def second_tracker(t: Tracker) -> Tracker:
    return beads.open(str(Path(t.store.path).parent), actor="other")


def test_the_figures_are_kept_and_a_kept_read_runs_no_count(tracker: Tracker) -> None:
    a, b = tracker.create("a")["id"], tracker.create("b")["id"]
    tracker.add_dependency(a, b)
    stats = tracker.stats()
    assert kept(tracker) == stats
    seen: list[str] = []
    tracker.store.db.conn.set_trace_callback(seen.append)
    try:
        assert tracker.stats() == stats
    finally:
        tracker.store.db.conn.set_trace_callback(None)
    assert not [s for s in seen if "COUNT(" in s], seen


def test_every_kind_of_write_through_the_tracker_drops_the_figures(tracker: Tracker) -> None:
    epic = tracker.create("epic", issue_type="epic")["id"]
    child = tracker.create("child", parent=epic)["id"]
    a, b = tracker.create("a")["id"], tracker.create("b")["id"]
    steps = [
        lambda: tracker.add_dependency(a, b),
        lambda: tracker.update(b, status="in_progress"),
        lambda: tracker.update(a, pinned=True),
        lambda: tracker.update(a, pinned=False),
        lambda: tracker.update(b, defer_until="2099-01-01T00:00:00Z"),
        lambda: tracker.update(b, defer_until=""),
        lambda: tracker.close(child),
        lambda: tracker.close(b),
        lambda: tracker.reopen(b),
        lambda: tracker.update(a, issue_type="bug"),
        lambda: tracker.remove_dependency(a, b),
        lambda: tracker.create("wisp", ephemeral=True),
        lambda: tracker.delete([a]),
    ]
    before = check(tracker)
    for step in steps:
        step()
        assert kept(tracker) is None, step
        now = check(tracker)
        assert kept(tracker) == now
    assert now != before


def test_a_write_through_another_connection_drops_the_figures(tracker: Tracker) -> None:
    a = tracker.create("a")["id"]
    check(tracker)
    other = second_tracker(tracker)
    try:
        other.update(a, status="blocked")
    finally:
        other.disconnect()
    assert kept(tracker) is None
    assert check(tracker)["blocked_issues"] == 1


def test_a_write_by_a_foreign_tool_drops_the_figures(tracker: Tracker) -> None:
    a = tracker.create("a")["id"]
    check(tracker)
    conn = sqlite3.connect(tracker.store.path)
    with conn:
        conn.execute("UPDATE issues SET status = 'in_progress' WHERE id = ?", (a,))
    conn.close()
    assert kept(tracker) is None
    assert check(tracker)["in_progress_issues"] == 1


def test_a_title_edit_keeps_the_figures(tracker: Tracker) -> None:
    a = tracker.create("a")["id"]
    stats = check(tracker)
    tracker.update(a, title="renamed", description="more")
    assert kept(tracker) == stats


def test_figures_computed_on_an_older_snapshot_are_not_kept(tracker: Tracker) -> None:
    tracker.create("a")
    other = second_tracker(tracker)
    try:
        store = tracker.store
        with store.read_snapshot():
            stale = fresh(tracker)  # the snapshot starts here
            other.create("b")  # committed by another connection meanwhile
            assert store.keep_stats(stale, None) is False
        assert kept(tracker) is None
        assert check(tracker)["total_issues"] == 2
    finally:
        other.disconnect()


def test_keeping_never_waits_for_another_writer(tracker: Tracker) -> None:
    tracker.create("a")
    conn = sqlite3.connect(tracker.store.path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        started = time.monotonic()
        with tracker.store.read_snapshot():
            stats = fresh(tracker)
            assert tracker.store.keep_stats(stats, None) is False
        assert time.monotonic() - started < 10  # not the 30 s busy timeout
        assert tracker.stats() == stats  # computed, not kept
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    tracker.stats()
    assert kept(tracker) == stats


def test_a_read_only_store_computes_without_keeping(tracker: Tracker) -> None:
    tracker.create("a")
    reader = beads.open(str(Path(tracker.store.path).parent), readonly=True)
    try:
        assert reader.stats() == fresh(tracker)
    finally:
        reader.disconnect()
    assert kept(tracker) is None


def test_the_figures_expire_when_the_next_deferral_ends(tracker: Tracker, monkeypatch: object) -> None:
    tracker.create("later", defer_until="2099-01-01T00:00:00Z")
    tracker.create("past", defer_until="2000-01-01T00:00:00Z")
    stats = check(tracker)
    row = tracker.store.db.one("SELECT valid_until FROM stats_cache")
    assert row is not None
    assert abs(row[0] - 4070908800.0) < 1e-3  # 2099-01-01T00:00:00Z
    monkeypatch.setattr(statscache.time, "time", lambda: 4070908800.0)  # type: ignore[attr-defined]
    assert kept(tracker) is None
    monkeypatch.undo()  # type: ignore[attr-defined]
    assert kept(tracker) == stats


def test_bd_stats_sees_a_write_by_another_bd_process(bd: Bd) -> None:
    a = bd("create", "a", "--silent").stdout.strip()
    first = bd.json("stats", "--json")
    assert first == bd.json("stats", "--json")
    assert first["closed_issues"] == 0  # type: ignore[index]
    bd("close", a)
    after = bd.json("stats", "--json")
    assert (after["closed_issues"], after["open_issues"]) == (1, 0)  # type: ignore[index]
    assert bd.json("stats", "--json") == after


def progress(t: Tracker) -> list[tuple[str, str, int, int]]:
    return [(e["epic"]["id"], e["epic"]["title"], e["total_children"], e["closed_children"]) for e in t.epic_status()]


def test_epic_children_counts_are_kept_until_another_connection_changes_a_child(tracker: Tracker) -> None:
    epic = tracker.create("epic", issue_type="epic")["id"]
    kids = [tracker.create(f"kid {k}", parent=epic)["id"] for k in range(3)]
    assert progress(tracker) == [(epic, "epic", 3, 0)]
    with tracker.store.read_snapshot():
        assert tracker.store.cached_stats("epic_progress") == {epic: [3, 0]}
    other = second_tracker(tracker)
    try:
        other.close(kids[0])
        other.update(epic, title="renamed")  # the epic's own fields are read fresh every time
        assert progress(tracker) == [(epic, "renamed", 3, 1)]
        other.delete([kids[1]])
        other.create("kid 3", parent=epic)
    finally:
        other.disconnect()
    assert progress(tracker) == [(epic, "renamed", 3, 1)]
    conn = sqlite3.connect(tracker.store.path)  # a foreign tool removes an edge
    with conn:
        conn.execute("DELETE FROM dependencies WHERE issue_id = ?", (kids[2],))
    conn.close()
    assert progress(tracker) == [(epic, "renamed", 2, 1)]


def test_the_issue_total_of_info_equals_the_stats_total_kept_or_not(tracker: Tracker) -> None:
    tracker.create("a")
    tracker.create("wisp", ephemeral=True)
    tracker.delete([tracker.create("gone")["id"]])
    with tracker.store.transaction():
        tracker.store.db.execute("UPDATE issues SET is_template = 1 WHERE title = 'a'")
    assert kept(tracker) is None
    assert tracker.total_issues() == 2  # counted
    assert tracker.stats()["total_issues"] == 2
    assert kept(tracker) is not None
    assert tracker.total_issues() == 2  # read from the kept figures
