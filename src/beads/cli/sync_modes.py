"""``bd sync --status | --merge | --from-main | --squash | --check``: flags, dispatch, text output.

The work lives in ``beads.sync.syncmodes`` and ``beads.sync.synccheck``; ``cmd_git.run_sync``
calls ``dispatch`` first and runs the full sync when no mode flag was given. With ``--json``
each mode writes one document (its report); errors are ``{"error": ...}`` as everywhere.
"""

from __future__ import annotations

import argparse

from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.cli.context import Context

# the modes, in the order a conflict names them; each excludes the others
MODES = ("status", "check", "merge", "from_main", "squash", "flush_only", "import_only")
READ_ONLY = ("status", "check")


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", action="store_true",
                   help="show what differs between the working branch and the sync branch (or the upstream)")
    p.add_argument("--merge", action="store_true",
                   help="commit the sync branch's issues on the working branch (one commit, for a pull request)")
    p.add_argument("--from-main", action="store_true",
                   help="one-way pull: import the issues of the remote's default branch (no commit, no push)")
    p.add_argument("--squash", action="store_true",
                   help="export to the JSONL without committing (a later 'bd sync' commits it all at once)")
    p.add_argument("--check", action="store_true",
                   help="integrity pre-check (duplicate IDs, orphaned dependencies, invalid records); "
                        "exit 1 on problems")


def _flag(mode: str) -> str:
    return "--" + mode.replace("_", "-")


def dispatch(ctx: Context) -> int | None:
    """Run the mode the flags ask for (its exit status), or None for a plain sync."""
    args = ctx.args
    chosen = [m for m in MODES if getattr(args, m, False)]
    if len(chosen) > 1:
        raise InvalidInput(f"{_flag(chosen[0])} and {_flag(chosen[1])} cannot be used together")
    mode = chosen[0] if chosen else None
    if mode in (None, "flush_only", "import_only"):
        return None
    if mode not in READ_ONLY and getattr(args, "readonly", False) and not args.dry_run:
        raise InvalidInput("operation 'sync' is not allowed in read-only mode")
    return {"status": _status, "check": _check, "merge": _merge, "from_main": _from_main,
            "squash": _squash}[mode](ctx)


def _say(ctx: Context) -> Any:
    return (lambda text: None) if ctx.json else ctx.info


def _remote(ctx: Context) -> str | None:
    value = ctx.setting("sync.remote")
    return str(value) if value else None


def _ids(label: str, ids: list[str]) -> str:
    from beads.sync.syncmodes import iter_ids

    return f"    {label}: " + ", ".join(iter_ids(ids))


def _issue_lines(ctx: Context, changes: dict[str, list[str]] | None, indent: str = "  ") -> None:
    if changes is None:
        return
    ctx.out(f"{indent}issues: {len(changes['added'])} added, {len(changes['changed'])} changed, "
            f"{len(changes['removed'])} removed")
    for key in ("added", "changed", "removed"):
        if changes[key]:
            ctx.out(_ids(key, changes[key]))


# -- --status ----------------------------------------------------------------------------------------


def _status(ctx: Context) -> int:
    from beads.sync import syncmodes

    report = syncmodes.status(ctx.tracker(), remote_setting=_remote(ctx))
    if ctx.json:
        ctx.emit(report)
        return 0
    branch = report["branch"] or "(detached HEAD)"
    ctx.out(f"Branch: {branch}")
    commits = report["commits"]
    if report["mode"] == "sync-branch":
        sb = report["sync_branch"]
        remote = f"{report['remote']}/{sb['name']}" if report["remote"] else "no remote"
        ctx.out(f"Sync branch: {sb['name']} ({'exists' if sb['exists'] else 'not created yet'}; {remote}"
                f"{'' if sb['remote_exists'] else ' not fetched or not pushed yet'})")
        if sb["ahead"] is not None:
            ctx.out(f"  {sb['name']} vs {remote} (as last fetched): {sb['ahead']} ahead, {sb['behind']} behind")
            for key, label in (("local_only", "only here"), ("remote_only", "only on the remote")):
                if sb["issues"][key]:
                    ctx.out(_ids(f"issue versions {label}", sb["issues"][key]))
        if sb["ref"]:
            ctx.out(f"Working branch vs {sb['name']}:")
    elif report["target"]:
        ctx.out(f"Upstream: {report['target']} (as last fetched)")
    else:
        ctx.out("Upstream: none (bd sync commits locally)")
    if commits is not None:
        ctx.out(f"  commits: {commits['ahead']} ahead, {commits['behind']} behind")
    _issue_lines(ctx, report["issues"])
    local = report["local"]
    ctx.out("Local: " + _local_text(local, report["mode"] == "sync-branch"))
    if report["mode"] == "sync-branch" and report["issues"] and any(report["issues"].values()):
        ctx.info(f"Hint: 'bd sync --merge' commits the issues of '{report['target']}' on the working branch")
    return 0


def _local_text(local: dict[str, Any], sync_branch: bool) -> str:
    parts = []
    if local["unexported"]:
        parts.append(f"{local['unexported']} issue change(s) not exported to the JSONL yet")
    if local["jsonl_unimported"]:
        parts.append("the JSONL has changes the database has not imported")
    if local["uncommitted"]:
        parts.append("the JSONL differs from the sync branch (not synced yet)" if sync_branch
                     else "the beads files have uncommitted changes")
    return "; ".join(parts) if parts else "nothing waiting to sync"


# -- --check -----------------------------------------------------------------------------------------


def _check(ctx: Context) -> int:
    from beads.sync import synccheck

    tracker = ctx.tracker()
    if tracker.workspace is None:
        raise InvalidInput("bd sync --check needs a workspace (a .beads directory)")
    report = synccheck.check(tracker)
    if ctx.json:
        ctx.emit(report)
        return 0 if report["ok"] else 1
    ctx.out("Sync integrity check: " + ", ".join(report["checked"]))
    for problem in report["problems"]:
        where = problem["where"] + (f":{problem['line']}" if "line" in problem else "")
        ctx.out(f"  ✗ {where}: {problem['message']}")
    if report["ok"]:
        ctx.out("✓ No problems found: safe to sync")
        return 0
    ctx.out(f"✗ {len(report['problems'])} problem(s) found")
    ctx.info("Hint: 'bd doctor --fix' repairs bad lines and orphaned dependencies; conflict markers need the "
             "merge finished by hand")
    return 1


# -- --merge, --from-main, --squash -----------------------------------------------------------------


def _merge(ctx: Context) -> int:
    from beads.sync import syncmodes

    args = ctx.args
    report = syncmodes.merge(ctx.tracker(), dry_run=args.dry_run, message=args.message,
                             author=_str(ctx.setting("git.author")),
                             no_gpg_sign=_truthy(ctx.setting("git.no-gpg-sign")), remote_setting=_remote(ctx),
                             say=_say(ctx))
    if ctx.json:
        ctx.emit(report)
    elif not ctx.quiet:
        _issue_lines(ctx, report["issues"], "")
        if args.dry_run:
            ctx.out("✓ Dry run complete (no changes made)")
        elif report["commit"]:
            ctx.out(f"✓ Committed the issues of '{report['sync_branch']}' on '{report['branch']}' "
                    f"({report['commit'][:12]})")
        else:
            ctx.out(f"✓ '{report['branch']}' already has the issues of '{report['sync_branch']}'")
    return 0


def _from_main(ctx: Context) -> int:
    from beads.sync import syncmodes

    args = ctx.args
    report = syncmodes.from_main(ctx.tracker(), dry_run=args.dry_run, rename_on_import=args.rename_on_import,
                                 remote_setting=_remote(ctx), say=_say(ctx))
    if ctx.json:
        ctx.emit(report)
    elif not ctx.quiet:
        if args.dry_run:
            _issue_lines(ctx, report["issues"], "")
            ctx.out("✓ Dry run complete (no changes made)")
        else:
            imported = report["imported"]
            if imported is not None:
                ctx.out(f"✓ Imported from {report['source']}: {imported['created']} created, "
                        f"{imported['updated']} updated (nothing committed or pushed)")
            else:
                ctx.out(f"✓ Nothing imported from {report['source']}")
    return 0


def from_main_first(ctx: Context) -> dict[str, Any] | None:
    """Plain ``bd sync`` on a branch without an upstream, with a remote and no sync branch: import
    the default branch's issues first (spec §8.6 step 1), then the sync commits locally as before."""
    from beads.sync import syncmodes

    args = ctx.args
    if args.no_pull or not syncmodes.wants_from_main(ctx.tracker()):
        return None
    say = _say(ctx)
    say("→ No upstream configured: importing from the remote's default branch (--from-main), then committing "
        "locally")
    return syncmodes.from_main(ctx.tracker(), dry_run=args.dry_run, rename_on_import=args.rename_on_import,
                               remote_setting=_remote(ctx), strict=False, say=say)


def _squash(ctx: Context) -> int:
    from beads.sync import syncmodes

    report = syncmodes.squash(ctx.tracker(), dry_run=ctx.args.dry_run, say=_say(ctx))
    if ctx.json:
        ctx.emit(report)
    elif not ctx.quiet:
        if ctx.args.dry_run:
            ctx.out("✓ Dry run complete (no changes made)")
        else:
            ctx.out("✓ Changes accumulated in the JSONL (not committed)")
            ctx.info("Run 'bd sync' (without --squash) to commit them all at once")
    return 0


def _truthy(value: object) -> bool:
    from beads.core.config import truthy

    return value is not None and truthy(value)


def _str(value: object) -> str | None:
    return str(value) if value else None
