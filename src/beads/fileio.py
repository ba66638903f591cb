"""Crash-safe file writes: the one way this project replaces a file. Stdlib only.

Data goes to a temp file in the target's directory, is fsynced, then renamed over the
target, and the directory is fsynced: a reader (or a crash) sees the old file or the
new one, never a torn one. A failed write removes its temp file and leaves the target.
"""

from __future__ import annotations

import os

_UNSET = -1


def write_atomic(path: str, data: bytes | str, mode: int = _UNSET) -> os.stat_result:
    """Replace ``path`` with ``data``; ``mode`` defaults to the existing file's, else 0644.

    Returns the new file's ``stat``. Raises ``OSError`` (the target is then untouched).
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if mode == _UNSET:
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            mode = 0o644
    directory = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)
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
