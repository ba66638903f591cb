"""Import merge rules: newer wins (relations added), not newer changes nothing, tombstones hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonl_helpers import db_state, dep, jsonl_text, rec, ts, workspace

from beads.errors import CorruptJSONL, InvalidInput
from beads.sync.importer import import_file, import_records


@pytest.fixture
def t(tmp_path: Path):  # noqa: ANN201
    tracker = workspace(tmp_path)
    yield tracker
    tracker.disconnect()


def one(t, issue_id: str) -> dict:  # noqa: ANN001
    issue = t.store.get_issue(issue_id)
    assert issue is not None
    return issue


def test_new_issues_are_created_with_every_field_and_relation(t) -> None:  # noqa: ANN001
    stats = import_records(t, [
        rec("test-1", description="d", assignee="al", labels=["b", "a"], external_ref="gh-1",
            comments=[{"id": 4, "issue_id": "test-1", "author": "x", "text": "hi", "created_at": ts(1)}]),
        rec("test-2", dependencies=[dep("test-2", "test-1")]),
    ])
    assert (stats["created"], stats["updated"], stats["unchanged"]) == (2, 0, 0)
    assert one(t, "test-1")["assignee"] == "al" and t.store.labels_of("test-1") == ["a", "b"]
    assert t.store.comments_of("test-1")[0]["id"] == 4  # the file's comment id is kept when free
    assert t.store.is_blocked("test-2")  # the blocked cache is rebuilt


def test_a_strictly_newer_record_replaces_the_local_one(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", "old", at=1, assignee="al")])
    stats = import_records(t, [rec("test-1", "new", at=2)])
    assert stats["updated"] == 1
    issue = one(t, "test-1")
    assert issue["title"] == "new" and issue["assignee"] == ""  # the whole record, emptied fields too
    assert issue["updated_at"] == ts(2)


@pytest.mark.parametrize("incoming_at", [1, 0])
def test_an_older_or_tied_record_keeps_the_local_one_and_marks_it_for_export(t, incoming_at: int) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", "local", at=1)], mark_dirty=False)
    stats = import_records(t, [rec("test-1", "remote", at=incoming_at)], mark_dirty=False)
    assert (stats["updated"], stats["unchanged"], stats["kept_local"]) == (0, 1, 1)
    assert one(t, "test-1")["title"] == "local"
    assert t.store.dirty_ids() == ["test-1"]  # the file must get the database's newer copy


def test_times_are_compared_as_instants_not_text(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", "local", updated_at="2026-01-01T10:00:00-08:00")])
    # 18:30Z is 10:30 at -08:00: newer, though its text sorts lower
    stats = import_records(t, [rec("test-1", "remote", updated_at="2026-01-01T18:30:00Z")])
    assert stats["updated"] == 1 and one(t, "test-1")["title"] == "remote"


def test_an_identical_record_is_unchanged_and_not_marked(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", labels=["x"])], mark_dirty=False)
    stats = import_records(t, [rec("test-1", labels=["x"])], mark_dirty=False)
    assert stats["unchanged"] == 1 and stats["marked_dirty"] == 0 and t.store.dirty_ids() == []


def test_labels_dependencies_and_comments_are_additive(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1"), rec("test-2"), rec("test-3", at=5, labels=["mine"],
                                                         dependencies=[dep("test-3", "test-1")],
                                                         comments=[{"author": "a", "text": "one",
                                                                    "created_at": ts(1)}])], mark_dirty=False)
    stats = import_records(t, [rec("test-3", at=9, labels=["theirs"], dependencies=[dep("test-3", "test-2")],
                                   comments=[{"author": "a", "text": "  one  ", "created_at": ts(2)},
                                             {"author": "b", "text": "two", "created_at": ts(3)}])],
                           mark_dirty=False)
    assert stats["updated"] == 1
    assert t.store.labels_of("test-3") == ["mine", "theirs"]
    assert sorted(d["depends_on_id"] for d in t.store.dependencies_of("test-3")) == ["test-1", "test-2"]
    assert [c["text"] for c in t.store.comments_of("test-3")] == ["one", "two"]  # deduplicated by author+text
    assert "test-3" in t.store.dirty_ids()  # the database has more than the file: re-export it


def test_nothing_is_deleted_because_it_is_absent_from_the_file(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1"), rec("test-2", labels=["keep"])])
    stats = import_records(t, [rec("test-3")])
    assert stats["created"] == 1
    assert t.store.all_ids() == ["test-1", "test-2", "test-3"] and t.store.labels_of("test-2") == ["keep"]


def test_a_local_tombstone_never_comes_back(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", "alive", labels=["a"])])
    t.delete(["test-1"])
    stats = import_records(t, [rec("test-1", "alive again", at=10**6, labels=["b"])])
    assert stats["skipped"] == 1
    issue = one(t, "test-1")
    assert issue["status"] == "tombstone" and issue["title"] == "alive"


def test_a_newer_incoming_tombstone_deletes_a_live_issue(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", at=1), rec("test-2", at=1, dependencies=[dep("test-2", "test-1")])])
    gone = rec("test-2", at=5, status="tombstone", deleted_at=ts(5), deleted_by="bob", delete_reason="dup",
               original_type="task")
    stats = import_records(t, [gone])
    assert (stats["updated"], stats["tombstoned"]) == (1, 1)
    assert one(t, "test-2")["status"] == "tombstone" and t.store.dependencies_of("test-2") == []


def test_an_older_incoming_tombstone_loses_to_a_later_local_edit(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", "edited later", at=9)])
    stats = import_records(t, [rec("test-1", at=5, status="tombstone", deleted_at=ts(5))])
    assert stats["kept_local"] == 1 and one(t, "test-1")["status"] == "open"


def test_parents_are_created_before_children_and_child_counters_bumped(t) -> None:  # noqa: ANN001
    stats = import_records(t, [rec("test-1.2.1"), rec("test-1.7"), rec("test-1.2"), rec("test-1")])
    assert stats["created"] == 4
    child = t.create("next child", parent="test-1")
    assert child["id"] == "test-1.8"


def test_orphans_follow_the_orphan_handling_mode(t) -> None:  # noqa: ANN001
    before = db_state(t)
    with pytest.raises(InvalidInput, match="does not exist"):
        import_records(t, [rec("test-1"), rec("test-9.1")], orphan_handling="strict")
    assert db_state(t) == before  # one transaction: nothing landed
    stats = import_records(t, [rec("test-1"), rec("test-9.1")], orphan_handling="skip")
    assert stats["created"] == 1 and t.store.all_ids() == ["test-1"]
    stats = import_records(t, [rec("test-9.1")], orphan_handling="allow")
    assert stats["created"] == 1


def test_edges_to_issues_nobody_has_are_kept(t) -> None:  # noqa: ANN001
    stats = import_records(t, [rec("test-1", dependencies=[dep("test-1", "test-404"),
                                                          dep("test-1", "external:proj:cap")])])
    assert stats["skipped_dependencies"] == [] and stats["warnings"] == []
    assert sorted(d["depends_on_id"] for d in t.store.dependencies_of("test-1")) == ["external:proj:cap",
                                                                                     "test-404"]
    assert not t.store.is_blocked("test-1")  # a blocks edge to a missing issue blocks nothing
    import_records(t, [rec("test-404")])  # the target arrives: now it blocks
    assert t.store.is_blocked("test-1")


def test_a_file_with_edges_to_missing_targets_round_trips_byte_for_byte(t, tmp_path: Path) -> None:  # noqa: ANN001
    from beads.sync.export import export_jsonl

    text = jsonl_text(
        rec("test-1", dependencies=[dep("test-1", "external:proj:cap"), dep("test-1", "test-unsynced", at=1),
                                    dep("test-1", "test-wisp-7", "related", at=2)]),
        rec("test-2", dependencies=[dep("test-2", "test-1"), dep("test-2", "test-gone", "parent-child", at=1)]))
    source = tmp_path / "in.jsonl"
    source.write_text(text, encoding="utf-8")
    import_file(t, str(source))
    out = tmp_path / "out.jsonl"
    export_jsonl(t, str(out))
    assert out.read_bytes() == source.read_bytes()
    assert t.store.is_blocked("test-2") and not t.store.is_blocked("test-1")


@pytest.mark.parametrize("incoming_at", [1, 0])
def test_a_record_that_is_not_newer_brings_no_labels_or_edges_but_its_comments(t, incoming_at: int) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1"), rec("test-2", at=1, labels=["kept"])], mark_dirty=False)
    stats = import_records(t, [rec("test-2", at=incoming_at, labels=["kept", "removed-here"],
                                   dependencies=[dep("test-2", "test-1")],
                                   comments=[{"author": "a", "text": "old", "created_at": ts(0)}])],
                           mark_dirty=False)
    assert (stats["updated"], stats["unchanged"]) == (0, 1)
    assert t.store.labels_of("test-2") == ["kept"]
    assert t.store.dependencies_of("test-2") == []
    # comments only grow (none is removed between clones): adding them undoes nothing, and two
    # copies that tie on updated_at would otherwise each be re-exported by their clone forever
    assert [c["text"] for c in t.store.comments_of("test-2")] == ["old"]
    assert t.store.dirty_ids() == ["test-2"]  # the file must get the database's copy


def test_a_foreign_prefix_is_refused_unless_renamed(t) -> None:  # noqa: ANN001
    records = [rec("other-1", "see other-2"), rec("other-2", dependencies=[dep("other-2", "other-1")])]
    with pytest.raises(InvalidInput, match="prefix mismatch"):
        import_records(t, [dict(r) for r in records])
    assert t.store.all_ids() == []
    stats = import_records(t, records, rename_on_import=True)
    assert stats["id_mapping"] == {"other-1": "test-1", "other-2": "test-2"}
    assert one(t, "test-1")["title"] == "see test-2"
    assert t.store.dependencies_of("test-2")[0]["depends_on_id"] == "test-1"


def test_foreign_prefix_tombstones_alone_are_ignored(t) -> None:  # noqa: ANN001
    stats = import_records(t, [rec("test-1"), rec("zz-1", status="tombstone", deleted_at=ts(1))])
    assert stats["created"] == 1 and t.store.all_ids() == ["test-1"]


def test_duplicate_ids_in_one_file_keep_the_newest(t) -> None:  # noqa: ANN001
    stats = import_records(t, [rec("test-1", "newer", at=5), rec("test-1", "older", at=1)])
    assert stats["skipped"] == 1 and one(t, "test-1")["title"] == "newer"


def test_dry_run_counts_but_changes_nothing(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", at=1)])
    before = db_state(t)
    stats = import_records(t, [rec("test-1", "new", at=2), rec("test-2")], dry_run=True)
    assert (stats["created"], stats["updated"]) == (1, 1)
    assert db_state(t) == before


def test_skip_existing_only_creates(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1", "local", at=1)])
    stats = import_records(t, [rec("test-1", "remote", at=2), rec("test-2")], skip_existing=True)
    assert (stats["created"], stats["skipped"]) == (1, 1) and one(t, "test-1")["title"] == "local"


def test_an_invalid_record_refuses_the_whole_import(t) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match="priority"):
        import_records(t, [rec("test-1"), rec("test-2", priority=9)])
    assert t.store.all_ids() == []


def test_a_hard_deleted_issue_is_not_recreated_before_the_export_drops_it(t) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1")])
    t.delete(["test-1"], hard=True)
    stats = import_records(t, [rec("test-1")])
    assert stats["skipped"] == 1 and t.store.all_ids() == []


def test_importing_the_workspace_file_records_it_and_marks_nothing(t) -> None:  # noqa: ANN001
    path = Path(t.workspace.jsonl_path)
    path.write_text(jsonl_text(rec("test-1"), rec("test-2")), encoding="utf-8")
    stats = import_file(t, str(path))
    assert stats["created"] == 2 and t.store.dirty_ids() == []
    meta = t.store.all_metadata()
    assert meta["jsonl_content_hash"] == meta["jsonl_file_hash"] and meta["jsonl_stat"]


def test_importing_another_file_marks_the_changes_for_export(t, tmp_path: Path) -> None:  # noqa: ANN001
    other = tmp_path / "other.jsonl"
    other.write_text(jsonl_text(rec("test-1")), encoding="utf-8")
    import_file(t, str(other))
    assert t.store.dirty_ids() == ["test-1"]
    assert "jsonl_content_hash" not in t.store.all_metadata()


def test_a_conflicted_file_is_refused_and_nothing_changes(t, tmp_path: Path) -> None:  # noqa: ANN001
    import_records(t, [rec("test-1")])
    before = db_state(t)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(jsonl_text(rec("test-2")) + "<<<<<<< HEAD\n" + jsonl_text(rec("test-3")) + "=======\n"
                   + jsonl_text(rec("test-4")) + ">>>>>>> theirs\n", encoding="utf-8")
    with pytest.raises(CorruptJSONL, match="conflict markers"):
        import_file(t, str(bad))
    assert db_state(t) == before


def test_renaming_the_workspace_file_rewrites_it_under_the_new_ids(t) -> None:  # noqa: ANN001
    from beads.sync import export

    path = Path(t.workspace.jsonl_path)
    path.write_text(jsonl_text(rec("other-1"), rec("test-5")), encoding="utf-8")
    stats = import_file(t, str(path), rename_on_import=True)
    assert stats["id_mapping"] == {"other-1": "test-1"}
    export.flush(t)
    assert [line[:15] for line in path.read_text().splitlines()] == ['{"id":"test-1",', '{"id":"test-5",']


def test_resurrect_recreates_a_missing_parent_from_the_workspace_file(t) -> None:  # noqa: ANN001
    Path(t.workspace.jsonl_path).write_text(jsonl_text(rec("test-1", "the epic", description="big")),
                                            encoding="utf-8")
    stats = import_records(t, [rec("test-1.1"), rec("test-1.2")], orphan_handling="resurrect")
    assert stats["created"] == 2
    parent = one(t, "test-1")
    assert parent["status"] == "closed" and parent["description"].startswith("[RESURRECTED]")
    with pytest.raises(InvalidInput, match="cannot be resurrected"):
        import_records(t, [rec("test-9.1")], orphan_handling="resurrect")


def _indexes(t) -> list[tuple[str, str]]:  # noqa: ANN001
    import sqlite3

    with sqlite3.connect(t.store.db.path) as conn:
        return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def _bulk(n: int) -> list[dict]:
    return [rec(f"test-{i:05}", labels=[f"l{i % 7}"], external_ref=f"gh-{i}" if i % 100 == 0 else None,
                dependencies=[dep(f"test-{i:05}", f"test-{i - 1:05}")] if i % 3 == 0 and i else [])
            for i in range(n)]


def test_a_bulk_import_into_an_empty_database_keeps_every_index_and_the_file_round_trips(t, tmp_path: Path) -> None:  # noqa: ANN001
    from beads.sync.export import flush

    before = _indexes(t)
    source = tmp_path / "big.jsonl"
    source.write_text(jsonl_text(*_bulk(2600)), encoding="utf-8")  # over one insert chunk: the bulk path
    stats = import_records(t, _bulk(2600), dry_run=True)
    assert stats["created"] == 2600 and t.store.all_ids() == [] and _indexes(t) == before
    import_file(t, str(source))
    assert _indexes(t) == before  # dropped for the load, rebuilt inside the same transaction
    assert t.store.is_blocked("test-00003") and t.store.find_by_external_ref("gh-100") == "test-00100"
    assert flush(t) and Path(t.workspace.jsonl_path).read_bytes() == source.read_bytes()
    assert t.store.dirty_ids() == [] and not flush(t)  # the streamed file is recorded as ours


def test_a_bulk_import_that_fails_leaves_the_indexes_in_place(t) -> None:  # noqa: ANN001
    before = _indexes(t)
    records = _bulk(2600)
    records[-1] = rec("test-99999.1")  # its parent exists nowhere: refused in strict mode
    with pytest.raises(InvalidInput, match="strict"):
        import_records(t, records, orphan_handling="strict")
    assert t.store.all_ids() == [] and _indexes(t) == before


def test_a_local_change_after_a_peers_line_from_the_future_is_newer_than_it(t) -> None:  # noqa: ANN001
    """A peer whose clock runs an hour ahead stamps its line an hour from now. Every local change
    made after taking that line in must still be newer than it, or the peer's line wins again at
    every other clone (and here, at the next full import) and the change is undone."""
    import time

    from beads.timefmt import format_ns, to_ns

    ahead = format_ns(time.time_ns() + 3600 * 10**9, 0)
    import_records(t, [rec("test-1", "from the future", updated_at=ahead, labels=["peer"])], mark_dirty=False)
    changes = [
        lambda: t.update("test-1", title="local edit"),
        lambda: t.add_label("test-1", "mine"),
        lambda: t.remove_label("test-1", "peer"),
        lambda: t.close("test-1", reason="done"),
        lambda: t.reopen("test-1"),
        lambda: t.add_comment("test-1", "a note"),
    ]
    stamps = [ahead]
    for change in changes:
        change()
        stamps.append(one(t, "test-1")["updated_at"])
        assert to_ns(stamps[-1]) > to_ns(stamps[-2])  # type: ignore[operator]
    before = (one(t, "test-1")["title"], t.store.labels_of("test-1"))
    stats = import_records(t, [rec("test-1", "from the future", updated_at=ahead, labels=["peer"])], mark_dirty=False)
    assert stats["updated"] == 0
    assert (one(t, "test-1")["title"], t.store.labels_of("test-1")) == before == ("local edit", ["mine"])
