"""Run a `bd` command inside the daemon exactly as the client would have run it.

The command code is the CLI's own (``beads.cli.main.main``), so its output is the
same bytes as in direct mode by construction. For the length of one command the
process takes on the client's view of the world: its argv, working directory,
environment (and time zone), and stdin/stdout/stderr (captured; stdin is fetched
from the client only if the command reads it). That state is process-wide, so
commands run one at a time under ``WORK_LOCK``, which is also what makes the
daemon the single writer of its workspace: exports and imports take it too.
"""

from __future__ import annotations

import io
import os
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

WORK_LOCK = threading.RLock()


class StdinProxy(io.RawIOBase):
    """The client's stdin: fetched on the first read (never, for commands that do not read it)."""

    def __init__(self, fetch: Callable[[], bytes], tty: bool) -> None:
        super().__init__()
        self._fetch = fetch
        self._tty = tty
        self._data: io.BytesIO | None = None

    def _source(self) -> io.BytesIO:
        if self._data is None:
            self._data = io.BytesIO(self._fetch())
        return self._data

    def readable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._tty

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._source().read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Forward(io.RawIOBase):
    """A stream whose bytes go to the client as they are written (``sink(name, data)``).

    After the client went away, the first write raises ``BrokenPipeError`` (what the CLI
    expects of a closed pipe: it exits quietly) and later ones are dropped.
    """

    def __init__(self, sink: Callable[[str, bytes], None], name: str) -> None:
        super().__init__()
        self._sink = sink
        self._name = name
        self._broken = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(data)
        if self._broken or not size:
            return size
        try:
            self._sink(self._name, bytes(data))
        except OSError:
            self._broken = True
            raise BrokenPipeError("the client went away") from None
        return size


class Result:
    __slots__ = ("exit", "stderr", "stdout")

    def __init__(self, exit_status: int, stdout: bytes, stderr: bytes) -> None:
        self.exit = exit_status
        self.stdout = stdout
        self.stderr = stderr


def run(argv: list[str], *, cwd: str, env: dict[str, str], fetch_stdin: Callable[[], bytes] | None = None,
        stdin_tty: bool = False, stdout_encoding: str = "utf-8", stdout_errors: str = "strict",
        stderr_errors: str = "backslashreplace", sink: Callable[[str, bytes], None] | None = None) -> Result:
    """Run ``bd <argv>`` in this process as the client would; its exit status and output bytes.

    With ``sink``, output is streamed to it in chunks as the command writes (and the
    result's bytes are empty); without, it is captured.
    """
    from beads.cli import main as cli_main
    from beads.cli.main import main

    cli_main.IN_DAEMON = True
    out_buf, err_buf = io.BytesIO(), io.BytesIO()
    with WORK_LOCK:
        saved = (sys.stdin, sys.stdout, sys.stderr, dict(os.environ), os.getcwd())
        tz_before = os.environ.get("TZ")
        stdin_raw = StdinProxy(fetch_stdin or (lambda: b""), stdin_tty)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(stdin_raw), encoding="utf-8", errors="surrogateescape")
        out_raw: Any = out_buf
        err_raw: Any = err_buf
        if sink is not None:
            out_raw = io.BufferedWriter(Forward(sink, "stdout"), buffer_size=1 << 16)
            err_raw = io.BufferedWriter(Forward(sink, "stderr"), buffer_size=1 << 12)
        out = io.TextIOWrapper(out_raw, encoding=stdout_encoding, errors=stdout_errors, write_through=sink is None)
        err = io.TextIOWrapper(err_raw, encoding="utf-8", errors=stderr_errors, write_through=True)
        sys.stdout, sys.stderr = out, err
        status = 1
        try:
            _set_environ(env)
            if env.get("TZ") != tz_before:
                _tzset()
            os.chdir(cwd)
            try:
                status = main(list(argv))
            except SystemExit as exc:
                status = _exit_status(exc)
        except Exception as exc:  # noqa: BLE001 - one bad command must not take the daemon down
            sys.stderr.write(f"Error: the daemon could not run the command: {exc}\n")
            status = 1
        finally:
            for stream in (out, err):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
                try:
                    stream.detach()  # or collecting the wrapper would close the buffer
                except (OSError, ValueError):
                    pass
            sys.stdin, sys.stdout, sys.stderr = saved[0], saved[1], saved[2]
            _set_environ(saved[3])
            if os.environ.get("TZ") != env.get("TZ"):
                _tzset()
            try:
                os.chdir(saved[4])
            except OSError:
                os.chdir("/")
        return Result(status, out_buf.getvalue(), err_buf.getvalue())


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def _set_environ(env: dict[str, str]) -> None:
    current = os.environ
    for key in [k for k in current if k not in env]:
        del current[key]
    for key, value in env.items():
        if current.get(key) != value:
            current[key] = value


def _tzset() -> None:
    import time

    time.tzset()
    timefmt = sys.modules.get("beads.timefmt")
    if timefmt is not None:  # its one-second cache of the local time text depends on the zone
        timefmt._last_local = (-1, "", "")  # type: ignore[attr-defined]
