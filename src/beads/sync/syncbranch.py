"""Sync-branch mode (spec §8.6): which branch carries the beads files, when one is configured.

With a sync branch, ``bd sync`` commits ``.beads/`` to that branch through a git worktree
under the repository's common git directory and never commits to, checks out or pushes
the user's working branch. This module answers the one question every part asks first
(the CLI, the git hooks, the daemon): is a sync branch configured, and which.

Order: ``BEADS_SYNC_BRANCH``, then the ``BD_SYNC_BRANCH`` override of the key, then
``sync.branch`` (alias ``sync-branch``) in ``.beads/config.yaml``.
"""

from __future__ import annotations

import os

ENV = "BEADS_SYNC_BRANCH"
KEYS = ("sync.branch", "sync-branch")
WORKTREES_DIR = "beads-worktrees"


def branch_name(beads_dir: str) -> str | None:
    """The configured sync branch for the workspace whose ``.beads`` is ``beads_dir``, or None.

    An unreadable ``config.yaml`` counts as no sync branch here; the commands that read it
    for other settings report the problem.
    """
    from beads.core.config import env_value, load_yaml

    value = os.environ.get(ENV)
    if not value:
        for key in KEYS:
            value = env_value(key)
            if value:
                break
    if not value:
        try:
            settings = load_yaml(os.path.join(beads_dir, "config.yaml"))
        except Exception:  # noqa: BLE001 - reported by the commands that need the other settings
            settings = {}
        for key in KEYS:
            if settings.get(key):
                value = str(settings[key])
                break
    value = (value or "").strip()
    return value or None


def worktree_path(common_git_dir: str, branch: str) -> str:
    """Where the sync branch's worktree lives: ``<git common dir>/beads-worktrees/<branch>``."""
    return os.path.join(common_git_dir, WORKTREES_DIR, branch)


def remote_name(beads_dir: str) -> str | None:
    """``sync.remote`` (env ``BD_SYNC_REMOTE``, then ``config.yaml``), or None when unset."""
    from beads.core.config import env_value, load_yaml

    value = env_value("sync.remote")
    if not value:
        try:
            value = str(load_yaml(os.path.join(beads_dir, "config.yaml")).get("sync.remote") or "")
        except Exception:  # noqa: BLE001 - reported by the commands that need the other settings
            value = ""
    return value.strip() or None


def check_name(name: str, *, current: str | None = None) -> str:
    """``name`` if git accepts it as a branch name (``git check-ref-format --branch``) and it is not
    ``current`` (the checked-out branch); else ``InvalidInput`` in one line."""
    from beads.errors import InvalidInput
    from beads.sync.git import valid_branch_name

    name = name.strip()
    if not name or name.startswith("-"):
        raise InvalidInput(f"invalid sync branch name {name!r}: git does not accept it as a branch name")
    if valid_branch_name(name) is False:
        raise InvalidInput(f"invalid sync branch name {name!r}: git does not accept it as a branch name",
                           hint="use a name such as 'beads-sync' (see 'git check-ref-format --help')")
    if name.startswith("refs/") or name == "HEAD":
        raise InvalidInput(f"invalid sync branch name {name!r}: give a plain branch name such as 'beads-sync'")
    if current is not None and name == current:
        raise InvalidInput(f"the sync branch cannot be the branch you work on ({name!r})",
                           hint="pick another name, e.g. 'beads-sync': bd commits the issues there and "
                                "leaves your branch alone")
    return name
