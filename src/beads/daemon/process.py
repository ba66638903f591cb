"""The daemon process: one per workspace, from lock to clean exit.

``Daemon.run`` takes ``.beads/daemon.lock`` (flock, held for the process's
lifetime: a second daemon exits at once), removes what a killed predecessor left,
binds the socket (mode 0600), writes the pid file and the registry entry, and serves
until one of: SIGTERM/SIGINT, a ``shutdown`` request, the idle timeout, its database
or workspace disappearing. Then it flushes pending exports and removes its socket,
pid file and registry entry.

Writes go through the CLI's own code and the write barrier (``beads.sync.barrier``);
the daemon only turns the barrier's flush into a debounced export after the reply.

Run as ``python -m beads.daemon.process <beads-dir> [--idle-timeout S] [--foreground]``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections import deque

from beads.daemon import paths, runner
from beads.daemon.events import Debouncer, Poller, Stats, Watcher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

log = logging.getLogger("beads.daemon")

DEFAULT_IDLE_TIMEOUT = 30 * 60.0
# get_mutations: the kind of change an audit event stands for, and which kind names a command's change
MUTATION_KINDS = {"created": "create", "deleted": "delete", "closed": "status", "reopened": "status",
                  "status_changed": "status", "commented": "comment"}
MUTATION_RANK = {"create": 0, "delete": 1, "status": 2, "update": 3, "comment": 4}


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class Daemon:
    def __init__(self, beads_dir: str, *, idle_timeout: float | None = None, auto_commit: bool | None = None,
                 auto_push: bool | None = None, auto_pull: bool | None = None) -> None:
        from beads import __version__
        from beads.core.workspace import Workspace

        self.ws = Workspace(os.path.abspath(beads_dir))
        self.beads_dir = self.ws.beads_dir
        self.root = self.ws.root
        self.db_path = os.path.realpath(self.ws.db_path)
        self.jsonl_path = self.ws.jsonl_path
        # BD_DAEMON_VERSION_OVERRIDE: for tests of the upgrade path (a daemon older than its clients)
        self.version = os.environ.get("BD_DAEMON_VERSION_OVERRIDE") or __version__
        self.base_env = dict(os.environ)
        from beads.core.tracker import default_actor

        self.default_actor = default_actor()
        self.idle_timeout = idle_timeout if idle_timeout is not None else _env_float(
            "BEADS_DAEMON_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT)
        self.debounce = _env_float("BEADS_DEBOUNCE_MS", 500) / 1000.0
        self.mode = (os.environ.get("BEADS_DAEMON_MODE") or "events").strip().lower()
        self.poll_interval = _env_float("BEADS_POLL_INTERVAL", 5.0)
        self.started = time.time()
        self.last_activity = time.monotonic()
        self.stats = Stats()
        self.mutations: deque[dict[str, Any]] = deque(maxlen=1000)  # get_mutations, most recent last
        self._batch_mutations: list[dict[str, Any]] | None = None
        self.socket_path = paths.socket_for_binding(self.beads_dir)
        self.active_connections = 0
        self.stop_reason: str | None = None
        self._stop = threading.Event()
        self._wake_w: int | None = None
        self._lock_fd: int | None = None
        self.exporter: Debouncer | None = None
        self._export_retries = 0
        self.watcher: Watcher | None = None
        self.poller: Poller | None = None
        from beads.daemon.gitwork import GitSettings

        self.git_settings = GitSettings(self.beads_dir, auto_commit=auto_commit, auto_push=auto_push,
                                        auto_pull=auto_pull)
        self.gitwork: Any = None  # a GitWork when auto-commit/push/pull is on

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self, *, wait_lock: float = 0.0) -> int:
        deadline = time.monotonic() + wait_lock
        while not self._acquire_lock():
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)  # an outdated daemon asked to stop is releasing the lock
        if self._lock_fd is None:
            sys.stderr.write(f"Error: a daemon is already running for {self.beads_dir}\n")
            return 2
        try:
            if not os.path.exists(self.db_path):
                sys.stderr.write(f"Error: no beads database at {self.db_path} (run 'bd init' first)\n")
                return 1
            return self._serve()
        finally:
            self._cleanup()

    def _acquire_lock(self) -> bool:
        import fcntl

        fd = os.open(paths.file(self.beads_dir, paths.LOCK), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        info = {"pid": os.getpid(), "parent_pid": os.getppid(), "database": self.db_path, "version": self.version,
                "started_at": _now_text(self.started)}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode())
        return True

    def _serve(self) -> int:
        from beads.daemon import registry
        from beads.daemon.server import Server
        from beads.sync import barrier

        # handlers first: a SIGTERM from here on ends the daemon cleanly, files removed
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda signum, frame: self.request_stop(f"signal {signal.Signals(signum).name}"))
        self._remove_runtime_files()  # we hold the lock: whatever is there is stale
        server = Server(self)
        server.bind(self.socket_path)
        if self.socket_path != paths.default_socket(self.beads_dir):
            _write_text(paths.file(self.beads_dir, paths.SOCKET_RECORD), self.socket_path + "\n")
        _write_text(paths.file(self.beads_dir, paths.PID), f"{os.getpid()}\n")
        try:
            os.unlink(paths.file(self.beads_dir, paths.ERROR))
        except OSError:
            pass
        registry.add(self.registry_entry())
        self.exporter = Debouncer(self.debounce, self._export, name="exporter")
        barrier.defer_flushes(self.mutated)
        if self.git_settings.enabled:
            from beads.daemon.gitwork import GitWork

            self.gitwork = GitWork(self, self.git_settings)
        self._start_sync()
        idle = threading.Thread(target=self._idle_loop, name="idle", daemon=True)
        idle.start()
        log.info("daemon started: pid %d, version %s, socket %s, mode %s, idle timeout %.0fs", os.getpid(),
                 self.version, self.socket_path, self.stats.watcher, self.idle_timeout)
        self._wake_w = server.wake_fd
        server.serve(self._stop)  # returns at once if a signal came during the start
        log.info("daemon stopping: %s", self.stop_reason)
        server.close()
        server.wait_idle(10.0)
        if self.watcher is not None:
            self.watcher.stop()
        if self.poller is not None:
            self.poller.stop()
        self.exporter.stop()
        self.exporter.flush()
        if self.gitwork is not None:  # the commit (and push) the last export still owes
            self.gitwork.stop()
            self.gitwork.finish()
        barrier.defer_flushes(None)
        return 0

    def _cleanup(self) -> None:
        from beads.daemon import registry

        if self._lock_fd is None:
            return
        self._remove_runtime_files()
        try:
            registry.remove(os.getpid())
        except OSError:
            pass
        os.close(self._lock_fd)  # releases the flock
        self._lock_fd = None
        log.info("daemon exited")

    def _remove_runtime_files(self) -> None:
        victims = [paths.default_socket(self.beads_dir), paths.file(self.beads_dir, paths.PID),
                   paths.file(self.beads_dir, paths.SOCKET_RECORD)]
        if self.socket_path not in victims:
            victims.append(self.socket_path)
        for victim in victims:
            try:
                os.unlink(victim)
            except OSError:
                pass

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def _idle_loop(self) -> None:
        """Wake once per idle period (not more): stop when idle too long or the workspace is gone."""
        while not self._stop.is_set():
            if not self.workspace_present():
                self.request_stop("the database or workspace disappeared")
                return
            remaining = self.last_activity + self.idle_timeout - time.monotonic()
            if remaining <= 0 and self.active_connections == 0:
                self.request_stop(f"idle for {self.idle_timeout:.0f}s")
                return
            self._stop.wait(max(remaining, 1.0) if remaining > 0 else self.idle_timeout)

    def workspace_present(self) -> bool:
        return os.path.isdir(self.beads_dir) and os.path.exists(self.db_path)

    # -- writes and exports --------------------------------------------------------------------

    def mutated(self, tracker: Any = None, mark: object = None) -> None:
        """The barrier's flush, inside the daemon: note what changed, and let the debouncer export later."""
        self.stats.add("mutations")
        if tracker is not None and mark is not None:
            try:
                changes = tracker.store.changes_since(mark)
            except Exception as exc:  # noqa: BLE001 - the feed misses one entry; the write stands
                log.warning("get_mutations: cannot read what a command changed: %s", exc)
                changes = []
            self._record_changes(changes)
        if self.exporter is not None:
            self.exporter.poke()

    def _record_changes(self, changes: list[tuple[str, str, str | None, str | None]]) -> None:
        """One mutation event per issue a command touched (``get_mutations``), its kind by precedence."""
        touched: dict[str, list[Any]] = {}
        for issue_id, event_type, title, actor in changes:
            kind = MUTATION_KINDS.get(event_type, "update")
            entry = touched.setdefault(issue_id, [kind, title, actor])
            if MUTATION_RANK[kind] < MUTATION_RANK[entry[0]]:
                entry[0] = kind
            entry[1] = title or entry[1]
            entry[2] = actor or entry[2]
        now = int(time.time() * 1000)
        events = []
        for issue_id, (kind, title, actor) in touched.items():
            event: dict[str, Any] = {"type": kind, "issue_id": issue_id, "timestamp": now}
            if title:
                event["title"] = title
            if actor:
                event["actor"] = actor
            events.append(event)
        if self._batch_mutations is not None:  # a batch: recorded only if all of it applies
            self._batch_mutations.extend(events)
        else:
            self.mutations.extend(events)

    def _poke_export(self) -> None:
        if self.exporter is not None and not self._stop.is_set():
            self.exporter.poke()

    def _export(self, n: int) -> None:
        from beads.sync.barrier import Barrier, flush

        problems: list[str] = []
        with runner.WORK_LOCK:
            if not self.workspace_present():
                return
            barrier = Barrier(self.ws, actor=self.default_actor, auto_import=False)
            try:
                ok = flush(barrier.tracker(), problems.append)
            except Exception as exc:  # noqa: BLE001 - logged; the next mutation retries
                problems.append(str(exc))
                ok = False
            finally:
                barrier.close()
        self.stats.exported(n, ok)
        for text in problems:
            log.warning("export: %s", text)
        log.info("exported %d mutation(s)%s", n, "" if ok else " (with problems)")
        if ok:
            self._export_retries = 0
            if self.gitwork is not None:
                self.gitwork.exported()
        elif self._export_retries < 10 and not self._stop.is_set():
            # e.g. the export lock held by a long `bd sync`: the dirty marks stay, try again later
            self._export_retries += 1
            retry = threading.Timer(min(2.0 * self._export_retries, 30.0), self._poke_export)
            retry.daemon = True
            retry.start()

    def export_now(self) -> None:
        if self.exporter is not None:
            self.exporter.flush()

    def import_check(self, reason: str = "") -> None:
        """Import the JSONL if it changed behind our back (the barrier's auto-import, run now)."""
        from beads.sync.barrier import Barrier

        warnings: list[str] = []
        with runner.WORK_LOCK:
            if not self.workspace_present():
                return
            barrier = Barrier(self.ws, actor=self.default_actor, import_warning=warnings.append)
            try:
                barrier.tracker()
                imported = barrier.last_import
            except Exception as exc:  # noqa: BLE001 - logged; the next change retries
                log.warning("import failed: %s", exc)
                self.stats.add("watcher_errors")
                return
            finally:
                barrier.close()
        for text in warnings:
            log.warning("import: %s", text)
        if imported:
            self.stats.imported()
            log.info("imported changes to %s%s", self.jsonl_path, f" ({reason})" if reason else "")

    def in_one_transaction(self, req: dict[str, Any], work: Callable[[], Any]) -> Any:
        """Run ``work`` with every command on one Tracker inside one transaction (``batch``)."""
        from beads.daemon.ops import BatchFailed, OpError
        from beads.sync import barrier as barrier_mod

        with runner.WORK_LOCK:
            barrier = barrier_mod.Barrier(self.ws, actor=req.get("actor") or self.default_actor)
            self._batch_mutations = []
            try:
                tracker = barrier.writer("batch")
                try:
                    with tracker.write(), barrier_mod.shared(tracker):
                        results = work()
                except BatchFailed as exc:
                    raise OpError(str(exc)) from None
                self.mutations.extend(self._batch_mutations)
            finally:
                self._batch_mutations = None
                barrier.close()
        self.mutated()
        return {"results": results}

    # -- sync: watcher or poller ------------------------------------------------------------------

    def _start_sync(self) -> None:
        if self.mode != "poll":
            watcher = self._start_watcher()
            if watcher is not None:
                self.watcher = watcher
                self.stats.watcher = "events"
                return
            self.stats.add("watcher_errors")
            if (os.environ.get("BEADS_WATCHER_FALLBACK") or "true").strip().lower() in ("0", "false", "no", "off"):
                raise SystemExit("the file watcher could not start and BEADS_WATCHER_FALLBACK=false")
        self.stats.watcher = "poll"
        self.poller = Poller(self.poll_interval, self._poll_tick)
        self.poller.start()

    def _start_watcher(self) -> Any:
        """inotify on Linux (no wake-up at all while idle), else watchfiles; None if neither starts."""
        git = os.path.join(self.root, ".git")
        heads = os.path.join(git, "refs", "heads")
        jsonl_dir = os.path.dirname(self.jsonl_path)
        choice = (os.environ.get("BEADS_DAEMON_WATCHER") or "").strip().lower()
        errors = []
        if choice in ("", "inotify") and sys.platform.startswith("linux"):
            from beads.daemon.inotify import InotifyWatcher

            dirs = [(self.beads_dir, False)]
            if jsonl_dir != self.beads_dir:
                dirs.append((jsonl_dir, False))
            if os.path.isdir(git):
                dirs += [(git, False)] + ([(heads, True)] if os.path.isdir(heads) else [])
            native = InotifyWatcher(dirs, self._accept_change, self._on_change,
                                    debounce_ms=int(self.debounce * 1000))
            if native.start():
                self.stats.watcher_backend = "inotify"
                return native
            errors.append(native.error or "inotify failed")
        watch = sorted({self.beads_dir, jsonl_dir})
        for extra in (os.path.join(git, "HEAD"), heads):
            if os.path.exists(extra):
                watch.append(extra)
        portable = Watcher(watch, self._accept_change, self._on_change, debounce_ms=int(self.debounce * 1000))
        if portable.start():
            self.stats.watcher_backend = "watchfiles"
            return portable
        errors.append(portable.error or "watchfiles failed")
        log.warning("file watcher unavailable (%s): falling back to polling every %.0fs", "; ".join(errors),
                    self.poll_interval)
        return None

    def _accept_change(self, change: str, path: str) -> bool:
        if path == self.jsonl_path:
            return True
        if path in (self.db_path, self.beads_dir):
            return change == "deleted"
        git = os.path.join(self.root, ".git")
        if path in (os.path.join(git, "HEAD"), os.path.join(git, "packed-refs")):
            return True
        return path.startswith(os.path.join(git, "refs", "heads") + os.sep) and not path.endswith(".lock")

    def _on_change(self, changed: set[str]) -> None:
        self.stats.add("file_changes", len(changed))
        if not self.workspace_present():
            self.request_stop("the database or workspace disappeared")
            return
        self.import_check("file change")

    def _poll_tick(self) -> None:
        if not self.workspace_present():
            self.request_stop("the database or workspace disappeared")
            return
        self.import_check("poll")

    # -- reports -----------------------------------------------------------------------------

    def registry_entry(self) -> dict[str, Any]:
        return {"workspace_path": self.root, "socket_path": self.socket_path, "database_path": self.db_path,
                "pid": os.getpid(), "version": self.version, "started_at": _now_text(self.started)}

    def status_info(self) -> dict[str, Any]:
        return {"version": self.version, "workspace_path": self.root, "database_path": self.db_path,
                "socket_path": self.socket_path, "pid": os.getpid(),
                "uptime_seconds": round(time.time() - self.started, 3),
                "last_activity_time": _now_text(time.time() - (time.monotonic() - self.last_activity)),
                "exclusive_lock_active": False, "auto_commit": self.git_settings.auto_commit,
                "auto_push": self.git_settings.auto_push, "auto_pull": self.git_settings.auto_pull,
                "remote_sync_interval": f"{self.git_settings.remote_interval:g}s",
                "git": self.gitwork.snapshot() if self.gitwork is not None else None,
                "local_mode": False, "sync_interval": f"{self.poll_interval:g}s", "daemon_mode": self.stats.watcher,
                "started": _now_text(self.started), "log_path": paths.file(self.beads_dir, paths.LOG),
                "idle_timeout_seconds": self.idle_timeout, "debounce_ms": int(self.debounce * 1000),
                "events": self.stats.snapshot()}

    def health_info(self, client_version: str) -> dict[str, Any]:
        import resource

        t0 = time.perf_counter()
        ok = os.path.exists(self.db_path)
        db_ms = (time.perf_counter() - t0) * 1000
        compatible = versions_compatible(self.version, client_version)
        info: dict[str, Any] = {"status": "healthy" if ok else "unhealthy", "version": self.version,
                                "compatible": compatible, "uptime_seconds": round(time.time() - self.started, 3),
                                "db_response_ms": round(db_ms, 3), "active_connections": self.active_connections,
                                "max_connections": 100,
                                "memory_alloc_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        if client_version:
            info["client_version"] = client_version
        if not ok:
            info["error"] = "the database is missing"
        return info


def _parse_version(text: str) -> tuple[int, ...] | None:
    parts = text.strip().lstrip("v").split("-")[0].split("+")[0].split(".")
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return None


def versions_compatible(daemon: str, client: str) -> bool:
    """Spec §9.2: same major and the daemon not older than the client; non-semver/empty versions pass."""
    if not client:
        return True
    d, c = _parse_version(daemon), _parse_version(client)
    if d is None or c is None:
        return True
    return d[0] == c[0] and d >= c


def _now_text(t: float) -> str:
    from beads.timefmt import format_ns

    return format_ns(int(t * 1e9))


def _write_text(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def setup_logging(beads_dir: str, foreground: bool) -> None:
    from logging.handlers import RotatingFileHandler

    handler: logging.Handler
    if foreground:
        handler = logging.StreamHandler(sys.__stderr__)
    else:
        max_bytes = int(_env_float("BEADS_DAEMON_LOG_MAX_BYTES", 10 * 1024 * 1024))
        handler = RotatingFileHandler(paths.file(beads_dir, paths.LOG), maxBytes=max_bytes, backupCount=3,
                                      encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="bd-daemon")
    p.add_argument("beads_dir")
    p.add_argument("--idle-timeout", type=float, default=None)
    p.add_argument("--foreground", action="store_true")
    p.add_argument("--wait-lock", action="store_true", help="wait up to 10s for a stopping daemon's lock")
    for name in ("commit", "push", "pull"):
        p.add_argument(f"--auto-{name}", dest=f"auto_{name}", action="store_true", default=None)
    args = p.parse_args(argv)
    beads_dir = os.path.abspath(args.beads_dir)
    setup_logging(beads_dir, args.foreground)
    try:
        return Daemon(beads_dir, idle_timeout=args.idle_timeout, auto_commit=args.auto_commit,
                      auto_push=args.auto_push, auto_pull=args.auto_pull).run(wait_lock=10.0 if args.wait_lock else 0.0)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            _startup_error(beads_dir, exc.code)
            return 1
        raise
    except Exception as exc:  # noqa: BLE001 - recorded for `bd daemon start` to show
        log.exception("daemon crashed")
        _startup_error(beads_dir, f"{type(exc).__name__}: {exc}")
        return 1


def _startup_error(beads_dir: str, text: str) -> None:
    try:
        _write_text(paths.file(beads_dir, paths.ERROR), text + "\n")
    except OSError:
        pass
    sys.stderr.write(f"Error: {text}\n")


if __name__ == "__main__":
    sys.exit(main())
