"""The one module that runs git.

Everything else asks this module: ``bd sync``, the git hooks, ``bd init``'s merge
driver registration and (when told to) the daemon. Every call has a timeout, never
prompts (``GIT_TERMINAL_PROMPT=0``), never opens an editor, and turns a failure into
a ``GitError`` whose message is one line (the full output is kept on the error
for ``--verbose``). Paths given to and returned by this module are absolute.
"""

from __future__ import annotations

import os

from beads.errors import GitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

DEFAULT_TIMEOUT = 60.0
NETWORK_TIMEOUT = 300.0
UNMERGED_CODES = frozenset(("DD", "AU", "UD", "UA", "DU", "AA", "UU"))


class Completed:
    """What a finished git process left: ``returncode``, ``stdout``, ``stderr`` (as
    ``subprocess.CompletedProcess``, whose module costs every ``bd`` that runs git ~7 ms of
    imports: threading, selectors, signal)."""

    __slots__ = ("args", "returncode", "stdout", "stderr")

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr


class _Timeout(Exception):
    pass


def _capture(argv: list[str], env: Mapping[str, str], timeout: float, data: bytes | None = None,
             pass_fds: tuple[int, ...] = ()) -> tuple[int, bytes, bytes]:
    """Run ``argv`` (found on PATH), feeding it ``data`` (else /dev/null), and collect its exit
    status, stdout and stderr; ``_Timeout`` (the process killed) after ``timeout`` seconds.
    ``pass_fds`` are inherited by the process, like ``subprocess``'s."""
    import select
    import time

    deadline = time.monotonic() + timeout
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if data else (os.open(os.devnull, os.O_RDONLY), -1)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        # a descriptor duplicated onto itself loses its close-on-exec flag in this child only
        actions += [(os.POSIX_SPAWN_DUP2, fd, fd) for fd in pass_fds]
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
    except BaseException:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, in_r):
            os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    for fd in chunks:
        poller.register(fd, select.POLLIN)
    pending = data or b""
    if in_w >= 0:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    open_fds = len(chunks) + (in_w >= 0)
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout
            for fd, _ in poller.poll(left * 1000):
                if fd == in_w:
                    try:
                        pending = pending[os.write(in_w, pending[:65536]):]
                    except BrokenPipeError:
                        pending = b""
                    if not pending:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = -1
                        open_fds -= 1
                    continue
                block = os.read(fd, 65536)
                if block:
                    chunks[fd].append(block)
                else:
                    poller.unregister(fd)
                    open_fds -= 1
    except BaseException:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        os.waitpid(pid, 0)
        raise
    finally:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r])


class GitFailure(GitError):
    """A git command exited non-zero (``returncode``, ``output`` carry the details)."""

    def __init__(self, message: str, *, returncode: int = 1, output: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.returncode = returncode
        self.output = output


def summarize_output(text: str) -> str:
    """The most telling line of git's output: a rejection, then fatal/error, then the first line."""
    lines = [" ".join(ln.split()) for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("hint:")]
    for marks in (("! [rejected]", "! [remote rejected]"), ("fatal:",), ("error:",)):
        for line in lines:
            if line.startswith(marks):
                return line
    return lines[0] if lines else ""


class Git:
    """git commands run in one work tree (``root``)."""

    def __init__(self, root: str, *, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None) -> None:
        self.root = os.path.abspath(root)
        self.timeout = timeout
        self.extra_env = dict(env or {})
        # Descriptors every git process inherits: ``bd sync`` passes its lock's, so the lock is
        # held until the last git it started has exited, even if ``bd`` itself was killed.
        self.pass_fds: tuple[int, ...] = ()
        self._git_dir: str | None = None  # this work tree's git directory, once known

    # -- running -----------------------------------------------------------------------

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_MERGE_AUTOEDIT": "no", "GIT_EDITOR": "true"})
        env.update(self.extra_env)
        if extra:
            env.update(extra)
        return env

    def run(self, *args: str, check: bool = True, timeout: float | None = None, input: str | None = None,
            env: Mapping[str, str] | None = None) -> Completed:
        """Run ``git <args>`` in the work tree; raise ``GitFailure`` on a non-zero exit when ``check``."""
        limit = self.timeout if timeout is None else timeout
        what = f"git {args[0]}" if args else "git"
        try:
            code, out, err = _capture(["git", "-C", self.root, *args], self._env(env), limit,
                                      input.encode("utf-8", "surrogateescape") if input else None, self.pass_fds)
            proc = Completed(["git", *args], code, out.decode("utf-8", "surrogateescape"),
                             err.decode("utf-8", "surrogateescape"))
        except FileNotFoundError:
            raise GitError("git is not installed (or not on PATH)")
        except _Timeout:
            raise GitFailure(f"{what} timed out after {limit:g}s", returncode=-1)
        except OSError as exc:
            raise GitError(f"cannot run git in {self.root}: {exc.strerror or exc}")
        if check and proc.returncode != 0:
            output = (proc.stderr or "") + (proc.stdout or "")
            detail = (summarize_output(proc.stderr) or summarize_output(proc.stdout)
                      or f"exit status {proc.returncode}")
            raise GitFailure(f"{what} failed: {detail}", returncode=proc.returncode, output=output)
        return proc

    def out(self, *args: str, timeout: float | None = None) -> str:
        return self.run(*args, timeout=timeout).stdout.strip()

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0

    # -- repository --------------------------------------------------------------------

    def is_repo(self) -> bool:
        try:
            return self.ok("rev-parse", "--git-dir")
        except GitError:
            return False

    def toplevel(self) -> str:
        return self.out("rev-parse", "--show-toplevel")

    def git_dir(self) -> str:
        """This work tree's git directory (a linked worktree's own: HEAD, the index, MERGE_HEAD and
        rebase state live there)."""
        if self._git_dir is None:
            self._git_dir = self._abs(self.out("rev-parse", "--git-dir"))
        return self._git_dir

    def git_path(self, name: str) -> str:
        """``git rev-parse --git-path`` (worktree- and ``core.hooksPath``-aware), absolute."""
        return self._abs(self.out("rev-parse", "--git-path", name))

    def hooks_dir(self) -> str:
        return self.git_path("hooks")

    def _abs(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.normpath(os.path.join(self.root, path))

    def rel(self, path: str) -> str:
        """``path`` relative to the work tree, as git pathspecs want it."""
        return os.path.relpath(os.path.abspath(path), self.root)

    def has_commits(self) -> bool:
        return self.ok("rev-parse", "-q", "--verify", "HEAD^{commit}")

    def head(self) -> str | None:
        proc = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    # -- branches and remotes -------------------------------------------------------------

    def current_branch(self) -> str | None:
        """The checked-out branch (works before the first commit); None when detached."""
        try:  # HEAD is a file naming the branch: read it rather than start a git
            with open(os.path.join(self.git_dir(), "HEAD"), encoding="utf-8") as fh:
                head = fh.read(4096).strip()
        except (OSError, UnicodeDecodeError):
            head = ""
        if head.startswith("ref: refs/heads/") and head != "ref: refs/heads/.invalid":  # not reftable's stub
            return head.removeprefix("ref: refs/heads/")
        if len(head) in (40, 64) and all(c in "0123456789abcdef" for c in head):
            return None  # detached
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def remotes(self) -> list[str]:
        return [r for r in self.out("remote").splitlines() if r.strip()]

    def has_remote(self) -> bool:
        return bool(self.remotes())

    def upstream(self, branch: str | None = None) -> tuple[str, str] | None:
        """(remote, remote branch name) configured for ``branch``; None without one."""
        branch = branch or self.current_branch()
        if not branch:
            return None
        # one git for the branch's settings and the remotes' names
        proc = self.run("config", "-z", "--get-regexp", r"^(branch|remote)\.", check=False)
        values: dict[str, str] = {}
        remotes: set[str] = set()
        for entry in proc.stdout.split("\0") if proc.returncode == 0 else ():
            key, _, value = entry.partition("\n")
            if key.startswith("remote.") and key.count(".") >= 2:
                remotes.add(key[len("remote."):key.rfind(".")])
            elif key in (f"branch.{branch}.remote", f"branch.{branch}.merge"):
                values[key.rsplit(".", 1)[1]] = value
        remote, merge = values.get("remote"), values.get("merge")
        if not remote or not merge or remote == ".":
            return None
        if remote not in remotes:
            return None
        return remote, merge.removeprefix("refs/heads/")

    def remote_branch_exists(self, remote: str, branch: str) -> bool:
        return self.ok("rev-parse", "-q", "--verify", f"refs/remotes/{remote}/{branch}")

    def ahead_count(self, remote: str, branch: str) -> int:
        """Commits on HEAD that ``remote/branch`` (as last fetched) lacks; all of them if it is unknown."""
        if not self.has_commits():
            return 0
        if not self.remote_branch_exists(remote, branch):
            return int(self.out("rev-list", "--count", "HEAD") or 0)
        return int(self.out("rev-list", "--count", f"refs/remotes/{remote}/{branch}..HEAD") or 0)

    # -- working tree state ------------------------------------------------------------------

    def status(self, paths: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(two-letter code, path) from ``git status --porcelain``, limited to ``paths``."""
        args = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
        if paths is not None:
            rels = [self.rel(p) for p in paths]
            if not rels:
                return []
            args += ["--", *rels]
        raw = self.run(*args).stdout
        out: list[tuple[str, str]] = []
        parts = raw.split("\0")
        i = 0
        while i < len(parts):
            entry = parts[i]
            i += 1
            if len(entry) < 4:
                continue
            code, path = entry[:2], entry[3:]
            if code[0] in "RC":
                i += 1  # the rename's source path follows
            out.append((code, path))
        return out

    def has_changes(self, paths: Iterable[str]) -> bool:
        return bool(self.status(paths))

    def is_tracked(self, path: str) -> bool:
        return self.ok("ls-files", "--error-unmatch", "--", self.rel(path))

    def unmerged_paths(self) -> list[str]:
        """Paths with conflicts in the index (read from the index alone: no work-tree scan)."""
        out: list[str] = []
        for entry in self.run("ls-files", "--unmerged", "-z").stdout.split("\0"):
            _, tab, path = entry.partition("\t")
            if tab and path not in out:
                out.append(path)
        return out

    def merge_in_progress(self) -> bool:
        return os.path.isfile(os.path.join(self.git_dir(), "MERGE_HEAD"))

    def merge_head(self) -> str | None:
        proc = self.run("rev-parse", "-q", "--verify", "MERGE_HEAD", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def index_lock(self) -> str:
        """Where git's index lock lives (it exists while a git command updates the index)."""
        return self.git_path("index.lock")

    def rebase_in_progress(self) -> bool:
        return any(os.path.exists(os.path.join(self.git_dir(), name)) for name in ("rebase-merge", "rebase-apply"))

    # -- index and commits ---------------------------------------------------------------------

    def add(self, paths: Iterable[str], *, env: Mapping[str, str] | None = None) -> None:
        rels = [self.rel(p) for p in paths]
        if rels:
            self.run("add", "--", *rels, env=env)

    def commit(self, message: str, paths: Iterable[str] | None = None, *, author: str | None = None,
               no_gpg_sign: bool = False, no_verify: bool = False, env: Mapping[str, str] | None = None) -> str:
        """Commit ``paths`` only (other staged changes stay staged), or the index when None.

        Returns the new commit id.
        """
        args = ["commit", "--quiet", "-m", message]
        if author:
            args += ["--author", author]
        if no_gpg_sign:
            args.append("--no-gpg-sign")
        if no_verify:
            args.append("--no-verify")
        if paths is not None:
            args += ["--only", "--", *[self.rel(p) for p in paths]]
        self.run(*args, env=env)
        return self.out("rev-parse", "HEAD")

    def commit_merge(self, *, env: Mapping[str, str] | None = None) -> str:
        """Conclude a merge whose conflicts are resolved and staged, with git's own message."""
        self.run("commit", "--quiet", "--no-edit", env=env)
        return self.out("rev-parse", "HEAD")

    def parents(self, rev: str) -> list[str]:
        proc = self.run("rev-list", "--parents", "-n", "1", rev, check=False)
        return proc.stdout.split()[1:] if proc.returncode == 0 else []

    def merge_quit(self) -> None:
        """Forget a merge's state (``MERGE_HEAD`` …), leaving the index and the work tree as they are."""
        self.run("merge", "--quit", check=False)

    def merge_abort(self) -> bool:
        return self.run("merge", "--abort", check=False).returncode == 0

    def merge(self, rev: str, message: str, *,
              env: Mapping[str, str] | None = None) -> Completed:
        """``git merge --no-edit`` of ``rev``; returns the process, never raises on conflict."""
        return self.run("merge", "--no-edit", "--quiet", "-m", message, rev, check=False,
                        env={**(env or {}), "LC_ALL": "C"})

    def checkout_head(self, paths: Iterable[str]) -> None:
        """Put ``paths`` back as HEAD has them (in the index and the work tree)."""
        rels = [self.rel(p) for p in paths]
        if rels:
            self.run("checkout", "HEAD", "--", *rels)

    # -- network -------------------------------------------------------------------------------

    def fetch(self, remote: str, *, env: Mapping[str, str] | None = None) -> None:
        self.run("fetch", "--quiet", remote, timeout=NETWORK_TIMEOUT, env=env)

    def fetch_branch(self, remote: str, branch: str, *,
                     env: Mapping[str, str] | None = None) -> Completed:
        """``git fetch remote branch`` (the first half of a pull); ``FETCH_HEAD`` is its commit."""
        # Untranslated messages: the caller tells "no such remote branch yet" from real failures.
        return self.run("fetch", "--quiet", remote, branch, check=False, timeout=NETWORK_TIMEOUT,
                        env={**(env or {}), "LC_ALL": "C"})

    def push(self, remote: str, branch: str, *, env: Mapping[str, str] | None = None) -> None:
        self.run("push", "--quiet", remote, f"HEAD:refs/heads/{branch}", timeout=NETWORK_TIMEOUT, env=env)

    # -- contents ----------------------------------------------------------------------------

    def show(self, rev: str, path: str) -> bytes | None:
        """``path``'s bytes at ``rev``; ``rev`` may be an index stage (":1:" base, ":2:" ours, ":3:" theirs).

        None when the file does not exist there.
        """
        spec = f"{rev}{self.rel(path)}" if rev.startswith(":") else f"{rev}:{self.rel(path)}"
        try:
            code, out, _ = _capture(["git", "-C", self.root, "cat-file", "blob", spec], self._env(None),
                                    self.timeout, None, self.pass_fds)
        except _Timeout:
            raise GitFailure(f"git cat-file timed out after {self.timeout:g}s", returncode=-1)
        except FileNotFoundError:
            raise GitError("git is not installed (or not on PATH)")
        except OSError as exc:
            raise GitError(f"cannot run git in {self.root}: {exc.strerror or exc}")
        return out if code == 0 else None

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit ``a`` is ``b`` or one of its ancestors (merging it would change nothing)."""
        return self.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.run("merge-base", a, b, check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    # -- configuration ---------------------------------------------------------------------------

    def config_get(self, key: str) -> str | None:
        proc = self.run("config", "--get", key, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def config_set(self, key: str, value: str) -> None:
        self.run("config", key, value)


def valid_branch_name(name: str) -> bool | None:
    """Whether git takes ``name`` as a branch name (``git check-ref-format --branch``; needs no
    repository); None when git cannot be run."""
    try:
        code, _, _ = _capture(["git", "check-ref-format", "--branch", name], os.environ, DEFAULT_TIMEOUT)
    except (OSError, _Timeout):
        return None
    return code == 0


def git_running_in(root: str) -> bool | None:
    """Whether a ``git`` process works in ``root`` now (Linux ``/proc``); None when we cannot tell."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    root = os.path.realpath(root)
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if not fh.read().strip().startswith("git"):
                    continue
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            return True
    return False


def find_git(start: str) -> Git | None:
    """A ``Git`` for the work tree containing ``start``; None outside a repository."""
    probe = Git(start)
    try:
        proc = probe.run("rev-parse", "--show-toplevel", "--absolute-git-dir", check=False)
    except GitError:
        return None
    lines = proc.stdout.strip().split("\n")
    if proc.returncode != 0 or not lines[0].strip():
        return None
    git = Git(lines[0].strip())
    if len(lines) == 2 and lines[1].strip():
        git._git_dir = lines[1].strip()
    return git
