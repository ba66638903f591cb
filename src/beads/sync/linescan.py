"""Reading a JSONL file while skipping the lines this database has already absorbed.

Every path that writes the workspace's ``issues.jsonl`` records, per issue, a digest of the
line it wrote, and every import records the digest of each line it took in (table
``export_hashes``; see docs/PERFORMANCE.md, "Line digests"). A line whose digest is the one
recorded for its issue brings nothing when imported again: it is our own copy, or one already
merged, and the local issue can only have moved on since (the import is newer-wins, so a copy
that was not newer then is not newer now). So after a ``git pull``, a ``git checkout``, a
``touch`` or a copy of the file, only the lines that differ are decoded, validated and
merged: an unchanged 100,000-issue file costs one read and a hash per line instead of a full
import, and a pull that brought three changed lines imports three records.

The file is read in blocks, so its size is never held in memory twice; the whole file's
SHA-256 is computed on the way (the recorded ``jsonl_content_hash``).
"""

from __future__ import annotations

import hashlib
import os
from itertools import repeat

from beads import fileio, model
from beads.errors import CorruptJSONL, SyncError
from beads.sync import jsonl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

_BLOCK = 1 << 20
_HEAD = b'{"id":"'
_SHA256 = hashlib.sha256


def digest(line: bytes) -> bytes:
    """The recorded digest of one line (its bytes without the newline): SHA-256."""
    return _SHA256(line).digest()


def text_digest(line: str) -> bytes:
    return _SHA256(line.encode("utf-8")).digest()


def data_digests(data: bytes) -> dict[str, bytes]:
    """id → digest for every canonical line of a file's bytes (what a full write records)."""
    out: dict[str, bytes] = {}
    for line in data.split(b"\n"):
        issue_id = line_id(line)
        if issue_id is not None:
            out[issue_id] = _SHA256(line).digest()
    return out


def text_digests(text: str) -> Iterator[tuple[str, bytes]]:
    """(id, digest) for every canonical line of some JSONL text."""
    for line in text.split("\n"):
        if line:
            raw = line.encode("utf-8")
            issue_id = line_id(raw)
            if issue_id is not None:
                yield issue_id, _SHA256(raw).digest()


def line_id(line: bytes) -> str | None:
    """The ID of a line we write (``{"id":"<id>",...}``, no escapes in the ID), else None."""
    if not line.startswith(_HEAD):
        return None
    end = line.find(b'"', 7)
    if end <= 7 or b"\\" in line[7:end]:
        return None
    try:
        return line[7:end].decode("utf-8")
    except UnicodeDecodeError:
        return None


def file_ids(data: bytes) -> list[str] | None:
    """The IDs of a file's lines when every line is one we could have written (None otherwise:
    the caller parses the file), without decoding a line."""
    out: list[str] = []
    for line in data.split(b"\n"):
        issue_id = line_id(line)
        if issue_id is None:
            if line.strip():
                return None
            continue
        out.append(issue_id)
    return out


def digest_map(data: bytes) -> dict[bytes, str]:
    """digest → ID for every canonical line of a file's bytes (``scan_file``'s ``known``)."""
    out: dict[bytes, str] = {}
    for line in data.split(b"\n"):
        issue_id = line_id(line)
        if issue_id is not None:
            out[_SHA256(line).digest()] = issue_id
    return out


class Scan:
    """What ``scan_file`` found: the records to merge and what the file state needs."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []  # the lines that must be merged, parsed and validated
        self.digests: dict[str, bytes] = {}  # their IDs (as in the file) → line digest
        self.ids: list[str] = []  # every line's ID, in file order
        self.skipped = 0  # lines whose digest was already recorded
        self.sha256 = ""
        self.canonical = True  # every line starts {"id":" and the file ends with a newline
        self.size = 0
        self.stat: os.stat_result | None = None


def scan_file(path: str, vocab: model.Vocab | None, known: dict[bytes, str], *, whole_hash: bool = True) -> Scan | None:
    """Read ``path`` and parse the lines whose digest is not in ``known`` (digest → the issue ID
    it was recorded for; a line holds its ID, so equal bytes are that issue's line); None if
    the file is absent. ``whole_hash``: compute the file's SHA-256 (``Scan.sha256``; a caller
    that does not record the file's state skips it).

    Raises ``CorruptJSONL`` like ``jsonl.parse_jsonl`` (conflict markers first, then the first
    bad line) and ``SyncError`` when the file cannot be read. ``stat`` is that of exactly the
    bytes read (None when the file kept changing while it was read).
    """
    for _ in range(5):
        try:
            with fileio.open_regular(path) as fh:  # a FIFO or directory: refused, never waited on
                before = os.fstat(fh.fileno())
                scan = _scan(_blocks(fh), path, vocab, known, whole_hash)
                after = os.fstat(fh.fileno())
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SyncError(f"cannot read {path}: {exc.strerror or exc}")
        if _same(before, after):
            scan.stat = after
            break
    if scan.skipped and len(set(scan.ids)) != len(scan.ids):
        # An ID on two lines: the importer must see both to keep the newer one. Rare: no skipping.
        return scan_file(path, vocab, {}, whole_hash=whole_hash)
    return scan


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ino, a.st_ctime_ns) == (b.st_size, b.st_mtime_ns, b.st_ino, b.st_ctime_ns)


def _blocks(fh: Any) -> Iterator[bytes]:
    while True:
        block = fh.read(_BLOCK)
        if not block:
            return
        yield block


_DIGEST = type(_SHA256()).digest  # the unbound method: map() calls it without a Python frame


def _scan(blocks: Iterable[bytes], name: str, vocab: model.Vocab | None, known: dict[bytes, str],
          whole_hash: bool = True) -> Scan:
    scan = Scan()
    sha = _SHA256() if whole_hash else None
    bad = _Lines(scan, name, vocab)
    ids, sha256, head, lookup, digest_of = scan.ids, _SHA256, _HEAD, known.get, _DIGEST
    rest = b""
    number = 0
    with jsonl.NoGC():  # a bulk of acyclic dicts: nothing for the collector
        for block in blocks:
            if sha is not None:
                sha.update(block)
            scan.size += len(block)
            lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
            rest = lines.pop()
            # The hot path, without a Python frame per line: every line's digest looked up at
            # once; a block of known lines that all start like ours costs three C-level passes.
            found = list(map(lookup, map(digest_of, map(sha256, lines)))) if known else [None] * len(lines)
            if None not in found and all(map(bytes.startswith, lines, repeat(head))):
                ids.extend(found)  # type: ignore[arg-type]  # no None in it
                number += len(lines)
                continue
            for line, issue_id in zip(lines, found, strict=True):
                number += 1
                if line.startswith(head):
                    if issue_id is not None:
                        ids.append(issue_id)
                        continue
                else:
                    scan.canonical = False
                bad.take(line, number)
        if rest:
            scan.canonical = False  # no newline at the end
            bad.take(rest, number + 1)
    if bad.error is not None:
        raise bad.error
    scan.skipped = len(ids) - len(scan.records)
    scan.sha256 = sha.hexdigest() if sha is not None else ""
    scan.canonical = scan.canonical and scan.size > 0
    return scan


class _Lines:
    """The lines that are not known: parsed and validated. The first bad line is remembered and
    raised once the whole file was checked for conflict markers (reported first, as
    ``parse_jsonl`` does)."""

    def __init__(self, scan: Scan, name: str, vocab: model.Vocab | None) -> None:
        self.scan = scan
        self.name = name
        self.vocab = vocab
        self.error: CorruptJSONL | None = None

    def take(self, line: bytes, number: int) -> None:
        if not line or line.isspace():
            return
        if line.lstrip()[:1] in (b"<", b"=", b">") and jsonl.conflict_marker(line.decode("utf-8", "replace")):
            raise jsonl.conflict_error(self.name, number)
        if self.error is not None:
            return  # the file is refused anyway: only conflict markers are still looked for
        try:
            rec = jsonl.parse_line(_text(line, number, self.name), number, self.name, self.vocab)
        except CorruptJSONL as exc:
            self.error = exc
            return
        scan = self.scan
        scan.ids.append(rec["id"])
        scan.digests[rec["id"]] = _SHA256(line).digest()
        scan.records.append(rec)


def _text(line: bytes, number: int, name: str) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptJSONL(f"{name}: line {number}: invalid UTF-8 ({exc.reason})")


# -- a file compared with the one this database wrote -------------------------------------------

_MAX_UNMATCHED = 2000  # lines of the file not found in ours before the digest path is cheaper


def scan_against(path: str, vocab: model.Vocab | None, ours: str,
                 trusted: Callable[[os.stat_result], bool]) -> Scan | None:
    """Like ``scan_file`` for a file that is not the workspace's JSONL, skipping every line that
    is byte for byte a line of ``ours``: the workspace's JSONL, which the caller knows to be the
    very file this database last wrote (sorted by ID, every line one an import of it would find
    not newer, no hard delete pending), as ``trusted`` confirms for the stat of the copy opened.
    While it is open no flush writes over it (``sync/spare.py`` reuses a file open nowhere).
    Such a line brings nothing, like a line whose digest is recorded, and no digest has to be
    loaded or computed for it.

    The two files are compared a block at a time (a copy or an older version of ours is mostly
    equal blocks at shifted offsets); where a block differs, line by line, stepping over the
    lines ours has and the file lacks by their sorted IDs. Both are read with ``pread`` into
    small buffers (an ``mmap`` would count every page of ours in the resident set).
    ``Scan.ids`` is not filled and ``Scan.sha256`` is not computed (the caller records no state
    for this file). None when this does not pay (the file is ours, or empty, or too different:
    more than ``_MAX_UNMATCHED`` lines to parse) or when an ID is both on a line that matched
    and on a parsed one: the caller then uses ``scan_file``.
    """
    try:
        with fileio.open_regular(ours) as mine, fileio.open_regular(path) as fh:
            st_mine, before = os.fstat(mine.fileno()), os.fstat(fh.fileno())
            if (st_mine.st_dev, st_mine.st_ino) == (before.st_dev, before.st_ino) or not st_mine.st_size \
                    or not trusted(st_mine):
                return None
            view = _Ours(mine.fileno(), st_mine.st_size)
            scan = _compare(_blocks(fh), path, vocab, view)
            if scan is None or _matched_twice(view, scan):
                return None
            after = os.fstat(fh.fileno())
    except FileNotFoundError:
        return None
    except OSError:
        return None  # the general path reads it again and reports what is wrong
    scan.stat = after if _same(before, after) else None
    return scan


class _Ours:
    """The lines of our file, read forward through a window (and by binary search)."""

    WINDOW = 1 << 16

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.pos = 0  # the next line of ours expected to match
        self.matched: list[tuple[int, int]] = []  # byte ranges of ours equal to lines of the file
        self.base, self.buf = 0, b""

    def same(self, data: bytes) -> bool:
        """Whether ours holds ``data`` at ``pos`` (then ``pos`` moves past it)."""
        if os.pread(self.fd, len(data), self.pos) != data:
            return False
        self.matched.append((self.pos, self.pos + len(data)))
        self.pos += len(data)
        return True

    def line_at(self, pos: int) -> bytes:
        """The line of ours starting at ``pos``, without its newline."""
        need = 4096
        while True:
            off = pos - self.base
            if off < 0 or off + need > len(self.buf) and self.base + len(self.buf) < self.size:
                self.base, self.buf = pos, os.pread(self.fd, max(need, self.WINDOW), pos)
                off = 0
            end = self.buf.find(b"\n", off)
            if end >= 0:
                return self.buf[off:end]
            if self.base + len(self.buf) >= self.size:
                return self.buf[off:]
            need = len(self.buf) - off + self.WINDOW

    def match(self, line: bytes) -> bool:
        """Whether ``line`` (no newline) is ours at ``pos``, after stepping over the lines of
        ours whose IDs sort before it (ours has them, the file does not)."""
        pos = self.pos
        head = None
        if line.startswith(_HEAD):
            quote = line.find(b'"', 7)
            head = line[7:quote] if quote > 7 else None
        while pos < self.size:
            mine = self.line_at(pos)
            after = pos + len(mine) + 1
            if mine == line:
                self.matched.append((pos, after))
                self.pos = after
                return True
            if head is None or not mine.startswith(_HEAD):
                return False
            quote = mine.find(b'"', 7)
            if quote < 0:
                return False
            theirs = mine[7:quote]
            if theirs > head:
                return False  # the file has a line ours lacks
            pos = after  # ours has a line the file lacks, or (same ID) another version of it
            if theirs == head:
                self.pos = pos
                return False
        return False

    def find(self, issue_id: bytes) -> int | None:
        """The offset of the line of ``issue_id`` (binary search: ours is sorted), or None."""
        lo, hi = 0, self.size
        while lo < hi:
            mid = (lo + hi) // 2
            start = max(mid - 4096, 0)
            while True:  # the start of the line holding byte ``mid``
                chunk = os.pread(self.fd, mid - start, start)
                nl = chunk.rfind(b"\n")
                if nl >= 0 or start == 0:
                    start = start + nl + 1
                    break
                start = max(start - 65536, 0)
            line = self.line_at(start)
            quote = line.find(b'"', 7)
            found = line[7:quote] if line.startswith(_HEAD) and quote > 7 else b""
            if found == issue_id:
                return start
            if found < issue_id:
                lo = start + len(line) + 1
            else:
                hi = start
        return None


def _compare(blocks: Iterable[bytes], name: str, vocab: model.Vocab | None, ours: _Ours) -> Scan | None:
    scan = Scan()
    bad = _Lines(scan, name, vocab)
    rest = b""
    number = skipped = unmatched = 0
    with jsonl.NoGC():
        for block in blocks:
            scan.size += len(block)
            buf = rest + block if rest else block
            cut = buf.rfind(b"\n") + 1
            whole, rest = buf[:cut], buf[cut:]
            if not whole:
                continue
            if ours.same(whole):  # the whole block equals ours here: no line looked at
                count = whole.count(b"\n")
                number += count
                skipped += count
                continue
            for line in whole[:-1].split(b"\n"):
                number += 1
                if ours.match(line):
                    skipped += 1
                    continue
                if not line.startswith(_HEAD):
                    scan.canonical = False
                unmatched += 1
                if unmatched > _MAX_UNMATCHED:
                    return None
                bad.take(line, number)
        if rest:
            scan.canonical = False
            bad.take(rest, number + 1)
    if bad.error is not None:
        raise bad.error
    scan.skipped = skipped
    scan.canonical = scan.canonical and scan.size > 0
    return scan


def _matched_twice(ours: _Ours, scan: Scan) -> bool:
    """Whether a parsed record's ID is also on a line that matched ours (an ID on two lines of
    the file: the importer must see both)."""
    if not scan.records:
        return False
    import bisect

    merged: list[tuple[int, int]] = []
    for a, b in ours.matched:
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    starts = [a for a, _ in merged]
    for rec in scan.records:
        at = ours.find(rec["id"].encode("utf-8"))
        if at is not None:
            i = bisect.bisect_right(starts, at) - 1
            if i >= 0 and at < merged[i][1]:
                return True
    return False
