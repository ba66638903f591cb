"""The ``issues.jsonl`` format: reading it tolerantly, writing it canonically.

One issue per line, sorted by ID, keys in the original's struct order, empties
omitted, with the issue's labels, dependency edges and comments embedded (spec §8.1).
Because every clone writes exactly the same bytes for the same data, git merges the
file line by line and seldom conflicts. Reading accepts every older form the
original wrote (``beads.jsonl``, ``content_hash``, hex IDs, missing status/type), but
refuses a file with git conflict markers or an unparsable line as a whole: a
half-read file must never be imported (lessons A).
"""

from __future__ import annotations

import json
import os
import re  # json imports it anyway

from beads import fileio, model
from beads.errors import CorruptJSONL
from beads.jsonfmt import compact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any, TextIO

    from beads.storage.sqlite.store import SqliteStore

_DECODE = json.JSONDecoder().decode
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]").search
_TIME_KEYS = ("created_at", "updated_at", "closed_at", "due_at", "defer_until", "compacted_at", "deleted_at",
              "last_activity")
_FLOAT_KEYS = ("quality_score",)
COMMENT_KEYS = ("id", "issue_id", "author", "text", "created_at")


# -- reading --------------------------------------------------------------------------


def conflict_marker(line: str) -> bool:
    """True for a git conflict marker line (as the original detects them)."""
    s = line.strip()
    return s.startswith("<<<<<<< ") or s == "=======" or s.startswith(">>>>>>> ")


def read_jsonl(source: str | bytes | os.PathLike[str]) -> list[dict[str, Any]]:
    """Parse a JSONL file (a path) or JSONL text into normalised issue records.

    A ``str`` is JSONL text when it is empty, contains a newline or starts with
    ``{``; otherwise it is a path. Raises ``CorruptJSONL`` naming the line when any
    line carries a git conflict marker or is not a JSON object with a string ``id``;
    nothing is returned from such a file.
    """
    name = "<input>"
    if isinstance(source, bytes):
        text = decode(source, name)
    elif isinstance(source, os.PathLike) or (
            isinstance(source, str) and source and "\n" not in source and not source.lstrip().startswith("{")):
        name = os.fspath(source)
        try:
            with fileio.open_regular(name) as fh:  # a FIFO or directory: refused, never waited on
                data = fh.read()
        except OSError as exc:
            raise CorruptJSONL(f"cannot read {name}: {exc.strerror or exc}")
        text = decode(data, name)
    else:
        text = source
    return parse_jsonl(text, name)


def decode(data: bytes, name: str = "<input>") -> str:
    """UTF-8 text of a JSONL file's bytes (``CorruptJSONL`` naming the line otherwise)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CorruptJSONL(f"{name}: line {line}: invalid UTF-8 ({exc.reason})")


def check_conflicts(lines: list[str], name: str = "<input>") -> None:
    for number, line in enumerate(lines, 1):
        if line and line.lstrip()[:1] in ("<", "=", ">") and conflict_marker(line):
            raise conflict_error(name, number)


def conflict_error(name: str, number: int) -> CorruptJSONL:
    return CorruptJSONL(
        f"{name} contains git merge conflict markers (line {number}); refusing to import any of it.\n"
        "Resolve the conflict first (edit the file, or 'git checkout --ours/--theirs' it), "
        f"or regenerate it from the database with 'bd export -o {name} --force'."
    )


def parse_jsonl(text: str, name: str = "<input>", vocab: model.Vocab | None = None) -> list[dict[str, Any]]:
    """Parse JSONL text (see ``read_jsonl``); blank lines are skipped.

    Every record is validated by ``model.record_problem`` against ``vocab`` (the
    workspace's statuses and types; the built-in ones when None): one bad record
    refuses the whole file with ``CorruptJSONL`` naming its line, id and field.
    """
    with NoGC():  # a bulk of acyclic dicts: nothing for the collector
        return _parse_jsonl(text, name, vocab)


def _parse_jsonl(text: str, name: str, vocab: model.Vocab | None) -> list[dict[str, Any]]:
    if "<<<<<<<" in text or "=======" in text or ">>>>>>>" in text:
        check_conflicts(text.split("\n"), name)
    records: list[dict[str, Any]] = []
    for number, line in enumerate(iter_lines(text), 1):
        if not line or line.isspace():
            continue
        records.append(parse_line(line, number, name, vocab))
    return records


def parse_line(line: str, number: int, name: str, vocab: model.Vocab | None) -> dict[str, Any]:
    """One non-blank line as a validated, normalised record (``CorruptJSONL`` naming the line)."""
    try:
        obj = _DECODE(line)
    except ValueError as exc:
        snippet = line.strip()
        if len(snippet) > 80:
            snippet = snippet[:80] + "..."
        raise CorruptJSONL(f"{name}: line {number}: invalid JSON ({exc}); refusing to import any of it.\n"
                           f"  {snippet}")
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise CorruptJSONL(f"{name}: line {number}: not an issue object with a string \"id\"; "
                           "refusing to import any of it")
    problem = line_problem(obj, line, vocab)
    if problem is not None:
        raise CorruptJSONL(bad_record_message(name, number, obj, problem))
    return normalize_record(obj)


def line_problem(obj: Any, line: str, vocab: model.Vocab | None = None) -> str | None:
    """Why a decoded JSONL line may not enter the database (None when it may).

    ``model.record_problem`` judges the fields; here, in addition, a ``\\uD800``-style
    escape that decodes to a lone surrogate (valid JSON, but no UTF-8 can hold it).
    """
    if not isinstance(obj, dict):
        return "the line is not a JSON object"
    problem = model.record_problem(obj, vocab)
    if problem is None and "\\u" in line and _SURROGATE_ESCAPE(line) is not None:
        for key, value in obj.items():
            try:
                dumps(value).encode("utf-8")
            except UnicodeEncodeError:
                return f"{key} contains a lone UTF-16 surrogate (\\ud800-\\udfff escape)"
    return problem


def bad_record_message(name: str, number: int, obj: Any, problem: str) -> str:
    """``issues.jsonl:17: bd-a1b2: priority must be an integer 0-4, got "high"`` (one line)."""
    issue_id = obj.get("id") if isinstance(obj, dict) else None
    shown_id = issue_id if isinstance(issue_id, str) and model.id_problem(issue_id) is None else (
        model.shown(issue_id))
    return f"{name}:{number}: {shown_id}: {problem}"


def iter_lines(text: str) -> Iterator[str]:
    """``text.split("\\n")`` one line at a time, so a big file is never held twice as a list."""
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def normalize_record(rec: dict[str, Any]) -> dict[str, Any]:
    """Apply the original's import defaults (``SetDefaults``) and fix legacy shapes in place.

    Missing status → open, missing issue_type → task, missing priority → 0 (P0),
    ``content_hash`` dropped, a closed issue without ``closed_at`` gets its
    ``updated_at`` (deterministic, unlike the original's "now"), a non-closed one
    loses a stale ``closed_at`` (the database's invariant).
    """
    rec.pop("content_hash", None)
    if not rec.get("status"):
        rec["status"] = model.STATUS_OPEN
    if not rec.get("issue_type"):
        rec["issue_type"] = "task"
    if rec.get("priority") is None:
        rec["priority"] = 0
    status = rec["status"]
    if status == model.STATUS_CLOSED:
        if not rec.get("closed_at"):
            rec["closed_at"] = rec.get("updated_at") or rec.get("created_at")
    elif status != model.STATUS_TOMBSTONE and rec.get("closed_at"):
        rec["closed_at"] = None
    if not rec.get("created_at"):
        rec["created_at"] = rec.get("updated_at") or "1970-01-01T00:00:00Z"
    if not rec.get("updated_at"):
        rec["updated_at"] = rec["created_at"]
    if rec.get("title") is None:
        rec["title"] = ""
    for key in ("labels", "dependencies", "comments"):
        if rec.get(key) is None:
            rec.pop(key, None)
    deps = rec.get("dependencies")
    if deps:
        issue_id = rec["id"]
        clean = []
        for dep in deps:
            if not isinstance(dep, dict) or not dep.get("depends_on_id"):
                continue
            dep = dict(dep)
            dep["issue_id"] = dep.get("issue_id") or issue_id
            dep["type"] = dep.get("type") or model.DEP_BLOCKS
            clean.append(dep)
        rec["dependencies"] = clean
    return rec


def line_ids(text: str) -> list[str]:
    """The IDs of a JSONL text's lines, cheaply (canonical lines are not fully parsed)."""
    return [issue_id for issue_id, _ in split_lines(text)]


def split_lines(text: str, name: str = "<input>") -> list[tuple[str, str]]:
    """(id, line) for each non-blank line; raises ``CorruptJSONL`` like ``read_jsonl``."""
    lines = text.split("\n")
    check_conflicts(lines, name)
    out: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        issue_id = _fast_id(line)
        if issue_id is None:
            try:
                obj = _DECODE(line)
            except ValueError as exc:
                raise CorruptJSONL(f"{name}: line {number}: invalid JSON ({exc})")
            if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
                raise CorruptJSONL(f"{name}: line {number}: not an issue object with a string \"id\"")
            issue_id = obj["id"]
        out.append((issue_id, line))
    return out


def ids_in_order(ids: list[str]) -> bool:
    """True when IDs are strictly increasing and plain (no quote or backslash): a file with
    such lines can be updated in place by ``replace_lines``' binary search."""
    joined = "\n".join(ids)  # C-speed checks: this runs over every line of big files
    return '"' not in joined and "\\" not in joined and ids == sorted(ids) and len(set(ids)) == len(ids)


_HEAD = b'{"id":"'


def replace_lines(data: bytes, changes: dict[str, str | None], *, in_order: bool = False) -> bytes | None:
    """The file with each changed issue's line replaced (``None`` drops it), still sorted by ID.

    For a file whose lines all start ``{"id":"`` (what we write) and whose IDs are known
    to be in order (``in_order``, see ``ids_in_order``), each change is located by a
    binary search over the bytes and the file is reassembled from a few large slices,
    so the cost does not grow with the number of lines. Returns None for any other
    file: the caller takes the general path.
    """
    if not in_order or not canonical_layout(data):
        return None
    pieces, _ = splice(data, changes)
    return b"".join(data[p[0]:p[1]] if isinstance(p, tuple) else p for p in pieces)


def splice(data: Any, changes: dict[str, str | None]) -> tuple[list[tuple[int, int] | bytes], bool]:
    """How to build the new file: ``(start, end)`` ranges of ``data`` kept as they are, between
    the new lines (bytes); and whether the result differs from ``data`` at all.

    ``data`` is ``bytes`` or an ``mmap`` of a file known to be canonical and sorted (see
    ``replace_lines``); only the few lines the binary searches land on are read.
    """
    pieces: list[tuple[int, int] | bytes] = []
    cursor = 0
    differs = False
    for issue_id in sorted(changes):
        key = issue_id.encode("utf-8")
        start = _lower_bound(data, key, cursor)
        if start > cursor:
            pieces.append((cursor, start))
        cursor = start
        old = b""
        if start < len(data) and _id_at(data, start) == key:
            cursor = data.find(b"\n", start) + 1
            old = data[start:cursor]
        line = changes[issue_id]
        new = line.encode("utf-8") + b"\n" if line is not None else b""
        differs = differs or new != old
        if new:
            pieces.append(new)
    if cursor < len(data):
        pieces.append((cursor, len(data)))
    return pieces, differs


def _id_at(data: Any, start: int) -> bytes:
    return data[start + 7:data.find(b'"', start + 7)]


def _lower_bound(data: Any, key: bytes, lo: int) -> int:
    """Offset of the first line at or after ``lo`` whose ID is >= ``key`` (or len(data))."""
    hi = len(data)
    while lo < hi:
        mid = (lo + hi) // 2
        start = data.rfind(b"\n", lo, mid) + 1 or lo
        if _id_at(data, start) < key:
            lo = data.find(b"\n", start) + 1
        else:
            hi = start
    return lo


def canonical_layout(data: bytes) -> bool:
    """Every line starts ``{"id":"`` and the file ends with a newline (what ``splice`` needs)."""
    return bool(data) and data.endswith(b"\n") and (
        data.count(b"\n" + _HEAD) + data.startswith(_HEAD) == data.count(b"\n"))


def _fast_id(line: str) -> str | None:
    # Canonical lines start with {"id":"<id>", and IDs never need escaping.
    if line.startswith('{"id":"') and line.endswith("}"):
        end = line.find('"', 7)
        if end > 7 and "\\" not in line[7:end]:
            return line[7:end]
    return None


# -- writing ---------------------------------------------------------------------------


def dumps(obj: Any) -> str:
    """Compact JSON exactly as Go's ``json.Encoder`` writes it (no newline)."""
    return compact(obj)


def _go_float(value: Any) -> Any:
    # Go prints a float64 holding an integral value without ".0" (1 → "1"); SQLite's
    # REAL column hands such values back as Python floats.
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def _rfc3339(value: Any) -> Any:
    # A classic beads.db may hold SQLite-style text ("2025-01-02 03:04:05.5-08:00");
    # the original always writes RFC 3339 with 'T', trimmed fraction and 'Z' for UTC.
    if isinstance(value, str) and len(value) > 19 and value[10] == " ":
        from beads import timefmt

        ns = timefmt.to_ns(value)
        if ns is not None:
            tail = value[19:]
            offset = 0
            for sign in ("+", "-"):
                pos = tail.rfind(sign)
                if pos >= 0:
                    hh, _, mm = tail[pos + 1:].partition(":")
                    if hh.isdigit():
                        offset = (int(hh) * 3600 + int(mm or 0) * 60) * (1 if sign == "+" else -1)
                    break
            return timefmt.format_ns(ns, offset)
    return value


to_wire = model.to_wire  # one implementation (kept fast there)


def dep_record(dep: dict[str, Any]) -> dict[str, Any]:
    out = model.dep_to_wire(dep)
    out["created_at"] = _rfc3339(out["created_at"])
    return out


def comment_record(comment: dict[str, Any]) -> dict[str, Any]:
    return {"id": comment.get("id", 0), "issue_id": comment.get("issue_id", ""),
            "author": comment.get("author", ""), "text": comment.get("text", ""),
            "created_at": _rfc3339(comment.get("created_at") or "")}


def wire_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record as it is written: struct order, omit-empty, relations canonically ordered."""
    rec = dict(record)
    _wire_relations(rec, rec.get("labels"), rec.get("dependencies"), rec.get("comments"))
    for key in _TIME_KEYS:
        value = rec.get(key)
        if value and len(value) > 19 and value[10] == " ":
            rec[key] = _rfc3339(value)
    for key in _FLOAT_KEYS:
        if rec.get(key) is not None:
            rec[key] = _go_float(rec[key])
    return to_wire(rec)


def issue_line(record: dict[str, Any]) -> str:
    """One canonical JSONL line (without the trailing newline) for an issue record.

    ``record`` is an issue dict (JSON keys) optionally carrying ``labels``,
    ``dependencies`` (edge dicts) and ``comments``; keys starting with ``_`` and
    legacy ``content_hash`` are never written, unknown keys follow the known ones.
    """
    return dumps(wire_record(record))


def export_records(store: SqliteStore, ids: Iterable[str] | None = None, *, include_comments: bool = True,
                   issues: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Issue records ready for ``issue_line``: relations embedded, sorted by ID, wisps excluded.

    ``ids`` limits the export to those issues (missing ones are simply absent);
    ``issues`` supplies pre-selected issue rows (a filtered export) instead.
    Tombstones are included: they are how deletions reach other clones.
    """
    with NoGC():
        return _export_records(store, ids, include_comments, issues)


def _export_records(store: SqliteStore, ids: Iterable[str] | None, include_comments: bool,
                    issues: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    everything = ids is None and issues is None
    if everything:
        issues = store.sparse_issues()  # fresh dicts, wisps already left out
    else:
        if issues is None:
            issues = list(store.get_issues(sorted(set(ids or ()))).values())
        issues = [dict(i) for i in issues if not i.get("ephemeral")]
        issues.sort(key=lambda i: i["id"])
    if not issues:
        return []
    wanted = [i["id"] for i in issues]
    bulk = everything and len(issues) > 200
    labels = store.all_labels() if bulk else store.labels_for(wanted)
    deps = store.all_dependencies() if bulk else store.dependencies_for(wanted)
    comments = (store.comments_for(None if bulk else wanted)) if include_comments else {}
    for rec in issues:
        issue_id = rec["id"]
        rec["labels"] = labels.get(issue_id, [])
        rec["dependencies"] = deps.get(issue_id, [])
        rec["comments"] = comments.get(issue_id, [])
    return issues


def write_records(stream: TextIO, store: SqliteStore, *, filt_issues: list[dict[str, Any]] | None = None,
                  include_comments: bool = True) -> int:
    """What ``render(export_records(...))`` returns, written a few hundred lines at a time (so
    memory stays flat however big the database); returns the number of lines.

    Every issue when ``filt_issues`` is None (from one read snapshot), else those issues.
    """
    if filt_issues is None:
        chunks: Iterable[list[dict[str, Any]]] = store.sparse_issue_chunks()
    else:
        ordered = sorted((i for i in filt_issues if not i.get("ephemeral")), key=lambda i: i["id"])
        chunks = (ordered[k:k + 500] for k in range(0, len(ordered), 500))
    count = 0
    with NoGC(), store.read_snapshot():
        for issues in chunks:
            if filt_issues is None:
                stream.write(_sparse_lines(store, issues, include_comments))
                count += len(issues)
                continue
            records = _export_records(store, None, include_comments, issues)
            stream.write("".join([dumps(wire_record(r)) + "\n" for r in records]))
            count += len(records)
    return count


def _sparse_lines(store: SqliteStore, issues: list[dict[str, Any]], include_comments: bool) -> str:
    """The lines of one chunk of ``sparse_issue_chunks`` (consecutive IDs), with the relations the
    storage hands over already in their written form (``export_relations``)."""
    if not issues:
        return ""
    labels, deps, comments = store.export_relations(issues[0]["id"], issues[-1]["id"], include_comments)
    out = []
    for rec in issues:
        issue_id = rec["id"]
        rec_labels, rec_deps, rec_comments = labels.get(issue_id), deps.get(issue_id), comments.get(issue_id)
        if rec_deps and _irregular(rec_deps) or rec_comments and _irregular(rec_comments):
            rec_deps = sorted((dep_record(d) for d in rec_deps or ()),
                              key=lambda d: (d["created_at"], d["depends_on_id"], d["type"]))
            rec_comments = sorted((comment_record(c) for c in rec_comments or ()),
                                  key=lambda c: (c["created_at"], c["id"] if isinstance(c["id"], int) else 0))
        rec["labels"], rec["dependencies"], rec["comments"] = rec_labels, rec_deps, rec_comments
        out.append(dumps(_sparse_record(rec)))
    out.append("")
    return "\n".join(out)


def _irregular(items: list[dict[str, Any]]) -> bool:
    """Whether a relation's time is in SQLite's form (a classic database): then rewritten and re-sorted."""
    return any(len(at) > 19 and at[10] == " " for at in (i["created_at"] for i in items))


_RELATION_KEYS = frozenset(("labels", "dependencies", "comments"))


def _sparse_record(rec: dict[str, Any]) -> dict[str, Any]:
    """``wire_record`` for a ``row_to_sparse`` row with its relations appended: that row is already
    in struct order with empties omitted, so unless a field after the relations, a float or an
    SQLite-form time is present (then the general path), only the relations need wiring."""
    if not rec.keys() - _RELATION_KEYS <= model.FIELDS_BEFORE_LABELS:
        return wire_record(rec)
    for key in _TIME_KEYS[:6]:
        value = rec.get(key)
        if value and len(value) > 19 and value[10] == " ":
            return wire_record(rec)
    labels, deps, comments = rec.pop("labels", None), rec.pop("dependencies", None), rec.pop("comments", None)
    if labels:  # each list arrives in its canonical order and form (``_sparse_lines``)
        rec["labels"] = labels
    if deps:
        rec["dependencies"] = deps
    if comments:
        rec["comments"] = comments
    return rec


def _wire_relations(rec: dict[str, Any], labels: list[str] | None, deps: list[dict[str, Any]] | None,
                    comments: list[dict[str, Any]] | None) -> None:
    """Set the non-empty relations on ``rec`` in their canonical order and wire form."""
    if labels:
        rec["labels"] = sorted(labels)
    if deps:
        wired = [dep_record(d) for d in deps]
        wired.sort(key=lambda d: (d["created_at"], d["depends_on_id"], d["type"]))
        rec["dependencies"] = wired
    if comments:
        wired_c = [comment_record(c) for c in comments]
        wired_c.sort(key=lambda c: (c["created_at"], c["id"] if isinstance(c["id"], int) else 0))
        rec["comments"] = wired_c


_KNOWN_KEYS: dict[tuple[str, ...], bool] = {}


def is_canonical_line(rec: dict[str, Any], line: str) -> bool:
    """True when ``line`` is byte for byte what ``issue_line`` writes for ``rec`` once it is stored
    (``rec`` from ``parse_line``: validated and normalised). False means "not known": such a
    line must be written from the database. A bulk import uses this to write the new
    ``issues.jsonl`` from the lines it read instead of reading every row back.

    Rendering ``rec`` is what makes the line canonical; the rest is what storing it would
    change: labels and edges are sets there, comments are deduplicated and take the issue's ID,
    missing times become "now", and unknown keys (kept, but in ``extra_json``) are left to the
    database's rendering rather than reasoned about here.
    """
    keys = tuple(rec)
    known = _KNOWN_KEYS.get(keys)
    if known is None:
        known = _KNOWN_KEYS[keys] = all(k in model.FIELD_KIND for k in keys)
    if not known or "\\u0000" in line:
        return False
    issue_id = rec["id"]
    labels = rec.get("labels")
    if labels and ("" in labels or len(set(labels)) != len(labels)):
        return False
    deps = rec.get("dependencies")
    if deps:
        seen = set()
        for dep in deps:
            if dep["issue_id"] != issue_id or not dep.get("created_at"):
                return False
            seen.add((dep["depends_on_id"], dep["type"]))
        if len(seen) != len(deps):
            return False
    comments = rec.get("comments")
    if comments and not _plain_comments(comments, issue_id):
        return False
    return issue_line(rec) == line


def _plain_comments(comments: list[Any], issue_id: str) -> bool:
    """Comments the database stores as they are: numbered, this issue's, no duplicate (author, text)."""
    keys = set()
    for c in comments:
        if not isinstance(c, dict):
            return False
        cid, author, text = c.get("id"), c.get("author"), c.get("text")
        if (cid.__class__ is not int or cid <= 0 or c.get("issue_id") != issue_id or author.__class__ is not str
                or text.__class__ is not str or not c.get("created_at")):
            return False
        keys.add((author, text.strip()))
    return len(keys) == len(comments)


def render(records: list[dict[str, Any]]) -> str:
    """The file text for records (one line each, ``\\n``-terminated), sorted by ID."""
    with NoGC():
        ordered = sorted(records, key=lambda r: r["id"])
        if not ordered:
            return ""
        return "\n".join([issue_line(r) for r in ordered]) + "\n"


class NoGC:
    """Pause the cyclic garbage collector while building many short-lived, acyclic objects.

    Exporting 10,000 issues allocates about a million dicts and strings; the collector
    would otherwise scan them again and again for cycles that never exist.
    """

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        import gc

        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            import gc

            gc.enable()
