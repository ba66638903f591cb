"""``bd doctor``: checks of a workspace's health, each with a repair where one is safe (spec §10.2).

A check returns a ``Check``: a name (as the original prints it), a status (``ok``,
``warning``, ``error``), a one-line message, optional detail, and -- when it can be
repaired -- a description of the fix and the function that applies it. The checks only
read; every fix goes through the library (the Tracker, the exporter and importer, the
hook installer), never around it. Checks that need the database open it without the
auto-import a command would run, so what is on disk is what gets judged.

The git side (hooks, merge driver, leftover locks) and the daemon's files are in
``doctor_files``; this module holds the runner and the data checks.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.core.workspace import Workspace

OK, WARNING, ERROR = "ok", "warning", "error"


class Check:
    __slots__ = ("name", "status", "message", "detail", "fix", "category", "apply")

    def __init__(self, name: str, status: str, message: str, *, detail: str = "", fix: str = "",
                 category: str = "", apply: Callable[[], str | None] | None = None) -> None:
        self.name, self.status, self.message, self.detail = name, status, message, detail
        self.fix, self.category, self.apply = fix, category, apply

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        if self.fix:
            out["fix"] = self.fix
        if self.category:
            out["category"] = self.category
        return out


class Doctor:
    """Runs the checks on one workspace; holds the Tracker the data checks and fixes share."""

    def __init__(self, workspace: Workspace | None, path: str, actor: str) -> None:
        self.workspace = workspace
        self.path = path
        self.actor = actor
        self._tracker: Tracker | None = None
        self.db_usable = False

    # -- the database, opened without auto-import -----------------------------------------------

    def tracker(self) -> Tracker:
        if self._tracker is None:
            from beads.core.tracker import Tracker
            from beads.storage.sqlite.store import SqliteStore

            assert self.workspace is not None
            self._tracker = Tracker(SqliteStore(self.workspace.db_path, create=False), actor=self.actor,
                                    workspace=self.workspace)
        return self._tracker

    def after_fixes(self) -> None:
        """A data fix marks issues for export: write them, as a command's flush would."""
        if self._tracker is not None:
            from beads.sync import export

            export.flush(self._tracker)

    def close(self) -> None:
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.disconnect()

    # -- running --------------------------------------------------------------------------------

    def run(self) -> list[Check]:
        from beads.errors import BdError
        from beads.sync import doctor_files as files

        checks = [self.installation()]
        if self.workspace is None:
            return checks
        steps: list[Callable[[], Check]] = [
            self.database_integrity, self.schema, self.jsonl_integrity, self.db_jsonl_sync, self.dependency_cycles,
            self.orphaned_dependencies, self.expired_tombstones,
        ]
        steps += [lambda: files.gitignore(self.workspace), lambda: files.git_hooks(self.workspace),  # type: ignore[arg-type]
                  lambda: files.merge_driver(self.workspace), lambda: files.sync_branch(self.workspace),  # type: ignore[arg-type]
                  lambda: files.git_locks(self.workspace),  # type: ignore[arg-type]
                  lambda: files.daemon_health(self.workspace)]  # type: ignore[arg-type]
        for step in steps:
            try:
                checks.append(step())
            except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
                if os.environ.get("BD_DEBUG"):
                    raise
                why = exc.message if isinstance(exc, BdError) else f"{type(exc).__name__}: {exc}"
                checks.append(Check(getattr(step, "__name__", "Check").replace("_", " ").title(), ERROR,
                                    f"the check failed: {why}"))
        return checks

    # -- checks ---------------------------------------------------------------------------------

    def installation(self) -> Check:
        ws = self.workspace
        if ws is None:
            return Check("Installation", ERROR, f"no .beads directory found at or above {self.path}",
                         fix="run 'bd init' in the project")
        if not ws.db_exists():
            if os.path.exists(ws.jsonl_path):
                return Check("Installation", ERROR, f"no database in {ws.beads_dir} (the JSONL is there)",
                             fix="run 'bd init' to create the database and import the JSONL")
            return Check("Installation", ERROR, f"no database in {ws.beads_dir}", fix="run 'bd init'")
        self.db_usable = True
        return Check("Installation", OK, f".beads/ found at {ws.beads_dir}")

    def database_integrity(self) -> Check:
        from beads.storage.sqlite import health

        assert self.workspace is not None
        if not self.db_usable:
            return Check("Database Integrity", WARNING, "skipped: no database")
        problems = health.quick_check(self.workspace.db_path)
        if problems:
            self.db_usable = False
            name = os.path.basename(self.workspace.db_path)
            standard = os.path.basename(self.workspace.beads_dir) == ".beads"
            return Check("Database Integrity", ERROR, f"the database failed SQLite's quick_check "
                         f"({len(problems)} problem(s))", detail="\n".join(problems[:10]),
                         fix=f"move {name} aside and rebuild it from the JSONL (changes not yet exported are "
                             "only in the old file)", apply=self._rebuild if standard else None)
        return Check("Database Integrity", OK, "SQLite quick_check: ok")

    def schema(self) -> Check:
        from beads.storage.sqlite import health
        from beads.storage.sqlite.schema import SCHEMA_VERSION

        assert self.workspace is not None
        if not self.db_usable:
            return Check("Schema Compatibility", WARNING, "skipped: the database cannot be read")
        version = health.peek_user_version(self.workspace.db_path)
        if version is None:
            self.db_usable = False
            return Check("Schema Compatibility", ERROR, "the database file cannot be read as SQLite")
        if version > SCHEMA_VERSION:
            self.db_usable = False
            return Check("Schema Compatibility", ERROR,
                         f"schema version {version} is newer than this bd knows ({SCHEMA_VERSION})",
                         fix="upgrade bd")
        if version < SCHEMA_VERSION:
            return Check("Schema Compatibility", WARNING,
                         f"schema version {version}, this bd migrates it to {SCHEMA_VERSION} on first use",
                         fix="apply the pending migrations", apply=self._migrate)
        return Check("Schema Compatibility", OK, f"schema version {version} (current)")

    def _rebuild(self) -> str:
        """Move the damaged database (and its -wal/-shm) aside, create a fresh one as ``bd init``
        does, and import the JSONL into it."""
        from beads.core.config import load_yaml
        from beads.core.setup import init_workspace
        from beads.core.tracker import Tracker
        from beads.storage.sqlite.store import SqliteStore
        from beads.sync.importer import import_file
        from beads.sync.setup_hooks import prefix_from_jsonl

        ws = self.workspace
        assert ws is not None
        self.close()
        db = ws.db_path
        aside = f"{db}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.replace(db + suffix, aside + suffix)
        prefix = (str(load_yaml(ws.config_yaml_path).get("issue-prefix") or "").strip()
                  or prefix_from_jsonl(ws.jsonl_path) or None)
        init_workspace(ws.root, prefix=prefix)
        imported = 0
        if os.path.exists(ws.jsonl_path):
            tracker = Tracker(SqliteStore(ws.db_path, create=False), actor=self.actor, workspace=ws)
            try:
                stats = import_file(tracker, ws.jsonl_path)
                imported = int(stats.get("created", 0) or 0) + int(stats.get("updated", 0) or 0)
            finally:
                tracker.disconnect()
        return (f"moved the damaged database to {os.path.basename(aside)}; rebuilt it with {imported} issue(s) "
                f"from {os.path.basename(ws.jsonl_path)}")

    def _migrate(self) -> str:
        self.tracker()  # opening the store applies the migrations
        return "migrations applied"

    def jsonl_integrity(self) -> Check:
        from beads.sync import doctor_jsonl

        assert self.workspace is not None
        path = self.workspace.jsonl_path
        if not os.path.exists(path):
            return Check("JSONL Integrity", OK, f"no {os.path.basename(path)} yet")
        vocab = self._vocab()
        problems = doctor_jsonl.scan(path, vocab)
        if not problems:
            return Check("JSONL Integrity", OK, f"{os.path.basename(path)}: every line is a valid issue")
        name = os.path.basename(path)
        detail = "\n".join(f"line {n}: {why}" for n, why in problems[:10])
        if len(problems) > 10:
            detail += f"\n... and {len(problems) - 10} more"
        if not self.db_usable:
            return Check("JSONL Integrity", ERROR, f"{name}: {len(problems)} bad line(s)", detail=detail)
        return Check("JSONL Integrity", ERROR, f"{name}: {len(problems)} bad line(s) (nothing can be imported "
                     "from it until they are gone)", detail=detail,
                     fix=f"import its valid lines, regenerate {name} from the database, keep the bad lines "
                         f"in {name}.rejected", apply=lambda: doctor_jsonl.repair(self.tracker(), path, vocab))

    def _vocab(self) -> Any:
        from beads import model

        if not self.db_usable:
            return model.BUILTIN_VOCAB
        from beads.sync.importer import vocab_of

        return vocab_of(self.tracker())

    def db_jsonl_sync(self) -> Check:
        from beads.sync import doctor_jsonl

        if not self.db_usable:
            return Check("DB-JSONL Sync", WARNING, "skipped: the database cannot be read")
        state = doctor_jsonl.sync_state(self.tracker())
        if state["unexported"] == 0 and not state["jsonl_changed"] and not state["jsonl_missing"]:
            return Check("DB-JSONL Sync", OK, "the database and the JSONL agree")
        parts = []
        if state["jsonl_missing"]:
            parts.append(f"{state['issues']} issue(s) in the database and no JSONL")
        elif state["unexported"]:
            parts.append(f"{state['unexported']} issue change(s) in the database are not in the JSONL yet")
        if state["jsonl_changed"]:
            parts.append("the JSONL changed since it was last imported")
        return Check("DB-JSONL Sync", WARNING, "; ".join(parts),
                     fix="import the JSONL's changes, then export the database's (as 'bd sync --flush-only')",
                     apply=lambda: doctor_jsonl.resync(self.tracker()))

    def dependency_cycles(self) -> Check:
        if not self.db_usable:
            return Check("Dependency Cycles", WARNING, "skipped: the database cannot be read")
        cycles = self.tracker().find_cycles(thorough=True)
        if not cycles:
            return Check("Dependency Cycles", OK, "no cycles")
        detail = "\n".join(" → ".join(c) for c in cycles[:10])
        return Check("Dependency Cycles", ERROR, f"{len(cycles)} dependency cycle(s): their issues never become "
                     "ready", detail=detail, fix="break each cycle with 'bd dep remove <issue> <depends-on>'")

    def orphaned_dependencies(self) -> Check:
        from beads.core import repair
        from beads.storage.sqlite import health

        if not self.db_usable:
            return Check("Orphaned Dependencies", WARNING, "skipped: the database cannot be read")
        edges = health.orphaned_dependencies(self.tracker().store)
        if not edges:
            return Check("Orphaned Dependencies", OK, "every dependency points at an existing issue")
        detail = "\n".join(f"{e['issue_id']} → {e['depends_on_id']} ({e['type']})" for e in edges[:10])
        return Check("Orphaned Dependencies", WARNING, f"{len(edges)} dependency edge(s) point at missing issues",
                     detail=detail, fix="remove the dangling edges",
                     apply=lambda: f"removed {repair.remove_orphaned_dependencies(self.tracker(), edges)} edge(s)")

    def expired_tombstones(self) -> Check:
        from beads import timefmt
        from beads.storage.sqlite import health

        if not self.db_usable:
            return Check("Expired Tombstones", WARNING, "skipped: the database cannot be read")
        tracker = self.tracker()
        days = _ttl_days(tracker)
        cutoff = timefmt.format_ns(time.time_ns() - days * 86_400 * 10**9, 0)
        ids = health.tombstones_deleted_before(tracker.store, cutoff)
        if not ids:
            return Check("Expired Tombstones", OK, f"no tombstones older than {days} days")

        def purge() -> str:
            tracker.delete(ids, hard=True, reason="expired tombstone (bd doctor --fix)")
            from beads.sync import export

            export.flush(tracker)
            return f"purged {len(ids)} tombstone(s)"

        return Check("Expired Tombstones", WARNING, f"{len(ids)} tombstone(s) older than {days} days",
                     detail=", ".join(ids[:20]), fix="purge them from the database and the JSONL", apply=purge)


def _ttl_days(tracker: Tracker) -> int:
    text = tracker.get_config("tombstone.ttl_days") or ""
    return int(text) if text.strip().isdigit() and int(text) > 0 else 30


def open_doctor(path: str, actor: str) -> Doctor:
    """A Doctor for the workspace at or above ``path`` (``BEADS_DIR``/``BEADS_DB`` honoured when
    no path was given)."""
    from beads.core.workspace import discover
    from beads.errors import NoWorkspace
    from beads.sync import doctor_files

    doctor_files.forget_git()  # a fresh look at the repository for every run
    try:
        workspace = discover(cwd=path)
    except NoWorkspace:
        workspace = None
    return Doctor(workspace, os.path.abspath(path), actor)


def report(checks: list[Check], path: str, version: str) -> dict[str, Any]:
    """The JSON document of spec §10.2."""
    import platform

    from beads import timefmt

    return {"path": path, "checks": [c.to_json() for c in checks],
            "overall_ok": all(c.status != ERROR for c in checks), "cli_version": version,
            "timestamp": timefmt.now_utc(), "platform": {"os": platform.system().lower(),
                                                          "arch": platform.machine()}}
