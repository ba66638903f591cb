"""``bd doctor``'s checks of the files around the data: ``.beads/.gitignore``, the git hooks and
merge driver, locks a killed git left, and the daemon's socket, pid file and lock.

Daemon files (docs/DAEMON.md): ``daemon.lock`` is flock-held for the daemon's lifetime and holds
JSON ``{pid, version, …}``; ``bd.sock`` (or the path in ``bd.sock.path``) is its socket;
``daemon.pid`` its pid. A socket nobody answers on, or a pid file naming no live process, is
stale; a live daemon of another version is outdated.
"""

from __future__ import annotations

import json
import os

from beads import fileio
from beads.sync.doctor import ERROR, OK, WARNING, Check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from beads.core.workspace import Workspace
    from beads.sync.git import Git

_GIT_CACHE: dict[str, Git | None] = {}  # one ``find_git`` per run of the checks


def forget_git() -> None:
    _GIT_CACHE.clear()


def _git(workspace: Workspace) -> Git | None:
    from beads.sync.git import find_git

    if workspace.root not in _GIT_CACHE:
        _GIT_CACHE[workspace.root] = find_git(workspace.root)
    return _GIT_CACHE[workspace.root]


# -- .gitignore ---------------------------------------------------------------------------------


def _required_patterns() -> list[str]:
    from beads.core.setup import GITIGNORE

    return [line.strip() for line in GITIGNORE.splitlines() if line.strip() and not line.startswith("#")]


def gitignore(workspace: Workspace) -> Check:
    path = os.path.join(workspace.beads_dir, ".gitignore")
    try:
        with open(path, encoding="utf-8") as fh:
            present = {line.strip() for line in fh}
    except FileNotFoundError:
        present = set()
    missing = [p for p in _required_patterns() if p not in present]
    if not missing:
        return Check("Gitignore", OK, ".beads/.gitignore is up to date")

    def apply() -> str:
        from beads.core.setup import atomic_write

        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            text = ""
        if text and not text.endswith("\n"):
            text += "\n"
        atomic_write(path, text + "\n# Added by bd doctor --fix\n" + "\n".join(missing) + "\n")
        return f"added {len(missing)} pattern(s) to .beads/.gitignore"

    what = "missing" if not present else f"lacks {len(missing)} pattern(s)"
    return Check("Gitignore", WARNING, f".beads/.gitignore {what}: the database or daemon files could be "
                 "committed", detail=", ".join(missing), fix="add the missing patterns", apply=apply)


# -- git hooks and merge driver -----------------------------------------------------------------


def git_hooks(workspace: Workspace) -> Check:
    from beads.sync import githooks

    git = _git(workspace)
    if git is None:
        return Check("Git Hooks", OK, "not a git repository: no hooks needed")
    entries = githooks.status(git)
    missing = [e["name"] for e in entries if not e["installed"]]
    if not missing:
        return Check("Git Hooks", OK, "all bd hooks installed")
    return Check("Git Hooks", WARNING, f"bd git hooks missing: {', '.join(missing)}",
                 detail="without them the JSONL is not flushed before commits nor imported after pulls",
                 fix="install them (as 'bd hooks install'; an existing hook is kept and chained)",
                 apply=lambda: _install_hooks(git, workspace))


def _install_hooks(git: Git, workspace: Workspace) -> str:
    from beads.sync import sharedhooks

    reports = sharedhooks.install_preferred(git, workspace.root)["hooks"]  # a project's .beads-hooks/ if any
    done = [r["hook"] for r in reports if r["action"] != "skipped"]
    return f"installed {', '.join(done) or 'nothing'}"


def merge_driver(workspace: Workspace) -> Check:
    from beads.sync.setup_hooks import MERGE_DRIVER, register_merge_driver

    git = _git(workspace)
    if git is None:
        return Check("Git Merge Driver", OK, "not a git repository: no merge driver needed")
    driver = git.config_get("merge.beads.driver")
    pattern = os.path.relpath(workspace.jsonl_path, workspace.root).replace(os.sep, "/")
    attributes = os.path.join(workspace.root, ".gitattributes")
    try:
        with open(attributes, encoding="utf-8") as fh:
            has_line = any(line.split() == [pattern, "merge=beads"] for line in fh)
    except FileNotFoundError:
        has_line = False
    if driver == MERGE_DRIVER and has_line:
        return Check("Git Merge Driver", OK, "bd merge is the JSONL's merge driver")
    problems = []
    if driver != MERGE_DRIVER:
        problems.append("merge.beads.driver " + ("unset" if driver is None else f"is {driver!r}"))
    if not has_line:
        problems.append(f".gitattributes lacks '{pattern} merge=beads'")
    return Check("Git Merge Driver", WARNING, "; ".join(problems),
                 fix="register the merge driver (git config and .gitattributes)",
                 apply=lambda: (register_merge_driver(git, workspace), "merge driver registered")[1])


# -- sync branch -------------------------------------------------------------------------------------


def sync_branch(workspace: Workspace) -> Check:
    """``sync.branch``: a name git takes, not the branch checked out, its worktree sound, and the
    local branch not ahead of or behind the remote's copy (as last fetched). ``bd sync`` repairs
    a damaged worktree itself, so the fix is to run it."""
    from beads.errors import InvalidInput
    from beads.sync import syncbranch

    name = syncbranch.branch_name(workspace.beads_dir)
    if not name:
        return Check("Sync Branch", OK, "no sync branch configured: bd sync commits to the working branch")
    try:
        syncbranch.check_name(name)
    except InvalidInput as exc:
        return Check("Sync Branch", ERROR, exc.message, fix="set a valid name: bd config set sync.branch beads-sync")
    git = _git(workspace)
    if git is None:
        return Check("Sync Branch", ERROR, f"sync.branch is {name!r} but this is not a git repository",
                     fix="run 'git init', or unset sync.branch")
    if git.current_branch() == name:
        return Check("Sync Branch", WARNING, f"the sync branch {name!r} is checked out here",
                     detail="on it, bd sync commits and pushes it like any working branch",
                     fix="switch back to your working branch ('git switch main')")
    if not git.ok("rev-parse", "-q", "--verify", f"refs/heads/{name}"):
        return Check("Sync Branch", OK, f"{name}: not created yet (the next bd sync creates it)")
    problems: list[str] = []
    common = git.out("rev-parse", "--git-common-dir")
    path = syncbranch.worktree_path(common if os.path.isabs(common) else os.path.join(git.root, common), name)
    if os.path.exists(path) and not os.path.exists(os.path.join(path, ".git")):
        problems.append(f"its worktree {path} is damaged")
    remotes = git.remotes()
    remote = syncbranch.remote_name(workspace.beads_dir) or (git.upstream() or ("origin", ""))[0]
    if remote not in remotes:
        remote = remotes[0] if len(remotes) == 1 else ""
    if not remote:
        pass  # no remote: the branch lives in this clone only, as bd sync keeps it
    elif not git.ok("rev-parse", "-q", "--verify", f"refs/remotes/{remote}/{name}"):
        problems.append(f"not pushed to {remote} yet")
    else:
        counts = git.out("rev-list", "--left-right", "--count", f"refs/heads/{name}...refs/remotes/{remote}/{name}")
        ahead, behind = (int(n) for n in counts.split())
        if ahead:
            problems.append(f"{ahead} commit(s) not pushed to {remote}/{name}")
        if behind:
            problems.append(f"{behind} commit(s) on {remote}/{name} not merged here (as last fetched)")
    if problems:
        return Check("Sync Branch", WARNING, f"{name}: " + "; ".join(problems),
                     fix="run 'bd sync' (it repairs the worktree, merges and pushes)")
    where = f"in step with {remote}/{name} (as last fetched)" if remote else "no remote: kept in this clone"
    return Check("Sync Branch", OK, f"{name}: {where}")


# -- leftover git locks -------------------------------------------------------------------------


def git_locks(workspace: Workspace) -> Check:
    from beads.sync.git import git_running_in

    git = _git(workspace)
    if git is None:
        return Check("Git Locks", OK, "not a git repository")
    path = git.index_lock()
    if not os.path.exists(path):
        return Check("Git Locks", OK, "no leftover git locks")
    running = git_running_in(git.root)
    if running is not False:
        return Check("Git Locks", WARNING, f"{path} exists and a git process may be using it",
                     fix=f"wait for git to finish (if none runs: rm '{path}')")

    def apply() -> str:
        if git_running_in(git.root) is not False:
            return "skipped: a git process started meanwhile"
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return f"removed {os.path.relpath(path, git.root)}"

    return Check("Git Locks", ERROR, f"{os.path.relpath(path, git.root)} left by an interrupted git "
                 "(no git process is running): git commands and bd sync fail until it is gone",
                 fix="remove it", apply=apply)


# -- daemon -------------------------------------------------------------------------------------


def _socket_path(beads_dir: str) -> str:
    record = os.path.join(beads_dir, "bd.sock.path")
    try:
        with open(record, encoding="utf-8") as fh:
            recorded = fh.read().strip()
        if recorded:
            return recorded
    except OSError:
        pass
    return os.path.join(beads_dir, "bd.sock")


def _answers(path: str) -> bool:
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(0.5)
    try:
        sock.connect(path)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _lock_held(path: str) -> bool:
    """Whether a live process holds ``daemon.lock`` (the daemon keeps it for its lifetime)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


_pid_alive = fileio.pid_alive


def _read_pid(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def daemon_health(workspace: Workspace) -> Check:
    from beads import __version__

    beads_dir = workspace.beads_dir
    sock = _socket_path(beads_dir)
    pid_file = os.path.join(beads_dir, "daemon.pid")
    lock_file = os.path.join(beads_dir, "daemon.lock")
    running = _lock_held(lock_file)
    stale: list[str] = []
    if os.path.lexists(sock) and not _answers(sock):
        stale.append(sock)
    pid = _read_pid(pid_file)
    if os.path.exists(pid_file) and not running and (pid is None or not _pid_alive(pid)):
        stale.append(pid_file)
    if stale:
        def apply() -> str:
            removed = []
            for path in stale:
                if path == sock and _answers(sock):
                    continue  # a daemon started meanwhile
                try:
                    os.unlink(path)
                    removed.append(os.path.basename(path))
                except FileNotFoundError:
                    pass
            return f"removed {', '.join(removed) or 'nothing'}"

        names = ", ".join(os.path.basename(p) for p in stale)
        return Check("Daemon Health", ERROR, f"stale daemon file(s): {names} (no daemon answers)",
                     detail="\n".join(stale), fix="remove them (bd runs in direct mode meanwhile)", apply=apply)
    if not running:
        return Check("Daemon Health", OK, "no daemon running (direct mode)")
    info = _lock_info(lock_file)
    version = str(info.get("version") or "")
    if version and version != __version__:
        daemon_pid = info.get("pid") if isinstance(info.get("pid"), int) else pid

        def stop() -> str:
            import signal

            if not daemon_pid:
                return "skipped: the daemon's pid is unknown"
            os.kill(int(daemon_pid), signal.SIGTERM)
            return f"asked daemon {daemon_pid} to stop (it exits after its current command)"

        return Check("Daemon Health", WARNING, f"daemon {daemon_pid or ''} runs bd {version}, this is bd "
                     f"{__version__}", fix="stop it (the next command runs directly or starts a current one)",
                     apply=stop)
    return Check("Daemon Health", OK, f"daemon running (pid {info.get('pid') or pid or '?'}, bd {version or '?'})")


def _lock_info(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
