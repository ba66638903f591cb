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


def write_atomic(path: str, data: bytes | str | Callable[[int], Any], mode: int = 0o666, *,
                 durable: bool = True) -> os.stat_result:
    """Replace ``path`` with ``data``, keeping an existing file's mode.

    ``data`` may also be a function that writes the content to the descriptor it is given
    (see ``copy_range``), so a caller can assemble a large file without holding it.
    ``mode`` is for a new file and is filtered by the umask (the default gives 0644 under
    the usual umask 022 and 0600 under 077). Returns the new file's ``stat``. Raises
    ``OSError`` (the target is then untouched). ``durable=False`` skips the ``fsync`` of the
    file and its directory (readers still see the old or the new content, never a mix) for an
    output that its reader takes at once, like a merge driver's result that git hashes next.
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
            if durable:
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
    if durable:
        _fsync_dir(directory)
    return os.stat(path)


def replace_reusing(path: str, spare: str, produce: Callable[[int, os.stat_result | None], Any], *,
                    keep_spare: bool) -> os.stat_result:
    """``write_atomic`` for a big file that is rewritten often, without freeing or allocating it.

    Replacing a file of tens of MB costs, besides writing it, allocating the new file's blocks
    and freeing the old one's when the last descriptor closes (~40 ms for 55 MB on ext4). Here
    the new content is written over ``spare``, an earlier version of the file that only we
    know, and the version it replaces becomes the next spare (``keep_spare``) instead of being
    freed. The guarantees of ``write_atomic`` hold: the new content goes to a private temp
    name, is fsynced, then renamed over ``path``; the directory is fsynced.

    ``produce(fd, previous)`` writes the content; ``previous`` is the spare's stat from before
    it was taken (its bytes are still in ``fd``, which ``produce`` may leave where they already
    match), or None for a new, empty file. It leaves the offset at the content's end.

    A spare is written over only when nothing else can see it: one name (a user's hard link
    makes it two), not the target's inode, ours, and open nowhere (a reader that opened
    ``path`` before it became the spare still holds it: a probing write lease fails then).
    Otherwise, or where leases do not exist, it is dropped and a new file is written. The
    caller holds the lock that serialises writers of ``path``. Raises ``OSError`` as
    ``write_atomic`` does (the target is then untouched).
    """
    target = os.stat(path)
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        os.unlink(tmp)
    except OSError:
        pass
    fd, previous = _take_spare(spare, tmp, target)
    if fd < 0:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, stat.S_IMODE(target.st_mode))
    linked = False
    try:
        try:
            produce(fd, previous)
            os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR))  # a reused spare may have been longer
            os.fchmod(fd, stat.S_IMODE(target.st_mode))
            os.fsync(fd)
        finally:
            os.close(fd)
        if keep_spare:
            linked = _link_quietly(path, spare)  # the old version stays, as the next spare
        os.replace(tmp, path)
    except BaseException:
        for name in (tmp, spare) if linked else (tmp,):
            try:
                os.unlink(name)
            except OSError:
                pass
        raise
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return os.stat(path)


def _take_spare(spare: str, tmp: str, target: os.stat_result) -> tuple[int, os.stat_result | None]:
    """A descriptor open for writing on ``spare``, moved to ``tmp``, and the spare's stat from
    before the move; (-1, None) if it is absent or unsafe to write over."""
    try:
        import fcntl
        import signal

        lease = fcntl.F_SETLEASE  # Linux only
        before = os.lstat(spare)
        if not stat.S_ISREG(before.st_mode):
            return -1, None
        os.rename(spare, tmp)
    except (ImportError, AttributeError, OSError):
        return -1, None
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        st = os.fstat(fd)
        if (stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_uid == os.geteuid()
                and (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino)):
            # A write lease is granted only when no other descriptor or mapping holds the file.
            # Released at once: it is a probe. Should an open break it meanwhile, the signal
            # is one whose default action is to do nothing (SIGIO's would kill us).
            fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGWINCH)
            fcntl.fcntl(fd, lease, fcntl.F_WRLCK)
            fcntl.fcntl(fd, lease, fcntl.F_UNLCK)
            return fd, before
    except OSError:
        pass
    if fd >= 0:
        os.close(fd)
    try:
        os.unlink(tmp)  # unsafe to reuse: only its name goes, whoever holds it keeps its bytes
    except OSError:
        pass
    return -1, None


def _link_quietly(path: str, spare: str) -> bool:
    try:
        os.link(path, spare)
    except OSError:
        return False
    return True


def _fsync_dir(directory: str) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_all_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def copy_range(src: int, dst: int, start: int, end: int, at: int | None = None) -> None:
    """Copy bytes ``[start, end)`` of descriptor ``src`` to ``dst`` at offset ``at`` (None: at
    its current offset, which advances).

    ``copy_file_range`` lets the kernel copy between the page caches (nothing passes
    through this process); where it is missing or refused, a small buffer does it.
    """
    pos = start
    fast = hasattr(os, "copy_file_range")
    while pos < end:
        out = None if at is None else at + pos - start
        if fast:
            try:
                n = os.copy_file_range(src, dst, end - pos, pos, out)
            except OSError:
                fast = False
                continue
        else:
            chunk = os.pread(src, min(end - pos, 1 << 20), pos)
            if out is None:
                write_all(dst, chunk)
            else:
                write_all_at(dst, chunk, out)
            n = len(chunk)
        if n == 0:
            raise OSError(f"source ended at byte {pos} of {end}")
        pos += n


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's counts) and is not a zombie (a child of ours
    that exited and was not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
