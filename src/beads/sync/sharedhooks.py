"""Where bd's hooks go: git's own hooks directory, or a shared, versioned ``.beads-hooks/``.

``bd hooks install`` puts the shims where git runs hooks today (``.git/hooks``, or
whatever ``core.hooksPath`` names). ``--shared`` puts them in ``.beads-hooks/`` at
the top of the work tree, which is committed, and points ``core.hooksPath`` there
so every clone that does the same (``bd hooks install --shared`` or ``bd init``)
runs the same hooks.

Switching git to another hooks directory stops every hook in the old one from
running, so the switch is refused while the old directory holds hooks that are
not bd's (or while ``core.hooksPath`` already names another directory, as
husky and similar tools do) unless ``force``; bd's own shims in ``.git/hooks``
are removed on the way (uninstalling puts back what they chained).
"""

from __future__ import annotations

import os

from beads.errors import Conflict
from beads.sync import githooks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.sync.git import Git

SHARED_DIR = ".beads-hooks"
HOOKS_PATH_KEY = "core.hooksPath"


def shared_dir(git: Git) -> str:
    return os.path.join(git.root, SHARED_DIR)


def hooks_path(git: Git) -> str | None:
    """``core.hooksPath`` as configured (any scope), or None."""
    return git.config_get(HOOKS_PATH_KEY) or None


def points_at_shared(git: Git) -> bool:
    value = hooks_path(git)
    if not value:
        return False
    absolute = value if os.path.isabs(value) else os.path.join(git.root, value)
    return os.path.normpath(value) == SHARED_DIR or os.path.realpath(absolute) == os.path.realpath(shared_dir(git))


def has_shared_shims(git: Git) -> bool:
    """Whether the work tree carries bd's shared hooks (committed by a teammate, say)."""
    return any(githooks.classify(os.path.join(shared_dir(git), name)) == "shim" for name in githooks.HOOK_NAMES)


def foreign_hooks(directory: str) -> list[str]:
    """Hooks in ``directory`` that git would run and that are not bd's (names, sorted)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    out = []
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(".sample") or not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue
        if githooks.classify(path) in ("shim", "bd"):
            continue
        out.append(name)
    return out


def install_shared(git: Git, project_root: str, *, force: bool = False) -> dict[str, Any]:
    """Shims into ``.beads-hooks/`` and ``core.hooksPath`` set to it; the reports of what was done."""
    target = shared_dir(git)
    result: dict[str, Any] = {"hooks_dir": target, "shared": True}
    if not points_at_shared(git):
        previous = git.hooks_dir()
        current = hooks_path(git)
        if current and not force:
            raise Conflict(f"core.hooksPath is already set to {current!r}; git would stop running the hooks there",
                           hint="'bd hooks install' (without --shared) installs bd's hooks into that directory, "
                                "chaining its hooks; --shared --force switches to .beads-hooks anyway")
        stranded = [name for name in foreign_hooks(previous)
                    if os.path.realpath(os.path.join(previous, name)) != os.path.realpath(os.path.join(target, name))]
        if stranded and not force:
            raise Conflict(f"git would stop running these hooks in {previous}: {', '.join(stranded)}",
                           hint=f"move them into {SHARED_DIR}/ (bd's hooks run <hook>.pre-bd there first), or "
                                "pass --force to switch anyway (the files stay where they are)")
        if stranded:
            result["stranded"] = [os.path.join(previous, name) for name in stranded]
        if os.path.realpath(previous) != os.path.realpath(target) and not current:
            removed = githooks.uninstall(git, hooks_dir=previous)
            result["removed_from_git_dir"] = [r["hook"] for r in removed if r["action"] == "removed"]
    result["hooks"] = githooks.install(git, project_root, force=force, hooks_dir=target)
    git.run("config", "--local", HOOKS_PATH_KEY, SHARED_DIR)
    return result


def install_preferred(git: Git, project_root: str, *, shared: bool = False) -> dict[str, Any]:
    """``bd init`` and ``bd doctor --fix``: shared when asked or when the project already shares bd's
    hooks in ``.beads-hooks/``, else where git runs hooks; a refused switch falls back (``warning``)."""
    warning = None
    if shared or has_shared_shims(git):
        try:
            return install_shared(git, project_root)
        except Conflict as exc:
            warning = f"hooks not shared: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
    result: dict[str, Any] = {"hooks_dir": git.hooks_dir(), "shared": points_at_shared(git),
                              "hooks": githooks.install(git, project_root)}
    if warning:
        result["warning"] = warning
    return result


def uninstall_all(git: Git, *, shared: bool = False) -> dict[str, Any]:
    """Remove bd's hooks where git runs them, and from ``.beads-hooks/`` when asked or active.

    ``core.hooksPath`` is unset only when it points at ``.beads-hooks``; the shared directory
    is removed when nothing is left in it.
    """
    active = git.hooks_dir()
    using_shared = points_at_shared(git)
    dirs = [active]
    if (shared or using_shared) and os.path.realpath(shared_dir(git)) != os.path.realpath(active):
        dirs.append(shared_dir(git))
    reports: list[dict[str, Any]] = []
    for directory in dirs:
        if os.path.isdir(directory):
            reports.extend(githooks.uninstall(git, hooks_dir=directory))
    result: dict[str, Any] = {"hooks": reports}
    if using_shared:
        git.run("config", "--local", "--unset", HOOKS_PATH_KEY, check=False)
        result["unset"] = HOOKS_PATH_KEY
    target = shared_dir(git)
    if (shared or using_shared) and os.path.isdir(target) and not os.listdir(target):
        os.rmdir(target)
        result["removed_dir"] = target
    return result


def where(git: Git) -> dict[str, Any]:
    """Where git runs hooks, whether that is the shared directory, and whether a shared one waits unused."""
    active = git.hooks_dir()
    shared = points_at_shared(git)
    return {"hooks_dir": active, "shared": shared, "shared_available": not shared and has_shared_shims(git)}
