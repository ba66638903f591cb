"""``bd compact`` / ``bd admin compact`` and ``bd restore``: agent-driven compaction (spec §10.1).

No API key anywhere: ``--analyze --json`` hands an agent the candidates with their full text,
the agent writes a summary, ``--apply --id X --summary FILE`` stores it (the original goes to a
snapshot that ``bd restore X`` brings back). ``--prune`` removes expired tombstones; ``--stats``
counts candidates. The rules are in ``beads.core.compaction``.
"""

from __future__ import annotations

from beads.cli.flags import MAX_DAYS, int_arg
from beads.cli.main import new_subparser
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    if name == "compact":
        add_compact_flags(new_subparser(sub, "compact", "Compact old closed issues (agent-written summaries)"))
    else:
        p = new_subparser(sub, "restore", "Restore an issue's text from before its last compaction")
        p.add_argument("issue_id", metavar="issue-id")
        p.set_defaults(run=run_restore)


def add_compact_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--analyze", action="store_true", help="list candidates with their full text (for an agent)")
    p.add_argument("--apply", action="store_true", help="store a summary: needs --id and --summary")
    p.add_argument("--id", dest="issue_id", help="the issue to analyze or apply")
    p.add_argument("--summary", help="file holding the summary ('-' reads stdin)")
    p.add_argument("--stats", action="store_true", help="count candidates per tier")
    p.add_argument("--prune", action="store_true", help="remove tombstones older than --older-than days")
    p.add_argument("--older-than", type=int_arg(0, MAX_DAYS), default=None, metavar="DAYS",
                   help="tombstone age for --prune (default 30)")
    p.add_argument("--tier", type=int, default=1, choices=(1, 2), help="compaction tier (default 1)")
    p.add_argument("--limit", type=int_arg(0), default=0, help="at most this many candidates (0 = all)")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.add_argument("--force", action="store_true", help="--apply even if not eligible or not shorter")
    p.add_argument("--auto", action="store_true", help="(needs an LLM API key: refused; use --analyze/--apply)")
    p.set_defaults(run=run_compact)


def run_compact(ctx: Context) -> int:
    args = ctx.args
    modes = [m for m in ("analyze", "apply", "stats", "prune") if getattr(args, m)]
    if args.auto:
        raise InvalidInput("--auto needs an LLM API key and is not supported",
                           hint="bd compact --analyze --json, summarise, then bd compact --apply --id X --summary FILE")
    if len(modes) != 1:
        raise InvalidInput("choose one of --analyze, --apply, --stats or --prune",
                           hint="bd compact --analyze --json lists candidates with their content")
    return {"analyze": _analyze, "apply": _apply, "stats": _stats, "prune": _prune}[modes[0]](ctx)


def _analyze(ctx: Context) -> int:
    from beads.core import compaction

    args = ctx.args
    tracker = ctx.tracker()
    found = ([compaction.analyze_one(tracker, args.issue_id, args.tier)] if args.issue_id
             else compaction.candidates(tracker, args.tier, args.limit))
    if ctx.json:
        ctx.emit(found)
        return 0
    lines = [f"Compaction Candidates (Tier {args.tier})", ""]
    for c in found:
        lines += [f"ID: {c['id']}" + (" (already compacted)" if c["compacted"] else ""), f"  Title: {c['title']}",
                  f"  Size: {c['size_bytes']} bytes", f"  Age: {c['age_days']} days", ""]
    lines.append(f"Total: {len(found)} candidates")
    ctx.out("\n".join(lines))
    return 0


def _apply(ctx: Context) -> int:
    from beads.cli.flags import read_file_arg
    from beads.core import compaction

    args = ctx.args
    if not args.issue_id or not args.summary:
        raise InvalidInput("--apply needs --id and --summary", hint="bd compact --apply --id bd-42 --summary summary.txt")
    summary = read_file_arg(args.summary)
    if args.dry_run:
        issue = ctx.tracker().get(args.issue_id)
        doc = {"dry_run": True, "tier": args.tier, "issue_id": issue["id"],
               "original_size": compaction.size_of(issue), "compacted_size": len(summary.encode())}
        if ctx.json:
            ctx.emit(doc)
        else:
            ctx.out(f"Would compact {issue['id']}: {doc['original_size']} → {doc['compacted_size']} bytes")
        return 0
    result = compaction.apply(ctx.writer("compact"), args.issue_id, summary, tier=args.tier, force=args.force,
                              commit=_head(ctx))
    if ctx.json:
        ctx.emit(result)
    else:
        ctx.out(f"✓ Compacted {result['issue_id']} (Tier {result['tier']}): {result['original_size']} → "
                f"{result['compacted_size']} bytes (saved {result['saved_bytes']}, {result['reduction_pct']}%)")
    return 0


def _head(ctx: Context) -> str | None:
    import os

    from beads.errors import GitError
    from beads.sync.git import find_git

    git = find_git(os.path.dirname(ctx.workspace().beads_dir))
    try:
        return git.head() if git is not None else None
    except GitError:
        return None


def _stats(ctx: Context) -> int:
    from beads.core import compaction

    doc = compaction.stats(ctx.tracker())
    if ctx.json:
        ctx.emit(doc)
        return 0
    t1, t2 = doc["tier1"], doc["tier2"]
    lines = ["Compaction Statistics", "Tier 1 (30+ days closed):", f"  Candidates: {t1['candidates']}",
             f"  Total size: {t1['total_size']} bytes"]
    if t1["total_size"]:
        lines.append(f"  Estimated savings: {t1['total_size'] * 7 // 10} bytes (70%)")
    lines += ["", "Tier 2 (90+ days closed, Tier 1 compacted):", f"  Candidates: {t2['candidates']}",
              f"  Total size: {t2['total_size']} bytes"]
    if t2["total_size"]:
        lines.append(f"  Estimated savings: {t2['total_size'] * 95 // 100} bytes (95%)")
    ctx.out("\n".join(lines))
    return 0


def _prune(ctx: Context) -> int:
    from beads.core import compaction

    args = ctx.args
    days = compaction.TOMBSTONE_TTL_DAYS if args.older_than is None else args.older_than
    ids = compaction.expired_tombstones(ctx.tracker(), days)
    if args.dry_run or not ids:
        if ctx.json:
            ctx.emit({"dry_run": bool(args.dry_run), "pruned_count": 0 if not args.dry_run else len(ids),
                      "would_prune": ids, "ttl_days": days})
        else:
            ctx.out(f"Would prune {len(ids)} expired tombstone(s) (older than {days} days)" if args.dry_run
                    else f"No expired tombstones (older than {days} days)")
        return 0
    ctx.writer("compact --prune").delete(ids, hard=True, reason="pruned tombstone")
    if ctx.json:
        ctx.emit({"pruned_count": len(ids), "pruned": ids, "ttl_days": days})
    else:
        ctx.out(f"✓ Pruned {len(ids)} expired tombstone(s) (older than {days} days)")
    return 0


def run_restore(ctx: Context) -> int:
    from beads.core import compaction

    issue = compaction.restore(ctx.writer("restore"), ctx.args.issue_id)
    if ctx.json:
        ctx.emit(issue)
    else:
        ctx.out(f"✓ Restored {issue['id']} to its content before compaction")
    return 0
