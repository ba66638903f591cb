"""The splice flush's write: the next JSONL goes over a spare copy of an earlier version.

A splice (``export._splice_flush``) builds the new file from the old one's kept byte ranges
and the new lines. On 100,000 issues the file is 55 MB, and replacing it used to cost, besides
writing and fsyncing 55 MB, allocating the new file's blocks and freeing the old one's (~40 ms
when the last descriptor closes). Here:

* the version being replaced is kept as ``issues.jsonl.db-spare`` (ignored by the ``*.db?*``
  line of every ``.beads/.gitignore``), and the next flush writes over it instead of a new
  file (``fileio.replace_reusing``: only when nothing else can see it);
* each flush records how the file it wrote maps onto the spare it kept (the kept ranges and
  where they came from), tied to both files' fingerprints. The flush after it composes that
  map with its own splice: every byte range that lands at the offset the spare already holds
  it at is not written at all. A write that keeps line lengths (a priority, a status toggled
  back) then writes and fsyncs a few KB instead of 55 MB; one that shifts the tail still
  skips everything before its first change.

The new file's content never depends on the map being right by luck: the map is used only
when the spare's fingerprint (size, mtime, inode, ctime: any write changes ctime) is the one
recorded when it was the live file we had just replaced, so its bytes are those the map
describes; otherwise every byte is copied.
"""

from __future__ import annotations

import bisect
import json
import os

from beads import fileio
from beads.errors import SyncError

SPARE_SUFFIX = ".db-spare"
SPARE_IGNORE_LINE = "*.db?*"
SPARE_MIN_BYTES = 1 << 20  # below this, allocating and freeing cost nothing worth a second file
MAX_MAP_RANGES = 4096  # a flush of thousands of lines records no map (the next one copies all)

Pieces = list[tuple[int, int] | bytes]
Ranges = list[tuple[int, int, int]]  # (start, end, at): new[start:end] == spare[at:at + end - start]


def write(path: str, src: int, now: os.stat_result, pieces: Pieces, prior: str) -> tuple[os.stat_result, str]:
    """Replace ``path`` (open as ``src``, whose stat is ``now``) by ``pieces``; returns the new
    file's stat and the map to record for the next flush ("" when there is none)."""
    from beads.sync.export import fingerprint

    in_place = _usable_map(prior, fingerprint(now))
    keep = now.st_size >= SPARE_MIN_BYTES and _ignored_by_git(os.path.dirname(os.path.abspath(path)))
    spare = path + SPARE_SUFFIX

    def produce(dst: int, previous: os.stat_result | None) -> None:
        usable = previous is not None and in_place is not None and fingerprint(previous) == in_place[0]
        _assemble(src, dst, pieces, in_place[1] if usable and in_place is not None else [])

    try:
        st = fileio.replace_reusing(path, spare, produce, keep_spare=keep)
        kept = os.fstat(src)  # the replaced version, now the spare if it was kept
    except OSError as exc:
        raise SyncError(f"cannot write {path}: {exc.strerror or exc}")
    try:
        spare_st = os.lstat(spare)
    except OSError:
        return st, ""
    if (spare_st.st_dev, spare_st.st_ino) != (kept.st_dev, kept.st_ino):
        return st, ""
    ranges = _kept_ranges(pieces)
    if len(ranges) > MAX_MAP_RANGES:
        return st, ""
    return st, json.dumps({"live": fingerprint(st), "spare": fingerprint(spare_st), "ranges": ranges},
                          separators=(",", ":"))


def _usable_map(prior: str, live_fp: str) -> tuple[str, Ranges] | None:
    """(the spare's fingerprint, its ranges) if ``prior`` describes the file about to be replaced."""
    try:
        recorded = json.loads(prior) if prior else None
        if not isinstance(recorded, dict) or recorded.get("live") != live_fp:
            return None
        ranges = [(int(a), int(b), int(c)) for a, b, c in recorded["ranges"]]
        return str(recorded["spare"]), ranges
    except (ValueError, TypeError, KeyError):
        return None


def _kept_ranges(pieces: Pieces) -> Ranges:
    """Where the new file's bytes come from in the file it replaces (the next spare)."""
    out: Ranges = []
    at = 0
    for piece in pieces:
        if isinstance(piece, bytes):
            at += len(piece)
        else:
            out.append((at, at + piece[1] - piece[0], piece[0]))
            at += piece[1] - piece[0]
    return out


def _assemble(src: int, dst: int, pieces: Pieces, in_place: Ranges) -> None:
    """Write ``pieces`` into ``dst`` at their offsets, skipping what ``dst`` already holds there:
    ``in_place`` maps the source's ranges onto the bytes ``dst`` (the reused spare) holds."""
    starts = [r[0] for r in in_place]
    at = 0
    for piece in pieces:
        if isinstance(piece, bytes):
            fileio.write_all_at(dst, piece, at)
            at += len(piece)
            continue
        start, end = piece
        for lo, hi, held in _segments(start, end, in_place, starts):
            if held != at + lo - start:  # not already at this offset in the spare
                fileio.copy_range(src, dst, lo, hi, at + lo - start)
        at += end - start
    os.lseek(dst, at, os.SEEK_SET)  # the caller truncates the file here


def _segments(start: int, end: int, in_place: Ranges, starts: list[int]) -> list[tuple[int, int, int]]:
    """``[start, end)`` of the source cut into (lo, hi, offset of those bytes in the spare or -1)."""
    out: list[tuple[int, int, int]] = []
    pos = start
    i = max(bisect.bisect_right(starts, start) - 1, 0)
    while pos < end and i < len(in_place):
        a, b, c = in_place[i]
        if b <= pos:
            i += 1
            continue
        if a > pos:
            out.append((pos, min(a, end), -1))
            pos = min(a, end)
            continue
        hi = min(b, end)
        out.append((pos, hi, c + pos - a))
        pos = hi
        i += 1
    if pos < end:
        out.append((pos, end, -1))
    return out


class FileView:
    """As much of ``bytes`` as ``jsonl.splice`` uses (``len``, slices, ``find``/``rfind`` of one
    byte), read from a descriptor with ``pread`` in 4 KiB blocks.

    An ``mmap`` did this before, but a file whose page cache is held in large folios (a file
    written over in place keeps them) maps a whole folio per touched page: the ~20 probes of
    one binary search added 8 MB to the command's RSS, while these reads cost a few blocks.
    """

    BLOCK = 4096

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.blocks: dict[int, bytes] = {}

    def __len__(self) -> int:
        return self.size

    def _block(self, i: int) -> bytes:
        block = self.blocks.get(i)
        if block is None:
            block = self.blocks[i] = os.pread(self.fd, self.BLOCK, i * self.BLOCK)
        return block

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _ = key.indices(self.size)
        if stop <= start:
            return b""
        first = start // self.BLOCK
        data = b"".join(self._block(i) for i in range(first, (stop - 1) // self.BLOCK + 1))
        return data[start - first * self.BLOCK:stop - first * self.BLOCK]

    def find(self, sub: bytes, start: int = 0) -> int:
        assert len(sub) == 1  # a match never spans two blocks
        pos = max(start, 0)
        while pos < self.size:
            i = pos // self.BLOCK
            j = self._block(i).find(sub, pos - i * self.BLOCK)
            if j >= 0:
                return i * self.BLOCK + j
            pos = (i + 1) * self.BLOCK
        return -1

    def rfind(self, sub: bytes, start: int, end: int) -> int:
        assert len(sub) == 1
        pos, start = min(end, self.size), max(start, 0)
        while pos > start:
            i = (pos - 1) // self.BLOCK
            j = self._block(i).rfind(sub, max(start - i * self.BLOCK, 0), pos - i * self.BLOCK)
            if j >= 0:
                return i * self.BLOCK + j
            pos = i * self.BLOCK
        return -1


def _ignored_by_git(directory: str) -> bool:
    """Whether the directory's .gitignore has the line that hides the spare (``bd init`` writes it)."""
    try:
        with fileio.open_regular(os.path.join(directory, ".gitignore")) as fh:
            lines = fh.read(65536).decode("utf-8", "replace").splitlines()
    except OSError:
        return False
    return SPARE_IGNORE_LINE in (line.strip() for line in lines)

