"""What ``bd sync`` reads of the repository's state without a git process per fact
(``sync/git.py``): the branch from HEAD, the upstream and remotes from one ``git config``,
conflicts from the index, merge and rebase state from the git directory. Each is checked
against what git itself says, in a plain clone and in a linked worktree."""

from __future__ import annotations

from pathlib import Path

from sync_helpers import git

from beads.sync.git import find_git


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    (work / "a.txt").write_text("one\n")
    git(work, "add", "a.txt")
    git(work, "commit", "-qm", "one")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    return remote, work


def _git_says_branch(cwd: Path) -> str | None:
    proc = git(cwd, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def test_branch_upstream_and_remotes_agree_with_git(tmp_path: Path) -> None:
    _, work = _repo(tmp_path)
    g = find_git(str(work))
    assert g is not None
    assert g.current_branch() == _git_says_branch(work)
    branch = _git_says_branch(work)
    assert g.upstream() == ("origin", branch)  # what `git clone` configured
    git(work, "config", "--unset", f"branch.{branch}.merge")
    assert g.upstream() is None
    # a branch name with dots, slashes and capitals; a remote name with a dot; several values
    git(work, "checkout", "-q", "-b", "Feature/v1.2")
    git(work, "remote", "add", "my.mirror", str(tmp_path / "remote.git"))
    git(work, "config", "branch.Feature/v1.2.remote", "my.mirror")
    git(work, "config", "branch.Feature/v1.2.merge", "refs/heads/main")
    assert g.current_branch() == "Feature/v1.2" == _git_says_branch(work)
    assert g.upstream() == ("my.mirror", "main")
    git(work, "config", "--add", "branch.Feature/v1.2.merge", "refs/heads/other")  # git --get takes the last
    assert g.upstream() == ("my.mirror", "other")
    git(work, "config", "branch.Feature/v1.2.remote", "gone")  # a remote that does not exist
    assert g.upstream() is None
    git(work, "config", "branch.Feature/v1.2.remote", ".")  # a local upstream
    assert g.upstream() is None
    git(work, "checkout", "-q", "--detach")
    assert g.current_branch() is None is _git_says_branch(work)


def test_conflicts_merge_and_rebase_state_agree_with_git(tmp_path: Path) -> None:
    _, work = _repo(tmp_path)
    g = find_git(str(work))
    assert g is not None
    assert g.unmerged_paths() == [] and not g.merge_in_progress() and not g.rebase_in_progress()
    git(work, "checkout", "-q", "-b", "side")
    (work / "a.txt").write_text("side\n")
    git(work, "commit", "-qam", "side")
    git(work, "checkout", "-q", "-")
    (work / "a.txt").write_text("main\n")
    (work / "untracked.txt").write_text("x\n")  # untracked files are not conflicts
    git(work, "commit", "-qm", "main", "a.txt")
    assert git(work, "merge", "side", check=False).returncode != 0
    assert g.unmerged_paths() == ["a.txt"] and g.merge_in_progress()
    git(work, "merge", "--abort")
    assert g.unmerged_paths() == [] and not g.merge_in_progress()
    assert git(work, "rebase", "side", check=False).returncode != 0
    assert g.rebase_in_progress() and g.unmerged_paths() == ["a.txt"]
    git(work, "rebase", "--abort")
    assert not g.rebase_in_progress()


def test_a_linked_worktree_has_its_own_head_and_merge_state(tmp_path: Path) -> None:
    _, work = _repo(tmp_path)
    linked = tmp_path / "linked"
    git(work, "worktree", "add", "-q", "-b", "wt-branch", str(linked))
    (linked / "a.txt").write_text("linked\n")
    git(linked, "commit", "-qam", "linked")
    (work / "a.txt").write_text("work\n")
    git(work, "commit", "-qam", "work")
    g_work, g_linked = find_git(str(work)), find_git(str(linked))
    assert g_work is not None and g_linked is not None
    assert g_linked.current_branch() == "wt-branch" == _git_says_branch(linked)
    assert g_work.current_branch() == _git_says_branch(work) != "wt-branch"
    assert git(linked, "merge", _git_says_branch(work) or "HEAD", check=False).returncode != 0
    assert g_linked.merge_in_progress() and g_linked.unmerged_paths() == ["a.txt"]
    assert not g_work.merge_in_progress() and g_work.unmerged_paths() == []


# -- the process runner under every git call (no subprocess module) ---------------------------------


def test_the_runner_collects_big_outputs_on_both_streams_without_blocking() -> None:
    import os
    import sys

    from beads.sync.git import _capture

    script = ("import sys\n"
              "for i in range(400):\n"
              "    sys.stdout.write('o' * 5000 + '\\n'); sys.stderr.write('e' * 5000 + '\\n')\n"
              "sys.stdout.write(sys.stdin.read()[::-1]); sys.exit(3)")
    code, out, err = _capture([sys.executable, "-c", script], dict(os.environ), 60, b"abc" * 100_000)
    assert code == 3
    assert out.count(b"o" * 5000 + b"\n") == 400 and out.endswith(b"cba" * 100_000)
    assert err == (b"e" * 5000 + b"\n") * 400


def test_the_runner_kills_a_process_past_its_timeout_and_reaps_it() -> None:
    import os
    import sys
    import time

    import pytest

    from beads.sync.git import _capture, _Timeout

    started = time.monotonic()
    with pytest.raises(_Timeout):
        _capture([sys.executable, "-c", "import time; print('x', flush=True); time.sleep(60)"], dict(os.environ), 0.5)
    assert time.monotonic() - started < 30
    zombies = []  # a killed child that was not reaped stays a zombie of this process
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            zombies.append(entry)
    assert zombies == []


def test_the_runner_passes_only_the_descriptors_it_is_told_to(tmp_path: Path) -> None:
    import os
    import sys

    from beads.sync.git import _capture

    fd = os.open(tmp_path / "lock", os.O_CREAT | os.O_RDWR)
    try:
        probe = [sys.executable, "-c", f"import os, sys; os.fstat({fd})"]
        assert _capture(probe, dict(os.environ), 60)[0] != 0  # not inherited by default
        assert _capture(probe, dict(os.environ), 60, pass_fds=(fd,))[0] == 0
        assert not os.get_inheritable(fd)  # still closed on exec for every other child
        assert _capture(probe, dict(os.environ), 60)[0] != 0
    finally:
        os.close(fd)
