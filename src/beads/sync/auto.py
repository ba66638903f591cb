"""Auto-import before and auto-flush after a command (spec §8.2, §8.3).

``before_command`` runs on every command, so its common case is one ``stat`` of the
JSONL and one metadata read: when the file's (size, mtime, inode, ctime) is the one
recorded at the last import/export, nothing changed. Otherwise the bytes are hashed
and, if they differ from what we last saw (a git pull, another clone's line), the
file is imported with the merge rules of ``beads.sync.importer``. A conflicted or
corrupt file is refused with one warning and nothing changes.

``after_command`` flushes the dirty issues to the JSONL at the end of every writing
command (the original's debounced flush always flushes on exit too); a long-lived
process can use ``Debouncer`` to coalesce bursts of writes.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from beads.core.tracker import Tracker

_STAT_KEY = "jsonl_stat"


def _warn(text: str) -> None:
    sys.stderr.write(f"Warning: {text}\n")


def before_command(tracker: Tracker, warn: Callable[[str], None] | None = None) -> dict | None:
    """Import the JSONL if it changed since we last read or wrote it; returns the import stats."""
    ws = tracker.workspace
    if ws is None:
        return None
    path = ws.jsonl_path
    try:
        st = os.stat(path)
    except OSError:
        return None
    recorded = tracker.store.get_metadata(_STAT_KEY)
    if recorded and recorded == f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}":
        return None
    return _slow_path(tracker, path, warn or _warn)


def _slow_path(tracker: Tracker, path: str, warn: Callable[[str], None]) -> dict | None:
    """The file changed since we last recorded it: decide, and import, under the export lock.

    Reading and deciding under the lock every flush holds means we never import a file a
    flush has just written but not yet recorded (that stale view would undo the writes
    committed since its snapshot), and a hard delete's pending mark and the file's line go
    away together, so a deleted issue cannot come back from here.
    """
    from beads.errors import Locked
    from beads.sync import export as exp

    ws = tracker.workspace
    assert ws is not None
    try:
        with exp.FileLock(ws.beads_dir):
            stats = _import_locked(tracker, path, warn)
    except Locked as exc:  # the command still runs on the database
        warn(f"auto-import skipped, nothing was imported: {exc.message}")
        return None
    # A JSONL that cannot be read at all (a directory or FIFO in its place, no permission) is
    # an error of the workspace, not of one record: it propagates, so nothing is written.
    if stats is None:
        return None
    for line in stats["warnings"]:
        warn(line)
    if stats["marked_dirty"]:
        # The database won for some issues: give the file their newer copies now.
        exp.flush_quietly(tracker, warn)
    return stats


def _import_locked(tracker: Tracker, path: str, warn: Callable[[str], None]) -> dict | None:
    from beads.errors import BdError, CorruptJSONL, SyncError
    from beads.sync import export as exp
    from beads.sync import importer

    store = tracker.store
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    meta = store.get_metadata_many([exp.KEY_STAT, exp.KEY_CONTENT_HASH, exp.LEGACY_HASH])
    if meta.get(exp.KEY_STAT) == exp.fingerprint(st):
        return None  # the flush we waited for has recorded this very file
    known = meta.get(exp.KEY_CONTENT_HASH) or meta.get(exp.LEGACY_HASH)
    if known:  # touched, or checked out again, with the very bytes recorded: nothing to import
        data, st2 = exp.read_file(path)
        if data is not None and st2 is not None and exp.sha256_hex(data) == known:
            exp.confirm_unchanged(store, st2)
            return None
        del data
    try:  # only the lines whose digest is not recorded are parsed (sync/linescan.py)
        return importer.absorb_file(tracker, path, skip_prefix_validation=True, mark_dirty=False)
    except CorruptJSONL as exc:
        warn(f"auto-import skipped, nothing was imported: {exc.message}")
    except SyncError:
        raise  # the file cannot be read at all: an error of the workspace (see _slow_path)
    except BdError as exc:
        warn(f"auto-import failed, nothing was imported: {exc.message}")
    return None


def after_command(tracker: Tracker, warn: Callable[[str], None] | None = None) -> bool:
    """Flush dirty issues to the JSONL; a failure is a warning (the command's write stands)."""
    from beads.sync import export as exp

    return exp.flush_quietly(tracker, warn or _warn)


class Debouncer:
    """Coalesce flushes in a long-lived process: ``touch()`` after each write, ``close()`` on exit.

    The flush runs ``delay`` seconds after the last ``touch`` (``flush-debounce``), on
    a timer thread with its own Tracker from ``open_tracker`` (a Tracker is not shared
    between threads); ``close`` cancels the timer and flushes at once.
    """

    def __init__(self, open_tracker: Callable[[], Tracker], delay: float = 5.0) -> None:
        import threading

        self.open_tracker = open_tracker
        self.delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def touch(self) -> None:
        import threading

        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        tracker = self.open_tracker()
        try:
            after_command(tracker)
        finally:
            tracker.disconnect()

    def close(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._fire()


def debounce_seconds(text: str | None, default: float = 30.0) -> float:
    """Parse ``flush-debounce`` / ``BEADS_FLUSH_DEBOUNCE`` ("5s", "500ms"); 5 s if unparsable."""
    if not text:
        return default
    text = text.strip().lower()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            try:
                return float(text[: -len(suffix)]) * factor
            except ValueError:
                return 5.0
    try:
        return float(text)
    except ValueError:
        return 5.0
