"""Git hooks: install/chain/uninstall/list, what each hook does, and that none can hang git."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest
from sync_helpers import BD_DIR, bd_json, bd_ok, git, run_bd

import beads

HOOKS = ("pre-commit", "post-merge", "pre-push", "post-checkout")


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture
def project(repo: Path) -> Path:
    """A git repo with bd initialised (hooks installed by init) and one commit."""
    bd_ok("init", "--prefix", "hk", "--quiet", cwd=repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def hooks_dir(repo: Path) -> Path:
    return repo / ".git" / "hooks"


def foreign_hook(path: Path, marker: Path, status: int = 0) -> None:
    path.write_text(f"#!/bin/sh\necho ran \"$@\" >> '{marker}'\nexit {status}\n")
    path.chmod(0o755)


def db_ids(repo: Path) -> set[str]:
    tracker = beads.open(str(repo / ".beads"))
    try:
        return set(tracker.store.all_ids())
    finally:
        tracker.disconnect()


# -- install / uninstall / list ------------------------------------------------------------------


def test_init_installs_thin_executable_shims(project: Path) -> None:
    for name in HOOKS:
        path = hooks_dir(project) / name
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n# bd-shim v1\n# bd-hooks-version: ")
        assert f'exec bd hooks run {name} "$@"' in text
        assert path.stat().st_mode & stat.S_IXUSR


def test_list_reports_every_hook(project: Path) -> None:
    entries = bd_json("hooks", "list", cwd=project)
    assert [(e["name"], e["installed"], e["kind"]) for e in entries] == [(h, True, "shim") for h in HOOKS]


def test_install_twice_is_idempotent_and_never_chains_its_own_shim(project: Path) -> None:
    reports = bd_json("hooks", "install", cwd=project)["hooks"]
    assert {r["action"] for r in reports} == {"updated"}
    assert not list(hooks_dir(project).glob("*.pre-bd"))


def test_install_chains_an_existing_hook_and_uninstall_restores_it(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    original = hooks_dir(repo) / "pre-commit"
    foreign_hook(original, marker)
    original_text = original.read_text()
    bd_ok("init", "--prefix", "hk", "--quiet", cwd=repo)
    assert (hooks_dir(repo) / "pre-commit.pre-bd").read_text() == original_text
    assert "# bd-shim v1" in original.read_text()
    assert bd_json("hooks", "list", cwd=repo)[0]["chained"].endswith("pre-commit.pre-bd")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    assert marker.read_text() == "ran\n"  # the chained hook still runs

    bd_ok("hooks", "uninstall", cwd=repo)
    assert original.read_text() == original_text
    assert not (hooks_dir(repo) / "pre-commit.pre-bd").exists()
    assert not (hooks_dir(repo) / "post-merge").exists()


def test_a_failing_chained_pre_commit_hook_still_blocks_the_commit(repo: Path, tmp_path: Path) -> None:
    foreign_hook(hooks_dir(repo) / "pre-commit", tmp_path / "marker", status=1)
    bd_ok("init", "--prefix", "hk", "--quiet", cwd=repo)
    (repo / "f.txt").write_text("x\n")
    git(repo, "add", "f.txt")
    assert git(repo, "commit", "-q", "-m", "blocked", check=False).returncode != 0


def test_a_second_foreign_hook_is_left_alone_unless_forced(project: Path, tmp_path: Path) -> None:
    hooks = hooks_dir(project)
    foreign_hook(hooks / "pre-push.pre-bd", tmp_path / "old")
    foreign_hook(hooks / "pre-push", tmp_path / "new")
    proc = run_bd("hooks", "install", cwd=project)
    assert proc.returncode == 0 and "use --force" in proc.stderr
    assert "bd-shim" not in (hooks / "pre-push").read_text()
    bd_ok("hooks", "install", "--force", cwd=project)
    assert "bd-shim" in (hooks / "pre-push").read_text()
    assert "'" + str(tmp_path / "new") + "'" in (hooks / "pre-push.pre-bd").read_text()
    assert "'" + str(tmp_path / "old") + "'" in (hooks / "pre-push.pre-bd.1").read_text()


def test_hooks_go_where_git_looks_for_them_in_a_worktree(project: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    git(project, "worktree", "add", "-q", str(worktree))
    bd_ok("hooks", "uninstall", cwd=project)
    bd_ok("hooks", "install", cwd=worktree)
    assert "bd-shim" in (hooks_dir(project) / "pre-commit").read_text()


def test_hooks_honour_core_hooks_path(project: Path) -> None:
    git(project, "config", "core.hooksPath", ".githooks")
    bd_ok("hooks", "install", cwd=project)
    assert "bd-shim" in (project / ".githooks" / "post-merge").read_text()


def test_init_with_skip_hooks_or_stealth_installs_none(repo: Path) -> None:
    bd_ok("init", "--prefix", "hk", "--quiet", "--stealth", cwd=repo)
    assert not (hooks_dir(repo) / "pre-commit").exists()
    assert git(repo, "config", "merge.beads.driver", check=False).returncode != 0
    assert "/.beads/" in (repo / ".git" / "info" / "exclude").read_text()
    assert not git(repo, "status", "--porcelain").stdout.strip()


def test_init_registers_the_merge_driver_once(repo: Path) -> None:
    bd_ok("init", "--prefix", "hk", "--quiet", cwd=repo)
    bd_ok("init", "--prefix", "hk", "--quiet", "--force", cwd=repo)
    assert (repo / ".gitattributes").read_text().count("merge=beads") == 1
    assert git(repo, "config", "merge.beads.name").stdout.strip() == "bd JSONL merge driver"


def test_init_outside_git_says_what_it_skipped(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = json.loads(bd_ok("init", "--prefix", "p", "--json", cwd=plain).stdout)
    assert result["git_repo"] is False and "merge_driver" not in result
    proc = run_bd("init", "--prefix", "p", "--force", cwd=plain)
    assert "Not a git repository" in proc.stderr


# -- the shims are harmless where bd cannot work -----------------------------------------------------


def test_a_shim_does_nothing_without_a_beads_directory(repo: Path) -> None:
    bd_ok("hooks", "install", cwd=repo)
    (repo / "f.txt").write_text("x\n")
    git(repo, "add", "f.txt")
    git(repo, "commit", "-q", "-m", "no beads here")
    assert not (repo / ".beads").exists()


def test_a_shim_does_nothing_when_bd_is_not_installed(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"]}
    foreign_hook(hooks_dir(project) / "post-checkout.pre-bd", marker)
    proc = subprocess.run(["sh", str(hooks_dir(project) / "post-checkout"), "a", "b", "1"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert marker.read_text() == "ran a b 1\n"  # the chained hook still ran


# -- what the hooks do ----------------------------------------------------------------------------------


def test_pre_commit_flushes_and_stages_the_jsonl(project: Path) -> None:
    issue = bd_ok("create", "Unflushed", "--silent", "--no-auto-flush", cwd=project).stdout.strip()
    (project / "code.txt").write_text("work\n")
    git(project, "add", "code.txt")
    git(project, "commit", "-q", "-m", "code")
    committed = git(project, "show", "HEAD:.beads/issues.jsonl").stdout
    assert issue in committed


def test_pre_push_refuses_while_beads_files_have_uncommitted_changes(tmp_path: Path, project: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    bd_ok("create", "Not committed", cwd=project)
    proc = git(project, "push", "-q", "origin", "main", check=False)
    assert proc.returncode != 0
    assert "Uncommitted changes detected" in proc.stderr and "bd sync" in proc.stderr
    skipped = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=project, capture_output=True, text=True,
                             timeout=60, env={**os.environ, "BD_SYNC_IN_PROGRESS": "1"})
    assert skipped.returncode == 0


def test_post_merge_imports_what_a_pull_brought(tmp_path: Path, project: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    git(project, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    bd_ok("init", "--quiet", cwd=other)
    issue = bd_ok("create", "From the other clone", "--silent", cwd=other).stdout.strip()
    bd_ok("sync", cwd=other)
    git(project, "pull", "-q", "--no-rebase", "origin", "main")
    assert issue in db_ids(project)  # imported by the hook, not by a later bd command


def test_a_label_removed_on_another_clone_stays_removed_after_a_plain_git_pull(tmp_path: Path,
                                                                               project: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    issue = bd_ok("create", "Labelled", "--silent", "-l", "stale", "-l", "keep", cwd=project).stdout.strip()
    bd_ok("sync", cwd=project)
    git(project, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    bd_ok("init", "--quiet", cwd=other)
    bd_ok("label", "remove", issue, "stale", cwd=other)
    bd_ok("sync", cwd=other)
    git(project, "pull", "-q", "--no-rebase")
    tracker = beads.open(str(project / ".beads"))
    try:
        assert tracker.store.labels_of(issue) == ["keep"]
    finally:
        tracker.disconnect()
    bd_ok("sync", cwd=project)
    assert '"labels":["keep"]' in git(project, "show", "origin/main:.beads/issues.jsonl").stdout


def test_post_checkout_of_a_file_is_ignored(project: Path) -> None:
    proc = run_bd("hooks", "run", "post-checkout", "a", "b", "0", cwd=project)
    assert proc.returncode == 0 and proc.stderr == ""


def test_hooks_stand_aside_during_bd_sync(project: Path) -> None:
    proc = run_bd("hooks", "run", "pre-push", cwd=project, env={"BD_SYNC_IN_PROGRESS": "1"})
    assert proc.returncode == 0


# -- nothing hangs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hook", ["pre-commit", "post-merge"])
def test_a_stuck_hook_gives_up_at_the_timeout_without_failing_git(project: Path, hook: str) -> None:
    # a stand-in for a stuck filesystem or lock: the database held exclusively (readers too) by
    # another process, so the hook's bd waits its 30 s busy timeout (a FIFO no longer blocks bd)
    holder = sqlite3.connect(project / ".beads" / "beads.db", timeout=0, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        start = time.monotonic()
        proc = run_bd("hooks", "run", hook, cwd=project, env={"BD_HOOK_TIMEOUT": "1"}, timeout=60)
        elapsed = time.monotonic() - start
    finally:
        holder.close()
    assert proc.returncode == 0
    assert "timed out after 1s" in proc.stderr
    assert elapsed < 30
