"""The operations of the wire protocol (spec §9.2), as the daemon answers them.

Issue operations are the CLI's own commands run in-process (``runner``) with
``--json`` and the caller's actor, so every rule (validation, the write barrier,
events, the JSON shapes that beads-mcp reads) is the CLI's and nothing is
implemented twice. ``batch`` runs its operations in one transaction on one shared
Tracker: all of them apply, or none.
"""

from __future__ import annotations

import builtins
import json
import os
import time

from beads.daemon import runner

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from beads.daemon.process import Daemon


class OpError(Exception):
    """An operation failed: the message goes back as the response's ``error``."""


def _str(args: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = args.get(key)
    if value is None or value == "":
        if required:
            raise OpError(f"missing required argument '{key}'")
        return None
    if not isinstance(value, str):
        raise OpError(f"argument '{key}' must be a string")
    return value


def _int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise OpError(f"argument '{key}' must be an integer")
    return value


def _bool(args: dict[str, Any], key: str) -> bool:
    value = args.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise OpError(f"argument '{key}' must be true or false")
    return value


def _strs(args: dict[str, Any], key: str) -> list[str]:
    value = args.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OpError(f"argument '{key}' must be a list of strings")
    return value


class Ops:
    """Dispatch one request's operation; ``daemon`` gives the workspace, statistics and lifecycle."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.table: dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]] = {
            "ping": self.ping, "status": self.status, "health": self.health, "metrics": self.metrics,
            "create": self.create, "update": self.update, "close": self.close, "delete": self.delete,
            "list": self.list, "count": self.count, "show": self.show, "resolve_id": self.resolve_id,
            "ready": self.ready, "blocked": self.blocked, "stale": self.stale, "stats": self.stats,
            "dep_add": self.dep_add, "dep_remove": self.dep_remove, "dep_tree": self.dep_tree,
            "label_add": self.label_add, "label_remove": self.label_remove,
            "comment_list": self.comment_list, "comment_add": self.comment_add,
            "batch": self.batch, "export": self.export, "import": self.import_, "epic_status": self.epic_status,
            "get_mutations": self.get_mutations, "shutdown": self.shutdown, "daemon_event": self.daemon_event,
        }

    # -- running CLI commands -------------------------------------------------------------

    def cli(self, req: dict[str, Any], argv: list[str], *, json_out: bool = True) -> Any:
        """Run ``bd <argv> --json`` as the caller; the parsed output, or OpError with the CLI's message."""
        d = self.daemon
        env = dict(d.base_env)
        actor = req.get("actor") or d.default_actor
        full = [*argv[:1], "--db", d.db_path, "--actor", actor, *(["--json"] if json_out else []), *argv[1:]]
        asked = req.get("cwd")
        cwd = asked if isinstance(asked, str) and os.path.isdir(asked) else d.root
        result = runner.run(full, cwd=cwd, env=env)
        if result.exit != 0:
            text = result.stderr.decode("utf-8", "replace").strip()
            lines = [ln[len("Error: "):] if ln.startswith("Error: ") else ln for ln in text.splitlines()
                     if not ln.startswith(("Warning:", "Hint:", "  "))]
            raise OpError("; ".join(lines) or f"bd {argv[0]} failed (exit {result.exit})")
        out = result.stdout.decode("utf-8", "surrogateescape").strip()
        if not json_out:
            return out
        return json.loads(out) if out else None

    # -- daemon operations -----------------------------------------------------------------

    def ping(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        from beads import __version__

        return {"message": "pong", "version": __version__}

    def status(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        return self.daemon.status_info()

    def health(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        return self.daemon.health_info(req.get("client_version") or "")

    def metrics(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        return self.daemon.stats.snapshot()

    def shutdown(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        self.daemon.request_stop("shutdown requested by a client")
        return {"message": "shutting down"}

    def daemon_event(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        kind = _str(args, "kind", required=True)
        if kind == "import-needed":
            self.daemon.import_check("daemon-event")
            if self.daemon.gitwork is not None:
                self.daemon.gitwork.pull_soon()
        elif kind == "export-needed":
            self.daemon.mutated()
        else:
            raise OpError(f"unknown daemon event {kind!r} (import-needed, export-needed)")
        return {"kind": kind}

    def get_mutations(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        since = _int(args, "since") or 0
        return [m for m in list(self.daemon.mutations) if m["timestamp"] > since]

    # -- issues -------------------------------------------------------------------------

    def create(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        title = _str(args, "title", required=True)
        argv = ["create", f"--title={title}"]
        for key, flag in (("description", "--description"), ("issue_type", "--type"), ("design", "--design"),
                          ("acceptance_criteria", "--acceptance"), ("notes", "--notes"), ("assignee", "--assignee"),
                          ("external_ref", "--external-ref"), ("id", "--id"), ("parent", "--parent"),
                          ("waits_for", "--waits-for"), ("waits_for_gate", "--waits-for-gate")):
            value = _str(args, key)
            if value is not None:
                argv.append(f"{flag}={value}")
        for key, flag in (("priority", "--priority"), ("estimated_minutes", "--estimate")):
            number = _int(args, key)
            if number is not None:
                argv.append(f"{flag}={number}")
        labels = _strs(args, "labels")
        if labels:
            argv.append(f"--labels={','.join(labels)}")
        deps = _strs(args, "dependencies")
        if deps:
            argv.append(f"--deps={','.join(deps)}")
        if _bool(args, "ephemeral"):
            argv.append("--ephemeral")
        created_by = _str(args, "created_by")
        data = self.cli({**req, "actor": created_by} if created_by else req, argv)
        return data

    def update(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        argv = ["update", _str(args, "id", required=True) or ""]
        for key, flag in (("title", "--title"), ("description", "--description"), ("status", "--status"),
                          ("design", "--design"), ("acceptance_criteria", "--acceptance"), ("notes", "--notes"),
                          ("assignee", "--assignee"), ("external_ref", "--external-ref"),
                          ("issue_type", "--type"), ("parent", "--parent")):
            value = args.get(key)
            if value is not None:
                if not isinstance(value, str):
                    raise OpError(f"argument '{key}' must be a string")
                argv.append(f"{flag}={value}")
        for key, flag in (("priority", "--priority"), ("estimated_minutes", "--estimate")):
            number = _int(args, key)
            if number is not None:
                argv.append(f"{flag}={number}")
        argv += [f"--add-label={v}" for v in _strs(args, "add_labels")]
        argv += [f"--remove-label={v}" for v in _strs(args, "remove_labels")]
        if args.get("set_labels") is not None:
            argv.append(f"--set-labels={','.join(_strs(args, 'set_labels'))}")
        data = self.cli(req, argv)
        return _first(data)

    def close(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        argv = ["close", _str(args, "id", required=True) or ""]
        reason = _str(args, "reason")
        if reason is not None:
            argv.append(f"--reason={reason}")
        if _bool(args, "suggest_next"):
            argv.append("--suggest-next")
        data = self.cli(req, argv)
        return data if _bool(args, "suggest_next") else _first(data)

    def delete(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        ids = _strs(args, "ids")
        if not ids:
            raise OpError("missing required argument 'ids'")
        argv = ["delete"]
        for key in ("force", "dry_run", "cascade", "hard"):
            if _bool(args, key):
                argv.append("--" + key.replace("_", "-"))
        reason = _str(args, "reason")
        if reason is not None:
            argv.append(f"--reason={reason}")
        return self.cli(req, [*argv, "--", *ids])

    def _filters(self, args: dict[str, Any], argv: list[str]) -> list[str]:
        for key, flag in (("status", "--status"), ("assignee", "--assignee"), ("issue_type", "--type"),
                          ("type", "--type"), ("title_contains", "--title-contains"), ("query", "--title-contains"),
                          ("description_contains", "--desc-contains"), ("notes_contains", "--notes-contains"),
                          ("parent_id", "--parent"), ("created_after", "--created-after"),
                          ("created_before", "--created-before"), ("updated_after", "--updated-after"),
                          ("updated_before", "--updated-before"), ("closed_after", "--closed-after"),
                          ("closed_before", "--closed-before")):
            value = _str(args, key)
            if value is not None:
                argv.append(f"{flag}={value}")
        for key, flag in (("priority", "--priority"), ("priority_min", "--priority-min"),
                          ("priority_max", "--priority-max")):
            number = _int(args, key)
            if number is not None:
                argv.append(f"{flag}={number}")
        argv += [f"--label={v}" for v in _strs(args, "labels")]
        argv += [f"--label-any={v}" for v in _strs(args, "labels_any")]
        ids = _strs(args, "ids")
        if ids:
            argv.append(f"--id={','.join(ids)}")
        for key, flag in (("empty_description", "--empty-description"), ("no_assignee", "--no-assignee"),
                          ("unassigned", "--no-assignee"), ("no_labels", "--no-labels"), ("pinned", "--pinned"),
                          ("include_templates", "--include-templates")):
            if _bool(args, key) and flag not in argv:
                argv.append(flag)
        return argv

    def list(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        argv = self._filters(args, ["list", f"--limit={_int(args, 'limit') or 0}"])
        return self.cli(req, argv) or []

    def count(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        argv = ["count"]
        group = _str(args, "group_by")
        if group is not None:
            argv.append(f"--by-{group}")
        return self.cli(req, self._filters(args, argv))

    def show(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        return _first(self.cli(req, ["show", "--", _str(args, "id", required=True) or ""]))

    def resolve_id(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        wanted = _str(args, "id", required=True) or ""
        shown = _first(self.cli(req, ["show", "--", wanted]))
        return shown["id"] if isinstance(shown, dict) else None

    def ready(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        argv = ["ready", f"--limit={_int(args, 'limit') or 10}"]
        for key, flag in (("assignee", "--assignee"), ("type", "--type"), ("issue_type", "--type"),
                          ("sort_policy", "--sort"), ("parent_id", "--parent")):
            value = _str(args, key)
            if value is not None:
                argv.append(f"{flag}={value}")
        priority = _int(args, "priority")
        if priority is not None:
            argv.append(f"--priority={priority}")
        if _bool(args, "unassigned"):
            argv.append("--unassigned")
        argv += [f"--label={v}" for v in _strs(args, "labels")]
        argv += [f"--label-any={v}" for v in _strs(args, "labels_any")]
        return self.cli(req, argv) or []

    def blocked(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        parent = _str(args, "parent_id")
        return self.cli(req, ["blocked", *([f"--parent={parent}"] if parent else [])]) or []

    def stale(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        argv = ["stale", f"--days={_int(args, 'days') or 30}", f"--limit={_int(args, 'limit') or 50}"]
        status = _str(args, "status")
        if status is not None:
            argv.append(f"--status={status}")
        return self.cli(req, argv) or []

    def stats(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        data = self.cli(req, ["status"])
        if isinstance(data, dict):
            data.pop("summary", None)
        return data

    def epic_status(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        argv = ["epic", "status", *(["--eligible-only"] if _bool(args, "eligible_only") else [])]
        return self.cli(req, argv) or []

    # -- dependencies, labels, comments ---------------------------------------------------------------

    def dep_add(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        a, b = _str(args, "from_id", required=True) or "", _str(args, "to_id", required=True) or ""
        dep_type = _str(args, "dep_type") or "blocks"
        self.cli(req, ["dep", "add", f"--type={dep_type}", "--", a, b])
        return None

    def dep_remove(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        a, b = _str(args, "from_id", required=True) or "", _str(args, "to_id", required=True) or ""
        dep_type = _str(args, "dep_type")
        self.cli(req, ["dep", "remove", *([f"--type={dep_type}"] if dep_type else []), "--", a, b])
        return None

    def dep_tree(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        depth = _int(args, "max_depth") or 50
        return self.cli(req, ["dep", "tree", f"--max-depth={depth}", "--", _str(args, "id", required=True) or ""])

    def label_add(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        return self._label(req, args, "add")

    def label_remove(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        return self._label(req, args, "remove")

    def _label(self, req: dict[str, Any], args: dict[str, Any], action: str) -> Any:
        issue_id = _str(args, "id", required=True) or ""
        self.cli(req, ["label", action, "--", issue_id, _str(args, "label", required=True) or ""])
        return None

    def comment_list(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        return self.cli(req, ["comments", "--", _str(args, "id", required=True) or ""]) or []

    def comment_add(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        issue_id = _str(args, "id", required=True) or ""
        text = _str(args, "text", required=True) or ""
        author = _str(args, "author")
        data = self.cli(req, ["comment", *([f"--author={author}"] if author else []), "--", issue_id, text])
        return data

    # -- data ----------------------------------------------------------------------------------

    def export(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        path = _str(args, "jsonl_path")
        if path is None or os.path.abspath(path) == os.path.abspath(self.daemon.jsonl_path):
            self.daemon.export_now()
            return {"path": self.daemon.jsonl_path}
        self.cli(req, ["export", f"--output={path}"], json_out=False)
        return {"path": path}

    def import_(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        path = _str(args, "jsonl_path") or self.daemon.jsonl_path
        data = self.cli(req, ["import", f"--input={path}"])
        return data

    def batch(self, req: dict[str, Any], args: dict[str, Any]) -> Any:
        operations = args.get("operations")
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise OpError("argument 'operations' must be a list of {operation, args} objects")
        for op in operations:
            name = op.get("operation")
            if name in ("batch", "shutdown", "export", "import") or name not in self.table:
                raise OpError(f"operation {name!r} cannot run in a batch")
            if not isinstance(op.get("args", {}) or {}, dict):
                raise OpError(f"the args of batch operation {name!r} must be an object")
        return self.daemon.in_one_transaction(req, lambda: self._batch(req, operations))

    def _batch(self, req: dict[str, Any], operations: builtins.list[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        results: builtins.list[dict[str, Any]] = []
        for i, op in enumerate(operations):
            try:
                data = self.table[op["operation"]](req, op.get("args") or {})
            except OpError as exc:
                raise BatchFailed(i, str(exc), results) from None
            results.append({"success": True, "data": data})
        return results


class BatchFailed(Exception):
    def __init__(self, index: int, error: str, results: list[dict[str, Any]]) -> None:
        super().__init__(f"batch operation {index + 1} failed, nothing was applied: {error}")
        self.results = [*results, {"success": False, "error": error}]


def _first(data: Any) -> Any:
    if isinstance(data, list):
        return data[0] if data else None
    return data


def now_ms() -> int:
    return int(time.time() * 1000)
