"""The registry of running daemons: ``~/.beads/registry.json`` (spec §9.1).

A JSON list of ``{workspace_path, socket_path, database_path, pid, version,
started_at}``, rewritten atomically (temp file + rename) under an flock on
``~/.beads/registry.lock``. Entries of dead processes are dropped whenever it is read.
"""

from __future__ import annotations

import json
import os

from beads import fileio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def directory() -> str:
    return os.path.join(os.path.expanduser("~"), ".beads")


def _path() -> str:
    return os.path.join(directory(), "registry.json")


alive = fileio.pid_alive


def _read() -> list[dict[str, Any]]:
    try:
        with open(_path(), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return []
    return [e for e in data if isinstance(e, dict) and isinstance(e.get("pid"), int)] if isinstance(data, list) else []


def _update(change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    import fcntl

    os.makedirs(directory(), mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(directory(), "registry.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        entries = change([e for e in _read() if alive(e["pid"])])
        tmp = f"{_path()}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(entries, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, _path())
        return entries
    finally:
        os.close(fd)


def add(entry: dict[str, Any]) -> None:
    _update(lambda entries: [*[e for e in entries if e.get("pid") != entry["pid"]
                               and e.get("workspace_path") != entry["workspace_path"]], entry])


def remove(pid: int) -> None:
    if os.path.exists(_path()):
        _update(lambda entries: [e for e in entries if e.get("pid") != pid])


def entries() -> list[dict[str, Any]]:
    """The live entries (dead ones are pruned from the file too)."""
    if not os.path.exists(_path()):
        return []
    return _update(lambda entries: entries)
