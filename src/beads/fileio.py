"""Crash-safe file writes and safe opens: the one way this project replaces or reads a file. Stdlib only.

Data goes to a temp file in the target's directory, is fsynced, then renamed over the
target, and the directory is fsynced: a reader (or a crash) sees the old file or the
new one, never a torn one. A failed write removes its temp file and leaves the target.
A new file gets the requested mode filtered by the user's umask, as ``open`` would; a
replaced file keeps the mode it had (a user's ``chmod 600`` survives every rewrite).

Reads of files a user names (or that should be ours) go through ``open_regular``: a FIFO
or a directory where a file belongs is refused at once instead of blocking or failing
later with a confusing message.
"""

from __future__ import annotations

import errno
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for reading in binary mode, refusing anything but a regular file.

    The open is non-blocking, so a FIFO cannot hang us; its type is checked on the
    descriptor (no race with a rename). Raises ``OSError`` with a readable ``strerror``
    (``FileNotFoundError`` when absent, ``IsADirectoryError`` for a directory).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != stat.S_IFREG:
            if kind == stat.S_IFDIR:
                raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", path)
            what = "is a FIFO (named pipe), not a file" if kind == stat.S_IFIFO else "is not a regular file"
            raise OSError(errno.EINVAL, what, path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def write_atomic(path: str, data: bytes | str | Callable[[int], Any], mode: int = 0o666) -> os.stat_result:
    """Replace ``path`` with ``data``, keeping an existing file's mode.

    ``data`` may also be a function that writes the content to the descriptor it is given
    (see ``copy_range``), so a caller can assemble a large file without holding it.
    ``mode`` is for a new file and is filtered by the umask (the default gives 0644 under
    the usual umask 022 and 0600 under 077). Returns the new file's ``stat``. Raises
    ``OSError`` (the target is then untouched).
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    try:
        keep: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        keep = None
    directory = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        os.unlink(tmp)  # a leftover of a killed process with our pid: O_EXCL below needs it gone
    except OSError:
        pass
    # O_CREAT applies the umask to ``mode``; only an existing file's mode is set explicitly
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            if callable(data):
                data(fd)
            else:
                write_all(fd, data)
            if keep is not None:
                os.fchmod(fd, keep)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return os.stat(path)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def copy_range(src: int, dst: int, start: int, end: int) -> None:
    """Append bytes ``[start, end)`` of descriptor ``src`` to ``dst`` (at its current offset).

    ``copy_file_range`` lets the kernel copy between the page caches (nothing passes
    through this process); where it is missing or refused, a small buffer does it.
    """
    pos = start
    fast = hasattr(os, "copy_file_range")
    while pos < end:
        if fast:
            try:
                n = os.copy_file_range(src, dst, end - pos, pos)
            except OSError:
                fast = False
                continue
        else:
            chunk = os.pread(src, min(end - pos, 1 << 20), pos)
            write_all(dst, chunk)
            n = len(chunk)
        if n == 0:
            raise OSError(f"source ended at byte {pos} of {end}")
        pos += n
