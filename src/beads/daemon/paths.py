"""Where a workspace's daemon files live (spec §9.1), with the short-socket fallback.

A unix socket path is limited to ~108 bytes (``sun_path``). When ``.beads/bd.sock`` is
longer than that, the daemon binds a short path in the runtime directory
(``$XDG_RUNTIME_DIR``, else ``/tmp``) and records it in ``.beads/bd.sock.path``, where
clients look next. Standard library only: the CLI imports this on every command.
"""

from __future__ import annotations

import os

SOCKET = "bd.sock"
SOCKET_RECORD = "bd.sock.path"
PID = "daemon.pid"
LOCK = "daemon.lock"
LOG = "daemon.log"
ERROR = "daemon-error"
START_LOCK = "bd.sock.startlock"
START_STATE = "daemon-start.json"  # auto-start backoff (failures, next attempt)

MAX_SOCKET_PATH = 100  # below the 108 bytes of sun_path on Linux (104 on macOS), with margin


def default_socket(beads_dir: str) -> str:
    return os.path.join(beads_dir, SOCKET)


def short_socket(beads_dir: str) -> str:
    """A short, per-workspace socket path in the runtime directory."""
    import hashlib

    runtime = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    if not os.path.isdir(runtime) or len(runtime) > MAX_SOCKET_PATH - 30:
        runtime = "/tmp"
    digest = hashlib.sha256(os.path.realpath(beads_dir).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(runtime, f"bd-{os.getuid()}-{digest}.sock")


def socket_for_binding(beads_dir: str) -> str:
    """The path the daemon binds: ``.beads/bd.sock``, or the short fallback when too long."""
    path = default_socket(beads_dir)
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    return short_socket(beads_dir)


def find_socket(beads_dir: str) -> str | None:
    """The socket a client should dial, or None when no socket file exists (one or two stats)."""
    path = default_socket(beads_dir)
    try:
        os.stat(path)
        return path
    except OSError:
        pass
    try:
        with open(os.path.join(beads_dir, SOCKET_RECORD), encoding="utf-8") as fh:
            recorded = fh.read().strip()
    except OSError:
        return None
    return recorded if recorded and os.path.exists(recorded) else None


def file(beads_dir: str, name: str) -> str:
    return os.path.join(beads_dir, name)
