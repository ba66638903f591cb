"""Commands that answer "what now?": ready, blocked, status (alias stats), epic.

``bd ready --json`` is the command agents run most, so this module imports nothing
at load time beyond the parser helper; the readiness rules themselves live in
``beads.core`` and the materialised blocked cache (docs/READY.md).
"""

from __future__ import annotations

from beads.cli.flags import bool_flag, int_arg, split_values
from beads.cli.main import new_subparser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context

DEFAULT_READY_LIMIT = 10


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"ready": _register_ready, "blocked": _register_blocked, "status": _register_status,
     "epic": _register_epic}[name](sub)


_values = split_values


def _type(raw: str | None) -> str | None:
    if not raw:
        return None
    from beads.model import normalize_issue_type

    return normalize_issue_type(raw)


# -- ready ------------------------------------------------------------------------------------


def _register_ready(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "ready", "Show ready work (no blockers, open or in progress)")
    p.add_argument("-n", "--limit", type=int_arg(), default=DEFAULT_READY_LIMIT, help="maximum issues (default 10)")
    p.add_argument("-p", "--priority", help="only this priority (0-4 or P0-P4)")
    p.add_argument("-a", "--assignee", help="only issues assigned to this person")
    p.add_argument("-u", "--unassigned", action="store_true", help="only unassigned issues")
    p.add_argument("-s", "--sort", default="hybrid", help="sort policy: hybrid (default), priority, oldest")
    p.add_argument("-l", "--label", action="append", dest="labels", help="must have ALL these labels (repeatable)")
    p.add_argument("--label-any", action="append", dest="labels_any", help="must have AT LEAST ONE of these labels")
    p.add_argument("-t", "--type", dest="issue_type", help="only this type (shows workflow types when asked)")
    p.add_argument("--parent", help="only descendants of this issue")
    p.add_argument("--include-deferred", action="store_true", help="include issues deferred to a future date")
    bool_flag(p, "--pretty", "tree format with status glyphs and priority badges")
    p.set_defaults(run=run_ready)


def run_ready(ctx: Context) -> int:
    from beads.errors import InvalidInput
    from beads.query import ReadyFilter

    args = ctx.args
    if args.limit < 0:
        raise InvalidInput("--limit must be >= 0")
    priority = None
    if args.priority is not None:
        from beads.model import parse_priority

        priority = parse_priority(args.priority)
    filt = ReadyFilter(limit=args.limit, priority=priority, unassigned=args.unassigned,
                       assignee=None if args.unassigned else (args.assignee or None),
                       sort_policy=args.sort, labels=_values(args.labels), labels_any=_values(args.labels_any),
                       issue_type=_type(args.issue_type), parent_id=args.parent or None,
                       include_deferred=args.include_deferred)
    tracker = ctx.tracker()
    issues = tracker.ready(filt)
    if ctx.json:
        ctx.emit(issues)
        return 0
    if not issues:
        stats = tracker.stats()
        if stats["open_issues"] or stats["in_progress_issues"]:
            ctx.out("\n✨ No ready work found (all issues have blocking dependencies)\n")
        else:
            ctx.out("\n✨ No open issues\n")
        return 0
    if args.pretty:
        from beads.cli import style

        style.write(ctx, style.pretty_list(style.painter(ctx), issues, tracker.edges_among([i["id"] for i in issues])))
        return 0
    lines = [f"\n📋 Ready work ({len(issues)} issues with no blockers):\n"]
    for n, issue in enumerate(issues, 1):
        lines.append(f"{n}. [● P{issue.get('priority', 0)}] [{issue.get('issue_type', '')}] "
                     f"{issue['id']}: {issue.get('title', '')}")
        if issue.get("estimated_minutes") is not None:
            lines.append(f"   Estimate: {issue['estimated_minutes']} min")
        if issue.get("assignee"):
            lines.append(f"   Assignee: {issue['assignee']}")
    ctx.out("\n".join(lines) + "\n")
    return 0


# -- blocked ----------------------------------------------------------------------------------


def _register_blocked(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "blocked", "Show blocked issues")
    p.add_argument("--parent", help="only descendants of this issue")
    p.set_defaults(run=run_blocked)


def run_blocked(ctx: Context) -> int:
    if ctx.json:
        ctx.emit_chunks(ctx.tracker().blocked_chunks(ctx.args.parent or None))
        return 0
    rows = ctx.tracker().blocked_brief(ctx.args.parent or None)
    if not rows:
        ctx.out("\n✨ No blocked issues\n")
        return 0
    lines = [f"\n🚫 Blocked issues ({len(rows)}):\n"]
    for priority, issue_id, title, blockers in rows:
        lines.append(f"[P{priority}] {issue_id}: {title}")
        lines.append(f"  Blocked by {len(blockers)} open dependencies: [{' '.join(blockers)}]")
        lines.append("")
    ctx.out("\n".join(lines))
    return 0


# -- status / stats ---------------------------------------------------------------------------


def _register_status(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "status", "Show issue database overview and statistics", aliases=("stats",))
    p.add_argument("--all", action="store_true", help="all issues (the default)")
    p.add_argument("--assigned", action="store_true", help="statistics for issues assigned to you (--actor)")
    p.add_argument("--no-activity", action="store_true", help="skip recent git activity (never computed here)")
    p.set_defaults(run=run_status)


def run_status(ctx: Context) -> int:
    tracker = ctx.tracker()
    stats = tracker.assigned_stats(ctx.actor(git=True)) if ctx.args.assigned else tracker.stats()
    if ctx.json:
        # Flat keys for beads-mcp and the RPC-era readers, "summary" for v0.31+ readers (lessons J).
        ctx.emit({**stats, "summary": dict(stats)})
        return 0
    ctx.out("\n".join(_status_lines(stats)))
    return 0


def _status_lines(stats: dict[str, Any]) -> list[str]:
    rows = [("Total Issues", stats["total_issues"]), ("Open", stats["open_issues"]),
            ("In Progress", stats["in_progress_issues"]), ("Blocked", stats["blocked_issues"]),
            ("Closed", stats["closed_issues"]), ("Ready to Work", stats["ready_issues"])]
    lines = ["", "📊 Issue Database Status", "", "Summary:"]
    lines += [f"  {label + ':':<24}{value}" for label, value in rows]
    if stats.get("deferred_issues"):
        lines.append(f"  {'Deferred:':<24}{stats['deferred_issues']}")
    extended = []
    if stats.get("tombstone_issues"):
        extended.append(f"  {'Deleted:':<24}{stats['tombstone_issues']} (tombstones)")
    if stats.get("pinned_issues"):
        extended.append(f"  {'Pinned:':<24}{stats['pinned_issues']}")
    if stats.get("epics_eligible_for_closure"):
        extended.append(f"  {'Epics Ready to Close:':<24}{stats['epics_eligible_for_closure']}")
    if stats.get("average_lead_time_hours"):
        extended.append(f"  {'Avg Lead Time:':<24}{stats['average_lead_time_hours']:.1f} hours")
    if extended:
        lines += ["", "Extended:", *extended]
    lines += ["", "For more details, use 'bd list' to see individual issues.", ""]
    return lines


# -- epic -------------------------------------------------------------------------------------


def _register_epic(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "epic", "Epic management: status, close-eligible")
    actions = p.add_subparsers(dest="action", metavar="<action>")
    s = new_subparser(actions, "status", "Show epic completion status")
    s.add_argument("--eligible-only", action="store_true", help="only epics whose children are all closed")
    s.set_defaults(run=run_epic_status)
    c = new_subparser(actions, "close-eligible", "Close epics whose children are all closed")
    c.add_argument("--dry-run", action="store_true", help="show what would be closed")
    c.set_defaults(run=run_epic_close_eligible)
    p.set_defaults(run=lambda ctx: _usage(ctx, p))


def _usage(ctx: Context, parser: argparse.ArgumentParser) -> int:
    ctx.stderr.write(parser.format_help())
    return 1


def run_epic_status(ctx: Context) -> int:
    epics = ctx.tracker().epic_status(eligible_only=ctx.args.eligible_only)
    if ctx.json:
        ctx.emit(epics)
        return 0
    if not epics:
        ctx.out("No open epics found")
        return 0
    lines: list[str] = []
    for entry in epics:
        epic, total, closed = entry["epic"], entry["total_children"], entry["closed_children"]
        percent = closed * 100 // total if total else 0
        icon = "✓" if entry["eligible_for_close"] else "○"
        lines.append(f"{icon} {epic['id']} {epic.get('title', '')}")
        lines.append(f"   Progress: {closed}/{total} children closed ({percent}%)")
        if entry["eligible_for_close"]:
            lines.append("   Eligible for closure")
        lines.append("")
    ctx.out("\n".join(lines))
    return 0


def run_epic_close_eligible(ctx: Context) -> int:
    dry_run = ctx.args.dry_run
    tracker = ctx.tracker() if dry_run else ctx.writer("epic close-eligible")
    eligible = tracker.close_eligible_epics(dry_run=dry_run)
    ids = [e["epic"]["id"] for e in eligible]
    if ctx.json:
        ctx.emit(eligible if dry_run or not ids else {"closed": ids, "count": len(ids)})
        return 0
    if not ids:
        ctx.out("No epics eligible for closure")
    elif dry_run:
        ctx.out(f"Would close {len(ids)} epic(s):")
        ctx.out("\n".join(f"  - {e['epic']['id']}: {e['epic'].get('title', '')}" for e in eligible))
    else:
        ctx.out(f"✓ Closed {len(ids)} epic(s)")
        ctx.out("\n".join(f"  - {i}" for i in ids))
    return 0
