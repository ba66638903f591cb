"""Shared hooks (``bd hooks install --shared``: ``.beads-hooks/`` + ``core.hooksPath``) and ``--chain``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sync_helpers import BD_DIR, bd_json, bd_ok, git, run_bd

HOOKS = ("pre-commit", "post-merge", "pre-push", "post-checkout")


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture
def project(repo: Path) -> Path:
    """A git repo with bd initialised (plain hooks in .git/hooks) and one commit."""
    bd_ok("init", "--prefix", "sh", "--quiet", cwd=repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def foreign_hook(path: Path, marker: Path, status: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho ran \"$@\" >> '{marker}'\nexit {status}\n")
    path.chmod(0o755)


def hooks_path(repo: Path) -> str | None:
    proc = git(repo, "config", "--get", "core.hooksPath", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def commit_code(repo: Path, name: str = "code.txt") -> None:
    (repo / name).write_text(f"{name}\n")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")


# -- --shared ---------------------------------------------------------------------------------------


def test_shared_install_writes_versioned_shims_and_points_git_at_them(project: Path) -> None:
    result = bd_json("hooks", "install", "--shared", cwd=project)
    assert result["shared"] is True and result["hooks_dir"] == str(project / ".beads-hooks")
    assert hooks_path(project) == ".beads-hooks"
    for name in HOOKS:
        text = (project / ".beads-hooks" / name).read_text()
        assert text.startswith("#!/bin/sh\n# bd-shim v1\n")
        assert not (project / ".git" / "hooks" / name).exists()  # the old, now unused shims are gone
    entries = bd_json("hooks", "list", cwd=project)
    assert all(e["installed"] and e["shared"] and e["path"].startswith(str(project / ".beads-hooks"))
               for e in entries)


def test_a_commit_runs_the_shared_pre_commit_shim(project: Path) -> None:
    bd_ok("hooks", "install", "--shared", cwd=project)
    git(project, "add", ".beads-hooks")
    git(project, "commit", "-q", "-m", "share bd hooks")
    issue = bd_ok("create", "Flushed by the shared hook", "--silent", "--no-auto-flush", cwd=project).stdout.strip()
    commit_code(project)
    assert issue in git(project, "show", "HEAD:.beads/issues.jsonl").stdout
    assert git(project, "ls-files", ".beads-hooks").stdout.split() == [f".beads-hooks/{h}" for h in sorted(HOOKS)]


def test_a_foreign_hook_in_the_shared_directory_is_chained_and_runs(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    foreign_hook(project / ".beads-hooks" / "pre-commit", marker)
    original = (project / ".beads-hooks" / "pre-commit").read_text()
    reports = bd_json("hooks", "install", "--shared", cwd=project)["hooks"]
    assert {r["hook"]: r["action"] for r in reports}["pre-commit"] == "chained"
    assert (project / ".beads-hooks" / "pre-commit.pre-bd").read_text() == original
    commit_code(project)
    assert marker.read_text() == "ran\n"

    result = bd_json("hooks", "uninstall", cwd=project)
    assert result["unset"] == "core.hooksPath" and hooks_path(project) is None
    assert (project / ".beads-hooks" / "pre-commit").read_text() == original  # restored, never lost
    assert sorted(p.name for p in (project / ".beads-hooks").iterdir()) == ["pre-commit"]


def test_uninstall_removes_an_emptied_shared_directory_and_leaves_git_hooks_free(project: Path) -> None:
    bd_ok("hooks", "install", "--shared", cwd=project)
    bd_ok("hooks", "uninstall", cwd=project)
    assert not (project / ".beads-hooks").exists()
    assert hooks_path(project) is None
    assert not [p for p in (project / ".git" / "hooks").iterdir() if not p.name.endswith(".sample")]


def test_uninstall_leaves_a_hooks_path_that_is_not_bds_alone(project: Path) -> None:
    git(project, "config", "core.hooksPath", ".githooks")
    bd_ok("hooks", "install", cwd=project)
    assert "bd-shim" in (project / ".githooks" / "pre-commit").read_text()
    bd_ok("hooks", "uninstall", cwd=project)
    assert hooks_path(project) == ".githooks"
    assert not (project / ".githooks" / "pre-commit").exists()


def test_shared_install_refuses_to_strand_foreign_hooks_in_git_hooks(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    foreign_hook(project / ".git" / "hooks" / "commit-msg", marker)
    proc = run_bd("hooks", "install", "--shared", cwd=project)
    assert proc.returncode != 0 and "commit-msg" in proc.stderr and "--force" in proc.stderr
    assert hooks_path(project) is None and not (project / ".beads-hooks").exists()
    assert "bd-shim" in (project / ".git" / "hooks" / "pre-commit").read_text()  # nothing changed

    result = bd_json("hooks", "install", "--shared", "--force", cwd=project)
    assert result["stranded"] == [str(project / ".git" / "hooks" / "commit-msg")]
    assert (project / ".git" / "hooks" / "commit-msg").exists()  # moved nowhere, deleted never
    assert hooks_path(project) == ".beads-hooks"


def test_shared_install_refuses_to_replace_another_hooks_path(project: Path) -> None:
    git(project, "config", "core.hooksPath", ".husky")
    proc = run_bd("hooks", "install", "--shared", cwd=project)
    assert proc.returncode != 0 and ".husky" in proc.stderr
    assert hooks_path(project) == ".husky"
    bd_ok("hooks", "install", "--shared", "--force", cwd=project)
    assert hooks_path(project) == ".beads-hooks"


def test_reinstalling_shared_hooks_does_not_touch_the_versioned_files(project: Path) -> None:
    bd_ok("hooks", "install", "--shared", cwd=project)
    git(project, "add", ".beads-hooks")
    git(project, "commit", "-q", "-m", "share bd hooks")
    shim = project / ".beads-hooks" / "pre-push"
    shim.write_text(shim.read_text().replace("# bd-hooks-version: ", "# bd-hooks-version: 0.0.1-older"))
    git(project, "commit", "-q", "-am", "a teammate's older bd wrote the shims")
    bd_ok("hooks", "install", "--shared", cwd=project)
    assert not git(project, "status", "--porcelain", ".beads-hooks").stdout.strip()


def test_a_teammates_clone_picks_up_the_shared_hooks_on_init(project: Path, tmp_path: Path) -> None:
    bd_ok("hooks", "install", "--shared", cwd=project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "share bd hooks")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    entries = bd_json("hooks", "list", cwd=clone)
    assert not any(e["installed"] for e in entries)
    assert "shared hooks" in run_bd("hooks", "list", cwd=clone).stderr
    result = json.loads(bd_ok("init", "--json", cwd=clone).stdout)
    assert result["hooks_shared"] == ".beads-hooks"
    assert hooks_path(clone) == ".beads-hooks"
    assert not git(clone, "status", "--porcelain").stdout.strip()
    issue = bd_ok("create", "From the clone", "--silent", "--no-auto-flush", cwd=clone).stdout.strip()
    commit_code(clone)
    assert issue in git(clone, "show", "HEAD:.beads/issues.jsonl").stdout


def test_init_with_shared_hooks_flag(repo: Path) -> None:
    result = json.loads(bd_ok("init", "--prefix", "sh", "--shared-hooks", "--json", cwd=repo).stdout)
    assert result["hooks_shared"] == ".beads-hooks" and sorted(result["hooks_installed"]) == sorted(HOOKS)
    assert hooks_path(repo) == ".beads-hooks"
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


def test_shared_hooks_work_from_a_linked_worktree(project: Path, tmp_path: Path) -> None:
    bd_ok("hooks", "install", "--shared", cwd=project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "share bd hooks")
    worktree = tmp_path / "wt"
    git(project, "worktree", "add", "-q", "-b", "side", str(worktree))
    marker = tmp_path / "marker"
    foreign_hook(worktree / ".beads-hooks" / "pre-commit.pre-bd", marker)
    commit_code(worktree)
    assert marker.read_text() == "ran\n"  # git ran the worktree's .beads-hooks/pre-commit


# -- --chain ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [(), ("--chain",)], ids=["default", "chain"])
def test_install_chains_an_existing_hook_with_or_without_chain(repo: Path, tmp_path: Path,
                                                               flags: tuple[str, ...]) -> None:
    marker = tmp_path / "marker"
    foreign_hook(repo / ".git" / "hooks" / "post-checkout", marker)
    result = bd_json("hooks", "install", *flags, cwd=repo)
    assert result["chained"] is True
    assert {r["hook"]: r["action"] for r in result["hooks"]}["post-checkout"] == "chained"
    git(repo, "commit", "-q", "--allow-empty", "-m", "root")
    git(repo, "checkout", "-q", "-b", "other")
    assert marker.read_text().startswith("ran ")  # the foreign hook ran, with git's arguments
    bd_ok("hooks", "uninstall", cwd=repo)
    assert "bd-shim" not in (repo / ".git" / "hooks" / "post-checkout").read_text()


def test_a_hook_the_original_bd_chained_as_old_keeps_running(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    hooks = repo / ".git" / "hooks"
    foreign_hook(hooks / "pre-commit.old", marker)
    (hooks / "pre-commit").write_text("#!/bin/sh\n# bd-shim v1\nexec bd hooks run pre-commit \"$@\"\n")
    (hooks / "pre-commit").chmod(0o755)
    reports = bd_json("hooks", "install", "--chain", cwd=repo)["hooks"]
    report = {r["hook"]: r for r in reports}["pre-commit"]
    assert report["adopted"] == str(hooks / "pre-commit.old") and report["chained"] == str(hooks / "pre-commit.pre-bd")
    assert not (hooks / "pre-commit.old").exists()
    git(repo, "commit", "-q", "--allow-empty", "-m", "root")
    assert marker.read_text() == "ran\n"


def test_uninstall_restores_the_originals_backup(repo: Path, tmp_path: Path) -> None:
    hooks = repo / ".git" / "hooks"
    foreign_hook(hooks / "pre-push.backup", tmp_path / "marker")
    (hooks / "pre-push").write_text("#!/bin/sh\n# bd-shim v1\nexec bd hooks run pre-push \"$@\"\n")
    (hooks / "pre-push").chmod(0o755)
    bd_ok("hooks", "uninstall", cwd=repo)
    assert "echo ran" in (hooks / "pre-push").read_text()


def test_doctor_fix_in_a_teammates_clone_turns_on_the_shared_hooks(project: Path, tmp_path: Path) -> None:
    bd_ok("hooks", "install", "--shared", cwd=project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "share bd hooks")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    bd_ok("init", "--skip-hooks", "--quiet", cwd=clone)
    assert hooks_path(clone) is None
    run_bd("doctor", "--fix", "--yes", cwd=clone)
    assert hooks_path(clone) == ".beads-hooks"
    assert not git(clone, "status", "--porcelain").stdout.strip()


def test_admin_reset_removes_shared_hooks_and_unsets_hooks_path(project: Path) -> None:
    bd_ok("hooks", "install", "--shared", cwd=project)
    bd_ok("admin", "reset", "--force", cwd=project)
    assert hooks_path(project) is None and not (project / ".beads-hooks").exists()
