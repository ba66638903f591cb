"""JSONL commands: export and import (spec §8.1, §8.4)."""

from __future__ import annotations

import sys

from beads.cli.main import new_subparser
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context
    from beads.query import IssueFilter

_FILTER_FLAGS = ("status", "priority", "assignee", "issue_type", "labels", "labels_any", "priority_min",
                 "priority_max", "created_after", "created_before", "updated_after", "updated_before")


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"export": _register_export, "import": _register_import}[name](sub)


# -- export -------------------------------------------------------------------------------------


def _register_export(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "export", "Export issues to JSONL (one issue per line, sorted by ID)")
    p.add_argument("-f", "--format", default="jsonl", help="export format (only jsonl)")
    p.add_argument("-o", "--output", help="output file (default: stdout)")
    p.add_argument("-s", "--status", help="only issues with this status")
    p.add_argument("-p", "--priority", help="only this priority (0-4 or P0-P4)")
    p.add_argument("-a", "--assignee", help="only issues assigned to this person")
    p.add_argument("-t", "--type", dest="issue_type", help="only this issue type")
    p.add_argument("-l", "--label", action="append", dest="labels", help="must have ALL these labels (repeatable)")
    p.add_argument("--label-any", action="append", dest="labels_any", help="must have AT LEAST ONE of these labels")
    p.add_argument("--priority-min", help="minimum priority (inclusive, 0-4 or P0-P4)")
    p.add_argument("--priority-max", help="maximum priority (inclusive, 0-4 or P0-P4)")
    for flag in ("created_after", "created_before", "updated_after", "updated_before"):
        what, when = flag.split("_")
        p.add_argument(f"--{what}-{when}", dest=flag, metavar="DATE",
                       help=f"issues {what} {when} DATE (YYYY-MM-DD or RFC3339)")
    p.add_argument("--force", action="store_true",
                   help="write even if the output file has issues the database lacks (they are lost)")
    p.set_defaults(run=run_export)


def export_filter(args: argparse.Namespace) -> IssueFilter | None:
    """The filter for the export flags, or None for "everything" (tombstones included)."""
    if not any(getattr(args, flag, None) for flag in _FILTER_FLAGS):
        return None
    from beads.cli.cmd_list import build_filter

    return build_filter(args, include_tombstones=True, include_templates=True)


def run_export(ctx: Context) -> int:
    from beads.jsonfmt import pretty
    from beads.sync.export import export_jsonl

    args = ctx.args
    if args.format != "jsonl":
        raise InvalidInput("only 'jsonl' format is currently supported")
    filt = export_filter(args)
    tracker = ctx.tracker()
    if args.output:
        stats = export_jsonl(tracker, args.output, force=args.force, filt=filt)
    else:
        stats = export_jsonl(tracker, filt=filt, stream=ctx.stdout)
    if ctx.json:
        ctx.stderr.write(pretty(stats) + "\n")
    elif args.output:
        ctx.info(f"Exported {stats['exported']} issues to {args.output}")
    return 0


# -- import -------------------------------------------------------------------------------------


def _register_import(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "import", "Import issues from JSONL (newer wins; labels, deps and comments are added)")
    p.add_argument("extra", nargs="*", help=argparse_suppress())
    p.add_argument("-i", "--input", help="input file (default: stdin)")
    p.add_argument("--dry-run", action="store_true", help="show what would change without changing anything")
    p.add_argument("-s", "--skip-existing", action="store_true", help="only create new issues; leave existing ones")
    p.add_argument("--rename-on-import", action="store_true",
                   help="give issues with another prefix this database's prefix")
    p.add_argument("--orphan-handling", choices=("strict", "resurrect", "skip", "allow"),
                   help="child issues whose parent is missing (default: config import.orphan_handling, else allow)")
    p.add_argument("--force", action="store_true", help="record the file as imported even when nothing changed")
    for hidden in ("--strict", "--dedupe-after", "--clear-duplicate-external-refs", "--protect-left-snapshot",
                   "--no-git-history"):
        p.add_argument(hidden, action="store_true", help=argparse_suppress())
    p.set_defaults(run=run_import)


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


def run_import(ctx: Context) -> int:
    from beads.sync import importer, jsonl

    args = ctx.args
    if args.extra:
        raise InvalidInput(
            f"unexpected argument(s): {args.extra}; did you mean: bd import -i {args.extra[0]}",
            hint="the import command reads a file given with -i, or stdin: cat data.jsonl | bd import")
    if not args.input and sys.stdin.isatty():
        raise InvalidInput("no input specified",
                           hint="bd import -i .beads/issues.jsonl   (or pipe JSONL on stdin)")
    tracker = ctx.tracker() if args.dry_run else ctx.writer("import")
    mode = args.orphan_handling or tracker.get_config("import.orphan_handling") or "allow"
    opts: dict[str, Any] = {"dry_run": args.dry_run, "skip_existing": args.skip_existing,
                            "rename_on_import": args.rename_on_import, "orphan_handling": mode}
    if args.input:
        stats = importer.import_file(tracker, args.input, **opts)
    else:
        records = jsonl.parse_jsonl(sys.stdin.read(), "<stdin>", importer.vocab_of(tracker))
        stats = importer.import_records(tracker, records, validated=True, **opts)
    _report(ctx, stats, args)
    if ctx.json:
        ctx.emit(stats)
    return 0


def _report(ctx: Context, stats: dict[str, Any], args: argparse.Namespace) -> None:
    from beads.sync.importer import summary

    for line in stats["warnings"]:
        if not line.startswith("Skipping dependency"):
            ctx.warn(line)
    if args.dry_run:
        if stats["prefix_mismatch"]:
            found = ", ".join(f"{p}- ({n} issues)" for p, n in stats["mismatch_prefixes"].items())
            ctx.err(f"Prefix mismatch: database uses '{stats['expected_prefix']}-' but found {found}")
            ctx.err("Use --rename-on-import to automatically fix prefixes during import.")
        else:
            ctx.err("No collisions detected.")
        ctx.err(summary(stats, dry_run=True))
        ctx.err("\nDry-run mode: no changes made")
        return
    if stats["id_mapping"]:
        ctx.err(f"Issues remapped: {len(stats['id_mapping'])}")
        for old, new in stats["id_mapping"].items():
            ctx.err(f"  {old} → {new}")
    ctx.err(summary(stats))
    skipped = stats["skipped_dependencies"]
    if skipped:
        ctx.err(f"\nWarning: Skipped {len(skipped)} dependencies due to missing references:")
        for dep in skipped:
            ctx.err(f"  - {dep}")
    if args.force and not stats["created"] and not stats["updated"]:
        ctx.err("Metadata updated (database already in sync with JSONL)")
