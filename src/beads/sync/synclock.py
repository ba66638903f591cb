"""The ``bd sync`` lock, and what a killed sync left behind.

Two ``bd sync`` in one clone run one after the other: each holds an exclusive ``flock``
on ``<git dir>/bd-sync.lock`` for its whole run, and a second one waits for it. The
lock's descriptor is passed to every git process the sync starts, so a sync killed
with SIGKILL keeps the lock until its last git has exited as well; then the kernel
releases it. No pid files.

While it runs, a sync writes into the lock file what it is doing (JSON: its pid, the
step, and for a merge the commit it merges and the HEAD before it). A sync that ends
-- well, or with an error it reported -- empties the file. A sync that takes the lock
and finds the file not empty therefore knows the previous one was killed, and can tell
its leftovers from a user's work:

- ``index.lock``: no git of that sync can still be alive (it would hold our lock); if
  no other git process works in the repository either, the file is removed;
- a merge in progress whose ``MERGE_HEAD`` is the recorded commit and whose HEAD is the
  recorded one: that sync's own merge. It is undone (the database already has every
  acknowledged write, and the sync then exports it in full and merges again);
- a merge committed but not yet imported (its ``MERGE_HEAD`` may still be there, when
  git was killed between the merge commit and its clean-up): the sync applies the
  removals since the recorded HEAD and imports, as it would have.
Anything else (a merge a user started, an ``index.lock`` while git runs) is reported
with the one command that resolves it.
"""

from __future__ import annotations

import json
import os
import time

from beads.errors import BdError, GitError, SyncBusy, SyncError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from beads.sync.git import Git

LOCK_NAME = "bd-sync.lock"
WAIT_S = 600.0  # a sync pulls and pushes over the network: the next one waits this long for it
INDEX_WAIT_S = 10.0


class SyncLock:
    """The exclusive sync lock (a context manager); ``previous`` is a killed sync's record."""

    def __init__(self, git: Git, say: Callable[[str], None], timeout: float = WAIT_S) -> None:
        self.git = git
        self.say = say
        self.timeout = timeout
        self.path = git.git_path(LOCK_NAME)
        self.fd = -1
        self.previous: dict[str, Any] | None = None
        self.state: dict[str, Any] = {}

    def __enter__(self) -> SyncLock:
        import fcntl

        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SyncError(f"cannot open the sync lock {self.path}: {exc.strerror or exc}")
        deadline = time.monotonic() + self.timeout
        waiting = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    self.say(f"→ Waiting for another bd sync in this clone to finish ({self._holder()})...")
                    waiting = True
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = -1
                    raise SyncBusy(f"another bd sync has held {self.path} for over {self.timeout:g}s "
                                    f"({self._holder()})", hint="wait for it to finish, then run 'bd sync' again")
                time.sleep(0.05)
        self.previous = self._read()
        self.git.pass_fds = (self.fd,)
        self.record(step="started")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self.fd < 0:
            return
        try:
            if exc_type is None or (issubclass(exc_type, BdError) and not self._own_merge_in_progress()):
                os.ftruncate(self.fd, 0)  # finished, or stopped and said why: nothing to recover
        finally:
            self.git.pass_fds = ()
            os.close(self.fd)  # releases the flock
            self.fd = -1

    def release_keeping(self, state: dict[str, Any]) -> None:
        """Let go of the lock leaving ``state`` recorded (a killed sync's, put back as it was) for
        the next ``bd sync`` to recover from; ``__exit__`` then does nothing."""
        self.record(**state)
        self.git.pass_fds = ()
        os.close(self.fd)
        self.fd = -1

    def record(self, **state: Any) -> None:
        """Note what the sync is doing now (read back by the next sync if this one is killed)."""
        self.state = {"pid": os.getpid(), **state}
        data = json.dumps(self.state).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def _read(self) -> dict[str, Any] | None:
        try:
            data = os.pread(self.fd, 65536, 0)
        except OSError:
            return None
        if not data.strip():
            return None
        try:
            state = json.loads(data)
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

    def _holder(self) -> str:
        try:
            with open(self.path, "rb") as fh:
                pid = json.loads(fh.read() or b"{}").get("pid")
        except (OSError, ValueError, AttributeError):
            pid = None
        return f"pid {pid}" if pid else "its git commands are still running"

    def _own_merge_in_progress(self) -> bool:
        if self.state.get("step") != "merging":
            return False
        try:
            return self.git.merge_head() == self.state.get("target")
        except GitError:
            return False

    # -- what a killed sync left ---------------------------------------------------------------

    def clear_index_lock(self) -> None:
        """Remove a stale ``index.lock``; wait a little for one a running git holds."""
        from beads.sync.git import git_running_in

        path = self.git.index_lock()
        deadline = time.monotonic() + INDEX_WAIT_S
        while os.path.exists(path):
            running = git_running_in(self.git.root)
            if running is not True and self.previous is not None:  # its gits are gone: they held our lock
                _unlink(path)
                self.say(f"→ Removed {os.path.relpath(path, self.git.root)} left by an interrupted bd sync")
                return
            if running is False:
                raise SyncError(f"git's index is locked ({path} exists) and no git process is running",
                                hint=f"a git command was interrupted; remove the lock: rm '{path}'")
            if time.monotonic() >= deadline:
                raise SyncError(f"git's index is locked ({path} exists)",
                                hint="a git command is running in this repository; wait for it to finish "
                                     f"(if none is: rm '{path}'), then run 'bd sync' again")
            time.sleep(0.05)

    def interrupted_merge(self) -> str | None:
        """'in-progress' (our merge, not concluded), 'committed' (concluded, not imported) or None."""
        prev = self.previous
        if not prev or prev.get("step") != "merging":
            return None
        git = self.git
        head, merge_head = git.head(), git.merge_head()
        if merge_head is None:
            return "committed" if head != prev.get("orig") else None
        if merge_head != prev.get("target"):
            return None
        if head == prev.get("orig"):
            return "in-progress"
        if head is not None and git.parents(head) == [prev.get("orig"), merge_head]:
            git.merge_quit()  # killed after git made the merge commit, before it cleared MERGE_HEAD
            return "committed"
        return None

    def undo_merge(self, files: list[str]) -> None:
        """Abort the killed sync's merge (``files``: the beads files a writer may have rewritten since)."""
        git = self.git
        if not git.merge_abort():
            git.checkout_head([f for f in files if git.is_tracked(f)])
            if not git.merge_abort():
                raise SyncError("cannot undo the merge an interrupted bd sync left in progress",
                                hint="run 'git merge --abort', then 'bd sync' again")
        self.say("→ Undid the merge an interrupted bd sync left in progress")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SyncError(f"cannot remove {path}: {exc.strerror or exc}", hint=f"rm '{path}'")
