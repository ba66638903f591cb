"""What makes the daemon event-driven: a debouncer, the file watcher, the poll fallback, statistics.

Nothing here runs while the daemon is idle except blocking waits: the debouncer's
thread sleeps on a condition until poked; the watcher blocks in the OS file
notification API (watchfiles, imported here only); the poll fallback, used only when
the watcher cannot start or ``BEADS_DAEMON_MODE=poll``, wakes every
``BEADS_POLL_INTERVAL``.
"""

from __future__ import annotations

import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Stats:
    """Event statistics since the daemon started (``bd daemon status --verbose``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = {"requests": 0, "errors": 0, "commands": 0, "mutations": 0, "exports": 0,
                       "export_failures": 0, "imports": 0, "file_changes": 0, "watcher_errors": 0}
        self.batched: list[int] = []  # mutations per export, most recent last (at most 100 kept)
        self.last_export: float | None = None
        self.last_import: float | None = None
        self.watcher = "off"
        self.watcher_backend = ""

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def exported(self, mutations: int, ok: bool) -> None:
        with self._lock:
            self.counts["exports" if ok else "export_failures"] += 1
            self.batched = [*self.batched[-99:], mutations]
            self.last_export = time.time()

    def imported(self) -> None:
        with self._lock:
            self.counts["imports"] += 1
            self.last_import = time.time()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            batched = list(self.batched)
            return {**self.counts, "watcher": self.watcher, "watcher_backend": self.watcher_backend,
                    "mutations_per_export": {"last": batched[-10:], "max": max(batched, default=0),
                                             "mean": round(sum(batched) / len(batched), 2) if batched else 0},
                    "last_export": _iso(self.last_export), "last_import": _iso(self.last_import)}


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


class Debouncer:
    """Run ``action(n)`` once ``delay`` seconds after the last of n ``poke()`` calls.

    A steady stream of pokes still runs the action every ``max_wait`` seconds. The
    thread sleeps without a timeout when nothing is pending.
    """

    def __init__(self, delay: float, action: Callable[[int], None], *, max_wait: float | None = None,
                 name: str = "debouncer") -> None:
        self.delay = delay
        self.max_wait = max_wait if max_wait is not None else max(4 * delay, 2.0)
        self.action = action
        self._cond = threading.Condition()
        self._pending = 0
        self._first = 0.0
        self._last = 0.0
        self._stopped = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def poke(self) -> None:
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending += 1
            self._last = now
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                while self._pending and not self._stopped:
                    now = time.monotonic()
                    due = min(self._last + self.delay, self._first + self.max_wait)
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                if self._stopped:
                    return
                n, self._pending = self._pending, 0
                self._busy = True
            self._run_action(n)

    def flush(self) -> None:
        """Run the pending action now (on this thread), and wait for a running one."""
        with self._cond:
            while self._busy:
                self._cond.wait()
            n, self._pending = self._pending, 0
            if n:
                self._busy = True
        if n:
            self._run_action(n)

    def _run_action(self, n: int) -> None:
        """Run the action for ``n`` events (``_busy`` already set, the lock not held), then let
        waiters (``flush``) know it is done."""
        try:
            self.action(n)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=10)


class Watcher:
    """Watch the JSONL's directory and git's HEAD/refs; call ``on_change(paths)`` for each batch.

    Runs on its own thread; ``start`` returns False (with the reason in ``error``) when
    the watcher cannot run, so the daemon falls back to polling.
    """

    def __init__(self, watch_paths: list[str], accept: Callable[[str, str], bool],
                 on_change: Callable[[set[str]], None], *, debounce_ms: int = 500, step_ms: int = 200) -> None:
        self.paths = watch_paths
        self.accept = accept
        self.on_change = on_change
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self.error: str | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        try:
            import watchfiles  # noqa: F401 - imported here only: the daemon's own dependency
        except ImportError as exc:
            self.error = f"watchfiles is not installed ({exc})"
            return False
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self.error is None

    def _run(self) -> None:
        import watchfiles

        def accept(change: Any, path: str) -> bool:
            return self.accept(change.name, path)

        try:
            iterator = watchfiles.watch(*self.paths, watch_filter=accept, debounce=self.debounce_ms,
                                        step=self.step_ms, stop_event=self._stop, rust_timeout=0,
                                        raise_interrupt=False, ignore_permission_denied=True)
            for changes in _started(iterator, self._ready):
                self.on_change({path for _, path in changes})
        except Exception as exc:  # noqa: BLE001 - reported; the daemon falls back to polling
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ready.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _started(iterator: Any, ready: threading.Event) -> Any:
    """Signal ``ready`` once the watcher has been set up (its first ``next`` call is under way)."""
    # watchfiles sets up the OS watch inside the first next(); a short grace lets it fail fast.
    timer = threading.Timer(0.3, ready.set)
    timer.daemon = True
    timer.start()
    try:
        yield from iterator
    finally:
        timer.cancel()


class Poller:
    """The fallback: call ``tick()`` every ``interval`` seconds."""

    def __init__(self, interval: float, tick: Callable[[], None]) -> None:
        self.interval = interval
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - logged by tick's owner; polling goes on
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
