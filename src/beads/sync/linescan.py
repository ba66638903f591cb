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

from beads import fileio, model
from beads.errors import CorruptJSONL, SyncError
from beads.sync import jsonl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
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


def scan_file(path: str, vocab: model.Vocab | None, known: dict[bytes, str]) -> Scan | None:
    """Read ``path`` and parse the lines whose digest is not in ``known`` (digest → the issue ID
    it was recorded for; a line holds its ID, so equal bytes are that issue's line); None if
    the file is absent.

    Raises ``CorruptJSONL`` like ``jsonl.parse_jsonl`` (conflict markers first, then the first
    bad line) and ``SyncError`` when the file cannot be read. ``stat`` is that of exactly the
    bytes read (None when the file kept changing while it was read).
    """
    for _ in range(5):
        try:
            with fileio.open_regular(path) as fh:  # a FIFO or directory: refused, never waited on
                before = os.fstat(fh.fileno())
                scan = _scan(_blocks(fh), path, vocab, known)
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
        return scan_file(path, vocab, {})
    return scan


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ino, a.st_ctime_ns) == (b.st_size, b.st_mtime_ns, b.st_ino, b.st_ctime_ns)


def _blocks(fh: Any) -> Iterator[bytes]:
    while True:
        block = fh.read(_BLOCK)
        if not block:
            return
        yield block


def _scan(blocks: Iterable[bytes], name: str, vocab: model.Vocab | None, known: dict[bytes, str]) -> Scan:
    scan = Scan()
    sha = _SHA256()
    bad = _Lines(scan, name, vocab)
    ids, sha256, head, lookup = scan.ids, _SHA256, _HEAD, known.get
    rest = b""
    number = 0
    with jsonl.NoGC():  # a bulk of acyclic dicts: nothing for the collector
        for block in blocks:
            sha.update(block)
            scan.size += len(block)
            lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
            rest = lines.pop()
            for line in lines:  # the hot loop: a known line costs one hash and one lookup
                number += 1
                if line.startswith(head):
                    issue_id = lookup(sha256(line).digest())
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
    scan.sha256 = sha.hexdigest()
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
