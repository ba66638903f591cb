"""The daemon's git work: ``--auto-commit``, ``--auto-push``, ``--auto-pull`` (spec §9).

Everything goes through ``bd sync``'s own machinery (``beads.sync.gitsync``), run inside
the daemon under its work lock (no command runs meanwhile), with the same options a
``bd sync`` would take:

* **commit** (and **push**): after an export, once the workspace has been quiet for the
  debounce delay (at most ``max_wait`` into a steady stream of writes), one sync without
  a pull — export, one commit of the beads files (``bd daemon export: <time>``), and with
  auto-push a push. A burst of writes makes one commit, not one per write.
* **pull**: every ``remote-sync-interval`` (30 s; 0 disables the timer) and on
  ``bd daemon-event import-needed``, a full sync — export, commit, fetch, merge, import,
  and push with auto-push (``bd daemon sync: <time>``).

Never racing a ``bd sync``: a ``bd sync`` stays direct and holds the daemon off. Both take
the clone's sync lock (``<git dir>/bd-sync.lock``); the daemon does not wait for it: when
a ``bd sync`` holds it, the daemon's turn is put off (``deferred`` in the status) and
tried again a moment later, and a ``bd sync`` that starts while the daemon's git work
runs waits for it, as it waits for another ``bd sync``. Each commits what the other
exported; nothing is committed twice and nothing is lost (the database holds every
acknowledged write, and the JSONL is written under the export lock both take).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from beads.daemon import runner
from beads.daemon.events import Debouncer, _iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.daemon.process import Daemon

log = logging.getLogger("beads.daemon")

DEFAULT_REMOTE_INTERVAL = 30.0
BUSY_RETRY_S = 1.0  # a `bd sync` holds the sync lock: look again this much later
FAIL_RETRIES = 5


def parse_interval(value: object, default: float) -> float:
    """``30``, ``30s``, ``2m``, ``1h``, ``500ms`` -> seconds (``default`` when unreadable)."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().lower()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            text, factor = text[: -len(suffix)], scale
            break
    else:
        factor = 1.0
    try:
        return max(float(text) * factor, 0.0)
    except ValueError:
        return default


class GitSettings:
    """What the daemon does with git: flags of ``bd daemon start`` over config over defaults."""

    def __init__(self, beads_dir: str, *, auto_commit: bool | None = None, auto_push: bool | None = None,
                 auto_pull: bool | None = None) -> None:
        from beads.core.config import env_value, load_yaml, truthy

        try:
            yaml = load_yaml(os.path.join(beads_dir, "config.yaml"))
        except Exception as exc:  # noqa: BLE001 - an unreadable config.yaml: defaults, and say so
            log.warning("config.yaml: %s", exc)
            yaml = {}

        def setting(key: str) -> Any:
            env = env_value(key)
            return env if env is not None else yaml.get(key)

        def flag(given: bool | None, key: str) -> bool:
            if given is not None:
                return given
            value = setting(key)
            return value is not None and truthy(value)

        self.auto_commit = flag(auto_commit, "daemon.auto_commit")
        self.auto_push = flag(auto_push, "daemon.auto_push")
        self.auto_pull = flag(auto_pull, "daemon.auto_pull")
        if auto_pull is None and setting("daemon.auto_pull") is None:
            from beads.sync.syncbranch import branch_name

            # with a sync branch, pulling is on unless turned off (spec §9.1): what it commits goes
            # to that branch, never to the user's
            self.auto_pull = branch_name(beads_dir) is not None
        if self.auto_push:
            self.auto_commit = True  # a push carries the commits: pushing implies committing
        self.remote_interval = parse_interval(setting("remote-sync-interval"), DEFAULT_REMOTE_INTERVAL)
        author = setting("git.author")
        self.author = str(author) if author else None
        no_gpg = setting("git.no-gpg-sign")
        self.no_gpg_sign = no_gpg is not None and truthy(no_gpg)
        no_push = setting("no-push")
        if no_push is not None and truthy(no_push):
            self.auto_push = False

    @property
    def enabled(self) -> bool:
        return self.auto_commit or self.auto_push or self.auto_pull


class GitWork:
    """Runs the daemon's commits, pushes and pulls (see the module docstring)."""

    def __init__(self, daemon: Daemon, settings: GitSettings) -> None:
        self.daemon = daemon
        self.settings = settings
        self._lock = threading.Lock()
        self.counts = {"commits": 0, "pushes": 0, "pulls": 0, "syncs": 0, "failures": 0, "deferred": 0}
        self.last: dict[str, float | None] = {"sync": None, "commit": None, "push": None, "pull": None}
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._want_pull = False
        self._failures_in_row = 0
        self._stopped = threading.Event()
        delay = daemon.debounce
        self.debouncer = Debouncer(delay, self._run, max_wait=max(20 * delay, 10.0), name="gitwork")
        self._timer: threading.Thread | None = None
        if settings.auto_pull and settings.remote_interval > 0:
            self._timer = threading.Thread(target=self._pull_timer, name="gitpull", daemon=True)
            self._timer.start()

    # -- triggers ------------------------------------------------------------------------

    def exported(self) -> None:
        """An export wrote the JSONL: commit it once the workspace is quiet."""
        if self.settings.auto_commit and not self._stopped.is_set():
            self.debouncer.poke()

    def pull_soon(self) -> None:
        if self.settings.auto_pull and not self._stopped.is_set():
            self._want_pull = True
            self.debouncer.poke()

    def _pull_timer(self) -> None:
        while not self._stopped.wait(self.settings.remote_interval):
            self.pull_soon()

    def stop(self) -> None:
        self._stopped.set()
        self.debouncer.stop()
        if self._timer is not None:
            self._timer.join(timeout=5)

    def finish(self) -> None:
        """At shutdown: the commit (and push) still owed, now."""
        self.debouncer.flush()

    # -- the work ---------------------------------------------------------------------------

    def _run(self, n: int) -> None:
        from beads.errors import BdError, SyncBusy
        from beads.sync import gitsync
        from beads.sync.barrier import Barrier

        pull, self._want_pull = self._want_pull, False
        push = self.settings.auto_push
        message = ("bd daemon sync: " if pull else "bd daemon export: ") + time.strftime("%Y-%m-%d %H:%M:%S")
        options = gitsync.SyncOptions(no_pull=not pull, no_push=not push, message=message,
                                      author=self.settings.author, no_gpg_sign=self.settings.no_gpg_sign,
                                      lock_timeout=0.0)
        daemon = self.daemon
        said: list[str] = []
        report: dict[str, Any] | None = None
        error: str | None = None
        busy = False
        with runner.WORK_LOCK:
            if not daemon.workspace_present():
                return
            barrier = Barrier(daemon.ws, actor=daemon.default_actor, auto_import=False, command="sync")
            try:
                report = gitsync.sync(barrier.tracker(), options, say=said.append)
            except SyncBusy:
                busy = True
            except BdError as exc:
                error = exc.message + (f" ({exc.hint})" if getattr(exc, "hint", None) else "")
            except Exception as exc:  # noqa: BLE001 - logged and shown in the status; the daemon goes on
                error = f"{type(exc).__name__}: {exc}"
            finally:
                barrier.close()
        for text in said:
            log.info("git: %s", text.lstrip("→ ").strip())
        now = time.time()
        if busy:
            with self._lock:
                self.counts["deferred"] += 1
            log.info("git: a bd sync is running; the daemon's %s waits for it", "sync" if pull else "commit")
            self._retry(BUSY_RETRY_S, pull)
            return
        with self._lock:
            if error is not None:
                self.counts["failures"] += 1
                self.last_error, self.last_error_at = error, now
                self._failures_in_row += 1
            else:
                self._failures_in_row = 0
                self.counts["syncs"] += 1
                self.last["sync"] = now
                assert report is not None
                if report.get("committed"):
                    self.counts["commits"] += 1
                    self.last["commit"] = now
                if report.get("pushed"):
                    self.counts["pushes"] += 1
                    self.last["push"] = now
                if pull:
                    self.counts["pulls"] += 1
                    self.last["pull"] = now
        if error is not None:
            log.warning("git: %s failed: %s", "sync" if pull else "commit", error)
            if self._failures_in_row <= FAIL_RETRIES:
                self._retry(min(2.0 * self._failures_in_row, 30.0), pull)
        else:
            log.info("git: %s (committed: %s, pushed: %s)", "synced" if pull else "exported",
                     bool(report and report.get("committed")), bool(report and report.get("pushed")))

    def _retry(self, delay: float, pull: bool) -> None:
        if self._stopped.is_set():
            return

        def again() -> None:
            if pull:
                self._want_pull = True
            if not self._stopped.is_set():
                self.debouncer.poke()

        timer = threading.Timer(delay, again)
        timer.daemon = True
        timer.start()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counts, "last_sync": _iso(self.last["sync"]), "last_commit": _iso(self.last["commit"]),
                    "last_push": _iso(self.last["push"]), "last_pull": _iso(self.last["pull"]),
                    "last_error": self.last_error, "last_error_at": _iso(self.last_error_at)}
