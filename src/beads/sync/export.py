"""Writing ``issues.jsonl`` from the database: full exports and incremental flushes.

Every write goes to a temp file in the same directory, is fsynced and renamed over
the target, under an exclusive ``flock`` on ``.beads/jsonl.lock``: a reader (or a
process killed mid-write) sees the old file or the new one, never a torn one, and
two writers never interleave. Before writing, a guard refuses to drop any issue
the file has and the database lacks, unless this clone deleted it or ``force`` is
given (lessons A: an empty or stale database must never shrink the shared file).

After writing the workspace's own JSONL we record its SHA-256 (``jsonl_content_hash``,
``jsonl_file_hash``) and its (size, mtime, inode, ctime) so the next command's
auto-import check is one ``stat``, and clear the dirty marks that were exported.
"""

from __future__ import annotations

import os

from beads import fileio, timefmt
from beads.errors import BdError, CorruptJSONL, Locked, SyncError
from beads.sync import jsonl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from beads.core.tracker import Tracker
    from beads.query import IssueFilter
    from beads.storage.sqlite.store import SqliteStore

LOCK_NAME = "jsonl.lock"
LOCK_TIMEOUT_S = 30.0
KEY_CONTENT_HASH = "jsonl_content_hash"
KEY_FILE_HASH = "jsonl_file_hash"
KEY_IMPORT_TIME = "last_import_time"
KEY_STAT = "jsonl_stat"
KEY_IN_ORDER = "jsonl_sorted"  # "1": lines are ours, sorted by plain IDs (see jsonl.replace_lines)
# The fingerprint of the file when it was last known to be canonical (every line ours, sorted,
# plain IDs: the flush may splice it without reading it) and when it was last known to hold
# every issue of the database (``bd sync`` need not compare ID sets). Tied to a fingerprint,
# each claim lapses by itself when anything else touches the file.
KEY_CANONICAL = "jsonl_canonical_stat"
KEY_COMPLETE = "jsonl_complete_stat"
KEY_WRITTEN = "jsonl_written_stat"  # the stat of the file when this database wrote it (not only read it)
LEGACY_HASH = "last_import_hash"
KEY_SPARE_MAP = "jsonl_spare_map"  # how the file maps onto its spare copy (see sync/spare.py)


# -- file helpers -------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    import hashlib  # ~3 ms to import: only on the slow paths

    return hashlib.sha256(data).hexdigest()


def fingerprint(st: os.stat_result) -> str:
    """What the fast auto-import check compares: size, mtime, inode and ctime."""
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"


def read_file(path: str) -> tuple[bytes | None, os.stat_result | None]:
    """The file's bytes and the stat of exactly that version (None, None if absent)."""
    for _ in range(5):
        try:
            with fileio.open_regular(path) as fh:  # a FIFO or directory: refused, never waited on
                before = os.fstat(fh.fileno())
                data = fh.read()
                after = os.fstat(fh.fileno())
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            raise SyncError(f"cannot read {path}: {exc.strerror or exc}")
        if fingerprint(before) == fingerprint(after):
            return data, after
    return data, None  # being rewritten in place: usable bytes, but no trustworthy stat


def is_canonical(tracker: Tracker, path: str | None) -> bool:
    """Whether ``path`` is the workspace's own JSONL (``None`` means it is)."""
    if path is None:
        return True
    ws = tracker.workspace
    if ws is None:
        return False
    try:
        return os.path.samefile(path, ws.jsonl_path)
    except OSError:
        return os.path.abspath(path) == os.path.abspath(ws.jsonl_path)


def record_file_state(store: SqliteStore, data: bytes | None, st: os.stat_result | None,
                      ids: list[str] | None = None, *, digest: str | None = None, canonical: bool | None = None,
                      complete: bool = False, in_order: bool | None = None, written: bool = False) -> None:
    """Remember that the database now holds everything in these JSONL bytes.

    ``ids`` are the file's issue IDs in line order, when known: if they are sorted
    and plain, later flushes may update the file in place by binary search. A caller
    that already knows the bytes' ``digest`` and whether they are ``canonical`` (see
    ``KEY_CANONICAL``) passes them instead of the bytes; ``complete`` says the file
    holds every issue of the database (see ``KEY_COMPLETE``); ``written``: this database wrote
    the file from its own rows (an export or a flush, not an import; see ``KEY_WRITTEN``).
    """
    if digest is None:
        assert data is not None
        digest = sha256_hex(data)
    # An empty digest means "not computed": nothing can match it, so a changed stat leads to
    # an import (a no-op for a file we wrote) rather than to trusting an older hash.
    if in_order is None:
        in_order = ids is not None and jsonl.ids_in_order(ids)
    if canonical is None:
        canonical = in_order and data is not None and jsonl.canonical_layout(data)
    stat = fingerprint(st) if st is not None else ""
    values = {KEY_CONTENT_HASH: digest, KEY_FILE_HASH: digest, KEY_IMPORT_TIME: timefmt.now(), KEY_STAT: stat,
              KEY_IN_ORDER: "1" if in_order or canonical else "", KEY_CANONICAL: stat if canonical else "",
              KEY_COMPLETE: stat if complete else "", KEY_WRITTEN: stat if written else ""}
    if not digest:
        values[LEGACY_HASH] = ""
    with store.transaction():
        store.set_metadata_many(values)


_HELD: dict[tuple[str, int], list[int]] = {}  # (lock path, thread) -> [descriptor, depth]


class FileLock:
    """Exclusive ``flock`` on ``.beads/jsonl.lock`` (released when the process dies).

    Re-entrant within one thread: ``bd sync`` holds it from its export through the
    merge and import, and the export and flush it calls take it again.
    """

    def __init__(self, beads_dir: str, timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = os.path.join(beads_dir, LOCK_NAME)
        self.timeout = timeout
        self.fd = -1
        self._key: tuple[str, int] | None = None

    def __enter__(self) -> FileLock:
        import _thread

        key = (os.path.realpath(self.path), _thread.get_ident())
        held = _HELD.get(key)
        if held is None:
            held = _HELD[key] = [self._acquire(), 0]
        held[1] += 1
        self._key, self.fd = key, held[0]
        return self

    def _acquire(self) -> int:
        import fcntl
        import time

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SyncError(f"cannot open the export lock {self.path}: {exc.strerror or exc}")
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise Locked(f"another bd process holds {self.path} (an export is running); try again")
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def __exit__(self, *exc: object) -> None:
        key, self._key, self.fd = self._key, None, -1
        held = _HELD.get(key) if key is not None else None
        if key is None or held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[key]
            os.close(held[0])  # closing the descriptor releases the flock


def write_atomic(path: str, data: bytes | Callable[[int], None], mode: int = 0o666) -> os.stat_result:
    """Temp file in the same directory + fsync + rename; returns the new file's stat.

    Raises ``SyncError`` if the file cannot be written (the target is then untouched).
    """
    try:
        return fileio.write_atomic(path, data, mode)
    except OSError as exc:
        raise SyncError(f"cannot write {path}: {exc.strerror or exc}")


def _remove_stale_temps(path: str) -> None:
    """Temp files left by killed exporters (only called while holding the lock)."""
    directory, base = os.path.split(os.path.abspath(path))
    prefix = base + ".tmp."
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:
            pass


_alive = fileio.pid_alive


def _beads_dir(tracker: Tracker, path: str) -> str:
    ws = tracker.workspace
    return ws.beads_dir if ws is not None else os.path.dirname(os.path.abspath(path))


# -- guard --------------------------------------------------------------------------------------


def check_shrink(store: SqliteStore, existing: bytes | None, new_ids: set[str], path: str) -> None:
    """Refuse to drop issues the file has and the database lacks (see module docstring)."""
    if not existing:
        return
    try:
        old_ids = set(jsonl.line_ids(jsonl.decode(existing, path)))
    except CorruptJSONL as exc:
        raise SyncError(f"refusing to overwrite {path}: it is not valid JSONL ({exc.message.splitlines()[0]})",
                        hint=f"resolve the file first, or use 'bd export -o {path} --force' to replace it")
    missing = old_ids - new_ids
    if not missing:
        return
    missing -= store.pending_hard_deletes()
    if missing:  # wisps that leaked into the file may go
        rows = store.get_issues(sorted(missing))
        missing -= {i for i, row in rows.items() if row.get("ephemeral")}
    if not missing:
        return
    shown = sorted(missing)
    listing = "\n".join(f"    - {i}" for i in shown[:10])
    more = f"\n    ... and {len(shown) - 10} more" if len(shown) > 10 else ""
    raise SyncError(
        f"refusing to export stale database that would lose issues\n"
        f"  Database has {len(new_ids)} issues\n  JSONL has {len(old_ids)} issues\n"
        f"  Export would lose {len(shown)} issue(s):\n{listing}{more}",
        hint=f"run 'bd import -i {path}' to bring those issues in first, "
             f"or 'bd export -o {path} --force' to drop them",
    )


# -- full export --------------------------------------------------------------------------------


def export_jsonl(tracker: Tracker, path: str | None = None, *, force: bool = False, include_comments: bool = True,
                 filt: IssueFilter | None = None, stream: TextIO | None = None) -> dict[str, Any]:
    """Write every issue (or those matching ``filt``) as JSONL; returns the stats.

    ``path`` None means the workspace's ``issues.jsonl``; ``stream`` writes to an open
    text stream instead (no file, no guard). Exporting to the workspace's JSONL
    also clears the exported dirty marks and records the file's hash and stat.
    Raises ``SyncError`` when the guard refuses (unless ``force``).
    """
    store = tracker.store
    if stream is not None:
        written = jsonl.write_records(stream, store, filt_issues=store.list_issues(filt) if filt else None,
                                      include_comments=include_comments)
        return {"success": True, "exported": written, "skipped": 0, "total_issues": written}
    if path is None:
        if tracker.workspace is None:
            raise SyncError("no workspace: cannot find issues.jsonl")
        path = tracker.workspace.jsonl_path
    canonical = is_canonical(tracker, path)
    with FileLock(_beads_dir(tracker, path)):
        _remove_stale_temps(path)
        with store.read_snapshot():
            marks = store.dirty_marks() if canonical else {}
            records = _records(store, filt, include_comments)
        data = jsonl.render(records).encode("utf-8")
        existing, _ = read_file(path)
        if not force:
            check_shrink(store, existing, {r["id"] for r in records}, path)
        st = write_atomic(path, data, 0o666 if canonical else 0o600) if existing != data else os.stat(path)
        if canonical:
            if filt is not None:
                exported = {r["id"] for r in records}
                marks = {i: m for i, m in marks.items() if i in exported}
            _record_export(store, data, st, marks, [r["id"] for r in records], complete=filt is None)
    return _stats(records, path)


def _records(store: SqliteStore, filt: IssueFilter | None, include_comments: bool) -> list[dict[str, Any]]:
    issues = store.list_issues(filt) if filt is not None else None
    return jsonl.export_records(store, include_comments=include_comments, issues=issues)


def _stats(records: list[dict[str, Any]], path: str | None) -> dict[str, Any]:
    stats: dict[str, Any] = {"success": True, "exported": len(records), "skipped": 0, "total_issues": len(records)}
    if path is not None:
        stats["output_file"] = path
    return stats


def _record_export(store: SqliteStore, data: bytes, st: os.stat_result, marks: dict[str, str],
                   ids: list[str] | None, *, complete: bool = False) -> None:
    from beads.sync import linescan

    with store.transaction():
        if marks:
            store.clear_dirty_marks(marks)
        record_file_state(store, data, st, ids, complete=complete, written=True)
        store.set_line_digests(linescan.data_digests(data), replace_all=True)


# -- incremental flush --------------------------------------------------------------------------


def flush(tracker: Tracker, *, full: bool = False) -> bool:
    """Bring the workspace's JSONL up to date with the database; True if it was written.

    Incremental (only dirty issues' lines replaced) when the file on disk is the one
    we last wrote or imported. If someone else changed it meanwhile (a git pull, a
    concurrent clone), it is imported first — newer-wins, additive — so their rows
    survive; a conflicted or corrupt file is refused with ``SyncError`` and the
    dirty marks stay for the next attempt. A missing file gets a full export.
    """
    ws = tracker.workspace
    if ws is None:
        return False
    path = ws.jsonl_path
    with FileLock(ws.beads_dir):
        return _flush_locked(tracker, path, full)


def _flush_locked(tracker: Tracker, path: str, full: bool) -> bool:
    store = tracker.store
    meta = store.get_metadata_many([KEY_STAT, KEY_FILE_HASH, KEY_CONTENT_HASH, LEGACY_HASH, KEY_IN_ORDER,
                                    KEY_CANONICAL, KEY_COMPLETE, KEY_WRITTEN])
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is None or full:
        return _full_flush(tracker, path, missing=st is None)
    known = meta.get(KEY_FILE_HASH) or meta.get(KEY_CONTENT_HASH) or meta.get(LEGACY_HASH)
    fp = fingerprint(st)
    if meta.get(KEY_STAT) == fp:  # the very file we last wrote or read: no need to read it to trust it
        if not store.dirty_marks():
            return False
        if meta.get(KEY_CANONICAL) == fp:
            done = _splice_flush(tracker, path, fp, known, complete=meta.get(KEY_COMPLETE) == fp)
            if done is not None:
                return done
    data: bytes | None = None
    complete = meta.get(KEY_COMPLETE) == fp
    if meta.get(KEY_STAT) != fp:
        data, st = read_file(path)
        if data is None:
            return _full_flush(tracker, path, missing=True)
        if sha256_hex(data) != known:
            meta[KEY_IN_ORDER] = _import_changed(tracker, path)
            complete = False
        elif st is not None:
            complete = confirm_unchanged(store, st, meta) and complete
    if not store.dirty_marks():
        return False
    if data is None:
        data, st = read_file(path)
        if data is None:
            return _full_flush(tracker, path, missing=True)
    return _incremental_flush(tracker, path, data, in_order=meta.get(KEY_IN_ORDER) == "1", complete=complete)


def _full_flush(tracker: Tracker, path: str, *, missing: bool) -> bool:
    store = tracker.store
    if missing and not store.dirty_marks() and not store.all_ids():
        return False  # nothing to write and no file: do not create an empty one
    _remove_stale_temps(path)
    if missing:
        return _stream_new_file(store, path)
    with store.read_snapshot():
        marks = store.dirty_marks()
        records = jsonl.export_records(store)
    data = jsonl.render(records).encode("utf-8")
    existing, _ = read_file(path)
    check_shrink(store, existing, {r["id"] for r in records}, path)
    st = write_atomic(path, data) if existing != data else os.stat(path)
    _record_export(store, data, st, marks, [r["id"] for r in records], complete=True)
    return existing != data


class _HashingWriter:
    """A text stream onto a descriptor that hashes the bytes it writes (``write_records`` target),
    and each line (the line digests the next import matches against)."""

    def __init__(self, fd: int) -> None:
        import hashlib

        self.fd = fd
        self.sha = hashlib.sha256()
        self.size = 0
        self.digests: dict[str, bytes] = {}

    def write(self, text: str) -> int:
        from beads.sync import linescan

        data = text.encode("utf-8")
        self.sha.update(data)
        fileio.write_all(self.fd, data)
        self.size += len(data)
        self.digests.update(linescan.text_digests(text))
        return len(text)


def _stream_new_file(store: SqliteStore, path: str) -> bool:
    """The full export of a missing file, rendered a few hundred issues at a time straight into
    the temp file (after a big import the whole text would cost hundreds of MB); the same bytes
    as ``render(export_records(store))``, which are canonical by construction."""
    writers: list[_HashingWriter] = []

    def produce(fd: int) -> None:
        writers.append(_HashingWriter(fd))
        jsonl.write_records(writers[0], store)  # type: ignore[arg-type]

    with store.read_snapshot():
        marks = store.dirty_marks()
        st = write_atomic(path, produce)
    out = writers[0]
    with store.transaction():
        if marks:
            store.clear_dirty_marks(marks)
        record_file_state(store, None, st, None if out.size else [], digest=out.sha.hexdigest(), canonical=out.size > 0,
                          complete=True, written=True)
        store.set_line_digests(out.digests, replace_all=True)
    return True


class NewFile:
    """The workspace's missing ``issues.jsonl``, written from the lines a bulk import read while it
    runs (``freshimport``), so nothing has to be read back from the database afterwards.

    ``write_lines`` appends canonical lines in ID order to a temp file next to the target (named
    like ``write_atomic``'s, so a killed process's leftover is cleaned up by the next writer);
    after the import commits, ``install`` renames it into place under the JSONL lock and records
    it as the database's complete, canonical file. The bytes are those ``_stream_new_file``
    would write (the caller only passes lines ``jsonl.is_canonical_line`` vouches for).
    """

    def __init__(self, path: str) -> None:
        import hashlib

        self.path = path
        self.tmp = f"{path}.tmp.{os.getpid()}"
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        try:
            self.fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise SyncError(f"cannot write {path}: {exc.strerror or exc}")
        self.sha = hashlib.sha256()
        self.size = 0

    def write_lines(self, lines: list[tuple[str, str]]) -> None:
        """Append ``(issue id, line)`` pairs (lines without their newline), in ID order."""
        data = "".join([line + "\n" for _, line in lines]).encode("utf-8")
        self.sha.update(data)
        try:
            fileio.write_all(self.fd, data)
        except OSError as exc:
            self.discard()
            raise SyncError(f"cannot write {self.path}: {exc.strerror or exc}")
        self.size += len(data)

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            try:
                os.unlink(self.tmp)
            except OSError:
                pass

    def install(self, store: SqliteStore, *, drop_digests: list[str] | None = None) -> bool:
        """Put the file in place if the workspace still has none (else discard it: the caller then
        leaves dirty marks for the usual flush); True when installed. The caller recorded the
        line digests of the lines written; ``drop_digests`` are IDs with a digest but no line."""
        with FileLock(os.path.dirname(os.path.abspath(self.path))):
            if self.fd < 0 or os.path.lexists(self.path):
                self.discard()
                return False
            try:
                os.fsync(self.fd)
                os.close(self.fd)
                self.fd = -1
                os.replace(self.tmp, self.path)
                dfd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
                try:
                    os.fsync(dfd)  # the rename itself survives a crash
                finally:
                    os.close(dfd)
                st = os.stat(self.path)
            except OSError as exc:
                self.discard()
                raise SyncError(f"cannot write {self.path}: {exc.strerror or exc}")
            with store.transaction():
                # every line is the canonical line of an issue the import just created from it
                record_file_state(store, None, st, None if self.size else [], digest=self.sha.hexdigest(),
                                  canonical=self.size > 0, complete=True, written=True)
                if drop_digests:
                    store.drop_line_digests(drop_digests)
        return True


def confirm_unchanged(store: SqliteStore, st: os.stat_result, meta: dict[str, str] | None = None) -> bool:
    """The file was touched but its bytes are the ones recorded: move the recorded stat (and the
    claims tied to it) to the new stat. Returns whether the file was known to be complete."""
    if meta is None:
        meta = store.get_metadata_many([KEY_STAT, KEY_CANONICAL, KEY_COMPLETE, KEY_WRITTEN])
    old, new = meta.get(KEY_STAT) or "", fingerprint(st)
    values = {KEY_STAT: new}
    for key in (KEY_CANONICAL, KEY_COMPLETE, KEY_WRITTEN):
        if old and meta.get(key) == old:
            values[key] = new
    with store.transaction():
        store.set_metadata_many(values)
    return values.get(KEY_COMPLETE) == new


def _changes(store: SqliteStore) -> tuple[dict[str, str], dict[str, str | None]]:
    """The dirty marks and, for each marked issue, its new line (None: the line goes)."""
    with store.read_snapshot():
        marks = store.dirty_marks()
        records = jsonl.export_records(store, marks)
    changes: dict[str, str | None] = dict.fromkeys(marks)
    for rec in records:
        changes[rec["id"]] = jsonl.issue_line(rec)
    return marks, changes


def _record_changed_lines(store: SqliteStore, changes: dict[str, str | None]) -> None:
    """The line digests of a flush that replaced these lines (None: the line went)."""
    from beads.sync import linescan

    store.set_line_digests({i: linescan.text_digest(line) for i, line in changes.items() if line is not None})
    gone = [i for i, line in changes.items() if line is None]
    if gone:
        store.drop_line_digests(gone)


def _splice_flush(tracker: Tracker, path: str, fp: str, known: str | None, *, complete: bool) -> bool | None:
    """Incremental flush of a file known to be canonical and unchanged since we recorded it.

    The dirty lines are located by binary search over the file (a few blocks read); the new file is then assembled from the old one's kept ranges, copied by the
    kernel, and the new lines between them, over a spare copy of an earlier version where
    one is safe to use, skipping what it already holds in place (``sync/spare.py``). No
    parse, no scan, no hash, nothing of the file's size held in memory. The file's hash is
    recorded as unknown: the recorded stat is what later commands trust, and if that ever
    changes the file is compared by importing it (see ``record_file_state``). Returns None
    (nothing done) when the file turns out not to be the recorded one.
    """
    from beads.sync import spare

    store = tracker.store
    _remove_stale_temps(path)
    marks, changes = _changes(store)
    if any('"' in i or "\\" in i for i in changes):
        return None  # such an ID cannot be binary-searched: the general path handles it
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        now = os.fstat(fd)
        if fingerprint(now) != fp or now.st_size == 0:
            return None
        pieces, differs = jsonl.splice(spare.FileView(fd, now.st_size), changes)
        st, spare_map = now, None
        if differs:  # written over the spare copy of the version before (sync/spare.py)
            st, spare_map = spare.write(path, fd, now, pieces, store.get_metadata(KEY_SPARE_MAP) or "")
    finally:
        os.close(fd)
    with store.transaction():
        if spare_map is not None:
            store.set_metadata_many({KEY_SPARE_MAP: spare_map})
        store.clear_dirty_marks(marks)
        record_file_state(store, None, st, digest=(known or "") if not differs else "", canonical=True, complete=complete,
                          written=True)
        _record_changed_lines(store, changes)
    return differs


def _incremental_flush(tracker: Tracker, path: str, data: bytes, *, in_order: bool, complete: bool = False) -> bool:
    """Replace (or drop) the lines of dirty issues; every other line is kept byte for byte."""
    store = tracker.store
    _remove_stale_temps(path)
    marks, changes = _changes(store)
    new_data = jsonl.replace_lines(data, changes, in_order=in_order)
    ids: list[str] | None = None
    canonical: bool | None = None
    if new_data is None:  # a file some other tool wrote: take it apart the slow way
        lines = dict(jsonl.split_lines(jsonl.decode(data, path), path))
        for issue_id, line in changes.items():
            if line is None:
                lines.pop(issue_id, None)
            else:
                lines[issue_id] = line
        ids = sorted(lines)
        new_data = "".join(lines[i] + "\n" for i in ids).encode("utf-8")
    else:  # updated in place: still in order, and canonical if all changed IDs are plain
        canonical = not any('"' in i or "\\" in i for i in changes)
    st = write_atomic(path, new_data) if new_data != data else os.stat(path)
    with store.transaction():
        store.clear_dirty_marks(marks)
        record_file_state(store, new_data, st, ids, canonical=canonical, complete=complete, written=True)
        _record_changed_lines(store, changes)
        if ids is None:  # updated in place: still in order
            store.set_metadata_many({KEY_IN_ORDER: "1"})
    return new_data != data


def _import_changed(tracker: Tracker, path: str) -> str:
    """The file changed behind our back: merge it in before writing over it. Returns the
    recorded ``KEY_IN_ORDER`` of the file just read."""
    from beads.sync import importer

    try:
        importer.absorb_file(tracker, path, skip_prefix_validation=True, mark_dirty=False)
    except CorruptJSONL as exc:
        raise SyncError(f"{os.path.basename(path)} was not updated (the change is saved in the database): "
                        f"{exc.message}")
    return tracker.store.get_metadata(KEY_IN_ORDER) or ""


def flush_quietly(tracker: Tracker, warn: Any) -> bool:
    """``flush`` for the end of a command: a failure becomes one warning, never an error."""
    try:
        return flush(tracker)
    except BdError as exc:
        warn(f"auto-flush failed: {exc.message}")
        if exc.hint:
            warn(exc.hint)
        return False
