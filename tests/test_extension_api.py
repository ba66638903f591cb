"""The library primitives applications build on: namespaced migrations and ``claim_next``."""

from __future__ import annotations

from pathlib import Path

import pytest

import beads
from beads import ReadyFilter
from beads.errors import Conflict, InvalidInput

V1 = """
CREATE TABLE app_notes (
    id INTEGER PRIMARY KEY,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE INDEX app_notes_issue ON app_notes(issue_id);
"""
V2 = """
CREATE TABLE app_log (id INTEGER PRIMARY KEY, line TEXT);
CREATE TRIGGER app_notes_log AFTER INSERT ON app_notes BEGIN
    INSERT INTO app_log (line) VALUES (NEW.body);
END
"""


def objects(tracker: beads.Tracker, prefix: str) -> list[str]:
    rows = tracker.store.connection.execute("SELECT name FROM sqlite_master WHERE name LIKE ? ORDER BY name",
                                            (prefix + "%",))
    return [r[0] for r in rows]


def test_migrations_run_once_each_in_order_and_survive_reopening(tmp_path: Path) -> None:
    with beads.init(str(tmp_path), prefix="t") as tracker:
        assert tracker.extension_version("app") == 0
        assert tracker.migrate("app", [V1]) == 1
        assert objects(tracker, "app_") == ["app_notes", "app_notes_issue"]
        assert tracker.migrate("app", [V1]) == 1  # nothing to do: V1 is not run twice
    with beads.open(str(tmp_path)) as tracker:
        assert tracker.extension_version("app") == 1
        assert tracker.migrate("app", [V1, V2]) == 2
        issue = tracker.create("x")
        with tracker.write():
            tracker.store.connection.execute("INSERT INTO app_notes (issue_id, body) VALUES (?, 'hello')",
                                             (issue["id"],))
        assert tracker.store.connection.execute("SELECT line FROM app_log").fetchall() == [("hello",)]
        with pytest.raises(Conflict):  # the database is newer than this application
            tracker.migrate("app", [V1])


def test_a_migration_that_fails_or_leaves_its_namespace_changes_nothing(tmp_path: Path) -> None:
    with beads.init(str(tmp_path), prefix="t") as tracker:
        with pytest.raises(InvalidInput, match="names must start with 'app_'"):
            tracker.migrate("app", [V1, "CREATE TABLE notes_elsewhere (x)"])
        assert tracker.extension_version("app") == 0 and objects(tracker, "app_") == []
        assert objects(tracker, "notes_elsewhere") == []
        with pytest.raises(beads.errors.BdError):
            tracker.migrate("app", [V1, "CREATE TABLE app_broken (x REFERENCES"])
        assert tracker.extension_version("app") == 0 and objects(tracker, "app_") == []
        for bad in ("", "App", "issues", "bd", "a-b"):
            with pytest.raises(InvalidInput):
                tracker.migrate(bad, [V1])


def test_claim_next_takes_the_best_ready_issue_nobody_holds(tmp_path: Path) -> None:
    with beads.init(str(tmp_path), prefix="t", actor="worker-1") as tracker:
        low = tracker.create("low", priority=3)
        high = tracker.create("high", priority=1)
        blocker = tracker.create("blocker", priority=2)
        waiting = tracker.create("waiting", priority=0, dependencies=[blocker["id"]])
        tracker.create("someone else's", priority=0, assignee="alice")
        tracker.create("in progress", priority=0, status="in_progress")
        mine = tracker.create("assigned to me", priority=4, assignee="worker-1")
        taken = tracker.claim_next()
        assert taken is not None and taken["id"] == high["id"]
        assert (taken["status"], taken["assignee"]) == ("in_progress", "worker-1")
        assert tracker.claim_next()["id"] == blocker["id"]
        assert tracker.claim_next(skip=lambda issue: issue["id"] == low["id"])["id"] == mine["id"]
        assert tracker.claim_next(ReadyFilter(labels=["nothing"])) is None
        assert tracker.claim_next()["id"] == low["id"]
        assert tracker.claim_next() is None  # waiting is still blocked by blocker (in progress)
        tracker.close(blocker["id"])
        assert tracker.claim_next()["id"] == waiting["id"]
        assert [e["event_type"] for e in tracker.events(high["id"])][-1] == "status_changed"


def test_claim_next_pages_past_many_refused_candidates(tmp_path: Path) -> None:
    with beads.init(str(tmp_path), prefix="t", actor="w") as tracker:
        issues = tracker.create_many([{"title": f"i{n}", "priority": 2} for n in range(40)])
        refused = {i["id"] for i in issues[:39]}
        taken = tracker.claim_next(skip=lambda issue: issue["id"] in refused)
        assert taken is not None and taken["id"] == issues[39]["id"]


def test_an_up_to_date_schema_needs_no_write(tmp_path: Path) -> None:
    with beads.init(str(tmp_path), prefix="t") as tracker:
        tracker.migrate("app", [V1])
    with beads.open(str(tmp_path), readonly=True) as tracker:
        assert tracker.migrate("app", [V1]) == 1
        with pytest.raises(beads.errors.BdError):
            tracker.migrate("app", [V1, V2])
