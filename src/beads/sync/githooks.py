"""Git hooks: thin shell shims that call ``bd hooks run <hook>`` (spec §8.8).

The shims hold no logic, so upgrading bd upgrades the hooks. Installing never
destroys a hook someone else put there: an existing hook is renamed
``<hook>.pre-bd`` and the shim runs it first (uninstall puts it back). A shim does
nothing when ``bd`` is not on PATH or the project has no ``.beads``.

What each hook does (``run_hook``), every step under a timeout (``BD_HOOK_TIMEOUT``,
default 30 s) so a stuck database never hangs git:

* ``pre-commit``: flush the database to the JSONL, then ``git add`` the beads files;
* ``post-merge`` / ``post-checkout``: import the JSONL; never fails the git operation;
* ``pre-push``: flush, then refuse the push while beads files have uncommitted changes.

In sync-branch mode (``sync.branch`` set, another branch checked out) ``pre-commit`` and
``pre-push`` do nothing: the beads files travel on the sync branch, not in the user's commits.

All hooks stand aside while ``bd sync`` runs git itself (``BD_SYNC_IN_PROGRESS``):
sync exports, imports and commits on its own terms.
"""

from __future__ import annotations

import os
import signal
import sys

from beads import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from beads.sync.git import Git

HOOK_NAMES = ("pre-commit", "post-merge", "pre-push", "post-checkout")
SHIM_MARK = "# bd-shim v1"
VERSION_MARK = "# bd-hooks-version:"
CHAIN_SUFFIX = ".pre-bd"
LEGACY_BACKUP_SUFFIX = ".backup"  # what the original's install renamed an existing hook to (never run)
LEGACY_CHAIN_SUFFIX = ".old"  # what the original's install --chain renamed it to (run first)
DEFAULT_TIMEOUT = 30.0
SYNC_ENV = "BD_SYNC_IN_PROGRESS"
# Files a hook flushes/stages, relative to the .beads directory.
BEADS_FILES = ("issues.jsonl", "beads.jsonl", "deletions.jsonl", "interactions.jsonl")

PUSH_REFUSED = """\
❌ Error: Uncommitted changes detected

Before pushing, ensure all changes are committed. This includes:
  • bd JSONL updates (run 'bd sync')
  • any other modified files (run 'git status' to review)

Run 'bd sync' to commit these changes:

  bd sync
"""


# -- the shims ---------------------------------------------------------------------------------


def shim_text(name: str, project_dir: str = ".") -> str:
    """The shell shim for hook ``name``; ``project_dir`` is the .beads parent, relative to the work tree."""
    stop = "|| exit $?" if name.startswith("pre-") else ""
    project = _sh_quote(project_dir)
    return f"""#!/bin/sh
{SHIM_MARK}
{VERSION_MARK} {__version__}
#
# bd (beads) {name} hook - thin shim. The logic lives in 'bd hooks run {name}',
# so it always matches the installed bd. A hook that was here before bd was
# installed is kept as {name}{CHAIN_SUFFIX} and runs first.

chained="$(dirname "$0")/{name}{CHAIN_SUFFIX}"
if [ -x "$chained" ]; then
    "$chained" "$@" {stop}
fi

# Without bd on PATH, or outside a beads project, there is nothing to do.
command -v bd >/dev/null 2>&1 || exit 0
[ -d {project}/.beads ] || [ -n "$BEADS_DIR" ] || exit 0

cd {project} || exit 0
exec bd hooks run {name} "$@"
"""


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def classify(path: str) -> str:
    """'missing', 'shim' (ours, current style), 'bd' (an older bd hook) or 'other'."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "other"
    if SHIM_MARK.split(" v")[0] in head:
        return "shim"
    if VERSION_MARK in head or "bd (beads)" in head:
        return "bd"
    return "other"


def shim_version(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(VERSION_MARK):
                    return line[len(VERSION_MARK):].strip()
    except OSError:
        return None
    return None


def _write_executable(path: str, text: str) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)


def _free_name(path: str) -> str:
    if not os.path.lexists(path):
        return path
    n = 1
    while os.path.lexists(f"{path}.{n}"):
        n += 1
    return f"{path}.{n}"


def install(git: Git, project_root: str, *, force: bool = False, names: tuple[str, ...] = HOOK_NAMES,
            hooks_dir: str | None = None) -> list[dict[str, Any]]:
    """Install (or refresh) the shims in ``hooks_dir`` (default: where git runs hooks); one report per hook.

    A foreign hook is chained (renamed ``<hook>.pre-bd``). When a chained hook is
    already there too, the new foreign hook is left alone unless ``force``, which
    chains it and keeps the older one as ``<hook>.pre-bd.N``; no hook is ever deleted.
    A hook the original bd chained (``<hook>.old``) is adopted as ``<hook>.pre-bd``.
    """
    hooks_dir = hooks_dir or git.hooks_dir()
    os.makedirs(hooks_dir, exist_ok=True)
    project = os.path.relpath(os.path.abspath(project_root), git.root)
    reports = []
    for name in names:
        path = os.path.join(hooks_dir, name)
        chained = path + CHAIN_SUFFIX
        kind = classify(path)
        report: dict[str, Any] = {"hook": name, "path": path}
        if kind == "other":
            if os.path.lexists(chained):
                if not force:
                    report.update(action="skipped", reason=f"{name} is not a bd hook and {name}{CHAIN_SUFFIX} "
                                                           "already exists (use --force to chain it as well)")
                    reports.append(report)
                    continue
                os.replace(chained, _free_name(chained))
            os.replace(path, chained)
            report["action"] = "chained"
        else:
            report["action"] = {"missing": "installed", "shim": "updated", "bd": "replaced"}[kind]
            _adopt_old_chain(path, chained, report)
        if os.path.lexists(chained):
            report["chained"] = chained
        text = shim_text(name, project)
        if kind != "shim" or _without_version(_read(path)) != _without_version(text):
            _write_executable(path, text)  # an unchanged shim is not rewritten (a shared one is versioned)
        reports.append(report)
    return reports


def _adopt_old_chain(path: str, chained: str, report: dict[str, Any]) -> None:
    """The original's ``--chain`` renamed a hook to ``<hook>.old``; ours runs ``<hook>.pre-bd``."""
    old = path + LEGACY_CHAIN_SUFFIX
    if os.path.lexists(chained) or not os.path.isfile(old) or classify(old) != "other":
        return
    os.replace(old, chained)
    report["adopted"] = old


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _without_version(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.startswith(VERSION_MARK))


def uninstall(git: Git, names: tuple[str, ...] = HOOK_NAMES, *,
              hooks_dir: str | None = None) -> list[dict[str, Any]]:
    """Remove bd's hooks from ``hooks_dir`` (default: where git runs hooks) and put back the hooks they chained."""
    hooks_dir = hooks_dir or git.hooks_dir()
    reports = []
    for name in names:
        path = os.path.join(hooks_dir, name)
        kind = classify(path)
        report: dict[str, Any] = {"hook": name, "path": path}
        if kind == "other":
            report["action"] = "kept (not a bd hook)"
            reports.append(report)
            continue
        if kind == "missing":
            report["action"] = "absent"
        else:
            os.unlink(path)
            report["action"] = "removed"
        for suffix in (CHAIN_SUFFIX, LEGACY_CHAIN_SUFFIX, LEGACY_BACKUP_SUFFIX):
            saved = path + suffix
            if os.path.lexists(saved) and not os.path.lexists(path) and classify(saved) == "other":
                os.replace(saved, path)
                report["restored"] = path
                break
        reports.append(report)
    return reports


def status(git: Git, names: tuple[str, ...] = HOOK_NAMES, *,
           hooks_dir: str | None = None) -> list[dict[str, Any]]:
    """What is installed for each hook (for ``bd hooks list``)."""
    hooks_dir = hooks_dir or git.hooks_dir()
    out = []
    for name in names:
        path = os.path.join(hooks_dir, name)
        kind = classify(path)
        entry: dict[str, Any] = {"name": name, "installed": kind in ("shim", "bd"), "kind": kind, "path": path}
        if kind in ("shim", "bd"):
            entry["version"] = shim_version(path) or ""
        if os.path.lexists(path + CHAIN_SUFFIX):
            entry["chained"] = path + CHAIN_SUFFIX
        out.append(entry)
    return out


# -- running a hook -------------------------------------------------------------------------------


def hook_timeout() -> float:
    raw = os.environ.get("BD_HOOK_TIMEOUT", "")
    try:
        value = float(raw.rstrip("s")) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def run_bd(args: list[str], timeout: float) -> tuple[int | None, str]:
    """Run this bd (same interpreter) as a child in its own process group.

    Returns (exit status, combined output); status None means it was killed at
    the timeout, together with everything it started.
    """
    import subprocess  # here: installing hooks (bd init) need not pay for it

    cmd = [sys.executable, "-c", "import sys; from beads.cli.main import main; sys.exit(main())", *args]
    env = dict(os.environ)
    env.pop(SYNC_ENV, None)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return None, ""
    return proc.returncode, out or ""


def run_hook(name: str, args: list[str], *, stderr: TextIO | None = None) -> int:
    """Do hook ``name``'s work in the current directory; returns the hook's exit status."""
    err = stderr or sys.stderr
    if os.environ.get(SYNC_ENV):
        return 0
    from beads.core.workspace import discover
    from beads.errors import BdError
    from beads.sync.git import find_git

    try:
        workspace = discover()
    except BdError:
        return 0
    git = find_git(workspace.root)
    if git is None:
        return 0
    timeout = hook_timeout()
    git.timeout = timeout
    if name in ("pre-commit", "pre-push") and _sync_branch_mode(git, workspace.beads_dir):
        return 0  # the beads files travel on the sync branch: not in the user's commits or pushes
    if name == "pre-commit":
        return _pre_commit(git, workspace.beads_dir, timeout, err)
    if name == "pre-push":
        return _pre_push(git, workspace.beads_dir, timeout, err)
    if name in ("post-merge", "post-checkout"):
        if name == "post-checkout" and len(args) >= 3 and args[2] != "1":
            return 0  # a file checkout, not a branch switch
        return _import_after(git, name, timeout, err)
    err.write(f"Warning: unknown hook {name!r}; nothing to do\n")
    return 0


def _sync_branch_mode(git: Git, beads_dir: str) -> bool:
    """A sync branch is configured and not the branch checked out (spec §8.8)."""
    from beads.sync.syncbranch import branch_name

    branch = branch_name(beads_dir)
    return bool(branch) and git.current_branch() != branch


def _beads_files(beads_dir: str) -> list[str]:
    return [os.path.join(beads_dir, f) for f in BEADS_FILES if os.path.exists(os.path.join(beads_dir, f))]


def _flush(timeout: float, hook: str, err: TextIO) -> bool:
    status, output = run_bd(["sync", "--flush-only", "--quiet"], timeout)
    if status is None:
        err.write(f"Warning: bd {hook} hook: flushing issues to JSONL timed out after {timeout:g}s "
                  "(BD_HOOK_TIMEOUT); run 'bd sync --flush-only' to diagnose\n")
        return False
    if status != 0:
        err.write(f"Warning: bd {hook} hook: failed to flush issues to JSONL\n{output}"
                  "Run 'bd sync --flush-only' manually to diagnose\n")
        return False
    return True


def _pre_commit(git: Git, beads_dir: str, timeout: float, err: TextIO) -> int:
    from beads.errors import GitError

    _flush(timeout, "pre-commit", err)
    files = [f for f in _beads_files(beads_dir) if not f.endswith("deletions.jsonl") or git.is_tracked(f)]
    try:
        git.add(files)
    except GitError as exc:
        err.write(f"Warning: bd pre-commit hook: {exc.message}\n")
    return 0  # never block a commit over the issue files


def _pre_push(git: Git, beads_dir: str, timeout: float, err: TextIO) -> int:
    from beads.errors import GitError

    _flush(timeout, "pre-push", err)
    files = [os.path.join(beads_dir, f) for f in BEADS_FILES]
    files = [f for f in files if os.path.exists(f) or git.is_tracked(f)]
    try:
        dirty = git.has_changes(files) if files else False
    except GitError as exc:
        err.write(f"Warning: bd pre-push hook: {exc.message}\n")
        return 0
    if dirty:
        err.write(PUSH_REFUSED)
        return 1
    return 0


def _import_after(git: Git, hook: str, timeout: float, err: TextIO) -> int:
    if git.rebase_in_progress():
        return 0
    args = ["sync", "--import-only", "--quiet"]
    if hook == "post-merge":
        args += ["--merged-from", "ORIG_HEAD"]  # lets removals made elsewhere arrive too
    status, output = run_bd(args, timeout)
    if status is None:
        err.write(f"Warning: bd {hook} hook: importing the JSONL timed out after {timeout:g}s "
                  "(BD_HOOK_TIMEOUT); run 'bd sync --import-only' when the database is free\n")
    elif status != 0:
        err.write(f"Warning: bd {hook} hook: failed to import the JSONL after {hook.split('-')[1]}\n{output}"
                  "Run 'bd sync --import-only' to retry\n")
    return 0
