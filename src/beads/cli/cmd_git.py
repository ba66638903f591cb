"""Git-facing commands: ``sync``, ``merge`` (the merge driver) and ``hooks``.

Thin on purpose: the work lives in ``beads.sync.gitsync``, ``beads.sync.merge`` and
``beads.sync.githooks``. ``merge`` and ``hooks`` never open the database.
"""

from __future__ import annotations

import argparse
import os

from beads.cli.main import new_subparser
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from beads import model
    from beads.cli.context import Context
    from beads.sync.git import Git


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"sync": _register_sync, "merge": _register_merge, "hooks": _register_hooks}[name](sub)


# -- sync -----------------------------------------------------------------------------------


def _register_sync(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "sync", "Synchronize issues with git (export, commit, pull, merge, push)")
    p.add_argument("-m", "--message", help="commit message (default: 'bd sync: <timestamp>')")
    p.add_argument("--dry-run", action="store_true", help="show what would happen; change nothing")
    p.add_argument("--no-pull", action="store_true", help="do not pull from the remote")
    p.add_argument("--no-push", action="store_true", help="do not push to the remote")
    p.add_argument("--flush-only", action="store_true", help="only export the database to the JSONL (no git)")
    p.add_argument("--import-only", action="store_true", help="only import the JSONL into the database (no git)")
    p.add_argument("--rename-on-import", action="store_true", help="rename imported issues to this prefix")
    p.add_argument("--no-git-history", action="store_true", help=argparse.SUPPRESS)  # accepted for old hooks
    p.add_argument("--merged-from", metavar="REV", help=argparse.SUPPRESS)  # post-merge hook: ORIG_HEAD
    from beads.cli import sync_modes

    sync_modes.add_flags(p)
    p.set_defaults(run=run_sync)


def run_sync(ctx: Context) -> int:
    from beads.cli import sync_modes
    from beads.sync import gitsync

    args = ctx.args
    code = sync_modes.dispatch(ctx)  # --status, --check, --merge, --from-main, --squash
    if code is not None:
        return code
    if getattr(args, "readonly", False) and not args.dry_run:
        raise InvalidInput("operation 'sync' is not allowed in read-only mode")
    options = gitsync.SyncOptions(
        flush_only=args.flush_only, import_only=args.import_only, no_pull=args.no_pull,
        no_push=args.no_push or _truthy(ctx.setting("no-push")), dry_run=args.dry_run, message=args.message,
        rename_on_import=args.rename_on_import, author=_str(ctx.setting("git.author")),
        no_gpg_sign=_truthy(ctx.setting("git.no-gpg-sign")), merged_from=args.merged_from)
    say = (lambda text: None) if ctx.json else ctx.info
    from_main = None if args.flush_only or args.import_only else sync_modes.from_main_first(ctx)
    report = gitsync.sync(ctx.tracker(), options, say=say)
    if from_main is not None:
        report["from_main"] = from_main
    if ctx.json:
        ctx.emit(report)
    elif not ctx.quiet:
        ctx.out("✓ Dry run complete (no changes made)" if args.dry_run else "✓ Sync complete")
    return 0


def _truthy(value: object) -> bool:
    from beads.core.config import truthy

    return value is not None and truthy(value)


def _str(value: object) -> str | None:
    return str(value) if value else None


# -- merge (git merge driver) ------------------------------------------------------------------


def _register_merge(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "merge", "Git merge driver for beads JSONL files")
    p.description = ("3-way merge of issues JSONL files, issue by issue and field by field, keeping every\n"
                     "field. Registered by 'bd init' as: git config merge.beads.driver \"bd merge %A %O %A %B\".\n"
                     "Exit status: 0 merged cleanly, 1 conflicts (result written, details on stderr), 2 error or\n"
                     "an input line that is not a valid issue (never merged: kept between conflict markers).")
    p.add_argument("output", help="where to write the merged file (git's %%A)")
    p.add_argument("base", help="the common ancestor (git's %%O); missing or empty means none")
    p.add_argument("left", help="our version (git's %%A)")
    p.add_argument("right", help="their version (git's %%B)")
    p.add_argument("--debug", action="store_true", help="print what was read and merged to stderr")
    p.set_defaults(run=run_merge)


def run_merge(ctx: Context) -> int:
    from beads.sync.merge import merge_files

    args = ctx.args
    renamed: dict[str, str] = {}
    try:
        conflicts, base_problems = merge_files(args.output, args.base, args.left, args.right, renamed=renamed,
                                               vocab=lambda: _merge_vocab(ctx))
    except OSError as exc:
        ctx.err(f"Error: bd merge: {exc.filename or ''}: {exc.strerror or exc}")
        return 2
    except Exception as exc:  # the driver must answer git with a status, not a traceback
        if os.environ.get("BD_DEBUG"):
            raise
        ctx.err(f"Error: bd merge: {type(exc).__name__}: {exc}")
        return 2
    for old, new in sorted(renamed.items()):
        ctx.err(f"Warning: bd merge: {old} is a different issue on each side; ours is now {new}")
    for problem in base_problems:
        ctx.err(f"Warning: bd merge: ignoring unparsable line {problem.line_no} of the base version")
    if args.debug:
        ctx.err(f"bd merge: wrote {args.output} ({len(conflicts)} conflict(s))")
    bad = [c for c in conflicts if c.issue_id is None]
    if bad:
        # A line that is not a valid issue is never merged (nor imported): git gets a conflict (exit 2)
        # and the file keeps every input line, the bad ones between conflict markers.
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        ctx.err(f"Error: bd merge: {bad[0].reason}{more}; not merged, the lines are kept between conflict markers")
        return 2
    if conflicts:
        ctx.err(f"bd merge: {len(conflicts)} conflict(s) in {args.output}:")
        for conflict in conflicts:
            ctx.err(f"  {conflict}")
        ctx.err("The lines that could not be merged are at the end of the file between conflict markers;\n"
                "fix or delete them, then 'git add' the file.")
        return 1
    return 0


def _merge_vocab(ctx: Context) -> model.Vocab | None:
    """The workspace's statuses and types (custom ones from its database config), read without
    opening the CLI's Tracker: the merge driver runs inside git and must not auto-import."""
    try:
        ws = ctx.workspace()
        if not ws.db_exists():
            return None
        from beads import model
        from beads.storage.sqlite.peek import config_values

        values = config_values(ws.db_path, ["status.custom", "types.custom"])
        if values is None:
            return None
        return model.Vocab.from_config(values.get("status.custom"), values.get("types.custom"))
    except Exception:  # noqa: BLE001 - no readable database: the built-in vocabularies
        return None


# -- hooks ------------------------------------------------------------------------------------------


def _register_hooks(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "hooks", "Manage git hooks")
    p.set_defaults(run=_hooks_usage)
    actions = p.add_subparsers(dest="hooks_command", metavar="<subcommand>")
    a = new_subparser(actions, "install", "Install bd's git hooks (existing hooks are kept and chained)")
    a.add_argument("--force", action="store_true",
                   help="also chain a foreign hook when an older chained hook exists, or switch core.hooksPath "
                        "with --shared although hooks elsewhere would stop running (nothing is deleted)")
    a.add_argument("--shared", action="store_true",
                   help="install into the versioned .beads-hooks/ and set core.hooksPath to it (commit the "
                        "directory to share the hooks)")
    a.add_argument("--chain", action="store_true",
                   help="run an existing hook before bd's (kept as <hook>.pre-bd); the default here too")
    a.set_defaults(run=run_hooks_install)
    a = new_subparser(actions, "uninstall", "Remove bd's git hooks and restore the hooks they chained")
    a.add_argument("--shared", action="store_true",
                   help="also remove bd's hooks from .beads-hooks/ when core.hooksPath does not point there")
    a.set_defaults(run=run_hooks_uninstall)
    a = new_subparser(actions, "list", "Show the state of bd's git hooks")
    a.set_defaults(run=run_hooks_list)
    a = new_subparser(actions, "run", "Run a hook's logic (called by the installed shims)")
    a.add_argument("hook", help="pre-commit, post-merge, pre-push or post-checkout")
    a.add_argument("hook_args", nargs=argparse.REMAINDER, help="the arguments git gave the hook")
    a.set_defaults(run=run_hooks_run)


def _hooks_usage(ctx: Context) -> int:
    raise InvalidInput("missing subcommand", hint="usage: bd hooks install [--shared] [--chain] [--force] | uninstall [--shared] | list | run <hook>")


def _git_here() -> tuple[Git, str]:
    """The repository around the working directory and the project root (the .beads parent)."""
    from beads.core.workspace import find_beads_dir
    from beads.errors import GitError
    from beads.sync.git import find_git

    git = find_git(os.getcwd())
    if git is None:
        raise GitError("not a git repository", hint="run 'git init' first")
    beads_dir = find_beads_dir(os.getcwd())
    return git, os.path.dirname(beads_dir) if beads_dir else git.root


def run_hooks_install(ctx: Context) -> int:
    from beads.sync import githooks, sharedhooks

    args = ctx.args
    git, project = _git_here()
    if args.shared:
        result = sharedhooks.install_shared(git, project, force=args.force)
    else:
        result = {"hooks_dir": git.hooks_dir(), "shared": sharedhooks.points_at_shared(git),
                  "hooks": githooks.install(git, project, force=args.force)}
    result["chained"] = any(r.get("chained") for r in result["hooks"])
    result["success"] = True
    if ctx.json:
        ctx.emit(result)
        return 0
    for r in result["hooks"]:
        if r["action"] == "skipped":
            ctx.warn(r["reason"])
        elif not ctx.quiet:
            extra = f" (runs the existing hook {os.path.basename(r['chained'])} first)" if r.get("chained") else ""
            ctx.out(f"✓ {r['hook']}: {r['action']}{extra}")
    for path in result.get("stranded", []):
        ctx.warn(f"git no longer runs {path} (core.hooksPath is now {sharedhooks.SHARED_DIR})")
    if args.shared and not ctx.quiet:
        ctx.out(f"Hooks installed in {os.path.relpath(result['hooks_dir'])}/ and "
                f"git config {sharedhooks.HOOKS_PATH_KEY} set to {sharedhooks.SHARED_DIR}")
        ctx.out(f"Commit {sharedhooks.SHARED_DIR}/ to share them; each clone runs "
                "'bd hooks install --shared' (or 'bd init') to use them.")
    return 0


def run_hooks_uninstall(ctx: Context) -> int:
    from beads.sync import sharedhooks

    git, _ = _git_here()
    result = sharedhooks.uninstall_all(git, shared=ctx.args.shared)
    if ctx.json:
        ctx.emit(result)
        return 0
    if ctx.quiet:
        return 0
    for r in result["hooks"]:
        if r["action"] != "absent":
            extra = " (restored the previous hook)" if r.get("restored") else ""
            ctx.out(f"✓ {r['hook']}: {r['action']}{extra} [{os.path.relpath(os.path.dirname(r['path']))}]")
    if result.get("unset"):
        ctx.out(f"✓ unset git config {result['unset']}")
    return 0


def run_hooks_list(ctx: Context) -> int:
    from beads.sync import githooks, sharedhooks

    git, _ = _git_here()
    place = sharedhooks.where(git)
    entries = githooks.status(git, hooks_dir=place["hooks_dir"])
    for e in entries:
        e["shared"] = place["shared"]
    if ctx.json:
        ctx.emit(entries)
        return 0
    shared = f" (shared: {sharedhooks.SHARED_DIR}/ via {sharedhooks.HOOKS_PATH_KEY})" if place["shared"] else ""
    ctx.out(f"Git hooks status{shared}:")
    for e in entries:
        if e["kind"] == "missing":
            state = "not installed"
        elif e["kind"] == "other":
            state = "not a bd hook"
        else:
            state = f"installed ({'shim' if e['kind'] == 'shim' else 'version'} {e.get('version') or '?'})"
        chained = f", chains {os.path.basename(e['chained'])}" if e.get("chained") else ""
        ctx.out(f"  {'✓' if e['installed'] else '✗'} {e['name']}: {state}{chained}")
    if place["shared_available"]:
        ctx.info(f"This project has shared hooks in {sharedhooks.SHARED_DIR}/ that git does not run here; "
                 "'bd hooks install --shared' turns them on")
    return 0


def run_hooks_run(ctx: Context) -> int:
    from beads.sync import githooks

    return githooks.run_hook(ctx.args.hook, list(ctx.args.hook_args), stderr=ctx.stderr)
