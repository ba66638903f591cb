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
        # The file (another clone's numbering): test-1 has a different comment #1 (taken here,
        # so it gets the next number, 2), and test-2 has comment #2 (free here, so it is kept).
        stats = import_records(t, [
            rec("test-1", comments=[{"id": 1, "issue_id": "test-1", "author": "bob", "text": "theirs",
                                     "created_at": ts(1)}]),
            rec("test-2", comments=[{"id": 2, "issue_id": "test-2", "author": "bob", "text": "other",
                                     "created_at": ts(2)}]),
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
