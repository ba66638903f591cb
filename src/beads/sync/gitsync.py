"""``bd sync``: share the issue database through git (spec §8.6, lessons A; docs/SYNC.md).

The database is this clone's working copy; ``issues.jsonl`` is what git carries.
One sync, holding the sync lock (``beads.sync.synclock``: two syncs serialise, and
a killed sync's leftovers are recognised and cleaned up first):

1. preflight: a git repository, no merge or rebase in progress (other than its own);
2. import the JSONL first if it changed since we last read or wrote it (a pull or
   checkout that no hook imported), so the export cannot overwrite newer rows;
3. export: flush the changed issues (a full export when the file lacks issues);
4. commit only the beads files, ``bd sync: <local time>`` (skipped when unchanged);
5. fetch the upstream branch, then under the export lock: export and commit what
   agents wrote meanwhile, merge (never a rebase; a conflict in ``issues.jsonl`` is
   resolved with ``merge3`` from git's index stages), push at once, then
6. absorb the merged file: relations the merge removed (in our export, absent from
   the merged file) are removed here too, then the file is imported — newer-wins,
   additive, never deleting an issue because it is absent — and what the database
   still has beyond the file is exported and committed;
7. a push refused because the remote moved on meanwhile goes back to 5, a few times.

Agents' flushes wait on the export lock (``.beads/jsonl.lock``) while steps 2–3 and
5–6 hold it, so git never finds the file rewritten under a merge; their database
writes never wait. ``BD_SYNC_IN_PROGRESS=1`` makes our own hooks stand aside.

A failed fetch, merge or push raises ``SyncError`` with one line saying what to do
and a hint whose every clause (committed? database and file in agreement?) is
checked when the error is raised.

The steps shared with the hooks' modes and with sync-branch mode (``beads.sync.branchsync``)
live in ``beads.sync.syncsteps``.
"""

from __future__ import annotations

import os
import sys
import time

from beads.errors import BdError, CorruptJSONL, GitError, SyncError
from beads.sync.syncsteps import (
    SyncOptions,
    default_message,
    export,
    file_changed,
    file_lacks_issues,
    flush_only,
    import_if_changed,
    import_jsonl,
    import_only,
    removals_since,
    report_counts,
    sha256_hex,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from beads.core.tracker import Tracker
    from beads.sync.git import Completed, Git
    from beads.sync.linescan import Scan
    from beads.sync.synclock import SyncLock


SYNC_FILES = ("deletions.jsonl", "interactions.jsonl", "metadata.json")
LINE_UNION_FILES = ("interactions.jsonl", "deletions.jsonl")  # append-only logs
SYNC_ENV = "BD_SYNC_IN_PROGRESS"
PUSH_ATTEMPTS = 30  # merges and pushes when other clones keep pushing first


def sync(tracker: Tracker, options: SyncOptions, *, say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run one sync; returns a report (for ``--json``). Raises ``SyncError``/``GitError``."""
    if tracker.workspace is None:
        raise SyncError("bd sync needs a workspace (a .beads directory)")
    if options.flush_only:
        return flush_only(tracker, options, say)
    if options.import_only:
        return import_only(tracker, options, say)
    from beads.sync import branchsync

    branch = branchsync.active_branch(tracker)
    if branch is not None:  # sync-branch mode: the beads files travel on their own branch
        return branchsync.sync(tracker, options, branch, say)
    return _Sync(tracker, options, say).run()


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
        self.pre_pull: str | None = None  # HEAD before the merge (set by _merge)
        self.env = _git_env()
        self.lock: SyncLock = None  # type: ignore[assignment]  # set by run()
        self.full_export = False
        self.committed_stats: dict[str, str] | None = None  # the sync files as last committed (or found clean)
        self.report: dict[str, Any] = {"mode": "full", "dry_run": options.dry_run, "imported": None,
                                       "exported": False, "committed": None, "pulled": False,
                                       "merge_resolved": False, "reexported": False, "pushed": False,
                                       "remote": None}

    # -- driver ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        upstream = self.git.upstream()
        if upstream is not None:
            self.report["remote"] = f"{upstream[0]}/{upstream[1]}"
        if self.options.dry_run:
            self._preflight()
            return self._dry_run(upstream)
        from beads.sync.export import FileLock
        from beads.sync.synclock import SyncLock

        timeout = {} if self.options.lock_timeout is None else {"timeout": self.options.lock_timeout}
        with SyncLock(self.git, self.say, **timeout) as lock:
            self.lock = lock
            lock.clear_index_lock()
            interrupted = lock.interrupted_merge()
            if interrupted == "in-progress":
                with FileLock(self.ws.beads_dir):
                    lock.undo_merge(self._sync_files(all_files=True))
                self.full_export = True  # a writer may have flushed into that merge: write the DB out whole
            self._preflight()
            orig = (lock.previous or {}).get("orig") if interrupted == "committed" else None
            self._rounds(upstream, interrupted == "committed", orig)
        return self.report

    def _rounds(self, upstream: tuple[str, str] | None, absorb_first: bool, orig: str | None) -> None:
        """Export, then commit; fetch; under the export lock (writers' flushes wait): export, commit,
        merge, push and import.

        A push the remote refuses because it moved on meanwhile (another clone pushed) is
        retried after fetching and merging again, a few times.
        """
        from beads.sync.export import FileLock

        pull = upstream is not None and not self.options.no_pull
        with FileLock(self.ws.beads_dir):
            if absorb_first:
                self._absorb_interrupted(orig)
            self._import_and_export()
        self._commit_files()  # writers flush meanwhile: the commit takes the file as it is
        if upstream is None:
            if not self.options.no_pull or not self.options.no_push:
                self.say("→ No upstream branch configured: committed locally, skipping pull and push")
            return
        target = self._fetch(upstream) if pull else None  # outside the export lock: agents flush meanwhile
        with FileLock(self.ws.beads_dir):  # retries keep it: from fetch to push as short as can be
            self._merge_and_push(upstream, pull, target)

    def _merge_and_push(self, upstream: tuple[str, str], pull: bool, target: str | None) -> None:
        repush = True  # once more for what the import made us commit (the DB won some issues)
        for attempt in range(PUSH_ATTEMPTS):
            if attempt:
                _backoff(attempt)
                target = self._fetch(upstream) if pull else None
            last = not pull or attempt == PUSH_ATTEMPTS - 1
            if target is not None:
                if not attempt:  # what agents wrote during the fetch, then the tree equals HEAD; from
                    # here on the export lock is held, their flushes wait, and a retry's window from
                    # fetch to push holds no export or commit (two clones that keep pushing starve
                    # each other when it is long)
                    self._import_and_export()
                    self._commit_files(again=True)
                if self.git.is_ancestor(target, "HEAD"):  # the remote has nothing this clone lacks
                    self.report["pulled"] = True
                    target = None
            if target is None:
                if self.options.no_push or self._push(upstream, last=last):
                    return
            else:
                left = self._read()
                self._merge(upstream, target, left)
                merged = self._merged_changes(left)  # never push a file we cannot read
                try:
                    pushed = self.options.no_push or self._push(upstream, last=last)
                finally:
                    reexported = self._absorb_merge(left, merged)
                if pushed and not (reexported and repush and not self.options.no_push and not last):
                    return
                repush = repush and not pushed
                if pushed:
                    continue
            self.say("→ The remote moved on meanwhile: merging again")

    def _import_and_export(self) -> None:
        """Import the JSONL if something else changed it, then write the database's changes to it."""
        from beads.sync import export as exp

        imported = report_counts(import_if_changed(self.tracker, self.options))
        if imported is not None or self.report["imported"] is None:
            self.report["imported"] = imported
        if self.full_export:
            before = self._read()
            exp.export_jsonl(self.tracker)
            exported = self._read() != before
            self.full_export = False
        else:
            exported = export(self.tracker)
        self.report["exported"] = self.report["exported"] or exported

    def _commit_files(self, again: bool = False) -> None:
        committed = self._commit(self.options.message or default_message(), quiet=again)
        self.report["committed"] = self.report["committed"] or committed

    def _absorb_interrupted(self, orig: str | None) -> None:
        """A killed sync concluded its merge but did not import it: do what it would have done."""
        removed = removals_since(self.tracker, orig) if orig else 0
        self.say("→ Importing the merge an interrupted bd sync left")
        counts = report_counts(import_jsonl(self.tracker, self.options)) or {}
        if removed:
            counts["relations_removed"] = removed
        self.report["imported"] = counts

    def retry_hint(self, when: str = "") -> str:
        """What holds now and what to do; every clause checked, none assumed."""
        facts: list[str] = []
        try:
            uncommitted: bool | None = self.git.has_changes(self._sync_files())
        except BdError:
            uncommitted = None
        if uncommitted is False:
            facts.append("your issues are committed locally")
        elif uncommitted:
            facts.append("the issues file has changes not committed yet")
        facts.append(self._db_fact())
        return "; ".join(facts) + f"; run 'bd sync' again{when}"

    def _db_fact(self) -> str:
        """How the database and the JSONL stand (a clause of ``retry_hint``), checked now."""
        if self.tracker.store.dirty_ids():
            return "some database changes are not in the JSONL yet (the next sync writes them)"
        if file_changed(self.tracker):
            return "the JSONL has changes the database has not imported yet"
        return "the database matches the JSONL"

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
        changed = file_changed(self.tracker)
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

    def _sync_files(self, all_files: bool = False) -> list[str]:
        files = [self.path] + [os.path.join(self.ws.beads_dir, f) for f in SYNC_FILES]
        return [f for f in dict.fromkeys(files) if all_files or os.path.exists(f) or self._tracked(f)]

    def _tracked(self, path: str) -> bool:
        try:
            return self.git.is_tracked(path)
        except GitError:
            return False

    def _commit(self, message: str, quiet: bool = False) -> str | None:
        files = self._sync_files()
        before = self._file_stats(files)
        # Unchanged since this sync committed them (or found them clean): no `git status`, which
        # after a commit re-reads and hashes the whole JSONL (tens of MB) to refresh the index.
        if not files or before == self.committed_stats or not self.git.has_changes(files):
            if not quiet:
                self.say("→ No changes to commit")
            self.committed_stats = before
            return None
        self.say("→ Committing the beads files...")
        self.git.add([f for f in files if os.path.exists(f)], env=self.env)
        commit = self.git.commit(message, files, author=self.options.author, no_gpg_sign=self.options.no_gpg_sign,
                                 env=self.env)
        after = self._file_stats(files)
        self.committed_stats = after if after == before else None  # a writer flushed meanwhile: ask git next time
        return commit

    @staticmethod
    def _file_stats(files: list[str]) -> dict[str, str]:
        from beads.sync.export import fingerprint

        out: dict[str, str] = {}
        for path in files:
            try:
                out[path] = fingerprint(os.stat(path))
            except OSError:
                out[path] = ""
        return out

    # -- pull: fetch (no lock), then merge (under the export lock) ---------------------------------

    def _fetch(self, upstream: tuple[str, str]) -> str | None:
        """Fetch the upstream branch; its commit, or None when the remote has no such branch yet."""
        remote, branch = upstream
        self.say(f"→ Pulling from {remote}/{branch}...")
        proc = self.git.fetch_branch(remote, branch, env=self.env)
        if self._fetch_failed(proc, f"{remote}/{branch}", "nothing to pull", "git pull failed"):
            return None
        return self.git.out("rev-parse", "FETCH_HEAD")

    def _fetch_failed(self, proc: Completed, where: str, absent: str, failed: str) -> bool:
        """True when the fetch found no such branch on the remote (said, with ``absent``);
        ``SyncError`` (``failed: <git's line>``) when it failed otherwise; False when it worked."""
        from beads.sync.git import summarize_output

        if proc.returncode == 0:
            return False
        output = (proc.stderr or "") + (proc.stdout or "")
        if "couldn't find remote ref" in output:
            self.say(f"→ {where} does not exist yet: {absent}")
            return True
        detail = summarize_output(output) or f"exit status {proc.returncode}"
        raise SyncError(f"{failed}: {detail}", hint=self.retry_hint(" once the problem is fixed"))

    def _merge(self, upstream: tuple[str, str], target: str, left: bytes) -> None:
        from beads.sync.git import summarize_output

        remote, branch = upstream
        url = self.git.config_get(f"remote.{remote}.url") or remote
        self.pre_pull = self.git.head()  # where _undo_pull goes back to
        self.lock.record(step="merging", orig=self.pre_pull, target=target)
        proc = self.git.merge(target, f"Merge branch '{branch}' of {url}", env=self.env)
        if proc.returncode != 0:
            if self.git.merge_in_progress() or self.git.unmerged_paths():
                self._resolve_pull_conflicts(left)
            else:
                output = (proc.stderr or "") + (proc.stdout or "")
                detail = summarize_output(output) or f"exit status {proc.returncode}"
                raise SyncError(f"git pull failed: {detail}", hint=self.retry_hint(" once the problem is fixed"))
        self.report["pulled"] = True

    def _absorb_merge(self, left: bytes, merged: Scan) -> bool:
        """Import what the merge brought; True when the database then had more to commit."""
        committed = False
        if merged.sha256 != sha256_hex(left):
            self._absorb(left, merged)
            committed = self._reexport_if_needed()
        self.lock.record(step="merged")
        return committed

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
            merged = self._merged_changes(left)
            if merged.sha256 != sha256_hex(left):
                self._absorb(left, merged)
            listing = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
            self.lock.record(step="handed-over")  # the user's to conclude, not ours to undo
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

    def _merged_changes(self, left: bytes) -> Scan:
        """The merged file's lines that ``left`` lacks, parsed and validated: a pulled record the CLI
        would refuse undoes the pull (``SyncError``, before any import or push)."""
        from beads.sync.importer import vocab_of
        from beads.sync.linescan import Scan
        from beads.sync.removals import changed_lines

        try:
            return changed_lines(left, self.path, vocab_of(self.tracker)) or Scan()
        except CorruptJSONL as exc:
            self._undo_pull(exc.message)

    def _absorb(self, left: bytes, merged: Scan) -> None:
        """Make the database hold what the merged file holds (see module docstring, step 6)."""
        from beads.sync.removals import removals_after_merge

        removed = removals_after_merge(self.tracker, left, merged, skip=set(self.tracker.store.dirty_ids()))
        self.say("→ Importing the merged JSONL...")
        stats = import_jsonl(self.tracker, self.options)
        counts = report_counts(stats) or {}
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
        hint = f"bd refuses that record; fix {where}, then: " + self.retry_hint()
        if pre and git.head() != pre:
            undo = git.run("reset", "--quiet", "--keep", pre, check=False)
            if undo.returncode != 0:
                raise SyncError(f"the pull brought a bad record ({problem}) and could not be undone",
                                hint=f"run 'git reset --keep {pre[:12]}' to undo it, then: " + hint)
        raise SyncError(f"the pull was undone: {problem}", hint=hint)

    def _reexport_if_needed(self) -> bool:
        if not self.tracker.store.dirty_ids() and not file_lacks_issues(self.tracker):
            return False
        self.say("→ Re-exporting: the database has changes the JSONL lacks")
        self.report["reexported"] = export(self.tracker)
        if self._commit("bd sync: apply DB changes after import"):
            self.report["committed_after_import"] = True
            return True
        return False

    # -- push -----------------------------------------------------------------------------------------

    def _push(self, upstream: tuple[str, str], *, last: bool) -> bool:
        """Push when ahead; False when the remote moved on meanwhile and we may merge again."""
        remote, branch = upstream
        try:
            ahead = self.git.ahead_count(remote, branch)
        except GitError:
            ahead = 1
        if ahead == 0:
            self.say("→ Nothing to push")
            return True
        self.say(f"→ Pushing to {remote}/{branch}...")
        try:
            self.git.push(remote, branch, env=self.env)
        except GitError as exc:
            if not last and _remote_moved(exc):
                return False
            raise SyncError(f"{exc.message}",
                            hint="the remote did not take the push (it may have new commits, or refuse writes); "
                                 + self.retry_hint(" (it pulls first)"))
        self.report["pushed"] = True
        return True


def _backoff(attempt: int) -> None:
    """A random pause, growing with the attempts: clones that keep pushing at once fall out of step."""
    import random

    time.sleep(random.uniform(0, min(1.0, 0.05 * 2 ** attempt)))


def _remote_moved(exc: GitError) -> bool:
    """A push refused because the branch moved (another clone pushed first, or at the same moment)."""
    text = getattr(exc, "output", "") or exc.message
    return any(mark in text for mark in ("fetch first", "non-fast-forward", "failed to update ref",
                                         "cannot lock ref", "incorrect old value"))


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
