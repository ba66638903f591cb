"""The other modes of ``bd sync`` (spec §8.6; docs/SYNC.md, "The other modes"):

* ``status``: what differs between the working branch and what it syncs with -- the sync
  branch (local and as last fetched) in sync-branch mode, the upstream otherwise -- in
  commits and in issues (by ID, comparing lines), and what this clone has not synced yet.
  Reads only.
* ``merge``: bring the sync branch's issues into the working branch as one ordinary commit
  (for a pull request): the committed ``issues.jsonl`` becomes the sync branch's, byte for
  byte, and is imported. Only the beads files are committed (``git commit --only``), so other
  staged or unstaged work is never touched.
* ``from_main``: a one-way pull for a branch without an upstream: fetch the remote's default
  branch and import its ``issues.jsonl`` (newer wins, additive: nothing is deleted because it
  is absent), then export. Never commits, never pushes.
* ``squash``: export without committing (``flush_only`` under another name).

``bd sync --check`` lives in ``beads.sync.synccheck``. Every function returns a plain dict
(the ``--json`` document) and raises ``SyncError``/``GitError`` with one line and a hint.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from beads.errors import CorruptJSONL, SyncError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.core.workspace import Workspace
    from beads.sync.git import Git

MERGED_FILES = ("issues.jsonl", "interactions.jsonl")  # what --merge copies from the sync branch


def _quiet(_: str) -> None:
    pass


# -- shared helpers ------------------------------------------------------------------------------


def repo(tracker: Tracker) -> tuple[Workspace, Git]:
    """The workspace and the git repository around it (``SyncError`` outside one)."""
    from beads.sync.git import find_git

    ws = tracker.workspace
    if ws is None:
        raise SyncError("bd sync needs a workspace (a .beads directory)")
    git = find_git(ws.root)
    if git is None:
        raise SyncError("not a git repository", hint="run 'git init' first")
    return ws, git


def preflight(git: Git, command: str) -> None:
    """Refuse while a merge or a rebase is in progress (the user's to finish first)."""
    if git.unmerged_paths() or git.merge_in_progress():
        raise SyncError("a git merge is in progress",
                        hint=f"finish it ('git commit') or abort it ('git merge --abort'), then run '{command}' again")
    if git.rebase_in_progress():
        raise SyncError("a git rebase is in progress",
                        hint=f"finish it ('git rebase --continue') or abort it ('git rebase --abort'), "
                             f"then run '{command}' again")


def ref_exists(git: Git, ref: str) -> bool:
    return git.ok("rev-parse", "-q", "--verify", f"{ref}^{{commit}}")


def ahead_behind(git: Git, ours: str, theirs: str) -> dict[str, int]:
    """Commits ``ours`` has that ``theirs`` lacks (ahead) and the other way round (behind)."""
    left, _, right = git.out("rev-list", "--left-right", "--count", f"{ours}...{theirs}").partition("\t")
    return {"ahead": int(left or 0), "behind": int(right or 0)}


def sync_remote(git: Git, branch: str | None, configured: str | None) -> str | None:
    """The remote a sync branch syncs with, in ``bd sync``'s order (``branchsync._pick_remote``):
    ``sync.remote``, the branch's own ``branch.<b>.remote``, the checked-out branch's upstream
    remote, ``origin``, the only remote; None without remotes."""
    remotes = git.remotes()
    upstream = git.upstream()
    candidates = [configured, git.config_get(f"branch.{branch}.remote") if branch else None,
                  upstream[0] if upstream else None, "origin"]
    for name in candidates:
        if name and name in remotes:
            return name
    return remotes[0] if len(remotes) == 1 else None


def default_branch(git: Git, remote: str) -> str:
    """The remote's default branch: ``refs/remotes/<remote>/HEAD``, else main, else master."""
    proc = git.run("symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD", check=False)
    prefix = f"refs/remotes/{remote}/"
    if proc.returncode == 0 and proc.stdout.strip().startswith(prefix):
        return proc.stdout.strip()[len(prefix):]
    for name in ("main", "master"):
        if ref_exists(git, prefix + name):
            return name
    return "main"


def issue_lines(data: bytes | None) -> dict[str, bytes]:
    """ID → line of each issue in some JSONL bytes (lines that are no issue are left out)."""
    import json

    from beads.sync.linescan import line_id

    out: dict[str, bytes] = {}
    for line in (data or b"").split(b"\n"):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        issue_id = line_id(line)
        if issue_id is None:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
                continue
            issue_id = obj["id"]
        out[issue_id] = line
    return out


def _unshared(a: bytes | None, b: bytes | None) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """ID → line of the lines of ``a`` that ``b`` lacks, and the other way round. Lines both hold
    are set aside whole (a set difference in C) before any is read for its ID: two 100,000-line
    copies that differ in a few lines cost two splits, not two dictionaries of every issue."""
    if a == b:
        return {}, {}
    left = {line.rstrip(b"\r") for line in (a or b"").split(b"\n")}
    right = {line.rstrip(b"\r") for line in (b or b"").split(b"\n")}
    return issue_lines(b"\n".join(left - right)), issue_lines(b"\n".join(right - left))


def diff_issues(old: bytes | None, new: bytes | None) -> dict[str, list[str]]:
    """What taking ``new`` instead of ``old`` changes, by issue ID: added, changed, removed."""
    a, b = _unshared(old, new)
    return {"added": sorted(b.keys() - a.keys()), "changed": sorted(a.keys() & b.keys()),
            "removed": sorted(a.keys() - b.keys())}


def differing_lines(ours: bytes | None, theirs: bytes | None) -> dict[str, list[str]]:
    """IDs whose line differs between two copies, per side: ``local_only`` (our version is not
    in theirs: new or changed here) and ``remote_only`` (the other way round)."""
    a, b = _unshared(ours, theirs)
    return {"local_only": sorted(a), "remote_only": sorted(b)}


class Versions:
    """The JSONL at some revisions, each read once and only when it differs from another: two
    revisions whose blob IDs are equal (``git rev-parse REV:path``) are equal without reading."""

    def __init__(self, git: Git, path: str) -> None:
        self.git, self.path = git, path
        self.rel = git.rel(path)
        self._blobs: dict[str, str | None] = {}
        self._data: dict[str, bytes | None] = {}

    def blob(self, rev: str) -> str | None:
        if rev not in self._blobs:
            proc = self.git.run("rev-parse", "-q", "--verify", f"{rev}:{self.rel}", check=False)
            self._blobs[rev] = proc.stdout.strip() or None if proc.returncode == 0 else None
        return self._blobs[rev]

    def show(self, rev: str) -> bytes | None:
        blob = self.blob(rev)
        if blob is None:
            return None
        if blob not in self._data:
            self._data[blob] = self.git.show(rev, self.path)
        return self._data[blob]

    def diff(self, old: str, new: str) -> dict[str, list[str]]:
        if self.blob(old) == self.blob(new):
            return {"added": [], "changed": [], "removed": []}
        return diff_issues(self.show(old), self.show(new))

    def differing(self, ours: str, theirs: str) -> dict[str, list[str]]:
        if self.blob(ours) == self.blob(theirs):
            return {"local_only": [], "remote_only": []}
        return differing_lines(self.show(ours), self.show(theirs))

    def same_as_file(self, rev: str) -> bool:
        """Whether the working file holds exactly that revision's bytes (by git's blob hash)."""
        import hashlib

        try:
            size = os.path.getsize(self.path)
            digest = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
            with open(self.path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except FileNotFoundError:
            return self.blob(rev) is None
        return digest.hexdigest() == self.blob(rev)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _validate(tracker: Tracker, data: bytes, name: str, what: str) -> None:
    """Refuse JSONL bytes the importer would refuse, naming the line (nothing changed yet)."""
    from beads.sync import jsonl
    from beads.sync.importer import vocab_of

    try:
        jsonl.parse_jsonl(jsonl.decode(data, name), name, vocab_of(tracker))
    except CorruptJSONL as exc:
        raise SyncError(exc.message.splitlines()[0], hint=f"{what}; nothing was changed ('bd sync --check' lists "
                                                          "every problem)")


class _ModeLock:
    """The sync lock (``beads.sync.synclock``) for a mode that writes: it waits for a running
    ``bd sync``; a killed sync's unfinished merge is left for ``bd sync`` to recover."""

    def __init__(self, git: Git, say: Callable[[str], None], command: str) -> None:
        from beads.sync.synclock import SyncLock

        self.lock = SyncLock(git, say)
        self.command = command

    def __enter__(self) -> _ModeLock:
        lock = self.lock.__enter__()
        previous = lock.previous
        if previous and previous.get("step") == "merging":
            lock.release_keeping(previous)  # as it was: the next 'bd sync' recovers from it
            raise SyncError("an interrupted bd sync left a merge to finish",
                            hint=f"run 'bd sync' (it finishes or undoes that merge), then '{self.command}' again")
        lock.clear_index_lock()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.lock.__exit__(*exc)


def _git_env() -> dict[str, str]:
    from beads.sync.gitsync import SYNC_ENV

    return {SYNC_ENV: "1"}  # our own hooks stand aside


# -- --status --------------------------------------------------------------------------------------


def status(tracker: Tracker, *, remote_setting: str | None = None) -> dict[str, Any]:
    """What differs between the working branch and what it syncs with; changes nothing."""
    from beads.sync import syncbranch
    from beads.sync.doctor_jsonl import sync_state

    ws, git = repo(tracker)
    name = syncbranch.branch_name(ws.beads_dir)
    branch = git.current_branch()
    has_head = git.has_commits()
    versions = Versions(git, ws.jsonl_path)
    state = sync_state(tracker)
    report: dict[str, Any] = {"mode": "sync-branch" if name else "normal", "branch": branch,
                              "detached": branch is None and has_head, "remote": None, "target": None,
                              "commits": None, "issues": None}
    if name:
        report.update(_sync_branch_status(git, versions, name, remote_setting, has_head))
        ref = report["sync_branch"]["ref"]
        uncommitted = os.path.exists(ws.jsonl_path) and not (ref and versions.same_as_file(ref))
    else:
        upstream = git.upstream()
        if upstream is not None:
            remote, up = upstream
            report["remote"] = remote
            report["target"] = f"{remote}/{up}"
            ref = f"refs/remotes/{remote}/{up}"
            if has_head and ref_exists(git, ref):
                report["commits"] = ahead_behind(git, "HEAD", ref)
                report["issues"] = versions.diff("HEAD", ref)
        files = [os.path.join(ws.beads_dir, f) for f in ("issues.jsonl", "interactions.jsonl", "deletions.jsonl",
                                                          "metadata.json")]
        uncommitted = git.has_changes([f for f in files if os.path.exists(f) or git.is_tracked(f)])
    report["local"] = {"unexported": state["unexported"], "jsonl_unimported": state["jsonl_changed"],
                       "uncommitted": bool(uncommitted)}
    return report


def _sync_branch_status(git: Git, versions: Versions, name: str, remote_setting: str | None,
                        has_head: bool) -> dict[str, Any]:
    remote = sync_remote(git, name, remote_setting)
    local_ref = f"refs/heads/{name}"
    remote_ref = f"refs/remotes/{remote}/{name}" if remote else None
    local = ref_exists(git, local_ref)
    remote_known = bool(remote_ref) and ref_exists(git, remote_ref or "")
    ref = local_ref if local else remote_ref if remote_known else None
    info: dict[str, Any] = {"name": name, "ref": ref, "exists": local, "remote_exists": remote_known,
                            "ahead": None, "behind": None, "issues": None}
    if local and remote_known and remote_ref:
        info.update(ahead_behind(git, local_ref, remote_ref))
        info["issues"] = versions.differing(local_ref, remote_ref)
    out: dict[str, Any] = {"remote": remote, "target": name, "sync_branch": info}
    if ref is not None:
        if has_head:
            out["commits"] = ahead_behind(git, "HEAD", ref)
        out["issues"] = versions.diff("HEAD", ref) if has_head else diff_issues(None, versions.show(ref))
    return out


# -- --merge ---------------------------------------------------------------------------------------


def merge(tracker: Tracker, *, dry_run: bool = False, message: str | None = None, author: str | None = None,
          no_gpg_sign: bool = False, remote_setting: str | None = None,
          say: Callable[[str], None] = _quiet) -> dict[str, Any]:
    """Commit the sync branch's issues on the working branch (one commit) and import them."""
    from beads.sync import syncbranch

    ws, git = repo(tracker)
    name = syncbranch.branch_name(ws.beads_dir)
    if not name:
        raise SyncError("bd sync --merge needs a sync branch, and none is configured",
                        hint="configure one with 'bd config set sync.branch <name>' (or 'bd init --branch <name>')")
    branch = _merge_target(git, name)
    ref = _merge_source(git, name, remote_setting)
    paths = [os.path.join(ws.beads_dir, f) for f in MERGED_FILES]
    theirs = {p: git.show(ref, p) for p in paths}
    rel = git.rel(ws.jsonl_path)
    source = theirs[ws.jsonl_path]
    if source is None:
        raise SyncError(f"the sync branch '{name}' has no {rel}", hint="run 'bd sync' first")
    has_head = git.has_commits()
    head = git.show("HEAD", ws.jsonl_path) if has_head else None
    changes = diff_issues(head, source)
    report: dict[str, Any] = {"mode": "merge", "dry_run": dry_run, "branch": branch, "sync_branch": name,
                              "source": ref.removeprefix("refs/heads/").removeprefix("refs/remotes/"),
                              "issues": changes, "commit": None, "imported": None}
    _refuse_unsynced(tracker, git, theirs, name)
    _validate(tracker, source, f"{name}:{rel}", f"fix that line on '{name}'")
    todo = [p for p in paths if theirs[p] is not None and theirs[p] != (git.show("HEAD", p) if has_head else None)]
    if not todo:
        say(f"→ Nothing to merge: '{branch}' already has the issues of '{name}'")
        return report
    if dry_run:
        say(f"→ [DRY RUN] Would commit the issues of '{name}' on '{branch}': {_counts_text(changes)}")
        report["would_commit"] = [git.rel(p) for p in todo]
        return report
    from beads.fileio import write_atomic
    from beads.sync.export import FileLock

    with _ModeLock(git, say, "bd sync --merge"), FileLock(ws.beads_dir):
        _refuse_unsynced(tracker, git, theirs, name)  # again, now that writers wait
        for path in todo:
            write_atomic(path, theirs[path] or b"")
        say(f"→ Committing the issues of '{name}' on '{branch}'...")
        env = _git_env()
        git.add(todo, env=env)
        report["commit"] = git.commit(message or f"bd sync: merge the issues of sync branch '{name}'", todo,
                                      author=author, no_gpg_sign=no_gpg_sign, env=env)
        say("→ Importing them...")
        stats = import_jsonl(tracker, ws.jsonl_path, False, f"on '{name}'")
        report["imported"] = {k: stats[k] for k in ("created", "updated", "unchanged") if k in stats}
    return report


def _merge_target(git: Git, name: str) -> str:
    """The checked-out branch that receives the sync branch's issues (refusing what cannot)."""
    preflight(git, "bd sync --merge")
    branch = git.current_branch()
    if branch is None:
        raise SyncError("HEAD is detached: there is no branch to merge the sync branch into",
                        hint="check out the branch that should receive the issues, then run 'bd sync --merge'")
    if branch == name:
        raise SyncError(f"you are on the sync branch '{name}' itself",
                        hint="check out the branch that should receive the issues (e.g. main), then run "
                             "'bd sync --merge'")
    return branch


def _merge_source(git: Git, name: str, remote_setting: str | None) -> str:
    """The sync branch's ref: the local branch, else the remote-tracking one (a fresh clone)."""
    ref = f"refs/heads/{name}"
    if ref_exists(git, ref):
        return ref
    remote = sync_remote(git, name, remote_setting)
    if remote and ref_exists(git, f"refs/remotes/{remote}/{name}"):
        return f"refs/remotes/{remote}/{name}"
    raise SyncError(f"the sync branch '{name}' does not exist yet", hint="run 'bd sync' first")


def _refuse_unsynced(tracker: Tracker, git: Git, theirs: dict[str, bytes | None], name: str) -> None:
    """Refuse when this clone has changes the sync branch lacks, which replacing the files would drop
    from them: database changes not exported; an issue whose working line is neither the sync
    branch's nor the committed one (compared by issue: a file merely written in another order is no
    change); ``interactions.jsonl`` lines neither copy has."""
    ws = tracker.workspace
    assert ws is not None
    hint = "run 'bd sync' first (it puts them on the sync branch), then 'bd sync --merge'"
    dirty = len(tracker.store.dirty_ids())
    if dirty:
        raise SyncError(f"{dirty} issue change(s) are not exported yet, so the sync branch '{name}' lacks them",
                        hint=hint)
    has_head = git.has_commits()
    for path, source in theirs.items():
        work = _read(path)
        head = git.show("HEAD", path) if has_head else None
        if work is None or source is None or work in (head, source):
            continue
        if path != ws.jsonl_path:
            if set(work.splitlines()) - set(source.splitlines()) - set((head or b"").splitlines()) - {b""}:
                raise SyncError(f"{git.rel(path)} has lines the sync branch '{name}' lacks", hint=hint)
            continue
        ours, other, committed = issue_lines(work), issue_lines(source), issue_lines(head)
        unsynced = sorted(i for i, line in ours.items() if other.get(i) != line and committed.get(i) != line)
        if unsynced:
            raise SyncError(f"{len(unsynced)} issue(s) in the issues file are not on the sync branch '{name}' yet "
                            f"({', '.join(unsynced[:3])}{', ...' if len(unsynced) > 3 else ''})", hint=hint)


def _counts_text(changes: dict[str, list[str]]) -> str:
    return (f"{len(changes['added'])} added, {len(changes['changed'])} changed, "
            f"{len(changes['removed'])} removed")


# -- --from-main ---------------------------------------------------------------------------------------


def wants_from_main(tracker: Tracker) -> bool:
    """Plain ``bd sync`` pulls from the default branch instead (spec §8.6 step 1): no upstream,
    a remote, and no sync branch."""
    from beads.sync import syncbranch
    from beads.sync.git import find_git

    ws = tracker.workspace
    if ws is None or syncbranch.branch_name(ws.beads_dir):
        return False
    git = find_git(ws.root)
    return git is not None and git.upstream() is None and git.has_remote()


def from_main(tracker: Tracker, *, dry_run: bool = False, rename_on_import: bool = False,
              remote_setting: str | None = None, strict: bool = True,
              say: Callable[[str], None] = _quiet) -> dict[str, Any]:
    """Fetch the remote's default branch and import its issues (newer wins; nothing deleted), then
    export. ``strict=False`` (plain ``bd sync`` falling back to it): a failed fetch is a warning."""
    ws, git = repo(tracker)
    remotes = git.remotes()
    remote = remote_setting or ("origin" if "origin" in remotes or not remotes else remotes[0])
    if not remotes:
        raise SyncError("no git remote configured", hint="add one with 'git remote add origin <url>'")
    if remote not in remotes:
        raise SyncError(f"the configured remote '{remote}' (sync.remote) does not exist",
                        hint=f"add it with 'git remote add {remote} <url>', or change sync.remote")
    preflight(git, "bd sync --from-main")
    branch = default_branch(git, remote)
    report: dict[str, Any] = {"mode": "from-main", "dry_run": dry_run, "source": f"{remote}/{branch}",
                              "fetched": False, "issues": None, "imported": None, "exported": False,
                              "committed": None, "pushed": False}
    if dry_run:
        ref = f"refs/remotes/{remote}/{branch}"
        if ref_exists(git, ref):  # as last fetched
            report["issues"] = diff_issues(_read(ws.jsonl_path), git.show(ref, ws.jsonl_path))
        say(f"→ [DRY RUN] Would fetch {remote}/{branch} and import its issues (newer wins; nothing is deleted, "
            "committed or pushed)")
        return report
    theirs = _fetch_default(git, ws, remote, branch, strict, say)
    if theirs is None:
        return report
    report["fetched"] = True
    rel = git.rel(ws.jsonl_path)
    _validate(tracker, theirs, f"{remote}/{branch}:{rel}", f"fix that line on {remote}/{branch}")
    from beads.sync import gitsync
    from beads.sync.export import FileLock

    with _ModeLock(git, say, "bd sync --from-main"), FileLock(ws.beads_dir):
        gitsync.flush_only(tracker, gitsync.SyncOptions(), _quiet)  # the file holds the DB's changes first
        report["issues"] = diff_issues(_read(ws.jsonl_path), theirs)
        say(f"→ Importing the issues of {remote}/{branch}...")
        with temp_copy(theirs, ws.beads_dir) as path:
            stats = import_jsonl(tracker, path, rename_on_import, "on the default branch")
        report["imported"] = {k: stats[k] for k in ("created", "updated", "unchanged") if k in stats}
        report["exported"] = gitsync.flush_only(tracker, gitsync.SyncOptions(), _quiet)["exported"]
    return report


def _fetch_default(git: Git, ws: Workspace, remote: str, branch: str, strict: bool,
                   say: Callable[[str], None]) -> bytes | None:
    """Fetch ``remote/branch``; its ``issues.jsonl``, or None when there is nothing to import."""
    from beads.sync.git import summarize_output

    say(f"→ Fetching {remote}/{branch}...")
    proc = git.fetch_branch(remote, branch, env=_git_env())
    if proc.returncode != 0:
        output = (proc.stderr or "") + (proc.stdout or "")
        if "couldn't find remote ref" in output:
            say(f"→ {remote}/{branch} does not exist yet: nothing to import")
            return None
        detail = summarize_output(output) or f"exit status {proc.returncode}"
        if strict:
            raise SyncError(f"git fetch failed: {detail}", hint="nothing was changed; run 'bd sync --from-main' "
                                                                 "again once the problem is fixed")
        say(f"→ Could not fetch {remote}/{branch} ({detail}): nothing imported from it")
        return None
    data = git.show("FETCH_HEAD", ws.jsonl_path)
    if data is None:
        say(f"→ {remote}/{branch} has no {git.rel(ws.jsonl_path)}: nothing to import")
    return data


def import_jsonl(tracker: Tracker, path: str, rename_on_import: bool, where: str) -> dict[str, Any]:
    """Import a JSONL file: newer wins, additive. The workspace's own file is recorded as read;
    another copy's changes are marked for the next export (``importer.import_file``)."""
    import sys

    from beads.sync.importer import import_file

    try:
        stats = import_file(tracker, path, rename_on_import=rename_on_import,
                            skip_prefix_validation=not rename_on_import)
    except CorruptJSONL as exc:
        raise SyncError(exc.message, hint="nothing was imported and the database is unchanged")
    for old, new in sorted((stats.get("renamed") or {}).items()):
        print(f"Warning: {old} {where} is another clone's issue; the local issue is now {new}", file=sys.stderr)
    return stats


@contextmanager
def temp_copy(data: bytes, directory: str | None = None) -> Iterator[str]:
    """The bytes in a temporary file (in ``directory``, else the system's), removed afterwards."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix=".bd-sync-", suffix=".jsonl", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


# -- --squash -------------------------------------------------------------------------------------------


def squash(tracker: Tracker, *, dry_run: bool = False, say: Callable[[str], None] = _quiet) -> dict[str, Any]:
    """Export the database's changes to the JSONL without committing (one commit later)."""
    from beads.sync import gitsync

    if tracker.workspace is None:
        raise SyncError("bd sync needs a workspace (a .beads directory)")
    report = gitsync.flush_only(tracker, gitsync.SyncOptions(dry_run=dry_run), say)
    report["mode"] = "squash"
    report["committed"] = None
    return report


def iter_ids(ids: list[str], limit: int = 20) -> Iterator[str]:
    """IDs for a text listing: the first ``limit``, then how many more."""
    yield from ids[:limit]
    if len(ids) > limit:
        yield f"... and {len(ids) - limit} more"
