"""The steps ``bd sync`` is made of, and the modes that are only steps (spec §8.6, §8.8).

``flush_only`` (the pre-commit hook), ``import_only`` (post-merge, post-checkout), and the
helpers over the JSONL layer that the full sync (``beads.sync.gitsync``), sync-branch mode
(``beads.sync.branchsync``) and the other modes (``beads.sync.syncmodes``) share: import the
file when something else changed it, export what the database changed, count what an
import did, and apply the relations a merge removed.
"""

from __future__ import annotations

import os
import sys
import time

from beads.errors import CorruptJSONL, SyncError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from beads.core.tracker import Tracker


class SyncOptions:
    """What one ``bd sync`` does (a plain class: importing ``dataclasses`` costs ~6 ms per run)."""

    def __init__(self, *, flush_only: bool = False, import_only: bool = False, no_pull: bool = False,
                 no_push: bool = False, dry_run: bool = False, message: str | None = None,
                 rename_on_import: bool = False, author: str | None = None, no_gpg_sign: bool = False,
                 merged_from: str | None = None, lock_timeout: float | None = None) -> None:
        self.flush_only = flush_only
        self.import_only = import_only
        self.no_pull = no_pull
        self.no_push = no_push
        self.dry_run = dry_run
        self.message = message
        self.rename_on_import = rename_on_import
        self.author = author
        self.no_gpg_sign = no_gpg_sign
        self.merged_from = merged_from  # import-only after a merge: the pre-merge commit (ORIG_HEAD)
        self.lock_timeout = lock_timeout  # how long to wait for another sync's lock (None: synclock.WAIT_S)


def default_message() -> str:
    return "bd sync: " + time.strftime("%Y-%m-%d %H:%M:%S")


# -- the parts the git hooks use -------------------------------------------------------------------


def flush_only(tracker: Tracker, options: SyncOptions, say: Callable[[str], None]) -> dict[str, Any]:
    """Bring the JSONL up to date with the database (importing a changed file first); no git."""
    report: dict[str, Any] = {"mode": "flush-only", "dry_run": options.dry_run}
    if options.dry_run:
        report["would_export"] = len(tracker.store.dirty_ids())
        say(f"→ [DRY RUN] Would export {report['would_export']} changed issue(s) to the JSONL")
        return report
    report["imported"] = report_counts(import_if_changed(tracker, options))
    report["exported"] = export(tracker)
    say("→ Exported pending changes to the JSONL" if report["exported"] else "→ JSONL already up to date")
    return report


def import_only(tracker: Tracker, options: SyncOptions, say: Callable[[str], None]) -> dict[str, Any]:
    """Import the JSONL into the database (newer-wins, additive); no git writes.

    With ``merged_from`` (the post-merge hook passes ``ORIG_HEAD``), relations the
    merge removed are removed here first, as ``bd sync`` does after its own pull.
    """
    ws = tracker.workspace
    assert ws is not None
    report: dict[str, Any] = {"mode": "import-only", "dry_run": options.dry_run}
    if not os.path.exists(ws.jsonl_path):
        say("→ No JSONL to import")
        report["imported"] = None
        return report
    if options.dry_run:
        report["would_import"] = file_changed(tracker)
        say("→ [DRY RUN] Would import the JSONL" if report["would_import"] else "→ [DRY RUN] JSONL unchanged")
        return report
    if not options.merged_from and not file_changed(tracker, confirm=True):
        # the very file this database last wrote or read: importing it would change nothing
        stats = {"created": 0, "updated": 0, "unchanged": line_count(ws.jsonl_path), "skipped": 0, "tombstoned": 0}
        report["imported"] = stats
        say("→ Imported: 0 created, 0 updated")
        return report
    removed = removals_since(tracker, options.merged_from) if options.merged_from else 0
    stats = import_jsonl(tracker, options)
    counts = report_counts(stats) or {}
    if removed:
        counts["relations_removed"] = removed
    report["imported"] = counts
    say(f"→ Imported: {stats['created']} created, {stats['updated']} updated")
    return report


def line_count(path: str) -> int:
    count = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def sha256_hex(data: bytes) -> str:
    from beads.sync.export import sha256_hex as digest

    return digest(data)


def removals_since(tracker: Tracker, rev: str) -> int:
    """Apply the removals between the JSONL at ``rev`` (before a merge) and the merged file."""
    from beads.sync.git import find_git
    from beads.sync.removals import changed_lines, removals_after_merge

    ws = tracker.workspace
    assert ws is not None
    git = find_git(ws.root)
    if git is None:
        return 0
    before = git.show(rev, ws.jsonl_path)
    if before is None:
        return 0
    from beads.sync.importer import vocab_of

    try:
        merged = changed_lines(before, ws.jsonl_path, vocab_of(tracker))
    except (SyncError, CorruptJSONL):
        return 0  # the import below reports the problem
    if merged is None:
        return 0
    # Issues changed here and not yet flushed were not part of that commit: leave them be.
    return removals_after_merge(tracker, before, merged, skip=set(tracker.store.dirty_ids()))


# -- helpers over the JSONL layer ---------------------------------------------------------------------


def report_counts(stats: dict[str, Any] | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    out: dict[str, Any] = {k: stats[k] for k in ("created", "updated", "unchanged", "skipped", "tombstoned")
                           if k in stats}
    if stats.get("renamed"):
        out["renamed"] = dict(stats["renamed"])
    return out


def file_changed(tracker: Tracker, *, confirm: bool = False) -> bool:
    """Whether the JSONL differs from what this database last read or wrote (``confirm``: a file
    that was only touched has its new stat recorded)."""
    from beads.sync import export as exp

    ws = tracker.workspace
    assert ws is not None
    known = tracker.store.get_metadata_many([exp.KEY_CONTENT_HASH, exp.KEY_FILE_HASH, exp.LEGACY_HASH, exp.KEY_STAT])
    try:
        if known.pop(exp.KEY_STAT, None) == exp.fingerprint(os.stat(ws.jsonl_path)):
            return False  # the very file we last wrote or read (what auto-import trusts too)
    except FileNotFoundError:
        return False
    data, st = exp.read_file(ws.jsonl_path)
    if data is None:
        return False
    if exp.sha256_hex(data) not in {v for v in known.values() if v}:
        return True
    if confirm and st is not None:  # touched, same bytes: the claims tied to the old stat hold for the new one
        exp.confirm_unchanged(tracker.store, st)
    return False


def import_jsonl(tracker: Tracker, options: SyncOptions) -> dict[str, Any]:
    from beads.sync.importer import import_file

    ws = tracker.workspace
    assert ws is not None
    try:
        stats = import_file(tracker, ws.jsonl_path, rename_on_import=options.rename_on_import,
                            skip_prefix_validation=not options.rename_on_import)
    except CorruptJSONL as exc:
        raise SyncError(exc.message, hint="nothing was imported and the database is unchanged")
    for old, new in sorted((stats.get("renamed") or {}).items()):
        print(f"Warning: {old} in the JSONL is another clone's issue; the local issue is now {new}",
              file=sys.stderr)
    return stats


def import_if_changed(tracker: Tracker, options: SyncOptions) -> dict[str, Any] | None:
    return import_jsonl(tracker, options) if file_changed(tracker, confirm=True) else None


def export(tracker: Tracker) -> bool:
    """Flush changed issues; a full export when the file lacks some of the database's issues."""
    from beads.sync import export as exp

    ws = tracker.workspace
    assert ws is not None
    if file_lacks_issues(tracker):
        before, _ = exp.read_file(ws.jsonl_path)
        exp.export_jsonl(tracker)
        after, _ = exp.read_file(ws.jsonl_path)
        return before != after
    return exp.flush(tracker)


def file_lacks_issues(tracker: Tracker) -> bool:
    from beads.sync import export as exp
    from beads.sync import jsonl, linescan

    ws = tracker.workspace
    assert ws is not None
    store = tracker.store
    meta = store.get_metadata_many([exp.KEY_COMPLETE, exp.KEY_STAT])
    try:
        fp = exp.fingerprint(os.stat(ws.jsonl_path))
    except FileNotFoundError:
        fp = ""
    if fp and meta.get(exp.KEY_COMPLETE) == fp:
        return False  # known to hold every issue that is not waiting in a dirty mark
    wanted = store.exported_ids()
    if not wanted:
        return False
    data, st = exp.read_file(ws.jsonl_path)
    if data is None:
        return True
    ids = linescan.file_ids(data)
    try:
        have = set(ids if ids is not None else jsonl.line_ids(data.decode("utf-8", "replace")))
    except CorruptJSONL:
        return False  # the export's own guard will refuse and explain
    if wanted <= have:
        if st is not None and meta.get(exp.KEY_STAT) == exp.fingerprint(st):
            with store.transaction():
                store.set_metadata_many({exp.KEY_COMPLETE: meta[exp.KEY_STAT]})
        return False
    return True
