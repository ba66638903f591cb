"""``bd doctor``'s JSONL checks and repairs: per-line integrity with the importer's own rules
(``jsonl.parse_line``: JSON, an issue object, ``model.record_problem``), conflict markers and
duplicate IDs; and whether the database and the file agree."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from beads import model
    from beads.core.tracker import Tracker


def _lines(path: str) -> Iterator[tuple[int, str, bool]]:
    """(number, text, is UTF-8) of each line, read one at a time (bad bytes shown as U+FFFD)."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                yield number, raw.decode("utf-8").rstrip("\n"), True
            except UnicodeDecodeError:
                yield number, raw.decode("utf-8", "replace").rstrip("\n"), False


def classify(path: str, vocab: model.Vocab, *, keep: bool = True,
             visit: Callable[[dict[str, Any]], None] | None = None,
             ) -> tuple[list[tuple[int, str]], list[dict[str, Any]], list[str]]:
    """(problems as (line number, why), the valid records (when ``keep``), the bad lines' text);
    ``visit`` sees each valid record as it is read (so a caller need not keep 100,000 of them)."""
    from beads.errors import CorruptJSONL
    from beads.sync import jsonl

    problems: list[tuple[int, str]] = []
    records: list[dict[str, Any]] = []
    bad: list[str] = []
    first_line: dict[str, int] = {}
    name = os.path.basename(path)
    for number, line, utf8 in _lines(path):
        if not utf8:
            problems.append((number, "invalid UTF-8"))
            bad.append(line)
            continue
        if not line.strip():
            continue
        if jsonl.conflict_marker(line):
            problems.append((number, "git merge conflict marker"))
            bad.append(line)
            continue
        try:
            rec = jsonl.parse_line(line, number, name, vocab)
        except CorruptJSONL as exc:
            problems.append((number, exc.message.split("\n")[0].split(": ", 1)[-1]))
            bad.append(line)
            continue
        seen = first_line.get(rec["id"])
        if seen is not None:
            problems.append((number, f"duplicate id {rec['id']} (first on line {seen})"))
        else:
            first_line[rec["id"]] = number
        if keep:
            records.append(rec)
        if visit is not None:
            visit(rec)
    return problems, records, bad


def scan(path: str, vocab: model.Vocab) -> list[tuple[int, str]]:
    return classify(path, vocab, keep=False)[0]


def repair(tracker: Tracker, path: str, vocab: model.Vocab) -> str:
    """Import the valid records (newer wins, as always), keep the bad lines aside, and rewrite
    the file from the database."""
    from beads.core.setup import atomic_write
    from beads.sync import export, importer

    problems, records, bad = classify(path, vocab)
    if records:
        importer.import_records(tracker, records, skip_prefix_validation=True, mark_dirty=False)
    kept = ""
    if bad:
        kept = path + ".rejected"
        previous = ""
        if os.path.exists(kept):
            with open(kept, encoding="utf-8", errors="replace") as fh:
                previous = fh.read()
        atomic_write(kept, previous + "\n".join(bad) + "\n")
    export.export_jsonl(tracker, path, force=True)
    note = f"; {len(bad)} bad line(s) kept in {os.path.basename(kept)}" if kept else ""
    return f"imported {len(records)} record(s) and rewrote {os.path.basename(path)}{note}"


def sync_state(tracker: Tracker) -> dict[str, Any]:
    """What differs between the database and the JSONL, without changing either."""
    from beads.sync import export

    store = tracker.store
    assert tracker.workspace is not None
    path = tracker.workspace.jsonl_path
    unexported = len(store.dirty_ids())
    issues = store.issue_count()
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    missing = st is None
    changed = False
    if st is not None and st.st_size:
        # as auto-import judges it: the stat recorded at the last import/export, then the bytes' hash
        meta = store.get_metadata_many([export.KEY_STAT, export.KEY_CONTENT_HASH, export.LEGACY_HASH])
        if meta.get(export.KEY_STAT) != export.fingerprint(st):
            known = meta.get(export.KEY_CONTENT_HASH) or meta.get(export.LEGACY_HASH)
            changed = not known or _file_sha256(path) != known
    return {"unexported": unexported, "issues": issues, "jsonl_missing": missing and issues > 0,
            "jsonl_changed": changed}


def _file_sha256(path: str) -> str:
    """The hex SHA-256 of a file, read in 1 MiB pieces (a 100,000-issue JSONL is never held whole)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def resync(tracker: Tracker) -> str:
    """Import what the file has that the database lacks, then flush the database's changes."""
    from beads.errors import SyncError
    from beads.sync import auto, export

    warnings: list[str] = []
    auto.before_command(tracker, warnings.append)
    if warnings:
        raise SyncError("; ".join(warnings))
    export.flush(tracker)
    state = sync_state(tracker)
    if state["unexported"] or state["jsonl_changed"] or state["jsonl_missing"]:
        export.export_jsonl(tracker)
    return "imported the JSONL's changes and exported the database's"
