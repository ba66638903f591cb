"""What ``bd init`` does beyond the database (spec §7.10): git wiring and the first import.

* registers the JSONL merge driver (``git config merge.beads.*`` and a
  ``.gitattributes`` line), unless ``--skip-merge-driver`` or ``--stealth``;
* installs the git hook shims, unless ``--skip-hooks`` or ``--stealth``;
* with ``--stealth``, hides ``.beads/`` from git through ``.git/info/exclude``;
* imports the issues already in the JSONL (a fresh clone), taking the issue
  prefix from them when ``--prefix`` was not given.

Outside a git repository only the import applies, and the result says so.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.cli.context import Context
    from beads.core.workspace import Workspace
    from beads.sync.git import Git

MERGE_DRIVER = "bd merge %A %O %A %B"
MERGE_DRIVER_NAME = "bd JSONL merge driver"


def after_init(ctx: Context, workspace: Workspace) -> dict[str, Any]:
    from beads.errors import BdError
    from beads.sync.git import find_git

    args = ctx.args
    stealth = bool(getattr(args, "stealth", False))
    done: dict[str, Any] = {}
    git = find_git(workspace.root)
    done["git_repo"] = git is not None
    if git is None:
        ctx.info("Not a git repository: skipped the merge driver and git hooks "
                 "(run 'git init' and then 'bd init' again to add them)")
    else:
        try:
            _wire_git(ctx, git, workspace, stealth, done)
        except BdError as exc:
            ctx.warn(f"git setup incomplete: {exc.message}")
            done["git_error"] = exc.message
    imported = import_existing(ctx, workspace)
    if imported is not None:
        done["imported"] = imported
    return done


def _wire_git(ctx: Context, git: Git, workspace: Workspace, stealth: bool, done: dict[str, Any]) -> None:
    args = ctx.args
    if stealth or getattr(args, "setup_exclude", False):
        done["excluded"] = exclude_locally(git, workspace)
        ctx.info("✓ .beads/ hidden from git via .git/info/exclude" + (" (stealth mode)" if stealth else ""))
    if stealth or getattr(args, "skip_merge_driver", False):
        done["merge_driver"] = False
    else:
        done["merge_driver"] = True
        done["gitattributes"] = register_merge_driver(git, workspace)
        ctx.info("✓ Git merge driver registered for the issues JSONL")
    if stealth or getattr(args, "skip_hooks", False):
        done["hooks_installed"] = []
        return
    reports = _install_hooks(ctx, git, workspace, done)
    done["hooks_installed"] = [r["hook"] for r in reports if r["action"] != "skipped"]
    chained = [r["hook"] for r in reports if r["action"] == "chained"]
    if chained:
        done["hooks_chained"] = chained
    for r in reports:
        if r["action"] == "skipped":
            ctx.warn(r["reason"])
    ctx.info("✓ Git hooks installed" + (f" (chained with existing: {', '.join(chained)})" if chained else ""))


def _install_hooks(ctx: Context, git: Git, workspace: Workspace, done: dict[str, Any]) -> list[dict[str, Any]]:
    """Into ``.beads-hooks/`` when asked (``--shared-hooks``) or when the project already shares hooks
    there; otherwise where git runs hooks (``sharedhooks.install_preferred``)."""
    from beads.sync import sharedhooks

    result = sharedhooks.install_preferred(git, workspace.root, shared=bool(getattr(ctx.args, "shared_hooks", False)))
    if result.get("warning"):
        ctx.warn(result["warning"])
    if result["shared"]:
        done["hooks_shared"] = sharedhooks.SHARED_DIR
        ctx.info(f"✓ Git hooks shared through {sharedhooks.SHARED_DIR}/ (core.hooksPath)")
    return list(result["hooks"])


def register_merge_driver(git: Git, workspace: Workspace) -> str:
    """Set ``merge.beads.*`` in the repo config and add the ``.gitattributes`` line (idempotent)."""
    git.config_set("merge.beads.driver", MERGE_DRIVER)
    git.config_set("merge.beads.name", MERGE_DRIVER_NAME)
    path = os.path.join(workspace.root, ".gitattributes")
    pattern = os.path.relpath(workspace.jsonl_path, workspace.root).replace(os.sep, "/")
    line = f"{pattern} merge=beads"
    _append_line(path, line, lambda existing: existing.split() == line.split())
    return path


def exclude_locally(git: Git, workspace: Workspace) -> str:
    path = git.git_path("info/exclude")
    pattern = "/" + os.path.relpath(workspace.beads_dir, git.root).replace(os.sep, "/") + "/"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _append_line(path, pattern, lambda existing: existing.strip() == pattern)
    return path


def _append_line(path: str, line: str, present: Any) -> None:
    from beads.core.setup import atomic_write

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        text = ""
    if any(present(existing) for existing in text.splitlines()):
        return
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write(path, text + line + "\n")


def import_existing(ctx: Context, workspace: Workspace) -> dict[str, Any] | None:
    """Import a JSONL that already holds issues (a fresh clone); None when there is nothing to import."""
    from beads.errors import BdError

    path = workspace.jsonl_path
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            has_lines = any(line.strip() for line in fh)
    except OSError:
        return None
    if not has_lines:
        return None
    try:
        from beads.sync.importer import import_file
    except ImportError:
        ctx.warn(f"{os.path.basename(path)} holds issues but this bd cannot import yet; run 'bd import' later")
        return None
    from beads.core.tracker import Tracker
    from beads.storage.sqlite.store import SqliteStore

    tracker = Tracker(SqliteStore(workspace.db_path), actor=ctx.actor(), workspace=workspace)
    try:
        if not getattr(ctx.args, "prefix", None) and tracker.store.issue_count() == 0:
            prefix = prefix_from_jsonl(path)
            if prefix:
                tracker.set_config("issue_prefix", prefix)
        result = import_file(tracker, path)
    except BdError as exc:
        ctx.warn(f"could not import the existing {os.path.basename(path)}: {exc.message}")
        return {"error": exc.message}
    finally:
        tracker.disconnect()
    ctx.info(f"✓ Imported existing issues from {os.path.relpath(path, os.getcwd())}")
    return result


def prefix_from_jsonl(path: str) -> str | None:
    """The most common issue prefix in a JSONL file (``proj`` for ``proj-a1b2.3``)."""
    import json
    import re
    from collections import Counter

    counts: Counter[str] = Counter()
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    issue_id = json.loads(line).get("id")
                except (ValueError, AttributeError):
                    continue
                if isinstance(issue_id, str) and "-" in issue_id:
                    counts[re.sub(r"(\.\d+)+$", "", issue_id).rsplit("-", 1)[0]] += 1
    except OSError:
        return None
    if not counts:
        return None
    return max(sorted(counts), key=lambda p: counts[p])
