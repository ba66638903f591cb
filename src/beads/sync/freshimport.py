"""``bd import`` of a big JSONL file into an empty database: streamed, a chunk at a time.

The general merge (``importer.import_records``) holds every parsed record until it commits,
so that one bad record refuses the whole file, and the flush after it reads every row back
to write ``issues.jsonl``: at 100,000 issues that was ~400 MB and half the time. Into an
empty database nothing needs merging (every record is created as it is), so here the file
is read, validated (``jsonl.parse_line``: ``model.record_problem`` for every record),
normalised and inserted a chunk of lines at a time, inside the one import transaction;
only IDs and a few small values are kept for the checks that need every record. A bad
record anywhere still refuses the whole file: the transaction is rolled back.

Whatever the general path treats specially (a bad or conflicted line, invalid UTF-8, a
duplicate ID, an ID with another prefix, an ``external_ref`` used twice, an orphan outside
``allow`` mode, a comment ID used twice) rolls this path back and hands the file to the
general path, which then does, and says, exactly what it always did. The database ends up
as the general path leaves it (a test compares them table by table).

The reading, parsing and validating, and the content hashes, run in a forked child process
(``_Reader``) that hands the parent ready records, a chunk at a time, over a pipe (``marshal``):
the parent only builds rows and inserts, so the two halves use both cores (without ``fork`` the
same work runs in-process). When the workspace has no ``issues.jsonl`` yet and every line read
is already the canonical line of its record (``jsonl.is_canonical_line``) in ID order, those
lines are written to the new file's temp file (``export.NewFile``) as they arrive and put in
place after the commit, instead of the flush rendering the file from the database.
"""

from __future__ import annotations

import marshal
import os

from beads import ids as idgen
from beads import model, timefmt
from beads.errors import BdError, Conflict, CorruptJSONL
from beads.sync import export, importer, jsonl, linescan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from beads.core.tracker import Tracker

    # (records, their content hashes, ID -> digest of its line, the new file's (ID, line) pairs or None)
    _Chunk = tuple[list[dict[str, Any]], list[str], dict[str, bytes], list[tuple[str, str]] | None]

MIN_BYTES = 1 << 20  # smaller files take the general path: its per-record work is cheap there
_BLOCK = 1 << 21  # bytes read at a time
_CHUNK = 1000  # records per chunk: what is in flight at once (one chunk in each process, one in the pipe)
# Page cache for the inserts and index builds (allocated as used; the index sorts spill beyond it):
# with the indexes dropped the inserts append, and 64 MiB saved little over this for 55 MB more
# memory at 100,000 issues.
_CACHE_KIB = 8 * 1024


class _Fallback(Exception):
    """This file needs the general path; the transaction is rolled back."""


def import_new(tracker: Tracker, path: str, *, dry_run: bool = False, skip_existing: bool = False,
               rename_on_import: bool = False, orphan_handling: str = "allow", skip_prefix_validation: bool = False,
               mark_dirty: bool = True) -> dict[str, Any] | None:
    """Import ``path`` into an empty database; the stats, or None when the general path must do it
    (the database is then as before). ``rename_on_import``, ``skip_existing`` and
    ``skip_prefix_validation`` change nothing for a file this path accepts (no other prefix, no
    existing issue)."""
    del skip_existing, rename_on_import, skip_prefix_validation
    store = tracker.store
    if dry_run or orphan_handling not in importer.ORPHAN_MODES or store.in_transaction() or not store.is_fresh_target():
        return None
    try:
        if os.stat(path).st_size < MIN_BYTES:
            return None
    except OSError:
        return None
    prefix = (store.get_config("issue_prefix") or "").strip()
    if not prefix:
        return None  # the general path detects it from the records
    allowed = [prefix] + [p.strip().rstrip("-") for p in (store.get_config("allowed_prefixes") or "").split(",")
                          if p.strip()]
    ws = tracker.workspace
    target = ws.jsonl_path if mark_dirty and ws is not None and not os.path.lexists(ws.jsonl_path) else None
    reader = _Reader.start(path, importer.vocab_of(tracker), target)
    load = _Load(tracker, tuple(p + "-" for p in allowed), orphan_handling)
    previous = store.set_cache_size(-_CACHE_KIB)
    store.set_foreign_keys(False)  # every label, edge, comment and event row follows its issue's insert
    try:
        try:
            with store.transaction(), jsonl.NoGC():
                load.run(reader.chunks(), mark_dirty=lambda: mark_dirty and not reader.writes_file())
        finally:
            store.set_foreign_keys(True)
            store.set_cache_size(previous)
    except BaseException as exc:
        reader.close()
        if isinstance(exc, _Fallback):
            return None
        raise
    try:
        installed = reader.new_file is None or reader.install(store, load.wisps)
    except BdError:  # committed: the import stands, and the usual flush writes the file (or says why not)
        installed = False
    if not installed:
        with store.transaction():  # the file cannot come from the lines read: the usual flush writes it
            store.mark_dirty(sorted(load.ids), load.now)
    reader.close()
    store.checkpoint()
    stats = importer.new_stats()
    stats.update(created=len(load.ids), expected_prefix=prefix, marked_dirty=len(load.ids) if mark_dirty else 0)
    return stats


class _Load:
    """One streamed load: the small state the whole-file checks need."""

    def __init__(self, tracker: Tracker, starts: tuple[str, ...], orphan_handling: str) -> None:
        self.store = tracker.store
        self.starts = starts
        self.strict_parents = orphan_handling != "allow"
        self.ids: dict[str, int] = {}  # issue ID -> its hierarchy depth (the creation order's key)
        self.wisps: list[str] = []
        self.refs: set[str] = set()
        self.parents: set[str] = set()
        self.late_comments: list[tuple[int, str, int, tuple[int | None, str, str, str, str]]] = []
        self.now = timefmt.now()

    def run(self, chunks: Iterator[tuple[list[dict[str, Any]], list[str], dict[str, bytes]]], *,
            mark_dirty: Callable[[], bool]) -> None:
        """Insert every chunk; then what needs them all. ``mark_dirty`` is asked once the file is
        read: whether the flush must write the issues (no new file came from the lines read)."""
        store = self.store
        if not store.is_fresh_target():
            raise _Fallback  # another process wrote in between
        ddl = store.drop_indexes_if_empty()
        for records, hashes, digests in chunks:
            for rec in records:
                self._note(rec)
            self._insert(records, hashes)
            store.set_line_digests(digests)  # every line taken in, as the general path records them
        if self.parents - self.ids.keys():
            raise _Fallback  # an orphan outside allow mode: skipped, refused or resurrected there
        if self.late_comments:
            self.late_comments.sort()
            store.insert_comments([row for *_, row in self.late_comments])
        # The general path inserts (and numbers) the events parents first, chunk after chunk.
        for level in sorted(set(self.ids.values())):
            order = sorted(i for i, d in self.ids.items() if d == level)
            for k in range(0, len(order), 10 * _CHUNK):
                store.add_events([(i, "created", importer.IMPORT_ACTOR, "imported", self.now)
                                  for i in order[k:k + 10 * _CHUNK]])
        store.restore_indexes(ddl)
        importer.bump_child_counters(store, self.ids)
        if mark_dirty():
            store.mark_dirty(sorted(self.ids), self.now)
        if self.ids:
            store.rebuild_blocked_cache()

    def _note(self, rec: dict[str, Any]) -> None:
        """The whole-file checks, on small values."""
        issue_id = rec["id"]
        if issue_id in self.ids or not issue_id.startswith(self.starts):
            raise _Fallback
        self.ids[issue_id] = idgen.hierarchy_depth(issue_id) if "." in issue_id else 0
        if rec.get("ephemeral") is True:
            self.wisps.append(issue_id)
        ref = rec.get("external_ref")
        if ref:
            if ref in self.refs:
                raise _Fallback
            self.refs.add(ref)
        if self.strict_parents:
            parent = idgen.parent_of(issue_id)
            if parent:
                self.parents.add(parent)

    def _insert(self, records: list[dict[str, Any]], hashes: list[str]) -> None:
        """Create one chunk's issues and relations, as ``recordmerge.RecordMerge`` creates new issues."""
        if not records:
            return
        store = self.store
        depth = self.ids
        pairs = sorted(zip(records, hashes, strict=True), key=lambda p: (depth[p[0]["id"]], p[0]["id"]))
        chunk = [r for r, _ in pairs]
        store.insert_new_issues(chunk, [h for _, h in pairs])
        rows = importer.RelationRows(self.now)
        numbers = [c["id"] for r in chunk for c in r.get("comments") or () if isinstance(c, dict)
                   and c.get("id").__class__ is int and c["id"] > 0]
        free = set(numbers)
        if len(free) != len(numbers):
            raise _Fallback  # a comment ID used twice: which one keeps it is the general path's call
        none: set[Any] = set()  # a new issue has no relations yet (never changed by ``add``)
        for rec in chunk:
            rows.add(rec["id"], rec, none, none, none, free)
        # A comment without a number takes the next free one: only once every numbered comment
        # of the file is in (the general path inserts those first).
        seq = len(self.late_comments)
        self.late_comments.extend((depth[row[1]], row[1], seq + k, row)
                                  for k, row in enumerate(r for r in rows.comments if r[0] is None))
        rows.comments = [row for row in rows.comments if row[0] is not None]
        try:
            rows.insert(store)
        except Conflict:
            raise _Fallback from None  # a comment ID an earlier chunk used (the table's key says so)


def _threaded() -> bool:
    """Whether other threads run here (a long-lived host: the daemon, an MCP server): forking
    such a process copies locks other threads may hold, so the reader then runs in-process."""
    import threading

    return threading.active_count() > 1


class _Reader:
    """The records of the file, parsed, validated and hashed a chunk at a time: in a forked child
    when the platform can fork (it never touches the database and leaves with ``_exit``), else here.

    With each chunk come the lines the new ``issues.jsonl`` can take as they are, while every
    line read so far is canonical and in ID order; they go to ``new_file`` (the parent's
    ``export.NewFile``), which the parent puts in place after its commit.
    """

    def __init__(self, path: str, vocab: model.Vocab, new_file: export.NewFile | None) -> None:
        self.path, self.vocab, self.new_file = path, vocab, new_file
        self.pid = 0
        self.stream: Any = None

    @classmethod
    def start(cls, path: str, vocab: model.Vocab, target: str | None) -> _Reader:
        try:
            new_file = export.NewFile(target) if target else None
        except BdError:
            new_file = None  # no temp file here: the flush writes the file (or says why it cannot)
        reader = cls(path, vocab, new_file)
        if not hasattr(os, "fork") or _threaded():
            return reader
        rfd, wfd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(rfd)
            os.close(wfd)
            return reader
        if pid == 0:  # the child
            code = 0
            try:
                os.close(rfd)
                with os.fdopen(wfd, "wb", buffering=1 << 20) as out:
                    reader._produce(out)
            except BaseException:  # noqa: BLE001 - nothing may escape a forked child
                code = 1
            finally:
                os._exit(code)
        os.close(wfd)
        reader.pid = pid
        reader.stream = os.fdopen(rfd, "rb", buffering=1 << 20)
        return reader

    def chunks(self) -> Iterator[tuple[list[dict[str, Any]], list[str], dict[str, bytes]]]:
        """(records, their content hashes, their lines' digests) a chunk at a time, the new file's
        lines written on the way; ``_Fallback`` for a file the general path must take."""
        parsed = _parsed(self.path, self.vocab, self.new_file is not None) if self.stream is None else self._frames()
        for records, hashes, digests, lines in parsed:
            if self.new_file is not None:
                if lines is None:  # not all canonical, or out of order: the flush writes the file
                    self.new_file.discard()
                    self.new_file = None
                else:
                    self.new_file.write_lines(lines)
            yield records, hashes, digests

    def _frames(self) -> Iterator[_Chunk]:
        while True:
            head = self.stream.read(8)
            if len(head) < 8:
                raise _Fallback  # the child is gone: the general path does the work
            size = int.from_bytes(head, "little")
            data = self.stream.read(size)
            frame: tuple[Any, ...] = marshal.loads(data) if len(data) == size else ("died",)
            if frame[0] == "end":
                return
            if frame[0] != "chunk":
                raise _Fallback
            yield frame[1], frame[2], frame[3], frame[4]

    def _produce(self, out: Any) -> None:
        """The child's work: a frame per chunk of parsed records, then an end frame."""

        def send(frame: tuple[Any, ...]) -> None:
            data = marshal.dumps(frame)
            out.write(len(data).to_bytes(8, "little"))
            out.write(data)

        import gc

        gc.disable()
        try:
            for chunk in _parsed(self.path, self.vocab, self.new_file is not None):
                send(("chunk", *chunk))
        except (_Fallback, CorruptJSONL):
            send(("fallback",))
            return
        send(("end",))

    def writes_file(self) -> bool:
        """Whether the new file comes from the lines read (known once ``chunks`` is exhausted)."""
        return self.new_file is not None

    def install(self, store: Any, wisps: list[str]) -> bool:
        """After the commit: put the new file in place (False when that cannot be done). The line
        digests become the file's: those recorded for the records minus the wisps (not in it)."""
        return self.new_file is not None and self.new_file.install(store, drop_digests=wisps)

    def close(self) -> None:
        """Reap the child (killed if still at work) and drop an uninstalled temp file."""
        if self.stream is not None:
            if self.pid:
                import signal

                try:
                    os.kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
                os.waitpid(self.pid, 0)
                self.pid = 0
            self.stream.close()
            self.stream = None
        if self.new_file is not None:
            self.new_file.discard()


def _parsed(path: str, vocab: model.Vocab, with_lines: bool) -> Iterator[_Chunk]:
    """The file's records (``jsonl.parse_line``: validated, normalised), their content hashes, their
    lines' digests and,
    while ``with_lines`` and every line so far is canonical and in ID order, the (id, line) pairs
    for the new file, a chunk at a time; ``_Fallback`` for anything the general path reports, or
    a file that changed while it was read."""
    fingerprint: list[str] = []
    records: list[dict[str, Any]] = []
    digests: list[bytes] = []  # of each record's line (linescan: what a later import may skip)
    lines: list[tuple[str, str]] | None = [] if with_lines else None
    last = ""
    for number, line in _lines(path, fingerprint):
        if not line or line.isspace():
            continue
        try:
            rec = jsonl.parse_line(line, number, path, vocab)
        except CorruptJSONL:
            raise _Fallback from None  # the general path reports it exactly as always
        if lines is not None and rec.get("ephemeral") is not True:  # wisps never reach the file
            issue_id = rec["id"]
            if issue_id > last and jsonl.is_canonical_line(rec, line):
                lines.append((issue_id, line))
                last = issue_id
            else:
                lines = None
        records.append(rec)
        digests.append(linescan.text_digest(line))
        if len(records) >= _CHUNK:
            yield _chunk(records, digests, lines)
            records, digests = [], []
            lines = [] if lines is not None else None
    if len(fingerprint) != 2 or fingerprint[0] != fingerprint[1]:
        raise _Fallback  # rewritten while read: the general path reads it whole
    yield _chunk(records, digests, lines)


def _chunk(records: list[dict[str, Any]], digests: list[bytes], lines: list[tuple[str, str]] | None) -> _Chunk:
    # content_hash reads every field with its default: the record gives what its full dict would
    return records, [model.content_hash(r) for r in records], {r["id"]: d for r, d in zip(records, digests, strict=True)}, lines


def _lines(path: str, fingerprint: list[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) of the file, read a block at a time; ``_Fallback`` for anything the
    general path reports (unreadable file, invalid UTF-8, a conflict marker line). The file's
    stat fingerprint before and after the read is appended to ``fingerprint``."""
    from beads import fileio

    number = 0
    rest = b""
    try:
        with fileio.open_regular(path) as fh:
            fingerprint.append(export.fingerprint(os.fstat(fh.fileno())))
            while True:
                block = fh.read(_BLOCK)
                if not block:
                    break
                block = rest + block
                cut = block.rfind(b"\n") + 1
                rest = block[cut:]
                if cut:
                    for line in _decode(block[:cut]).split("\n")[:-1]:
                        number += 1
                        yield number, line
            fingerprint.append(export.fingerprint(os.fstat(fh.fileno())))
    except OSError:
        raise _Fallback from None
    if rest:
        yield number + 1, _decode(rest)


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Fallback from None
    if "<<<<<<<" in text or "=======" in text or ">>>>>>>" in text:
        try:
            jsonl.check_conflicts(text.split("\n"))
        except CorruptJSONL:
            raise _Fallback from None
    return text
