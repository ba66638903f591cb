"""Importing issue records (from ``issues.jsonl`` or any JSONL) into the database.

The merge rules (spec §8.4, lessons A) are what make the JSONL a safe channel
between clones:

* identity is the issue ID; a record whose ``updated_at`` is strictly newer than the
  local row replaces it; a tie or an older record changes neither fields nor labels or
  edges (it is a stale copy: applying its labels or edges would undo removals), only the
  comments we lack are added (comments are never removed, so that undoes nothing), and
  between two tombstones the labels we lack (nobody edits a deleted issue's labels);
* an incoming record under a local issue's ID but with another creation identity is a
  different issue (two clones minted one child ID): the local issue is renamed out of its
  way first, never overwritten (``recordmerge.RecordMerge._resolve_collisions``);
* the labels, dependency edges and comments of a newer record are added (comments
  deduplicated by author + trimmed text); nothing is removed because a file lacks it
  (removals between clones travel through the 3-way merge, which knows the base);
* a local tombstone never comes back; an incoming tombstone replaces a live local
  issue only when it is newer (that is how a deletion reaches other clones);
* new issues are created parents first; edges to issues nobody has (wisps, ``external:``,
  not synced yet) are kept; explicit child IDs bump the parent's child counter.

The whole import is one transaction: it lands completely or not at all. Issues are
marked dirty (for the next JSONL flush) only where the database now differs from
the file they came from: the local copy won, or it has relations the file lacks.
"""

from __future__ import annotations

import os
import re

from beads import ids as idgen
from beads import model, timefmt
from beads.errors import InvalidInput
from beads.sync import jsonl
from beads.sync.recordmerge import CHUNK as _CHUNK
from beads.sync.recordmerge import IMPORT_ACTOR as IMPORT_ACTOR
from beads.sync.recordmerge import RecordMerge
from beads.sync.recordmerge import RelationRows as RelationRows
from beads.sync.recordmerge import bump_child_counters as bump_child_counters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.storage.sqlite.store import SqliteStore

ORPHAN_MODES = ("strict", "resurrect", "skip", "allow")
_TEXT_FIELDS = ("title", "description", "design", "acceptance_criteria", "notes")
_BULK_CACHE_KIB = 64 * 1024
_DIGESTS_FROM = 256 * 1024  # a file bigger than this is matched against the recorded line digests


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def new_stats() -> dict[str, Any]:
    return {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0, "collisions": 0, "tombstoned": 0,
            "kept_local": 0, "marked_dirty": 0, "id_mapping": {}, "skipped_dependencies": [],
            "prefix_mismatch": False, "expected_prefix": "", "mismatch_prefixes": {}, "warnings": [],
            "renamed": {}}


def import_file(tracker: Tracker, path: str, **opts: Any) -> dict[str, Any]:
    """Import a JSONL file. For the workspace's own JSONL the file's hash and stat are
    recorded (so auto-import will not import it again) and issues are not marked dirty."""
    from beads.sync import export as exp

    canonical = exp.is_canonical(tracker, path)
    opts.setdefault("mark_dirty", not canonical)
    if not canonical and not tracker.store.in_transaction():
        from beads.sync import freshimport

        fresh = freshimport.import_new(tracker, path, **opts)
        if fresh is not None:
            return fresh
    stats = absorb_file(tracker, path, record_state=canonical, **opts)
    if stats is None:
        raise InvalidInput(f"cannot import {path}: file not found")
    return stats


def absorb_file(tracker: Tracker, path: str, *, record_state: bool = True, **opts: Any) -> dict[str, Any] | None:
    """Import ``path`` (None when it does not exist), skipping every line whose digest is the one
    recorded for its issue (``sync/linescan.py``: such a line brings nothing), and record the
    digests of the lines taken in. ``record_state`` records the file's hash and stat too (the
    workspace's own JSONL: auto-import will not read it again). One transaction."""
    from beads.sync import export as exp
    from beads.sync import linescan

    store = tracker.store
    try:
        big = os.stat(path).st_size > _DIGESTS_FROM
    except OSError:
        big = False
    vocab = vocab_of(tracker)
    scan = None
    if big and not record_state:
        ours = _written_jsonl(tracker)
        if ours is not None:
            scan = linescan.scan_against(path, vocab, ours[0], ours[1])
    if scan is None:
        scan = linescan.scan_file(path, vocab, store.line_digests() if big else {}, whole_hash=record_state)
    if scan is None:
        return None
    absorbed: set[str] = set()
    with store.transaction():
        stats = import_records(tracker, scan.records, validated=True, absorbed=absorbed, **opts)
        stats["unchanged"] += scan.skipped
        if not opts.get("dry_run"):
            store.set_line_digests({i: d for i, d in scan.digests.items() if i in absorbed})
            if record_state:
                # the very bytes recorded before (a touch, a checkout of the same content): a file
                # known to hold every issue still does
                meta = store.get_metadata_many([exp.KEY_STAT, exp.KEY_CONTENT_HASH, exp.KEY_COMPLETE])
                complete = bool(meta.get(exp.KEY_STAT)) and meta.get(exp.KEY_COMPLETE) == meta.get(exp.KEY_STAT) \
                    and meta.get(exp.KEY_CONTENT_HASH) == scan.sha256
                in_order = jsonl.ids_in_order(scan.ids)
                exp.record_file_state(store, None, scan.stat, scan.ids, digest=scan.sha256, in_order=in_order,
                                      canonical=scan.canonical and in_order, complete=complete)
    return stats


def _written_jsonl(tracker: Tracker) -> tuple[str, Callable[[os.stat_result], bool]] | None:
    """The workspace's JSONL and a check of its stat, when it is the file this database last
    wrote, sorted, with no hard delete waiting to leave it: every line of it is one an import
    would find not newer (``linescan.scan_against`` skips the lines of another file equal to
    its lines). None otherwise."""
    from beads.sync import export as exp

    ws = tracker.workspace
    if ws is None:
        return None
    meta = tracker.store.get_metadata_many([exp.KEY_STAT, exp.KEY_WRITTEN, exp.KEY_CANONICAL])
    written = meta.get(exp.KEY_WRITTEN)
    if not written or meta.get(exp.KEY_STAT) != written or meta.get(exp.KEY_CANONICAL) != written:
        return None
    if tracker.store.pending_hard_deletes():
        return None

    def trusted(st: os.stat_result) -> bool:
        return exp.fingerprint(st) == written

    return ws.jsonl_path, trusted


def import_records(tracker: Tracker, records: list[dict[str, Any]], *, dry_run: bool = False,
                   skip_existing: bool = False, rename_on_import: bool = False, orphan_handling: str = "allow",
                   skip_prefix_validation: bool = False, mark_dirty: bool = True,
                   validated: bool = False, absorbed: set[str] | None = None) -> dict[str, Any]:
    """Merge ``records`` (parsed JSONL objects) into the database; returns the counters.

    ``mark_dirty`` marks created/updated issues for the next JSONL flush (pass False
    when the records come from the workspace's own JSONL, which already has them).
    Raises ``InvalidInput`` for a prefix mismatch (unless ``rename_on_import`` or
    ``skip_prefix_validation``), an orphan in strict mode, or an invalid record;
    the database is then unchanged. ``validated`` says the records come from
    ``jsonl.parse_jsonl`` with this workspace's vocabularies (already checked and normalised,
    line by line); those dicts are not copied, and ``rename_on_import`` changes them in place.
    ``absorbed`` receives the IDs of the records the database now holds at least as new
    (created, applied, or not newer than the local issue): importing them again changes nothing.
    """
    if orphan_handling not in ORPHAN_MODES:
        raise InvalidInput(f"invalid orphan handling {orphan_handling!r} (expected one of: {', '.join(ORPHAN_MODES)})")
    stats = new_stats()
    store = tracker.store
    if validated:  # parse_jsonl's own dicts, normalised already: used as they are (no second copy in memory)
        records = _dedupe(records, stats)
    else:
        _validate(records, vocab_of(tracker))
        records = _dedupe([jsonl.normalize_record(dict(r)) for r in records], stats)
    _check_external_refs(records)
    # A bulk load touches index pages all over: a page cache that holds them (allocated as used)
    # halves the SQLite time of 100,000 issues.
    previous = store.set_cache_size(-_BULK_CACHE_KIB) if len(records) > _CHUNK else None
    try:
        with store.transaction(), jsonl.NoGC():  # a bulk of acyclic dicts: nothing for the collector
            records = _check_prefixes(store, records, stats, rename_on_import, skip_prefix_validation or dry_run)
            RecordMerge(tracker, stats, skip_existing=skip_existing, orphan_handling=orphan_handling,
                   mark_dirty=mark_dirty, absorbed=absorbed).run(records)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        if previous is not None:
            store.set_cache_size(previous)
    if not dry_run and stats["created"] + stats["updated"] > 200:
        store.checkpoint()
    return stats


def summary(stats: dict[str, Any], *, dry_run: bool = False) -> str:
    """The one-line report the original prints after an import."""
    if dry_run:
        text = f"Would create {stats['created']} new issues, update {stats['updated']} existing issues"
        if stats["unchanged"]:
            text += f", {stats['unchanged']} unchanged"
        return text
    text = f"Import complete: {stats['created']} created, {stats['updated']} updated"
    if stats["unchanged"]:
        text += f", {stats['unchanged']} unchanged"
    if stats["skipped"]:
        text += f", {stats['skipped']} skipped"
    if stats["id_mapping"]:
        text += f", {len(stats['id_mapping'])} issues remapped"
    return text


# -- preparation ------------------------------------------------------------------------------


def _dedupe(records: list[dict[str, Any]], stats: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per ID: the newest ``updated_at`` wins (the later line on a tie)."""
    by_id: dict[str, dict[str, Any]] = {}
    for rec in records:
        old = by_id.get(rec["id"])
        if old is not None:
            stats["skipped"] += 1
            if (timefmt.to_ns(old["updated_at"]) or 0) > (timefmt.to_ns(rec["updated_at"]) or 0):
                continue
        by_id[rec["id"]] = rec
    return list(by_id.values())


def vocab_of(tracker: Tracker) -> model.Vocab:
    """The statuses and types records may use here: built-in plus this workspace's custom ones."""
    return model.Vocab(tracker.custom_statuses(), tracker.custom_types())


def _validate(records: list[dict[str, Any]], vocab: model.Vocab) -> None:
    """The CLI's rules for every record (``model.record_problem``): nothing invalid enters the database."""
    for rec in records:
        problem = model.record_problem(rec, vocab) if isinstance(rec, dict) else "the record is not an object"
        if problem is not None:
            shown = rec.get("id") if isinstance(rec, dict) else None
            raise InvalidInput(f"cannot import {shown if isinstance(shown, str) else model.shown(shown)}: {problem}")


def _check_external_refs(records: list[dict[str, Any]]) -> None:
    refs: dict[str, str] = {}
    for rec in records:
        issue_id = rec["id"]
        ref = rec.get("external_ref")
        if ref:
            if ref in refs:
                raise InvalidInput(f"batch import contains duplicate external_ref values: external_ref '{ref}' "
                                   f"appears in issues: [{refs[ref]} {issue_id}]")
            refs[ref] = issue_id


def _check_prefixes(store: SqliteStore, records: list[dict[str, Any]], stats: dict[str, Any],
                    rename: bool, lenient: bool) -> list[dict[str, Any]]:
    prefix = (store.get_config("issue_prefix") or "").strip()
    if not prefix:
        if rename:
            raise InvalidInput("cannot rename: issue_prefix not configured in database")
        detected = detect_prefix(records)
        if detected:
            store.set_config("issue_prefix", detected)
            stats["warnings"].append(f"Initialized database with prefix '{detected}' (detected from issues)")
        return records
    stats["expected_prefix"] = prefix
    allowed = [prefix] + [p.strip().rstrip("-") for p in (store.get_config("allowed_prefixes") or "").split(",")
                          if p.strip()]
    starts = tuple(p + "-" for p in allowed)
    live: dict[str, int] = {}
    dead: list[str] = []
    for rec in records:
        if rec["id"].startswith(starts):
            continue
        if rec["status"] == model.STATUS_TOMBSTONE:
            dead.append(rec["id"])
        else:
            other = idgen.extract_prefix(rec["id"])
            live[other] = live.get(other, 0) + 1
    if not live:
        # Foreign tombstones are ignored, except for issues this database has: those were
        # imported earlier (leniently) and their deletion must reach them too.
        gone = set(dead) - set(store.get_issues(dead)) if dead else set()
        if gone:
            stats["warnings"].append(f"Ignoring prefix mismatches (all are tombstones): {len(gone)} issue(s)")
            records = [r for r in records if r["id"] not in gone]
        return records
    stats["prefix_mismatch"] = True
    stats["mismatch_prefixes"] = dict(sorted(live.items()))
    if rename:
        return _rename(records, prefix, starts, stats)
    if lenient:
        return records
    found = ", ".join(f"{p}- ({n} issues)" for p, n in sorted(live.items()))
    raise InvalidInput(f"prefix mismatch detected: database uses '{prefix}-' but found issues with prefixes: "
                       f"[{found}] (use --rename-on-import to automatically fix)")


def detect_prefix(records: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for rec in records:
        p = idgen.extract_prefix(rec["id"])
        if p:
            counts[p] = counts.get(p, 0) + 1
    return max(sorted(counts), key=lambda p: counts[p]) if counts else ""


def _rename(records: list[dict[str, Any]], prefix: str, starts: tuple[str, ...],
            stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Give every foreign-prefix record our prefix; edges, comments and text references follow."""
    mapping: dict[str, str] = {}
    for rec in records:
        old = rec["id"]
        if not old.startswith(starts):
            old_prefix = idgen.extract_prefix(old)
            mapping[old] = f"{prefix}-{old[len(old_prefix) + 1:]}" if old_prefix else f"{prefix}-{old}"
    if not mapping:
        return records
    pattern = re.compile(r"(?<![A-Za-z0-9_.\-\[:])(" + "|".join(re.escape(k) for k in
                                                                 sorted(mapping, key=len, reverse=True))
                         + r")(?![A-Za-z0-9_\-]|\.\d)")
    for rec in records:
        rec["id"] = mapping.get(rec["id"], rec["id"])
        for field in _TEXT_FIELDS:
            text = rec.get(field)
            if text:
                rec[field] = pattern.sub(lambda m: mapping[m.group(1)], text)
        for dep in rec.get("dependencies") or []:
            dep["issue_id"] = rec["id"]
            dep["depends_on_id"] = mapping.get(dep["depends_on_id"], dep["depends_on_id"])
        for comment in rec.get("comments") or []:
            comment["issue_id"] = rec["id"]
    stats["id_mapping"] = dict(sorted(mapping.items()))
    stats["prefix_mismatch"] = False
    stats["mismatch_prefixes"] = {}
    return records
