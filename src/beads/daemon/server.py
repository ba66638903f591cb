"""The socket side of the daemon: accept connections, read requests, check them, answer.

One thread per connection (at most 100); requests on a connection are answered in
order, one JSON line each (spec §9.2). Every malformed request gets an error
response and the connection stays usable: bad JSON, a request that is not an
object, an unknown operation, arguments of the wrong type, a line over
``MAX_LINE`` bytes (the rest of it is read and dropped), a client newer than the
daemon, a different ``expected_db``. The accept loop blocks in ``select`` on the
listening socket and a wake-up pipe: no timer runs while nobody connects.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading

from beads.daemon import runner
from beads.daemon.ops import OpError, Ops

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.daemon.process import Daemon

log = logging.getLogger("beads.daemon")

MAX_LINE = 1 << 20  # a request line (a command's argv and environment fit easily)
MAX_STDIN = 1 << 30  # a command's stdin, sent when it reads it
MAX_CONNECTIONS = 100
IDLE_CONNECTION_TIMEOUT = 60.0
STRING_FIELDS = ("actor", "request_id", "cwd", "client_version", "expected_db")
# Operations a client of another version may still call (to find out, or to stop us).
VERSIONLESS = frozenset(("ping", "health", "status", "shutdown", "metrics"))


class TooLong(Exception):
    pass


class LineReader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def read_line(self, limit: int) -> bytes | None:
        """The next line (without its newline), None at EOF; TooLong past ``limit`` (line dropped)."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = bytes(self.buf[:nl])
                del self.buf[: nl + 1]
                if len(line) > limit:
                    raise TooLong
                return line
            if len(self.buf) > limit:
                self._discard_line()
                raise TooLong
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return None
            self.buf += chunk

    def _discard_line(self) -> None:
        self.buf.clear()
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return
            nl = chunk.find(b"\n")
            if nl >= 0:
                self.buf += chunk[nl + 1:]
                return


class Server:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.ops = Ops(daemon)
        self.sock: socket.socket | None = None
        self._wake_r, self.wake_fd = os.pipe()
        self._conn_lock = threading.Condition()
        self._closing = False

    def bind(self, path: str) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        sock.listen(128)
        self.sock = sock

    def serve(self, stop: threading.Event) -> None:
        import selectors

        assert self.sock is not None
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not stop.is_set():
                for key, _ in sel.select():
                    if key.data == "wake":
                        os.read(self._wake_r, 4096)
                        continue
                    try:
                        conn, _ = self.sock.accept()
                    except OSError:
                        continue
                    self._start(conn)
        finally:
            sel.close()

    def _start(self, conn: socket.socket) -> None:
        with self._conn_lock:
            if self.daemon.active_connections >= MAX_CONNECTIONS:
                _send(conn, {"success": False, "error": f"too many connections (limit {MAX_CONNECTIONS})"})
                conn.close()
                return
            self.daemon.active_connections += 1
        threading.Thread(target=self._handle, args=(conn,), name="conn", daemon=True).start()

    def close(self) -> None:
        self._closing = True
        if self.sock is not None:
            self.sock.close()
        os.close(self._wake_r)
        os.close(self.wake_fd)

    def wait_idle(self, timeout: float) -> None:
        """Let a command that is running finish (bounded)."""
        if runner.WORK_LOCK.acquire(timeout=timeout):
            runner.WORK_LOCK.release()

    # -- one connection -------------------------------------------------------------------------

    def _handle(self, conn: socket.socket) -> None:
        reader = LineReader(conn)
        try:
            conn.settimeout(IDLE_CONNECTION_TIMEOUT)
            while not self._closing:
                try:
                    line = reader.read_line(MAX_LINE)
                except TooLong:
                    self.daemon.stats.add("errors")
                    _send(conn, _error(f"request too large (limit {MAX_LINE} bytes per line)"))
                    continue
                if line is None:
                    return
                if not line.strip():
                    continue
                self.daemon.touch()
                self.daemon.stats.add("requests")
                response = self._answer(line, conn, reader)
                if not response.get("success"):
                    self.daemon.stats.add("errors")
                _send(conn, response)
                self.daemon.touch()
        except (OSError, ValueError):
            return
        finally:
            conn.close()
            with self._conn_lock:
                self.daemon.active_connections -= 1

    def _answer(self, line: bytes, conn: socket.socket, reader: LineReader) -> dict[str, Any]:
        try:
            req = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(f"invalid request: not JSON ({exc})")
        problem = _check_shape(req)
        if problem:
            return _error(f"invalid request: {problem}")
        op = req["operation"]
        if op != "exec" and op not in self.ops.table:
            return _error(f"unknown operation: {op}")
        if op not in VERSIONLESS:
            from beads.daemon.process import versions_compatible

            client = req.get("client_version") or ""
            if not versions_compatible(self.daemon.version, client):
                return _error(f"version mismatch: client {client} is incompatible with daemon "
                              f"{self.daemon.version} (the daemon will be restarted by a newer client)")
        expected = req.get("expected_db")
        if expected and os.path.realpath(expected) != self.daemon.db_path:
            return _error(f"database mismatch: this daemon serves {self.daemon.db_path}, not {expected}")
        args = req.get("args") or {}
        try:
            if op == "exec":
                return {"success": True, "data": self._exec(req, args, conn, reader)}
            return {"success": True, "data": self.ops.table[op](req, args)}
        except OpError as exc:
            return _error(str(exc))
        except Exception as exc:  # noqa: BLE001 - one request's failure; the daemon keeps serving
            log.exception("operation %s failed", op)
            return _error(f"internal error in {op}: {exc}")

    def _exec(self, req: dict[str, Any], args: dict[str, Any], conn: socket.socket,
              reader: LineReader) -> dict[str, Any]:
        argv, env = args.get("argv"), args.get("env")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise OpError("argument 'argv' must be a list of strings")
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise OpError("argument 'env' must be an object of strings")
        cwd = req.get("cwd") or self.daemon.root
        if not os.path.isdir(cwd):
            raise OpError(f"the working directory {cwd} does not exist")

        def fetch_stdin() -> bytes:
            _send(conn, {"stdin_request": True})
            conn.settimeout(None)
            line = reader.read_line(MAX_STDIN)
            if line is None:
                return b""
            message = json.loads(line)
            text = message.get("stdin") if isinstance(message, dict) else None
            return text.encode("latin-1") if isinstance(text, str) else b""

        def sink(name: str, data: bytes) -> None:
            conn.sendall(b'{"stream":"%s","bytes":%d}\n' % (name.encode(), len(data)) + data)

        self.daemon.stats.add("commands")
        result = runner.run([a for a in argv], cwd=cwd, env=env, fetch_stdin=fetch_stdin, sink=sink,
                            stdin_tty=bool(args.get("stdin_tty")),
                            stdout_encoding=_text(args.get("stdout_encoding"), "utf-8"),
                            stdout_errors=_text(args.get("stdout_errors"), "strict"),
                            stderr_errors=_text(args.get("stderr_errors"), "backslashreplace"))
        conn.settimeout(IDLE_CONNECTION_TIMEOUT)
        return {"exit": result.exit}


def _text(value: object, default: str) -> str:
    import codecs

    if isinstance(value, str):
        try:
            codecs.lookup(value)
            return value
        except LookupError:
            pass
    return default


def _check_shape(req: object) -> str | None:
    if not isinstance(req, dict):
        return "a request is a JSON object"
    op = req.get("operation")
    if not isinstance(op, str) or not op:
        return "'operation' must be a non-empty string"
    args = req.get("args")
    if args is not None and not isinstance(args, dict):
        return "'args' must be an object"
    for key in STRING_FIELDS:
        if req.get(key) is not None and not isinstance(req[key], str):
            return f"'{key}' must be a string"
    return None


def _error(text: str) -> dict[str, Any]:
    return {"success": False, "error": text}


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode("utf-8") + b"\n")
