"""Where ``bd create`` puts a new issue: this project, or another repository (spec §8.9 ``routing.*``).

The original's contributor mode: someone who contributes to a project they do not
own keeps their planning issues in a separate repository (``~/.beads-planning`` by
default) so they never show up in the pull requests they send upstream.

* ``routing.mode: auto`` routes by role: ``routing.maintainer`` for a maintainer,
  ``routing.contributor`` for a contributor (each only when set);
* otherwise ``routing.default`` when set; otherwise this project;
* ``bd create --repo PATH`` overrides all of it.

The role is ``git config beads.role`` (``maintainer`` or ``contributor``; ``bd init
--contributor`` sets it) or else guessed from the push URL of ``origin`` as the
original does: an SSH URL or one carrying credentials (``user@``) means push access,
so a maintainer; anything else, or no ``origin``, a contributor.

A target names a project directory (or its ``.beads`` directory); ``~`` is expanded
and a relative path is taken from this project's root. A target without a beads
database gets one on first use, with this project's issue prefix (as the original).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from beads.core.workspace import Workspace

ROLE_KEY = "beads.role"
ROLES = ("maintainer", "contributor")
DEFAULT_PLANNING_REPO = "~/.beads-planning"
PLANNING_README = """\
# Planning issues

This repository holds bd (beads) issues for work on projects this user contributes to
but does not own: plans, notes and todos that must not travel with the pull requests
sent upstream. `bd create` in such a project puts new issues here
(`bd init --contributor`); run bd commands in this directory to work with them.
"""


def detect_role(project_root: str) -> str:
    """``maintainer`` or ``contributor`` for the repository around ``project_root``."""
    from beads.sync.git import find_git

    git = find_git(project_root)
    if git is None:
        return "contributor"
    role = (git.config_get(ROLE_KEY) or "").strip().lower()
    if role in ROLES:
        return role
    url = _remote_url(git, "--push") or _remote_url(git)
    return role_from_url(url) if url else "contributor"


def _remote_url(git: Any, *flags: str) -> str | None:
    proc = git.run("remote", "get-url", *flags, "origin", check=False)
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def role_from_url(url: str) -> str:
    if url.startswith(("git@", "ssh://")) or "@" in url:
        return "maintainer"
    return "contributor"


def target(settings: Mapping[str, Any], role: Callable[[], str], override: str | None = None) -> str:
    """The configured target for a new issue: a path as written in the settings, or ``.`` for here."""
    if override:
        return override
    if str(settings.get("routing.mode") or "").strip().lower() == "auto":
        by_role = {r: str(settings.get(f"routing.{r}") or "").strip() for r in ROLES}
        if any(by_role.values()):
            chosen = by_role[role()]
            if chosen:
                return chosen
    return str(settings.get("routing.default") or "").strip() or "."


def expand(path: str, base: str) -> str:
    """``path`` as an absolute project directory (``~`` expanded, relative to ``base``; ``.beads`` stripped)."""
    full = os.path.abspath(os.path.join(base, os.path.expanduser(path)))
    return os.path.dirname(full) if os.path.basename(full) == ".beads" else full


def routed_workspace(settings: Mapping[str, Any], here: Workspace, override: str | None = None) -> Workspace | None:
    """The workspace a new issue goes to when that is not ``here``; None for here."""
    chosen = target(settings, lambda: detect_role(here.root), override)
    if chosen == ".":
        return None
    project = expand(chosen, here.root)
    if os.path.realpath(project) == os.path.realpath(here.root):
        return None
    from beads.core.workspace import Workspace, follow_redirect

    beads_dir, redirected_from = follow_redirect(os.path.join(project, ".beads"))
    return Workspace(beads_dir, redirected_from=redirected_from)


def ensure_database(workspace: Workspace, prefix: str | None) -> None:
    """Give a routing target its beads database on first use (with ``prefix``, else its directory's name)."""
    if workspace.db_exists():
        return
    from beads.core.setup import init_workspace

    init_workspace(workspace.root, prefix=prefix or None)


def ensure_planning_repo(path: str, prefix: str | None) -> dict[str, Any]:
    """Create (or complete) a planning repository: a git repository with bd initialised, hooks and
    merge driver included, and a first commit when it is new. Returns what was done."""
    from beads.core.setup import atomic_write, init_workspace
    from beads.errors import BdError
    from beads.sync import githooks, setup_hooks
    from beads.sync.git import Git, find_git

    done: dict[str, Any] = {"path": path}
    created = not os.path.exists(path)
    os.makedirs(path, exist_ok=True)
    git = find_git(path)
    if git is None or os.path.realpath(git.root) != os.path.realpath(path):
        Git(path).run("init", "-q")
        git = find_git(path)
        done["git_init"] = True
    existing = os.path.isdir(os.path.join(path, ".beads"))
    workspace = init_workspace(path, prefix=prefix or None)
    done["bd_init"] = not existing
    if not os.path.exists(workspace.jsonl_path):
        atomic_write(workspace.jsonl_path, "", 0o644)  # committed from the start, as the original's
    if git is not None:
        setup_hooks.register_merge_driver(git, workspace)
        githooks.install(git, workspace.root)
    if created and git is not None:
        atomic_write(os.path.join(path, "README.md"), PLANNING_README)
        try:
            git.run("add", "-A")
            git.run("commit", "-q", "-m", "Planning repository for bd issues (bd init --contributor)",
                    env={"BD_SYNC_IN_PROGRESS": "1"})
            done["committed"] = True
        except BdError as exc:  # no git identity, say: the repository is usable anyway
            done["commit_error"] = exc.message
    done["created"] = created
    return done
