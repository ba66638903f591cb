"""Finding the workspace: which ``.beads`` directory, database and JSONL a command uses.

Order (spec §1, lessons E): ``--db`` → ``BEADS_DIR`` (with redirect) → ``BEADS_DB`` →
walk up from the working directory to the git root; in a git worktree the main
checkout's ``.beads`` wins. Git is never run here: worktrees are recognised by
reading the ``.git`` file, so discovery costs a few ``stat`` calls.
"""

from __future__ import annotations

import os

from beads.errors import InvalidInput, NoWorkspace

BEADS_DIRNAME = ".beads"
DEFAULT_DB = "beads.db"
LEGACY_DB_NAMES = ("bd.db", "issues.db", "bugs.db")
DEFAULT_JSONL = "issues.jsonl"
NON_ISSUE_JSONL = ("deletions.jsonl", "interactions.jsonl", "beads.base.jsonl", "beads.left.jsonl",
                   "beads.right.jsonl", "molecules.jsonl", "routes.jsonl")

NO_WORKSPACE_HINT = (
    "run 'bd init' to create a database in the current directory\n"
    "      or use 'bd --no-db' to work with JSONL only (no database)\n"
    "      or set BEADS_DIR to point to your .beads directory"
)


class Workspace:
    """Paths of one beads workspace."""

    __slots__ = ("beads_dir", "db_path", "_jsonl_path", "redirected_from", "_metadata")

    def __init__(self, beads_dir: str, db_path: str | None = None, redirected_from: str | None = None) -> None:
        self.beads_dir = os.path.abspath(beads_dir)
        self._metadata: dict[str, str] | None = None
        self.db_path = os.path.abspath(db_path) if db_path else self._find_db()
        self._jsonl_path: str | None = None
        self.redirected_from = redirected_from

    @property
    def root(self) -> str:
        """The project directory (the parent of ``.beads``)."""
        return os.path.dirname(self.beads_dir)

    @property
    def metadata(self) -> dict[str, str]:
        if self._metadata is None:
            self._metadata = {}
            path = os.path.join(self.beads_dir, "metadata.json")
            try:
                from beads.fastjson import loads
                from beads.fileio import open_regular

                with open_regular(path) as fh:  # a FIFO here must not hang every command
                    data = loads(fh.read())
                if isinstance(data, dict):
                    self._metadata = {k: v for k, v in data.items() if isinstance(v, str)}
            except (OSError, ValueError):
                pass
        return self._metadata

    def _find_db(self) -> str:
        name = self.metadata.get("database") or DEFAULT_DB
        path = os.path.join(self.beads_dir, name)
        if not os.path.exists(path):
            for legacy in LEGACY_DB_NAMES:
                candidate = os.path.join(self.beads_dir, legacy)
                if os.path.exists(candidate):
                    return candidate
        return path

    @property
    def jsonl_path(self) -> str:
        if self._jsonl_path is None:
            self._jsonl_path = find_jsonl(self.beads_dir, self.metadata.get("jsonl_export"))
        return self._jsonl_path

    @property
    def config_yaml_path(self) -> str:
        return os.path.join(self.beads_dir, "config.yaml")

    def db_exists(self) -> bool:
        return os.path.exists(self.db_path)

    def __repr__(self) -> str:
        return f"Workspace({self.beads_dir!r}, db={self.db_path!r})"


def find_jsonl(beads_dir: str, configured: str | None = None) -> str:
    env = os.environ.get("BEADS_JSONL")
    if env:
        return os.path.abspath(env)
    if configured:
        return os.path.join(beads_dir, configured)
    for name in (DEFAULT_JSONL, "beads.jsonl"):
        path = os.path.join(beads_dir, name)
        if os.path.exists(path):
            return path
    try:
        names = sorted(os.listdir(beads_dir))
    except OSError:
        names = []
    for name in names:
        if name.endswith(".jsonl") and name not in NON_ISSUE_JSONL:
            return os.path.join(beads_dir, name)
    return os.path.join(beads_dir, DEFAULT_JSONL)


def follow_redirect(beads_dir: str) -> tuple[str, str | None]:
    """Follow ``.beads/redirect`` once (no chains). Returns (dir, redirected_from)."""
    path = os.path.join(beads_dir, "redirect")
    try:
        from beads.fileio import open_regular

        with open_regular(path) as fh:
            text = fh.read().decode("utf-8", "replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    except OSError:
        return beads_dir, None
    if not lines:
        return beads_dir, None
    target = os.path.expanduser(lines[0])
    if not os.path.isabs(target):
        target = os.path.join(os.path.dirname(os.path.abspath(beads_dir)), target)
    target = os.path.normpath(target)
    if not os.path.isdir(target):
        raise InvalidInput(f"redirect in {path} points to {target}, which is not a directory")
    return target, os.path.abspath(beads_dir)


def _has_project_files(beads_dir: str) -> bool:
    try:
        names = os.listdir(beads_dir)
    except OSError:
        return False
    for name in names:
        if name in ("metadata.json", "config.yaml", "redirect"):
            return True
        if name.endswith(".db") and ".backup" not in name:
            return True
        if name.endswith(".jsonl"):
            return True
    return False


def git_dir_info(start: str) -> tuple[str | None, str | None]:
    """(work-tree root, main checkout root) for the git repository containing ``start``.

    The main checkout differs from the root only inside a linked worktree. Read from
    the ``.git`` file/directory; no git process is started.
    """
    current = os.path.abspath(start)
    while True:
        dotgit = os.path.join(current, ".git")
        if os.path.isdir(dotgit):
            return current, current
        if os.path.isfile(dotgit):
            main = _main_checkout_from_gitfile(current, dotgit)
            return current, main or current
        parent = os.path.dirname(current)
        if parent == current:
            return None, None
        current = parent


def _main_checkout_from_gitfile(root: str, dotgit: str) -> str | None:
    try:
        with open(dotgit, encoding="utf-8") as fh:
            line = fh.readline().strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    gitdir = line[len("gitdir:"):].strip()
    if not os.path.isabs(gitdir):
        gitdir = os.path.normpath(os.path.join(root, gitdir))
    commondir_file = os.path.join(gitdir, "commondir")
    try:
        with open(commondir_file, encoding="utf-8") as fh:
            common = fh.read().strip()
    except OSError:
        return None  # a submodule, not a worktree
    if not os.path.isabs(common):
        common = os.path.normpath(os.path.join(gitdir, common))
    if os.path.basename(common) == ".git":
        return os.path.dirname(common)
    return None


def discover(cwd: str | None = None, db: str | None = None) -> Workspace:
    """Locate the workspace for a command; raises ``NoWorkspace`` with the original's hints."""
    env = os.environ
    if db:
        db = os.path.abspath(os.path.expanduser(db))
        return Workspace(os.path.dirname(db), db)
    if env.get("BEADS_DIR"):
        target, redirected = follow_redirect(os.path.abspath(os.path.expanduser(env["BEADS_DIR"])))
        return Workspace(target, redirected_from=redirected)
    if env.get("BEADS_DB"):
        path = os.path.abspath(os.path.expanduser(env["BEADS_DB"]))
        return Workspace(os.path.dirname(path), path)
    found = find_beads_dir(cwd or os.getcwd())
    if found is None:
        raise NoWorkspace("no beads database found", hint=NO_WORKSPACE_HINT)
    target, redirected = follow_redirect(found)
    return Workspace(target, redirected_from=redirected)


def find_beads_dir(start: str) -> str | None:
    """Walk up from ``start`` to the git root looking for a ``.beads`` with project files."""
    root, main = git_dir_info(start)
    if main and root and main != root:
        candidate = os.path.join(main, BEADS_DIRNAME)
        if os.path.isdir(candidate) and _has_project_files(candidate):
            return candidate
    current = os.path.abspath(start)
    while True:
        candidate = os.path.join(current, BEADS_DIRNAME)
        if os.path.isdir(candidate) and _has_project_files(candidate):
            return candidate
        if root is not None and current == root:
            return None
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
