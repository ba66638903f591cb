"""``bd sync`` in sync-branch mode (spec §8.6 steps 4-5; docs/SYNC.md, "Sync branch").

With ``sync.branch`` set (``bd init --branch``, ``bd config set sync.branch``,
``BEADS_SYNC_BRANCH``) and another branch checked out, the beads files travel on that
branch, committed through bd's own worktree (``beads.sync.sbworktree``); the user's
branch is never committed to, checked out or pushed. One sync, holding the sync lock
(one per repository in this mode: linked worktrees share the branch):

1. import the working tree's JSONL if something changed it, export the database to it
   (the same helpers as ``gitsync``, under the export lock);
2. commit it to the sync branch. The database records the branch commit its file last
   matched (``sync_branch.tip``); when the branch has moved on since (another linked
   worktree synced, or a sync was killed after moving it), the export is merged 3-way
   (base: that commit's file) rather than written over it;
3. fetch ``<remote> <branch>``; a remote that has commits we lack is fast-forwarded to,
   or merged with a content-level 3-way merge of the JSONL (``merge_bytes``, base: the
   merge base's file) committed as a merge on top of the remote's history — git never
   sees a conflict, and the push is a fast-forward;
4. push ``<branch>``; refused because the remote moved on: fetch and merge again;
5. bring the merged file back: write it to the working tree, remove the relations the
   merge removed, import (newer-wins, additive), export and commit what the database
   still has beyond it, push again.

A sync killed anywhere leaves nothing to undo: the worktree is put back at the branch's
commit, and step 2 merges whatever the branch got that the database has not absorbed.
"""

from __future__ import annotations

import os

from beads.errors import CorruptJSONL, GitError, SyncError
from beads.sync import gitsync
from beads.sync.gitsync import PUSH_ATTEMPTS, SYNC_FILES
from beads.sync.syncsteps import file_changed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.sync.git import Git
    from beads.sync.linescan import Scan
    from beads.sync.sbworktree import SyncWorktree
    from beads.sync.synclock import SyncLock

TIP_KEY = "sync_branch.tip"  # "<branch> <commit>": the branch commit the JSONL last matched
LOG_FILES = gitsync.LINE_UNION_FILES
KILL_ENV = "BD_TEST_SYNC_KILL_AT"  # tests: SIGKILL this sync at the named step


def active_branch(tracker: Tracker) -> str | None:
    """The sync branch ``bd sync`` uses now: configured, and not the branch checked out."""
    from beads.sync.git import find_git
    from beads.sync.syncbranch import branch_name

    ws = tracker.workspace
    assert ws is not None
    branch = branch_name(ws.beads_dir)
    if not branch:
        return None
    git = find_git(ws.root)
    if git is None or git.current_branch() == branch:
        return None  # on the sync branch itself: an ordinary sync of it (as the original)
    return branch


def sync(tracker: Tracker, options: gitsync.SyncOptions, branch: str,
         say: Callable[[str], None]) -> dict[str, Any]:
    return BranchSync(tracker, options, say, branch).run()


def _checkpoint(step: str) -> None:
    if os.environ.get(KILL_ENV) == step:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class BranchSync(gitsync._Sync):  # noqa: SLF001 - the same sync, another place to commit
    def __init__(self, tracker: Tracker, options: gitsync.SyncOptions, say: Callable[[str], None],
                 branch: str) -> None:
        super().__init__(tracker, options, say)
        from beads.sync.syncbranch import check_name

        self.branch = check_name(branch)
        common = self.git.out("rev-parse", "--git-common-dir")
        self.common = common if os.path.isabs(common) else os.path.normpath(os.path.join(self.git.root, common))
        rel = os.path.relpath(os.path.realpath(self.ws.beads_dir), os.path.realpath(self.git.root))
        if rel.startswith(".."):
            raise SyncError(f"sync-branch mode needs the .beads directory inside the repository ({self.ws.beads_dir})")
        self.rel = rel
        self.names = list(dict.fromkeys([os.path.basename(self.path), *SYNC_FILES]))
        self.wt: SyncWorktree = None  # type: ignore[assignment]  # under the lock, in run()
        self.remote: str | None = None
        self.fetched = False  # the remote's branch was looked at in this sync (and is not there)
        self.report.update(mode="sync-branch", branch=self.branch)

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from beads.sync.export import FileLock
        from beads.sync.sbworktree import SyncWorktree

        self.remote = self._pick_remote()
        if self.remote is not None:
            self.report["remote"] = f"{self.remote}/{self.branch}"
        if self.options.dry_run:
            return self._dry_run(None)
        timeout = {} if self.options.lock_timeout is None else {"timeout": self.options.lock_timeout}
        with _branch_lock(self.git, self.say, os.path.join(self.common, "bd-sync-branch.lock"), **timeout) as lock:
            self.lock = lock
            self.wt = SyncWorktree(self.git, self.common, self.branch, self.rel, self.env, self.say)
            pull = self.remote is not None and not self.options.no_pull
            target = self._create_branch_if_missing(pull)
            self.wt.ensure()
            with FileLock(self.ws.beads_dir):
                self._import_and_export()
                self._commit_files()
            _checkpoint("committed")
            if self.remote is None:
                if not self.options.no_pull or not self.options.no_push:
                    self.say(f"→ No remote: committed to {self.branch} locally, skipping pull and push")
                return self.report
            if pull and target is None and not self.fetched:
                target = self._fetch_branch()
            with FileLock(self.ws.beads_dir):
                self._merge_and_push_branch(pull, target)
        return self.report

    def _pick_remote(self) -> str | None:
        from beads.sync.syncbranch import remote_name

        remotes = self.git.remotes()
        wanted = remote_name(self.ws.beads_dir)
        if wanted:
            if wanted not in remotes:
                raise SyncError(f"sync.remote is {wanted!r}, which is not a git remote here",
                                hint=f"add it ('git remote add {wanted} <url>') or change sync.remote")
            return wanted
        # then as syncmodes.sync_remote (bd sync --status/--merge): the sync branch's own remote,
        # the checked-out branch's upstream remote, origin, the only remote
        own = self.git.config_get(f"branch.{self.branch}.remote")
        upstream = self.git.upstream()
        for name in (own, upstream[0] if upstream else None, "origin"):
            if name and name in remotes:
                return name
        return remotes[0] if len(remotes) == 1 else None

    def _create_branch_if_missing(self, pull: bool) -> str | None:
        """First sync here: start from the remote's branch if it has one, else from this clone's
        published history. Returns the remote's commit when it was fetched."""
        if self.wt.tip() is not None:
            return None
        target = self._fetch_branch() if pull else None
        self.fetched = pull
        head = self.git.head()
        if target is not None:  # its file is merged with our export against the common history's
            self.wt.create_branch(target)
            base = self.git.merge_base(head, target) if head else None
            self._set_recorded(base or "")
            self.report["pulled"] = True
            return None
        start = head
        # what is pushed already: the upstream, else this branch's namesake on the remote, else
        # the remote's default branch; the user's unpushed commits are never published here
        candidates: list[tuple[str, str | None] | None] = [self.git.upstream()]
        if self.remote is not None:
            candidates += [(self.remote, name) for name in (self.git.current_branch(), "HEAD", "main", "master")]
        for pair in candidates:
            if head and pair and pair[1] and self.git.remote_branch_exists(pair[0], pair[1]):
                start = self.git.merge_base(head, f"refs/remotes/{pair[0]}/{pair[1]}") or head
                break
        tip = self.wt.create_branch(start)
        self._set_recorded(tip)
        return None

    def _merge_and_push_branch(self, pull: bool, target: str | None) -> None:
        push = not self.options.no_push
        repush = True
        for attempt in range(PUSH_ATTEMPTS):
            if attempt:
                gitsync._backoff(attempt)
                target = self._fetch_branch() if pull else None
            elif target is not None:  # what agents wrote during the fetch
                self._import_and_export()
                self._commit_files(again=True)
            last = not pull or attempt == PUSH_ATTEMPTS - 1
            left = self._read()
            merged = self._integrate(target, left) if target is not None else None
            pushed = True
            try:
                if push:
                    pushed = self._push_branch(last=last)
            finally:
                more = self._absorb_branch(left, merged) if merged is not None else False
            if pushed and not (more and push and repush and not last):
                return
            repush = repush and not pushed
            if not pushed:
                self.say("→ The remote moved on meanwhile: merging again")

    # -- committing to the branch ------------------------------------------------------------

    def _recorded(self) -> str | None:
        """The branch commit this database's JSONL last matched ('' when unknown)."""
        value = self.tracker.store.get_metadata(TIP_KEY) or ""
        branch, _, commit = value.rpartition(" ")
        return commit if branch == self.branch else None

    def _set_recorded(self, commit: str) -> None:
        self.tracker.store.set_metadata(TIP_KEY, f"{self.branch} {commit}")

    def _commit(self, message: str, quiet: bool = False) -> str | None:
        """Commit the working tree's beads files to the sync branch (merged 3-way with what the
        branch got meanwhile that this database never saw)."""
        tip = self.wt.tip()
        recorded = self._recorded()
        if tip is not None and recorded != tip:
            if recorded is None:  # this database never synced with the branch: the common history's file
                head = self.git.head()
                recorded = (self.git.merge_base(head, tip) if head else None) or ""
            return self._commit_merged(message, tip, recorded)
        changed = False
        for name in self.names:
            data = self._working(name)
            if data is not None and self.wt.read(name) != data:
                self.wt.write(name, data)
                changed = True
        if not changed:
            if not quiet:
                self.say(f"→ No changes to commit to {self.branch}")
            return None
        self.say(f"→ Committing the beads files to {self.branch}...")
        commit = self.wt.commit(message, self.names, author=self.options.author,
                                no_gpg_sign=self.options.no_gpg_sign)
        if commit is not None:
            self._set_recorded(commit)
        return commit

    def _commit_merged(self, message: str, tip: str, recorded: str) -> str | None:
        """The branch moved on without this database (another worktree synced, or a sync was
        killed after moving it): merge the export into it, commit, and absorb the result."""
        self.say(f"→ {self.branch} has changes this database has not seen: merging them in")
        base = self.git.show(recorded, self.path) if recorded and self._exists(recorded) else b""
        left = self._read()
        self._write_merged(base or b"", left, self.git.show(tip, self.path) or b"", tip)
        commit = self.wt.commit(message, self.names, author=self.options.author,
                                no_gpg_sign=self.options.no_gpg_sign)
        scan = self._scan(left, self.wt.tip() or tip, undo_to=None)
        self._absorb_branch(left, scan)
        return commit

    def _working(self, name: str) -> bytes | None:
        try:
            with open(os.path.join(self.ws.beads_dir, name), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def _exists(self, rev: str) -> bool:
        return self.git.ok("cat-file", "-e", f"{rev}^{{commit}}")

    def _write_merged(self, base: bytes, ours: bytes, theirs: bytes, theirs_rev: str) -> None:
        """Write into the worktree the 3-way merge of the JSONL, the union of the logs, our metadata."""
        from beads.sync.importer import vocab_of
        from beads.sync.merge import merge_bytes

        text, conflicts, _ = merge_bytes(base, ours, theirs, vocab=vocab_of(self.tracker))
        if conflicts:
            where = {" in right: ": f" of {self.remote or 'the'}/{self.branch}'s issues.jsonl ({theirs_rev[:12]}): ",
                     " in left: ": " of this clone's issues.jsonl: "}
            reason = conflicts[0].reason
            for side, name in where.items():
                reason = reason.replace(side, name, 1)
            raise SyncError(f"cannot merge the sync branch {self.branch}: {reason}",
                            hint="nothing was changed; fix that record on the branch (or in this clone), then "
                                 + self.retry_hint())
        self.wt.write(self.names[0], text.encode("utf-8", "surrogateescape"))
        for name in LOG_FILES:
            mine, other = self._working(name), self.git.show(theirs_rev, os.path.join(self.ws.beads_dir, name))
            if mine is None and other is None:
                continue
            lines = list(dict.fromkeys((mine or b"").splitlines() + (other or b"").splitlines()))
            self.wt.write(name, b"".join(line + b"\n" for line in lines if line.strip()))
        for name in self.names[1:]:
            if name not in LOG_FILES and (data := self._working(name)) is not None:
                self.wt.write(name, data)

    # -- fetch, merge, push ----------------------------------------------------------------------

    def _fetch_branch(self) -> str | None:
        """Fetch the remote's sync branch into ``refs/remotes/<remote>/<branch>``; its commit or None."""
        from beads.sync.git import NETWORK_TIMEOUT

        remote, branch = self.remote, self.branch
        assert remote is not None
        self.say(f"→ Pulling from {remote}/{branch}...")
        tracking = f"refs/remotes/{remote}/{branch}"
        proc = self.git.run("fetch", "--quiet", "--no-write-fetch-head", remote, f"+refs/heads/{branch}:{tracking}",
                            check=False, timeout=NETWORK_TIMEOUT, env={**self.env, "LC_ALL": "C"})
        if self._fetch_failed(proc, f"{remote}/{branch}", "it is created by the push",
                              f"git fetch of {remote}/{branch} failed"):
            return None
        return self.git.out("rev-parse", tracking)

    def _integrate(self, target: str, left: bytes) -> Scan | None:
        """Take in the remote's commits (fast-forward, or a merge commit); the merged file's
        changed lines when its JSONL now differs from ``left``, else None."""
        tip = self.wt.tip()
        assert tip is not None
        self.report["pulled"] = True
        if self.git.is_ancestor(target, tip):
            return None
        if self.git.is_ancestor(tip, target):
            self.wt.move_branch(target, tip)
            self.say(f"→ Fast-forwarded {self.branch} to {self.remote}/{self.branch}")
        else:
            base_rev = self.git.merge_base(tip, target)
            base = (self.git.show(base_rev, self.path) if base_rev else None) or b""
            self.wt.begin_merge(target)
            self._write_merged(base, left, self.git.show(target, self.path) or b"", target)
            self.wt.commit(f"bd sync: merge {self.remote}/{self.branch}", self.names, author=self.options.author,
                           no_gpg_sign=self.options.no_gpg_sign, merging=True)
            self.report["merge_resolved"] = True
            self.say(f"✓ Merged {self.remote}/{self.branch} (3-way, issue by issue)")
        _checkpoint("merged")
        new = self.wt.read(self.names[0]) or b""
        if new == left:
            self._set_recorded(self.wt.tip() or "")
            return None
        return self._scan(left, self.wt.tip() or "", undo_to=tip)

    def _scan(self, left: bytes, rev: str, undo_to: str | None) -> Scan:
        """The branch file's lines ``left`` lacks, validated (a record bd refuses is never imported or
        pushed: with ``undo_to`` the branch goes back there)."""
        from beads.sync.importer import vocab_of
        from beads.sync.linescan import Scan, digest_map, scan_file

        try:
            return scan_file(self.wt.file(self.names[0]), vocab_of(self.tracker), digest_map(left)) or Scan()
        except CorruptJSONL as exc:
            if undo_to is not None:
                self.wt.move_branch(undo_to, rev)
            raise SyncError(f"{self.remote}/{self.branch} brings a record bd refuses: {exc.message.splitlines()[0]}",
                            hint="fix that line in a new commit on the sync branch, then " + self.retry_hint())

    def _push_branch(self, *, last: bool) -> bool:
        """Push the branch when the remote lacks its tip; False when the remote moved on meanwhile."""
        from beads.sync.git import NETWORK_TIMEOUT

        remote, branch = self.remote, self.branch
        assert remote is not None
        tip = self.wt.tip()
        tracking = self.git.run("rev-parse", "-q", "--verify", f"refs/remotes/{remote}/{branch}", check=False)
        if tip is not None and tracking.returncode == 0 and tracking.stdout.strip() == tip:
            self.say("→ Nothing to push")
            return True
        self.say(f"→ Pushing {branch} to {remote}...")
        try:
            self.git.run("push", "--quiet", "--no-verify", remote, f"refs/heads/{branch}:refs/heads/{branch}",
                         timeout=NETWORK_TIMEOUT, env=self.env)
        except GitError as exc:
            if not last and gitsync._remote_moved(exc):
                return False
            raise SyncError(exc.message, hint=f"the remote did not take the push of {branch} (it may have new "
                                              "commits, or refuse writes to that branch); "
                                              + self.retry_hint(" (it pulls first)"))
        _checkpoint("pushed")
        self.report["pushed"] = True
        return True

    # -- back into the working tree and the database ----------------------------------------------

    def _absorb_branch(self, left: bytes, merged: Scan) -> bool:
        """Make the working tree's files and the database hold what the branch holds; True when
        the database then had more, committed to the branch."""
        for name in (self.names[0], *LOG_FILES):
            data = self.wt.read(name)
            if data is not None and data != self._working(name):
                gitsync._write_bytes(os.path.join(self.ws.beads_dir, name), data)
        _checkpoint("absorbing")
        self._absorb(left, merged)
        self._set_recorded(self.wt.tip() or "")
        return self._reexport_if_needed()

    def _reexport_if_needed(self) -> bool:
        if not self.tracker.store.dirty_ids() and not gitsync.file_lacks_issues(self.tracker):
            return False
        self.say("→ Re-exporting: the database has changes the JSONL lacks")
        self.report["reexported"] = gitsync.export(self.tracker)
        if self._commit("bd sync: apply DB changes after import"):
            self.report["committed_after_import"] = True
            return True
        return False

    # -- reporting ----------------------------------------------------------------------------

    def retry_hint(self, when: str = "") -> str:
        facts: list[str] = []
        try:
            tip = self.wt.tip() if self.wt is not None else None
            on_branch = tip is not None and self.git.show(tip, self.path) == self._read()
        except GitError:
            on_branch = None
        if on_branch:
            facts.append(f"your issues are committed to {self.branch} locally")
        elif on_branch is False:
            facts.append(f"the issues file has changes not committed to {self.branch} yet")
        facts += [self._db_fact(), "your own branch is untouched"]
        return "; ".join(facts) + f"; run 'bd sync' again{when}"

    def _dry_run(self, upstream: tuple[str, str] | None) -> dict[str, Any]:
        say = self.say
        changed = file_changed(self.tracker)
        dirty = len(self.tracker.store.dirty_ids())
        exists = self.git.ok("rev-parse", "-q", "--verify", f"refs/heads/{self.branch}")
        self.report.update(would_import=changed, would_export=dirty, branch_exists=exists)
        if changed:
            say("→ [DRY RUN] Would import the JSONL (it changed since bd last read it)")
        if not exists:
            say(f"→ [DRY RUN] Would create the sync branch {self.branch}")
        say(f"→ [DRY RUN] Would export {dirty} changed issue(s) and commit the beads files to {self.branch} "
            "if they changed")
        if self.remote is None:
            say("→ [DRY RUN] No remote: would skip pull and push")
        else:
            if not self.options.no_pull:
                say(f"→ [DRY RUN] Would pull {self.remote}/{self.branch}")
            if not self.options.no_push:
                say(f"→ [DRY RUN] Would push {self.branch} to {self.remote}")
        return self.report


def _branch_lock(git: Git, say: Callable[[str], None], path: str, **kw: Any) -> SyncLock:
    """The sync lock, one per repository in this mode (its linked worktrees share the branch)."""
    from beads.sync.synclock import SyncLock

    lock = SyncLock(git, say, **kw)
    lock.path = path
    return lock

