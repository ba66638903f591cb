"""Sync-branch mode: `bd sync` carries the issues on their own branch and never touches the user's.

Real git, a bare remote whose `main` refuses every push (a pre-receive hook, as a protected
branch would), clones set up with `bd init --branch beads-sync`, the installed `bd`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from sync_helpers import BD_DIR, bd_ok, git, jsonl_records, run_bd
from test_sync_two_clones import db_state

BRANCH = "beads-sync"
PROTECT_MAIN = """#!/bin/sh
# main is protected: changes arrive by pull request only
while read old new ref; do
    if [ "$ref" = refs/heads/main ]; then echo "main is protected"; exit 1; fi
done
exit 0
"""
REFUSE_ALL = """#!/bin/sh
echo "this remote takes no pushes today"; exit 1
"""


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks call `bd` by name, as they would for a user."""
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))


def hook(remote: Path, text: str) -> None:
    path = remote / "hooks" / "pre-receive"
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def protected_remote(tmp: Path) -> tuple[Path, Path]:
    """A bare remote whose main holds a project set up with `bd init --branch` and then refuses
    pushes; returns (remote, the clone that set it up)."""
    remote = tmp / "remote.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(remote))
    a = tmp / "a"
    git(tmp, "clone", "-q", str(remote), str(a))
    (a / "code.txt").write_text("code\n")
    bd_ok("init", "--prefix", "proj", "--branch", BRANCH, "--quiet", cwd=a)
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "project with beads")
    git(a, "push", "-q", "-u", "origin", "main")
    hook(remote, PROTECT_MAIN)
    return remote, a


def second_clone(remote: Path, dest: Path) -> Path:
    git(remote.parent, "clone", "-q", str(remote), str(dest))
    bd_ok("init", "--quiet", cwd=dest)
    return dest


def create(cwd: Path, title: str, *extra: str) -> str:
    return bd_ok("create", title, "--silent", *extra, cwd=cwd).stdout.strip()


def sync(cwd: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    return json.loads(bd_ok("sync", "--json", *extra, cwd=cwd, env=env).stdout)


def rev(cwd: Path, ref: str) -> str:
    return git(cwd, "rev-parse", ref).stdout.strip()


def branch_file(repo: Path, ref: str = BRANCH) -> str:
    return git(repo, "show", f"{ref}:.beads/issues.jsonl").stdout


def worktree(clone: Path) -> Path:
    return clone / ".git" / "beads-worktrees" / BRANCH


class Untouched:
    """What a clone's own branch looked like before: it must look the same after any sync."""

    def __init__(self, clone: Path) -> None:
        self.clone = clone
        self.head = rev(clone, "HEAD")
        self.symbolic = git(clone, "symbolic-ref", "-q", "HEAD", check=False).stdout.strip()

    def check(self) -> None:
        assert rev(self.clone, "HEAD") == self.head
        assert git(self.clone, "symbolic-ref", "-q", "HEAD", check=False).stdout.strip() == self.symbolic
        subjects = git(self.clone, "log", "--format=%s", "HEAD").stdout.splitlines()
        assert not [s for s in subjects if s.startswith("bd ")], subjects
        assert git(self.clone, "diff", "--cached", "--name-only").stdout == ""


def converge(*clones: Path, rounds: int = 4) -> None:
    for _ in range(rounds):
        for c in clones:
            sync(c)
        states = [db_state(c) for c in clones]
        files = [(c / ".beads" / "issues.jsonl").read_text() for c in clones]
        if all(s == states[0] for s in states) and all(f == files[0] for f in files):
            return
    raise AssertionError("the clones did not converge")


# -- set-up --------------------------------------------------------------------------------------


def test_init_branch_records_the_sync_branch_and_bad_names_are_refused(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    bad = run_bd("init", "--branch", "no..dots", cwd=repo)
    assert bad.returncode != 0 and "invalid sync branch name 'no..dots'" in bad.stderr
    assert "Traceback" not in bad.stderr and not (repo / ".beads" / "beads.db").exists()
    same = run_bd("init", "--branch", "main", cwd=repo)
    assert same.returncode != 0 and "cannot be the branch you work on" in same.stderr
    out = json.loads(bd_ok("init", "--prefix", "t", "--branch", BRANCH, "--json", cwd=repo).stdout)
    assert out["sync_branch"] == BRANCH
    assert f"sync.branch: {BRANCH}" in (repo / ".beads" / "config.yaml").read_text()
    refused = run_bd("config", "set", "sync.branch", "bad name", cwd=repo)
    assert refused.returncode != 0 and "invalid sync branch name" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2  # one line, and its hint
    bd_ok("config", "set", "sync.branch", "issues/sync", cwd=repo)
    create(repo, "one")
    report = sync(repo)
    assert report["mode"] == "sync-branch" and report["branch"] == "issues/sync" and report["remote"] is None
    assert "one" in branch_file(repo, "issues/sync")
    assert git(repo, "rev-parse", "-q", "--verify", "refs/heads/main", check=False).returncode != 0


def test_env_variable_selects_the_sync_branch(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    bd_ok("init", "--prefix", "t", "--quiet", cwd=repo)
    create(repo, "via env")
    report = sync(repo, env={"BEADS_SYNC_BRANCH": "env-sync"})
    assert report["mode"] == "sync-branch" and report["branch"] == "env-sync"
    assert "via env" in branch_file(repo, "env-sync")


# -- the two-clone convergence of the issue ------------------------------------------------------


def test_two_clones_converge_through_the_sync_branch_and_main_never_moves(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    main_before = rev(remote, "main")
    b = second_clone(remote, tmp_path / "b")
    keep = [Untouched(a), Untouched(b)]

    a1 = create(a, "Alpha one", "-p", "2")
    a2 = create(a, "Alpha two")
    bd_ok("dep", "add", a2, a1, cwd=a)
    first = sync(a)
    assert first["mode"] == "sync-branch" and first["branch"] == BRANCH and first["pushed"]
    assert set(first) >= {"dry_run", "imported", "exported", "committed", "pulled", "merge_resolved",
                          "reexported", "pushed", "remote"}
    assert first["remote"] == f"origin/{BRANCH}"
    sync(b)
    assert {a1, a2} <= set(db_state(b))

    # concurrent work in both clones
    bd_ok("update", a1, "--title", "Alpha one (renamed in B)", cwd=b)
    bd_ok("close", a2, cwd=b)
    b1 = create(b, "Beta one")
    bd_ok("update", a1, "--priority", "0", cwd=a)
    a3 = create(a, "Alpha three")
    bd_ok("update", a2, "--notes", "notes from A", cwd=a)
    sync(b)
    report = sync(a)
    assert report["pulled"] and report["merge_resolved"] and report["pushed"]
    sync(b)
    bd_ok("delete", a3, "--force", cwd=b)
    bd_ok("label", "add", b1, "shared", cwd=a)
    converge(a, b)

    state = db_state(a)
    assert state[a1]["title"] == "Alpha one (renamed in B)" and state[a1]["priority"] == 0
    assert state[a2]["status"] == "closed" and state[a2]["notes"] == "notes from A"
    assert state[b1]["labels"] == ["shared"]
    assert state[a3]["status"] == "tombstone"
    assert state[a2]["deps"] == [(a1, "blocks")]
    # the remote's sync branch carries the JSONL both clones hold; main never moved
    assert branch_file(remote) == (a / ".beads" / "issues.jsonl").read_text() == (b / ".beads" / "issues.jsonl").read_text()
    assert rev(remote, "main") == main_before
    for k in keep:
        k.check()
    # a merge of the two histories, never a conflict left behind
    wt = worktree(a)
    assert git(wt, "status", "--porcelain").stdout == ""
    assert not (Path(git(wt, "rev-parse", "--absolute-git-dir").stdout.strip()) / "MERGE_HEAD").exists()
    assert {p.name for p in wt.iterdir()} == {".git", ".beads"}  # only the beads directory is checked out


def test_a_bad_record_pushed_to_the_sync_branch_is_refused_and_nothing_takes_it_in(tmp_path: Path) -> None:
    """A hand-made commit on the remote's sync branch with a record bd refuses: the sync stops with
    one line naming it; the database, the working JSONL and the local branch stay as they were and
    the remote gets nothing from us. Once the line is fixed upstream, the next sync goes through."""
    remote, a = protected_remote(tmp_path)
    mine = create(a, "Mine")
    sync(a)
    # someone edits the sync branch by hand and breaks a record
    hand = tmp_path / "hand"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(remote), str(hand))
    path = hand / ".beads" / "issues.jsonl"
    good = path.read_text()
    bad = json.loads(good.splitlines()[0]) | {"id": "proj-bad1", "priority": 9}
    path.write_text(good + json.dumps(bad) + "\n")
    git(hand, "commit", "-q", "-am", "by hand")
    git(hand, "push", "-q", "origin", BRANCH)
    remote_tip = rev(remote, BRANCH)

    later = create(a, "Later")
    db_before = db_state(a)
    local_tip = rev(a, BRANCH)
    failed = run_bd("sync", cwd=a)
    assert failed.returncode != 0
    assert f"line 2 of origin/{BRANCH}'s issues.jsonl" in failed.stderr and "proj-bad1" in failed.stderr
    assert "priority" in failed.stderr and len(failed.stderr.splitlines()) <= 4, failed.stderr
    assert "bd sync" in failed.stderr  # the one command that continues
    assert "proj-bad1" not in db_state(a) and db_state(a) == db_before
    assert "proj-bad1" not in (a / ".beads" / "issues.jsonl").read_text()
    assert git(a, "merge-base", "--is-ancestor", remote_tip, BRANCH, check=False).returncode != 0
    assert rev(remote, BRANCH) == remote_tip  # nothing pushed on top of the bad commit
    assert git(a, "merge-base", "--is-ancestor", local_tip, BRANCH, check=False).returncode == 0

    # fixed upstream: the next sync takes the fix and pushes ours
    fixed = dict(bad, priority=1)
    path.write_text(good + json.dumps(fixed) + "\n")
    git(hand, "commit", "-q", "-am", "fix by hand")
    git(hand, "push", "-q", "origin", BRANCH)
    assert sync(a)["pushed"]
    assert {mine, later, "proj-bad1"} <= set(db_state(a))
    assert db_state(a)["proj-bad1"]["priority"] == 1
    assert later in branch_file(remote)


def test_no_pull_no_push_and_dry_run_in_sync_branch_mode(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    create(a, "Local only")
    dry = sync(a, "--dry-run")
    assert dry["mode"] == "sync-branch" and dry["dry_run"] and not dry["branch_exists"]
    assert git(a, "rev-parse", "-q", "--verify", f"refs/heads/{BRANCH}", check=False).returncode != 0
    report = sync(a, "--no-push")
    assert report["committed"] and not report["pushed"]
    assert "Local only" in branch_file(a)
    assert git(remote, "rev-parse", "-q", "--verify", BRANCH, check=False).returncode != 0
    report = sync(a, "--no-pull")
    assert report["pushed"] and not report["pulled"]
    assert "Local only" in branch_file(remote)


@pytest.mark.parametrize("where", ["tracking", "untracked", "feature"])
def test_the_first_sync_never_publishes_the_users_unpushed_commits(tmp_path: Path, where: str) -> None:
    remote, a = protected_remote(tmp_path)
    if where == "untracked":  # pushed by name, no upstream recorded: the remote's main still says what is public
        git(a, "branch", "--unset-upstream")
    elif where == "feature":  # a branch never pushed: the remote's default branch says it
        git(a, "checkout", "-q", "-b", "feature")
    (a / "secret.txt").write_text("not for the remote yet\n")
    git(a, "add", "secret.txt")
    git(a, "commit", "-q", "-m", "unpushed work")
    unpushed = rev(a, "HEAD")
    create(a, "Planned")
    assert sync(a)["pushed"]
    assert git(remote, "merge-base", "--is-ancestor", unpushed, BRANCH, check=False).returncode != 0
    assert git(remote, "cat-file", "-e", unpushed, check=False).returncode != 0
    assert "Planned" in branch_file(remote)


# -- where the user works ---------------------------------------------------------------------------


def test_a_detached_head_syncs_and_stays_detached(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    git(a, "checkout", "-q", "--detach")
    keep = Untouched(a)
    create(a, "From a detached HEAD")
    report = sync(a)
    assert report["pushed"] and report["remote"] == f"origin/{BRANCH}"
    assert "From a detached HEAD" in branch_file(remote)
    keep.check()


def test_bd_in_a_linked_git_worktree_syncs_through_the_same_sync_branch(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    b = second_clone(remote, tmp_path / "b")
    linked = tmp_path / "a-feature"
    git(a, "worktree", "add", "-q", "-b", "feature", str(linked))
    keep = [Untouched(a), Untouched(linked)]
    create(a, "In the main worktree")
    sync(a)
    iid = create(linked, "In the linked worktree")  # the main checkout's database (as the original)
    report = sync(linked)
    assert report["mode"] == "sync-branch" and report["pushed"]
    text = branch_file(remote)
    assert "In the main worktree" in text and iid in text
    assert worktree(a).is_dir() and not (linked / ".git").is_dir()
    converge(a, b)
    assert iid in db_state(b)
    for k in keep:
        k.check()


def test_hooks_leave_the_users_commits_and_pushes_alone(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    assert (a / ".git" / "hooks" / "pre-commit").exists()
    create(a, "Pending issue")
    (a / "code.txt").write_text("more code\n")
    git(a, "add", "code.txt")
    git(a, "commit", "-q", "-m", "code change")
    assert git(a, "show", "--name-only", "--format=", "HEAD").stdout.split() == ["code.txt"]
    # pre-push does not refuse over the issues file the sync branch carries
    git(a, "push", "-q", "origin", "HEAD:refs/heads/feature")
    assert git(remote, "rev-parse", "feature").stdout.strip() == rev(a, "HEAD")


# -- failure modes -------------------------------------------------------------------------------------


def test_a_remote_refusing_the_sync_branch_leaves_everything_consistent(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    hook(remote, REFUSE_ALL)
    iid = create(a, "Refused at first")
    proc = run_bd("sync", cwd=a)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "pre-receive hook declined" in proc.stderr
    assert f"committed to {BRANCH} locally" in proc.stderr and "run 'bd sync' again" in proc.stderr
    assert iid in branch_file(a)
    assert git(remote, "rev-parse", "-q", "--verify", BRANCH, check=False).returncode != 0
    dry = sync(a, "--dry-run")
    assert dry["would_export"] == 0 and not dry["would_import"]
    hook(remote, PROTECT_MAIN)
    assert sync(a)["pushed"]
    assert iid in branch_file(remote)


def test_a_diverged_sync_branch_is_merged_by_content_with_no_git_conflict(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    shared = create(a, "Shared")
    sync(a)
    b = second_clone(remote, tmp_path / "b")
    sync(b)
    bd_ok("update", shared, "--title", "Title from A", cwd=a)
    bd_ok("update", shared, "--priority", "1", cwd=b)
    sync(a, "--no-push")
    sync(b)  # the remote's branch moves on
    report = sync(a)
    assert report["merge_resolved"] and report["pushed"]
    parents = git(remote, "rev-list", "--parents", "-n", "1", BRANCH).stdout.split()
    assert len(parents) == 3  # a merge on top of the remote's history
    converge(a, b)
    row = db_state(b)[shared]
    assert row["title"] == "Title from A" and row["priority"] == 1


@pytest.mark.parametrize("damage", ["deleted", "corrupt", "moved", "on-a-branch", "index-lock", "dirty"])
def test_a_damaged_worktree_is_repaired(tmp_path: Path, damage: str) -> None:
    remote, a = protected_remote(tmp_path)
    create(a, "Before")
    sync(a)
    wt = worktree(a)
    if damage == "deleted":
        shutil.rmtree(wt)  # its registration in .git/worktrees stays behind: stale
    elif damage == "corrupt":
        (wt / ".git").write_text("gitdir: /nowhere\n")
    elif damage == "moved":
        git(wt, "checkout", "-q", "--detach", "HEAD~1")
    elif damage == "on-a-branch":  # someone checked a branch out in bd's worktree: never moved by bd
        git(wt, "checkout", "-q", "-b", "handmade", "HEAD~1")
        handmade = rev(wt, "handmade")
    elif damage == "index-lock":
        gitdir = Path(git(wt, "rev-parse", "--absolute-git-dir").stdout.strip())
        (gitdir / "index.lock").write_text("")
    else:
        (wt / ".beads" / "issues.jsonl").write_text("not json\n")
    iid = create(a, "After")
    report = sync(a)
    assert report["pushed"]
    text = branch_file(remote)
    assert iid in text and "Before" in text and "not json" not in text
    assert git(wt, "status", "--porcelain").stdout == ""
    assert rev(wt, "HEAD") == rev(a, BRANCH)
    if damage == "on-a-branch":
        assert rev(a, "handmade") == handmade


@pytest.mark.parametrize("step", ["committed", "merged", "pushed", "absorbing"])
def test_a_sync_killed_mid_way_is_completed_by_the_next_one(tmp_path: Path, step: str) -> None:
    remote, a = protected_remote(tmp_path)
    create(a, "Seed")
    sync(a)
    b = second_clone(remote, tmp_path / "b")
    sync(b)
    seed = [i for i, s in db_state(b).items() if s["title"] == "Seed"][0]
    b_issue = create(b, "From B")
    bd_ok("update", seed, "--title", "Seed renamed by B", cwd=b)
    sync(b)
    a_issue = create(a, "From A")
    bd_ok("label", "add", seed, "from-a", cwd=a)
    killed = run_bd("sync", cwd=a, env={"BD_TEST_SYNC_KILL_AT": step})
    assert killed.returncode == -9, killed
    keep = Untouched(a)
    sync(a)
    converge(a, b)
    state = db_state(a)
    assert {a_issue, b_issue} <= set(state)
    assert state[seed]["title"] == "Seed renamed by B" and state[seed]["labels"] == ["from-a"]
    assert branch_file(remote) == (a / ".beads" / "issues.jsonl").read_text()
    assert git(worktree(a), "status", "--porcelain").stdout == ""
    keep.check()


def test_the_jsonl_of_the_working_tree_reflects_the_synced_state(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    b = second_clone(remote, tmp_path / "b")
    iid = create(b, "Made in B")
    sync(b)
    sync(a)
    assert iid in {r["id"] for r in jsonl_records(a / ".beads" / "issues.jsonl")}


@pytest.mark.parametrize("sync_branch", [False, True], ids=["main", "sync-branch"])
@pytest.mark.parametrize("edit", ["comment", "label"])
def test_an_edit_of_an_issue_deleted_elsewhere_reaches_both_clones_and_syncs_settle(
        tmp_path: Path, sync_branch: bool, edit: str) -> None:
    """The merged tombstone ties on updated_at with the deleting clone's own: the comment (or the
    label) still reaches it, and the two clones stop re-exporting their own copy at every sync
    (found by the 3-clone fuzz in sync-branch mode, seeds 13, 20, 25, 32, 47)."""
    remote, a = protected_remote(tmp_path)
    if not sync_branch:
        hook(remote, "#!/bin/sh\nexit 0\n")
        bd_ok("config", "unset", "sync.branch", cwd=a)
    doomed = create(a, "Doomed")
    create(a, "Other")
    sync(a)
    b = second_clone(remote, tmp_path / "b")
    if not sync_branch:
        bd_ok("config", "unset", "sync.branch", cwd=b)
    sync(b)
    bd_ok("delete", doomed, "--force", cwd=a)
    if edit == "comment":
        bd_ok("comment", doomed, "said before the delete arrived", cwd=b)
    else:
        bd_ok("label", "add", doomed, "late", cwd=b)
    converge(b, a)
    for c in (a, b):
        assert db_state(c)[doomed]["status"] == "tombstone"
        if edit == "comment":
            assert [t for _, t in db_state(c)[doomed]["comments"]] == ["said before the delete arrived"]
        else:
            assert db_state(c)[doomed]["labels"] == ["late"]
    assert not sync(a)["pushed"] and not sync(b)["pushed"]


def test_sync_remote_picks_the_remote_of_the_sync_branch(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(mirror))
    git(a, "remote", "add", "mirror", str(mirror))
    bd_ok("config", "set", "sync.remote", "nowhere", cwd=a)
    bad = run_bd("sync", cwd=a)
    assert bad.returncode != 0 and "sync.remote is 'nowhere', which is not a git remote here" in bad.stderr
    bd_ok("config", "set", "sync.remote", "mirror", cwd=a)
    iid = create(a, "To the mirror")
    assert sync(a)["remote"] == f"mirror/{BRANCH}"
    assert iid in branch_file(mirror)
    assert git(remote, "rev-parse", "-q", "--verify", BRANCH, check=False).returncode != 0


def _doctor_sync_branch(cwd: Path) -> dict:
    checks = json.loads(run_bd("doctor", "--json", cwd=cwd).stdout)["checks"]
    (check,) = [c for c in checks if c["name"] == "Sync Branch"]
    return check


def test_doctor_reports_the_sync_branch_state_and_bd_sync_is_the_fix(tmp_path: Path) -> None:
    remote, a = protected_remote(tmp_path)
    first = _doctor_sync_branch(a)
    assert first["status"] == "ok" and "not created yet" in first["message"]
    create(a, "Planned")
    sync(a, "--no-push")
    ahead = _doctor_sync_branch(a)
    assert ahead["status"] == "warning" and "not pushed" in ahead["message"] and "bd sync" in ahead["fix"]
    sync(a)
    assert _doctor_sync_branch(a)["status"] == "ok"
    shutil.rmtree(worktree(a) / ".git", ignore_errors=True) if (worktree(a) / ".git").is_dir() else \
        (worktree(a) / ".git").unlink()
    damaged = _doctor_sync_branch(a)
    assert damaged["status"] == "warning" and "damaged" in damaged["message"]
    sync(a)
    assert _doctor_sync_branch(a)["status"] == "ok"
    git(a, "checkout", "-q", "-f", BRANCH)
    assert _doctor_sync_branch(a)["status"] == "warning"
    git(a, "checkout", "-q", "-f", "main")
    config = a / ".beads" / "config.yaml"
    config.write_text(config.read_text().replace(f"sync.branch: {BRANCH}", "sync.branch: 'bad..name'"))
    assert _doctor_sync_branch(a)["status"] == "error"
    config.write_text(config.read_text().replace("sync.branch: 'bad..name'", ""))
    assert "no sync branch" in _doctor_sync_branch(a)["message"]
