"""``bd sync``: share the issue database through git (spec §8.6, lessons A).

The database is this clone's working copy; ``issues.jsonl`` is what git carries.
One sync:

1. preflight: a git repository, no merge or rebase in progress;
2. import the JSONL first if it changed since we last read or wrote it (a pull or
   checkout that no hook imported), so the export cannot overwrite newer rows;
3. export: flush the changed issues (a full export when the file lacks issues);
4. commit only the beads files, ``bd sync: <local time>`` (skipped when unchanged);
5. pull (a merge, never a rebase) when the branch has an upstream; a conflict in
   ``issues.jsonl`` is resolved with ``merge3`` from git's index stages (base,
   ours, theirs) and the merge commit completed;
6. absorb the pulled file: relations the merge removed (in our export, absent
   from the merged file) are removed here too, then the file is imported —
   newer-wins, additive, never deleting an issue because it is absent;
7. when the database still has something the file lacks, export again and commit
   ``bd sync: apply DB changes after import``;
8. push when we are ahead (``BD_SYNC_IN_PROGRESS=1`` so our pre-push hook stands aside).

A failed pull or push raises ``SyncError`` with one line saying what to do; at that
point the database and the JSONL agree (nothing was imported from a file we could
not merge, and the pulled file was imported before any error about other files).
"""

from __future__ import annotations

import os
import sys
import time

from beads.errors import CorruptJSONL, GitError, SyncError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from beads.core.tracker import Tracker
    from beads.sync.git import Git

SYNC_FILES = ("deletions.jsonl", "interactions.jsonl", "metadata.json")
LINE_UNION_FILES = ("interactions.jsonl", "deletions.jsonl")  # append-only logs
SYNC_ENV = "BD_SYNC_IN_PROGRESS"
RETRY_HINT = "your issues are committed locally and the database matches the JSONL; run 'bd sync' again"


class SyncOptions:
    """What one ``bd sync`` does (a plain class: importing ``dataclasses`` costs ~6 ms per run)."""

    def __init__(self, *, flush_only: bool = False, import_only: bool = False, no_pull: bool = False,
                 no_push: bool = False, dry_run: bool = False, message: str | None = None,
                 rename_on_import: bool = False, author: str | None = None, no_gpg_sign: bool = False,
                 merged_from: str | None = None) -> None:
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


def sync(tracker: Tracker, options: SyncOptions, *, say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run one sync; returns a report (for ``--json``). Raises ``SyncError``/``GitError``."""
    if tracker.workspace is None:
        raise SyncError("bd sync needs a workspace (a .beads directory)")
    if options.flush_only:
        return flush_only(tracker, options, say)
    if options.import_only:
        return import_only(tracker, options, say)
    return _Sync(tracker, options, say).run()


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
    report["imported"] = _counts(_import_if_changed(tracker, options))
    report["exported"] = _export(tracker)
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
        report["would_import"] = _file_changed(tracker)
        say("→ [DRY RUN] Would import the JSONL" if report["would_import"] else "→ [DRY RUN] JSONL unchanged")
        return report
    removed = _removals_since(tracker, options.merged_from) if options.merged_from else 0
    stats = _import(tracker, options)
    counts = _counts(stats) or {}
    if removed:
        counts["relations_removed"] = removed
    report["imported"] = counts
    say(f"→ Imported: {stats['created']} created, {stats['updated']} updated")
    return report


def _removals_since(tracker: Tracker, rev: str) -> int:
    """Apply the removals between the JSONL at ``rev`` (before a merge) and the merged file."""
    from beads.sync import jsonl
    from beads.sync.git import find_git
    from beads.sync.merge import parse_records

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
        with open(ws.jsonl_path, "rb") as fh:
            merged = jsonl.parse_jsonl(fh.read().decode("utf-8"), ws.jsonl_path, vocab_of(tracker))
    except (OSError, UnicodeDecodeError, CorruptJSONL):
        return 0  # the import below reports the problem
    left, _ = parse_records(before, "left")
    # Issues changed here and not yet flushed were not part of that commit: leave them be.
    return apply_removals(tracker, left, merged, skip=set(tracker.store.dirty_ids()))


# -- helpers over the JSONL layer ---------------------------------------------------------------------


def _counts(stats: dict[str, Any] | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    out: dict[str, Any] = {k: stats[k] for k in ("created", "updated", "unchanged", "skipped", "tombstoned")
                           if k in stats}
    if stats.get("renamed"):
        out["renamed"] = dict(stats["renamed"])
    return out


def _file_changed(tracker: Tracker) -> bool:
    """Whether the JSONL differs from what this database last read or wrote."""
    from beads.sync import export as exp

    ws = tracker.workspace
    assert ws is not None
    known = tracker.store.get_metadata_many([exp.KEY_CONTENT_HASH, exp.KEY_FILE_HASH, exp.LEGACY_HASH, exp.KEY_STAT])
    try:
        if known.pop(exp.KEY_STAT, None) == exp.fingerprint(os.stat(ws.jsonl_path)):
            return False  # the very file we last wrote or read (what auto-import trusts too)
    except FileNotFoundError:
        return False
    data, _ = exp.read_file(ws.jsonl_path)
    if data is None:
        return False
    digest = exp.sha256_hex(data)
    return digest not in {v for v in known.values() if v}


def _import(tracker: Tracker, options: SyncOptions) -> dict[str, Any]:
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


def _import_if_changed(tracker: Tracker, options: SyncOptions) -> dict[str, Any] | None:
    return _import(tracker, options) if _file_changed(tracker) else None


def _export(tracker: Tracker) -> bool:
    """Flush changed issues; a full export when the file lacks some of the database's issues."""
    from beads.sync import export as exp

    ws = tracker.workspace
    assert ws is not None
    if _file_lacks_issues(tracker):
        before, _ = exp.read_file(ws.jsonl_path)
        exp.export_jsonl(tracker)
        after, _ = exp.read_file(ws.jsonl_path)
        return before != after
    return exp.flush(tracker)


def _file_lacks_issues(tracker: Tracker) -> bool:
    from beads.sync import export as exp
    from beads.sync import jsonl

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
    wanted = {i["id"] for i in store.all_issues(include_ephemeral=False)}
    if not wanted:
        return False
    data, st = exp.read_file(ws.jsonl_path)
    if data is None:
        return True
    try:
        have = set(jsonl.line_ids(data.decode("utf-8", "replace")))
    except CorruptJSONL:
        return False  # the export's own guard will refuse and explain
    if wanted <= have:
        if st is not None and meta.get(exp.KEY_STAT) == exp.fingerprint(st):
            with store.transaction():
                store.set_metadata_many({exp.KEY_COMPLETE: meta[exp.KEY_STAT]})
        return False
    return True


# -- the full sync ---------------------------------------------------------------------------------


class _Sync:
    def __init__(self, tracker: Tracker, options: SyncOptions, say: Callable[[str], None]) -> None:
        from beads.sync.git import find_git

        ws = tracker.workspace
        assert ws is not None
        self.tracker = tracker
        self.options = options
        self.say = say
        self.ws = ws
        self.path = ws.jsonl_path
        git = find_git(ws.root)
        if git is None:
            raise SyncError("not a git repository",
                            hint="run 'git init' (or use 'bd sync --flush-only' to just write the JSONL)")
        self.git: Git = git
        self.pre_pull: str | None = None  # HEAD before the pull (set by _pull)
        self.env = _git_env()
        self.report: dict[str, Any] = {"mode": "full", "dry_run": options.dry_run, "imported": None,
                                       "exported": False, "committed": None, "pulled": False,
                                       "merge_resolved": False, "reexported": False, "pushed": False,
                                       "remote": None}

    # -- driver ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self._preflight()
        upstream = self.git.upstream()
        if upstream is not None:
            self.report["remote"] = f"{upstream[0]}/{upstream[1]}"
        if self.options.dry_run:
            return self._dry_run(upstream)
        self.report["imported"] = _counts(_import_if_changed(self.tracker, self.options))
        self.report["exported"] = _export(self.tracker)
        left = self._read()
        self.report["committed"] = self._commit(self.options.message or default_message())
        if upstream is None:
            if not self.options.no_pull or not self.options.no_push:
                self.say("→ No upstream branch configured: committed locally, skipping pull and push")
            return self.report
        if not self.options.no_pull:
            self._pull(upstream, left)
        if not self.options.no_push:
            self._push(upstream)
        return self.report

    def _preflight(self) -> None:
        git = self.git
        unmerged = git.unmerged_paths()
        if unmerged or git.merge_in_progress():
            listing = ", ".join(unmerged[:5]) + (" ..." if len(unmerged) > 5 else "")
            raise SyncError(
                "a git merge is in progress" + (f" with unresolved conflicts ({listing})" if unmerged else ""),
                hint="resolve the conflicts, 'git add' the files and 'git commit' (or 'git merge --abort'), "
                     "then run 'bd sync' again")
        if git.rebase_in_progress():
            raise SyncError("a git rebase is in progress",
                            hint="finish it ('git rebase --continue') or abort it ('git rebase --abort'), "
                                 "then run 'bd sync' again")

    def _dry_run(self, upstream: tuple[str, str] | None) -> dict[str, Any]:
        say = self.say
        changed = _file_changed(self.tracker)
        dirty = len(self.tracker.store.dirty_ids())
        self.report.update(would_import=changed, would_export=dirty)
        if changed:
            say("→ [DRY RUN] Would import the JSONL (it changed since bd last read it)")
        say(f"→ [DRY RUN] Would export {dirty} changed issue(s) and commit the beads files if they changed")
        if upstream is None:
            say("→ [DRY RUN] No upstream branch: would skip pull and push")
        else:
            remote = f"{upstream[0]}/{upstream[1]}"
            if not self.options.no_pull:
                say(f"→ [DRY RUN] Would pull from {remote}")
            if not self.options.no_push:
                say(f"→ [DRY RUN] Would push to {remote}")
        return self.report

    # -- files and commits -------------------------------------------------------------------

    def _read(self) -> bytes:
        try:
            with open(self.path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return b""

    def _sync_files(self) -> list[str]:
        files = [self.path] + [os.path.join(self.ws.beads_dir, f) for f in SYNC_FILES]
        return [f for f in dict.fromkeys(files) if os.path.exists(f) or self._tracked(f)]

    def _tracked(self, path: str) -> bool:
        try:
            return self.git.is_tracked(path)
        except GitError:
            return False

    def _commit(self, message: str) -> str | None:
        files = self._sync_files()
        if not files or not self.git.has_changes(files):
            self.say("→ No changes to commit")
            return None
        self.say("→ Committing the beads files...")
        self.git.add([f for f in files if os.path.exists(f)], env=self.env)
        return self.git.commit(message, files, author=self.options.author, no_gpg_sign=self.options.no_gpg_sign,
                               env=self.env)

    # -- pull -----------------------------------------------------------------------------------

    def _pull(self, upstream: tuple[str, str], left: bytes) -> None:
        remote, branch = upstream
        self.say(f"→ Pulling from {remote}/{branch}...")
        self.pre_pull = self.git.head()  # where _undo_pull goes back to
        proc = self.git.pull(remote, branch, env=self.env)
        if proc.returncode != 0:
            output = (proc.stderr or "") + (proc.stdout or "")
            if self.git.merge_in_progress() or self.git.unmerged_paths():
                self._resolve_pull_conflicts(left)
            elif "couldn't find remote ref" in output:
                self.say(f"→ {remote}/{branch} does not exist yet: nothing to pull")
                return
            else:
                from beads.sync.git import summarize_output

                detail = summarize_output(output) or f"exit status {proc.returncode}"
                raise SyncError(f"git pull failed: {detail}", hint=RETRY_HINT + " once the problem is fixed")
        self.report["pulled"] = True
        merged = self._read()
        if merged != left:
            self._absorb(left, merged)
            self._reexport_if_needed()

    def _resolve_pull_conflicts(self, left: bytes) -> None:
        git = self.git
        unmerged = git.unmerged_paths()
        resolved: list[str] = []
        for rel in unmerged:
            path = os.path.join(git.root, rel)
            if _same_file(path, self.path):
                self._merge_jsonl_stages(path)
            elif os.path.dirname(os.path.abspath(path)) == os.path.abspath(self.ws.beads_dir):
                name = os.path.basename(path)
                if name in LINE_UNION_FILES:
                    self._union_stages(path)
                elif name == "metadata.json":
                    self._take_ours(path)
                else:
                    continue
            else:
                continue
            resolved.append(path)
        if resolved:
            git.add(resolved, env=self.env)
        others = [p for p in unmerged if os.path.join(git.root, p) not in resolved]
        if others:
            merged = self._read()
            if merged != left:
                self._absorb(left, merged)
            listing = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
            raise SyncError(f"git pull stopped on conflicts in files bd does not manage: {listing}",
                            hint="the issues file is merged, staged and imported; resolve those files, "
                                 "'git commit', then run 'bd sync' again")
        git.commit_merge(env=self.env)
        self.report["merge_resolved"] = True
        self.say("✓ Resolved the issues JSONL merge conflict (3-way, issue by issue)")

    def _stages(self, path: str) -> tuple[bytes, bytes | None, bytes | None]:
        base = self.git.show(":1:", path) or b""
        return base, self.git.show(":2:", path), self.git.show(":3:", path)

    def _merge_jsonl_stages(self, path: str) -> None:
        from beads.sync.merge import atomic_write, merge_bytes

        base, ours, theirs = self._stages(path)
        if ours is None or theirs is None:  # deleted on one side: keep the other, never drop issues
            _write_bytes(path, ours if ours is not None else theirs or b"")
            return
        from beads.sync.importer import vocab_of

        text, conflicts, _ = merge_bytes(base, ours, theirs, vocab=vocab_of(self.tracker))
        if conflicts:
            self._undo_pull(f"cannot merge {os.path.basename(path)}: {conflicts[0].reason}")
        atomic_write(path, text)

    def _union_stages(self, path: str) -> None:
        _, ours, theirs = self._stages(path)
        lines = list(dict.fromkeys((ours or b"").splitlines() + (theirs or b"").splitlines()))
        _write_bytes(path, b"".join(line + b"\n" for line in lines if line.strip()))

    def _take_ours(self, path: str) -> None:
        _, ours, theirs = self._stages(path)
        _write_bytes(path, ours if ours is not None else theirs or b"")

    # -- after the pull -------------------------------------------------------------------------------

    def _absorb(self, left: bytes, merged: bytes) -> None:
        """Make the database hold what the merged file holds (see module docstring, step 6)."""
        from beads.sync import jsonl
        from beads.sync.importer import vocab_of
        from beads.sync.merge import parse_records

        try:  # the validation step: a pulled record the CLI would refuse undoes the pull
            merged_records = jsonl.parse_jsonl(jsonl.decode(merged, self.path), self.path, vocab_of(self.tracker))
        except CorruptJSONL as exc:
            self._undo_pull(exc.message)
        left_records, _ = parse_records(left, "left")
        removed = apply_removals(self.tracker, left_records, merged_records,
                                 skip=set(self.tracker.store.dirty_ids()))
        self.say("→ Importing the merged JSONL...")
        stats = _import(self.tracker, self.options)
        counts = _counts(stats) or {}
        if removed:
            counts["relations_removed"] = removed
        self.report["imported"] = counts

    def _undo_pull(self, problem: str) -> NoReturn:
        """Take the clone back to before the pull (no merge in progress, HEAD, JSONL and database as
        they were) because the pull brought a bad record; raise naming the commit and line."""
        from beads.sync import jsonl
        from beads.sync.importer import vocab_of

        git = self.git
        rel = git.rel(self.path)
        where = "the line named above"
        commit = git.run("log", "-1", "--format=%h", "FETCH_HEAD", "--", rel, check=False).stdout.strip()
        if commit:  # name the line in the remote's own copy of the file
            try:
                jsonl.parse_jsonl(jsonl.decode(git.show(commit, self.path) or b"", rel), f"{commit}:{rel}",
                                  vocab_of(self.tracker))
            except CorruptJSONL as exc:
                problem, where = exc.message.splitlines()[0], "that line in a new commit on the remote"
        if git.merge_in_progress() or git.unmerged_paths():
            git.merge_abort()
        pre = self.pre_pull
        hint = (f"bd refuses that record; fix {where}, then run 'bd sync' again "
                "(your issues are committed locally and the database matches the JSONL)")
        if pre and git.head() != pre:
            undo = git.run("reset", "--quiet", "--keep", pre, check=False)
            if undo.returncode != 0:
                raise SyncError(f"the pull brought a bad record ({problem}) and could not be undone",
                                hint=f"run 'git reset --keep {pre[:12]}' to undo it, then: " + hint)
        raise SyncError(f"the pull was undone: {problem}", hint=hint)

    def _reexport_if_needed(self) -> None:
        if not self.tracker.store.dirty_ids() and not _file_lacks_issues(self.tracker):
            return
        self.say("→ Re-exporting: the database has changes the JSONL lacks")
        self.report["reexported"] = _export(self.tracker)
        if self._commit("bd sync: apply DB changes after import"):
            self.report["committed_after_import"] = True

    # -- push -----------------------------------------------------------------------------------------

    def _push(self, upstream: tuple[str, str]) -> None:
        remote, branch = upstream
        try:
            ahead = self.git.ahead_count(remote, branch)
        except GitError:
            ahead = 1
        if ahead == 0:
            self.say("→ Nothing to push")
            return
        self.say(f"→ Pushing to {remote}/{branch}...")
        try:
            self.git.push(remote, branch, env=self.env)
        except GitError as exc:
            raise SyncError(f"{exc.message}",
                            hint="the remote did not take the push (it may have new commits, or refuse writes); "
                                 + RETRY_HINT + " (it pulls first)")
        self.report["pushed"] = True


def apply_removals(tracker: Tracker, left: list[dict[str, Any]], merged: list[dict[str, Any]], *,
                   skip: set[str] | frozenset[str] = frozenset()) -> int:
    """Remove labels and dependency edges that our export had and the merged file dropped.

    The import is additive, so it cannot see a removal; the 3-way merge can (a
    label gone from the merged line was removed on the other side, relative to the
    common base), and ``left`` is exactly what this database exported before the
    pull. Only issues present in both files are considered; issues themselves are
    never deleted here. Returns how many relations were removed.
    """
    from beads import model, timefmt
    from beads.sync.merge import collides, identity_key

    store = tracker.store
    merged_by_id = {r["id"]: r for r in merged if isinstance(r.get("id"), str)}
    # An id the merge gave to another clone's issue: ours moved to a new id (merge.resolve_collisions),
    # and is compared with its record there; the database still has it under the old id.
    by_identity: dict[Any, str] = {}
    for r in merged_by_id.values():
        key = identity_key(r)
        if key is not None:
            by_identity.setdefault(key, r["id"])
    moved: dict[str, str] = {}
    for old in left:
        other = merged_by_id.get(old.get("id"))  # type: ignore[arg-type]
        if other is not None and collides(old, other):
            key = identity_key(old)
            if key is not None and key in by_identity:
                moved[old["id"]] = by_identity[key]
    back = {new: old for old, new in moved.items()}
    count = 0
    graph_changed = False
    now = timefmt.now()
    with store.transaction():
        events: list[tuple[str, str, str, str | None, str]] = []
        for old in left:
            issue_id = old.get("id")
            if not isinstance(issue_id, str):
                continue
            rec = merged_by_id.get(moved.get(issue_id, issue_id))
            if rec is None or issue_id in skip or rec.get("status") == model.STATUS_TOMBSTONE or collides(old, rec):
                continue
            gone_labels = set(_strings(old.get("labels"))) - set(_strings(rec.get("labels")))
            for label in sorted(gone_labels):
                if store.remove_label(issue_id, label):
                    count += 1
                    events.append((issue_id, "label_removed", "sync", f"Removed label: {label}", now))
            old_deps = {(moved.get(target, target), dep_type) for target, dep_type in _dep_keys(old)}
            gone_deps = old_deps - _dep_keys(rec)
            for target, dep_type in sorted(gone_deps):
                target = back.get(target, target)
                if store.remove_dependency(issue_id, target, dep_type):
                    count += 1
                    graph_changed = True
                    events.append((issue_id, "dependency_removed", "sync",
                                   f"Removed dependency: {issue_id} -> {target} ({dep_type})", now))
        if events:
            store.add_events(events)
        if graph_changed:
            store.rebuild_blocked_cache()
    return count


def _strings(values: Any) -> list[str]:
    return [v for v in values or () if isinstance(v, str)]


def _dep_keys(rec: dict[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for dep in rec.get("dependencies") or ():
        if isinstance(dep, dict) and dep.get("depends_on_id"):
            out.add((dep["depends_on_id"], dep.get("type") or "blocks"))
    return out


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _write_bytes(path: str, data: bytes) -> None:
    from beads.sync.merge import atomic_write

    atomic_write(path, data.decode("utf-8", "surrogateescape"))


def _git_env() -> dict[str, str]:
    """git's environment during a sync: our hooks stand aside, and our ``bd`` runs the merge driver."""
    env = {SYNC_ENV: "1"}
    bin_dir = os.path.dirname(os.path.abspath(sys.argv[0] or ""))
    if bin_dir and os.path.exists(os.path.join(bin_dir, "bd")):
        env["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return env
