"""``bd admin reset``: remove beads from a repository — its bd git hooks and the ``.beads`` directory.

The plan is computed first and shown unless ``--force`` (the original's preview); the removal
puts back any hook that bd's hook had chained. Nothing outside ``.beads`` and the bd hooks is
touched (the merge driver line in ``.gitattributes`` and git config stay: harmless without bd).
"""

from __future__ import annotations

import os
import shutil

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def plan(beads_dir: str) -> list[dict[str, str]]:
    """What a reset removes: ``[{type, path, description}]``."""
    from beads.sync import githooks
    from beads.sync.git import find_git

    items = []
    git = find_git(os.path.dirname(beads_dir))
    if git is not None:
        for hook in githooks.status(git):
            if hook["installed"]:
                items.append({"type": "hook", "path": hook["path"], "description": f"git hook {hook['name']}"})
    if os.path.isdir(beads_dir):
        items.append({"type": "directory", "path": beads_dir,
                      "description": ".beads directory (database, JSONL, config)"})
    return items


def reset(beads_dir: str) -> list[dict[str, Any]]:
    """Carry out ``plan``; returns what was done."""
    from beads.sync import sharedhooks
    from beads.sync.git import find_git

    done: list[dict[str, Any]] = []
    git = find_git(os.path.dirname(beads_dir))
    if git is not None:  # core.hooksPath is unset too when it points at .beads-hooks
        reports = sharedhooks.uninstall_all(git)["hooks"]
        done += [{"type": "hook", **r} for r in reports if r["action"] == "removed"]
    if os.path.isdir(beads_dir):
        shutil.rmtree(beads_dir)
        done.append({"type": "directory", "path": beads_dir, "action": "removed"})
    return done
