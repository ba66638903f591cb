"""The sync branch's git worktree: where ``bd sync`` commits the beads files in sync-branch mode.

It lives at ``<git common dir>/beads-worktrees/<branch>`` (``syncbranch.worktree_path``), with
only the beads directory checked out (a sparse checkout whose pattern file is the worktree's
own and whose switch is passed to each git we run there, so the repository's shared config
is never touched). Its HEAD is detached at the sync branch: the branch moves only through
``update-ref`` with the old value given (a compare-and-swap), so the user may check the
branch out elsewhere and a commit made there by hand is never overwritten.

Everything in it belongs to bd and is rebuilt when in doubt: ``ensure`` creates it on
demand, prunes a stale registration, re-creates a deleted or corrupt one, and puts a
worktree left mid-way by a killed sync (an ``index.lock``, a merge, a commit not yet on
the branch) back at the branch's commit. Commits there run no hooks (``--no-verify``).
"""

from __future__ import annotations

import os
import shutil

from beads.errors import GitError, SyncError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from beads.sync.git import Git


def _sparse_env(extra: Mapping[str, str]) -> dict[str, str]:
    """git's environment in the worktree: sparse checkout on (for this process only)."""
    env = dict(extra)
    n = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    env.update({"GIT_CONFIG_COUNT": str(n + 1), f"GIT_CONFIG_KEY_{n}": "core.sparseCheckout",
                f"GIT_CONFIG_VALUE_{n}": "true"})
    return env


class SyncWorktree:
    """The worktree of ``branch`` for the repository ``git`` (any of its worktrees)."""

    def __init__(self, git: Git, common_dir: str, branch: str, beads_rel: str, env: Mapping[str, str],
                 say: Callable[[str], None]) -> None:
        from beads.sync.git import Git
        from beads.sync.syncbranch import worktree_path

        self.main = git
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.path = worktree_path(common_dir, branch)
        self.common_dir = common_dir
        self.beads_rel = beads_rel
        self.say = say
        self.git = Git(self.path, env=_sparse_env(env))
        self.git.pass_fds = git.pass_fds
        self._tip: str | None = None

    # -- the branch ---------------------------------------------------------------------------

    def tip(self) -> str | None:
        """The branch's commit (remembered: within a sync it moves only through this object)."""
        if self._tip is None:
            proc = self.main.run("rev-parse", "-q", "--verify", f"{self.ref}^{{commit}}", check=False)
            self._tip = proc.stdout.strip() or None if proc.returncode == 0 else None
        return self._tip

    def create_branch(self, start: str | None) -> str:
        """Create the sync branch at ``start`` (None: a first commit holding nothing)."""
        if start is None:  # a repository without commits: a root commit holding nothing
            tree = self.main.out("mktree")
            start = self.main.out("commit-tree", tree, "-m", f"bd: start the sync branch {self.branch}")
        self.main.run("update-ref", self.ref, start, "0" * 40)
        self._tip = start
        self.say(f"→ Created the sync branch {self.branch}")
        return start

    def move_branch(self, new: str, old: str, *, checkout: bool = True) -> None:
        """Point the branch at ``new`` if it is still at ``old`` (and the worktree with it)."""
        proc = self.main.run("update-ref", self.ref, new, old, check=False)
        self._tip = None
        if proc.returncode != 0:
            raise SyncError(f"the sync branch {self.branch} moved while bd sync was updating it",
                            hint="was it committed to by hand? run 'bd sync' again")
        self._tip = new
        if checkout:
            self.git.run("reset", "--hard", "--quiet", new)

    # -- the worktree ---------------------------------------------------------------------------

    def ensure(self) -> None:
        """Make the worktree exist, be sound, and sit cleanly at the branch's commit."""
        tip = self.tip()
        if tip is None:
            raise SyncError(f"the sync branch {self.branch} does not exist", hint="run 'bd sync' again")
        gitdir = self._gitdir() if os.path.isdir(self.path) else None
        if os.path.isdir(self.path) and gitdir is None:
            self.say(f"→ Repairing the sync branch worktree ({self.path})")
            shutil.rmtree(self.path, ignore_errors=True)
        if gitdir is None:
            self._add(tip)
            return
        self.git._git_dir = gitdir
        self._clean(tip, gitdir)

    def _gitdir(self) -> str | None:
        """The worktree's own git directory if it is a sound worktree of this repository (read from
        the files git keeps, ``.git`` -> ``gitdir``/``commondir`` and back, without running git)."""
        def read(path: str) -> str | None:
            try:
                with open(path, encoding="utf-8") as fh:
                    return fh.read().strip()
            except (OSError, UnicodeDecodeError):
                return None

        def resolve(base: str, path: str) -> str:
            return os.path.realpath(path if os.path.isabs(path) else os.path.join(base, path))

        link = read(os.path.join(self.path, ".git"))
        if not link or not link.startswith("gitdir: "):
            return None
        gitdir = resolve(self.path, link[len("gitdir: "):])
        common, back = read(os.path.join(gitdir, "commondir")), read(os.path.join(gitdir, "gitdir"))
        if not common or not back or read(os.path.join(gitdir, "HEAD")) is None:
            return None
        if resolve(gitdir, common) != os.path.realpath(self.common_dir):
            return None
        if resolve(gitdir, back) != os.path.realpath(os.path.join(self.path, ".git")):
            return None
        return gitdir

    def _add(self, tip: str) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.main.run("worktree", "prune", check=False)  # a deleted worktree's registration
        args = ("worktree", "add", "--no-checkout", "--detach", "--quiet")
        proc = self.main.run(*args, self.path, tip, check=False)
        if proc.returncode != 0:  # registered still (locked, say): take the place over
            shutil.rmtree(self.path, ignore_errors=True)
            self.main.run(*args, "--force", self.path, tip)
        info = os.path.join(self.git.git_dir(), "info")
        os.makedirs(info, exist_ok=True)
        with open(os.path.join(info, "sparse-checkout"), "w", encoding="utf-8") as fh:
            fh.write(f"/{self.beads_rel}/\n")
        self.git.run("reset", "--hard", "--quiet", tip)

    def _clean(self, tip: str, gitdir: str) -> None:
        """Back to the branch's commit, whatever a killed sync or a hand left there."""
        lock = os.path.join(gitdir, "index.lock")
        if os.path.exists(lock):  # only bd works here, and we hold the sync lock
            os.unlink(lock)
            self.say("→ Removed the index.lock an interrupted bd sync left in the sync worktree")
        if not os.path.exists(os.path.join(gitdir, "info", "sparse-checkout")):
            os.makedirs(os.path.join(gitdir, "info"), exist_ok=True)
            with open(os.path.join(gitdir, "info", "sparse-checkout"), "w", encoding="utf-8") as fh:
                fh.write(f"/{self.beads_rel}/\n")
        try:
            with open(os.path.join(gitdir, "HEAD"), encoding="utf-8") as fh:
                head = fh.read().strip()
        except OSError:
            head = ""
        if head.startswith("ref:"):  # a branch was checked out here by hand: never move it
            self.git.run("checkout", "--quiet", "--force", "--detach", tip)
        elif head != tip or os.path.exists(os.path.join(gitdir, "MERGE_HEAD")) or self._dirty():
            self.git.run("reset", "--hard", "--quiet", tip)

    def _dirty(self) -> bool:
        try:
            return bool(self.git.run("status", "--porcelain", "--untracked-files=no", "--", self.beads_rel).stdout)
        except GitError:
            return True

    # -- files and commits ------------------------------------------------------------------------

    def file(self, name: str) -> str:
        return os.path.join(self.path, self.beads_rel, name)

    def read(self, name: str) -> bytes | None:
        try:
            with open(self.file(name), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def write(self, name: str, data: bytes) -> None:
        from beads.fileio import write_atomic

        os.makedirs(os.path.dirname(self.file(name)), exist_ok=True)
        write_atomic(self.file(name), data)

    def begin_merge(self, target: str) -> None:
        """Start recording a merge of ``target`` (its files are then written by the caller)."""
        proc = self.git.run("merge", "--no-commit", "--no-ff", "--quiet", "--allow-unrelated-histories",
                            "-s", "ours", target, check=False, env={"LC_ALL": "C"})
        if proc.returncode != 0:
            raise SyncError(f"cannot record the merge on the sync branch {self.branch}: "
                            f"{(proc.stderr or proc.stdout).strip()}", hint="run 'bd sync' again")

    def commit(self, message: str, names: list[str], *, author: str | None, no_gpg_sign: bool,
               merging: bool = False) -> str | None:
        """Commit ``names`` (beads files) when they changed (always when ``merging``); the new tip or None."""
        paths = [self.file(n) for n in names if os.path.exists(self.file(n))]
        if not merging and not self.git.status(paths):
            return None
        old = self.git.head()
        self.git.add(paths)
        self.git.commit(message, None, author=author, no_gpg_sign=no_gpg_sign, no_verify=True)
        new = self.git.head()
        assert new is not None and old is not None
        self.move_branch(new, old, checkout=False)
        return new
