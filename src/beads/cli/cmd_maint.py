"""Maintenance commands: duplicates, orphans, admin cleanup (and its hidden top-level alias).

The rules live in ``beads.core.maintenance``; deletion reuses ``bd delete``'s preview and
batch path, so ``admin cleanup --dry-run`` shows exactly what ``--force`` removes.
"""

from __future__ import annotations

from beads.cli.flags import MAX_DAYS, int_arg
from beads.cli.main import new_subparser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"duplicates": _register_duplicates, "orphans": _register_orphans, "admin": _register_admin,
     "cleanup": _register_cleanup_alias, "rename-prefix": _register_rename_prefix}[name](sub)


# -- rename-prefix ----------------------------------------------------------------------------


def _register_rename_prefix(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "rename-prefix", "Change the issue prefix: every ID and text reference, in one go")
    p.add_argument("new_prefix", metavar="new-prefix")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.set_defaults(run=run_rename_prefix)


def run_rename_prefix(ctx: Context) -> int:
    from beads.core import maintenance

    args = ctx.args
    tracker = ctx.tracker() if args.dry_run else ctx.writer("rename-prefix")
    result = maintenance.rename_prefix(tracker, args.new_prefix, dry_run=args.dry_run)
    if ctx.json:
        ctx.emit(result)
        return 0
    head = "DRY RUN: would rename" if args.dry_run else "✓ Renamed"
    lines = [f"{head} {result['issues']} issue(s) from prefix '{result['old_prefix']}' to '{result['new_prefix']}'"]
    lines += [f"  {s['old']} → {s['new']}" for s in result["sample"]]
    if result["issues"] > len(result["sample"]):
        lines.append(f"  … {result['issues'] - len(result['sample'])} more")
    if not args.dry_run:
        lines.append(f"  text references updated in {result['texts_updated']} place(s)")
    ctx.out("\n".join(lines))
    return 0


# -- duplicates -------------------------------------------------------------------------------


def _register_duplicates(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "duplicates", "Find open issues with identical content (and merge them)")
    p.add_argument("--auto-merge", action="store_true", help="close each duplicate and link it to the one kept")
    p.add_argument("--dry-run", action="store_true", help="show what would be merged, change nothing")
    p.set_defaults(run=run_duplicates)


def run_duplicates(ctx: Context) -> int:
    from beads.core import maintenance

    args = ctx.args
    merge = args.auto_merge and not args.dry_run
    tracker = ctx.writer("duplicates --auto-merge") if merge else ctx.tracker()
    groups = maintenance.find_duplicates(tracker)
    results = maintenance.merge_duplicates(tracker, groups) if merge and groups else []
    if ctx.json:
        doc: dict[str, Any] = {"duplicate_groups": len(groups), "groups": groups}
        if groups and (args.auto_merge or args.dry_run):
            doc["merge_commands"] = [f"# {g['note']}\n# Suggested action: {g['suggested_action']}" for g in groups]
            if merge:
                doc["merge_results"] = results
        ctx.emit(doc)
        return 0
    if not groups:
        ctx.out("No duplicates found!")
        return 0
    lines = [f"🔍 Found {len(groups)} duplicate group(s):", ""]
    for n, group in enumerate(groups, 1):
        lines.append(f"━━ Group {n}: {group['title']}")
        for item in group["issues"]:
            mark = "→ " if item["is_merge_target"] else "  "
            lines.append(f"{mark}{item['id']} ({item['status']}, P{item['priority']}, {item['references']} references)")
        lines.append(f"  Note: {group['note']}")
        lines.append(f"  Suggested: {group['suggested_action']}")
        lines.append("")
    if args.dry_run:
        lines.append(f"⚠ Dry run - would execute {len(groups)} merge(s)")
    elif merge:
        lines.append(f"✓ Merged {len(groups)} group(s)")
    else:
        lines.append("💡 Run with --auto-merge to execute all suggested merges")
    ctx.out("\n".join(lines))
    return 0


# -- orphans ----------------------------------------------------------------------------------


def _register_orphans(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "orphans", "Open issues named in a git commit message: is their work done?")
    p.add_argument("-f", "--fix", action="store_true", help="close them (asks first; -y to skip the question)")
    p.add_argument("-y", "--yes", action="store_true", help="with --fix: do not ask")
    p.add_argument("--details", action="store_true", help="show the latest commit naming each issue")
    p.set_defaults(run=run_orphans)


def _commit_subjects(ctx: Context) -> list[tuple[str, str]]:
    """``(hash, subject)`` of every commit on every branch, newest first; none outside git."""
    import os

    from beads.errors import GitError
    from beads.sync.git import find_git

    git = find_git(os.path.dirname(ctx.workspace().beads_dir))
    if git is None or not git.has_commits():
        return []
    try:
        text = git.out("log", "--all", "--format=%h %s")
    except GitError:
        return []
    pairs = []
    for line in text.splitlines():
        commit, _, subject = line.partition(" ")
        if commit:
            pairs.append((commit, subject))
    return pairs


def run_orphans(ctx: Context) -> int:
    from beads.core import maintenance

    args = ctx.args
    orphans = maintenance.committed_but_open(ctx.tracker(), _commit_subjects(ctx))
    if ctx.json and not args.fix:
        ctx.emit(orphans)
        return 0
    if not orphans:
        ctx.out("[]" if ctx.json else "✓ No orphaned issues found")
        return 0
    if not ctx.json:
        lines = ["", f"⚠ Found {len(orphans)} orphaned issue(s):", ""]
        for n, o in enumerate(orphans, 1):
            lines += [f"{n}. {o['issue_id']}: {o['title']}", f"   Status: {o['status']}"]
            if args.details:
                lines.append(f"   Latest commit: {o['latest_commit']} - {o['latest_commit_message']}")
        ctx.out("\n".join(lines))
    if not args.fix:
        return 0
    if not args.yes:
        import sys

        ctx.stderr.write(f"\nThis will close {len(orphans)} orphaned issue(s). Continue? (Y/n): ")
        ctx.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("", "y", "yes"):
            ctx.out("Canceled.")
            return 0
    tracker = ctx.writer("orphans --fix")
    closed = []
    with tracker.write():
        for o in orphans:
            tracker.close(o["issue_id"], f"Work committed in {o['latest_commit']}")
            closed.append(o["issue_id"])
    if ctx.json:
        ctx.emit({"closed": closed, "count": len(closed)})
    else:
        ctx.out("\n".join([*(f"✓ Closed {i}" for i in closed), "", f"Closed {len(closed)} issue(s)"]))
    return 0


# -- admin cleanup ----------------------------------------------------------------------------


def _cleanup_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="actually delete (without it: refused, see --dry-run)")
    p.add_argument("--dry-run", action="store_true", help="preview what would be deleted")
    p.add_argument("--cascade", action="store_true", help="also delete issues that depend on them")
    p.add_argument("--older-than", type=int_arg(0, MAX_DAYS), default=0, metavar="DAYS",
                   help="only issues closed more than DAYS days ago (0 = every closed issue)")
    p.add_argument("--hard", action="store_true", help="purge rows instead of leaving tombstones")
    p.add_argument("--ephemeral", action="store_true", help="only closed wisps (ephemeral issues)")
    p.set_defaults(run=run_cleanup)


def _register_admin(sub: argparse._SubParsersAction) -> None:
    from beads.cli.cmd_compact import add_compact_flags

    p = new_subparser(sub, "admin", "Administrative commands: cleanup, compact, reset")
    actions = p.add_subparsers(dest="action", metavar="<action>")
    _cleanup_flags(new_subparser(actions, "cleanup", "Delete closed issues (older than N days), with preview"))
    add_compact_flags(new_subparser(actions, "compact", "Compact old closed issues (agent-written summaries)"))
    r = new_subparser(actions, "reset", "Remove beads from this repository (preview unless --force)")
    r.add_argument("--force", action="store_true", help="actually remove .beads and the bd git hooks")
    r.set_defaults(run=run_reset)

    def usage(ctx: Context) -> int:
        ctx.stderr.write(p.format_help())
        return 1

    p.set_defaults(run=usage)


def run_reset(ctx: Context) -> int:
    from beads.sync import reset

    beads_dir = ctx.workspace().beads_dir
    items = reset.plan(beads_dir)
    if not ctx.args.force:
        if ctx.json:
            ctx.emit({"dry_run": True, "items": items})
            return 0
        lines = ["Reset preview (dry-run mode)", "", "The following will be removed:", ""]
        for item in items:
            lines += [f"  • {item['description']}", f"    {item['path']}"]
        lines += ["", "⚠ This operation cannot be undone!", "", "To proceed, run: bd admin reset --force"]
        ctx.out("\n".join(lines))
        return 0
    done = reset.reset(beads_dir)
    if ctx.json:
        ctx.emit({"reset": True, "removed": done})
    else:
        ctx.out("\n".join(f"✓ Removed {d['path']}" for d in done) or "Nothing to reset.")
    return 0


def _register_cleanup_alias(sub: argparse._SubParsersAction) -> None:
    _cleanup_flags(new_subparser(sub, "cleanup", "Alias of 'bd admin cleanup'"))


def run_cleanup(ctx: Context) -> int:
    from beads.core import maintenance
    from beads.errors import InvalidInput

    args = ctx.args
    ids, pinned = maintenance.closed_before(ctx.tracker(), args.older_than, ephemeral_only=args.ephemeral)
    what = "closed wisp" if args.ephemeral else "closed"
    if pinned and not ctx.json:
        ctx.info(f"Skipping {pinned} pinned issue(s) (protected from cleanup)")
    if not ids:
        message = f"No {what} issues" + (f" older than {args.older_than} days" if args.older_than else "") + " to delete"
        if ctx.json:
            doc: dict[str, Any] = {"deleted_count": 0, "message": "No closed issues to delete"}
            if args.older_than:
                doc["filter"] = f"older than {args.older_than} days"
            ctx.emit(doc)
        else:
            ctx.out(message)
        return 0
    if not args.force and not args.dry_run:
        raise InvalidInput(f"Would delete {len(ids)} {what} issue(s). Use --force to confirm or --dry-run to preview.")
    if not ctx.json:
        ctx.out(f"Found {len(ids)} {what} issue(s)" + (f" older than {args.older_than} days" if args.older_than else ""))
        if args.dry_run:
            ctx.out("DRY RUN - no changes will be made")
        ctx.out("")
    from beads.cli import delete

    args.ids, args.from_file, args.reason = ids, None, "cleanup"
    args.force = args.force and not args.dry_run
    return delete.run_delete(ctx)

