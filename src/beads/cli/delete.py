"""``bd delete``: preview by default, tombstone (or purge) with ``--force`` (spec §2.7, §7.1).

Deleting is the one command that destroys work, so without ``--force`` (or with
``--dry-run``) it only prints what would happen and changes nothing. The plan and the
deletion both come from the Tracker, so the preview shows exactly what ``--force`` does.
"""

from __future__ import annotations

from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.cli.context import Context


def run_delete(ctx: Context) -> int:
    args = ctx.args
    raw_ids = list(args.ids)
    if args.from_file:
        raw_ids.extend(read_ids(args.from_file))
    raw_ids = list(dict.fromkeys(i.strip() for i in raw_ids if i.strip()))
    if not raw_ids:
        raise InvalidInput("no issue IDs provided",
                           hint="usage: bd delete <issue-id> [issue-id...] [--force] [--from-file FILE]")
    if args.dry_run or not args.force:
        tracker = ctx.tracker()
        plan = tracker.delete_plan(raw_ids, cascade=args.cascade)
        if ctx.json:
            ctx.emit(_preview_json(plan))
        else:
            named = dict.fromkeys(plan["issues"] + plan["orphaned"] + plan["references"])
            shown = tracker.issues_json(list(named))
            _print_preview(ctx, plan, {i["id"]: i["title"] for i in shown})
        return 0
    tracker = ctx.writer("delete")
    result = tracker.delete(raw_ids, cascade=args.cascade, hard=args.hard, reason=args.reason)
    single = len(raw_ids) == 1 and result["deleted_count"] == 1
    if ctx.json:
        if single:
            ctx.emit({"deleted": result["deleted"][0], "dependencies_removed": result["dependencies_removed"],
                      "references_updated": result["references_updated"]})
        else:
            ctx.emit(result)
        return 0
    _print_result(ctx, result, single, args.hard)
    return 0


def read_ids(path: str) -> list[str]:
    """IDs from a file, one per line; blank lines and ``#`` comments are skipped."""
    from beads.cli.flags import read_file_arg

    lines = read_file_arg(path).splitlines()
    return [s for s in (ln.strip() for ln in lines) if s and not s.startswith("#")]


def _preview_json(plan: dict[str, Any]) -> dict[str, Any]:
    from beads.model import dep_to_wire

    return {
        "dry_run": True,
        "issue_count": len(plan["issues"]),
        "issues": plan["issues"],
        "dependencies_removed": len(plan["dependencies"]),
        "dependencies": [dep_to_wire(d) for d in plan["dependencies"]],
        "orphaned_issues": plan["orphaned"],
        "references_to_update": plan["references"],
    }


def _print_preview(ctx: Context, plan: dict[str, Any], titles: dict[str, str]) -> None:
    args = ctx.args
    ids = plan["issues"]
    out = ctx.out
    out("⚠️  DELETE PREVIEW")
    out("")
    out("Issue to delete:" if len(ids) == 1 else f"Issues to delete ({len(ids)}):")
    for issue_id in ids:
        out(f"  {issue_id}: {titles[issue_id]}")
    if args.cascade:
        out("")
        out("⚠ Cascade mode enabled - will also delete all dependent issues")
    deleted = set(ids)
    edges = plan["dependencies"]
    if edges:
        out("")
        out(f"Dependency links to remove: {len(edges)}")
        for d in edges:
            inbound = d["issue_id"] not in deleted
            out(f"  {d['issue_id']} → {d['depends_on_id']} ({'inbound' if inbound else d['type']})")
    if plan["orphaned"]:
        out("")
        out(f"Issues left depending on deleted issues ({len(plan['orphaned'])}):")
        for issue_id in plan["orphaned"]:
            out(f"  {issue_id}: {titles[issue_id]}")
    neighbours = {d["issue_id"] for d in edges} | {d["depends_on_id"] for d in edges}
    if neighbours - deleted:
        out("")
        out("Connected issues where text references will be updated:")
        for issue_id in plan["references"]:
            out(f"  {issue_id}: {titles[issue_id]}")
        if not plan["references"]:
            out("  (none have text references)")
    out("")
    mode = "permanently remove" if args.hard else "delete"
    out(f"Would {mode}: {len(ids)} issue(s)")
    if args.dry_run:
        out("(Dry-run mode - no changes made)")
        return
    flags = " --cascade" if args.cascade else ""
    flags += " --hard" if args.hard else ""
    out("This operation cannot be undone!")
    out(f"To proceed, run: bd delete {' '.join(ids)}{flags} --force")


def _print_result(ctx: Context, result: dict[str, Any], single: bool, hard: bool) -> None:
    out = ctx.out
    verb = "Permanently deleted" if hard else "Deleted"
    if single:
        out(f"✓ {verb} {result['deleted'][0]}")
    else:
        out(f"✓ {verb} {result['deleted_count']} issue(s)")
    out(f"  Removed {result['dependencies_removed']} dependency link(s)")
    if not single:
        out(f"  Removed {result['labels_removed']} label(s)")
        out(f"  Removed {result['events_removed']} event(s)")
    out(f"  Updated text references in {result['references_updated']} issue(s)")
    orphaned = result["orphaned_issues"]
    if orphaned:
        out(f"  ⚠ Orphaned {len(orphaned)} issue(s): {', '.join(orphaned)}")
