"""Importing issue records (from ``issues.jsonl`` or any JSONL) into the database.

The merge rules (spec §8.4, lessons A) are what make the JSONL a safe channel
between clones:

* identity is the issue ID; a record whose ``updated_at`` is strictly newer than the
  local row replaces it; a tie or an older record changes nothing at all, neither fields
  nor relations (it is a stale copy: applying its labels or edges would undo removals);
* an incoming record under a local issue's ID but with another creation identity is a
  different issue (two clones minted one child ID): the local issue is renamed out of its
  way first, never overwritten (``_Merge._resolve_collisions``);
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
from beads.errors import BdError, InvalidInput
from beads.sync import jsonl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.storage.sqlite.store import SqliteStore

ORPHAN_MODES = ("strict", "resurrect", "skip", "allow")
IMPORT_ACTOR = "import"
_RELATIONS = ("labels", "dependencies", "comments")
_TEXT_FIELDS = ("title", "description", "design", "acceptance_criteria", "notes")
_CHUNK = 2000  # rows built and inserted at a time by a bulk import
_BULK_CACHE_KIB = 64 * 1024
_SMALL_IMPORT = 500  # up to this many records: per-record work beats whole-table work
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
            _Merge(tracker, stats, skip_existing=skip_existing, orphan_handling=orphan_handling,
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


# -- the merge ----------------------------------------------------------------------------------


def _scalar(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in _RELATIONS and not k.startswith("_")}


_DEFAULTS: dict[str, Any] = {}
_LIST_DEFAULTS: tuple[str, ...] = ()


def _full(rec: dict[str, Any]) -> dict[str, Any]:
    """Every known field at its default, overlaid with the record's scalar fields."""
    global _LIST_DEFAULTS
    if not _DEFAULTS:  # built once: this runs for every imported issue
        _DEFAULTS.update((name, model.default_for(kind)) for name, kind in model.FIELDS if name not in _RELATIONS)
        _LIST_DEFAULTS = tuple(k for k, v in _DEFAULTS.items() if isinstance(v, list))
    issue = dict(_DEFAULTS)
    for key in _LIST_DEFAULTS:
        issue[key] = []  # never share a mutable default between issues
    issue.update(rec)
    for key in _RELATIONS:
        issue.pop(key, None)
    for key in [k for k in rec if k[:1] == "_"]:
        del issue[key]
    return issue


def _effective_ns(rec: dict[str, Any]) -> int | None:
    ns = timefmt.to_ns(rec.get("updated_at"))
    if rec.get("status") == model.STATUS_TOMBSTONE:
        deleted = timefmt.to_ns(rec.get("deleted_at"))
        if deleted is not None and (ns is None or deleted > ns):
            ns = deleted
    return ns


_NEWER, _NOT_NEWER, _REFUSED = "newer", "not newer", "refused"


class _Merge:
    """One import's merge state, run inside the import transaction."""

    def __init__(self, tracker: Tracker, stats: dict[str, Any], *, skip_existing: bool, orphan_handling: str,
                 mark_dirty: bool, absorbed: set[str] | None = None) -> None:
        self.tracker = tracker
        self.absorbed = absorbed if absorbed is not None else set()
        self.store = tracker.store
        self.stats = stats
        self.skip_existing = skip_existing
        self.orphan_handling = orphan_handling
        self.mark_all = mark_dirty
        self.dirty: set[str] = set()
        self.changed_graph = False
        self.moved = False  # local issues were renamed out of the way: the cache is rebuilt in full
        self.now = timefmt.now()

    def run(self, records: list[dict[str, Any]]) -> None:
        store = self.store
        self._resolve_collisions(records)
        local = self._local_rows(records)
        pending = store.pending_hard_deletes() if records else set()
        creates: list[dict[str, Any]] = []
        accepted: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []  # not newer than the local issue: nothing of them applies
        for rec in sorted(records, key=lambda r: r["id"]):
            cur = local.get(rec["id"])
            if cur is None:
                if rec["id"] in pending:
                    self.stats["skipped"] += 1
                    self.stats["warnings"].append(f"{rec['id']} was deleted here; not re-creating it")
                else:
                    creates.append(rec)
                continue
            if self.skip_existing or (cur["status"] == model.STATUS_TOMBSTONE
                                      and rec["status"] != model.STATUS_TOMBSTONE):
                self.stats["skipped"] += 1  # a deletion never comes back
                continue
            # A tombstone meeting a tombstone is merged like any record (newer wins, relations
            # additive): the 3-way merge may have folded a concurrent edit into the shared one.
            verdict = self._merge_existing(cur, rec)
            if verdict == _NEWER:
                accepted.append(rec)
            elif verdict == _NOT_NEWER:
                kept.append(rec)
        # Into an empty database the indexes are built once at the end, before anything reads them.
        ddl = store.drop_indexes_if_empty() if len(creates) > _CHUNK else []
        created = self._create(creates, local)
        self._relations(accepted, created)
        store.restore_indexes(ddl)
        self._mark_differing(kept)
        self.absorbed.update(r["id"] for part in (created, accepted, kept) for r in part)
        bump_child_counters(store, [r["id"] for r in accepted + created])
        if self.mark_all:
            self.dirty.update(r["id"] for r in created)
        mapping = self.stats["id_mapping"]
        if mapping:
            # Renamed issues must reach the file under their new IDs, and their old lines leave
            # it: a dirty mark on an ID without a row is what tells the flush to drop a line.
            landed = {r["id"] for r in created} | {r["id"] for r in accepted}
            self.dirty.update(new for new in mapping.values() if new in landed)
            self.dirty.update(old for old in mapping if old not in local)
        if self.dirty:
            store.mark_dirty(sorted(self.dirty), self.now)
        self.stats["marked_dirty"] = len(self.dirty)
        if self.changed_graph:
            self._update_blocked_cache(accepted, created)

    def _update_blocked_cache(self, accepted: list[dict[str, Any]], created: list[dict[str, Any]]) -> None:
        """A small import refreshes only what it can have changed (docs/PERFORMANCE.md): the issues
        it touched or created, the issues they can block, and any waits-for gate; a big one, or one
        that renamed issues, rebuilds the whole cache."""
        store = self.store
        touched = [r["id"] for r in accepted] + [r["id"] for r in created]
        if len(touched) > _SMALL_IMPORT or self.moved or self.stats["id_mapping"]:
            store.rebuild_blocked_cache()
            return
        seeds = set(touched)
        for issue_id in touched:  # edges kept while their target was missing count from now on
            seeds.update(store.blocking_dependents(issue_id))
        if store.has_edges_of_type(model.DEP_WAITS_FOR):
            seeds.update(store.waits_for_sources())
        store.refresh_blocked(sorted(seeds))

    def _local_rows(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The local rows under the records' IDs: for a big file all IDs are loaded in one scan
        first, so a fresh database (or a file of new issues) costs no lookups at all."""
        if len(records) <= _SMALL_IMPORT:
            return self.store.get_issues([r["id"] for r in records])
        present = set(self.store.all_ids())
        wanted = [r["id"] for r in records if r["id"] in present]
        return self.store.get_issues(wanted) if wanted else {}

    # -- id collisions (two clones minted one id for different issues) ----------------------------

    def _resolve_collisions(self, records: list[dict[str, Any]]) -> None:
        """Move local issues out of the way of *different* incoming issues under the same id.

        Identity is (created_at, created_by) (``merge.collides``). When the file holds the local
        issue's identity under another id (the 3-way merge renamed it), the local issue takes
        that id; otherwise (it never reached the file) it takes a fresh id, is marked dirty and
        reported in ``renamed``. Descendants move along; nothing is ever overwritten or dropped.
        """
        from beads.sync.merge import collides, identity_key

        store = self.store
        local = self._local_rows(records)
        clashes = [r for r in records if (cur := local.get(r["id"])) is not None and collides(cur, r)]
        if not clashes:
            return
        in_file: dict[Any, str] = {}
        for r in records:
            key = identity_key(r)
            if key is not None:
                in_file.setdefault(key, r["id"])
        file_ids = {r["id"] for r in records}
        for rec in sorted(clashes, key=lambda r: (idgen.hierarchy_depth(r["id"]), r["id"])):
            cur = store.get_issue(rec["id"])
            if cur is None or not collides(cur, rec):
                continue  # moved along with a renamed ancestor
            old = rec["id"]
            key = identity_key(cur)
            target = in_file.get(key) if key is not None else None
            if target is not None and target != old and not store.issue_exists(target):
                self._move(old, target, in_file)
                continue
            taken = set(store.all_ids()) | file_ids
            parent = idgen.parent_of(old)
            at_least = idgen.child_numbers(parent, taken) + 1 if parent else 0
            seed = f"{old}|{cur.get('created_at') or ''}|{cur.get('created_by') or ''}"
            new = idgen.collision_id(old, seed, taken.__contains__, at_least=at_least)
            moves = self._move(old, new, in_file)
            self.stats["renamed"].update(moves)
            self.dirty.update(moves.values())
            self.stats["warnings"].append(
                f"{old} in the file is a different issue than the local {old}: the local issue is now {new}")

    def _move(self, old: str, new: str, in_file: dict[Any, str]) -> dict[str, str]:
        """Rename a local issue and its descendants (``old.x`` → ``new.x``); bump child counters."""
        from beads.sync.merge import identity_key

        store = self.store
        descendants = sorted((i for i in store.all_ids() if i.startswith(old + ".")),
                             key=lambda i: (i.count("."), i))
        moves = {old: new}
        existing = store.get_issues(descendants) if descendants else {}
        for d in descendants:
            key = identity_key(existing[d]) if d in existing else None
            found = in_file.get(key) if key is not None else None
            if found == d:
                continue  # the file has this very issue where it is: it stays
            target = found or new + d[len(old):]  # where the merge put it, else along with its parent
            if not store.issue_exists(target) and target not in moves.values():
                moves[d] = target
        for src, dst in moves.items():
            store.rename_issue(src, dst)
            store.add_events([(dst, "renamed", IMPORT_ACTOR, f"{src} -> {dst} (id taken by another issue)",
                               self.now)])
        for src, dst in moves.items():
            for issue_id in (src, dst):
                parent = idgen.parent_of(issue_id)
                if parent and store.issue_exists(parent):
                    store.bump_child_counter(parent, int(issue_id.rpartition(".")[2]))
        self.changed_graph = self.moved = True
        return moves

    # -- issues ----------------------------------------------------------------------------------

    def _merge_existing(self, cur: dict[str, Any], rec: dict[str, Any]) -> str:
        """Apply newer-wins to an existing issue: ``_NEWER`` (applied), ``_NOT_NEWER`` or ``_REFUSED``.

        A record that is not strictly newer changes nothing, neither fields nor relations:
        it is a stale copy (another process's flush from before our latest write, an older
        file), and a union of its labels or edges would bring back what was just removed.
        """
        incoming_ns, local_ns = _effective_ns(rec), _effective_ns(cur)
        if incoming_ns is None or (local_ns is not None and incoming_ns <= local_ns):
            self.stats["unchanged"] += 1
            if jsonl.wire_record(_scalar(cur)) != jsonl.wire_record(_scalar(rec)):
                self.stats["kept_local"] += 1
                self.dirty.add(cur["id"])  # the database's copy won: the file must get it
            return _NOT_NEWER
        ref = rec.get("external_ref")
        if ref and ref != cur.get("external_ref"):
            owner = self.store.find_by_external_ref(ref)
            if owner and owner != cur["id"]:
                self._skip_ref(rec, owner)
                return _REFUSED
        full = _full(rec)
        self.store.update_issue(cur["id"], {k: v for k, v in full.items() if k != "id"}, model.content_hash(full),
                                full)
        self.stats["updated"] += 1
        if self.mark_all:
            self.dirty.add(cur["id"])
        self.changed_graph = True
        event = "updated"
        if rec["status"] != cur["status"]:
            if rec["status"] == model.STATUS_TOMBSTONE:
                event = "deleted"
                self.stats["tombstoned"] += 1
                self.store.remove_outgoing_dependencies(cur["id"])
            elif rec["status"] == model.STATUS_CLOSED:
                event = "closed"
            elif cur["status"] == model.STATUS_CLOSED:
                event = "reopened"
            else:
                event = "status_changed"
        self.store.add_events([(cur["id"], event, IMPORT_ACTOR, "imported", self.now)])
        return _NEWER

    def _skip_ref(self, rec: dict[str, Any], owner: str) -> None:
        self.stats["skipped"] += 1
        self.stats["warnings"].append(
            f"skipping {rec['id']}: its external_ref {rec['external_ref']!r} is already used by {owner}")

    def _create(self, creates: list[dict[str, Any]], local: dict[str, Any]) -> list[dict[str, Any]]:
        if not creates:
            return []
        store = self.store
        creates.sort(key=lambda r: (idgen.hierarchy_depth(r["id"]), r["id"]))
        batch = {r["id"] for r in creates}
        known_parents: dict[str, bool] = {}
        out: list[dict[str, Any]] = []
        refs = {r["external_ref"]: r["id"] for r in creates if r.get("external_ref")}
        taken_refs = store.external_ref_owners(sorted(refs)) if refs else {}
        for rec in creates:
            parent = idgen.parent_of(rec["id"])
            if parent and parent not in batch and parent not in local:
                if parent not in known_parents:
                    known_parents[parent] = store.issue_exists(parent)
                if not known_parents[parent] and not self._orphan(rec, parent, batch, known_parents):
                    batch.discard(rec["id"])
                    continue
            ref = rec.get("external_ref")
            if ref and ref in taken_refs:
                self._skip_ref(rec, taken_refs[ref])
                batch.discard(rec["id"])
                continue
            out.append(rec)
        for i in range(0, len(out), _CHUNK):  # full rows for one chunk at a time: memory stays flat
            fulls = [_full(r) for r in out[i:i + _CHUNK]]
            store.insert_issues(fulls, [model.content_hash(f) for f in fulls])
            store.add_events([(f["id"], "created", IMPORT_ACTOR, "imported", self.now) for f in fulls])
        self.stats["created"] += len(out)
        self.changed_graph = self.changed_graph or bool(out)
        return out

    def _orphan(self, rec: dict[str, Any], parent: str, batch: set[str], known: dict[str, bool]) -> bool:
        """Decide about a child whose parent exists nowhere; True to create it anyway."""
        mode = self.orphan_handling
        if mode == "strict":
            raise InvalidInput(f"parent issue {parent} does not exist (strict mode)")
        if mode == "skip":
            self.stats["skipped"] += 1
            self.stats["warnings"].append(f"skipping orphan {rec['id']}: parent {parent} does not exist")
            return False
        if mode == "resurrect":
            if not self._resurrect(parent):
                raise InvalidInput(f"parent issue {parent} does not exist and cannot be resurrected")
            known[parent] = True
        return True

    def _resurrect(self, parent: str) -> bool:
        """Recreate a missing parent as a closed placeholder from the workspace JSONL."""
        grand = idgen.parent_of(parent)
        if grand and not self.store.issue_exists(grand) and not self._resurrect(grand):
            return False
        ws = self.tracker.workspace
        if ws is None or not os.path.exists(ws.jsonl_path):
            return False
        try:
            found = [r for r in jsonl.read_jsonl(ws.jsonl_path) if r["id"] == parent]
        except BdError:
            return False
        if not found:
            return False
        old = found[-1]
        now = timefmt.now()
        text = "[RESURRECTED] This issue was deleted but recreated as a tombstone to preserve hierarchical structure."
        if old.get("description"):
            text += "\n\nOriginal description:\n" + old["description"]
        placeholder = model.new_issue(id=parent, title=old.get("title") or parent, description=text,
                                      status=model.STATUS_CLOSED, priority=4, issue_type=old.get("issue_type") or "task",
                                      created_at=old.get("created_at") or now, updated_at=now, closed_at=now)
        self.store.insert_issue(placeholder, model.content_hash(placeholder))
        self.dirty.add(parent)
        self.stats["warnings"].append(f"resurrected missing parent {parent} as a closed placeholder")
        return True

    # -- relations ----------------------------------------------------------------------------

    def _relations(self, accepted: list[dict[str, Any]], created: list[dict[str, Any]]) -> None:
        """Add the labels, edges and comments of newer and new records (additive).

        An edge whose target is in neither the file nor the database (an ephemeral issue, an
        ``external:`` target, an issue not synced yet) is kept, as the original does, so a
        round trip writes it back; such an edge blocks nothing (docs/READY.md).
        """
        store = self.store
        have = _Relations(store, [r["id"] for r in accepted])
        rows = RelationRows(self.now)
        used_comment_ids = self._free_comment_ids(accepted + created)
        for rec in accepted + created:
            issue_id = rec["id"]
            added, extra = rows.add(issue_id, rec, have.labels(issue_id), have.deps(issue_id),
                                    have.comments(issue_id), used_comment_ids)
            if extra or (added and self.mark_all):
                self.dirty.add(issue_id)
        self.changed_graph = rows.insert(store) or self.changed_graph

    def _mark_differing(self, kept: list[dict[str, Any]]) -> None:
        """A stale record whose relations differ from ours: the file must get our copy."""
        if not kept:
            return
        have = _Relations(self.store, [r["id"] for r in kept])
        for rec in kept:
            issue_id = rec["id"]
            if (have.labels(issue_id) != _labels(rec) or have.deps(issue_id) != set(_deps(rec))
                    or have.comments(issue_id) != set(_comments(rec))):
                self.dirty.add(issue_id)

    def _free_comment_ids(self, records: list[dict[str, Any]]) -> set[int]:
        """Comment IDs from the file that are still free here (kept, so the file round-trips)."""
        wanted: list[int] = []
        seen: set[int] = set()
        for rec in records:
            for comment in rec.get("comments") or []:
                cid = comment.get("id") if isinstance(comment, dict) else None
                if isinstance(cid, int) and not isinstance(cid, bool) and cid > 0 and cid not in seen:
                    seen.add(cid)
                    wanted.append(cid)
        if not wanted:
            return set()
        return seen - self.store.comment_ids_taken(wanted)

class RelationRows:
    """The label, edge and comment rows that new and newer records add (additive), for one insert."""

    def __init__(self, now: str) -> None:
        self.now = now
        self.labels: list[tuple[str, str]] = []
        self.deps: list[dict[str, Any]] = []
        self.comments: list[tuple[int | None, str, str, str, str]] = []

    def add(self, issue_id: str, rec: dict[str, Any], mine: set[str], mine_deps: set[tuple[str, str]],
            mine_c: set[tuple[str, str]], used_comment_ids: set[int]) -> tuple[bool, bool]:
        """Rows for what ``rec`` has and the local issue (``mine``…) lacks: (added any, local has more).
        A comment ID from the file is kept while it is in ``used_comment_ids`` (then taken)."""
        added = extra = False
        if mine or rec.get("labels"):  # (most records of a big import lack one relation or another)
            theirs = _labels(rec)
            self.labels.extend((issue_id, label) for label in sorted(theirs - mine))
            extra = bool(mine - theirs)
            added = bool(theirs - mine)
        if mine_deps or rec.get("dependencies"):
            their_deps = _deps(rec)
            for key, dep in their_deps.items():
                if key not in mine_deps:
                    self.deps.append({**dep, "issue_id": issue_id, "created_at": dep.get("created_at") or self.now})
                    added = True
            extra |= bool(mine_deps - set(their_deps))
        if mine_c or rec.get("comments"):
            their_c = _comments(rec)
            for key, comment in their_c.items():
                if key in mine_c:
                    continue
                cid = comment.get("id")
                keep = cid if isinstance(cid, int) and cid in used_comment_ids else None
                if keep is not None:
                    used_comment_ids.discard(keep)
                self.comments.append((keep, issue_id, key[0], comment.get("text") or "",
                                      comment.get("created_at") or timefmt.now_utc()))
                added = True
            extra |= bool(mine_c - set(their_c))
        return added, extra

    def insert(self, store: SqliteStore) -> bool:
        """Insert the rows; True when edges were added (the graph changed)."""
        if self.labels:
            store.add_labels(self.labels)
        if self.deps:
            store.add_dependencies(self.deps)
        if self.comments:
            store.insert_comments(self.comments)
        return bool(self.deps)


def bump_child_counters(store: SqliteStore, ids: Iterable[str]) -> None:
    """Explicit child IDs (``parent.N``) raise their parent's counter, so new children never reuse N."""
    bumps: dict[str, int] = {}
    for issue_id in ids:
        parent = idgen.parent_of(issue_id)
        if parent:
            number = int(issue_id.rpartition(".")[2])
            bumps[parent] = max(bumps.get(parent, 0), number)
    if not bumps:
        return
    present = store.existing_ids(sorted(bumps))
    for parent, number in sorted(bumps.items()):
        if parent in present:
            store.bump_child_counter(parent, number)


class _Relations:
    """The local labels, edge keys and comment keys of some issues, loaded in three queries."""

    def __init__(self, store: SqliteStore, ids: list[str]) -> None:
        self._labels = store.labels_for(ids) if ids else {}
        self._deps = store.dependencies_for(ids) if ids else {}
        self._comments = store.comments_for(ids) if ids else {}

    def labels(self, issue_id: str) -> set[str]:
        return set(self._labels.get(issue_id, ()))

    def deps(self, issue_id: str) -> set[tuple[str, str]]:
        return {(d["depends_on_id"], d["type"]) for d in self._deps.get(issue_id, ())}

    def comments(self, issue_id: str) -> set[tuple[str, str]]:
        return {(c["author"], (c["text"] or "").strip()) for c in self._comments.get(issue_id, ())}


def _labels(rec: dict[str, Any]) -> set[str]:
    return {label for label in rec.get("labels") or () if isinstance(label, str) and label}


def _deps(rec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(depends_on_id, type) → the edge, first occurrence kept."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for dep in rec.get("dependencies") or []:
        out.setdefault((dep["depends_on_id"], dep["type"]), dep)
    return out


def _comments(rec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(author, trimmed text) → the comment: the dedup key of the original."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for comment in rec.get("comments") or []:
        if isinstance(comment, dict):
            key = (comment.get("author") or "", (comment.get("text") or "").strip())
            out.setdefault(key, comment)
    return out

