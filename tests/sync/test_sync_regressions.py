"""Regressions found by the randomized convergence test (test_sync_fuzz.py), each minimised."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonl_helpers import rec, ts, workspace
from sync_helpers import BD_DIR, bd_ok, git

import beads
from beads import timefmt
from beads.sync.importer import import_records


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))


def _clones(tmp_path: Path, n: int, seed_issue: str | None = None) -> list[Path]:
    """A remote and ``n`` clones with bd; with ``seed_issue`` the first clone publishes an issue
    before the others run ``bd init`` (which then import it and take its prefix)."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    out = []
    for i in range(n):
        path = tmp_path / f"c{i}"
        git(tmp_path, "clone", "-q", str(remote), str(path))
        if i == 0:
            bd_ok("init", "--prefix", "rg", "--quiet", cwd=path)
            git(path, "add", "-A")
            git(path, "commit", "-q", "-m", "beads")
            git(path, "push", "-q", "-u", "origin", "main")
            if seed_issue:
                bd_ok("create", seed_issue, "--silent", cwd=path)
                _sync(path)
        else:
            bd_ok("init", "--quiet", cwd=path)
        out.append(path)
    return out


def _sync(cwd: Path) -> dict[str, Any]:
    return json.loads(bd_ok("sync", "--json", cwd=cwd).stdout)


def _ids(cwd: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (cwd / ".beads/issues.jsonl").read_text().splitlines()]


def _row(cwd: Path, issue_id: str) -> dict[str, Any]:
    tracker = beads.open(str(cwd / ".beads"), readonly=True)
    try:
        issue = tracker.store.get_issue(issue_id)
        assert issue is not None
        return {"updated_at": issue["updated_at"], "status": issue["status"],
                "labels": tracker.store.labels_of(issue_id)}
    finally:
        tracker.disconnect()


# -- 1. a tombstone never took the merged copy of itself ----------------------------------------------


def test_a_local_tombstone_takes_a_newer_incoming_tombstone(tmp_path: Path) -> None:
    t = workspace(tmp_path)
    try:
        import_records(t, [rec("test-1", at=1)], mark_dirty=False)
        t.delete(["test-1"])
        local = t.store.get_issue("test-1")
        assert local is not None
        later = timefmt.format_ns((timefmt.to_ns(local["updated_at"]) or 0) + 1_000_000, 0)
        newer = dict(local, updated_at=later, labels=["from-elsewhere"])
        newer.pop("_content_hash", None)
        stats = import_records(t, [newer], mark_dirty=False)
        assert stats["updated"] == 1
        assert t.store.get_issue("test-1")["updated_at"] == later  # type: ignore[index]
        assert t.store.labels_of("test-1") == ["from-elsewhere"]
        # ...but a live record, however new, still never resurrects it
        stats = import_records(t, [rec("test-1", updated_at=timefmt.format_ns(1 << 62, 0))], mark_dirty=False)
        assert stats["skipped"] == 1 and t.store.get_issue("test-1")["status"] == "tombstone"  # type: ignore[index]
    finally:
        t.disconnect()


def test_a_delete_racing_a_label_converges_on_every_database(tmp_path: Path) -> None:
    """Seed 3: A deletes X while B labels it. The merge keeps the tombstone, B's import adds its
    label back to it and re-exports; A used to skip that newer tombstone (a local tombstone was
    never touched), so A's database disagreed with the shared file forever."""
    a, b = _clones(tmp_path, 2, seed_issue="doomed")
    issue = _ids(a)[0]
    bd_ok("delete", issue, "--force", cwd=a)
    _sync(a)
    bd_ok("label", "add", issue, "late", cwd=b)
    _sync(b)
    _sync(a)
    _sync(b)
    assert (a / ".beads/issues.jsonl").read_bytes() == (b / ".beads/issues.jsonl").read_bytes()
    assert _row(a, issue) == _row(b, issue)
    assert _row(a, issue)["status"] == "tombstone"


# -- 2. comment ids from the file could collide with numbers the same import handed out --------------


def test_an_import_keeps_free_comment_ids_even_after_assigning_new_ones(tmp_path: Path) -> None:
    """Seeds 12, 13, 18, 22, 25: `bd sync` failed with "UNIQUE constraint failed: comments.id"."""
    t = workspace(tmp_path)
    try:
        import_records(t, [rec("test-1"), rec("test-2")], mark_dirty=False)
        mine = t.add_comment("test-1", "local comment")  # id 1 here
        assert mine["id"] == 1
        # The file (another clone's numbering, newer than our edit): test-1 has a different comment
        # #1 (taken here, so it gets the next number, 2), and test-2 has comment #2 (free here, kept).
        later = timefmt.now()
        stats = import_records(t, [
            rec("test-1", updated_at=later, comments=[{"id": 1, "issue_id": "test-1", "author": "bob",
                                                       "text": "theirs", "created_at": ts(1)}]),
            rec("test-2", updated_at=later, comments=[{"id": 2, "issue_id": "test-2", "author": "bob",
                                                       "text": "other", "created_at": ts(2)}]),
        ], mark_dirty=False)
        assert stats["warnings"] == []
        texts = {c["text"]: c["id"] for cs in t.store.comments_for(None).values() for c in cs}
        assert texts["other"] == 2 and texts["local comment"] == 1
        assert texts["theirs"] not in (1, 2)
    finally:
        t.disconnect()


# -- 3. a clone set up before the first issue has its own prefix; deletions must still reach it ---------


def test_a_deletion_reaches_a_clone_whose_prefix_differs(tmp_path: Path) -> None:
    """Found while minimising (1): a clone that ran `bd init` before any issue was pushed takes its
    directory name as prefix. It imports the other prefix's issues leniently, but when every
    foreign record in the file was a tombstone they were all dropped ("foreign tombstones alone are
    ignored"), so the deletion never reached its database, which then disagreed with the file."""
    a, b = _clones(tmp_path, 2)
    issue = bd_ok("create", "doomed", "--silent", cwd=a).stdout.strip()
    _sync(a)
    _sync(b)
    assert _row(b, issue)["status"] == "open"
    bd_ok("delete", issue, "--force", cwd=a)
    _sync(a)
    _sync(b)
    assert _row(b, issue)["status"] == "tombstone"


def test_foreign_tombstones_of_unknown_issues_are_still_ignored(tmp_path: Path) -> None:
    t = workspace(tmp_path)
    try:
        import_records(t, [rec("zz-1", status="open")], skip_prefix_validation=True)  # known here
        stats = import_records(t, [rec("zz-1", at=10**9, status="tombstone", deleted_at=ts(10**9)),
                                   rec("zz-2", status="tombstone", deleted_at=ts(1))], mark_dirty=False)
        assert stats["tombstoned"] == 1
        assert t.store.all_ids() == ["zz-1"]
        assert t.store.get_issue("zz-1")["status"] == "tombstone"  # type: ignore[index]
    finally:
        t.disconnect()


# -- 4. a notes join brought back the text the other side had replaced -----------------------------


def test_a_notes_join_does_not_bring_back_replaced_text() -> None:
    """Seed 32: B wrote note4 and pushed; A concurrently wrote note11 and its sync joined them
    ("note11 --- note4"); B, unaware of note11, replaced note4 with note16. The next merge joined
    whole texts again, giving "note16 --- note11 --- note4": note4, which B had replaced, was back."""
    from beads.sync.merge import NOTES_SEPARATOR as SEP
    from beads.sync.merge import merge_issue

    def issue(notes: str, at: float) -> dict[str, Any]:
        return rec("test-1", notes=notes, at=at)

    merged = merge_issue(issue("note4", 1), issue("note16", 3), issue(f"note11{SEP}note4", 2), now_ns=0)
    assert merged is not None and merged["notes"] == f"note16{SEP}note11"
    # a paragraph both sides hold is not repeated
    merged = merge_issue(issue("x", 1), issue(f"a{SEP}x{SEP}b", 3), issue(f"x{SEP}b{SEP}c", 2), now_ns=0)
    assert merged is not None and merged["notes"] == f"a{SEP}x{SEP}b{SEP}c"


# -- 5. two clones minted the same child ID for different issues --------------------------------------


def _db(cwd: Path) -> dict[str, Any]:
    """Every issue of a clone's database: title, outgoing edges, and the parent's child counter."""
    tracker = beads.open(str(cwd / ".beads"), readonly=True)
    try:
        store = tracker.store
        out: dict[str, Any] = {}
        for issue in store.all_issues():
            deps = sorted((d["depends_on_id"], d["type"]) for d in store.dependencies_of(issue["id"]))
            out[issue["id"]] = (issue["title"], deps)
        return out
    finally:
        tracker.disconnect()


def _child_race(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """Clone a adds child 'A1' to the shared parent and publishes it; clone b concurrently adds
    'B1' to the same parent (so it too mints `<parent>.1`), a grandchild 'B1 kid' under it and an
    issue 'B blocked' that `B1` blocks. Returns (a, b, parent, the child id both minted)."""
    a, b = _clones(tmp_path, 2, seed_issue="parent")
    parent = _ids(a)[0]
    _sync(b)
    child_a = bd_ok("create", "A1", "--parent", parent, "--silent", cwd=a).stdout.strip()
    child_b = bd_ok("create", "B1", "--parent", parent, "--silent", cwd=b).stdout.strip()
    assert child_a == child_b == f"{parent}.1"
    bd_ok("create", "B1 kid", "--parent", child_b, "--silent", cwd=b)
    bd_ok("create", "B blocked", "--deps", f"blocks:{child_b}", "--silent", cwd=b)
    _sync(a)
    return a, b, parent, child_a


def _assert_child_race_resolved(a: Path, b: Path, parent: str) -> None:
    assert (a / ".beads/issues.jsonl").read_bytes() == (b / ".beads/issues.jsonl").read_bytes()
    db = _db(a)
    assert _db(b) == db
    by_title = {title: (iid, deps) for iid, (title, deps) in db.items()}
    assert set(by_title) == {"parent", "A1", "B1", "B1 kid", "B blocked"}
    # the remote's issue kept the number; the one that arrived second moved, with its edges
    assert by_title["A1"] == (f"{parent}.1", [(parent, "parent-child")])
    assert by_title["B1"] == (f"{parent}.2", [(parent, "parent-child")])
    assert by_title["B1 kid"] == (f"{parent}.2.1", [(f"{parent}.2", "parent-child")])
    assert by_title["B blocked"][1] == [(f"{parent}.2", "blocks")]
    file_ids = [json.loads(line)["id"] for line in (a / ".beads/issues.jsonl").read_text().splitlines()]
    assert sorted(file_ids) == sorted(db)


def test_children_minted_concurrently_on_two_clones_both_survive_bd_sync(tmp_path: Path) -> None:
    """Both clones ran `bd create --parent P` before syncing and minted `P.1` for different issues;
    the merge folded them into one record and one issue was lost."""
    a, b, parent, _ = _child_race(tmp_path)
    _sync(b)
    _sync(a)
    _sync(b)
    _assert_child_race_resolved(a, b, parent)
    # both counters cover both numbers: the next child is P.3 on each clone -- a second race
    assert bd_ok("create", "B3", "--parent", parent, "--silent", cwd=b).stdout.strip() == f"{parent}.3"
    assert bd_ok("create", "A3", "--parent", parent, "--silent", cwd=a).stdout.strip() == f"{parent}.3"
    for clone in (b, a, b):
        _sync(clone)
    assert (a / ".beads/issues.jsonl").read_bytes() == (b / ".beads/issues.jsonl").read_bytes()
    titles = {iid: title for iid, (title, _) in _db(a).items()}
    assert {titles.get(f"{parent}.3"), titles.get(f"{parent}.4")} == {"B3", "A3"}
    assert {iid: title for iid, (title, _) in _db(b).items()} == titles


def test_children_minted_concurrently_survive_git_pull_with_the_merge_driver_and_hooks(tmp_path: Path) -> None:
    a, b, parent, _ = _child_race(tmp_path)
    git(b, "add", ".beads")
    git(b, "commit", "-q", "-m", "b's work")  # the pre-commit hook flushes and stages the JSONL
    git(b, "pull", "-q", "--no-rebase", "origin", "main")  # bd merge, then the post-merge hook imports
    git(b, "push", "-q", "origin", "main")
    git(a, "pull", "-q", "--no-rebase", "origin", "main")
    _assert_child_race_resolved(a, b, parent)
    assert git(b, "status", "--porcelain", "--", ".beads").stdout.strip() == ""
    # and bd sync has nothing left to fix
    for clone in (a, b, a):
        _sync(clone)
    _assert_child_race_resolved(a, b, parent)


def test_merge3_renames_the_left_issue_when_both_sides_add_one_id() -> None:
    from beads.sync.merge import merge3

    def issue(iid: str, title: str, created: float, **fields: Any) -> dict[str, Any]:
        return rec(iid, title, created_at=ts(created), at=created, **fields)

    def child_of(src: str, dst: str, kind: str = "parent-child") -> dict[str, Any]:
        return {"issue_id": src, "depends_on_id": dst, "type": kind, "created_at": ts(1)}

    base = [issue("t-p", "parent", 0), issue("t-p.1", "shared", 0)]
    left = base + [issue("t-p.2", "L", 5, dependencies=[child_of("t-p.2", "t-p")]),
                   issue("t-p.2.1", "L kid", 6, dependencies=[child_of("t-p.2.1", "t-p.2")]),
                   issue("t-x", "L blocked", 7, dependencies=[child_of("t-x", "t-p.2", "blocks")])]
    right = base + [issue("t-p.2", "R", 4), issue("t-p.2.1", "R kid", 4.5), issue("t-p.5", "R5", 4)]
    renamed: dict[str, str] = {}
    merged, conflicts = merge3(base, left, right, now_ns=0, renamed=renamed)
    assert not conflicts
    assert renamed == {"t-p.2": "t-p.6", "t-p.2.1": "t-p.6.1"}
    got = {r["id"]: (r["title"], [(d["issue_id"], d["depends_on_id"]) for d in r.get("dependencies") or []])
           for r in merged}
    assert got == {
        "t-p": ("parent", []), "t-p.1": ("shared", []), "t-p.5": ("R5", []),
        "t-p.2": ("R", []), "t-p.2.1": ("R kid", []),
        "t-p.6": ("L", [("t-p.6", "t-p")]), "t-p.6.1": ("L kid", [("t-p.6.1", "t-p.6")]),
        "t-x": ("L blocked", [("t-x", "t-p.6")]),
    }
    # deterministic, and the inputs are untouched
    assert merge3(base, list(reversed(left)), right, now_ns=0)[0] == merged
    assert left[2]["id"] == "t-p.2" and left[4]["dependencies"][0]["depends_on_id"] == "t-p.2"
    # the same issue on both sides (same creation) is merged, not renamed
    same, _ = merge3([], [issue("t-p.2", "L", 5)], [rec("t-p.2", "R", created_at=ts(5), at=9)], now_ns=0)
    assert [r["id"] for r in same] == ["t-p.2"]


def test_merge3_gives_a_colliding_hash_id_a_deterministic_suffix() -> None:
    from beads.sync.merge import merge3

    left = [rec("t-abcd", "L", created_at=ts(1))]
    right = [rec("t-abcd", "R", created_at=ts(2))]
    renamed: dict[str, str] = {}
    merged, _ = merge3([], left, right, now_ns=0, renamed=renamed)
    new = renamed["t-abcd"]
    assert new.startswith("t-abcd") and len(new) > len("t-abcd")
    assert {r["id"]: r["title"] for r in merged} == {"t-abcd": "R", new: "L"}
    assert merge3([], left, right, now_ns=0)[0] == merged


def test_import_moves_a_local_issue_to_the_id_the_file_gives_it(tmp_path: Path) -> None:
    t = workspace(tmp_path)
    try:
        import_records(t, [rec("test-p")], mark_dirty=False)
        mine = t.create("mine", parent="test-p")
        assert mine["id"] == "test-p.1"
        kid = t.create("my kid", parent="test-p.1")
        mine = t.store.get_issue("test-p.1")
        assert mine is not None and kid["id"] == "test-p.1.1"
        kid_rec = dict(t.store.get_issue(kid["id"]) or {}, id="test-p.2.1")
        kid_rec.pop("_content_hash", None)
        moved = dict(mine, id="test-p.2")
        moved.pop("_content_hash", None)
        theirs = rec("test-p.1", "theirs", created_at=ts(-5))
        stats = import_records(t, [rec("test-p"), theirs, moved, kid_rec], mark_dirty=False)
        assert stats["renamed"] == {}  # the file already had it under its new id: not news
        titles = {i["id"]: i["title"] for i in t.store.all_issues()}
        assert titles == {"test-p": "title of test-p", "test-p.1": "theirs", "test-p.2": "mine",
                          "test-p.2.1": "my kid"}
        assert [(d["depends_on_id"], d["type"]) for d in t.store.dependencies_of("test-p.2.1")] == [
            ("test-p.2", "parent-child")]
        assert t.create("next", parent="test-p")["id"] == "test-p.3"
    finally:
        t.disconnect()


def test_import_never_overwrites_a_local_issue_with_another_under_its_id(tmp_path: Path) -> None:
    t = workspace(tmp_path)
    try:
        import_records(t, [rec("test-p"), rec("test-p.4", "four")], mark_dirty=False)
        mine = t.create("mine", parent="test-p")
        assert mine["id"] == "test-p.5"
        blocked = t.create("blocked by mine", dependencies=[("blocks", "test-p.5")])
        t.store.clear_dirty()
        stats = import_records(t, [rec("test-p"), rec("test-p.5", "theirs", created_at=ts(-5))], mark_dirty=False)
        assert stats["renamed"] == {"test-p.5": "test-p.6"}
        assert any("test-p.6" in w for w in stats["warnings"])
        titles = {i["id"]: i["title"] for i in t.store.all_issues()}
        assert titles["test-p.5"] == "theirs" and titles["test-p.6"] == "mine"
        assert "test-p.6" in t.store.dirty_ids()
        assert [(d["depends_on_id"], d["type"]) for d in t.store.dependencies_of(blocked["id"])] == [
            ("test-p.6", "blocks")]
        assert t.create("next", parent="test-p")["id"] == "test-p.7"
    finally:
        t.disconnect()


def test_merge3_follows_right_when_it_already_moved_the_left_issue() -> None:
    """`git merge feature` on a shared branch renames ours; a clone still holding ours at the old id
    must then follow it to where the merged branch put it, not mint a third id (a duplicate)."""
    from beads.sync.merge import merge3

    parent = rec("t-p", "parent")
    ours = rec("t-p.1", "X", created_at=ts(1))
    theirs = rec("t-p.1", "Y", created_at=ts(2))
    base = [parent, ours]
    renamed: dict[str, str] = {}
    merged, _ = merge3(base, base, [parent, theirs, dict(ours, id="t-p.2")], now_ns=0, renamed=renamed)
    assert renamed == {"t-p.1": "t-p.2"}
    assert [(r["id"], r["title"]) for r in merged] == [("t-p", "parent"), ("t-p.1", "Y"), ("t-p.2", "X")]
