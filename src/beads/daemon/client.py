"""The blocking client: talk to a workspace's daemon, and forward a whole `bd` command to it.

``forward`` is on the CLI's hot path, so this module imports only the standard
library (and ``beads.daemon.paths``, ``beads.core.workspace``): no socket file means
direct mode after one or two ``stat`` calls; a socket that refuses the connection is
a daemon killed without cleaning up (its files are removed here, under its lock);
a daemon that does not answer ``health`` within a short timeout, or answers that it
is older than us, is bypassed (and, when it is older, asked to stop and restarted).

Wire format (spec §9.2): one JSON request per line, one JSON response per line. The
``exec`` operation carries argv, cwd and environment; while it runs, the daemon
streams the command's output as it is written, each chunk a line
``{"stream": "stdout"|"stderr", "bytes": N}`` followed by N raw bytes, and may ask for
the client's stdin (``{"stdin_request": true}``, answered with
``{"stdin": <bytes as latin-1 text>}``); the final response's data is ``{"exit": N}``.
"""

from __future__ import annotations

import os
import sys

from beads.daemon import paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CONNECT_TIMEOUT = 0.2
HEALTH_TIMEOUT = 2.0
REQUEST_TIMEOUT = 30.0

# Commands that never go through a daemon: they set it up, manage or inspect it (doctor),
# talk to git and other processes (sync, merge driver, hooks), write the user's editor
# settings (setup), serve a session of their own (mcp), or need no workspace at all.
DIRECT_COMMANDS = frozenset(("init", "mcp", "merge", "hooks", "sync", "daemon", "daemons", "daemon-event", "version",
                             "help", "doctor", "setup", "onboard", "quickstart"))
DIRECT_FLAGS = frozenset(("--no-daemon", "--sandbox", "--no-db", "--profile"))


# The workspace ``forward`` found, for direct mode to reuse (discovery walks the tree once).
discovered: Any = None


class DaemonError(Exception):
    """The daemon could not be reached, or refused or failed a request."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def version() -> str:
    from beads import __version__

    return __version__


class Connection:
    """One connection to a daemon; requests are sent one after the other on it."""

    def __init__(self, path: str, timeout: float = CONNECT_TIMEOUT) -> None:
        import _socket  # not ``socket``: its enum and selectors imports cost more than the whole exchange

        self.path = path
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise
        self._buf = bytearray()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: dict[str, Any]) -> None:
        from beads.fastjson import dumps

        self.sock.sendall(dumps(message).encode("ascii") + b"\n")

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise DaemonError("the daemon closed the connection without answering")
        self._buf += chunk

    def read_line(self, timeout: float | None) -> dict[str, Any]:
        self.sock.settimeout(timeout)
        start = 0
        while (end := self._buf.find(b"\n", start)) < 0:
            start = len(self._buf)
            self._fill()
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        from beads.fastjson import loads

        message = loads(line)
        if not isinstance(message, dict):
            raise DaemonError("the daemon sent a malformed response")
        return message

    def read_exact(self, size: int) -> bytes:
        while len(self._buf) < size:
            self._fill()
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def request(self, operation: str, args: dict[str, Any] | None = None, *, timeout: float | None = REQUEST_TIMEOUT,
                **fields: Any) -> Any:
        """Send one request; the response's data, or DaemonError with its error text."""
        message: dict[str, Any] = {"operation": operation, "args": args or {}, "client_version": version()}
        message.update({k: v for k, v in fields.items() if v is not None})
        self.send(message)
        response = self.read_line(timeout)
        if not response.get("success"):
            raise DaemonError(str(response.get("error") or "request failed"))
        return response.get("data")


def connect(beads_dir: str, timeout: float = CONNECT_TIMEOUT) -> Connection | None:
    """A connection to the workspace's daemon, or None (no daemon; stale files cleaned up)."""
    path = paths.find_socket(beads_dir)
    if path is None:
        return None
    try:
        return Connection(path, timeout)
    except (ConnectionRefusedError, FileNotFoundError):
        clean_stale(beads_dir)
        return None
    except OSError:
        return None


def clean_stale(beads_dir: str) -> bool:
    """Remove the socket and pid file of a daemon that is gone (its lock is free); True if removed."""
    import fcntl

    try:
        fd = os.open(paths.file(beads_dir, paths.LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a daemon holds it: alive (perhaps starting)
        record = paths.file(beads_dir, paths.SOCKET_RECORD)
        victims = [paths.default_socket(beads_dir), paths.file(beads_dir, paths.PID)]
        try:
            with open(record, encoding="utf-8") as fh:
                victims.append(fh.read().strip())
            victims.append(record)
        except OSError:
            pass
        for victim in victims:
            try:
                os.unlink(victim)
            except OSError:
                pass
        return True
    finally:
        os.close(fd)


def healthy(conn: Connection, expected_db: str | None = None) -> tuple[bool, bool]:
    """(usable, outdated): ``health`` answered in time with ``healthy`` and a compatible version."""
    try:
        data = conn.request("health", timeout=HEALTH_TIMEOUT, expected_db=expected_db)
    except (OSError, ValueError, DaemonError):
        return False, False
    if not isinstance(data, dict) or data.get("status") != "healthy":
        return False, False
    if not data.get("compatible", False):
        return False, True
    return True, False


# -- forwarding a CLI command ---------------------------------------------------------------


def _db_flag(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--db="):
            return arg[5:]
    return None


def wanted(argv: list[str], command: str | None) -> bool:
    """Whether this command may go through a daemon at all (cheap checks only)."""
    if command is None or command in DIRECT_COMMANDS:
        return False
    if _truthy(os.environ.get("BEADS_NO_DAEMON")) or _truthy(os.environ.get("BD_NO_DAEMON")):
        return False
    if _truthy(os.environ.get("BD_NO_DB")) or _truthy(os.environ.get("BD_SANDBOX")):
        return False
    for arg in argv:
        if arg == "--":
            break
        if arg in DIRECT_FLAGS:
            return False
    return True


def forward(argv: list[str], command: str | None) -> int | None:
    """Run the command through the workspace's daemon; its exit status, or None for direct mode."""
    if not wanted(argv, command):
        return None
    from beads.core.workspace import discover
    from beads.errors import BdError

    global discovered
    try:
        ws = discover(db=_db_flag(argv))
    except (BdError, OSError):
        return None
    discovered = ws
    beads_dir = ws.beads_dir
    conn = connect(beads_dir)
    if conn is None:
        from beads.daemon import autostart

        if not autostart.maybe_start(beads_dir):
            return None
        conn = connect(beads_dir)
        if conn is None:
            return None
    with conn:
        expected_db = os.path.realpath(ws.db_path)
        usable, outdated = healthy(conn, expected_db)
        if not usable:
            if outdated:
                _replace_outdated(conn, beads_dir)
            return None
        try:
            return _exec(conn, argv, expected_db)
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted\n")
            return 130


def _replace_outdated(conn: Connection, beads_dir: str) -> None:
    """A daemon older than this client: ask it to stop, and start one of our version in the background."""
    try:
        conn.request("shutdown", timeout=HEALTH_TIMEOUT)
    except (OSError, ValueError, DaemonError):
        return
    from beads.daemon import autostart

    autostart.spawn(beads_dir)


def _exec(conn: Connection, argv: list[str], expected_db: str) -> int:
    env = dict(os.environ)
    stdout = sys.stdout
    if "COLUMNS" not in env:
        try:
            if stdout.isatty():
                env["COLUMNS"] = str(os.get_terminal_size(stdout.fileno()).columns)
        except (OSError, ValueError):
            pass
    if _isatty(stdout):  # the daemon writes into a pipe: tell it colour is wanted (beads.cli.style)
        env["BD_STDOUT_TTY"] = "1"
    args = {"argv": argv, "env": env, "stdin_tty": _isatty(sys.stdin),
            "stdout_encoding": getattr(stdout, "encoding", None) or "utf-8",
            "stdout_errors": getattr(stdout, "errors", None) or "strict",
            "stderr_errors": getattr(sys.stderr, "errors", None) or "backslashreplace"}
    conn.send({"operation": "exec", "args": args, "cwd": os.getcwd(), "client_version": version(),
               "expected_db": expected_db, "actor": env.get("BD_ACTOR") or env.get("USER") or ""})
    while True:
        try:
            message = conn.read_line(None)
        except (OSError, ValueError, DaemonError) as exc:
            sys.stderr.write(f"Error: lost the connection to the daemon while it ran the command ({exc}); "
                             f"check the result before retrying\n")
            return 1
        stream = message.get("stream")
        if stream is not None:  # a chunk of the command's output, as it writes it
            try:
                chunk = conn.read_exact(int(message.get("bytes") or 0))
            except (OSError, DaemonError):
                sys.stderr.write("Error: lost the connection to the daemon while it ran the command; "
                                 "check the result before retrying\n")
                return 1
            if not _write(sys.stdout if stream == "stdout" else sys.stderr, chunk):
                return 0  # our stdout was closed (`bd list | head`): quietly, as in direct mode
            continue
        if message.get("stdin_request"):
            data = sys.stdin.buffer.read() if sys.stdin is not None else b""
            conn.send({"stdin": data.decode("latin-1")})
            continue
        break
    if not message.get("success"):
        sys.stderr.write(f"Error: {message.get('error') or 'the daemon refused the command'}\n")
        return 1
    data = message.get("data") or {}
    return int(data.get("exit") or 0)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError):
        return False


def _write(stream: Any, data: bytes) -> bool:
    """Write output bytes as they come; False when the stream is closed (and silenced)."""
    try:
        stream.buffer.write(data)
        stream.buffer.flush()
        return True
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except OSError:
            pass
        return False
