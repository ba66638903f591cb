"""The ``bd merge`` driver's fast path: a streaming merge-join of three sorted JSONL files.

Git calls the driver on the whole ``issues.jsonl`` when both sides changed it, which at
100,000 issues means three 55 MB files in which a handful of lines differ. Parsing every
line (and merging every field of every issue) took 49 s and 1.2 GB. Our files are sorted
by id and written canonically (``jsonl.issue_line``), so the three files are read side by
side in bounded buffers and merged id by id:

* a stretch of lines byte-identical at the heads of all three files is copied to the
  output as it is, checked only for the canonical prefix ``{"id":"…"``, strictly
  increasing ids and no carriage return (a few C-level scans, no JSON parsing);
* every other id (changed on one side or both, added, deleted) has its versions parsed,
  validated by ``model.record_problem`` like any other read, and merged by
  ``merge.merge_issue``, exactly as the in-memory path does it.

Anything this path cannot reproduce byte for byte raises ``Unstreamable`` and the caller
falls back to the in-memory merge (``merge.merge_in_memory``): a line without the
canonical prefix or with a carriage return, ids out of order or duplicated, an id that two
clones gave to different issues (the renames need every record), a parsed id that is not
the one in the prefix. The one deliberate difference: a line identical in all three
versions is kept byte for byte and is not validated (the in-memory path re-renders it,
and puts an invalid one between conflict markers); no side changed it, and the import
that follows a merge validates every record anyway (docs/SYNC.md, "Big files").
"""

from __future__ import annotations

import re

from beads import fileio
from beads.sync.merge import DEFAULT_TOMBSTONE_TTL_NS, Problem, collides, format_line, merge_issue, parse_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from beads import model
    from beads.sync.merge import Record

CHUNK = 1 << 20  # bytes read per refill: memory stays at a few of these per side
_HEAD = b'{"id":"'
# One item per line start (the newline before it): the line's id, or b"" when the line does not
# start with the canonical ``{"id":"<id>"`` (one scan finds both the ids and the lines).
_IDS = re.compile(rb'\n(?:\{"id":"([^"\\\n]+)"|)')


class Unstreamable(Exception):
    """The inputs need the in-memory merge (unsorted, not canonical, or colliding ids)."""


class _Side:
    """One input read through a bounded buffer; ``buf[pos - 1]`` is always a newline."""

    __slots__ = ("name", "fh", "buf", "pos", "eof", "line_no", "last")

    def __init__(self, name: str, fh: BinaryIO | None) -> None:
        self.name = name
        self.fh = fh
        self.buf: bytes | bytearray = b"\n"
        self.pos = 1
        self.eof = fh is None
        self.line_no = 0  # lines consumed so far
        self.last = b""  # the id of the last line consumed (ids must increase strictly)

    def fill(self, want: int = CHUNK) -> None:
        """Buffer at least ``want`` bytes past ``pos`` (or all that is left)."""
        while not self.eof and len(self.buf) - self.pos < want:
            self.read_more()

    def read_more(self) -> None:
        """Read a CHUNK more into a new buffer that starts with the unconsumed rest of this one.

        The file is read straight into the new buffer (no second copy); a buffer is never
        changed once in use, so the output may keep views of it.
        """
        assert self.fh is not None
        start = self.pos - 1  # keep the newline before pos
        rest = len(self.buf) - start
        buf = bytearray(rest + CHUNK)
        buf[:rest] = memoryview(self.buf)[start:]
        with memoryview(buf) as view:
            n = self.fh.readinto(view[rest:])  # type: ignore[attr-defined]  # (typing.BinaryIO omits it)
        del buf[rest + n:]
        if not n:
            self.eof = True
            if not buf.endswith(b"\n"):
                buf += b"\n"  # a last line without a newline is still a line
        self.buf = buf
        self.pos = 1

    def line_end(self) -> int:
        """Offset of the newline ending the line at ``pos`` (reading on until it is buffered)."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0 or self.eof:
                return end
            self.read_more()

    def complete(self) -> int:
        """Bytes of whole lines buffered past ``pos``."""
        return self.buf.rfind(b"\n", self.pos - 1) + 1 - self.pos

    def key(self) -> bytes | None:
        """The id of the next non-blank line (None at the end); blank lines are skipped."""
        while True:
            self.fill(CHUNK // 2)
            if self.pos >= len(self.buf):
                return None
            end = self.line_end()
            line = self.buf[self.pos:end]
            if line.strip():
                break
            self.pos = end + 1
            self.line_no += 1
        key = line_key(line)
        if key is None or key <= self.last:
            raise Unstreamable(f"{self.name}:{self.line_no + 1}: not a canonical line in id order")
        return key

    def take(self, key: bytes) -> bytes:
        """Consume the next line (whose id ``key`` returned) and return it without its newline."""
        end = self.buf.find(b"\n", self.pos)
        line = bytes(self.buf[self.pos:end])
        self.pos = end + 1
        self.line_no += 1
        self.last = key
        return line


def line_key(line: bytes | bytearray) -> bytes | None:
    """The id of a line that starts canonically (``{"id":"<id>"``, no escape in the id), or None.

    A carriage return (a CRLF file: never ours, JSON escapes it in strings) makes the whole
    merge take the in-memory path, which normalises every line, rather than keep some.
    """
    if line.startswith(_HEAD) and b"\r" not in line:
        end = line.find(b'"', 7)
        if end > 7 and b"\\" not in line[7:end]:
            return bytes(line[7:end])
    return None


class _Output:
    """The merged bytes, handed to ``sink`` a megabyte at a time (long identical stretches directly)."""

    __slots__ = ("sink", "parts", "size")

    def __init__(self, sink: Callable[[bytes | memoryview], object]) -> None:
        self.sink = sink
        self.parts: list[bytes | memoryview] = []
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        if len(data) >= CHUNK // 2:  # a long stretch of identical lines: straight out, no copy
            self.flush()
            self.sink(data)
            return
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.sink(b"".join(self.parts))
            self.parts, self.size = [], 0


class StreamMerge:
    """One merge of three sorted JSONL streams; ``run`` writes the merged file to a descriptor.

    After ``run``: ``left_problems``/``right_problems`` (lines never merged as issues, in
    line order) and ``base_problems`` (bad base lines met, warnings), as ``merge_bytes``.
    """

    def __init__(self, base: BinaryIO | None, left: BinaryIO, right: BinaryIO, *, now_ns: int,
                 vocab: model.Vocab | Callable[[], model.Vocab | None] | None = None) -> None:
        self.base, self.left, self.right = _Side("base", base), _Side("left", left), _Side("right", right)
        self.now_ns = now_ns
        self.vocab = vocab
        self.left_problems: list[Problem] = []
        self.right_problems: list[Problem] = []
        self.base_problems: list[Problem] = []

    def run(self, sink: Callable[[bytes | memoryview], object]) -> None:
        """Merge, handing the output bytes to ``sink`` in order (the buffers are never reused)."""
        from beads.sync.jsonl import NoGC

        out = _Output(sink)
        with NoGC():  # the records parsed here are acyclic
            while True:
                for side in (self.base, self.left, self.right):
                    side.fill()
                n = self._common_run()
                if n:
                    self._copy_run(n, out)
                elif not self._step(out):
                    break
            problems = self.left_problems + self.right_problems
            if problems:
                block = ["<<<<<<< bd merge: lines that could not be merged", *(p.text for p in problems),
                         ">>>>>>> bd merge"]
                out.write("".join(line + "\n" for line in block).encode("utf-8", "surrogateescape"))
        out.flush()

    # -- identical stretches ----------------------------------------------------------------

    def _common_run(self) -> int:
        """Bytes of whole lines identical at the heads of all three buffers (0 when none)."""
        b, lft, r = self.base, self.left, self.right
        avail = min(b.complete(), lft.complete(), r.complete())
        if avail <= 0:
            return 0
        view = memoryview(lft.buf)
        first = lft.buf.find(b"\n", lft.pos) + 1  # one line first: cheap when the heads differ
        head = view[lft.pos:first]
        if not (b.buf.startswith(head, b.pos) and r.buf.startswith(head, r.pos)):
            return 0
        lo, hi = first - lft.pos, avail  # the first ``lo`` bytes are common; find the largest such ``lo``
        mid = hi  # try everything first: most of the time it is all the same
        while lo < hi:
            head = view[lft.pos + lo:lft.pos + mid]
            if b.buf.startswith(head, b.pos + lo) and r.buf.startswith(head, r.pos + lo):
                lo = mid
            else:
                hi = mid - 1
            mid = (lo + hi + 1) // 2
        if lo == avail:
            return avail  # ends at a line end: the shortest buffer holds only whole lines
        return lft.buf.rfind(b"\n", lft.pos, lft.pos + lo) + 1 - lft.pos if lo else 0

    def _copy_run(self, n: int, out: _Output) -> None:
        """Copy ``n`` identical bytes of whole lines, after checking they are canonical and in order."""
        sides = (self.base, self.left, self.right)
        lft = self.left
        start, end = lft.pos, lft.pos + n
        ids = _IDS.findall(lft.buf, start - 1, end - 1)  # b"" (smallest) fails the order check below
        lines = len(ids)
        if (ids[0] <= max(s.last for s in sides) or not all(map(bytes.__lt__, ids, ids[1:]))
                or lft.buf.find(b"\r", start, end) >= 0):
            # not a plain run (a blank or foreign line, ids out of order, a CR): id by id instead
            target = lft.line_no + lines
            while lft.line_no < target:
                self._step(out)
            return
        out.write(memoryview(lft.buf)[start:end])
        for side in sides:
            side.pos += n
            side.line_no += lines
            side.last = ids[-1]

    # -- one id at a time ---------------------------------------------------------------------

    def _step(self, out: _Output) -> bool:
        """Merge the smallest id at the heads of the three files; False when all are at the end."""
        sides = (self.base, self.left, self.right)
        keys = [s.key() for s in sides]
        present = [k for k in keys if k is not None]
        if not present:
            return False
        key = min(present)
        lines = [s.take(key) if k == key else None for s, k in zip(sides, keys, strict=True)]
        bl, ll, rl = lines
        if bl is not None and bl == ll == rl:
            out.write(bl + b"\n")
            return True
        record = self._merge_one(key, lines)
        if record is not None:
            out.write((format_line(record) + "\n").encode("utf-8", "surrogateescape"))
        return True

    def _merge_one(self, key: bytes, lines: list[bytes | None]) -> Record | None:
        """Parse, validate and merge one id's versions (those that are present)."""
        vocab = self.vocab() if callable(self.vocab) else self.vocab
        self.vocab = vocab  # read once, when the first record needs validating
        parsed: list[Record | None] = []
        for side, line, problems in zip((self.base, self.left, self.right), lines,
                                        (self.base_problems, self.left_problems, self.right_problems), strict=True):
            value = None if line is None else parse_line(line, side.name, side.line_no, vocab)
            if isinstance(value, Problem):
                problems.append(value)
                value = None
            elif value is not None and value.get("id") != key.decode("utf-8", "surrogateescape"):
                raise Unstreamable(f"{side.name}:{side.line_no}: the id is not the line's first key")
            parsed.append(value)
        base, left, right = parsed
        if left is not None and right is not None and collides(left, right):
            raise Unstreamable(f"{key!r} is a different issue on each side")  # renames need every record
        return merge_issue(base, left, right, now_ns=self.now_ns, ttl_ns=DEFAULT_TOMBSTONE_TTL_NS)


def merge_streams(output: str, base: str, left: str, right: str, *, now_ns: int,
                  vocab: model.Vocab | Callable[[], model.Vocab | None] | None = None) -> StreamMerge:
    """Merge three JSONL files into ``output`` through a temp file and a rename (see the module).

    Raises ``Unstreamable`` (``output`` untouched) when the in-memory merge must do it, and
    ``OSError`` as ``merge.merge_files``. A missing ``base`` is an empty one.
    """
    try:
        base_fh: Any = fileio.open_regular(base)
    except FileNotFoundError:
        base_fh = None
    try:
        with fileio.open_regular(left) as left_fh, fileio.open_regular(right) as right_fh:
            merge = StreamMerge(base_fh, left_fh, right_fh, now_ns=now_ns, vocab=vocab)
            # not fsynced: git reads the result at once and stores it as an object (its own
            # durability); a crash before that loses the merge, not data
            fileio.write_atomic(output, lambda fd: merge.run(lambda data: fileio.write_all(fd, data)), durable=False)
    finally:
        if base_fh is not None:
            base_fh.close()
    return merge


def merge_buffers(base: bytes, left: bytes, right: bytes, *, now_ns: int,
                  vocab: model.Vocab | None = None) -> tuple[bytes, StreamMerge]:
    """``merge_streams`` for texts already in memory (``bd sync``'s git stages): the merged bytes.

    Raises ``Unstreamable`` as ``merge_streams``.
    """
    import io

    merge = StreamMerge(io.BytesIO(base) if base else None, io.BytesIO(left), io.BytesIO(right), now_ns=now_ns,
                        vocab=vocab)
    parts: list[bytes | memoryview] = []
    merge.run(parts.append)
    return b"".join(parts), merge
