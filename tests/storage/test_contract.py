"""The storage contract: every public ``SqliteStore`` method, run against every backend.

Backends: a real SQLite file in a temp directory and the in-memory database. A new
backend joins by adding a factory to ``BACKENDS``; a new public store method must be
exercised here (``test_every_public_store_method_is_exercised_by_this_suite``).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from beads import model, timefmt
from beads.errors import Conflict, InvalidInput, ReadOnly, StorageError
from beads.query import IssueFilter, ReadyFilter
from beads.storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from beads.storage.sqlite.store import SqliteStore

DAY_NS = 86_400 * 1_000_000_000

BACKENDS: dict[str, Callable[[Path], SqliteStore]] = {
    "file": lambda tmp: SqliteStore(str(tmp / "beads.db")),
    "memory": lambda tmp: SqliteStore.in_memory(),
}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteStore]:
    s = BACKENDS[request.param](tmp_path)
    yield s
    s.close()


def issue(issue_id: str, title: str | None = None, **fields: object) -> dict:
    ts = fields.pop("ts", None) or timefmt.now()
    return model.new_issue(id=issue_id, title=title or f"title of {issue_id}", created_at=ts, updated_at=ts,
                           **fields)


def put(store: SqliteStore, *issues: dict) -> None:
    with store.transaction():
        for i in issues:
            store.insert_issue(i, model.content_hash(i))


def dep(src: str, dst: str, dep_type: str = "blocks", **extra: object) -> dict:
    return {"issue_id": src, "depends_on_id": dst, "type": dep_type, "created_at": timefmt.now(),
            "created_by": "tester", **extra}


def link(store: SqliteStore, *edges: tuple[str, str] | tuple[str, str, str]) -> None:
    with store.transaction():
        for edge in edges:
            store.add_dependency(dep(*edge))
        store.rebuild_blocked_cache()


def set_status(store: SqliteStore, issue_id: str, status: str, **more: object) -> None:
    current = store.get_issue(issue_id)
    assert current is not None
    changes: dict = {"status": status, **more}
    if status == "closed":
        changes.setdefault("closed_at", timefmt.now())
    current.update(changes)
    with store.transaction():
        store.update_issue(issue_id, changes, model.content_hash(current), current)
        store.rebuild_blocked_cache()


# -- the suite covers the interface ------------------------------------------------------------


def test_every_public_store_method_is_exercised_by_this_suite() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    public = {name for name in dir(SqliteStore) if not name.startswith("_")}
    missing = sorted(name for name in public if not re.search(rf"\.{name}\b", source))
    assert missing == [], f"store methods without a contract test: {missing}"


# -- config and metadata ----------------------------------------------------------------------


def test_config_values_are_set_read_overwritten_and_deleted(store: SqliteStore) -> None:
    assert store.get_config("issue_prefix") is None
    store.set_config("issue_prefix", "bd")
    store.set_config("issue_prefix", "xy")
    assert store.get_config("issue_prefix") == "xy"
    assert store.delete_config("issue_prefix") is True
    assert store.delete_config("issue_prefix") is False
    assert store.get_config("issue_prefix") is None


def test_a_new_database_has_the_originals_default_config(store: SqliteStore) -> None:
    config = store.all_config()
    assert config["compaction_enabled"] == "false"
    assert config["compact_model"] == "claude-3-5-haiku-20241022"
    assert list(config) == sorted(config)


def test_metadata_is_kept_apart_from_config(store: SqliteStore) -> None:
    store.set_metadata("jsonl_content_hash", "abc")
    store.set_metadata("jsonl_content_hash", "def")
    assert store.get_metadata("jsonl_content_hash") == "def"
    assert store.get_metadata("missing") is None
    assert store.all_metadata() == {"jsonl_content_hash": "def"}
    assert "jsonl_content_hash" not in store.all_config()


# -- transactions --------------------------------------------------------------------------------


def test_an_application_migration_runs_its_statements_and_records_its_version(store: SqliteStore) -> None:
    assert store.extension_version("app") == 0
    script = """
        CREATE TABLE app_t (x INTEGER);  -- a comment; with a semicolon
        CREATE TRIGGER app_t_double AFTER INSERT ON app_t BEGIN UPDATE app_t SET x = x * 2 WHERE rowid = NEW.rowid; END;
        CREATE TABLE stray (y)"""
    with store.transaction():
        strays = store.apply_extension_migration("app", 1, script)
        store.connection.execute("INSERT INTO app_t (x) VALUES (21)")
    assert strays == ["stray"]  # reported, for the caller to refuse
    assert store.extension_version("app") == 1
    assert store.connection.execute("SELECT x FROM app_t").fetchall() == [(42,)]
    assert store.get_metadata("extension_version.app") == "1"


def test_a_transaction_that_raises_leaves_nothing_behind(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_issue(issue("t-1"), "h")
        raise RuntimeError("boom")
    assert store.issue_count() == 0


def test_a_nested_transaction_rolls_back_alone(store: SqliteStore) -> None:
    with store.transaction():
        store.insert_issue(issue("t-1"), "h")
        with pytest.raises(RuntimeError), store.transaction():
            store.insert_issue(issue("t-2"), "h")
            raise RuntimeError("inner")
    assert store.all_ids() == ["t-1"]


def test_on_commit_hooks_run_after_commit_and_are_dropped_on_rollback(store: SqliteStore) -> None:
    ran: list[str] = []
    with store.transaction():
        store.on_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(RuntimeError), store.transaction():
        store.on_commit(lambda: ran.append("rolled back"))
        raise RuntimeError
    assert ran == ["committed"]
    store.on_commit(lambda: ran.append("now"))  # outside a transaction: at once
    assert ran == ["committed", "now"]


def test_sqlite_errors_surface_as_library_errors(store: SqliteStore) -> None:
    put(store, issue("t-1"))
    with pytest.raises(Conflict), store.transaction():
        store.insert_issue(issue("t-1"), "h")
    with pytest.raises(InvalidInput), store.transaction():
        store.insert_issue(issue("t-2", "x" * 501), "h")


# -- issues -------------------------------------------------------------------------------------


def test_an_inserted_issue_reads_back_field_for_field(store: SqliteStore) -> None:
    original = issue("t-1", description="d", design="g", acceptance_criteria="a", notes="n", priority=0,
                     issue_type="bug", assignee="alice", owner="bob", estimated_minutes=30, external_ref="gh-1",
                     pinned=True, waiters=["w1", "w2"], timeout=5, quality_score=0.5, crystallizes=True,
                     bonded_from=[{"proto_id": "p", "bond_type": "b", "bond_point": ""}],
                     creator={"name": "n", "platform": "p", "org": "o", "id": "i"}, due_at="2030-01-01T00:00:00Z")
    put(store, original)
    got = store.get_issue("t-1")
    assert got is not None
    assert got.pop("_content_hash") == model.content_hash(original)
    assert model.to_wire(got) == model.to_wire(original)


def test_unknown_keys_round_trip_through_extra_json(store: SqliteStore) -> None:
    original = issue("t-1", future_field={"nested": [1, 2]}, another="text")
    put(store, original)
    got = store.get_issue("t-1")
    assert got is not None
    assert (got["future_field"], got["another"]) == ({"nested": [1, 2]}, "text")
    wire = model.to_wire(got)
    assert list(wire)[-2:] == ["future_field", "another"]
    got["future_field"] = "changed"
    with store.transaction():
        store.update_issue("t-1", {"future_field": "changed"}, "h2", got)
    again = store.get_issue("t-1")
    assert again is not None and (again["future_field"], again["another"]) == ("changed", "text")


def test_get_issue_of_a_missing_id_is_none(store: SqliteStore) -> None:
    assert store.get_issue("t-none") is None
    assert store.issue_exists("t-none") is False


def test_issues_are_fetched_in_bulk_beyond_the_parameter_chunk_size(store: SqliteStore) -> None:
    many = [issue(f"t-{n:04d}") for n in range(1200)]
    with store.transaction():
        store.insert_issues(many, ["h"] * len(many))
    got = store.get_issues([i["id"] for i in many] + ["t-missing"])
    assert len(got) == 1200 and "t-missing" not in got
    assert store.issue_count() == 1200


def test_all_issues_and_all_ids_can_leave_out_tombstones_and_wisps(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b", ephemeral=True),
        issue("t-c", status="tombstone", deleted_at=timefmt.now()))
    assert [i["id"] for i in store.all_issues()] == ["t-a", "t-b", "t-c"]
    assert [i["id"] for i in store.all_issues(include_tombstones=False)] == ["t-a", "t-b"]
    assert [i["id"] for i in store.all_issues(include_ephemeral=False)] == ["t-a", "t-c"]
    assert store.all_ids() == ["t-a", "t-b", "t-c"]
    assert store.all_ids(include_tombstones=False) == ["t-a", "t-b"]


def test_update_writes_only_the_given_columns(store: SqliteStore) -> None:
    put(store, issue("t-1", description="keep"))
    with store.transaction():
        store.update_issue("t-1", {"title": "new", "assignee": None, "pinned": True}, "h2")
    got = store.get_issue("t-1")
    assert got is not None
    assert (got["title"], got["description"], got["assignee"], got["pinned"]) == ("new", "keep", "", True)
    assert got["_content_hash"] == "h2"


def test_update_refuses_to_break_the_closed_at_rule(store: SqliteStore) -> None:
    put(store, issue("t-1"))
    with pytest.raises(InvalidInput), store.transaction():
        store.update_issue("t-1", {"status": "closed"}, "h")


def test_a_hard_deleted_row_takes_its_labels_comments_events_and_edges(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"))
    link(store, ("t-1", "t-2"), ("t-2", "t-1", "related"))
    with store.transaction():
        store.add_label("t-1", "x")
        store.add_comment("t-1", "me", "hi", timefmt.now_utc())
        store.add_event("t-1", "created", "me", timefmt.now())
        store.mark_dirty(["t-1"], timefmt.now())
        store.next_child_number("t-1")
        store.delete_issue_row("t-1")
    assert not store.issue_exists("t-1")
    assert (store.labels_of("t-1"), store.comments_of("t-1"), store.events_of("t-1")) == ([], [], [])
    assert store.all_dependencies() == {}
    # a dirty mark without a row tells the next export to drop the line
    assert store.dirty_ids() == ["t-1"]
    assert store.pending_hard_deletes() == {"t-1"}


def test_rename_moves_an_issue_and_everything_referring_to_it(store: SqliteStore) -> None:
    put(store, issue("t-old"), issue("t-other"))
    link(store, ("t-old", "t-other"), ("t-other", "t-old", "related"))
    with store.transaction():
        store.add_label("t-old", "x")
        store.add_comment("t-old", "me", "hi", timefmt.now_utc())
        store.rename_issue("t-old", "t-new")
    assert not store.issue_exists("t-old") and store.issue_exists("t-new")
    assert store.labels_of("t-new") == ["x"]
    assert [c["text"] for c in store.comments_of("t-new")] == ["hi"]
    assert store.all_edges(exclude_types=()) == [("t-new", "t-other", "blocks"), ("t-other", "t-new", "related")]
    assert store.blocked_ids() == {"t-new"}


def test_count_top_level_counts_only_unnested_ids_of_the_prefix(store: SqliteStore) -> None:
    put(store, issue("bd-a1"), issue("bd-b2"), issue("bd-a1.1"), issue("bd-a1.1.2"), issue("bdx-c3"),
        issue("other-d4"), issue("bd-z9", status="tombstone", deleted_at=timefmt.now()))
    assert store.count_top_level("bd") == 3  # tombstones count: their IDs stay taken
    assert store.count_top_level("bdx") == 1
    assert store.count_top_level("none") == 0
    assert store.count_top_level("bd", limit=2) == 2  # the walk stops at the limit
    assert store.count_top_level("bd", limit=0) == 0
    assert store.count_top_level("bd", limit=10) == 3
    assert store.rowid_bound() >= 7  # at least the number of rows


def test_count_top_level_of_a_dotted_prefix_counts_dots_after_the_prefix_only(store: SqliteStore) -> None:
    put(store, issue("my.app-a1"), issue("my.app-a1.1"), issue("my.app-b2"), issue("my-c3"))
    assert store.count_top_level("my.app") == 2
    assert store.count_top_level("my") == 1


def test_ids_are_found_by_fragment_with_like_wildcards_taken_literally(store: SqliteStore) -> None:
    put(store, issue("t-ab_1"), issue("t-abx1"), issue("t-ab%2"),
        issue("t-ab_9", status="tombstone", deleted_at=timefmt.now()))
    assert store.find_ids_containing("ab_") == ["t-ab_1"]
    assert store.find_ids_containing("b%") == ["t-ab%2"]
    assert store.find_ids_containing("ab_", include_tombstones=True) == ["t-ab_1", "t-ab_9"]


def test_issues_are_found_by_external_ref_and_by_content_hash(store: SqliteStore) -> None:
    a, b = issue("t-a", external_ref="gh-1"), issue("t-b", "same")
    c = issue("t-c", "same")
    put(store, a, b, c)
    assert store.find_by_external_ref("gh-1") == "t-a"
    assert store.find_by_external_ref("gh-2") is None
    assert store.find_by_content_hash(model.content_hash(b)) == ["t-b", "t-c"]


def test_an_external_ref_is_unique_across_issues(store: SqliteStore) -> None:
    put(store, issue("t-a", external_ref="gh-1"))
    with pytest.raises(Conflict), store.transaction():
        store.insert_issue(issue("t-b", external_ref="gh-1"), "h")


# -- labels, comments, events ----------------------------------------------------------------------


def test_labels_are_added_once_removed_and_listed_in_order(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"), issue("t-3", status="tombstone", deleted_at=timefmt.now()))
    with store.transaction():
        assert store.add_label("t-1", "b") is True
        assert store.add_label("t-1", "b") is False
        store.add_label("t-1", "a")
        store.add_label("t-2", "a")
        store.add_label("t-3", "a")
        store.add_label("t-3", "c")
        assert store.remove_label("t-2", "zzz") is False
    assert store.labels_of("t-1") == ["a", "b"]
    assert store.labels_for(["t-1", "t-2", "t-9"]) == {"t-1": ["a", "b"], "t-2": ["a"]}
    assert store.all_labels() == {"t-1": ["a", "b"], "t-2": ["a"], "t-3": ["a", "c"]}
    assert store.label_counts() == [("a", 2), ("b", 1)]
    with store.transaction():
        assert store.remove_label("t-1", "b") is True
    assert store.labels_of("t-1") == ["a"]


def test_comments_get_increasing_ids_and_come_back_in_order(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"))
    with store.transaction():
        first = store.add_comment("t-1", "alice", "one", "2025-01-01T00:00:00Z")
        second = store.add_comment("t-1", "bob", "two", "2025-01-02T00:00:00Z")
        store.add_comment("t-2", "carol", "three", "2025-01-01T00:00:00Z")
    assert second["id"] > first["id"]
    assert first == {"id": first["id"], "issue_id": "t-1", "author": "alice", "text": "one",
                     "created_at": "2025-01-01T00:00:00Z"}
    assert [c["text"] for c in store.comments_of("t-1")] == ["one", "two"]
    assert {k: [c["text"] for c in v] for k, v in store.comments_for().items()} == {"t-1": ["one", "two"],
                                                                                    "t-2": ["three"]}
    assert list(store.comments_for(["t-2"])) == ["t-2"]


def test_events_are_appended_with_their_values(store: SqliteStore) -> None:
    put(store, issue("t-1"))
    with store.transaction():
        store.add_event("t-1", "created", "alice", "2025-01-01T00:00:00Z", new_value="{}")
        store.add_event("t-1", "closed", "bob", "2025-01-02T00:00:00Z", old_value="{}", comment="done")
    events = store.events_of("t-1")
    assert [(e["event_type"], e["actor"], e["comment"]) for e in events] == [("created", "alice", None),
                                                                              ("closed", "bob", "done")]
    assert events[0]["new_value"] == "{}" and events[1]["old_value"] == "{}"


def test_the_changes_since_a_mutation_mark_are_the_later_events_and_outright_deletions(store: SqliteStore) -> None:
    put(store, issue("t-1", "One"), issue("t-2", "Two"), issue("t-3", "Three"))
    with store.transaction():
        store.add_event("t-1", "created", "alice", "2025-01-01T00:00:00Z")
        store.delete_issue_row("t-3")  # deleted before the mark: not a change after it
    mark = store.mutation_mark()
    assert mark[1] == frozenset({"t-3"})
    assert store.changes_since(mark) == []
    with store.transaction():
        store.add_event("t-2", "updated", "bob", "2025-01-02T00:00:00Z")
        store.add_event("t-1", "commented", "carol", "2025-01-02T00:00:00Z")
        store.delete_issue_row("t-1")  # its events go with it; the dirty mark stays
    assert store.changes_since(mark) == [("t-2", "updated", "Two", "bob"), ("t-1", "deleted", None, None)]


# -- dirty marks and export hashes -------------------------------------------------------------------


def test_dirty_marks_are_set_refreshed_and_cleared(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"), issue("t-3"))
    with store.transaction():
        store.mark_dirty(["t-1", "t-2"], "2025-01-01T00:00:00Z")
        store.mark_dirty({"t-2"}, "2025-01-03T00:00:00Z")
        store.mark_dirty(["t-3"], "2025-01-02T00:00:00Z")
    assert store.dirty_ids() == ["t-1", "t-2", "t-3"]
    with store.transaction():
        store.clear_dirty(["t-1", "t-2"], marked_before="2025-01-02T00:00:00Z")
    assert store.dirty_ids() == ["t-2", "t-3"]  # t-2 changed after the export started
    with store.transaction():
        store.clear_dirty(marked_before="2025-01-02T00:00:00Z")
    assert store.dirty_ids() == ["t-2"]
    with store.transaction():
        store.clear_dirty(["t-2"])
        store.mark_dirty(["t-1"], "2025-01-05T00:00:00Z")
        store.clear_dirty()
    assert store.dirty_ids() == []


def test_export_hashes_are_cleared(store: SqliteStore) -> None:
    put(store, issue("t-1"))
    conn = store.connection
    conn.execute("INSERT INTO export_hashes (issue_id, content_hash, exported_at) VALUES ('t-1', 'h', 'now')")
    with store.transaction():
        store.clear_export_hashes()
    assert conn.execute("SELECT COUNT(*) FROM export_hashes").fetchone()[0] == 0


def test_line_digests_are_recorded_replaced_dropped_and_never_taken_from_a_text_hash(store: SqliteStore) -> None:
    put(store, issue("t-1"))
    put(store, issue("t-2"))
    with store.transaction():
        store.set_line_digests({"t-1": b"\x01" * 32, "t-2": b"\x02" * 32})
        store.set_line_digests({"t-1": b"\x03" * 32})
    assert store.line_digests() == {b"\x03" * 32: "t-1", b"\x02" * 32: "t-2"}
    with store.transaction():
        store.drop_line_digests(["t-2"])
        store.connection.execute("UPDATE export_hashes SET content_hash = 'abc'")  # a classic text hash
    assert store.line_digests() == {}
    with store.transaction():
        store.set_line_digests({"t-2": b"\x04" * 32}, replace_all=True)
    assert store.line_digests() == {b"\x04" * 32: "t-2"}


def test_exported_ids_and_relations_in_their_written_form(store: SqliteStore) -> None:
    for n in (1, 2, 3):
        put(store, issue(f"t-{n}"))
    put(store, issue("t-w", ephemeral=True))
    with store.transaction():
        store.add_label("t-2", "b")
        store.add_label("t-2", "a")
        store.add_dependency(dep("t-2", "t-1"))
        store.add_comment("t-3", "me", "hi", "2025-01-01T00:00:00Z")
    assert store.exported_ids() == {"t-1", "t-2", "t-3"}
    labels, deps, comments = store.export_relations("t-2", "t-3")
    assert labels == {"t-2": ["a", "b"]}
    assert [list(d) for d in deps["t-2"]] == [["issue_id", "depends_on_id", "type", "created_at", "created_by"]]
    assert comments["t-3"][0]["text"] == "hi" and store.export_relations("t-1", "t-1") == ({}, {}, {})
    assert store.export_relations("t-2", "t-3", comments=False)[2] == {}


def test_new_issues_from_partial_records_read_back_as_full_inserts_would(store: SqliteStore) -> None:
    partial = {"id": "t-1", "title": "partial", "status": "open", "priority": 1, "issue_type": "bug",
               "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z", "pinned": True,
               "assignee": None, "x_newer_tool": {"kept": 1}, "labels": ["not a column"]}
    full = {**model.new_issue(), **{k: v for k, v in partial.items() if k != "labels"}, "id": "t-2"}
    full["assignee"] = ""
    with store.transaction():
        store.insert_new_issues([partial], [model.content_hash(partial)])
        store.insert_issue(full, model.content_hash(full))
    one, two = store.get_issue("t-1"), store.get_issue("t-2")
    assert one is not None and two is not None
    assert {**one, "id": "t-2"} == two and one["x_newer_tool"] == {"kept": 1}


def test_a_fresh_target_has_no_issue_and_no_dirty_mark(store: SqliteStore) -> None:
    assert store.is_fresh_target() and not store.in_transaction()
    with store.transaction():
        assert store.in_transaction()
        store.mark_dirty(["t-9"], timefmt.now())
    assert not store.is_fresh_target()
    with store.transaction():
        store.clear_dirty_marks(store.dirty_marks())
    put(store, issue("t-1"))
    assert not store.is_fresh_target()


def test_foreign_key_checks_can_be_switched_off_for_a_bulk_load(store: SqliteStore) -> None:
    store.set_foreign_keys(False)
    try:
        with store.transaction():
            store.add_labels([("t-nobody", "x")])  # no issue: accepted while the checks are off
    finally:
        store.set_foreign_keys(True)
    with pytest.raises(InvalidInput), store.transaction():
        store.add_labels([("t-nobody-either", "x")])


# -- child counters --------------------------------------------------------------------------------


def test_child_numbers_count_up_per_parent(store: SqliteStore) -> None:
    put(store, issue("t-p"), issue("t-q"))
    with store.transaction():
        assert [store.next_child_number("t-p") for _ in range(3)] == [1, 2, 3]
        assert store.next_child_number("t-q") == 1


def test_bumping_a_child_counter_never_lowers_it(store: SqliteStore) -> None:
    put(store, issue("t-p"))
    with store.transaction():
        store.bump_child_counter("t-p", 7)
        store.bump_child_counter("t-p", 3)
        assert store.next_child_number("t-p") == 8


# -- dependencies ---------------------------------------------------------------------------------------


def test_edges_are_stored_with_their_fields_and_read_both_ways(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"), issue("t-c"))
    with store.transaction():
        assert store.add_dependency(dep("t-a", "t-b", metadata='{"k":1}', thread_id="th")) is True
        assert store.add_dependency(dep("t-a", "t-b")) is False
        store.add_dependencies([dep("t-a", "t-c", "related"), dep("t-c", "t-b")])
    (ab,) = [d for d in store.dependencies_of("t-a") if d["depends_on_id"] == "t-b"]
    assert (ab["type"], ab["created_by"], ab["metadata"], ab["thread_id"]) == ("blocks", "tester", '{"k":1}', "th")
    assert sorted(d["issue_id"] for d in store.dependents_of("t-b")) == ["t-a", "t-c"]
    assert sorted(store.all_dependencies()) == ["t-a", "t-c"]
    assert {k: len(v) for k, v in store.dependencies_for(["t-a", "t-b"]).items()} == {"t-a": 2}
    assert store.dependency_counts(["t-a", "t-b", "t-c"]) == {"t-a": (2, 0), "t-b": (0, 2), "t-c": (1, 1)}
    # the same edges as (issue_id, depends_on_id, type), in dependencies_for's order, of some or all issues
    triples = [(d["issue_id"], d["depends_on_id"], d["type"]) for i in ("t-a", "t-c")
               for d in store.dependencies_for(["t-a", "t-c"])[i]]
    assert store.edge_triples() == triples
    assert store.edge_triples(["t-c", "t-b"]) == [("t-c", "t-b", "blocks")]
    assert store.edge_triples([]) == []


def test_an_edge_with_defaults_reads_back_with_empty_metadata(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"))
    with store.transaction():
        store.add_dependency({"issue_id": "t-a", "depends_on_id": "t-b", "type": "blocks",
                              "created_at": timefmt.now()})
    (d,) = store.dependencies_of("t-a")
    assert (d["created_by"], d["metadata"], d["thread_id"]) == ("", "{}", "")


def test_an_edge_may_point_at_an_external_or_missing_target(store: SqliteStore) -> None:
    put(store, issue("t-a"))
    link(store, ("t-a", "external:proj:cap"), ("t-a", "t-ghost"))
    assert [d["depends_on_id"] for d in store.dependencies_of("t-a")] != []
    assert store.blocked_ids() == set()


def test_removing_edges_returns_the_removed_types(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"), issue("t-c"))
    link(store, ("t-a", "t-b"), ("t-a", "t-b", "related"), ("t-c", "t-a"))
    with store.transaction():
        assert store.remove_dependency("t-a", "t-b", "related") == ["related"]
        assert store.remove_dependency("t-a", "t-b", "related") == []
        store.add_dependency(dep("t-a", "t-b", "related"))
        assert sorted(store.remove_dependency("t-a", "t-b")) == ["blocks", "related"]
        store.add_dependency(dep("t-a", "t-b"))
        removed = store.remove_all_dependencies_of("t-a")
    assert sorted((d["issue_id"], d["depends_on_id"]) for d in removed) == [("t-a", "t-b"), ("t-c", "t-a")]
    assert store.all_dependencies() == {}


def test_parents_children_and_descendants_follow_parent_child_edges(store: SqliteStore) -> None:
    put(store, issue("t-e"), issue("t-e.1"), issue("t-e.2"), issue("t-e.1.1"), issue("t-x"))
    link(store, ("t-e.1", "t-e", "parent-child"), ("t-e.2", "t-e", "parent-child"),
         ("t-e.1.1", "t-e.1", "parent-child"), ("t-x", "t-e"))
    assert store.parent_of("t-e.1.1") == "t-e.1"
    assert store.parent_of("t-x") is None
    assert store.children_of("t-e") == ["t-e.1", "t-e.2"]
    assert store.descendants_of("t-e") == ["t-e.1", "t-e.1.1", "t-e.2"]


def test_reaches_follows_every_edge_type_except_relates_to(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"), issue("t-c"), issue("t-d"))
    link(store, ("t-a", "t-b"), ("t-b", "t-c", "discovered-from"), ("t-c", "t-d", "relates-to"))
    assert store.reaches("t-a", "t-c") is True
    assert store.reaches("t-a", "t-d") is False
    assert store.reaches("t-c", "t-a") is False
    assert store.edges_reachable_from("t-a") == [("t-a", "t-b"), ("t-b", "t-c")]
    assert store.all_edges() == [("t-a", "t-b", "blocks"), ("t-b", "t-c", "discovered-from")]
    assert len(store.all_edges(exclude_types=())) == 3


def test_reaches_terminates_on_a_cycle(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"), issue("t-c"))
    link(store, ("t-a", "t-b"), ("t-b", "t-a"))
    assert store.reaches("t-a", "t-c") is False


# -- blocked cache -----------------------------------------------------------------------------------


def test_the_blocked_cache_is_rebuilt_from_the_edges_and_statuses(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"), issue("t-c"), issue("t-c.1"), issue("t-c.1.1"))
    link(store, ("t-a", "t-b"), ("t-c", "t-b"), ("t-c.1", "t-c", "parent-child"),
         ("t-c.1.1", "t-c.1", "parent-child"))
    assert store.blocked_ids() == {"t-a", "t-c", "t-c.1", "t-c.1.1"}
    assert store.is_blocked("t-c.1.1") and not store.is_blocked("t-b")
    set_status(store, "t-b", "closed")
    assert store.blocked_ids() == set()


def test_the_blocked_cache_only_changes_when_rebuilt(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"))
    with store.transaction():
        store.add_dependency(dep("t-a", "t-b"))
    assert store.blocked_ids() == set()
    with store.transaction():
        store.rebuild_blocked_cache()
    assert store.blocked_ids() == {"t-a"}


def test_the_cache_rebuild_implements_conditional_and_waits_for_edges(store: SqliteStore) -> None:
    put(store, issue("t-fallback"), issue("t-try"), issue("t-gate"), issue("t-any"), issue("t-spawn"),
        issue("t-spawn.1"), issue("t-spawn.2"))
    link(store, ("t-fallback", "t-try", "conditional-blocks"), ("t-spawn.1", "t-spawn", "parent-child"),
         ("t-spawn.2", "t-spawn", "parent-child"))
    with store.transaction():
        store.add_dependency(dep("t-gate", "t-spawn", "waits-for", metadata='{"gate":"all-children"}'))
        store.add_dependency(dep("t-any", "t-spawn", "waits-for", metadata='{"gate":"any-children"}'))
        store.rebuild_blocked_cache()
    assert store.blocked_ids() == {"t-fallback", "t-gate", "t-any"}
    set_status(store, "t-try", "closed", close_reason="tests failed")
    set_status(store, "t-spawn.1", "closed")
    assert store.blocked_ids() == {"t-gate"}
    set_status(store, "t-spawn.2", "closed")
    assert store.blocked_ids() == set()


# -- list / count --------------------------------------------------------------------------------------


@pytest.fixture
def populated(store: SqliteStore) -> SqliteStore:
    now = time.time_ns()
    put(store,
        issue("t-1", "Fix login bug", priority=0, issue_type="bug", assignee="alice",
              ts=timefmt.format_ns(now - 3 * DAY_NS)),
        issue("t-2", "Write docs", description="about 100% of it", priority=2, ts=timefmt.format_ns(now - DAY_NS)),
        issue("t-3", "Done thing", status="closed", closed_at=timefmt.format_ns(now), priority=1,
              ts=timefmt.format_ns(now - 2 * DAY_NS)),
        issue("t-4", "Gone", status="tombstone", deleted_at=timefmt.now()),
        issue("t-5", "Template", is_template=True),
        issue("t-6", "Pinned note", pinned=True, priority=4))
    with store.transaction():
        store.add_label("t-1", "backend")
        store.add_label("t-1", "urgent")
        store.add_label("t-2", "backend")
    return store


def ids_of(issues: list[dict]) -> list[str]:
    return [i["id"] for i in issues]


def test_list_hides_tombstones_and_templates_and_sorts_by_priority(populated: SqliteStore) -> None:
    assert ids_of(populated.list_issues(IssueFilter())) == ["t-1", "t-3", "t-2", "t-6"]
    assert ids_of(populated.list_issues(IssueFilter(reverse=True))) == ["t-6", "t-2", "t-3", "t-1"]
    assert "t-5" in ids_of(populated.list_issues(IssueFilter(include_templates=True)))
    assert "t-4" in ids_of(populated.list_issues(IssueFilter(statuses=["all"], include_tombstones=True)))


@pytest.mark.parametrize(("filters", "expected"), [
    ({"exclude_closed": True}, ["t-1", "t-2", "t-6"]),
    ({"statuses": ["closed"]}, ["t-3"]),
    ({"statuses": ["tombstone"]}, ["t-4"]),
    ({"priority": 2}, ["t-2"]),
    ({"priority_min": 1, "priority_max": 2}, ["t-3", "t-2"]),
    ({"issue_types": ["bug"]}, ["t-1"]),
    ({"assignee": "alice"}, ["t-1"]),
    ({"no_assignee": True}, ["t-3", "t-2", "t-6"]),
    ({"labels": ["backend", "urgent"]}, ["t-1"]),
    ({"labels_any": ["urgent", "backend"]}, ["t-1", "t-2"]),
    ({"no_labels": True}, ["t-3", "t-6"]),
    ({"ids": ["t-2", "t-3"]}, ["t-3", "t-2"]),
    ({"ids": []}, []),
    ({"query": "login"}, ["t-1"]),
    ({"query": "100%"}, ["t-2"]),
    ({"title_contains": "docs"}, ["t-2"]),
    ({"description_contains": "about"}, ["t-2"]),
    ({"pinned": True}, ["t-6"]),
    ({"pinned": False}, ["t-1", "t-3", "t-2"]),
    ({"empty_description": True}, ["t-1", "t-3", "t-6"]),
    ({"sort": "created"}, ["t-6", "t-2", "t-3", "t-1"]),
    ({"sort": "id", "reverse": True}, ["t-6", "t-3", "t-2", "t-1"]),
    ({"sort": "title"}, ["t-3", "t-1", "t-6", "t-2"]),
    ({"limit": 2}, ["t-1", "t-3"]),
])
def test_list_filters(populated: SqliteStore, filters: dict, expected: list[str]) -> None:
    assert ids_of(populated.list_issues(IssueFilter(**filters))) == expected


def test_list_filters_by_time_windows(populated: SqliteStore) -> None:
    cutoff = timefmt.format_ns(time.time_ns() - int(1.5 * DAY_NS))
    assert ids_of(populated.list_issues(IssueFilter(created_before=cutoff))) == ["t-1", "t-3"]
    assert ids_of(populated.list_issues(IssueFilter(created_after=cutoff))) == ["t-2", "t-6"]
    assert ids_of(populated.list_issues(IssueFilter(closed_after=cutoff))) == ["t-3"]
    assert ids_of(populated.list_issues(IssueFilter(updated_before="2000-01-01"))) == []


def test_list_parent_filter_keeps_direct_children(store: SqliteStore) -> None:
    put(store, issue("t-e"), issue("t-e.1"), issue("t-e.1.1"))
    link(store, ("t-e.1", "t-e", "parent-child"), ("t-e.1.1", "t-e.1", "parent-child"))
    assert ids_of(store.list_issues(IssueFilter(parent_id="t-e"))) == ["t-e.1"]


def test_count_totals_and_groups(populated: SqliteStore) -> None:
    assert populated.count_issues(IssueFilter()) == [("", 4)]
    assert populated.count_issues(IssueFilter(), "status") == [("closed", 1), ("open", 3)]
    assert populated.count_issues(IssueFilter(), "priority") == [("0", 1), ("1", 1), ("2", 1), ("4", 1)]
    assert populated.count_issues(IssueFilter(), "type") == [("bug", 1), ("task", 3)]
    assert populated.count_issues(IssueFilter(), "assignee") == [("", 3), ("alice", 1)]
    assert populated.count_issues(IssueFilter(), "label") == [("backend", 2), ("urgent", 1)]


# -- ready / blocked / statistics / stale / epics --------------------------------------------------------


def test_ready_is_open_unblocked_unpinned_work(populated: SqliteStore) -> None:
    put(populated, issue("t-7", "waiting"), issue("t-8", "msg", issue_type="message"))
    link(populated, ("t-7", "t-2"))
    assert ids_of(populated.ready_issues(ReadyFilter(sort_policy="priority"))) == ["t-1", "t-2"]
    assert ids_of(populated.ready_issues(ReadyFilter(issue_type="message"))) == ["t-8"]
    assert ids_of(populated.ready_issues(ReadyFilter(labels=["urgent"]))) == ["t-1"]
    assert ids_of(populated.ready_issues(ReadyFilter(sort_policy="oldest", limit=1))) == ["t-1"]


def test_blocked_issues_come_with_their_blockers(store: SqliteStore) -> None:
    put(store, issue("t-a", priority=1), issue("t-b"), issue("t-c", priority=0), issue("t-d", status="deferred"))
    link(store, ("t-a", "t-b"), ("t-a", "external:p:cap"), ("t-c", "t-b"))
    rows = store.blocked_issues()
    assert [(i["id"], blockers) for i, blockers in rows] == [("t-c", ["t-b"]),
                                                              ("t-a", ["external:p:cap", "t-b"]),
                                                              ("t-d", [])]
    assert [item for chunk in store.blocked_issue_chunks() for item in chunk] == rows
    brief = [item for chunk in store.blocked_brief_chunks() for item in chunk]
    assert brief == [(i["priority"], i["id"], i["title"], blockers) for i, blockers in rows]


def test_big_reads_come_in_chunks_of_the_same_rows(store: SqliteStore) -> None:
    put(store, *[issue(f"t-{k}", priority=k % 5) for k in range(1203)])
    chunks = list(store.list_issue_chunks(IssueFilter()))
    assert [len(c) for c in chunks] == [500, 500, 203]
    assert [i for c in chunks for i in c] == store.list_issues(IssueFilter())
    assert [i for c in store.sparse_issue_chunks() for i in c] == store.sparse_issues()


def test_statistics_are_refreshed_only_when_missing_or_outgrown(store: SqliteStore) -> None:
    put(store, *[issue(f"t-{k}") for k in range(1200)])  # the commit hook analysed
    assert store.db.one("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'issues'") is not None
    assert store.refresh_statistics() is False


def test_statistics_count_by_status_with_ready_and_blocked(populated: SqliteStore) -> None:
    put(populated, issue("t-7", "waiting"))
    link(populated, ("t-7", "t-2"))
    stats = populated.statistics()
    assert (stats["total_issues"], stats["open_issues"], stats["closed_issues"]) == (6, 5, 1)
    assert stats["tombstone_issues"] == 1
    # ready and blocked are counted by the conditions of ready_issues / blocked_issues
    assert populated.count_blocked() == len(populated.blocked_issues()) == 1
    assert populated.count_ready(ReadyFilter(limit=1)) == len(populated.ready_issues(ReadyFilter(limit=0))) == 2
    assert stats["pinned_issues"] == 1
    assert stats["average_lead_time_hours"] == pytest.approx(48.0, abs=0.1)
    assert stats["_by_status"] == {"open": 5, "closed": 1, "tombstone": 1}


def test_stats_are_kept_in_a_read_snapshot_until_a_write_and_expire_with_the_next_deferral(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-later", defer_until="2099-01-01T00:00:00Z"),
        issue("t-past", defer_until="2000-01-01T00:00:00Z"))
    assert store.ready_valid_until() == pytest.approx(4070908800.0)  # 2099-01-01T00:00:00Z
    assert store.keep_stats({"n": 1}, None) is False  # outside a read snapshot: nothing kept
    with store.read_snapshot():
        assert store.cached_stats() is None
        assert store.keep_stats({"n": 1}, 4070908800.0) is True
    with store.read_snapshot():
        assert store.cached_stats() == {"n": 1}
    set_status(store, "t-a", "in_progress")
    with store.read_snapshot():
        assert store.cached_stats() is None


def test_stale_issues_are_open_ones_not_updated_for_n_days(store: SqliteStore) -> None:
    old = timefmt.format_ns(time.time_ns() - 40 * DAY_NS)
    older = timefmt.format_ns(time.time_ns() - 50 * DAY_NS)
    put(store, issue("t-old", ts=old), issue("t-older", ts=older, status="in_progress"), issue("t-new"),
        issue("t-done", ts=older, status="closed", closed_at=older))
    assert ids_of(store.stale_issues(30, None, 0)) == ["t-older", "t-old"]
    assert ids_of(store.stale_issues(30, "in_progress", 0)) == ["t-older"]
    assert ids_of(store.stale_issues(30, None, 1)) == ["t-older"]
    assert store.stale_issues(45, "open", 10) == []


def test_stale_issues_come_in_instant_order_whatever_the_utc_offsets(store: SqliteStore) -> None:
    import random

    rng = random.Random(5)
    now = time.time_ns()
    issues = []
    for k in range(300):  # many near-ties: every offset from -12:00 to +14:00, a few days apart at most
        ns = now - rng.choice([3, 20, 40, 41, 42, 400]) * DAY_NS + rng.randint(-30, 30) * 3600 * 10**9
        stamp = timefmt.format_ns(ns, rng.choice(range(-12, 15)) * 3600 + rng.choice([0, 0, 1800]))
        if k % 7 == 0:
            stamp = stamp.replace("T", " ")
        status = rng.choice(["open", "open", "in_progress", "closed", "deferred"])
        issues.append(issue(f"t-{k:03d}", ts=stamp, status=status,
                            closed_at=stamp if status == "closed" else None))
    put(store, *issues)
    for days, status, limit in [(30, None, 5), (30, None, 50), (30, "in_progress", 7), (41, None, 3),
                                (0, None, 1), (30, None, 0), (399, None, 2), (500, None, 10), (10**6, None, 3),
                                (10**12, None, 3)]:
        where = "status NOT IN ('closed', 'tombstone') AND julianday(updated_at) < julianday('now', ?)"
        params: list[object] = [f"-{days} days"]
        if status:
            where += " AND status = ?"
            params.append(status)
        expected = [r[0] for r in store.db.all(  # the plain definition: every row's instant, sorted
            f"SELECT id FROM issues WHERE {where} ORDER BY julianday(updated_at), id"
            + (f" LIMIT {limit}" if limit else ""), params)]
        assert ids_of(store.stale_issues(days, status, limit)) == expected, (days, status, limit)



def test_epic_progress_counts_children_and_closed_children(store: SqliteStore) -> None:
    now = timefmt.now()
    put(store, issue("t-e", issue_type="epic"), issue("t-e.1"), issue("t-e.2", status="closed", closed_at=now),
        issue("t-e.3", status="tombstone", deleted_at=now), issue("t-lone", issue_type="epic"),
        issue("t-done", issue_type="epic", status="closed", closed_at=now), issue("t-done.1"),
        issue("t-gone", issue_type="epic", status="tombstone", deleted_at=now))
    link(store, ("t-e.1", "t-e", "parent-child"), ("t-e.2", "t-e", "parent-child"),
         ("t-e.3", "t-e", "parent-child"), ("t-done.1", "t-done", "parent-child"))
    progress = store.epic_progress()  # open epics only, in their wire form
    assert [(e["id"], total, closed) for e, total, closed in progress] == [("t-e", 2, 1), ("t-lone", 0, 0)]
    assert progress[0][0] == model.to_wire(store.get_issue("t-e"))  # type: ignore[arg-type]


# -- schema ----------------------------------------------------------------------------------------------


def test_schema_info_reports_the_version_and_the_originals_tables(store: SqliteStore) -> None:
    info = store.schema_info()
    assert info["schema_version"] == SCHEMA_VERSION == len(MIGRATIONS)
    for table in ("issues", "dependencies", "labels", "comments", "events", "config", "metadata", "dirty_issues",
                  "export_hashes", "child_counters", "blocked_issues_cache"):
        assert table in info["tables"]
    assert info["tables"]["dependencies"][:3] == ["issue_id", "depends_on_id", "type"]


def test_the_database_records_its_schema_version_in_user_version(store: SqliteStore) -> None:
    assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    rows = store.connection.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert rows == [(n, name) for n, (name, _) in enumerate(MIGRATIONS, start=1)]


def test_the_raw_connection_is_a_sqlite3_connection_with_foreign_keys_on(store: SqliteStore) -> None:
    conn = store.connection
    assert isinstance(conn, sqlite3.Connection)
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_dumps_json_is_compact_and_keeps_unicode(store: SqliteStore) -> None:
    assert store.dumps_json({"a": ["ü", 1]}) == '{"a":["ü",1]}'
    assert json.loads(store.dumps_json({"k": "v"})) == {"k": "v"}


def test_the_in_memory_backend_is_private_to_each_store() -> None:
    a, b = SqliteStore.in_memory(), SqliteStore.in_memory()
    a.set_config("issue_prefix", "a")
    assert b.get_config("issue_prefix") is None
    a.close()
    b.close()


# -- file-backend specifics -------------------------------------------------------------------------------


def test_a_file_database_uses_wal_journaling(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "beads.db"))
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_opening_an_existing_database_runs_no_migration(tmp_path: Path) -> None:
    path = str(tmp_path / "beads.db")
    first = SqliteStore(path)
    first.delete_config("compaction_enabled")  # a migration would put this default back
    applied = first.connection.execute("SELECT applied_at FROM schema_migrations").fetchall()
    first.close()
    again = SqliteStore(path, create=False)
    assert again.get_config("compaction_enabled") is None
    assert again.connection.execute("SELECT applied_at FROM schema_migrations").fetchall() == applied
    again.close()


def test_opening_a_missing_file_without_create_fails(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no database"):
        SqliteStore(str(tmp_path / "nope.db"), create=False)


def test_a_read_only_store_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "beads.db")
    writer = SqliteStore(path)
    put(writer, issue("t-1"))
    writer.close()
    reader = SqliteStore(path, readonly=True)
    assert reader.get_issue("t-1") is not None
    with pytest.raises(ReadOnly):
        reader.set_config("k", "v")
    reader.close()


def test_a_file_that_is_not_a_database_is_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / "beads.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="corrupt|not a database"):
        SqliteStore(str(path))


def test_two_stores_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    path = str(tmp_path / "beads.db")
    a, b = SqliteStore(path), SqliteStore(path)
    put(a, issue("t-1"))
    assert b.issue_exists("t-1")
    a.close()
    b.close()


# -- the ready fast paths agree with the full sort ------------------------------------------------


@pytest.mark.parametrize("recent_share", [0.05, 0.9])
def test_ready_with_a_limit_returns_the_head_of_the_fully_sorted_list(store: SqliteStore,
                                                                      recent_share: float) -> None:
    import random

    rng = random.Random(int(recent_share * 100))
    now = time.time_ns()
    issues = []
    for n in range(400):
        age_days = rng.uniform(0, 1.9) if rng.random() < recent_share else rng.uniform(2.1, 400)
        ts = timefmt.format_ns(now - int(age_days * DAY_NS), rng.choice([None, 0, 5 * 3600, -8 * 3600]))
        status = rng.choice(["open"] * 5 + ["in_progress"] * 2 + ["blocked", "closed"])
        issues.append(issue(f"t-{n:03d}", ts=ts, status=status, priority=rng.randint(0, 4),
                            closed_at=ts if status == "closed" else None,
                            assignee=rng.choice(["", "alice", "bob"]), pinned=rng.random() < 0.05,
                            issue_type=rng.choice(["task"] * 8 + ["bug", "message"])))
    put(store, *issues)
    with store.transaction():
        for n in range(0, 400, 3):
            store.add_label(f"t-{n:03d}", "x")
    link(store, *[(f"t-{rng.randint(100, 399):03d}", f"t-{rng.randint(0, 99):03d}") for _ in range(60)])
    filters: list[dict] = [{}, {"assignee": "alice"}, {"labels": ["x"]}, {"priority": 1}, {"status": "in_progress"},
                           {"issue_type": "message"}, {"unassigned": True}]
    for policy in ("hybrid", "priority", "oldest"):
        for extra in filters:
            everything = ids_of(store.ready_issues(ReadyFilter(sort_policy=policy, limit=0, **extra)))
            assert everything, (policy, extra)
            assert store.count_ready(ReadyFilter(sort_policy=policy, limit=3, **extra)) == len(everything)
            for limit in (1, 7, 10, 60, 500):
                got = ids_of(store.ready_issues(ReadyFilter(sort_policy=policy, limit=limit, **extra)))
                assert got == everything[:limit], (policy, extra, limit)


# -- bulk paths used by the JSONL layer ---------------------------------------------------------------


def test_bulk_labels_comments_and_events_are_written_in_one_call(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"))
    with store.transaction():
        store.add_labels([("t-1", "a"), ("t-1", "a"), ("t-2", "b")])
        store.insert_comments([(77, "t-1", "alice", "kept id", "2025-01-01T00:00:00Z"),
                               (None, "t-2", "bob", "new id", "2025-01-02T00:00:00Z")])
        store.add_events([("t-1", "imported", "sync", None, "2025-01-03T00:00:00Z")])
        store.insert_events([("t-2", "created", "me", None, '{"id":"t-2"}', "c", "2025-01-04T00:00:00Z")])
    assert store.all_labels() == {"t-1": ["a"], "t-2": ["b"]}
    assert [c["id"] for c in store.comments_of("t-1")] == [77]
    assert store.comment_ids_taken([77, 500]) == {77}
    assert [e["event_type"] for e in store.events_of("t-1")] == ["imported"]
    (created,) = store.events_of("t-2")
    assert (created["new_value"], created["comment"]) == ('{"id":"t-2"}', "c")


def test_metadata_is_read_and_written_in_bulk(store: SqliteStore) -> None:
    with store.transaction():
        store.set_metadata_many({"a": "1", "b": "2"})
    assert store.get_metadata_many(["a", "b", "c"]) == {"a": "1", "b": "2"}


def test_dirty_marks_are_cleared_only_when_unchanged_since_read(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"))
    with store.transaction():
        store.mark_dirty(["t-1", "t-2"], "2025-01-01T00:00:00Z")
    marks = store.dirty_marks()
    assert marks == {"t-1": "2025-01-01T00:00:00Z", "t-2": "2025-01-01T00:00:00Z"}
    with store.transaction():
        store.mark_dirty(["t-2"], "2025-01-02T00:00:00Z")  # changed while exporting
        store.clear_dirty_marks(marks)
    assert store.dirty_ids() == ["t-2"]


def test_existing_ids_and_outgoing_edges_for_import(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"), issue("t-3", status="tombstone", deleted_at=timefmt.now()))
    link(store, ("t-1", "t-2"), ("t-1", "t-3", "related"), ("t-2", "t-1", "related"))
    assert store.existing_ids(["t-1", "t-3", "t-9"]) == {"t-1", "t-3"}
    with store.transaction():
        assert store.remove_outgoing_dependencies("t-1") == 2
    assert store.all_edges(exclude_types=()) == [("t-2", "t-1", "related")]


def test_sparse_issues_are_the_wire_form_of_every_row(store: SqliteStore) -> None:
    put(store, issue("t-b", priority=0, labels=["ignored"], future="kept"), issue("t-a", pinned=True),
        issue("t-w", ephemeral=True))
    sparse = store.sparse_issues()
    assert [s["id"] for s in sparse] == ["t-a", "t-b"]
    for row in sparse:
        got = store.get_issue(row["id"])
        assert got is not None and row == model.to_wire(got)
    assert [s["id"] for s in store.sparse_issues(include_ephemeral=True)] == ["t-a", "t-b", "t-w"]


def test_a_read_snapshot_sees_one_state_and_nests(store: SqliteStore) -> None:
    put(store, issue("t-1"))
    with store.read_snapshot():
        assert store.issue_count() == 1
        with store.read_snapshot():
            assert store.issue_exists("t-1")
    store.checkpoint()  # best effort, never fails
    assert store.issue_count() == 1


def test_a_new_blocks_edge_blocks_the_subtree_only_when_the_blocker_is_open(store: SqliteStore) -> None:
    now = timefmt.now()
    put(store, issue("t-open"), issue("t-done", status="closed", closed_at=now), issue("t-e"), issue("t-e.1"),
        issue("t-f"))
    link(store, ("t-e.1", "t-e", "parent-child"))
    with store.transaction():
        store.add_dependency(dep("t-f", "t-done"))
        store.block_subtree_if_blocker_open("t-f", "t-done")
        assert store.blocked_ids() == set()
        store.add_dependency(dep("t-e", "t-open"))
        store.block_subtree_if_blocker_open("t-e", "t-open")
        assert store.blocked_ids() == {"t-e", "t-e.1"}
        store.rebuild_blocked_cache()
        assert store.blocked_ids() == {"t-e", "t-e.1"}


def test_edges_of_a_type_are_detected(store: SqliteStore) -> None:
    put(store, issue("t-1"), issue("t-2"))
    assert store.has_edges_of_type("waits-for") is False
    assert store.has_edges_of_type("blocks") is False
    link(store, ("t-1", "t-2", "waits-for"))
    assert store.has_edges_of_type("waits-for") is True
    assert store.has_edges_of_type("blocks") is False
    assert store.waits_for_sources() == ["t-1"]


# -- incremental blocked cache, graph facts and bulk-import helpers ------------------------------------


def test_refresh_blocked_recomputes_only_the_seeds_and_their_descendants(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"), issue("t-c"), issue("t-c.1"), issue("t-x"))
    link(store, ("t-a", "t-b"), ("t-c", "t-b"), ("t-c.1", "t-c", "parent-child"), ("t-x", "t-b"))
    assert store.blocked_ids() == {"t-a", "t-c", "t-c.1", "t-x"}
    assert sorted(store.blocking_dependents("t-b")) == ["t-a", "t-c", "t-x"]
    current = store.get_issue("t-b")
    assert current is not None
    current.update({"status": "closed", "closed_at": timefmt.now()})
    with store.transaction():
        store.update_issue("t-b", {"status": "closed", "closed_at": current["closed_at"]},
                           model.content_hash(current), current)
        store.refresh_blocked(["t-c"])  # only t-c and its child are recomputed
    assert store.blocked_ids() == {"t-a", "t-x"}


def test_waits_for_sources_lists_the_gated_issues(store: SqliteStore) -> None:
    put(store, issue("t-g"), issue("t-s"), issue("t-h"))
    assert store.waits_for_sources() == []
    link(store, ("t-g", "t-s", "waits-for"), ("t-h", "t-s", "waits-for"), ("t-h", "t-g", "related"))
    assert sorted(store.waits_for_sources()) == ["t-g", "t-h"]


def test_any_edge_below_the_cycle_check_forgets_that_the_graph_was_acyclic(store: SqliteStore) -> None:
    put(store, issue("t-a"), issue("t-b"), issue("t-c"))
    assert not store.graph_known_acyclic()
    with store.transaction():
        store.mark_graph_acyclic()
    assert store.graph_known_acyclic()
    link(store, ("t-a", "t-b"))
    assert not store.graph_known_acyclic()
    with store.transaction():
        store.mark_graph_acyclic()
        store.add_dependencies([dep("t-b", "t-c")])
    assert not store.graph_known_acyclic()
    assert store.keep_graph_acyclic() is False  # outside a read snapshot: nothing kept
    with store.read_snapshot():
        store.all_edges()
        assert store.keep_graph_acyclic() is True  # a search over the newest snapshot
    assert store.graph_known_acyclic()


def test_external_ref_owners_and_the_cache_size_for_bulk_imports(store: SqliteStore) -> None:
    put(store, issue("t-a", external_ref="gh-1"), issue("t-b"))
    assert store.external_ref_owners(["gh-1", "gh-2"]) == {"gh-1": "t-a"}
    previous = store.set_cache_size(-4096)
    assert store.set_cache_size(previous) == -4096


def _index_ddl(store: SqliteStore) -> list[tuple[str, str]]:
    return sorted(store.db.all("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def test_secondary_indexes_are_dropped_for_a_load_into_an_empty_table_and_restored(store: SqliteStore) -> None:
    before = _index_ddl(store)
    with store.transaction():
        ddl = store.drop_indexes_if_empty()
        assert ddl and not any(name.startswith("idx_issues") for name, _ in _index_ddl(store))
        put(store, issue("t-a", external_ref="gh-1"))
        store.restore_indexes(ddl)
    assert _index_ddl(store) == before and store.find_by_external_ref("gh-1") == "t-a"
    with store.transaction():
        assert store.drop_indexes_if_empty() == []  # the table has rows: nothing is dropped
    assert _index_ddl(store) == before
    with pytest.raises(RuntimeError), store.transaction():
        store.db.execute("DELETE FROM issues")
        assert store.drop_indexes_if_empty()
        raise RuntimeError("the load failed")
    assert _index_ddl(store) == before and store.all_ids() == ["t-a"]  # the rollback brought them back


# -- graph views, compaction snapshots, comment rewrites (issue 9) ------------------------------------


def test_graph_nodes_are_the_live_issues_in_id_order(store: SqliteStore) -> None:
    put(store, issue("t-b", priority=1, issue_type="bug"), issue("t-a"), issue("t-c"))
    set_status(store, "t-c", "tombstone", deleted_at=timefmt.now())
    rows = store.graph_nodes()
    assert [r[0] for r in rows] == ["t-a", "t-b"]
    assert rows[1][:5] == ("t-b", "title of t-b", "open", 1, "bug")


def test_dependents_closure_walks_up_every_type_but_relates_to(store: SqliteStore) -> None:
    put(store, *(issue(f"t-{n}") for n in "abcdex"))
    link(store, ("t-b", "t-a"), ("t-c", "t-b", "parent-child"), ("t-d", "t-c", "related"), ("t-e", "t-a", "relates-to"),
         ("t-b", "t-x"))
    assert store.dependents_closure("t-a") == [("t-b", "t-a", "blocks"), ("t-c", "t-b", "parent-child"),
                                               ("t-d", "t-c", "related")]
    assert store.dependents_closure("t-d") == []


def test_compaction_snapshots_stack_and_are_dropped_newest_first(store: SqliteStore) -> None:
    put(store, issue("t-a"))
    assert store.latest_compaction_snapshot("t-a") is None
    with store.transaction():
        store.add_compaction_snapshot("t-a", 1, '{"description": "first"}', timefmt.now())
        store.add_compaction_snapshot("t-a", 2, '{"description": "second"}', timefmt.now())
    assert store.latest_compaction_snapshot("t-a") == (2, '{"description": "second"}')
    with store.transaction():
        store.drop_compaction_snapshot("t-a")
    assert store.latest_compaction_snapshot("t-a") == (1, '{"description": "first"}')


def test_a_comment_text_can_be_rewritten(store: SqliteStore) -> None:
    put(store, issue("t-a"))
    with store.transaction():
        comment = store.add_comment("t-a", "me", "old words", timefmt.now())
        store.set_comment_text(comment["id"], "new words")
    assert [c["text"] for c in store.comments_of("t-a")] == ["new words"]
