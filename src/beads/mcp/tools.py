"""The MCP tools of ``bd mcp``, without the MCP SDK: names, parameters, and what each call does.

The tool names and parameters are those of beads-mcp (spec §10.4), which agents already
know. Every call goes to the Tracker in-process through the write barrier
(``beads.sync.barrier``): the auto-import of a JSONL changed behind our back before it,
the flush of the dirty issues after a write — no ``bd`` subprocess. ``beads.mcp.server``
puts this on the wire with the SDK; tests and ``bench/`` call ``Service.call`` directly.

Outputs are compact: issues in a minimal form (or ``brief``: id, title, status,
priority; or a ``fields`` projection), descriptions cut at ``max_description_length``,
lists over 20 items summarised with a 5-item preview, writes answered with
``{id, action}`` unless ``brief=false``.
"""

from __future__ import annotations

import os

from beads.errors import BdError, InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from beads.core.tracker import Tracker
    from beads.core.workspace import Workspace

# -- the catalogue -----------------------------------------------------------------------------

# Parameter kinds: s = string, i = integer, b = boolean, l = list of strings.
_WS = {"workspace_root": "s"}
_VIEW = {"brief": "b", "fields": "l", "max_description_length": "i"}
_FILTERS = {"priority": "i", "assignee": "s", "labels": "l", "labels_any": "l", "unassigned": "b"}

# name -> (one-line description, parameters, required parameters)
TOOLS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "ready": ("Unblocked work to do",
              {"limit": "i", **_FILTERS, "sort_policy": "s", **_WS, **_VIEW}, ()),
    "list": ("List issues with filters",
             {"status": "s", "issue_type": "s", "query": "s", "limit": "i", **_FILTERS, **_WS, **_VIEW}, ()),
    "show": ("One issue with its dependencies",
             {"issue_id": "s", "brief_deps": "b", **_WS, **_VIEW}, ("issue_id",)),
    "create": ("Create an issue",
               {"title": "s", "description": "s", "design": "s", "acceptance": "s", "external_ref": "s",
                "priority": "i", "issue_type": "s", "assignee": "s", "labels": "l", "id": "s", "deps": "l",
                **_WS, "brief": "b"}, ("title",)),
    "claim": ("Claim: assignee=you, in_progress", {"issue_id": "s", **_WS, "brief": "b"},
              ("issue_id",)),
    "update": ("Update an issue's fields",
               {"issue_id": "s", "status": "s", "priority": "i", "assignee": "s", "title": "s",
                "description": "s", "design": "s", "acceptance_criteria": "s", "notes": "s",
                "external_ref": "s", **_WS, "brief": "b"}, ("issue_id",)),
    "close": ("Close (complete) an issue", {"issue_id": "s", "reason": "s", **_WS, "brief": "b"}, ("issue_id",)),
    "reopen": ("Reopen closed issues", {"issue_ids": "l", "reason": "s", **_WS, "brief": "b"}, ("issue_ids",)),
    "dep": ("issue_id depends on depends_on_id",
            {"issue_id": "s", "depends_on_id": "s", "dep_type": "s", **_WS}, ("issue_id", "depends_on_id")),
    "stats": ("Issue counts", {**_WS}, ()),
    "blocked": ("Blocked issues and their blockers", {"brief": "b", "brief_deps": "b", **_WS}, ()),
    "context": ("Workspace: action=set|show|init", {"action": "s", "workspace_root": "s", "prefix": "s"}, ()),
    "discover_tools": ("List the tools (names only)", {}, ()),
    "get_tool_info": ("A tool's parameters", {"tool_name": "s"}, ("tool_name",)),
}

_KIND_SCHEMA = {"s": {"type": "string"}, "i": {"type": "integer"}, "b": {"type": "boolean"},
                "l": {"type": "array", "items": {"type": "string"}}}
_KIND_NAME = {"s": "str", "i": "int", "b": "bool", "l": "list[str]"}

# Longer help, given by get_tool_info only (the tool list stays small).
_DETAILS: dict[str, dict[str, str]] = {
    "limit": {"ready": "max issues (default 10)", "list": "max issues (default 20)"},
    "priority": {"*": "0 (critical) .. 4 (backlog)"},
    "labels": {"*": "must have ALL of these labels", "create": "labels to add"},
    "labels_any": {"*": "must have at least one of these labels"},
    "unassigned": {"*": "only issues with no assignee"},
    "sort_policy": {"*": "hybrid (default) | priority | oldest"},
    "status": {"*": "open | in_progress | blocked | deferred | closed"},
    "issue_type": {"*": "bug | feature | task | epic | chore (create: default task)"},
    "query": {"*": "text in the title (case-insensitive)"},
    "brief": {"*": "only {id, title, status, priority}",
              "create": "default true: answer {id, action}; false: the full issue",
              "claim": "default true: answer {id, action}; false: the full issue",
              "update": "default true: answer {id, action}; false: the full issue",
              "close": "default true: answer [{id, action}]; false: the full issues",
              "reopen": "default true: answer [{id, action}]; false: the full issues"},
    "brief_deps": {"*": "full issue, dependencies as {id, title, status, priority, dependency_type}"},
    "fields": {"*": "return only these fields (id, title, description, status, priority, ...)"},
    "max_description_length": {"*": "cut descriptions to this many characters"},
    "workspace_root": {"*": "project directory for this call (default: the context's)",
                       "context": "project directory (set/init)"},
    "deps": {"*": "IDs this issue depends on ('type:id' for another type than blocks)"},
    "dep_type": {"*": "blocks (default) | related | parent-child | discovered-from"},
    "reason": {"close": "default 'Completed'", "reopen": "why"},
    "action": {"*": "set | show | init (default: set with workspace_root, else show)"},
    "prefix": {"*": "issue ID prefix for init"},
    "issue_ids": {"*": "IDs to reopen"},
}

QUICKSTART = """# bd (beads) quickstart for agents

Issues live in the repository (.beads/issues.jsonl, tracked in git); dependencies decide what is ready.

1. context(workspace_root="/path/to/project")   # once per project; context(action="init") if none yet
2. ready()                                      # unblocked work, highest priority first
3. claim(issue_id="bd-a1b2")                     # assignee = you, status = in_progress
4. create(title="Found a bug", issue_type="bug", deps=["discovered-from:bd-a1b2"])
5. close(issue_id="bd-a1b2", reason="Done")      # what it blocked becomes ready
6. dep(issue_id="bd-c3d4", depends_on_id="bd-a1b2")   # bd-c3d4 waits for bd-a1b2

Types: bug feature task epic chore. Priorities: 0 (critical) .. 4 (backlog).
Dependency types: blocks (default), parent-child, related, discovered-from.
Every tool takes workspace_root to work on another project in the same session.
Outputs are compact: show(issue_id) for the full issue; brief=true or fields=[...] for less.
discover_tools() lists the tools, get_tool_info(name) their parameters.
"""

INSTRUCTIONS = ("bd (beads): dependency-aware issue tracker. Start with context(workspace_root=...), then "
                "ready(), claim(), close(). Read beads://quickstart; discover_tools()/get_tool_info() "
                "give the parameters.")

COMPACT_OVER = 20
PREVIEW = 5

ISSUE_FIELDS = frozenset((
    "id", "title", "description", "design", "acceptance_criteria", "notes", "external_ref", "status", "priority",
    "issue_type", "created_at", "updated_at", "closed_at", "close_reason", "assignee", "labels", "dependency_count",
    "dependent_count", "dependencies", "dependents", "parent", "comments", "blocked_by", "blocked_by_count"))
_MINIMAL = ("id", "title", "status", "priority", "issue_type", "assignee", "labels", "dependency_count",
            "dependent_count")
_BRIEF = ("id", "title", "status", "priority")


# Accepted by the tools but left out of the listed schemas (lazy discovery keeps the tool list
# under 3 KB): get_tool_info(name) lists every parameter. ``full=True`` lists them all.
LAZY = frozenset(("workspace_root", "brief", "brief_deps", "fields", "max_description_length", "labels_any",
                  "sort_policy", "design", "acceptance", "external_ref", "acceptance_criteria", "notes", "id",
                  "unassigned"))


def input_schema(name: str, *, full: bool = False) -> dict[str, Any]:
    """The tool's JSON Schema: types only (get_tool_info has the words), the common parameters only
    unless ``full`` (additional properties stay allowed, so the others are accepted all the same)."""
    _, params, required = TOOLS[name]
    schema: dict[str, Any] = {"type": "object", "properties": {
        p: _KIND_SCHEMA[k] for p, k in params.items() if full or p not in LAZY or name == "context"}}
    if required:
        schema["required"] = list(required)
    return schema


def tool_info(name: str) -> dict[str, Any]:
    if name not in TOOLS:
        raise InvalidInput(f"unknown tool {name!r}; discover_tools() lists them")
    description, params, required = TOOLS[name]
    out: dict[str, Any] = {}
    for p, kind in params.items():
        words = _DETAILS.get(p, {})
        text = words.get(name) or words.get("*") or ""
        out[p] = f"{_KIND_NAME[kind]}{' (required)' if p in required else ''}{' - ' + text if text else ''}"
    return {"name": name, "description": description, "parameters": out}


# -- argument checking ---------------------------------------------------------------------------


def check_args(name: str, args: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments, type-checked; ``InvalidInput`` (a tool error) for anything wrong."""
    if name not in TOOLS:
        raise InvalidInput(f"unknown tool {name!r}; discover_tools() lists them")
    _, params, required = TOOLS[name]
    args = dict(args or {})
    unknown = sorted(set(args) - set(params))
    if unknown:
        raise InvalidInput(f"{name}: unknown argument(s) {', '.join(unknown)}; valid: {', '.join(params) or 'none'}")
    for key, value in list(args.items()):
        if value is None:
            del args[key]
            continue
        kind = params[key]
        ok = (isinstance(value, str) if kind == "s"
              else isinstance(value, int) and not isinstance(value, bool) if kind == "i"
              else isinstance(value, bool) if kind == "b"
              else isinstance(value, list) and all(isinstance(v, str) for v in value))
        if not ok:
            raise InvalidInput(f"{name}: argument {key!r} must be {_KIND_NAME[kind]}, not {type(value).__name__}")
    if args.get("fields"):
        _project({}, args["fields"])  # an unknown field is an error even when nothing matches
    missing = [p for p in required if p not in args or args[p] in ("", [])]
    if missing:
        raise InvalidInput(f"{name}: missing required argument(s) {', '.join(missing)}")
    return args


# -- output shaping --------------------------------------------------------------------------------


def _cut(issue: dict[str, Any], limit: int | None) -> dict[str, Any]:
    if limit is not None:
        if limit < 0:
            raise InvalidInput("max_description_length must be >= 0")
        text = issue.get("description")
        if isinstance(text, str) and len(text) > limit:
            issue = {**issue, "description": text[:limit] + "..."}
    return issue


def _project(issue: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    bad = sorted(set(fields) - ISSUE_FIELDS)
    if bad:
        raise InvalidInput(f"invalid field(s) {', '.join(bad)}; valid: {', '.join(sorted(ISSUE_FIELDS))}")
    return {f: issue.get(f) for f in fields}


def _pick(issue: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: issue[k] for k in keys if issue.get(k) not in (None, "", [])}


def shape_list(issues: list[dict[str, Any]], args: dict[str, Any], what: str) -> Any:
    limit = args.get("max_description_length")
    issues = [_cut(i, limit) for i in issues]
    if args.get("brief"):
        return [_pick(i, _BRIEF) for i in issues]
    if args.get("fields"):
        return [_project(i, args["fields"]) for i in issues]
    minimal = [_pick(i, _MINIMAL) for i in issues]
    if len(minimal) > COMPACT_OVER:
        return {"compacted": True, "total_count": len(minimal), "preview": minimal[:PREVIEW],
                "preview_count": PREVIEW,
                "hint": f"Showing {PREVIEW} of {len(minimal)} {what}. Add filters, or fields/brief, or a lower limit."}
    return minimal


def _brief_dep(d: dict[str, Any]) -> dict[str, Any]:
    return {**_pick(d, _BRIEF), "dependency_type": d.get("dependency_type", "")}


# -- the service -------------------------------------------------------------------------------------


class Service:
    """The tools over one or more workspaces (a per-call ``workspace_root`` picks one)."""

    def __init__(self, root: str | None = None, actor: str | None = None) -> None:
        self.root = os.path.abspath(root) if root else None
        self.fixed_actor = actor  # --actor; else resolved per workspace (beads.sync.identity)
        self.warnings: list[str] = []
        self.table: dict[str, Callable[[dict[str, Any]], Any]] = {
            "ready": self.ready, "list": self.list, "show": self.show, "create": self.create, "claim": self.claim,
            "update": self.update, "close": self.close, "reopen": self.reopen, "dep": self.dep,
            "stats": self.stats, "blocked": self.blocked, "context": self.context,
            "discover_tools": self.discover_tools, "get_tool_info": self.get_tool_info,
        }

    def call(self, name: str, args: dict[str, Any] | None) -> Any:
        """Run one tool; ``BdError`` (a tool error for the client) when it cannot."""
        checked = check_args(name, args)
        return self.table[name](checked)

    # -- workspaces ---------------------------------------------------------------------------

    def workspace(self, root: str | None) -> Workspace:
        from beads.core.workspace import Workspace, discover, find_beads_dir, follow_redirect
        from beads.errors import NoWorkspace

        root = root or self.root
        if root is None:
            return discover()
        root = os.path.abspath(os.path.expanduser(root))
        if not os.path.isdir(root):
            raise InvalidInput(f"workspace_root {root} is not a directory")
        found = find_beads_dir(root)
        if found is None:
            raise NoWorkspace(f"no beads workspace at {root}", hint="context(action='init', workspace_root=...)")
        target, redirected = follow_redirect(found)
        return Workspace(target, redirected_from=redirected)

    def run(self, args: dict[str, Any], op: str, work: Callable[[Tracker], Any], *, write: bool = False) -> Any:
        """``work(tracker)`` through the write barrier: auto-import before, flush after a write."""
        from beads.core.config import load_yaml, truthy
        from beads.sync.barrier import Barrier

        ws = self.workspace(args.get("workspace_root"))
        config = load_yaml(ws.config_yaml_path) if os.path.exists(ws.config_yaml_path) else {}
        no_db = truthy(config["no-db"]) if config.get("no-db") is not None else False
        actor = self.actor(ws, config)
        barrier = Barrier(ws, actor=actor, no_db=no_db, command=op,
                          prefix=str(config.get("issue-prefix") or "") or None if no_db else None,
                          import_warning=self.warnings.append)
        try:
            tracker = barrier.writer(op) if write else barrier.tracker()
            if write:
                from beads.sync.identity import resolve_owner

                tracker.actor = actor
                tracker.owner = resolve_owner(ws.root) or ""
            result = work(tracker)
            barrier.finish(self.warnings.append)
            return result
        finally:
            barrier.close()

    def actor(self, ws: Workspace | None = None, config: dict[str, Any] | None = None) -> str:
        """--actor, BD_ACTOR, config ``actor``, BEADS_ACTOR, git's user.name, $USER, unknown."""
        from beads.sync.identity import resolve_actor

        configured = str((config or {}).get("actor") or "") or None
        return resolve_actor(self.fixed_actor, configured, ws.root if ws is not None else self.root)

    # -- tools ----------------------------------------------------------------------------------

    def discover_tools(self, args: dict[str, Any]) -> Any:
        return {"tools": {n: d for n, (d, _, _) in TOOLS.items()}, "count": len(TOOLS),
                "hint": "get_tool_info(tool_name) gives a tool's parameters"}

    def get_tool_info(self, args: dict[str, Any]) -> Any:
        return tool_info(args["tool_name"])

    def ready(self, args: dict[str, Any]) -> Any:
        from beads.query import ReadyFilter

        limit = args.get("limit", 10)
        if limit < 0:
            raise InvalidInput("limit must be >= 0")
        filt = ReadyFilter(limit=limit, priority=args.get("priority"), assignee=args.get("assignee"),
                           unassigned=bool(args.get("unassigned")), labels=args.get("labels", []),
                           labels_any=args.get("labels_any", []), sort_policy=args.get("sort_policy") or "hybrid")

        def work(t: Tracker) -> Any:
            issues = t.ready(filt)
            if not args.get("brief"):
                counts = t.store.dependency_counts([i["id"] for i in issues]) if issues else {}
                for i in issues:
                    i["dependency_count"], i["dependent_count"] = counts.get(i["id"], (0, 0))
            return issues

        return shape_list(self.run(args, "ready", work), args, "ready issues")

    def list(self, args: dict[str, Any]) -> Any:
        from beads import model
        from beads.query import IssueFilter

        limit = args.get("limit", 20)
        if limit < 0:
            raise InvalidInput("limit must be >= 0")
        status = args.get("status")
        if status is not None:
            model.validate_status(status, [])
        filt = IssueFilter(limit=limit, statuses=[status] if status else None, priority=args.get("priority"),
                           assignee=args.get("assignee"), no_assignee=bool(args.get("unassigned")),
                           labels=args.get("labels", []), labels_any=args.get("labels_any", []),
                           issue_types=[args["issue_type"]] if args.get("issue_type") else None,
                           title_contains=args.get("query"))
        return shape_list(self.run(args, "list", lambda t: t.list(filt)), args, "issues")

    def show(self, args: dict[str, Any]) -> Any:
        issue = _cut(self.run(args, "show", lambda t: t.show(args["issue_id"])), args.get("max_description_length"))
        if args.get("brief"):
            return _pick(issue, _BRIEF)
        if args.get("fields"):
            return _project(issue, args["fields"])
        if args.get("brief_deps"):
            for key in ("dependencies", "dependents"):
                if key in issue:
                    issue[key] = [_brief_dep(d) for d in issue[key]]
        return issue

    def _answer(self, issue: dict[str, Any], action: str, brief: bool, message: str | None = None) -> Any:
        if not brief:
            return issue
        out = {"id": issue["id"], "action": action}
        if message:
            out["message"] = message
        return out

    def create(self, args: dict[str, Any]) -> Any:
        fields: dict[str, Any] = {"description": args.get("description", ""),
                                  "priority": args.get("priority", 2),
                                  "issue_type": args.get("issue_type", "task")}
        for key, field in (("design", "design"), ("acceptance", "acceptance_criteria"),
                           ("external_ref", "external_ref"), ("assignee", "assignee"), ("id", "id")):
            if args.get(key):
                fields[field] = args[key]
        if args.get("labels"):
            fields["labels"] = args["labels"]
        if args.get("deps"):
            fields["dependencies"] = args["deps"]

        def work(t: Tracker) -> Any:
            created = t.create(args["title"], **fields)
            return t.show(created["id"]) if args.get("brief") is False else {"id": created["id"]}

        return self._answer(self.run(args, "create", work, write=True), "created", args.get("brief", True))

    def claim(self, args: dict[str, Any]) -> Any:
        issue = self.run(args, "update", lambda t: t.issues_json([t.claim(args["issue_id"])["id"]])[0], write=True)
        return self._answer(issue, "claimed", args.get("brief", True))

    def update(self, args: dict[str, Any]) -> Any:
        if args.get("status") == "closed":
            closed = self.close({"issue_id": args["issue_id"], "reason": "Closed via update",
                                 "workspace_root": args.get("workspace_root"), "brief": args.get("brief", True)})
            return closed[0]
        changes = {k: args[k] for k in ("status", "priority", "assignee", "title", "description", "design",
                                        "acceptance_criteria", "notes", "external_ref") if k in args}
        if not changes:
            raise InvalidInput("update: nothing to change (give status, priority, assignee, title, ...)")
        issue = self.run(args, "update",
                         lambda t: t.issues_json([t.update(args["issue_id"], **changes)["id"]])[0], write=True)
        return self._answer(issue, "updated", args.get("brief", True))

    def close(self, args: dict[str, Any]) -> Any:
        reason = args.get("reason") or "Completed"
        issue = self.run(args, "close", lambda t: t.issues_json([t.close(args["issue_id"], reason)["id"]])[0],
                         write=True)
        return [self._answer(issue, "closed", args.get("brief", True), reason)]

    def reopen(self, args: dict[str, Any]) -> Any:
        reason = args.get("reason")

        def work(t: Tracker) -> Any:
            ids = [t.reopen(i, reason)["id"] for i in args["issue_ids"]]
            return t.issues_json(ids)

        issues = self.run(args, "reopen", work, write=True)
        return [self._answer(i, "reopened", args.get("brief", True), reason) for i in issues]

    def dep(self, args: dict[str, Any]) -> Any:
        dep_type = args.get("dep_type") or "blocks"

        def work(t: Tracker) -> str:
            a, b = t.resolve_id(args["issue_id"]), t.resolve_id(args["depends_on_id"])
            t.add_dependency(a, b, dep_type)
            return f"Added dependency: {a} depends on {b} ({dep_type})"

        return self.run(args, "dep", work, write=True)

    def stats(self, args: dict[str, Any]) -> Any:
        return self.run(args, "stats", lambda t: t.stats())

    def blocked(self, args: dict[str, Any]) -> Any:
        def work(t: Tracker) -> Any:
            issues = t.blocked()
            if args.get("brief"):
                return [{**_pick(i, _BRIEF), "blocked_by": i.get("blocked_by", [])} for i in issues]
            if args.get("brief_deps"):
                return [{**_pick(i, _MINIMAL), "blocked_by": i.get("blocked_by", []),
                         "blocked_by_count": i.get("blocked_by_count", 0)} for i in issues]
            return issues

        return self.run(args, "blocked", work)

    def context(self, args: dict[str, Any]) -> Any:
        action = (args.get("action") or ("set" if args.get("workspace_root") else "show")).lower()
        if action == "set":
            root = args.get("workspace_root")
            if not root:
                raise InvalidInput("context: workspace_root is required for action 'set'")
            root = os.path.abspath(os.path.expanduser(root))
            if not os.path.isdir(root):
                raise InvalidInput(f"workspace_root {root} is not a directory")
            self.root = _git_root(root) or root
            return self._describe("Context set")
        if action == "show":
            return self._describe("Context")
        if action == "init":
            root = args.get("workspace_root") or self.root
            if not root:
                raise InvalidInput("context: set the workspace first (context(workspace_root=...)) or give it here")
            self.root = os.path.abspath(os.path.expanduser(root))
            return self._init(self.root, args.get("prefix"))
        raise InvalidInput(f"context: unknown action {action!r} (set, show, init)")

    def _describe(self, head: str) -> str:
        try:
            ws = self.workspace(None)
            db = ws.db_path if ws.db_exists() else "not found (context(action='init') creates it)"
        except BdError:
            db = "not found (context(action='init') creates it)"
        return f"{head}:\n  Workspace root: {self.root or os.getcwd()}\n  Database: {db}\n  Actor: {self.actor()}"

    def _init(self, root: str, prefix: str | None) -> str:
        from beads.core.setup import init_workspace, is_initialized
        from beads.errors import Conflict

        target = os.path.join(root, ".beads", "beads.db")
        if is_initialized(target):
            raise Conflict(f"bd is already initialized in {root}")
        ws = init_workspace(root, prefix=prefix)
        from beads.storage.sqlite.store import SqliteStore

        store = SqliteStore(ws.db_path, create=False)
        try:
            used = store.get_config("issue_prefix") or ""
        finally:
            store.close()
        return f"Initialized beads in {root}\n  Database: {ws.db_path}\n  Prefix: {used}"


def _git_root(path: str) -> str | None:
    """The enclosing git checkout's root, found without running git."""
    current = path
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
