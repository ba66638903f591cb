"""Auto-start (off by default): ``BEADS_AUTO_START_DAEMON`` or config ``auto-start-daemon``.

Checked only when no daemon answers, so its common case is one environment lookup and
one small file read. Failed starts back off: 5 s after the first, doubling up to 120 s
(state in ``.beads/daemon-start.json``); one client at a time starts a daemon
(``bd.sock.startlock``, created exclusively; a lock older than 30 s is stale).
"""

from __future__ import annotations

import os
import time

from beads.daemon import paths

START_WAIT = 5.0


def enabled(beads_dir: str) -> bool:
    env = os.environ.get("BEADS_AUTO_START_DAEMON")
    if env is not None:
        return env.strip().lower() in ("1", "true", "yes", "on")
    from beads.fileio import open_regular

    path = os.path.join(beads_dir, "config.yaml")
    try:
        with open_regular(path) as fh:  # a FIFO in its place must not hang every command
            data = fh.read()
    except OSError:
        return False
    if b"auto-start-daemon" not in data:  # YAML is parsed only when the key is there
        return False
    from beads.core.config import load_yaml, truthy
    from beads.errors import BdError

    try:
        value = load_yaml(path).get("auto-start-daemon")
    except (BdError, OSError, ValueError):
        return False  # the command itself reports a broken config.yaml
    return truthy(value) if value is not None else False


def _state_path(beads_dir: str) -> str:
    return paths.file(beads_dir, paths.START_STATE)


def _state(beads_dir: str) -> dict:
    from beads.fastjson import loads

    try:
        with open(_state_path(beads_dir), encoding="utf-8") as fh:
            data = loads(fh.read())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _record(beads_dir: str, ok: bool) -> None:
    path = _state_path(beads_dir)
    if ok:
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    failures = int(_state(beads_dir).get("failures", 0)) + 1
    delay = min(5.0 * 2 ** (failures - 1), 120.0)
    from beads.fastjson import dumps

    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dumps({"failures": failures, "next_attempt": time.time() + delay}))
    except OSError:
        pass


def maybe_start(beads_dir: str) -> bool:
    """Start a daemon if auto-start is on and not backing off; True if one now answers."""
    if not enabled(beads_dir):
        return False
    if time.time() < float(_state(beads_dir).get("next_attempt", 0) or 0):
        return False
    lock = paths.file(beads_dir, paths.START_LOCK)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        try:
            if time.time() - os.stat(lock).st_mtime > 30:
                os.unlink(lock)
        except OSError:
            pass
        return False
    except OSError:
        return False
    try:
        os.close(fd)
        from beads.daemon import control

        pid, why = control.start(beads_dir, timeout=START_WAIT)
        _record(beads_dir, pid is not None)
        return pid is not None
    finally:
        try:
            os.unlink(lock)
        except OSError:
            pass


def spawn(beads_dir: str) -> None:
    """Start a replacement daemon in the background (it waits for the old one's lock)."""
    from beads.daemon import control

    try:
        control.spawn(beads_dir, wait_lock=True)
    except OSError:
        pass
