"""Semantic 3-way merge of ``issues.jsonl`` (the ``bd merge`` git merge driver, spec §8.7).

Git merges text line by line; two agents editing the same issue produce a conflict
that a human (or a confused agent) then resolves by hand. This module merges the
three versions issue by issue and field by field, with deterministic rules, and
— unlike the original, which dropped every field it did not know (lessons B) —
keeps every key of every record, including keys written by newer tools.

Records are plain dicts as read from the file. Rules, per issue id:

* identity is (id, created_at, created_by) with a fallback on the id alone; a base
  whose identity matches neither side is a different, older issue and is ignored;
* an id both sides hold for issues of different identities (two clones minted the
  same child ``P.N``) is two issues: right keeps the id, left's issue moves to a free
  number with its descendants and references (``resolve_collisions``);
* tombstones: both sides → the later ``deleted_at``; one side → the tombstone,
  unless it is older than the TTL (30 days + 1 hour), then the live side;
* present in base and missing on one side → dropped only when the other side left
  it untouched; an issue modified on the other side is kept;
* otherwise every key is merged 3-way: take the side that changed; when both
  changed, per-field rules decide (``merge_rules``).

When the merged record differs from a side whose ``updated_at`` is already the
newest, ``updated_at`` is moved 1 ms past it: the merge is a new revision, and the
record-level newer-wins import on every clone must adopt it rather than keep its
own copy on a timestamp tie. The function is pure: same inputs, same output.
"""

from __future__ import annotations

import json
import re
import time

from beads import model, timefmt
from beads.sync.merge_rules import NOTES_SEPARATOR as NOTES_SEPARATOR
from beads.sync.merge_rules import _comment_key, _dumps, _ts, merge_fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Record = dict[str, Any]

DAY_NS = 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000
DEFAULT_TOMBSTONE_TTL_NS = 30 * DAY_NS
CLOCK_SKEW_GRACE_NS = HOUR_NS
REVISION_BUMP_NS = 1_000_000  # 1 ms: survives readers that keep only millisecond precision

class _Fields:
    """A small immutable record (``typing.NamedTuple`` would cost the merge driver the import of
    ``typing`` on every run)."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"


class Conflict(_Fields):
    """Something the merge could not resolve on its own."""

    __slots__ = ("issue_id", "reason", "detail")

    def __init__(self, issue_id: str | None, reason: str, detail: str = "") -> None:
        self.issue_id = issue_id
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        where = self.issue_id or "(no id)"
        return f"{where}: {self.reason}" + (f": {self.detail}" if self.detail else "")


# -- entry point -----------------------------------------------------------------------------


def merge3(base: list[Record], left: list[Record], right: list[Record], *, now_ns: int | None = None,
           ttl_ns: int = DEFAULT_TOMBSTONE_TTL_NS,
           renamed: dict[str, str] | None = None) -> tuple[list[Record], list[Conflict]]:
    """Merge ``left`` (ours) and ``right`` (theirs) against their common ``base``.

    Returns the merged records sorted by id and the conflicts (records without an
    id, which cannot be matched and are left out of the result). Left records whose
    id right gives to a different issue are renamed first (``resolve_collisions``);
    ``renamed``, when given, receives those renames (old id → new id).
    """
    now = time.time_ns() if now_ns is None else now_ns
    conflicts: list[Conflict] = []
    b = _index(base, "base", conflicts, now)
    lft = _index(left, "left", conflicts, now)
    rgt = _index(right, "right", conflicts, now)
    moved = resolve_collisions(b, lft, rgt)
    if renamed is not None:
        renamed.update(moved)
    merged: list[Record] = []
    for issue_id in sorted(set(b) | set(lft) | set(rgt)):
        record = merge_issue(b.get(issue_id), lft.get(issue_id), rgt.get(issue_id), now_ns=now, ttl_ns=ttl_ns)
        if record is not None:
            merged.append(record)
    return merged, conflicts


def merge_issue(base: Record | None, left: Record | None, right: Record | None, *, now_ns: int,
                ttl_ns: int = DEFAULT_TOMBSTONE_TTL_NS) -> Record | None:
    """Merge one issue's three versions; ``None`` means the issue is dropped."""
    if base is not None and not _base_matches(base, left, right):
        base = None  # the id was re-used for a new issue: the old one is no base for it
    if left is not None and right is not None:
        merged = _merge_both(base, left, right, now_ns, ttl_ns)
        return _settle(merged, left, right)
    side = left if left is not None else right
    if side is None:
        return None  # deleted on both sides (or only ever in base)
    if base is None or is_tombstone(side):
        return dict(side)  # added on one side, or a deletion that must propagate
    if _ts(side.get("updated_at")) == _ts(base.get("updated_at")) and _fingerprint(side) == _fingerprint(base):
        return None  # deleted on the other side, untouched on this one
    return dict(side)  # modified here: a modification is never thrown away


# -- record level ----------------------------------------------------------------------------


def _index(records: list[Record], side: str, conflicts: list[Conflict], now_ns: int) -> dict[str, Record]:
    out: dict[str, Record] = {}
    for record in records:
        issue_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(issue_id, str) or not issue_id:
            conflicts.append(Conflict(None, f"{side} has a record without an id", _dumps(record)))
            continue
        if issue_id in out:
            # A duplicated line (a botched earlier merge): fold the copies together,
            # older first, so nothing either copy holds is lost.
            older, newer = out[issue_id], record
            if _ts(older.get("updated_at")) > _ts(newer.get("updated_at")):
                older, newer = newer, older
            record = _merge_both(None, older, newer, now_ns, DEFAULT_TOMBSTONE_TTL_NS)
        out[issue_id] = record
    return out


def _identity(record: Record) -> tuple[Any, Any]:
    created = record.get("created_at") or ""
    ns = _ts(created)  # the instant, so "01:00+01:00" and "00:00Z" are the same creation
    return (ns if ns >= 0 else created), record.get("created_by") or ""


def collides(a: Record, b: Record) -> bool:
    """Two records under one id that are different issues: both dated, different identities."""
    return bool(a.get("created_at")) and bool(b.get("created_at")) and _identity(a) != _identity(b)


def identity_key(record: Record) -> tuple[Any, Any] | None:
    """The record's identity (creation instant, creator), or None when it has no creation time."""
    return _identity(record) if record.get("created_at") else None


def resolve_collisions(base: dict[str, Record], left: dict[str, Record],
                       right: dict[str, Record]) -> dict[str, str]:
    """Give left's records a new id where right holds a *different* issue under the same id.

    Two clones that each add a child to one parent mint the same ``P.N`` from their own
    counters. Right (theirs: what is already shared) keeps the id; left's issue becomes
    ``P.M``, M one past the largest child number of P in any of the three versions, its
    left-side descendants ``P.N.x`` move along to ``P.M.x``, and every left-side reference
    (dependency ``issue_id``/``depends_on_id``, comment ``issue_id``) follows. A colliding
    hash id (not hierarchical) gets base36 characters of SHA-256(id|created_at|created_by)
    appended (``ids.collision_id``). ``left`` is updated in place (its records are copied,
    never mutated); returns the renames, old id → new id. Deterministic.
    """
    from beads import ids as idgen

    clashes = [i for i in left if i in right and collides(left[i], right[i])]
    if not clashes:
        return {}
    used = set(base) | set(left) | set(right)
    in_right: dict[Any, str] = {}
    for rid, rrec in right.items():
        key = identity_key(rrec)
        if key is not None:
            in_right.setdefault(key, rid)

    def known_id(rec: Record) -> str | None:
        """Where right already holds this very issue (it was moved there by an earlier merge)."""
        key = identity_key(rec)
        found = in_right.get(key) if key is not None else None
        return found if found is not None and found not in left else None

    mapping: dict[str, str] = {}
    for issue_id in sorted(clashes, key=lambda i: (i.count("."), i)):
        rec = left.get(issue_id)
        if rec is None or not collides(rec, right[issue_id]):
            continue  # moved along with a renamed ancestor
        new_id = known_id(rec)
        if new_id is None:
            parent = idgen.parent_of(issue_id)
            at_least = idgen.child_numbers(parent, used) + 1 if parent else 0
            seed = f"{issue_id}|{rec.get('created_at') or ''}|{rec.get('created_by') or ''}"
            new_id = idgen.collision_id(issue_id, seed, used.__contains__, at_least=at_least)
        moves = {issue_id: new_id}
        for other in sorted(left, key=lambda i: (i.count("."), i)):
            if other.startswith(issue_id + "."):
                theirs = right.get(other)
                if theirs is not None and not collides(left[other], theirs):
                    continue  # the same issue on both sides stays where it is
                target = known_id(left[other]) or new_id + other[len(issue_id):]
                if target in left or target in moves.values():
                    continue  # taken on our side too: it stays (and collides on its own if it must)
                moves[other] = target
        records = {old: left.pop(old) for old in moves}
        for old, new in moves.items():
            left[new] = dict(records[old], id=new)
        used.update(moves.values())
        mapping.update(moves)
    for lid, lrec in list(left.items()):
        left[lid] = _rewrite_refs(lrec, mapping)
    return mapping


def _rewrite_refs(rec: Record, mapping: dict[str, str]) -> Record:
    out = rec
    for field, keys in (("dependencies", ("issue_id", "depends_on_id")), ("comments", ("issue_id",))):
        items = rec.get(field)
        if not isinstance(items, list):
            continue
        if not any(_refers(x, keys, mapping) for x in items):
            continue
        new_items = []
        for x in items:
            if _refers(x, keys, mapping):
                x = dict(x)
                for k in keys:
                    if _refers(x, (k,), mapping):
                        x[k] = mapping[x[k]]
            new_items.append(x)
        if out is rec:
            out = dict(rec)
        out[field] = new_items
    return out


def _refers(item: Any, keys: tuple[str, ...], mapping: dict[str, str]) -> bool:
    return isinstance(item, dict) and any(isinstance(item.get(k), str) and item[k] in mapping for k in keys)


def _base_matches(base: Record, left: Record | None, right: Record | None) -> bool:
    sides = [s for s in (left, right) if s is not None]
    if not sides:
        return True
    key = _identity(base)
    return any(_identity(s) == key for s in sides)


def is_tombstone(record: Record) -> bool:
    return record.get("status") == model.STATUS_TOMBSTONE


def is_expired_tombstone(record: Record, now_ns: int, ttl_ns: int = DEFAULT_TOMBSTONE_TTL_NS) -> bool:
    """True when a tombstone is past its TTL (+1 h grace); undated tombstones never expire."""
    if not is_tombstone(record):
        return False
    deleted = timefmt.to_ns(record.get("deleted_at"))
    if deleted is None:
        return False
    return now_ns > deleted + ttl_ns + CLOCK_SKEW_GRACE_NS


def _merge_both(base: Record | None, left: Record, right: Record, now_ns: int, ttl_ns: int) -> Record:
    lt, rt = is_tombstone(left), is_tombstone(right)
    if lt and rt:
        later = right if _ts(right.get("deleted_at")) > _ts(left.get("deleted_at")) else left
        return dict(later)
    if lt or rt:
        tomb, live = (left, right) if lt else (right, left)
        return dict(live if is_expired_tombstone(tomb, now_ns, ttl_ns) else tomb)
    return merge_fields(base or {}, left, right)


def _settle(merged: Record, left: Record, right: Record) -> Record:
    """Make a merged revision newer than any differing side (see the module docstring)."""
    newest = max(_ts(left.get("updated_at")), _ts(right.get("updated_at")))
    if newest < 0:
        return merged
    mine = _fingerprint(merged)
    stale = [s for s in (left, right) if _ts(s.get("updated_at")) >= newest and _fingerprint(s) != mine]
    if stale and _ts(merged.get("updated_at")) <= newest:
        source = max((left, right), key=lambda s: _ts(s.get("updated_at")))
        merged["updated_at"] = timefmt.format_ns(newest + REVISION_BUMP_NS, _offset_seconds(source["updated_at"]))
    return merged


# -- comparison helpers ------------------------------------------------------------------------


def _fingerprint(record: Record) -> str:
    """The record's content apart from ``updated_at``, insensitive to list order, key order and comment ids."""
    wire = model.to_wire(record)
    wire.pop("updated_at", None)
    for key in ("labels", "dependencies"):
        if isinstance(wire.get(key), list):
            wire[key] = sorted(_dumps(v) for v in wire[key])
    if isinstance(wire.get("comments"), list):
        # Comment ids are each clone's own autoincrement numbers: not content.
        wire["comments"] = sorted(_dumps(_comment_key(c)) for c in wire["comments"])
    return _dumps(wire)


_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _offset_seconds(text: str) -> int:
    m = _OFFSET.search(text.strip())
    if not m or m.group(1) == "Z":
        return 0
    tz = m.group(1)
    digits = tz[1:].replace(":", "")
    seconds = int(digits[:2]) * 3600 + int(digits[2:]) * 60
    return seconds if tz[0] == "+" else -seconds


# -- files (the merge driver) ------------------------------------------------------------------


class Problem(_Fields):
    """A line of an input file that is not JSON, not an object, or not a valid issue."""

    __slots__ = ("side", "line_no", "text", "error")

    def __init__(self, side: str, line_no: int, text: str, error: str) -> None:
        self.side = side
        self.line_no = line_no
        self.text = text
        self.error = error

    def __str__(self) -> str:
        return f"{self.side}:{self.line_no}: {self.error}"


def parse_records(data: bytes, side: str, vocab: model.Vocab | None = None) -> tuple[list[Record], list[Problem]]:
    """Parse JSONL bytes tolerantly: the records, and the lines that cannot be merged.

    A line is a problem when it is not UTF-8 JSON, not an object, or a record that
    ``model.record_problem`` refuses (checked against ``vocab``; the built-in
    vocabularies when None): such a record never reaches the merged file as an issue.
    """
    records: list[Record] = []
    problems: list[Problem] = []
    for no, raw in enumerate(data.split(b"\n"), 1):
        parsed = parse_line(raw, side, no, vocab)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        elif parsed is not None:
            records.append(parsed)
    return records, problems


def parse_line(raw: bytes, side: str, no: int, vocab: model.Vocab | None = None) -> Record | Problem | None:
    """One line of ``parse_records``: the record, the ``Problem`` with it, or None for a blank line."""
    from beads.sync.jsonl import bad_record_message, line_problem

    text = raw.decode("utf-8", "surrogateescape").rstrip("\r")
    if not text.strip():
        return None
    try:
        raw.decode("utf-8")
        value = json.loads(text)
    except ValueError as exc:  # UnicodeDecodeError included
        return Problem(side, no, text, f"invalid JSON ({exc})")
    bad = line_problem(value, text, vocab)
    if bad is not None:
        return Problem(side, no, text, bad_record_message(side, no, value, bad).partition(": ")[2])
    return value  # type: ignore[no-any-return]


def format_line(record: Record) -> str:
    """One JSONL line exactly as the exporter writes it (key order, omit-empty, Go escaping)."""
    try:
        from beads.sync.jsonl import issue_line
    except ImportError:  # the JSONL layer not installed yet: same format, built here
        from beads.jsonfmt import compact

        return compact(model.to_wire(record))
    return issue_line(record).rstrip("\n")


def render(records: list[Record], conflicts: list[Conflict], problems: list[Problem]) -> str:
    """The merged file; anything unresolved goes in a git-style conflict block at the end.

    The markers make every reader (our import included) refuse the file until a
    person looks at it, while every input line is still there to be rescued.
    """
    lines = [format_line(r) for r in records]
    unresolved = [c.detail for c in conflicts if c.detail] + [p.text for p in problems]
    if unresolved:
        lines.append("<<<<<<< bd merge: lines that could not be merged")
        lines.extend(unresolved)
        lines.append(">>>>>>> bd merge")
    return "".join(line + "\n" for line in lines)


def merge_bytes(base: bytes, left: bytes, right: bytes, *, now_ns: int | None = None,
                renamed: dict[str, str] | None = None,
                vocab: model.Vocab | None = None) -> tuple[str, list[Conflict], list[Problem]]:
    """Merge three JSONL texts; returns (merged file text, conflicts, base problems).

    Conflicts include every unparsable or invalid line of ``left`` or ``right`` (kept
    in the output inside conflict markers, never merged as an issue); bad base lines
    only weaken deletion detection, so they are returned separately, as warnings.
    Sorted canonical texts are merged by the streaming path (``merge_stream``), any
    other by ``merge_in_memory``.
    """
    from beads.sync.merge_stream import Unstreamable, merge_buffers

    now = time.time_ns() if now_ns is None else now_ns
    try:
        data, done = merge_buffers(base, left, right, now_ns=now, vocab=vocab)
    except Unstreamable:
        return merge_in_memory(base, left, right, now_ns=now, renamed=renamed, vocab=vocab)
    side_problems = done.left_problems + done.right_problems
    return data.decode("utf-8", "surrogateescape"), [_bad_line(p) for p in side_problems], done.base_problems


def merge_in_memory(base: bytes, left: bytes, right: bytes, *, now_ns: int | None = None,
                    renamed: dict[str, str] | None = None,
                    vocab: model.Vocab | None = None) -> tuple[str, list[Conflict], list[Problem]]:
    """``merge_bytes`` by parsing every line of the three texts: any input, any order."""
    now = time.time_ns() if now_ns is None else now_ns
    base_records, base_problems = parse_records(base, "base", vocab)
    left_records, left_problems = parse_records(left, "left", vocab)
    right_records, right_problems = parse_records(right, "right", vocab)
    merged, conflicts = merge3(base_records, left_records, right_records, now_ns=now, renamed=renamed)
    side_problems = left_problems + right_problems
    conflicts = conflicts + [_bad_line(p) for p in side_problems]
    return render(merged, conflicts, side_problems), conflicts, base_problems


def merge_files(output: str, base: str, left: str, right: str, *, now_ns: int | None = None,
                renamed: dict[str, str] | None = None,
                vocab: model.Vocab | Callable[[], model.Vocab | None] | None = None,
                ) -> tuple[list[Conflict], list[Problem]]:
    """Merge three JSONL files into ``output`` (written atomically, even with conflicts).

    A missing or empty ``base`` is an empty file; a missing ``left``/``right`` raises
    ``OSError``. Returns (conflicts, base problems) as ``merge_bytes``. Sorted canonical
    files (ours) are merged as streams in constant memory (``merge_stream``); any other
    input is read whole and merged by ``merge_bytes``. ``vocab`` may be a function: it is
    called only when a record has to be validated (reading it can cost more than a merge).
    """
    from beads.sync.merge_stream import Unstreamable, merge_streams

    now = time.time_ns() if now_ns is None else now_ns
    try:
        done = merge_streams(output, base, left, right, now_ns=now, vocab=vocab)
    except Unstreamable:
        if callable(vocab):
            vocab = vocab()
    else:
        side_problems = done.left_problems + done.right_problems
        return [_bad_line(p) for p in side_problems], done.base_problems
    try:
        with open(base, "rb") as fh:
            base_data = fh.read()
    except FileNotFoundError:
        base_data = b""
    with open(left, "rb") as fh:
        left_data = fh.read()
    with open(right, "rb") as fh:
        right_data = fh.read()
    text, conflicts, base_problems = merge_in_memory(base_data, left_data, right_data, now_ns=now, renamed=renamed,
                                                     vocab=vocab)
    atomic_write(output, text)
    return conflicts, base_problems


def _bad_line(problem: Problem) -> Conflict:
    return Conflict(None, f"bad line {problem.line_no} in {problem.side}: {problem.error}")


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` through a temp file and a rename, keeping the file's mode."""
    from beads.fileio import write_atomic

    write_atomic(path, text)
