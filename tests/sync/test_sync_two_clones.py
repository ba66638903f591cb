"""`bd sync` between two clones of one bare remote, with real git and the installed `bd`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sync_helpers import BD_DIR, bd_ok, git, jsonl_records, run_bd

import beads


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks and the merge driver call `bd` by name, as they would for a user."""
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))


def create(cwd: Path, title: str, *extra: str) -> str:
    return bd_ok("create", title, "--silent", *extra, cwd=cwd).stdout.strip()


def make_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    return remote


def clone(remote: Path, dest: Path) -> Path:
    git(remote.parent, "clone", "-q", str(remote), str(dest))
    return dest


def first_clone(tmp_path: Path) -> tuple[Path, Path]:
    """A remote and clone A with bd initialised and pushed (as a project would set it up)."""
    remote = make_remote(tmp_path)
    a = clone(remote, tmp_path / "a")
    bd_ok("init", "--prefix", "proj", "--quiet", cwd=a)
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "add beads")
    git(a, "push", "-q", "-u", "origin", "main")
    return remote, a


def db_state(clone_dir: Path) -> dict[str, dict]:
    """Everything the database holds per issue, as comparable plain data."""
    tracker = beads.open(str(clone_dir / ".beads"))
    try:
        store = tracker.store
        out = {}
        for issue in store.all_issues():
            issue_id = issue["id"]
            out[issue_id] = {
                "title": issue["title"], "status": issue["status"], "priority": issue["priority"],
                "notes": issue.get("notes") or "", "labels": sorted(store.labels_of(issue_id)),
                "comments": sorted((c["author"], c["text"]) for c in store.comments_of(issue_id)),
                "deps": sorted((d["depends_on_id"], d["type"]) for d in store.dependencies_of(issue_id)),
            }
        return out
    finally:
        tracker.disconnect()


def sync(cwd: Path, *args: str) -> dict:
    return json.loads(bd_ok("sync", "--json", *args, cwd=cwd).stdout)


def sync_until_quiet(*clones: Path, rounds: int = 4) -> None:
    """Sync each clone in turn until a full round commits, pulls in and pushes nothing."""
    heads = None
    for _ in range(rounds):
        for c in clones:
            sync(c)
        now = [git(c, "rev-parse", "HEAD").stdout for c in clones]
        if now == heads and len(set(now)) == 1:
            return
        heads = now
    raise AssertionError(f"clones did not converge in {rounds} rounds")


def test_second_clone_init_imports_the_issues_already_in_git(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    first = create(a, "First issue", "-p", "1", "-l", "backend")
    sync(a)
    b = clone(remote, tmp_path / "b")
    result = json.loads(bd_ok("init", "--json", cwd=b).stdout)
    assert result["prefix"] == "proj"
    assert result["imported"]["created"] == 1
    assert result["merge_driver"] is True and "pre-commit" in result["hooks_installed"]
    assert db_state(b)[first]["labels"] == ["backend"]


def test_concurrent_work_on_both_clones_converges_without_losing_anything(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    shared = create(a, "Shared issue", "-l", "old", "-l", "keep")
    to_close = create(a, "Closed on A, noted on B")
    to_delete = create(a, "Deleted on A, edited on B")
    linked = create(a, "Labelled on B, linked on A")
    sync(a)
    b = clone(remote, tmp_path / "b")
    bd_ok("init", "--quiet", cwd=b)
    assert set(db_state(b)) == {shared, to_close, to_delete, linked}

    # Clone A
    a_new = create(a, "Created on A")
    bd_ok("update", shared, "--title", "Shared issue (renamed on A)", "--add-label", "from-a", cwd=a)
    bd_ok("comment", shared, "comment from A", cwd=a)
    bd_ok("close", to_close, "--reason", "done on A", cwd=a)
    bd_ok("delete", to_delete, "--force", cwd=a)
    bd_ok("dep", "add", linked, shared, cwd=a)
    # Clone B, the same issues at the same time
    b_new = create(b, "Created on B", "-t", "bug")
    bd_ok("update", shared, "--priority", "0", "--add-label", "from-b", "--remove-label", "old", cwd=b)
    bd_ok("comment", shared, "comment from B", cwd=b)
    bd_ok("update", to_close, "--notes", "note from B", cwd=b)
    bd_ok("update", to_delete, "--title", "edited after the delete", cwd=b)
    bd_ok("label", "add", linked, "urgent", cwd=b)

    sync_until_quiet(a, b)

    state_a, state_b = db_state(a), db_state(b)
    assert state_a == state_b
    assert set(state_a) == {shared, to_close, to_delete, linked, a_new, b_new}
    s = state_a[shared]
    assert (s["title"], s["priority"]) == ("Shared issue (renamed on A)", 0)
    assert s["labels"] == ["from-a", "from-b", "keep"]  # "old" was removed on B
    assert s["comments"] == [("tester", "comment from A"), ("tester", "comment from B")]
    assert (state_a[to_close]["status"], state_a[to_close]["notes"]) == ("closed", "note from B")
    assert state_a[to_delete]["status"] == "tombstone"
    assert state_a[linked]["labels"] == ["urgent"]
    assert state_a[linked]["deps"] == [(shared, "blocks")]

    file_a = (a / ".beads" / "issues.jsonl").read_bytes()
    assert file_a == (b / ".beads" / "issues.jsonl").read_bytes()
    assert {r["id"] for r in jsonl_records(a / ".beads" / "issues.jsonl")} == set(state_a)
    assert file_a == git(a, "show", "origin/main:.beads/issues.jsonl").stdout.encode()
    for c in (a, b):
        assert not git(c, "status", "--porcelain").stdout.strip()


def test_a_conflict_resolves_even_without_the_merge_driver_registered(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    issue = create(a, "Edited on both sides")
    sync(a)
    b = clone(remote, tmp_path / "b")
    bd_ok("init", "--quiet", "--skip-merge-driver", cwd=b)
    git(b, "config", "--unset", "merge.beads.driver", check=False)
    bd_ok("update", issue, "--title", "title from A", cwd=a)
    bd_ok("update", issue, "--assignee", "bob", cwd=b)
    sync(a)
    report = sync(b)
    assert report["merge_resolved"] is True
    sync_until_quiet(a, b)
    tracker = beads.open(str(b / ".beads"))
    try:
        merged = tracker.store.get_issue(issue)
    finally:
        tracker.disconnect()
    assert (merged["title"], merged["assignee"]) == ("title from A", "bob")
    assert (a / ".beads/issues.jsonl").read_bytes() == (b / ".beads/issues.jsonl").read_bytes()


def test_without_a_remote_sync_commits_locally_and_succeeds(repo: Path) -> None:
    bd_ok("init", "--prefix", "solo", "--quiet", cwd=repo)
    create(repo, "Local only")
    report = sync(repo)
    assert report["committed"] and not report["pulled"] and not report["pushed"]
    assert git(repo, "log", "-1", "--format=%s").stdout.startswith("bd sync: ")
    files = git(repo, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert ".beads/issues.jsonl" in files
    assert all(f.startswith(".beads/") for f in files)
    assert sync(repo)["committed"] is None  # nothing changed: no empty commit


def test_sync_commits_only_the_beads_files(repo: Path) -> None:
    bd_ok("init", "--prefix", "solo", "--quiet", cwd=repo)
    (repo / "staged.txt").write_text("user work\n")
    git(repo, "add", "staged.txt")
    create(repo, "An issue")
    sync(repo, "-m", "custom message")
    assert git(repo, "log", "-1", "--format=%s").stdout.strip() == "custom message"
    assert "staged.txt" not in git(repo, "show", "--name-only", "--format=", "HEAD").stdout
    assert git(repo, "diff", "--cached", "--name-only").stdout.split() == ["staged.txt"]


def test_a_rejected_push_exits_1_with_a_clear_message_and_a_consistent_database(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'remote says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    issue = create(a, "Cannot be pushed")
    proc = run_bd("sync", cwd=a)
    assert proc.returncode == 1
    assert "git push failed" in proc.stderr and "run 'bd sync' again" in proc.stderr
    assert proc.stderr.count("Error:") == 1
    assert issue in {r["id"] for r in jsonl_records(a / ".beads" / "issues.jsonl")}
    assert issue in db_state(a)
    assert not git(a, "status", "--porcelain", ".beads").stdout.strip()  # committed locally
    hook.unlink()
    assert sync(a)["pushed"] is True


def test_a_non_fast_forward_push_without_pull_fails_then_a_full_sync_recovers(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    b = clone(remote, tmp_path / "b")
    bd_ok("init", "--quiet", cwd=b)
    from_a = create(a, "From A")
    sync(a)
    from_b = create(b, "From B")
    proc = run_bd("sync", "--no-pull", cwd=b)
    assert proc.returncode == 1 and "git push failed" in proc.stderr
    assert from_b in {r["id"] for r in jsonl_records(b / ".beads" / "issues.jsonl")}
    sync(b)
    assert {from_a, from_b} <= set(db_state(b))


def test_a_failed_pull_exits_1_and_keeps_the_local_commit(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    issue = create(a, "Made offline")
    remote.rename(tmp_path / "moved.git")
    proc = run_bd("sync", cwd=a)
    assert proc.returncode == 1
    assert "git pull failed" in proc.stderr
    assert issue in git(a, "show", "HEAD:.beads/issues.jsonl").stdout
    assert issue in db_state(a)


def test_a_pull_conflict_in_other_files_stops_after_merging_and_importing_the_issues(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    b = clone(remote, tmp_path / "b")
    bd_ok("init", "--quiet", cwd=b)
    for c, text in ((a, "a\n"), (b, "b\n")):
        (c / "code.txt").write_text(text)
        git(c, "add", "code.txt")
        git(c, "commit", "-q", "-m", "code")
    from_a = create(a, "From A")
    sync(a)
    create(b, "From B")
    proc = run_bd("sync", cwd=b)
    assert proc.returncode == 1
    assert "code.txt" in proc.stderr
    assert from_a in db_state(b)  # the pulled issues are in the database already
    assert ".beads/issues.jsonl" not in git(b, "diff", "--name-only", "--diff-filter=U").stdout
    (b / "code.txt").write_text("ab\n")
    git(b, "add", "code.txt")
    git(b, "commit", "-q", "--no-edit")
    sync_until_quiet(a, b)


def test_sync_refuses_to_start_in_the_middle_of_a_merge(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    git(a, "checkout", "-q", "-b", "side")
    (a / "f.txt").write_text("side\n")
    git(a, "add", "f.txt")
    git(a, "commit", "-q", "-m", "side")
    git(a, "checkout", "-q", "main")
    (a / "f.txt").write_text("main\n")
    git(a, "add", "f.txt")
    git(a, "commit", "-q", "-m", "main")
    git(a, "merge", "side", check=False)
    proc = run_bd("sync", cwd=a)
    assert proc.returncode == 1
    assert "merge is in progress" in proc.stderr and "f.txt" in proc.stderr


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    bd_ok("create", "Pending", "--no-auto-flush", cwd=a)
    head = git(a, "rev-parse", "HEAD").stdout
    before = (a / ".beads" / "issues.jsonl").read_bytes() if (a / ".beads" / "issues.jsonl").exists() else b""
    report = sync(a, "--dry-run")
    assert report["dry_run"] is True and report["would_export"] == 1
    assert git(a, "rev-parse", "HEAD").stdout == head
    after = (a / ".beads" / "issues.jsonl").read_bytes() if (a / ".beads" / "issues.jsonl").exists() else b""
    assert after == before


def test_flush_only_writes_the_jsonl_without_touching_git(repo: Path) -> None:
    bd_ok("init", "--prefix", "solo", "--quiet", cwd=repo)
    issue = bd_ok("create", "Unflushed", "--silent", "--no-auto-flush", cwd=repo).stdout.strip()
    head = git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False).stdout
    bd_ok("sync", "--flush-only", cwd=repo)
    assert issue in (repo / ".beads" / "issues.jsonl").read_text()
    assert git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False).stdout == head


def test_import_only_brings_in_a_pulled_file(tmp_path: Path) -> None:
    remote, a = first_clone(tmp_path)
    b = clone(remote, tmp_path / "b")
    bd_ok("init", "--quiet", "--skip-hooks", cwd=b)
    issue = create(a, "Arrives by git pull")
    sync(a)
    git(b, "pull", "-q")
    bd_ok("--no-auto-import", "sync", "--import-only", cwd=b)
    assert issue in db_state(b)


def test_sync_outside_a_git_repository_says_so(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    bd_ok("init", "--prefix", "p", "--quiet", cwd=plain)
    proc = run_bd("sync", cwd=plain)
    assert proc.returncode == 1
    assert "not a git repository" in proc.stderr


def test_the_first_sync_from_a_clone_of_an_empty_remote_publishes_the_branch(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    a = clone(remote, tmp_path / "a")
    bd_ok("init", "--prefix", "proj", "--quiet", cwd=a)
    issue = create(a, "The very first issue")
    report = sync(a)
    assert report["pushed"] is True
    assert issue in git(a, "show", "origin/main:.beads/issues.jsonl").stdout
