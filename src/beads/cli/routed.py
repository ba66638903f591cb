"""``bd create`` into another project (``--repo`` or ``routing.*``: contributor mode).

The issue is written straight into the target's database through a Barrier of its
own (also inside the daemon, which serves this project, not the target), and the
target's JSONL is flushed; this project's database and JSONL are not touched.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.cli.context import Context
    from beads.core.workspace import Workspace


def create_routed(ctx: Context, target: Workspace, title: str, fields: dict[str, Any], nudges: list[str]) -> int:
    from beads.errors import InvalidInput

    where = _shown(target.root)
    if ctx.args.dry_run:
        preview = {"title": title, **{k: v for k, v in fields.items() if v not in (None, "", [], False)},
                   "repo": target.root}
        if ctx.json:
            ctx.emit(preview)
        else:
            ctx.out(f"Would create issue: {title} (in {where})")
        return 0
    if getattr(ctx.args, "readonly", False):
        raise InvalidInput("operation 'create' is not allowed in read-only mode")
    issue = _create(ctx, target, title, fields)
    for nudge in nudges:
        ctx.warn(nudge)
    from beads.cli.cmd_issues import report_created

    report_created(ctx, issue, where)
    return 0


def _create(ctx: Context, target: Workspace, title: str, fields: dict[str, Any]) -> dict[str, Any]:
    from beads.sync.barrier import Barrier
    from beads.sync.identity import resolve_owner
    from beads.sync.routing import ensure_database

    ensure_database(target, _prefix_here(ctx))
    actor = ctx.actor(git=True)
    barrier = Barrier(target, actor=actor, auto_import=ctx.auto_import, auto_flush=ctx.auto_flush,
                      command="create", private=True, import_warning=ctx.warn)
    try:
        tracker = barrier.writer("create")
        tracker.actor = actor
        tracker.owner = resolve_owner() or ""
        issue = tracker.create(title, **fields)
        barrier.finish(ctx.warn)
    finally:
        barrier.close()
    return issue


def _prefix_here(ctx: Context) -> str | None:
    """This project's issue prefix, which a new routing target inherits (as the original)."""
    from beads.errors import BdError

    try:
        ws = ctx.workspace()
    except BdError:
        return None
    if not ws.db_exists():
        return None
    from beads.storage.sqlite.peek import config_values

    values = config_values(ws.db_path, ["issue_prefix"]) or {}
    return values.get("issue_prefix") or None


def _shown(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home != "/" and (path == home or path.startswith(home + os.sep)) else path
