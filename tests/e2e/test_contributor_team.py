"""``bd init --contributor`` (planning repository + routing of ``bd create``) and ``bd init --team``,
driven by flags (no prompts), by a real terminal (pty), and refused without either."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from conftest import BD, Bd, git


def setting_lines(repo: Path) -> dict[str, str]:
    out = {}
    for line in (repo / ".beads" / "config.yaml").read_text().splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
    return out


@pytest.fixture
def fork(tmp_path: Path) -> tuple[Path, Path]:
    """An upstream project that uses bd (one issue committed) and a contributor's clone of it."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    run = Bd(upstream)
    run("init", "--prefix", "up", "--quiet")
    run("create", "Upstream's own issue", "-d", "tracked by the maintainers")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "upstream with bd")
    clone = tmp_path / "fork"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "remote", "rename", "origin", "upstream")
    git(clone, "remote", "add", "origin", "https://example.invalid/me/fork.git")
    return clone, tmp_path / "planning"


def test_contributor_issues_go_to_the_planning_repo_and_never_upstream(fork: tuple[Path, Path]) -> None:
    clone, planning = fork
    run = Bd(clone)
    before = (clone / ".beads" / "issues.jsonl").read_bytes()
    result = json.loads(run("init", "--contributor", "--planning-repo", str(planning), "--json", input="").stdout)
    assert result["contributor"]["planning_repo"] == str(planning) and result["contributor"]["planning_created"]
    assert setting_lines(clone)["routing.mode"] == "auto"
    assert setting_lines(clone)["routing.contributor"] == str(planning)
    assert git(clone, "config", "beads.role").stdout.strip() == "contributor"
    assert (planning / ".git").is_dir() and (planning / ".beads" / "beads.db").is_file()
    assert git(planning, "log", "--format=%s").stdout.strip()  # the planning repository's first commit

    issue = run.json("create", "My plan for the fix", "-d", "stays out of the PR")
    assert issue["id"].startswith("up-")  # type: ignore[index]  # the planning repo took the project's prefix
    planned = [json.loads(line) for line in (planning / ".beads" / "issues.jsonl").read_text().splitlines()]
    assert [i["title"] for i in planned] == ["My plan for the fix"]
    assert (clone / ".beads" / "issues.jsonl").read_bytes() == before  # upstream's JSONL untouched
    assert [i["title"] for i in run.json("list")] == ["Upstream's own issue"]  # type: ignore[union-attr]
    assert [i["title"] for i in Bd(planning).json("list")] == ["My plan for the fix"]  # type: ignore[union-attr]
    assert not git(clone, "status", "--porcelain", ".beads/issues.jsonl").stdout.strip()

    here = run.json("create", "A real upstream issue", "-d", "for the PR", "--repo", ".")
    assert here["title"] == "A real upstream issue"  # type: ignore[index]
    assert "A real upstream issue" in (clone / ".beads" / "issues.jsonl").read_text()


def test_routed_create_goes_to_the_planning_repo_through_the_daemon_too(fork: tuple[Path, Path]) -> None:
    clone, planning = fork
    run = Bd(clone)
    run("init", "--contributor", "--planning-repo", str(planning), "--quiet", input="")
    run("daemon", "start")
    try:
        run("create", "Planned while the daemon serves the fork", "-d", "x")
        assert run.json("daemon", "status")["running"]  # type: ignore[index]
    finally:
        run("daemon", "stop", check=False)
    assert "Planned while the daemon" in (planning / ".beads" / "issues.jsonl").read_text()
    assert "Planned while the daemon" not in (clone / ".beads" / "issues.jsonl").read_text()
    assert [i["title"] for i in run.json("list")] == ["Upstream's own issue"]  # type: ignore[union-attr]


def test_contributor_without_planning_repo_and_without_a_terminal_is_refused(fork: tuple[Path, Path]) -> None:
    clone, planning = fork
    proc = Bd(clone)("init", "--contributor", input="", check=False)
    assert proc.returncode == 1 and "--planning-repo" in proc.stderr and "not a terminal" in proc.stderr
    assert not (clone / ".beads" / "beads.db").exists() and not planning.exists()  # nothing was created


def test_a_planning_repo_inside_the_project_is_refused(fork: tuple[Path, Path]) -> None:
    clone, _ = fork
    proc = Bd(clone)("init", "--contributor", "--planning-repo", "notes", input="", check=False)
    assert proc.returncode == 1 and "inside this repository" in proc.stderr


def test_an_existing_planning_repo_is_reused(fork: tuple[Path, Path]) -> None:
    clone, planning = fork
    planning.mkdir()
    git(planning, "init", "-q", "-b", "main")
    Bd(planning)("init", "--prefix", "plan", "--quiet")
    Bd(planning)("create", "Older plan", "-d", "x")
    result = Bd(clone).json("init", "--contributor", "--planning-repo", str(planning), input="")
    assert result["contributor"]["planning_created"] is False  # type: ignore[index]
    Bd(clone)("create", "Newer plan", "-d", "x")
    assert sorted(i["id"].split("-")[0] for i in Bd(planning).json("list")) == ["plan", "plan"]  # type: ignore


def test_a_maintainer_stays_in_the_project_in_auto_mode(fork: tuple[Path, Path]) -> None:
    clone, planning = fork
    run = Bd(clone)
    run("init", "--quiet", input="")
    run("config", "set", "routing.mode", "auto")
    run("config", "set", "routing.contributor", str(planning))
    git(clone, "remote", "set-url", "origin", "git@example.invalid:me/fork.git")  # push access: maintainer
    run("create", "Maintainer's issue", "-d", "x")
    assert not planning.exists()
    git(clone, "config", "beads.role", "contributor")  # the explicit role wins over the URL
    run("create", "Contributor's issue", "-d", "x")
    assert "Contributor's issue" in (planning / ".beads" / "issues.jsonl").read_text()
    assert "Maintainer's issue" in (clone / ".beads" / "issues.jsonl").read_text()


def test_create_dry_run_says_where_the_issue_would_go(fork: tuple[Path, Path]) -> None:
    clone, planning = fork
    run = Bd(clone)
    run("init", "--contributor", "--planning-repo", str(planning), "--quiet", input="")
    proc = run("create", "Not yet", "-d", "x", "--dry-run")
    assert "Would create issue: Not yet (in " in proc.stdout and str(planning.name) in proc.stdout
    assert "Not yet" not in (planning / ".beads" / "issues.jsonl").read_text()


# -- team --------------------------------------------------------------------------------------------


def test_team_with_a_sync_branch_writes_the_settings(repo: Path) -> None:
    result = Bd(repo).json("init", "--team", "--branch", "beads-sync", "--no-auto-sync", "--prefix", "tm",
                           input="")
    assert result["team"] == {"sync_branch": "beads-sync", "auto_sync": False,  # type: ignore[index]
                              "shared_hooks": False}
    settings = setting_lines(repo)
    assert settings["sync.branch"] == "beads-sync"
    assert [settings[f"daemon.{k}"] for k in ("auto_commit", "auto_push", "auto_pull")] == ["false"] * 3
    assert git(repo, "branch", "--show-current").stdout.strip() == "main"  # the working branch is untouched


def test_team_without_a_sync_branch_commits_to_the_working_branch(repo: Path) -> None:
    result = Bd(repo).json("init", "--team", "--no-sync-branch", "--shared-hooks", "--prefix", "tm", input="")
    assert result["team"]["sync_branch"] is None and result["team"]["auto_sync"] is True  # type: ignore[index]
    settings = setting_lines(repo)
    assert "sync.branch" not in settings and settings["daemon.auto_push"] == "true"
    assert git(repo, "config", "core.hooksPath").stdout.strip() == ".beads-hooks"


def test_team_without_its_choice_and_without_a_terminal_is_refused(repo: Path) -> None:
    proc = Bd(repo)("init", "--team", input="", check=False)
    assert proc.returncode == 1 and "--branch NAME" in proc.stderr and "--no-sync-branch" in proc.stderr
    assert not (repo / ".beads").exists()


@pytest.mark.parametrize("args, message", [
    (("--team", "--branch", "main"), "must not be the working branch"),
    (("--team", "--branch", "bad..name"), "invalid branch name"),
    (("--team", "--branch", "x", "--no-sync-branch"), "contradict"),
    (("--planning-repo", "/tmp/p"), "goes with --contributor"),
    (("--no-auto-sync",), "go with --team"),
])
def test_contradictory_or_invalid_mode_flags_are_refused(repo: Path, args: tuple[str, ...], message: str) -> None:
    proc = Bd(repo)("init", *args, input="", check=False)
    assert proc.returncode == 1 and message in proc.stderr, proc
    assert not (repo / ".beads").exists()


def test_team_outside_git_is_refused(tmp_path: Path) -> None:
    proc = Bd(tmp_path)("init", "--team", "--no-sync-branch", input="", check=False)
    assert proc.returncode == 1 and "needs a git repository" in proc.stderr


def run_on_a_terminal(cwd: Path, args: list[str], answers: str) -> subprocess.CompletedProcess[str]:
    """Run bd with stdin on a pseudo-terminal that already holds ``answers`` (the line discipline
    hands them over one line per read)."""
    master, slave = pty.openpty()
    try:
        os.write(master, answers.encode())
        proc = subprocess.run([BD, *args], cwd=cwd, stdin=slave, capture_output=True, text=True, timeout=120)
    finally:
        os.close(slave)
        os.close(master)
    return proc


def test_team_wizard_asks_on_a_terminal(repo: Path) -> None:
    proc = run_on_a_terminal(repo, ["init", "--team", "--prefix", "tm", "--json"], "y\nteam-issues\nn\ny\n")
    assert proc.returncode == 0, proc.stderr
    assert "Is your main branch protected" in proc.stderr and "auto-sync" in proc.stderr
    assert json.loads(proc.stdout)["team"] == {"sync_branch": "team-issues", "auto_sync": False,
                                               "shared_hooks": True}
    assert setting_lines(repo)["sync.branch"] == "team-issues"
    assert git(repo, "config", "core.hooksPath").stdout.strip() == ".beads-hooks"


def test_contributor_wizard_asks_on_a_terminal_and_can_be_canceled(fork: tuple[Path, Path]) -> None:
    clone, planning = fork
    git(clone, "remote", "remove", "upstream")
    canceled = run_on_a_terminal(clone, ["init", "--contributor"], "n\n")
    assert canceled.returncode == 1 and "canceled" in canceled.stderr
    assert not (clone / ".beads" / "beads.db").exists()
    proc = run_on_a_terminal(clone, ["init", "--contributor", "--json"], f"y\n{planning}\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["contributor"]["planning_repo"] == str(planning)
    assert (planning / ".beads" / "beads.db").is_file()
