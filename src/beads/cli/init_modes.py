"""``bd init --contributor`` and ``bd init --team``: the original's set-up wizards, with flags.

Every question the original's wizards ask has a flag; with the flags given nothing
is asked. A question without its flag is asked on a terminal and is an error
otherwise (stdin not a TTY), naming the flag. All questions come before ``bd init``
creates anything, so a refusal or a cancel leaves the directory as it was.

* ``--contributor`` (someone working on a fork of a project they do not own):
  planning issues go to a separate repository (``--planning-repo``, the original's
  default ``~/.beads-planning``), created with git and bd when missing;
  ``routing.mode: auto`` and ``routing.contributor`` in config.yaml send ``bd create``
  there, and ``git config beads.role contributor`` pins the role for this clone.
* ``--team`` (everyone works in one repository): ``--branch NAME`` when ``main`` is
  protected (issues are committed to the sync branch NAME, ``sync.branch``) or
  ``--no-sync-branch`` to commit to the working branch; ``--auto-sync`` (default) /
  ``--no-auto-sync`` for the daemon's commit, push and pull; ``--shared-hooks`` to
  share bd's git hooks through ``.beads-hooks/``.
"""

from __future__ import annotations

import os
import sys

from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context
    from beads.core.workspace import Workspace
    from beads.sync.git import Git

DEFAULT_TEAM_BRANCH = "beads-sync"
AUTO_SYNC_KEYS = ("daemon.auto_commit", "daemon.auto_push", "daemon.auto_pull")


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--contributor", action="store_true",
                   help="contributor (fork) set-up: your issues go to a separate planning repository")
    p.add_argument("--planning-repo", metavar="PATH",
                   help="with --contributor: the planning repository (created if missing; e.g. ~/.beads-planning)")
    p.add_argument("--team", action="store_true",
                   help="team set-up: sync branch for a protected main, daemon auto-sync, shared hooks")
    p.add_argument("--no-sync-branch", action="store_true",
                   help="with --team: main is not protected, issues are committed to the working branch")
    p.add_argument("--auto-sync", action="store_true", default=None,
                   help="with --team: the daemon commits, pushes and pulls issue changes (the default)")
    p.add_argument("--no-auto-sync", dest="auto_sync", action="store_false",
                   help="with --team: sync by hand with 'bd sync'")


def requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "contributor", False) or getattr(args, "team", False))


def plan(ctx: Context) -> dict[str, Any]:
    """Validate the flags and ask what they leave open; nothing is changed yet."""
    args = ctx.args
    if args.planning_repo and not args.contributor:
        raise InvalidInput("--planning-repo goes with --contributor")
    if (args.no_sync_branch or args.auto_sync is not None) and not args.team:
        raise InvalidInput("--no-sync-branch, --auto-sync and --no-auto-sync go with --team")
    if not requested(args):
        return {}
    if getattr(args, "no_db", False) or getattr(args, "stealth", False):
        raise InvalidInput("--contributor and --team set up a git repository: not with --no-db or --stealth")
    from beads.sync.git import find_git

    git = find_git(os.getcwd())
    if git is None:
        raise InvalidInput(f"bd init --{'contributor' if args.contributor else 'team'} needs a git repository",
                           hint="run 'git init' (or clone the repository) first")
    out: dict[str, Any] = {}
    if args.contributor:
        out["contributor"] = _plan_contributor(ctx, git)
    if args.team:
        out["team"] = _plan_team(ctx, git)
    return out


def apply(ctx: Context, workspace: Workspace, planned: dict[str, Any]) -> dict[str, Any]:
    """Carry out what ``plan`` decided, after ``bd init`` made the workspace; notes for the output."""
    notes: dict[str, Any] = {}
    if "contributor" in planned:
        notes["contributor"] = _apply_contributor(ctx, workspace, planned["contributor"])
    if "team" in planned:
        notes["team"] = _apply_team(ctx, workspace, planned["team"])
    return notes


# -- asking ------------------------------------------------------------------------------------------


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _need(flag: str, question: str) -> InvalidInput:
    return InvalidInput(f"{question} stdin is not a terminal, so say it with {flag}")


def _ask(ctx: Context, question: str, default: str) -> str:
    ctx.stderr.write(question)
    ctx.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput("set-up canceled (end of input); nothing was changed")
    return line.strip() or default


def _yes(ctx: Context, question: str, default: bool) -> bool:
    answer = _ask(ctx, f"{question} [{'Y/n' if default else 'y/N'}]: ", "y" if default else "n").lower()
    return answer in ("y", "yes")


# -- contributor -------------------------------------------------------------------------------------


def _plan_contributor(ctx: Context, git: Git) -> dict[str, Any]:
    from beads.sync.routing import DEFAULT_PLANNING_REPO

    upstream = _remote_url(git, "upstream")
    origin = _remote_url(git, "origin")
    push = origin is not None and not origin.startswith(("https://", "http://"))  # the original's wizard
    path = ctx.args.planning_repo
    if not path:
        if not _interactive():
            raise _need("--planning-repo PATH", "bd init --contributor: where should your planning issues go "
                        f"(the original's default is {DEFAULT_PLANNING_REPO})?")
        if upstream is None and not _yes(ctx, "No 'upstream' remote (the project you forked): for a fork, "
                                              "'git remote add upstream <url>'.\nContinue with the contributor "
                                              "set-up?", False):
            raise InvalidInput("contributor set-up canceled; nothing was changed")
        if push and not _yes(ctx, f"You can push to origin ({origin}). Use a separate planning repository "
                                  "anyway?", True):
            raise InvalidInput("contributor set-up canceled; nothing was changed (issues stay in this repository)")
        path = _ask(ctx, f"Planning repository [{DEFAULT_PLANNING_REPO}]: ", DEFAULT_PLANNING_REPO)
    full = os.path.abspath(os.path.expanduser(path))
    root = os.path.realpath(git.root)
    if os.path.realpath(full) == root or os.path.realpath(full).startswith(root + os.sep):
        raise InvalidInput(f"the planning repository {full} is inside this repository: its issues would go "
                           "upstream with your commits", hint="choose a path outside it, e.g. ~/.beads-planning")
    home = os.path.expanduser("~")
    stored = path if path.startswith("~") else full  # '~/…' stays portable; anything else is made absolute
    if stored == full and home != "/" and full.startswith(home + os.sep):
        stored = "~" + full[len(home):]
    return {"planning_repo": full, "setting": stored, "upstream": upstream, "origin": origin,
            "push_access": push}


def _remote_url(git: Git, name: str) -> str | None:
    proc = git.run("remote", "get-url", name, check=False)
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def _apply_contributor(ctx: Context, workspace: Workspace, planned: dict[str, Any]) -> dict[str, Any]:
    from beads.core.config import set_yaml_value
    from beads.sync.git import find_git
    from beads.sync.routing import ROLE_KEY, ensure_planning_repo

    prefix = _prefix(workspace)
    done = ensure_planning_repo(planned["planning_repo"], prefix)
    set_yaml_value(workspace.config_yaml_path, "routing.mode", "auto")
    set_yaml_value(workspace.config_yaml_path, "routing.contributor", planned["setting"])
    git = find_git(workspace.root)
    if git is not None:
        git.run("config", "--local", ROLE_KEY, "contributor")
    ctx.info(f"✓ Planning repository: {planned['planning_repo']}" + (" (created)" if done["created"] else ""))
    ctx.info("✓ Issues you create here go there (routing.mode: auto, routing.contributor in .beads/config.yaml; "
             f"git config {ROLE_KEY} contributor)")
    if planned["upstream"] is None:
        ctx.info("  Note: no 'upstream' remote; for a fork, 'git remote add upstream <url>'")
    ctx.info("  'bd create --repo .' puts one issue in this repository after all.")
    return {"planning_repo": planned["planning_repo"], "routing_contributor": planned["setting"],
            "role": "contributor", "upstream": planned["upstream"], "planning_created": done["created"]}


def _prefix(workspace: Workspace) -> str | None:
    from beads.storage.sqlite.peek import config_values

    return (config_values(workspace.db_path, ["issue_prefix"]) or {}).get("issue_prefix") or None


# -- team ----------------------------------------------------------------------------------------------


def _plan_team(ctx: Context, git: Git) -> dict[str, Any]:
    args = ctx.args
    branch = args.branch
    if branch and args.no_sync_branch:
        raise InvalidInput("--branch and --no-sync-branch contradict each other")
    if not branch and not args.no_sync_branch:
        if not _interactive():
            raise _need("--branch NAME (a sync branch for issues) or --no-sync-branch",
                        "bd init --team: is your main branch protected (pull requests only)?")
        if _yes(ctx, "Is your main branch protected (no direct pushes, pull requests only)?", False):
            branch = _ask(ctx, f"Sync branch for issue commits [{DEFAULT_TEAM_BRANCH}]: ", DEFAULT_TEAM_BRANCH)
    if branch:
        _check_branch(git, branch)
    auto_sync = args.auto_sync
    if auto_sync is None:
        auto_sync = _yes(ctx, "Let the daemon commit, push and pull issue changes (auto-sync)?", True) \
            if _interactive() else True
    shared = bool(getattr(args, "shared_hooks", False))
    if not shared and _interactive():
        shared = _yes(ctx, "Share bd's git hooks with the team (.beads-hooks/, core.hooksPath)?", False)
        args.shared_hooks = shared  # bd init installs the hooks
    return {"sync_branch": branch or None, "auto_sync": auto_sync, "shared_hooks": shared}


def _check_branch(git: Git, branch: str) -> None:
    if git.run("check-ref-format", "--branch", branch, check=False).returncode != 0 or branch.startswith("-"):
        raise InvalidInput(f"invalid branch name {branch!r}")
    if branch in ("main", "master") or branch == git.current_branch():
        raise InvalidInput(f"the sync branch must not be the working branch ({branch}): bd commits issues there",
                           hint=f"pick another name, e.g. --branch {DEFAULT_TEAM_BRANCH}")


def _apply_team(ctx: Context, workspace: Workspace, planned: dict[str, Any]) -> dict[str, Any]:
    from beads.core.config import set_yaml_value

    path = workspace.config_yaml_path
    branch = planned["sync_branch"]
    if branch:
        set_yaml_value(path, "sync.branch", branch)
    for key in AUTO_SYNC_KEYS:
        set_yaml_value(path, key, "true" if planned["auto_sync"] else "false")
    ctx.info(f"✓ Team set-up: 'bd sync' commits issues to the sync branch {branch} (sync.branch); merge it into "
             "main by pull request ('bd sync --merge')" if branch else
             "✓ Team set-up: 'bd sync' commits issues to the working branch")
    ctx.info("✓ Auto-sync " + ("on: the daemon commits, pushes and pulls issue changes" if planned["auto_sync"]
                               else "off: run 'bd sync' to share issue changes") + " (daemon.auto_* in config.yaml)")
    ctx.info("  Commit .beads/ (and .beads-hooks/ when shared) so the team gets the same set-up.")
    return dict(planned)
