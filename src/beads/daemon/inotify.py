"""A file watcher on Linux's inotify that does nothing at all until a file changes.

watchfiles hands its events over by waking every ``step`` milliseconds, so an idle
daemon would still wake several times a second. On Linux this watcher instead blocks
in ``select`` on the inotify descriptor and a stop pipe, with no timeout: zero wake-ups
while idle. It watches directories (optionally their sub-directories, added as they
appear) and reports paths with watchfiles' change names (``added``, ``modified``,
``deleted``), after ``debounce_ms`` of quiet. Elsewhere, or if inotify is unavailable,
the daemon uses watchfiles (``events.Watcher``).
"""

from __future__ import annotations

import os
import select
import struct
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_IGNORED = 0x8000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
MASK = (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
        | IN_ATTRIB | IN_MODIFY)
GONE = IN_DELETE | IN_DELETE_SELF | IN_MOVED_FROM | IN_MOVE_SELF
HEADER = struct.Struct("iIII")


class InotifyWatcher:
    def __init__(self, dirs: list[tuple[str, bool]], accept: Callable[[str, str], bool],
                 on_change: Callable[[set[str]], None], *, debounce_ms: int = 500) -> None:
        self.dirs = dirs  # (directory, recursive)
        self.accept = accept
        self.on_change = on_change
        self.debounce = debounce_ms / 1000.0
        self.error: str | None = None
        self._fd = -1
        self._libc: object = None
        self._watches: dict[int, tuple[str, bool]] = {}
        self._stop_r, self._stop_w = -1, -1
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        import ctypes
        import ctypes.util
        import sys

        if not sys.platform.startswith("linux"):
            self.error = "inotify exists on Linux only"
            return False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError) as exc:
            self.error = f"inotify unavailable: {exc}"
            return False
        if fd < 0:
            self.error = f"inotify_init1 failed: {os.strerror(ctypes.get_errno())}"
            return False
        self._libc, self._fd = libc, fd
        for path, recursive in self.dirs:
            if not self._add(path, recursive) and not self._watches:
                os.close(fd)
                return False
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="inotify", daemon=True)
        self._thread.start()
        return True

    def _add(self, path: str, recursive: bool) -> bool:
        import ctypes

        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), MASK)  # type: ignore[attr-defined]
        if wd < 0:
            self.error = f"cannot watch {path}: {os.strerror(ctypes.get_errno())}"
            return False
        self._watches[wd] = (path, recursive)
        if recursive:
            try:
                for entry in os.scandir(path):
                    if entry.is_dir(follow_symlinks=False):
                        self._add(entry.path, True)
            except OSError:
                pass
        return True

    def _run(self) -> None:
        pending: set[str] = set()
        try:
            while True:
                timeout = self.debounce if pending else None  # no timeout at all while nothing is pending
                ready, _, _ = select.select([self._fd, self._stop_r], [], [], timeout)
                if self._stop_r in ready:
                    return
                if not ready:  # quiet for the debounce period
                    batch, pending = pending, set()
                    self.on_change(batch)
                    continue
                pending |= self._read()
        except Exception as exc:  # noqa: BLE001 - reported in the daemon's status
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            os.close(self._fd)
            os.close(self._stop_r)

    def _read(self) -> set[str]:
        try:
            data = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return set()
        found: set[str] = set()
        offset = 0
        while offset + HEADER.size <= len(data):
            wd, mask, _cookie, length = HEADER.unpack_from(data, offset)
            raw = data[offset + HEADER.size: offset + HEADER.size + length].rstrip(b"\0")
            offset += HEADER.size + length
            watched = self._watches.get(wd)
            if watched is None:
                continue
            base, recursive = watched
            if mask & IN_IGNORED:
                self._watches.pop(wd, None)
                continue
            path = os.path.join(base, os.fsdecode(raw)) if raw else base
            if recursive and mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
                self._add(path, True)
            kind = "deleted" if mask & GONE else "added" if mask & IN_CREATE else "modified"
            if self.accept(kind, path):
                found.add(path)
        return found

    def stop(self) -> None:
        if self._thread is None:
            return
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass
        self._thread.join(timeout=5)
        os.close(self._stop_w)
        self._thread = None
