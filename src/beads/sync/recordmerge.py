"""The merge of import records into the database: one import's rules, applied row by row inside
the import transaction (``importer.import_records`` validates and dedupes the records, checks
prefixes and opens the transaction; this module decides, per record, what the database keeps).

The rules are those listed in ``sync/importer.py``: newer-wins by ``updated_at`` with nothing of
a stale record applied, renames for clashing creation identities, additive relations, tombstones
that never come back, parents before children.
"""

from __future__ import annotations

import os

from beads import ids as idgen
from beads import model, timefmt
from beads.errors import BdError, InvalidInput
from beads.sync import jsonl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.storage.sqlite.store import SqliteStore

IMPORT_ACTOR = "import"
RELATIONS = ("labels", "dependencies", "comments")
CHUNK = 2000  # rows built and inserted at a time by a bulk import
_SMALL_IMPORT = 500  # up to this many records: per-record work beats whole-table work


def _scalar(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in RELATIONS and not k.startswith("_")}


_DEFAULTS: dict[str, Any] = {}
_LIST_DEFAULTS: tuple[str, ...] = ()


def _full(rec: dict[str, Any]) -> dict[str, Any]:
    """Every known field at its default, overlaid with the record's scalar fields."""
    global _LIST_DEFAULTS
    if not _DEFAULTS:  # built once: this runs for every imported issue
        _DEFAULTS.update((name, model.default_for(kind)) for name, kind in model.FIELDS if name not in RELATIONS)
        _LIST_DEFAULTS = tuple(k for k, v in _DEFAULTS.items() if isinstance(v, list))
    issue = dict(_DEFAULTS)
    for key in _LIST_DEFAULTS:
        issue[key] = []  # never share a mutable default between issues
    issue.update(rec)
    for key in RELATIONS:
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


class RecordMerge:
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
        tombs: set[str] = set()  # of those, tombstones meeting our tombstone
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
                if cur["status"] == model.STATUS_TOMBSTONE and rec["status"] == model.STATUS_TOMBSTONE:
                    tombs.add(rec["id"])
        # Into an empty database the indexes are built once at the end, before anything reads them.
        ddl = store.drop_indexes_if_empty() if len(creates) > CHUNK else []
        created = self._create(creates, local)
        self._relations(accepted, created)
        store.restore_indexes(ddl)
        self._mark_differing(kept, tombs)
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
        for i in range(0, len(out), CHUNK):  # full rows for one chunk at a time: memory stays flat
            fulls = [_full(r) for r in out[i:i + CHUNK]]
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

    def _mark_differing(self, kept: list[dict[str, Any]], tombs: set[str]) -> None:
        """A stale record whose relations differ from ours: the file must get our copy.

        Its comments we lack are added all the same: comments only grow (none is ever removed
        between clones), so this undoes nothing, and two clones whose copies tie on
        ``updated_at`` (a comment made on an issue another clone deleted at the same time)
        would otherwise each re-export their own copy forever. For the same reason a tombstone
        meeting our tombstone (``tombs``) brings its labels too: nobody edits a deleted issue's
        labels, so there is no removal to undo, and the merge of a live side's new label into
        a deletion reaches only the clone that had the live side.
        """
        if not kept:
            return
        have = _Relations(self.store, [r["id"] for r in kept])
        rows = RelationRows(self.now)
        growing = [r for r in kept if (r.get("comments") and set(_comments(r)) - have.comments(r["id"]))
                   or (r["id"] in tombs and _labels(r) - have.labels(r["id"]))]
        used_comment_ids = self._free_comment_ids(growing) if growing else set()
        grow_ids = {r["id"] for r in growing}
        for rec in kept:
            issue_id = rec["id"]
            mine_c, mine_l = have.comments(issue_id), have.labels(issue_id)
            if issue_id in grow_ids:
                extra = {"comments": rec.get("comments") or []}
                if issue_id in tombs:
                    extra["labels"] = sorted(_labels(rec))
                    mine_l = mine_l | _labels(rec)
                rows.add(issue_id, extra, have.labels(issue_id), set(), mine_c, used_comment_ids)
                mine_c = mine_c | set(_comments(rec))
            if (mine_l != _labels(rec) or have.deps(issue_id) != set(_deps(rec))
                    or mine_c != set(_comments(rec))):
                self.dirty.add(issue_id)
        rows.insert(self.store)

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

