"""Starting, stopping and asking a workspace's daemon, from another process (`bd daemon …`).

Waits here are bounded loops on an observable condition (the socket answers, the
process is gone): the daemon is another process, so there is no event to wait on.
"""

from __future__ import annotations

import os
import sys
import time

from beads import fileio
from beads.daemon import client, paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def read_pid(beads_dir: str) -> int | None:
    try:
        with open(paths.file(beads_dir, paths.PID), encoding="utf-8") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


alive = fileio.pid_alive  # a zombie (our own child that exited) is not alive


def ask(beads_dir: str, operation: str, args: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    """One request to the workspace's daemon; None when no daemon answers."""
    conn = client.connect(beads_dir, timeout=1.0)
    if conn is None:
        return None
    with conn:
        try:
            return conn.request(operation, args, timeout=timeout)
        except (OSError, ValueError, client.DaemonError):
            return None


def spawn(beads_dir: str, *, idle_timeout: float | None = None, wait_lock: bool = False,
          git_flags: tuple[str, ...] = ()) -> Any:
    """Start a detached daemon process; the Popen object (``git_flags``: ``--auto-commit`` etc.)."""
    import subprocess

    cmd = [sys.executable, "-m", "beads.daemon.process", beads_dir, *git_flags]
    if idle_timeout is not None:
        cmd += ["--idle-timeout", str(idle_timeout)]
    if wait_lock:
        cmd.append("--wait-lock")
    root = os.path.dirname(os.path.abspath(beads_dir))
    return subprocess.Popen(cmd, cwd=root if os.path.isdir(root) else "/", stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            close_fds=True)


def start(beads_dir: str, *, idle_timeout: float | None = None, timeout: float = START_TIMEOUT,
          git_flags: tuple[str, ...] = ()) -> tuple[int | None, str]:
    """Start the daemon and wait until it answers; (pid, "") or (None, why it did not start)."""
    running = ask(beads_dir, "ping")
    if running is not None:
        return read_pid(beads_dir), "already running"
    try:
        os.unlink(paths.file(beads_dir, paths.ERROR))
    except OSError:
        pass
    proc = spawn(beads_dir, idle_timeout=idle_timeout, git_flags=git_flags)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ask(beads_dir, "ping", timeout=1.0) is not None:
            return read_pid(beads_dir) or proc.pid, ""
        if proc.poll() is not None:
            if ask(beads_dir, "ping", timeout=1.0) is not None:  # another start won the race
                return read_pid(beads_dir), "already running"
            return None, _start_error(beads_dir) or f"the daemon exited with status {proc.returncode}"
        time.sleep(0.02)
    return None, f"the daemon did not answer within {timeout:.0f}s (see {paths.file(beads_dir, paths.LOG)})"


def _start_error(beads_dir: str) -> str:
    try:
        with open(paths.file(beads_dir, paths.ERROR), encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def stop(beads_dir: str, timeout: float = STOP_TIMEOUT) -> int | None:
    """Stop the workspace's daemon (shutdown request, then SIGTERM, then SIGKILL); its pid, or None."""
    import signal

    pid = read_pid(beads_dir)
    answered = ask(beads_dir, "shutdown") is not None
    if pid is None:
        client.clean_stale(beads_dir)
        return None if not answered else -1
    if not alive(pid):
        client.clean_stale(beads_dir)
        return pid if answered else None
    for sig in ((None,) if answered else ()) + (signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.02)
        if not alive(pid):
            break
    client.clean_stale(beads_dir)
    return pid
