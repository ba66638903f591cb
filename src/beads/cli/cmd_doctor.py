"""``bd doctor [path] [--fix] [--yes] [--dry-run] [--json]``: check a workspace, repair on request.

The checks and their repairs are in ``beads.sync.doctor``; this module parses, asks, prints.
Fixes are applied only with ``--fix``: after a yes at the prompt, or with ``--yes``; without a
terminal to ask on and without ``--yes``, nothing is changed. ``--dry-run`` only says what
``--fix`` would do. Exit status 1 when an error remains.
"""

from __future__ import annotations

import os
import sys

from beads.cli.main import new_subparser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context
    from beads.sync.doctor import Check

_MARK = {"ok": "✓", "warning": "⚠", "error": "✗"}


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = new_subparser(sub, "doctor", "Check the workspace's health and repair what can be repaired")
    p.add_argument("path", nargs="?", default=None, help="project directory (default: current directory)")
    p.add_argument("--fix", action="store_true", help="apply the available fixes (asks first, unless --yes)")
    p.add_argument("-y", "--yes", action="store_true", help="apply fixes without asking")
    p.add_argument("--dry-run", action="store_true", help="with --fix: only show what would be fixed")
    p.set_defaults(run=run_doctor)


def run_doctor(ctx: Context) -> int:
    from beads import __version__
    from beads.sync.doctor import open_doctor, report

    args = ctx.args
    path = args.path or os.getcwd()
    if args.path and not os.path.isdir(args.path):
        from beads.errors import InvalidInput

        raise InvalidInput(f"not a directory: {args.path}")
    doctor = open_doctor(path, ctx.actor(git=True))
    fixes: list[dict[str, Any]] = []
    try:
        checks = doctor.run()
        fixable = [c for c in checks if c.status != "ok" and c.apply is not None]
        if args.fix and fixable:
            if args.dry_run:
                fixes = [{"name": c.name, "fix": c.fix, "applied": False} for c in fixable]
            elif _confirmed(ctx, fixable):
                fixes = _apply(doctor, fixable)
                doctor.close()
                doctor = open_doctor(path, ctx.actor(git=True))
                checks = doctor.run()
            else:
                fixes = [{"name": c.name, "fix": c.fix, "applied": False} for c in fixable]
    finally:
        doctor.close()
    doc = report(checks, doctor.workspace.root if doctor.workspace else os.path.abspath(path), __version__)
    if args.fix:
        doc["fixes"] = fixes
    if ctx.json:
        ctx.emit(doc)
    else:
        _print(ctx, checks, fixes, dry_run=bool(args.dry_run), fix=bool(args.fix))
    return 0 if doc["overall_ok"] else 1


def _confirmed(ctx: Context, fixable: list[Check]) -> bool:
    if ctx.args.yes:
        return True
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        ctx.err(f"{len(fixable)} fix(es) available; nothing changed (no terminal to ask on: "
                "run 'bd doctor --fix --yes' to apply them)")
        return False
    for check in fixable:
        ctx.err(f"  {check.name}: {check.fix}")
    sys.stderr.write(f"Apply {len(fixable)} fix(es)? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _apply(doctor: Any, fixable: list[Check]) -> list[dict[str, Any]]:
    from beads.errors import BdError

    done: list[dict[str, Any]] = []
    for check in fixable:
        entry: dict[str, Any] = {"name": check.name, "fix": check.fix}
        try:
            assert check.apply is not None
            entry["result"] = check.apply() or "done"
            entry["applied"] = True
        except (BdError, OSError) as exc:
            entry["applied"] = False
            entry["error"] = exc.message if isinstance(exc, BdError) else str(exc)
        done.append(entry)
    try:
        doctor.after_fixes()
    except BdError as exc:
        done.append({"name": "DB-JSONL Sync", "applied": False, "error": exc.message})
    return done


def _print(ctx: Context, checks: list[Check], fixes: list[dict[str, Any]], *, dry_run: bool, fix: bool) -> None:
    for check in checks:
        ctx.out(f"{_MARK.get(check.status, '?')} {check.name}: {check.message}")
        if check.detail and check.status != "ok":
            for line in check.detail.split("\n"):
                ctx.out(f"    {line}")
        if check.fix and check.status != "ok" and not fix:
            ctx.out(f"    Fix: {check.fix}")
    if fixes:
        ctx.out("")
        for entry in fixes:
            if dry_run:
                ctx.out(f"Would fix {entry['name']}: {entry['fix']}")
            elif entry.get("applied"):
                ctx.out(f"Fixed {entry['name']}: {entry['result']}")
            elif entry.get("error"):
                ctx.out(f"Could not fix {entry['name']}: {entry['error']}")
    counts = {s: sum(1 for c in checks if c.status == s) for s in ("ok", "warning", "error")}
    ctx.out("")
    ctx.out(f"{len(checks)} checks: {counts['ok']} ok, {counts['warning']} warning(s), {counts['error']} error(s)")
    if not fix and any(c.apply is not None and c.status != "ok" for c in checks):
        ctx.out("Run 'bd doctor --fix' to repair what can be repaired.")
