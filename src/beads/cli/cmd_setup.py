"""Setup commands: init, config, version, where, info."""

from __future__ import annotations

import os

from beads.cli.main import new_subparser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"init": _register_init, "version": _register_version, "where": _register_where,
     "info": _register_info, "config": _register_config}[name](sub)


# -- init ------------------------------------------------------------------------------------


def _register_init(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "init", "Initialize bd in the current directory")
    p.add_argument("-p", "--prefix", help="issue prefix (default: directory name)")
    p.add_argument("-b", "--branch", help="git branch for beads commits (sync branch)")
    p.add_argument("--skip-hooks", action="store_true", help="do not install git hooks")
    p.add_argument("--shared-hooks", action="store_true",
                   help="install the hooks into the versioned .beads-hooks/ (core.hooksPath), as hooks install --shared")
    p.add_argument("--skip-merge-driver", action="store_true", help="do not register the JSONL merge driver")
    p.add_argument("--force", action="store_true",
                   help="re-initialize an existing workspace (its issues and prefix are kept)")
    p.add_argument("--stealth", action="store_true", help="no hooks, no merge driver, ignore .beads locally")
    p.add_argument("--setup-exclude", action="store_true",
                   help="hide .beads/ from git through .git/info/exclude (for forks; hooks still installed)")
    p.add_argument("--from-jsonl", action="store_true",
                   help="import the issues of the existing .beads/issues.jsonl (required to exist)")
    from beads.cli import init_modes

    init_modes.add_flags(p)
    p.set_defaults(run=run_init)


def _init_db_path(ctx: Context) -> str | None:
    """The database ``--db`` or ``BEADS_DB`` names, if any (absolute)."""
    path = getattr(ctx.args, "db", None) or os.environ.get("BEADS_DB") or None
    return os.path.abspath(os.path.expanduser(path)) if path else None


def run_init(ctx: Context) -> int:
    from beads.core import setup
    from beads.core.config import load_yaml, set_yaml_value
    from beads.errors import Conflict, InvalidInput

    args = ctx.args
    cwd = os.getcwd()
    if os.path.basename(cwd) == ".beads" or f"{os.sep}.beads{os.sep}" in cwd + os.sep:
        raise InvalidInput("cannot initialize bd inside a .beads directory (run 'bd init' from the project)")
    local_beads = os.path.join(cwd, ".beads")
    config_yaml = os.path.join(local_beads, "config.yaml")
    recorded = str(load_yaml(config_yaml).get("issue-prefix") or "").strip() or None
    if not args.prefix and recorded:
        args.prefix = recorded  # a clone made before any issue was pushed still shares the project's prefix
    db_path = _init_db_path(ctx)
    if db_path is not None and os.path.dirname(db_path) == local_beads:
        db_path = None if os.path.basename(db_path) == "beads.db" else db_path
    target = db_path or os.path.join(local_beads, "beads.db")
    no_db = bool(getattr(args, "no_db", False))
    existing = (setup.is_initialized(target) if not no_db
                else str(load_yaml(config_yaml).get("no-db", "")).lower() == "true")
    if existing and not args.force:
        raise Conflict(f"bd is already initialized here ({target if not no_db else local_beads}); "
                       "its issues are kept as they are",
                       hint="run bd commands as usual, or 'bd init --force' to re-initialize (issues are kept)")
    if args.from_jsonl and not os.path.isfile(os.path.join(local_beads, "issues.jsonl")):
        raise InvalidInput("--from-jsonl: no .beads/issues.jsonl to import")
    from beads.cli import init_modes

    modes = init_modes.plan(ctx)  # --contributor/--team: every question before anything is created
    # --branch alone (--team records its own): a name git accepts, not the branch checked out
    team = bool(getattr(args, "team", False))
    sync_branch = _checked_sync_branch(args.branch, cwd) if args.branch and not team else None
    if no_db:
        return _init_no_db(ctx, cwd)
    if db_path is not None:
        if modes:
            raise InvalidInput("--contributor and --team work on .beads/ in this repository, not with --db/BEADS_DB")
        return _init_external(ctx, cwd, db_path)
    workspace = setup.init_workspace(cwd, prefix=args.prefix)
    from beads.sync import setup_hooks

    notes = setup_hooks.after_init(ctx, workspace)
    notes.update(init_modes.apply(ctx, workspace, modes))
    prefix = _prefix_of(workspace.db_path)
    if prefix and recorded != prefix:
        set_yaml_value(workspace.config_yaml_path, "issue-prefix", prefix)  # tracked in git: clones read it
    if sync_branch:
        set_yaml_value(workspace.config_yaml_path, "sync.branch", sync_branch)  # bd sync commits there
        notes["sync_branch"] = sync_branch
    if ctx.json:
        ctx.emit({"status": "initialized", "prefix": prefix, "path": workspace.beads_dir,
                  "database": workspace.db_path, **notes})
    elif not ctx.quiet:
        ctx.out("✓ bd initialized successfully!")
        ctx.out("")
        ctx.out(f"  Database: {os.path.relpath(workspace.db_path, cwd)}")
        ctx.out(f"  Issue prefix: {prefix}")
        ctx.out(f"  Issues will be named: {prefix}-<hash> (e.g., {prefix}-a3f2dd)")
        if sync_branch:
            ctx.out(f"  Sync branch: {sync_branch} ('bd sync' commits the issues there, not to your branch)")
        ctx.out("")
        ctx.out("Run 'bd create \"First issue\"' to get started.")
    return 0


def _init_external(ctx: Context, cwd: str, db_path: str) -> int:
    """The database lands where ``--db``/``BEADS_DB`` says; nothing else is created (as the original)."""
    from beads.core.setup import default_prefix, init_external_db

    workspace = init_external_db(db_path, ctx.args.prefix or default_prefix(cwd), cwd)
    prefix = _prefix_of(workspace.db_path)
    if ctx.json:
        ctx.emit({"status": "initialized", "prefix": prefix, "path": workspace.beads_dir,
                  "database": workspace.db_path})
    elif not ctx.quiet:
        ctx.out("✓ bd initialized successfully!")
        ctx.out("")
        ctx.out(f"  Database: {workspace.db_path}")
        ctx.out(f"  Issue prefix: {prefix}")
    return 0


def _init_no_db(ctx: Context, cwd: str) -> int:
    from beads.core.setup import init_no_db

    workspace = init_no_db(cwd, prefix=ctx.args.prefix)
    from beads.core.config import load_yaml

    prefix = str(load_yaml(workspace.config_yaml_path).get("issue-prefix") or "")
    if ctx.json:
        ctx.emit({"status": "initialized", "prefix": prefix, "path": workspace.beads_dir, "mode": "no-db",
                  "jsonl": workspace.jsonl_path})
    elif not ctx.quiet:
        ctx.out("✓ bd initialized successfully in --no-db mode!")
        ctx.out("")
        ctx.out(f"  Issues file: {os.path.relpath(workspace.jsonl_path, cwd)}")
        ctx.out(f"  Issue prefix: {prefix}")
    return 0


def _checked_sync_branch(name: str, cwd: str) -> str:
    """``--branch``/``sync.branch``: a name git accepts, and not the branch checked out."""
    from beads.sync.git import find_git
    from beads.sync.syncbranch import check_name

    git = find_git(cwd)
    return check_name(name, current=git.current_branch() if git is not None else None)


def _prefix_of(db_path: str) -> str:
    from beads.storage.sqlite.store import SqliteStore

    store = SqliteStore(db_path, create=False)
    try:
        return store.get_config("issue_prefix") or ""
    finally:
        store.close()


# -- version / where / info ----------------------------------------------------------------


def _register_version(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "version", "Print version information")
    p.set_defaults(run=run_version)


def run_version(ctx: Context) -> int:
    from beads import __version__

    if ctx.json:
        ctx.emit({"version": __version__, "build": "python"})
    else:
        ctx.out(f"bd version {__version__} (python)")
    return 0


def _register_where(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "where", "Show which workspace and database bd uses")
    p.set_defaults(run=run_where)


def run_where(ctx: Context) -> int:
    ws = ctx.workspace()
    data = {"path": ws.beads_dir}
    if ws.redirected_from:
        data["redirected_from"] = ws.redirected_from
    if ws.db_exists():
        data["prefix"] = _prefix_of(ws.db_path)
        data["database_path"] = ws.db_path
    if ctx.json:
        ctx.emit(data)
    else:
        ctx.out(ws.beads_dir)
        if ws.redirected_from:
            ctx.out(f"  (via redirect from {ws.redirected_from})")
        if "prefix" in data:
            ctx.out(f"  prefix: {data['prefix']}")
        if "database_path" in data:
            ctx.out(f"  database: {data['database_path']}")
    return 0


def _register_info(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "info", "Show database and workspace information")
    p.add_argument("--schema", action="store_true", help="include the schema (tables and columns)")
    p.set_defaults(run=run_info)


def run_info(ctx: Context) -> int:
    from beads import __version__

    tracker = ctx.tracker()
    ws = ctx.workspace()
    total = tracker.total_issues()
    data = {
        "database_path": ws.db_path,
        "beads_dir": ws.beads_dir,
        "jsonl_path": ws.jsonl_path,
        "mode": "direct",
        "version": __version__,
        "issue_count": total,
        "config": {"issue_prefix": tracker.store.get_config("issue_prefix") or ""},
    }
    if ctx.args.schema:
        data["schema"] = tracker.store.schema_info()
    if ctx.json:
        ctx.emit(data)
    else:
        ctx.out("Beads Database Information")
        ctx.out("===========================")
        ctx.out(f"Database: {ws.db_path}")
        ctx.out(f"JSONL:    {ws.jsonl_path}")
        ctx.out("Mode: direct")
        ctx.out(f"Issue prefix: {data['config']['issue_prefix']}")
        ctx.out(f"Issues: {total}")
        if ctx.args.schema:
            for table, columns in data["schema"]["tables"].items():
                ctx.out(f"  {table}: {', '.join(columns)}")
    return 0


# -- config -----------------------------------------------------------------------------------


def _register_config(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "config", "Manage configuration")
    actions = p.add_subparsers(dest="action", metavar="<action>")
    s = actions.add_parser("set", help="set a value")
    s.add_argument("key")
    s.add_argument("value")
    g = actions.add_parser("get", help="get a value")
    g.add_argument("key")
    lst = actions.add_parser("list", help="list all values")
    u = actions.add_parser("unset", help="remove a value")
    u.add_argument("key")
    for child in (s, g, lst, u):
        from beads.cli.main import add_global_flags

        add_global_flags(child, suppress=True)
    p.set_defaults(run=run_config)


def run_config(ctx: Context) -> int:
    from beads.core.config import is_yaml_key, load_yaml, set_yaml_value, validate_key
    from beads.errors import InvalidInput

    args = ctx.args
    action = getattr(args, "action", None)
    if not action:
        raise InvalidInput("usage: bd config set|get|list|unset")
    ws = ctx.workspace()
    if action == "list":
        values = dict(ctx.tracker().all_config())
        for key, value in load_yaml(ws.config_yaml_path).items():
            values[key] = value
        if ctx.json:
            ctx.emit(values)
        else:
            for key in sorted(values):
                ctx.out(f"{key} = {values[key]}")
        return 0
    key = validate_key(args.key)
    yaml_key = is_yaml_key(key)
    if action == "get":
        value = load_yaml(ws.config_yaml_path).get(key) if yaml_key else ctx.tracker().get_config(key)
        if ctx.json:
            data = {"key": key, "value": value if value is not None else ""}
            if yaml_key:
                data["location"] = "config.yaml"
            ctx.emit(data)
        elif value is None:
            ctx.out(f"{key} (not set)")
        else:
            ctx.out(str(value))
        return 0
    if action == "set":
        if key in ("sync.branch", "sync-branch") and args.value:
            args.value = _checked_sync_branch(args.value, os.getcwd())
        if yaml_key:
            set_yaml_value(ws.config_yaml_path, key, args.value)
        else:
            ctx.writer("config").set_config(key, args.value)
        if ctx.json:
            data = {"key": key, "value": args.value}
            if yaml_key:
                data["location"] = "config.yaml"
            ctx.emit(data)
        else:
            ctx.out(f"Set {key} = {args.value}" + (" (in config.yaml)" if yaml_key else ""))
        return 0
    if yaml_key:
        set_yaml_value(ws.config_yaml_path, key, None)
    else:
        ctx.writer("config").unset_config(key)
    if ctx.json:
        ctx.emit({"key": key, "status": "unset"})
    else:
        ctx.out(f"Unset {key}")
    return 0
