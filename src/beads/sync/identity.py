"""Who is running ``bd``: the actor recorded on writes, and the issue ``owner`` (v0.47).

actor = ``--actor`` > ``BD_ACTOR`` > config ``actor`` > ``BEADS_ACTOR`` > git ``user.name`` >
``$USER`` > ``unknown``; owner = ``GIT_AUTHOR_EMAIL`` > git ``user.email`` > none.

Only writing commands need this, and they run often, so git's configuration is read
from its files (system, global, XDG, the repository's ``config`` and ``config.worktree``)
for the ``[user]`` section alone, without starting git. Whenever the files use
something this reader does not model -- ``[include]``/``[includeIf]``, quoted or escaped
values, continuation lines, configuration passed through the environment -- it asks
``git config`` instead (through ``beads.sync.git``, the one module that runs git), so
the answer is always git's own.
"""

from __future__ import annotations

import os

_ENV_OVERRIDES = ("GIT_CONFIG", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS", "GIT_DIR", "GIT_COMMON_DIR")


class _Unsafe(Exception):
    """The files say something the small reader does not model: ask git."""


def parse_user_section(text: str) -> dict[str, str]:
    """``name``/``email`` from ``[user]`` sections of one config file's text (later wins).

    Raises ``_Unsafe`` for includes, quoting, escapes and continuation lines."""
    found: dict[str, str] = {}
    in_user = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                raise _Unsafe
            header = line[1:end].strip()
            lowered = header.lower()
            if lowered.startswith("include"):
                raise _Unsafe
            in_user = lowered == "user"
            rest = line[end + 1:].strip()
            if rest and rest[0] not in "#;":
                raise _Unsafe  # "[user] name = x" on one line: legal, rare
            continue
        if not in_user:
            continue
        key, eq, value = line.partition("=")
        key = key.strip().lower()
        if key not in ("name", "email"):
            continue
        if not eq or '"' in value or "\\" in value:
            raise _Unsafe
        for mark in ("#", ";"):
            value = value.split(mark, 1)[0]
        found[key] = value.strip()
    return found


def git_dirs(start: str) -> tuple[str | None, str | None]:
    """(git dir, common dir) of the repository holding ``start``, read from ``.git``."""
    current = os.path.abspath(start)
    while True:
        dotgit = os.path.join(current, ".git")
        if os.path.isdir(dotgit):
            return dotgit, dotgit
        if os.path.isfile(dotgit):
            try:
                with open(dotgit, encoding="utf-8") as fh:
                    line = fh.readline().strip()
            except OSError:
                raise _Unsafe from None
            if not line.startswith("gitdir:"):
                raise _Unsafe
            gitdir = line[len("gitdir:"):].strip()
            gitdir = os.path.normpath(os.path.join(current, gitdir))
            try:
                with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as fh:
                    common = os.path.normpath(os.path.join(gitdir, fh.read().strip()))
            except OSError:
                common = gitdir  # a submodule: its own git dir holds its config
            return gitdir, common
        parent = os.path.dirname(current)
        if parent == current:
            return None, None
        current = parent


def config_files(start: str) -> list[str]:
    """The config files git reads for ``start``, lowest precedence first."""
    env = os.environ
    files: list[str] = []
    if not env.get("GIT_CONFIG_NOSYSTEM"):
        files.append(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    if env.get("GIT_CONFIG_GLOBAL"):
        files.append(env["GIT_CONFIG_GLOBAL"])
    else:
        home = env.get("HOME") or os.path.expanduser("~")
        xdg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        files += [os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")]
    gitdir, common = git_dirs(start)
    if common is not None and gitdir is not None:
        files.append(os.path.join(common, "config"))
        files.append(os.path.join(gitdir, "config.worktree"))
    return files


def read_user(start: str) -> dict[str, str]:
    """git's ``user.name``/``user.email`` for ``start`` from the files; ``_Unsafe`` when unsure."""
    if any(os.environ.get(name) for name in _ENV_OVERRIDES):
        raise _Unsafe
    found: dict[str, str] = {}
    for path in config_files(start):
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError):
            raise _Unsafe from None
        found.update(parse_user_section(text))
    return found


def _ask_git(start: str) -> dict[str, str]:
    from beads.errors import GitError
    from beads.sync.git import Git

    found: dict[str, str] = {}
    git = Git(start, timeout=10.0)
    for key in ("name", "email"):
        try:
            value = git.config_get(f"user.{key}")
        except GitError:
            return found  # no git at all: no git identity
        if value:
            found[key] = value
    return found


def git_user(start: str | None = None) -> dict[str, str]:
    """``{"name": …, "email": …}`` (keys present when set) as ``git config`` would answer.

    Not cached: a long-lived process (the daemon) serves callers with other homes."""
    start = os.path.abspath(start or os.getcwd())
    try:
        return read_user(start)
    except _Unsafe:
        return _ask_git(start)


def resolve_actor(flag: str | None = None, configured: str | None = None, start: str | None = None) -> str:
    env = os.environ
    return (flag or env.get("BD_ACTOR") or configured or env.get("BEADS_ACTOR") or git_user(start).get("name")
            or env.get("USER") or env.get("USERNAME") or "unknown")


def resolve_owner(start: str | None = None) -> str | None:
    return os.environ.get("GIT_AUTHOR_EMAIL") or git_user(start).get("email") or None
