"""Daemon commands: `bd daemon start|stop|status|restart|logs|health` (and the original's
``--start/--stop/--status/--health`` flags), `bd daemons list|stop|killall|health|logs`,
and `bd daemon-event import-needed|export-needed` for git hooks.

These always run in direct mode: they manage the daemon, through ``beads.daemon.control``.
"""

from __future__ import annotations

import os

from beads.cli.main import new_subparser
from beads.errors import BdError, InvalidInput, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context

ACTIONS = ("start", "stop", "status", "restart", "logs", "health")


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"daemon": _register_daemon, "daemons": _register_daemons, "daemon-event": _register_event}[name](sub)


def _register_daemon(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "daemon", "Run a background daemon serving this workspace (start|stop|status|restart|"
                                     "logs|health)")
    p.add_argument("action", nargs="?", choices=ACTIONS, help="what to do (default: start)")
    for flag in ACTIONS[:3] + ("health",):
        p.add_argument(f"--{flag}", dest=f"flag_{flag}", action="store_true", help=f"same as 'bd daemon {flag}'")
    p.add_argument("--foreground", action="store_true", help="run in this process (logs to stderr)")
    p.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                   help="exit after this long without requests (default $BEADS_DAEMON_IDLE_TIMEOUT or 1800)")
    p.add_argument("--auto-commit", action="store_true", default=None,
                   help="commit the beads files once per quiet period after an export (config daemon.auto_commit)")
    p.add_argument("--auto-push", action="store_true", default=None,
                   help="push after each such commit; implies --auto-commit (config daemon.auto_push)")
    p.add_argument("--auto-pull", action="store_true", default=None,
                   help="pull (fetch, merge, import) every remote-sync-interval (30s) and on "
                        "'bd daemon-event import-needed' (config daemon.auto_pull)")
    p.add_argument("-n", "--lines", type=int, default=50, help="log lines to show (logs)")
    p.set_defaults(run=run_daemon)


def _register_daemons(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "daemons", "Manage the daemons of every workspace (list|stop|killall|health|logs)")
    p.add_argument("action", nargs="?", default="list", choices=("list", "stop", "killall", "health", "logs"))
    p.add_argument("target", nargs="?", help="workspace path or PID (stop, logs)")
    p.add_argument("-n", "--lines", type=int, default=50, help="log lines to show (logs)")
    p.set_defaults(run=run_daemons)


def _register_event(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "daemon-event", "Tell a running daemon that the JSONL needs importing or exporting")
    p.add_argument("kind", choices=("import-needed", "export-needed"))
    p.set_defaults(run=run_event)


def _beads_dir(ctx: Context) -> str:
    return ctx.workspace().beads_dir


def run_daemon(ctx: Context) -> int:
    args = ctx.args
    action = args.action or next((a for a in ACTIONS if getattr(args, f"flag_{a}", False)), "start")
    if action == "start":
        return _start(ctx)
    if action == "stop":
        return _stop(ctx)
    if action == "restart":
        _stop(ctx, quiet=True)
        return _start(ctx)
    if action == "status":
        return _status(ctx)
    if action == "health":
        return _health(ctx)
    return _logs(ctx, os.path.join(_beads_dir(ctx), "daemon.log"), args.lines)


def _start(ctx: Context) -> int:
    from beads.daemon import control

    ws = ctx.workspace()
    if not ws.db_exists():
        from beads.errors import NoWorkspace

        raise NoWorkspace("no beads database found", hint="run 'bd init' first")
    if ctx.args.foreground:
        from beads.daemon.process import Daemon, setup_logging

        setup_logging(ws.beads_dir, True)
        return Daemon(ws.beads_dir, idle_timeout=ctx.args.idle_timeout, auto_commit=ctx.args.auto_commit,
                      auto_push=ctx.args.auto_push, auto_pull=ctx.args.auto_pull).run()
    flags = tuple(f"--auto-{name}" for name in ("commit", "push", "pull") if getattr(ctx.args, f"auto_{name}"))
    pid, why = control.start(ws.beads_dir, idle_timeout=ctx.args.idle_timeout, git_flags=flags)
    if pid is None:
        raise BdError(f"the daemon did not start: {why}")
    started = why != "already running"
    if ctx.json:
        ctx.emit({"started": started, "pid": pid, "socket_path": _socket(ws.beads_dir)})
    elif started:
        ctx.out(f"Daemon started (PID {pid})")
    else:
        ctx.out(f"Daemon already running (PID {pid})")
    return 0


def _socket(beads_dir: str) -> str | None:
    from beads.daemon import paths

    return paths.find_socket(beads_dir)


def _stop(ctx: Context, *, quiet: bool = False) -> int:
    from beads.daemon import control

    pid = control.stop(_beads_dir(ctx))
    if quiet:
        return 0
    if ctx.json:
        ctx.emit({"stopped": pid is not None, "pid": pid if pid and pid > 0 else None})
    elif pid is None:
        ctx.out("Daemon is not running")
    else:
        ctx.out(f"Daemon stopped (PID {pid})" if pid > 0 else "Daemon stopped")
    return 0


def _status(ctx: Context) -> int:
    from beads import __version__
    from beads.daemon import control

    beads_dir = _beads_dir(ctx)
    info = control.ask(beads_dir, "status")
    if info is None:
        if ctx.json:
            ctx.emit({"running": False, "workspace": os.path.dirname(beads_dir)})
        else:
            ctx.out("Daemon is not running")
        return 0
    out = {"running": True, "workspace": info.get("workspace_path"), "pid": info.get("pid"),
           "version": info.get("version"), "status": "healthy", "started": info.get("started"),
           "uptime_seconds": info.get("uptime_seconds"), "daemon_mode": info.get("daemon_mode"),
           "log_path": info.get("log_path"), "socket_path": info.get("socket_path"),
           "database_path": info.get("database_path"), "idle_timeout_seconds": info.get("idle_timeout_seconds"),
           "debounce_ms": info.get("debounce_ms"), "auto_commit": bool(info.get("auto_commit")),
           "auto_push": bool(info.get("auto_push")), "auto_pull": bool(info.get("auto_pull")),
           "remote_sync_interval": info.get("remote_sync_interval"), "git": info.get("git"),
           "last_activity": info.get("last_activity_time"),
           "version_mismatch": info.get("version") != __version__, "is_current": info.get("version") == __version__,
           "events": info.get("events") or {}}
    if ctx.json:
        ctx.emit(out)
        return 0
    ctx.out(f"Daemon is running (PID {out['pid']})")
    ctx.out(f"  Version: {out['version']}")
    ctx.out(f"  Started: {out['started']}")
    ctx.out(f"  Uptime: {_duration(out['uptime_seconds'] or 0)}")
    ctx.out(f"  Mode: {out['daemon_mode']}")
    ctx.out(f"  Socket: {out['socket_path']}")
    ctx.out(f"  Log: {out['log_path']}")
    ctx.out(f"  Auto-Commit: {_yes(out['auto_commit'])}")
    ctx.out(f"  Auto-Push: {_yes(out['auto_push'])}")
    ctx.out(f"  Auto-Pull: {_yes(out['auto_pull'])}"
            + (f" (every {out['remote_sync_interval']})" if out["auto_pull"] else ""))
    git: dict[str, Any] | None = out["git"]
    if git:
        ctx.out(f"  Last sync: {git.get('last_sync') or 'never'}")
        ctx.out(f"  Last commit: {git.get('last_commit') or 'never'}, last push: {git.get('last_push') or 'never'}, "
                f"last pull: {git.get('last_pull') or 'never'}")
        if git.get("last_error"):
            ctx.out(f"  Last git error ({git.get('last_error_at')}): {git['last_error']}")
    if ctx.args.verbose:
        ev: dict[str, Any] = out["events"]
        batched = ev.get("mutations_per_export") or {}
        ctx.out(f"  Last activity: {out['last_activity']}")
        ctx.out(f"  Last export: {ev.get('last_export') or 'never'}")
        ctx.out(f"  Last import: {ev.get('last_import') or 'never'}")
        ctx.out(f"  Idle timeout: {_duration(out['idle_timeout_seconds'] or 0)}")
        ctx.out("  Events since start:")
        ctx.out(f"    Requests: {ev.get('requests', 0)} ({ev.get('errors', 0)} refused or failed), "
                f"commands: {ev.get('commands', 0)}")
        ctx.out(f"    Mutations: {ev.get('mutations', 0)}")
        ctx.out(f"    Exports: {ev.get('exports', 0)} (failed: {ev.get('export_failures', 0)}; mutations per "
                f"export: mean {batched.get('mean', 0)}, max {batched.get('max', 0)})")
        ctx.out(f"    File changes: {ev.get('file_changes', 0)}, imports: {ev.get('imports', 0)}")
        backend = f" ({ev['watcher_backend']})" if ev.get("watcher_backend") else ""
        ctx.out(f"    Watcher: {ev.get('watcher')}{backend}, errors: {ev.get('watcher_errors', 0)}")
        if git:
            ctx.out(f"    Git: {git.get('syncs', 0)} sync(s), {git.get('commits', 0)} commit(s), "
                    f"{git.get('pushes', 0)} push(es), {git.get('pulls', 0)} pull(s), "
                    f"{git.get('failures', 0)} failed, {git.get('deferred', 0)} deferred for a bd sync")
    return 0


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _health(ctx: Context) -> int:
    from beads import __version__
    from beads.daemon import control

    info = control.ask(_beads_dir(ctx), "health", None)
    if info is None:
        info = {"status": "not running"}
    if ctx.json:
        ctx.emit(info)
    else:
        ctx.out(f"Daemon health: {info.get('status')}")
        if "version" in info:
            ctx.out(f"  Version: {info['version']} (client {__version__}, compatible: "
                    f"{'yes' if info.get('compatible') else 'no'})")
            ctx.out(f"  Uptime: {_duration(info.get('uptime_seconds') or 0)}")
            ctx.out(f"  Connections: {info.get('active_connections')}/{info.get('max_connections')}")
    return 0 if info.get("status") in ("healthy", "not running") else 1


def _logs(ctx: Context, path: str, lines: int) -> int:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            tail = fh.readlines()[-max(lines, 1):]
    except FileNotFoundError:
        raise NotFound(f"no daemon log at {path}") from None
    for line in tail:
        ctx.out(line.rstrip("\n"))
    return 0


# -- all daemons ---------------------------------------------------------------------------------


def run_daemons(ctx: Context) -> int:
    from beads.daemon import registry

    args = ctx.args
    entries = registry.entries()
    if args.action == "list":
        if ctx.json:
            ctx.emit(entries)
        elif not entries:
            ctx.out("No daemons running")
        else:
            ctx.out(f"{'WORKSPACE':<50} {'PID':>8}  {'VERSION':<10} STARTED")
            for e in entries:
                ctx.out(f"{e.get('workspace_path', ''):<50} {e['pid']:>8}  {e.get('version', ''):<10} "
                        f"{e.get('started_at', '')}")
        return 0
    if args.action in ("stop", "logs"):
        if not args.target:
            raise InvalidInput(f"'bd daemons {args.action}' needs a workspace path or PID")
        entry = _find(entries, args.target)
        beads_dir = os.path.dirname(entry["database_path"])
        if args.action == "logs":
            return _logs(ctx, os.path.join(beads_dir, "daemon.log"), args.lines)
        _stop_entry(entry)
        ctx.out(f"Stopped daemon for {entry['workspace_path']} (PID {entry['pid']})")
        return 0
    if args.action == "killall":
        for entry in entries:
            _stop_entry(entry)
        if ctx.json:
            ctx.emit({"stopped": len(entries)})
        else:
            ctx.out(f"Stopped {len(entries)} daemon(s)")
        return 0
    return _health_all(ctx, entries)


def _find(entries: list[dict[str, Any]], target: str) -> dict[str, Any]:
    real = os.path.realpath(target)
    for e in entries:
        if str(e["pid"]) == target or os.path.realpath(e.get("workspace_path", "")) == real:
            return e
    raise NotFound(f"no daemon running for {target}")


def _stop_entry(entry: dict[str, Any]) -> None:
    from beads.daemon import control

    control.stop(os.path.dirname(entry["database_path"]))


def _health_all(ctx: Context, entries: list[dict[str, Any]]) -> int:
    from beads.daemon import control

    rows = []
    for e in entries:
        info = control.ask(os.path.dirname(e["database_path"]), "health")
        rows.append({"workspace": e.get("workspace_path"), "pid": e["pid"], "version": e.get("version"),
                     "status": (info or {}).get("status", "unresponsive")})
    healthy = sum(1 for r in rows if r["status"] == "healthy")
    if ctx.json:
        ctx.emit({"total": len(rows), "healthy": healthy, "unresponsive": len(rows) - healthy, "daemons": rows})
    else:
        for r in rows:
            ctx.out(f"{r['workspace']}: {r['status']} (PID {r['pid']}, version {r['version']})")
        ctx.out(f"{healthy}/{len(rows)} healthy")
    return 0 if healthy == len(rows) else 1


def run_event(ctx: Context) -> int:
    """Nudge the daemon (from a git hook); nothing to do, and no error, when none runs."""
    from beads.daemon import control

    try:
        beads_dir = _beads_dir(ctx)
    except BdError:
        return 0
    control.ask(beads_dir, "daemon_event", {"kind": ctx.args.kind})
    return 0
