"""What a command gets: parsed args, output streams, and a lazily opened Tracker.

Commands stay thin: parse, call one Tracker method, render with the helpers here.
stdout carries data only; hints and warnings go to stderr; with ``--json`` stdout
is exactly one JSON document. Errors are mapped to output and exit status once,
in ``fail``.
"""

from __future__ import annotations

import os
import sys

from beads.cli.render import visible
from beads.errors import BdError, InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable
    from typing import Any, TextIO

    from beads.core.tracker import Tracker
    from beads.core.workspace import Workspace
    from beads.sync.barrier import Barrier


def parse_duration_ms(text: str | None, default_ms: int) -> int:
    if not text:
        return default_ms
    text = text.strip().lower()
    units = (("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000))
    for suffix, factor in units:
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * factor)
    if text.replace(".", "", 1).isdigit():
        return int(float(text) * 1000)
    raise InvalidInput(f"invalid duration {text!r} (e.g. 30s, 100ms)")


class Context:
    def __init__(self, args: argparse.Namespace, *, needs_db: bool = True, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        self.args = args
        self.needs_db = needs_db
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._barrier: Barrier | None = None
        self._workspace: Workspace | None = None
        self._yaml: dict[str, Any] | None = None
        self.wrote = False
        self._held: list[str] = []  # auto-import warnings a writing command's flush will repeat
        self._actor: str | None = None
        self.json = bool(getattr(args, "json", False)) or self._flag("json")
        self.quiet = bool(getattr(args, "quiet", False))

    # -- settings ---------------------------------------------------------------------

    def _flag(self, key: str) -> bool:
        """A boolean setting: the flag, then ``BD_<KEY>``, then config.yaml."""
        from beads.core.config import env_value, truthy

        attr = key.replace("-", "_")
        if getattr(self.args, attr, False):
            return True
        env = env_value(key)
        if env is not None:
            return truthy(env)
        if key == "json":  # avoid reading config.yaml just for this on the hot path
            return False
        value = self.yaml_config().get(key)
        return truthy(value) if value is not None else False

    def yaml_config(self) -> dict[str, Any]:
        if self._yaml is None:
            from beads.core.config import load_yaml

            try:
                ws = self.workspace()
            except BdError:
                self._yaml = {}
            else:
                self._yaml = load_yaml(ws.config_yaml_path)
        return self._yaml

    def setting(self, key: str, default: Any = None) -> Any:
        from beads.core.config import env_value

        env = env_value(key)
        if env is not None:
            return env
        value = self.yaml_config().get(key)
        return default if value is None else value

    @property
    def auto_flush(self) -> bool:
        return not (self._flag("no-auto-flush") or self._flag("sandbox"))

    @property
    def no_db(self) -> bool:
        """``--no-db`` / ``no-db: true``: work on the JSONL through an in-memory database."""
        return self._flag("no-db")

    @property
    def auto_import(self) -> bool:
        return not (self._flag("no-auto-import") or self._flag("sandbox"))

    # -- workspace and tracker ------------------------------------------------------------

    def use_workspace(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from beads.core.workspace import discover

            self._workspace = discover(db=getattr(self.args, "db", None))
        return self._workspace

    def actor(self, *, git: bool | None = None) -> str:
        """Who acts: --actor, BD_ACTOR, config ``actor``, BEADS_ACTOR, git's user.name, $USER, unknown
        (``beads.sync.identity``). git's config is consulted for a writing command (``git`` None:
        once ``writer`` was called) or when asked (``git=True``); reads record no actor."""
        if not (self.wrote if git is None else git):
            return _checked_actor(getattr(self.args, "actor", None) or os.environ.get("BD_ACTOR")
                                  or str(self.setting("actor") or "") or os.environ.get("BEADS_ACTOR")
                                  or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown")
        if self._actor is None:
            from beads.sync.identity import resolve_actor

            self._actor = _checked_actor(resolve_actor(getattr(self.args, "actor", None),
                                                       str(self.setting("actor") or "") or None))
        return self._actor

    def _identified(self, tracker: Tracker) -> Tracker:
        """A writing command's Tracker records the full actor and stamps git's email as ``owner``."""
        from beads.sync.identity import resolve_owner

        tracker.actor = self.actor(git=True)
        tracker.owner = resolve_owner() or ""
        return tracker

    def tracker(self) -> Tracker:
        """The Tracker for this workspace, opened on first use through the write barrier."""
        return self.barrier().tracker()

    def barrier(self) -> Barrier:
        """The write barrier (``beads.sync.barrier``) this command's database access goes through."""
        if self._barrier is None:
            from beads.sync.barrier import Barrier

            timeout = parse_duration_ms(getattr(self.args, "lock_timeout", None) or self.setting("lock-timeout"),
                                        30_000)
            self._barrier = Barrier(self.workspace(), actor=self.actor(),
                                    readonly=bool(getattr(self.args, "readonly", False)), no_db=self.no_db,
                                    auto_import=self.auto_import, auto_flush=self.auto_flush,
                                    busy_timeout_ms=timeout, command=getattr(self.args, "command", "") or "",
                                    prefix=self.setting("issue-prefix") if self.no_db else None,
                                    import_warning=self._import_warning)
        return self._barrier

    def _import_warning(self, text: str) -> None:
        """An auto-import warning: printed now, except for a writing command, whose flush
        refuses the same file and says so in its own line (held, and printed if it does not)."""
        if self.wrote:
            self._held.append(text)
        else:
            self.stderr.write(f"Warning: {visible(text)}\n")

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for text in held:
            self.stderr.write(f"Warning: {visible(text)}\n")

    def writer(self, operation: str) -> Tracker:
        """The Tracker, for a command that writes (refused in --readonly mode)."""
        if getattr(self.args, "readonly", False):
            raise InvalidInput(f"operation '{operation}' is not allowed in read-only mode")
        self.wrote = True
        return self._identified(self.barrier().writer(operation))

    def finish(self) -> None:
        """After a successful command: flush the JSONL if this command wrote (the barrier decides how)."""
        if self._barrier is None:
            return

        def warn(text: str) -> None:
            self.stderr.write(f"Warning: {visible(text)}\n")

        if not self._barrier.finish(warn):
            self._held = []

    def cleanup(self) -> None:
        self._release_held()
        barrier, self._barrier = self._barrier, None
        if barrier is not None:
            try:
                barrier.close()
            except Exception:  # noqa: BLE001 - closing after the work is done: nothing left to report
                if os.environ.get("BD_DEBUG"):
                    raise

    # -- output -------------------------------------------------------------------------

    # Every text line goes through ``visible``: user data (titles, labels, comments,
    # IDs echoed in errors) can hold terminal escape sequences; JSON (``emit``) cannot.

    def out(self, text: str = "") -> None:
        self.stdout.write(visible(text) + "\n")

    def err(self, text: str) -> None:
        self.stderr.write(visible(text) + "\n")

    def warn(self, text: str) -> None:
        if not self.quiet:
            self.stderr.write(f"Warning: {visible(text)}\n")

    def info(self, text: str) -> None:
        """Progress/hint text for humans (stderr, silenced by --quiet)."""
        if not self.quiet:
            self.stderr.write(visible(text) + "\n")

    def emit(self, obj: Any) -> None:
        """Write one JSON document to stdout, indented like the original."""
        from beads.jsonfmt import pretty

        self.stdout.write(pretty(obj) + "\n")

    def emit_chunks(self, chunks: Iterable[list[Any]]) -> None:
        """Write a JSON array as ``emit`` would, element by element as the chunks arrive."""
        from beads.jsonfmt import write_pretty_array

        write_pretty_array(chunks, self.stdout.write)

    def fail(self, exc: BdError) -> int:
        if self.json:
            # the document on stdout (spec §6.2); the same line on stderr too, because
            # wrappers such as beads-mcp and beads-ui report only stderr on a non-zero exit
            # a path the OS gave us may hold undecodable bytes: written as \xNN, never as a lone surrogate
            self.emit({"error": exc.message.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")})
            self.stderr.write(f"Error: {visible(exc.message)}\n")
        else:
            self.stderr.write(f"Error: {visible(exc.message)}\n")
            if exc.hint:
                self.stderr.write(f"Hint: {visible(exc.hint)}\n")
        return exc.exit_status


def _checked_actor(actor: str) -> str:
    if not actor.isascii():
        try:
            actor.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f'the actor name "{visible(actor)}" is not valid UTF-8 (set --actor or BD_ACTOR)')
    return actor
