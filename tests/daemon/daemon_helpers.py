"""Helpers for the daemon tests: a raw protocol client, bounded waits, a started daemon."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import Bd


def eventually(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Wait (bounded) until ``check()`` returns something truthy; that value. The bound is generous:
    a loaded CI machine is slow, and the latencies themselves are measured in bench/, not here."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        pause.wait(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def lock_free(beads: Path) -> bool:
    """Whether no process holds ``daemon.lock`` (a killed daemon's threads may outlive its main one briefly)."""
    import fcntl

    fd = os.open(beads / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class Raw:
    """A raw connection speaking the wire protocol (newline-delimited JSON)."""

    def __init__(self, path: str | Path, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rb")

    def send_bytes(self, data: bytes) -> dict[str, Any]:
        self.sock.sendall(data)
        line = self.file.readline()
        assert line, "the daemon closed the connection"
        return json.loads(line)

    def call(self, operation: str, args: Any = None, **fields: Any) -> dict[str, Any]:
        return self.send_bytes((json.dumps({"operation": operation, "args": args or {}, **fields}) + "\n").encode())

    def close(self) -> None:
        self.file.close()
        self.sock.close()


class Running:
    """A daemon started with the real `bd daemon start` on a workspace."""

    def __init__(self, bd: Bd) -> None:
        self.bd = bd
        self.beads = Path(bd.cwd) / ".beads"
        self.pid = int((self.beads / "daemon.pid").read_text())

    @property
    def socket(self) -> str:
        record = self.beads / "bd.sock.path"
        return record.read_text().strip() if record.exists() else str(self.beads / "bd.sock")

    def raw(self) -> Raw:
        return Raw(self.socket)

    def status(self) -> dict[str, Any]:
        return self.bd.json("daemon", "status")  # type: ignore[return-value]

    def events(self) -> dict[str, Any]:
        return self.status()["events"]

    def stop(self) -> None:
        self.bd("daemon", "stop", check=False)
        eventually(lambda: not alive(self.pid), what="the daemon to exit")


def start(bd: Bd, *extra: str, env: dict[str, str] | None = None) -> Running:
    bd("daemon", "start", *extra, env=env)
    return Running(bd)


def jsonl_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


DEFAULT_ENV = {"BEADS_DEBOUNCE_MS": "100"}


def without(env: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in keys}


def environ(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}
