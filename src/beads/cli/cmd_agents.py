"""Agents' front doors: ``bd onboard``, ``bd prime``, ``bd quickstart``, ``bd setup <recipe>``.

``bd prime`` runs from session hooks, so it never fails the hook: outside a workspace it
prints nothing and exits 0, it never writes to stderr, and anything that goes wrong only
shortens its output. Its counts come from the database as it is (no auto-import, which
could warn). The texts are in ``agent_docs``; the setup recipes in ``integrations``.
"""

from __future__ import annotations

import os

from beads.cli.main import new_subparser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context
    from beads.core.workspace import Workspace


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"onboard": _register_onboard, "prime": _register_prime, "quickstart": _register_quickstart,
     "setup": _register_setup}[name](sub)


# -- onboard / quickstart ---------------------------------------------------------------------------


def _register_onboard(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "onboard", "Print the AGENTS.md snippet that points agents at bd")
    p.set_defaults(run=run_onboard)


def run_onboard(ctx: Context) -> int:
    from beads.cli import agent_docs

    if ctx.json:
        ctx.emit({"agents_md": agent_docs.ONBOARD_SNIPPET})
    else:
        ctx.stdout.write(agent_docs.onboard_text())
    return 0


def _register_quickstart(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "quickstart", "A short tour of bd's workflow")
    p.set_defaults(run=run_quickstart)


def run_quickstart(ctx: Context) -> int:
    from beads.cli import agent_docs

    ctx.stdout.write(agent_docs.QUICKSTART)
    return 0


# -- prime ------------------------------------------------------------------------------------------


def _register_prime(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "prime", "Print workflow context for an AI agent (for session hooks)")
    p.add_argument("--full", action="store_true", help="the full CLI context, even when the MCP server is set up")
    p.add_argument("--mcp", action="store_true", help="the short context for agents using the MCP server")
    p.add_argument("--stealth", action="store_true", help="no git operations in the session-close protocol")
    p.add_argument("--export", action="store_true", help="print the built-in text, ignoring .beads/PRIME.md")
    p.set_defaults(run=run_prime)


def run_prime(ctx: Context) -> int:
    import contextlib
    import io

    sink = io.StringIO()  # whatever would reach stderr is dropped (restored afterwards: the daemon runs
    ctx.stderr = sink     # commands in its own process)
    try:
        with contextlib.redirect_stderr(sink):
            text = prime_text(ctx)
    except Exception:  # noqa: BLE001 - a session hook must never fail: no context rather than an error
        if os.environ.get("BD_DEBUG"):
            raise
        return 0
    if text:
        ctx.stdout.write(text)
    return 0


def prime_text(ctx: Context) -> str:
    from beads.cli import agent_docs
    from beads.core.workspace import discover
    from beads.errors import NoWorkspace

    args = ctx.args
    try:
        ws = discover(db=getattr(args, "db", None))
    except NoWorkspace:
        return ""
    if not os.path.isdir(ws.beads_dir):
        return ""
    if not args.export:
        custom = os.path.join(ws.beads_dir, "PRIME.md")
        try:
            with open(custom, encoding="utf-8") as fh:
                return fh.read()
        except OSError:
            pass
    from beads.core.config import truthy

    if args.stealth or truthy(ctx.setting("no-git-ops")):
        mode = "stealth"
    elif not _has_git_remote(ws.root):
        mode = "local"
    elif truthy(ctx.setting("no-push")):
        mode = "no-push"
    else:
        mode = "full"
    mcp = args.mcp or (not args.full and mcp_configured())
    state = _state_line(ctx, ws)
    return agent_docs.prime_mcp(mode, state) if mcp else agent_docs.prime_cli(mode, state)


def mcp_configured() -> bool:
    """Whether Claude Code's user settings name a beads MCP server (the original's test)."""
    import json

    path = os.path.join(os.path.expanduser("~"), ".claude", "settings.json")
    try:
        with open(path, encoding="utf-8") as fh:
            settings = json.load(fh)
    except (OSError, ValueError):
        return False
    servers = settings.get("mcpServers") if isinstance(settings, dict) else None
    return isinstance(servers, dict) and any("beads" in str(k).lower() for k in servers)


def _has_git_remote(root: str) -> bool:
    """A ``[remote "…"]`` section in the repository's config (read, not asked of git)."""
    from beads.sync.identity import git_dirs

    try:
        _, common = git_dirs(root)
        if common is None:
            return False
        with open(os.path.join(common, "config"), encoding="utf-8", errors="replace") as fh:
            return any(line.strip().lower().startswith("[remote ") for line in fh)
    except Exception:  # noqa: BLE001 - an unusual layout: say local-only rather than fail
        return False


def _state_line(ctx: Context, ws: Workspace) -> str:
    """``Now: 3 ready, 1 in progress, 2 blocked.`` plus the actor's own work in progress."""
    if not ws.db_exists():
        return ""
    from beads.core.tracker import Tracker
    from beads.storage.sqlite import health
    from beads.storage.sqlite.store import SqliteStore

    tracker = Tracker(SqliteStore(ws.db_path, create=False, busy_timeout_ms=2000), actor="prime", workspace=ws)
    try:
        stats = tracker.stats()
        mine = health.in_progress_of(tracker.store, ctx.actor(git=True), 3) if stats.get("in_progress_issues") else []
    finally:
        tracker.disconnect()
    line = (f"\nNow: {stats.get('ready_issues', 0)} ready, {stats.get('in_progress_issues', 0)} in progress, "
            f"{stats.get('blocked_issues', 0)} blocked, {stats.get('open_issues', 0)} open.\n")
    for issue_id, title in mine:
        line += f"Yours in progress: {issue_id} {title[:60]}{'…' if len(title) > 60 else ''}\n"
    return line


# -- setup ------------------------------------------------------------------------------------------


def _register_setup(sub: argparse._SubParsersAction) -> None:
    from beads.cli.integrations import RECIPES

    p = new_subparser(sub, "setup", "Install the bd integration for an AI editor or agent")
    p.add_argument("recipe", nargs="?", help=f"one of: {', '.join(RECIPES)}")
    p.add_argument("--check", action="store_true", help="check whether the integration is installed (exit 1 if not)")
    p.add_argument("--remove", action="store_true", help="remove what bd setup added (and nothing else)")
    p.add_argument("--project", action="store_true",
                   help="claude/gemini: this project's settings instead of your user settings")
    p.add_argument("--stealth", action="store_true", help="claude/gemini: hooks run 'bd prime --stealth'")
    p.add_argument("--list", action="store_true", help="list the recipes")
    p.set_defaults(run=run_setup)


def run_setup(ctx: Context) -> int:
    from beads.cli import integrations
    from beads.errors import InvalidInput

    args = ctx.args
    if args.list or not args.recipe:
        if ctx.json:
            ctx.emit(list(integrations.RECIPES))
        else:
            ctx.out("Recipes: " + ", ".join(integrations.RECIPES))
            ctx.out("Usage: bd setup <recipe> [--check | --remove] [--project] [--stealth]")
        return 0 if args.list else 1
    if args.check and args.remove:
        raise InvalidInput("--check and --remove are mutually exclusive")
    action = "check" if args.check else "remove" if args.remove else "install"
    res = integrations.run(args.recipe, action, project=args.project, stealth=args.stealth,
                           home=os.path.expanduser("~"), cwd=os.getcwd())
    if ctx.json:
        doc: dict[str, Any] = res.to_json()
        ctx.emit(doc)
    else:
        for line in res.lines:
            ctx.out(line)
    return 1 if action == "check" and not res.installed else 0
