"""`bd sync --status | --merge | --from-main | --squash | --check`, text and --json, with real git
(a bare remote, clones) and the installed `bd`. The sync branch is made with plain git here."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from jsonl_helpers import dep, jsonl_text, rec
from sync_helpers import BD_DIR, bd_ok, git, jsonl_records, run_bd

SB = "beads-sync"
JSONL = ".beads/issues.jsonl"
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))
    for var in ("BEADS_SYNC_BRANCH", "BD_SYNC_BRANCH", "BD_SYNC_REMOTE"):
        monkeypatch.delenv(var, raising=False)


def create(cwd: Path, title: str, *extra: str) -> str:
    return bd_ok("create", title, "--silent", *extra, cwd=cwd).stdout.strip()


def project(tmp_path: Path) -> tuple[Path, Path]:
    """A bare remote and clone A with bd initialised, committed and pushed to main."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    a = tmp_path / "a"
    git(tmp_path, "clone", "-q", str(remote), str(a))
    bd_ok("init", "--prefix", "proj", "--quiet", cwd=a)
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "add beads")
    git(a, "push", "-q", "-u", "origin", "main")
    return remote, a


def commit_on_branch(clone: Path, branch: str, files: dict[str, bytes], *, push: bool = True) -> str:
    """Commit ``files`` on ``branch`` through a throw-away worktree (the clone's own tree is untouched),
    as plain git: no hooks."""
    wt = clone.parent / f"wt-{branch}"
    exists = git(clone, "rev-parse", "-q", "--verify", f"refs/heads/{branch}", check=False).returncode == 0
    git(clone, *NO_HOOKS, "worktree", "add", "-q", *([str(wt), branch] if exists else ["-b", branch, str(wt), "HEAD"]))
    for rel, data in files.items():
        (wt / rel).parent.mkdir(parents=True, exist_ok=True)
        (wt / rel).write_bytes(data)
    git(wt, "add", *files)
    git(wt, *NO_HOOKS, "commit", "-q", "-m", "bd sync: test")
    head = git(wt, "rev-parse", "HEAD").stdout.strip()
    git(clone, "worktree", "remove", "--force", str(wt))
    if push:
        git(clone, "push", "-q", "--no-verify", "origin", branch)  # as bd sync pushes it (its hooks stand aside)
    return head


def synced_clone(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Clone A in sync-branch mode as a sync leaves it: issues in the database and the working JSONL,
    the same JSONL on the sync branch (local and remote), the working branch's copy older."""
    remote, a = project(tmp_path)
    bd_ok("config", "set", "sync.branch", SB, cwd=a)
    ids = [create(a, "first"), create(a, "second", "-p", "1")]
    theirs = tmp_path / "theirs.jsonl"
    theirs.write_text(jsonl_text(rec("proj-zz9", "from another clone")), encoding="utf-8")
    bd_ok("import", "-i", str(theirs), cwd=a)
    commit_on_branch(a, SB, {JSONL: (a / JSONL).read_bytes()})
    return remote, a, ids + ["proj-zz9"]


def head(cwd: Path, rev: str = "HEAD") -> str:
    return git(cwd, "rev-parse", rev).stdout.strip()


def refs(cwd: Path) -> str:
    return git(cwd, "for-each-ref", "--format=%(refname) %(objectname)").stdout


def db_dump(clone: Path) -> list[str]:
    conn = sqlite3.connect(clone / ".beads" / "beads.db")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def fail(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a bd that must fail: exit 1, one error line; with --json also {"error": ...}; the message."""
    proc = run_bd(*args, cwd=cwd, env=env)
    assert proc.returncode == 1, proc
    assert proc.stderr.count("Error:") == 1, proc.stderr
    jproc = run_bd(*args, "--json", cwd=cwd, env=env)
    assert jproc.returncode == 1
    assert set(json.loads(jproc.stdout)) == {"error"}
    return proc.stderr.splitlines()[0]


# -- --merge --------------------------------------------------------------------------------------------


def test_merge_commits_the_sync_branch_jsonl_on_the_working_branch_as_one_commit(tmp_path: Path) -> None:
    remote, a, ids = synced_clone(tmp_path)
    log = b'{"kind":"llm_call","id":"int-1"}\n'
    (a / ".beads" / "interactions.jsonl").write_bytes(log)
    commit_on_branch(a, SB, {".beads/interactions.jsonl": log})
    (a / "staged.txt").write_text("staged work\n")
    git(a, "add", "staged.txt")
    (a / "README").write_text("unstaged work\n")
    before = head(a)
    report = json.loads(bd_ok("sync", "--merge", "--json", cwd=a).stdout)
    assert report["mode"] == "merge" and report["sync_branch"] == SB and report["branch"] == "main"
    assert set(report["issues"]["added"]) == set(ids) and report["commit"] == head(a)
    assert git(a, "rev-list", "--count", f"{before}..HEAD").stdout.strip() == "1"
    assert git(a, "rev-parse", "HEAD^").stdout.strip() == before
    assert git(a, "show", f"HEAD:{JSONL}").stdout == git(a, "show", f"{SB}:{JSONL}").stdout
    assert git(a, "show", "--name-only", "--format=", "HEAD").stdout.split() == [".beads/interactions.jsonl", JSONL]
    assert git(a, "show", "HEAD:.beads/interactions.jsonl").stdout.encode() == log
    assert git(a, "diff", "--cached", "--name-only").stdout.split() == ["staged.txt"]  # still staged, not committed
    assert (a / "README").read_text() == "unstaged work\n"
    assert not git(a, "status", "--porcelain", JSONL).stdout.strip()
    assert head(remote, "main") == before  # nothing pushed
    again = json.loads(bd_ok("sync", "--merge", "--json", cwd=a).stdout)
    assert again["commit"] is None and head(a) == report["commit"]


def test_merge_imports_the_sync_branch_issues_into_a_fresh_clone(tmp_path: Path) -> None:
    remote, a, ids = synced_clone(tmp_path)
    c = tmp_path / "c"
    git(tmp_path, "clone", "-q", str(remote), str(c))
    bd_ok("init", "--quiet", cwd=c)
    env = {"BEADS_SYNC_BRANCH": SB}  # the remote-tracking copy: c has no local sync branch
    proc = bd_ok("sync", "--merge", cwd=c, env=env)
    assert f"✓ Committed the issues of '{SB}' on 'main'" in proc.stdout
    assert git(c, "show", f"HEAD:{JSONL}").stdout == git(c, "show", f"origin/{SB}:{JSONL}").stdout
    listed = json.loads(bd_ok("list", "--all", "--json", cwd=c).stdout)
    assert set(ids) <= {i["id"] for i in listed}


def test_merge_dry_run_shows_the_changes_and_changes_nothing(tmp_path: Path) -> None:
    _, a, ids = synced_clone(tmp_path)
    before, data, state = head(a), (a / JSONL).read_bytes(), refs(a)
    report = json.loads(bd_ok("sync", "--merge", "--dry-run", "--json", cwd=a).stdout)
    assert report["dry_run"] is True and report["commit"] is None and report["would_commit"] == [JSONL]
    assert set(report["issues"]["added"]) == set(ids)
    text = bd_ok("sync", "--merge", "--dry-run", cwd=a)
    assert "3 added, 0 changed, 0 removed" in text.stdout and "Dry run" in text.stdout
    assert (head(a), (a / JSONL).read_bytes(), refs(a)) == (before, data, state)


def test_merge_refuses_without_a_sync_branch_on_it_detached_or_with_unsynced_changes(tmp_path: Path) -> None:
    _, a, _ = synced_clone(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    _, p = project(plain)
    assert "needs a sync branch, and none is configured" in fail("sync", "--merge", cwd=p)
    log = a / ".beads" / "interactions.jsonl"
    log.write_bytes(b'{"kind":"llm_call","id":"int-2"}\n')
    assert "interactions.jsonl has lines the sync branch 'beads-sync' lacks" in fail("sync", "--merge", cwd=a)
    log.write_bytes(b"")
    new = create(a, "not synced yet")
    before = head(a)
    line = fail("sync", "--merge", cwd=a)
    assert f"1 issue(s) in the issues file are not on the sync branch 'beads-sync' yet ({new})" in line
    create(a, "held back", "--no-auto-flush")
    assert "1 issue change(s) are not exported yet" in fail("sync", "--merge", cwd=a)
    assert head(a) == before
    git(a, "checkout", "-q", "--detach")
    assert "HEAD is detached" in fail("sync", "--merge", cwd=a)


def test_merge_refuses_on_the_sync_branch_itself_and_during_a_merge(tmp_path: Path) -> None:
    _, a, _ = synced_clone(tmp_path)
    git(a, "stash", "-q", "-u")
    git(a, "checkout", "-q", SB)
    env = {"BEADS_SYNC_BRANCH": SB}  # config.yaml's setting is in the stash
    assert f"you are on the sync branch '{SB}' itself" in fail("sync", "--merge", cwd=a, env=env)
    git(a, "checkout", "-q", "main")
    commit_on_branch(a, "topic", {"topic.txt": b"x\n"}, push=False)
    git(a, "merge", "-q", "--no-commit", "--no-ff", "topic")
    assert "a git merge is in progress" in fail("sync", "--merge", cwd=a, env=env)


# -- --status -------------------------------------------------------------------------------------------


def test_status_in_sync_branch_mode_compares_the_branches_and_changes_nothing(tmp_path: Path) -> None:
    _, a, ids = synced_clone(tmp_path)
    commit_on_branch(a, SB, {JSONL: (a / JSONL).read_bytes() + jsonl_text(rec("proj-zzz")).encode()}, push=False)
    before, data, state = head(a), (a / JSONL).read_bytes(), refs(a)
    report = json.loads(bd_ok("sync", "--status", "--json", cwd=a).stdout)
    assert report["mode"] == "sync-branch" and report["branch"] == "main" and report["target"] == SB
    assert report["commits"] == {"ahead": 0, "behind": 2}
    assert sorted(report["issues"]["added"]) == sorted(ids + ["proj-zzz"])
    sb = report["sync_branch"]
    assert sb["exists"] and sb["remote_exists"] and (sb["ahead"], sb["behind"]) == (1, 0)
    assert sb["issues"] == {"local_only": ["proj-zzz"], "remote_only": []}
    assert report["local"] == {"unexported": 0, "jsonl_unimported": False, "uncommitted": True}
    text = bd_ok("sync", "--status", cwd=a)
    assert f"Sync branch: {SB}" in text.stdout and "1 ahead, 0 behind" in text.stdout
    assert "issue versions only here: proj-zzz" in text.stdout
    assert "bd sync --merge" in text.stderr
    assert (head(a), (a / JSONL).read_bytes(), refs(a)) == (before, data, state)


def test_status_in_normal_mode_compares_with_the_upstream(tmp_path: Path) -> None:
    remote, a = project(tmp_path)
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(b))
    bd_ok("init", "--quiet", cwd=b)
    theirs = create(b, "from b")
    bd_ok("sync", cwd=b)
    git(a, "fetch", "-q")
    create(a, "held back", "--no-auto-flush")
    report = json.loads(bd_ok("sync", "--status", "--json", cwd=a).stdout)
    assert report["mode"] == "normal" and report["target"] == "origin/main" and "sync_branch" not in report
    assert report["commits"] == {"ahead": 0, "behind": 1}
    assert report["issues"]["added"] == [theirs]
    assert report["local"]["unexported"] == 1
    text = bd_ok("sync", "--status", cwd=a).stdout
    assert "Upstream: origin/main" in text and "0 ahead, 1 behind" in text and "1 issue change(s)" in text


# -- --from-main ----------------------------------------------------------------------------------------


def feature_clone(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """Remote, A (pushes main), C on a branch without an upstream holding a local issue."""
    remote, a = project(tmp_path)
    shared = create(a, "shared")
    bd_ok("sync", cwd=a)
    c = tmp_path / "c"
    git(tmp_path, "clone", "-q", str(remote), str(c))
    bd_ok("init", "--quiet", cwd=c)
    git(c, "checkout", "-q", "-b", "feature")
    local = create(c, "only on the feature branch")
    git(c, "add", "-A")
    git(c, "commit", "-q", "-m", "feature work")
    bd_ok("update", shared, "--title", "shared, renamed on main", cwd=a)
    bd_ok("sync", cwd=a)
    return remote, a, c, local


def test_from_main_imports_the_default_branch_and_never_commits_pushes_or_deletes(tmp_path: Path) -> None:
    remote, a, c, local = feature_clone(tmp_path)
    new = create(a, "new on main")
    bd_ok("sync", cwd=a)
    remote_refs, before = refs(remote), head(c)
    report = json.loads(bd_ok("sync", "--from-main", "--json", cwd=c).stdout)
    assert report["mode"] == "from-main" and report["source"] == "origin/main" and report["fetched"] is True
    assert report["imported"]["created"] == 1 and report["imported"]["updated"] == 1
    assert report["committed"] is None and report["pushed"] is False and report["exported"] is True
    assert head(c) == before and refs(remote) == remote_refs
    records = {r["id"]: r for r in jsonl_records(c / JSONL)}
    assert local in records and new in records
    assert any(r["title"] == "shared, renamed on main" for r in records.values())
    listed = {i["id"] for i in json.loads(bd_ok("list", "--json", cwd=c).stdout)}
    assert {local, new} <= listed


def test_from_main_dry_run_changes_nothing_and_text_mode_says_what_it_did(tmp_path: Path) -> None:
    _, _, c, _ = feature_clone(tmp_path)
    git(c, "fetch", "-q")
    data, state = (c / JSONL).read_bytes(), refs(c)
    report = json.loads(bd_ok("sync", "--from-main", "--dry-run", "--json", cwd=c).stdout)
    assert report["dry_run"] is True and report["issues"]["changed"] and report["imported"] is None
    assert (c / JSONL).read_bytes() == data and refs(c) == state
    proc = bd_ok("sync", "--from-main", cwd=c)
    assert "✓ Imported from origin/main: 0 created, 1 updated (nothing committed or pushed)" in proc.stdout


def test_plain_sync_without_an_upstream_imports_from_main_then_commits_locally(tmp_path: Path) -> None:
    remote, _, c, local = feature_clone(tmp_path)
    remote_refs, before = refs(remote), head(c)
    proc = bd_ok("sync", cwd=c)
    assert "No upstream configured: importing from the remote's default branch" in proc.stderr
    assert "committed locally" in proc.stderr
    assert git(c, "rev-list", "--count", f"{before}..HEAD").stdout.strip() == "1" and refs(remote) == remote_refs
    committed = {r["id"]: r for r in (json.loads(line) for line in git(c, "show", f"HEAD:{JSONL}").stdout.splitlines())}
    assert local in committed and any(r["title"] == "shared, renamed on main" for r in committed.values())
    report = json.loads(bd_ok("sync", "--json", cwd=c).stdout)
    assert report["from_main"]["mode"] == "from-main" and report["remote"] is None


# -- --squash -------------------------------------------------------------------------------------------


def test_squash_exports_without_committing(tmp_path: Path) -> None:
    _, a = project(tmp_path)
    issue = create(a, "accumulated", "--no-auto-flush")
    before = head(a)
    proc = bd_ok("sync", "--squash", cwd=a)
    assert "✓ Changes accumulated in the JSONL (not committed)" in proc.stdout
    assert "Run 'bd sync' (without --squash)" in proc.stderr
    assert issue in {r["id"] for r in jsonl_records(a / JSONL)} and head(a) == before
    create(a, "another", "--no-auto-flush")
    report = json.loads(bd_ok("sync", "--squash", "--json", cwd=a).stdout)
    assert report["mode"] == "squash" and report["exported"] is True and report["committed"] is None
    assert head(a) == before and git(a, "status", "--porcelain", JSONL).stdout.strip()


# -- --check --------------------------------------------------------------------------------------------


def test_check_passes_on_a_clean_workspace(tmp_path: Path) -> None:
    _, a = project(tmp_path)
    first = create(a, "first")
    bd_ok("dep", "add", create(a, "second"), first, cwd=a)
    report = json.loads(bd_ok("sync", "--check", "--json", cwd=a).stdout)
    assert report == {"ok": True, "problems": [], "checked": [JSONL, "database"]}
    assert "✓ No problems found" in bd_ok("sync", "--check", cwd=a).stdout


def test_check_lists_every_problem_exits_1_and_changes_nothing(tmp_path: Path) -> None:
    _, a = project(tmp_path)
    create(a, "real")
    text = (jsonl_text(rec("proj-a1"), rec("proj-b2", dependencies=[dep("proj-b2", "proj-gone")]))
            + jsonl_text(rec("proj-a1", "again"))
            + '{"id": 5}\n<<<<<<< HEAD\n')
    (a / JSONL).write_text(text, encoding="utf-8")
    with sqlite3.connect(a / ".beads" / "beads.db") as conn:
        issue = conn.execute("SELECT id FROM issues").fetchone()[0]
        conn.execute("INSERT INTO dependencies (issue_id, depends_on_id, type, created_at, created_by) "
                     "VALUES (?, 'proj-nowhere', 'blocks', '2025-01-01T00:00:00Z', 'tester')", (issue,))
    db_before = db_dump(a)
    proc = run_bd("sync", "--check", "--json", cwd=a)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    kinds = {(p["kind"], p["where"]) for p in report["problems"]}
    assert kinds == {("duplicate_id", JSONL), ("invalid_record", JSONL), ("conflict_marker", JSONL),
                     ("orphaned_dependency", JSONL), ("orphaned_dependency", "database")}
    orphan = next(p for p in report["problems"] if p["where"] == JSONL and p["kind"] == "orphaned_dependency")
    assert (orphan["issue"], orphan["depends_on"]) == ("proj-b2", "proj-gone")
    proc = run_bd("sync", "--check", cwd=a)
    assert proc.returncode == 1 and "✗ 5 problem(s) found" in proc.stdout
    assert f"{JSONL}:3: duplicate id proj-a1" in proc.stdout and "database: " in proc.stdout
    assert (a / JSONL).read_text(encoding="utf-8") == text
    assert db_dump(a) == db_before


def test_check_reads_the_sync_branch_copy_too(tmp_path: Path) -> None:
    _, a, _ = synced_clone(tmp_path)
    commit_on_branch(a, SB, {JSONL: (a / JSONL).read_bytes() + b'{"id": "proj-x", not json\n'})
    proc = run_bd("sync", "--check", "--json", cwd=a)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["checked"] == [JSONL, f"{SB}:{JSONL}", "database"]
    assert [p["where"] for p in report["problems"]] == [f"{SB}:{JSONL}"]


# -- flags ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [("--merge", "--squash"), ("--status", "--from-main"), ("--check", "--flush-only")])
def test_modes_that_cannot_go_together_give_one_error_line(tmp_path: Path, flags: tuple[str, str]) -> None:
    _, a = project(tmp_path)
    line = fail("sync", *flags, cwd=a)
    assert line == f"Error: {flags[0]} and {flags[1]} cannot be used together"


def test_read_only_modes_run_in_readonly_mode_and_writing_ones_do_not(tmp_path: Path) -> None:
    _, a = project(tmp_path)
    bd_ok("sync", "--status", "--readonly", cwd=a)
    bd_ok("sync", "--check", "--readonly", cwd=a)
    assert "not allowed in read-only mode" in fail("sync", "--squash", "--readonly", cwd=a)


def test_merge_leaves_an_interrupted_sync_merge_to_bd_sync(tmp_path: Path) -> None:
    _, a, _ = synced_clone(tmp_path)
    lock = Path(git(a, "rev-parse", "--git-path", "bd-sync.lock").stdout.strip())
    lock = lock if lock.is_absolute() else a / lock
    record = {"pid": 1, "step": "merging", "orig": head(a), "target": head(a, SB)}
    lock.write_text(json.dumps(record))
    before = head(a)
    line = fail("sync", "--merge", cwd=a)
    assert "an interrupted bd sync left a merge to finish" in line
    assert json.loads(lock.read_text()) == record and head(a) == before
    lock.write_text("")
    bd_ok("sync", "--merge", cwd=a)
    assert head(a, "HEAD^") == before


def test_issue_diffs_match_a_line_by_line_oracle_on_random_copies() -> None:
    """``--status``/``--merge`` set shared lines aside before reading IDs: same answers as comparing
    every issue's line, on random edits (changed, added, dropped, CRLF, blank and junk lines)."""
    import random

    from beads.sync.syncmodes import diff_issues, differing_lines, issue_lines

    def oracle(old: bytes, new: bytes) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        a, b = issue_lines(old), issue_lines(new)
        diff = {"added": sorted(b.keys() - a.keys()), "changed": sorted(i for i in a.keys() & b.keys() if a[i] != b[i]),
                "removed": sorted(a.keys() - b.keys())}
        sides = {"local_only": sorted(i for i, line in a.items() if b.get(i) != line),
                 "remote_only": sorted(i for i, line in b.items() if a.get(i) != line)}
        return diff, sides

    rng = random.Random(11)
    for _ in range(200):
        base = {f"t-{n}": json.dumps({"id": f"t-{n}", "title": f"v{rng.randrange(3)}"}) for n in range(rng.randrange(30))}
        other = dict(base)
        for key in list(other):
            roll = rng.random()
            if roll < 0.2:
                del other[key]
            elif roll < 0.4:
                other[key] = json.dumps({"id": key, "title": "edited"})
        for n in range(rng.randrange(4)):
            other[f"t-new{n}"] = json.dumps({"id": f"t-new{n}", "title": "new"})
        old = "\n".join(base.values()).encode() + b"\n"
        new = ("\r\n" if rng.random() < 0.2 else "\n").join([*other.values(), "", "not json"]).encode()
        assert (diff_issues(old, new), differing_lines(old, new)) == oracle(old, new)
