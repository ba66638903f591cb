"""The Tracker: every use-case of the issue tracker, behind one API.

The CLI (direct mode), the daemon (behind RPC), the MCP server and library users all
call these methods. Each write is one storage transaction that also records the
audit event, marks the touched issues dirty for the JSONL export and, when
blockedness may have changed, rebuilds the blocked cache before it commits.
Dependency use-cases live in ``core.graph``; read models in ``core.views``.
"""

from __future__ import annotations

import json
import os
import re
import time

from beads import ids as idgen
from beads import model, timefmt
from beads.core.graph import GraphOps
from beads.core.views import Views
from beads.errors import Ambiguous, Conflict, InvalidInput, NotFound, NotInitialized
from beads.query import ReadyFilter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from beads.core.workspace import Workspace
    from beads.model import Issue
    from beads.storage.sqlite.store import SqliteStore

# Fields `update` may change (JSON keys). Status/labels/parent are handled on their own.
UPDATABLE = frozenset((
    "title", "description", "design", "acceptance_criteria", "notes", "status", "priority", "issue_type",
    "assignee", "owner", "external_ref", "estimated_minutes", "due_at", "defer_until", "pinned",
    "closed_by_session", "sender", "await_type", "await_id", "hook_bead", "role_bead", "agent_state",
    "last_activity", "role_type", "rig", "mol_type", "work_type", "source_system", "is_template", "ephemeral",
))
_TEXT_FIELDS = ("description", "design", "acceptance_criteria", "notes")

_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,30}")
_RESERVED_NAMESPACES = frozenset(("sqlite", "bd", "beads", "issues", "dependencies", "labels", "comments", "events",
                                  "config", "metadata", "dirty", "export", "child", "blocked", "compaction", "repo",
                                  "issue", "schema", "stats"))

NOT_INITIALIZED = "database not initialized: issue_prefix config is missing (run 'bd init --prefix <prefix>' first)"


def default_actor(store: SqliteStore | None = None) -> str:
    env = os.environ.get("BD_ACTOR")
    if env:
        return env
    if store is not None:
        configured = store.get_config("actor")
        if configured:
            return configured
    return os.environ.get("BEADS_ACTOR") or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


class Tracker(GraphOps, Views):
    """Use-cases over one storage. Not shared between threads: open one per thread."""

    def __init__(self, store: SqliteStore, *, actor: str | None = None, workspace: Workspace | None = None) -> None:
        self.store = store
        self.actor = actor or default_actor(store)
        self.owner: str | None = None  # v0.47 ``owner`` stamped on new issues (the CLI sets git's user.email)
        self.workspace = workspace
        self._cache_stale = False  # rebuild the blocked cache in full at commit
        self._cache_seeds: set[str] = set()  # or recompute these issues and their descendants

    # -- lifecycle ----------------------------------------------------------------------

    def disconnect(self) -> None:
        """Close the database connection (``close`` closes issues)."""
        self.store.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def write(self) -> Any:
        """A write transaction that rebuilds the blocked cache before commit when needed."""
        return _Write(self)

    # -- configuration ---------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        prefix = self.store.get_config("issue_prefix")
        if not prefix:
            raise NotInitialized(NOT_INITIALIZED)
        return prefix

    def get_config(self, key: str) -> str | None:
        return self.store.get_config(key)

    def set_config(self, key: str, value: str) -> None:
        if key == "issue_prefix":
            value = value.rstrip("-")
            if not value:
                raise InvalidInput("issue_prefix cannot be empty")
        self.store.set_config(key, value)

    def unset_config(self, key: str) -> bool:
        return self.store.delete_config(key)

    def all_config(self) -> dict[str, str]:
        return self.store.all_config()

    def custom_statuses(self) -> list[str]:
        return _csv(self.store.get_config("status.custom"))

    def custom_types(self) -> list[str]:
        return _csv(self.store.get_config("types.custom"))

    # -- ID resolution ------------------------------------------------------------------------

    def resolve_id(self, text: str) -> str:
        """Exact ID → ``<prefix>-<text>`` → unique hash-part match (spec §5 ★)."""
        text = (text or "").strip()
        if not text:
            raise InvalidInput("issue ID is required")
        store = self.store
        if store.issue_exists(text):
            return text
        prefix = store.get_config("issue_prefix") or ""
        if prefix and not text.startswith(prefix + "-") and store.issue_exists(f"{prefix}-{text}"):
            return f"{prefix}-{text}"
        fragment = text
        if prefix and text.startswith(prefix + "-"):
            fragment = text[len(prefix) + 1:]
        candidates = store.find_ids_containing(fragment)
        exact = [c for c in candidates if idgen.hash_part(c) == fragment]
        if len(exact) == 1:
            return exact[0]
        matches = [c for c in candidates if fragment in idgen.hash_part(c)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFound(f'no issue found matching "{text}"')
        raise Ambiguous(f'ambiguous ID "{text}" matches {len(matches)} issues: [{" ".join(matches)}]')

    def get(self, issue_id: str, *, resolve: bool = True) -> Issue:
        real = self.resolve_id(issue_id) if resolve else issue_id
        issue = self.store.get_issue(real)
        if issue is None:
            raise NotFound(f"issue {issue_id} not found")
        return issue

    # -- create ---------------------------------------------------------------------------------

    def create(self, title: str, **fields: Any) -> Issue:
        """Create one issue. See ``create_many`` for the accepted fields."""
        return self.create_many([{"title": title, **fields}])[0]

    def create_many(self, specs: list[dict[str, Any]]) -> list[Issue]:
        """Create several issues in one transaction; IDs are never reused within the batch.

        Each spec accepts the issue's JSON fields (``title``, ``description``, ``priority``,
        ``issue_type``, ``assignee``, ``labels``…) plus ``id`` (explicit ID), ``parent``
        (hierarchical child), ``dependencies`` (``"type:id"`` strings or ``(type, id)``
        pairs; a bare ID means ``blocks``) and ``force`` (accept a foreign prefix).
        """
        with self.write():
            prefix = self.prefix
            batch = _Batch(self, prefix, len(specs))
            created = [self._create_one(dict(spec), batch) for spec in specs]
            batch.flush()
        return created

    def _create_one(self, spec: dict[str, Any], batch: _Batch) -> Issue:
        store = self.store
        title = model.validate_title(spec.pop("title", None))
        explicit_id = spec.pop("id", None) or None
        parent = spec.pop("parent", None) or None
        deps = spec.pop("dependencies", None) or []
        labels = spec.pop("labels", None) or []
        force = bool(spec.pop("force", False))
        comments = spec.pop("comments", None) or []
        now_ns = time.time_ns()
        now = timefmt.format_ns(now_ns)
        issue = model.new_issue(title=title, created_at=now, updated_at=now, created_by=self.actor)
        if self.owner:
            issue["owner"] = self.owner
        for key, value in spec.items():
            if value is None:
                continue
            issue[key] = value
        issue["priority"] = model.parse_priority(issue["priority"])
        issue["status"] = model.validate_status(issue["status"] or model.STATUS_OPEN, batch.statuses)
        if issue["status"] == model.STATUS_TOMBSTONE:
            raise InvalidInput("cannot create an issue with status tombstone")
        issue["issue_type"] = model.validate_issue_type(issue["issue_type"] or "task", batch.types)
        if issue["status"] == model.STATUS_CLOSED and not issue.get("closed_at"):
            issue["closed_at"] = now
        if issue["status"] != model.STATUS_CLOSED:
            issue["closed_at"] = None
        est = issue.get("estimated_minutes")
        if est is not None and (not isinstance(est, int) or est < 0):
            raise InvalidInput("estimated_minutes cannot be negative")
        if explicit_id and parent:
            raise InvalidInput("cannot specify both --id and --parent flags")
        if parent:
            parent_id = self.resolve_id(parent)
            if idgen.hierarchy_depth(parent_id) >= idgen.MAX_HIERARCHY_DEPTH:
                raise InvalidInput(
                    f"maximum hierarchy depth ({idgen.MAX_HIERARCHY_DEPTH}) exceeded for parent {parent_id}")
            while True:
                candidate = f"{parent_id}.{store.next_child_number(parent_id)}"
                if not store.issue_exists(candidate) and candidate not in batch.used:
                    break
            issue["id"] = candidate
            deps = [(model.DEP_PARENT_CHILD, parent_id), *deps]
        elif explicit_id:
            issue["id"] = self._check_explicit_id(explicit_id, batch.prefix, force, issue["issue_type"])
            if issue["id"] in batch.used or store.issue_exists(issue["id"]):
                raise Conflict(f"issue {issue['id']} already exists")
            explicit_parent = idgen.parent_of(issue["id"])
            if explicit_parent:
                parent_id = explicit_parent
                number = int(issue["id"].rpartition(".")[2])
                if store.issue_exists(parent_id) or parent_id in batch.used:
                    store.bump_child_counter(parent_id, number)
        else:
            issue["id"] = batch.mint(title, issue["description"], now_ns)
        batch.used.add(issue["id"])
        ext = issue.get("external_ref")
        if ext and store.find_by_external_ref(ext):
            raise Conflict(f"external_ref {ext!r} is already used by {store.find_by_external_ref(ext)}")
        stored = store.insert_issue(issue, model.content_hash(issue))
        # events, labels and dirty marks are written together at the end of the batch
        batch.events.append((issue["id"], "created", self.actor, None, _compact(model.to_wire(issue)), None, now))
        batch.labels.extend((issue["id"], label) for label in _clean_labels(labels))
        batch.dirty.append((issue["id"], now))
        if deps:
            batch.flush()  # "created" before "dependency_added" in the audit trail
        for dep in deps:
            # a "type:id" string, or a (type, id) / (type, id, metadata JSON) tuple
            dep_type, target, *meta = parse_dep_spec(dep) if isinstance(dep, str) else dep
            target_id = target if target.startswith("external:") else self._resolve_in_batch(target, batch)
            self._add_dependency(issue["id"], target_id, dep_type, meta[0] if meta else None, now,
                                 check_hierarchy=False)
        for comment in comments:
            store.add_comment(issue["id"], comment.get("author") or self.actor, comment["text"],
                              comment.get("created_at") or timefmt.now_utc())
        return stored

    def _resolve_in_batch(self, text: str, batch: _Batch) -> str:
        if text in batch.used:
            return text
        return self.resolve_id(text)

    def _check_explicit_id(self, issue_id: str, prefix: str, force: bool, issue_type: str) -> str:
        if "-" not in issue_id:
            raise InvalidInput(f"invalid ID format '{issue_id}': must contain a '-' (e.g. {prefix}-abc)")
        model.validate_id(issue_id)  # the same syntax every JSONL import checks
        if not force:
            got = issue_id.split("-", 1)[0]
            if not (issue_id.startswith(prefix + "-") or got == prefix):
                raise InvalidInput(
                    f"prefix mismatch: database uses '{prefix}' but you specified '{got}' (use --force to override)")
        parent = idgen.parent_of(issue_id)
        if parent and idgen.hierarchy_depth(issue_id) > idgen.MAX_HIERARCHY_DEPTH:
            raise InvalidInput(f"maximum hierarchy depth ({idgen.MAX_HIERARCHY_DEPTH}) exceeded for {issue_id}")
        return issue_id

    def _fresh(self, issue_id: str) -> Issue:
        issue = self.store.get_issue(issue_id)
        if issue is None:  # pragma: no cover - we just wrote it
            raise NotFound(f"issue {issue_id} not found")
        return issue

    # -- update / claim / close / reopen -----------------------------------------------------------

    def update(self, issue_id: str, *, add_labels: Iterable[str] = (), remove_labels: Iterable[str] = (),
               set_labels: Iterable[str] | None = None, parent: str | None = None, **changes: Any) -> Issue:
        """Change fields of one issue. ``parent=""`` removes the parent edge."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise InvalidInput(f"invalid field for update: {', '.join(sorted(unknown))}")
        with self.write():
            issue = self.get(issue_id)
            real = issue["id"]
            if issue.get("is_template") and changes:
                raise InvalidInput(f"cannot update template {real}: templates are read-only")
            self._apply_changes(issue, changes)
            now = timefmt.now()
            for label in _clean_labels(add_labels):
                self._add_label(real, label, now)
            for label in _clean_labels(remove_labels):
                self._remove_label(real, label, now)
            if set_labels is not None:
                wanted = set(_clean_labels(set_labels))
                current = set(self.store.labels_of(real))
                for label in sorted(current - wanted):
                    self._remove_label(real, label, now)
                for label in sorted(wanted - current):
                    self._add_label(real, label, now)
            if parent is not None:
                self._set_parent(real, parent, now)
            if add_labels or remove_labels or set_labels is not None or parent is not None:
                self._touch(real, now)
        return self._fresh(real)

    def _apply_changes(self, issue: Issue, changes: dict[str, Any]) -> None:
        if not changes:
            return
        store = self.store
        real = issue["id"]
        old = dict(issue)
        now = timefmt.now()
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "title":
                value = model.validate_title(value)
            elif key == "priority":
                value = model.parse_priority(value)
            elif key == "status":
                if value == model.STATUS_TOMBSTONE:
                    raise InvalidInput("cannot set status to tombstone: use 'bd delete' instead")
                value = model.validate_status(value, self.custom_statuses())
            elif key == "issue_type":
                value = model.validate_issue_type(value, self.custom_types())
            elif key == "estimated_minutes" and value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInput("estimated_minutes cannot be negative")
            elif key == "external_ref":
                value = value or None
                if value:
                    owner = store.find_by_external_ref(value)
                    if owner and owner != real:
                        raise Conflict(f"external_ref {value!r} is already used by {owner}")
            values[key] = value
        new_status = values.get("status", old["status"])
        if "status" in values and new_status != old["status"]:
            if new_status == model.STATUS_CLOSED:
                values["closed_at"] = now
            elif old["status"] == model.STATUS_CLOSED:
                values["closed_at"] = None
                values["close_reason"] = ""
        values["updated_at"] = timefmt.after(now, old.get("updated_at"))
        issue.update(values)
        store.update_issue(real, values, model.content_hash(issue), issue)
        if "status" in values and new_status != old["status"]:
            event = ("closed" if new_status == model.STATUS_CLOSED
                     else "reopened" if old["status"] == model.STATUS_CLOSED else "status_changed")
            self._blocker_changed(real, old, issue)
        else:
            event = "updated"
        store.add_event(real, event, self.actor, now, old_value=_compact(model.to_wire(old)),
                        new_value=_compact({k: v for k, v in changes.items()}))
        store.mark_dirty([real], now)

    def claim(self, issue_id: str) -> Issue:
        """Atomically take an issue: assignee = actor, status = in_progress; fails if someone has it."""
        with self.write():
            issue = self.get(issue_id)
            holder = issue.get("assignee") or ""
            if holder and holder != self.actor:
                raise Conflict(f"issue {issue['id']} is already claimed by {holder}")
            if issue["status"] in (model.STATUS_CLOSED, model.STATUS_TOMBSTONE):
                raise Conflict(f"cannot claim {issue['id']}: issue is {issue['status']}")
            self._apply_changes(issue, {"assignee": self.actor, "status": model.STATUS_IN_PROGRESS})
        return self._fresh(issue["id"])

    def claim_next(self, filt: ReadyFilter | None = None, *,
                   skip: Callable[[Issue], bool] | None = None) -> Issue | None:
        """Atomically take the next ready issue nobody holds, or return None when there is none.

        In one write transaction (so concurrent processes never take the same issue): the
        first issue of ``ready`` (the tracker's ready rules; ``filt`` narrows them, default
        order ``priority``) that is ``open``, not assigned to someone other than the actor
        and not refused by ``skip``, set to ``in_progress`` with assignee = actor.
        """
        base = {name: getattr(filt, name) for name in filt.__slots__} if filt is not None else {"sort_policy": "priority"}
        base.update(status=model.STATUS_OPEN)
        page = 16
        with self.write():
            while True:
                candidates = self.ready(ReadyFilter(**{**base, "limit": page}))
                for issue in candidates:
                    holder = issue.get("assignee") or ""
                    if holder and holder != self.actor:
                        continue
                    if skip is not None and skip(issue):
                        continue
                    self._apply_changes(self.get(issue["id"], resolve=False),
                                        {"assignee": self.actor, "status": model.STATUS_IN_PROGRESS})
                    return self._fresh(issue["id"])
                if len(candidates) < page:
                    return None
                page *= 4

    def migrate(self, namespace: str, migrations: Sequence[str]) -> int:
        """Bring an application's own tables up to date: its numbered migrations, in one transaction.

        ``migrations[0]`` is version 1, ``migrations[1]`` version 2, ...; each is a SQL script.
        The version reached is kept per ``namespace`` in the database, so each migration runs
        once per database, and every table, index, view or trigger it creates must be named
        ``<namespace>_...`` (beads never touches those). Returns the version now in place.
        """
        if not _NAMESPACE.fullmatch(namespace or ""):
            raise InvalidInput(f"invalid namespace {namespace!r}: use lower-case letters, digits and '_'")
        if namespace in _RESERVED_NAMESPACES:
            raise InvalidInput(f"namespace {namespace!r} is reserved by beads")
        if self.store.extension_version(namespace) == len(migrations):
            return len(migrations)  # up to date: no write transaction (read-only databases work too)
        with self.write():
            current = self.store.extension_version(namespace)
            if current > len(migrations):
                raise Conflict(f"the database has {namespace} schema version {current}, newer than this "
                               f"application's {len(migrations)}", hint="upgrade the application")
            for version in range(current + 1, len(migrations) + 1):
                strays = self.store.apply_extension_migration(namespace, version, migrations[version - 1])
                if strays:
                    raise InvalidInput(f"{namespace} migration {version} creates {', '.join(strays)}: "
                                       f"names must start with '{namespace}_'")
        return max(current, len(migrations))

    def extension_version(self, namespace: str) -> int:
        """The schema version ``migrate`` last reached for ``namespace`` (0: never migrated)."""
        return self.store.extension_version(namespace)

    def close(self, issue_id: str, reason: str | None = None, *, force: bool = False,
              session: str | None = None) -> Issue:
        reason = reason or "Closed"
        with self.write():
            issue = self.get(issue_id)
            real = issue["id"]
            if issue.get("is_template"):
                raise InvalidInput(f"cannot close template {real}: templates are read-only")
            if issue["status"] == model.STATUS_TOMBSTONE:
                raise InvalidInput(f"cannot close {real}: issue is deleted")
            if (issue.get("pinned") or issue["status"] == model.STATUS_PINNED) and not force:
                raise InvalidInput(f"cannot close pinned issue {real} (use --force to override)")
            now = timefmt.now()
            old = dict(issue)
            values: dict[str, Any] = {"status": model.STATUS_CLOSED, "closed_at": now,
                                      "updated_at": timefmt.after(now, issue.get("updated_at")), "close_reason": reason}
            if session:
                values["closed_by_session"] = session
            issue.update(values)
            self.store.update_issue(real, values, model.content_hash(issue), issue)
            self.store.add_event(real, "closed", self.actor, now, old_value=_compact({"status": old["status"]}),
                                 comment=reason)
            self.store.mark_dirty([real], now)
            self._blocker_changed(real, old, issue)
        return self._fresh(real)

    def reopen(self, issue_id: str, reason: str | None = None) -> Issue:
        with self.write():
            issue = self.get(issue_id)
            real = issue["id"]
            if issue["status"] == model.STATUS_TOMBSTONE:
                raise InvalidInput(f"cannot reopen {real}: issue is deleted")
            now = timefmt.now()
            values = {"status": model.STATUS_OPEN, "closed_at": None, "close_reason": "",
                      "updated_at": timefmt.after(now, issue.get("updated_at"))}
            old = dict(issue)
            issue.update(values)
            self.store.update_issue(real, values, model.content_hash(issue), issue)
            self.store.add_event(real, "reopened", self.actor, now, comment=reason)
            self.store.mark_dirty([real], now)
            self._blocker_changed(real, old, issue)
        return self._fresh(real)

    # -- delete -------------------------------------------------------------------------------------

    def delete_plan(self, issue_ids: list[str], *, cascade: bool = False) -> dict[str, Any]:
        """What ``delete`` would do: the issues, the edges it removes, the issues left depending."""
        targets = [self.get(i)["id"] for i in issue_ids]
        chosen = list(dict.fromkeys(targets))
        if cascade:
            queue = list(chosen)
            while queue:
                current = queue.pop()
                for dep in self.store.dependents_of(current):
                    if dep["issue_id"] not in chosen:
                        chosen.append(dep["issue_id"])
                        queue.append(dep["issue_id"])
        chosen_set = set(chosen)
        edges: list[dict[str, Any]] = []
        seen = set()
        orphaned: set[str] = set()
        for issue_id in chosen:
            for dep in self.store.dependencies_of(issue_id) + self.store.dependents_of(issue_id):
                key = (dep["issue_id"], dep["depends_on_id"], dep["type"])
                if key not in seen:
                    seen.add(key)
                    edges.append(dep)
                if dep["depends_on_id"] == issue_id and dep["issue_id"] not in chosen_set:
                    orphaned.add(dep["issue_id"])
        return {"issues": chosen, "dependencies": edges, "orphaned": sorted(orphaned),
                "references": self._issues_referencing(chosen, edges)}

    def _issues_referencing(self, chosen: list[str], edges: list[dict[str, Any]]) -> list[str]:
        """Connected issues whose text mentions a deleted ID (what ``delete`` rewrites)."""
        chosen_set = set(chosen)
        hits: set[str] = set()
        for issue_id in chosen:
            pattern = reference_pattern(issue_id)
            neighbours = {d["issue_id"] for d in edges if d["depends_on_id"] == issue_id}
            neighbours |= {d["depends_on_id"] for d in edges if d["issue_id"] == issue_id}
            for other in sorted(neighbours - chosen_set - hits):
                issue = None if other.startswith("external:") else self.store.get_issue(other)
                if issue and any(pattern.search(issue.get(f) or "") for f in _TEXT_FIELDS):
                    hits.add(other)
        return sorted(hits)

    def delete(self, issue_ids: list[str], *, cascade: bool = False, hard: bool = False,
               reason: str | None = None) -> dict[str, Any]:
        """Tombstone (or with ``hard`` remove) issues; edges go, text references become ``[deleted:ID]``."""
        with self.write():
            plan = self.delete_plan(issue_ids, cascade=cascade)
            if not hard:
                for issue_id in plan["issues"]:
                    current = self.store.get_issue(issue_id)
                    if current is not None and current["status"] == model.STATUS_TOMBSTONE:
                        raise InvalidInput(f"issue {issue_id} is already deleted (use --hard to purge it)")
            now = timefmt.now()
            reason = reason or ("manual delete" if len(plan["issues"]) == 1 else "batch delete")
            deleted_set = set(plan["issues"])
            refs_updated = 0
            labels_removed = 0
            events_removed = 0
            touched: set[str] = set()
            for issue_id in plan["issues"]:
                removed = self.store.remove_all_dependencies_of(issue_id)
                self._cache_seeds.add(issue_id)  # its edges and its dependents' edges to it are gone
                for dep in removed:
                    self._edge_changed(dep["issue_id"], dep["type"])
                neighbours = {d["issue_id"] for d in removed} | {d["depends_on_id"] for d in removed}
                neighbours -= deleted_set
                neighbours = {n for n in neighbours if not n.startswith("external:")}
                refs_updated += self._rewrite_references(issue_id, neighbours, now)
                touched |= neighbours
                for source in {d["issue_id"] for d in removed} - deleted_set:
                    self._touch(source, now)  # its record lost an edge
            for issue_id in plan["issues"]:
                issue = self.store.get_issue(issue_id)
                if issue is None:
                    continue
                if hard or issue.get("ephemeral"):
                    labels_removed += len(self.store.labels_of(issue_id))
                    events_removed += len(self.store.events_of(issue_id))
                    self.store.delete_issue_row(issue_id)
                    continue
                values = {"status": model.STATUS_TOMBSTONE, "closed_at": None, "deleted_at": now,
                          "deleted_by": self.actor, "delete_reason": reason,
                          "original_type": issue["issue_type"], "updated_at": timefmt.after(now, issue.get("updated_at"))}
                issue.update(values)
                self.store.update_issue(issue_id, values, model.content_hash(issue), issue)
                self.store.add_event(issue_id, "deleted", self.actor, now, comment=reason)
                touched.add(issue_id)
            if touched:
                self.store.mark_dirty(sorted(touched), now)
        return {
            "deleted": plan["issues"],
            "deleted_count": len(plan["issues"]),
            "dependencies_removed": len(plan["dependencies"]),
            "labels_removed": labels_removed,
            "events_removed": events_removed,
            "references_updated": refs_updated,
            "orphaned_issues": [o for o in plan["orphaned"] if o not in deleted_set],
        }

    def _rewrite_references(self, deleted_id: str, neighbours: set[str], now: str) -> int:
        pattern = reference_pattern(deleted_id)
        count = 0
        for other in sorted(neighbours):
            issue = self.store.get_issue(other)
            if issue is None:
                continue
            changes = {}
            for field in _TEXT_FIELDS:
                text = issue.get(field) or ""
                new = pattern.sub(f"[deleted:{deleted_id}]", text)
                if new != text:
                    changes[field] = new
            if changes:
                changes["updated_at"] = timefmt.after(now, issue.get("updated_at"))
                issue.update(changes)
                self.store.update_issue(other, changes, model.content_hash(issue), issue)
                count += 1
        return count

    # -- labels and comments -------------------------------------------------------------------------

    def add_label(self, issue_id: str, label: str) -> bool:
        label = _one_label(label)
        with self.write():
            real = self.get(issue_id)["id"]
            now = timefmt.now()
            added = self._add_label(real, label, now)
            if added:
                self._touch(real, now)
        return added

    def remove_label(self, issue_id: str, label: str) -> bool:
        label = _one_label(label)
        with self.write():
            real = self.get(issue_id)["id"]
            now = timefmt.now()
            removed = self._remove_label(real, label, now)
            if removed:
                self._touch(real, now)
        return removed

    def _add_label(self, issue_id: str, label: str, now: str) -> bool:
        if not self.store.add_label(issue_id, label):
            return False
        self.store.add_event(issue_id, "label_added", self.actor, now, comment=f"Added label: {label}")
        self.store.mark_dirty([issue_id], now)
        return True

    def _remove_label(self, issue_id: str, label: str, now: str) -> bool:
        if not self.store.remove_label(issue_id, label):
            return False
        self.store.add_event(issue_id, "label_removed", self.actor, now, comment=f"Removed label: {label}")
        self.store.mark_dirty([issue_id], now)
        return True

    def _touch(self, issue_id: str, now: str) -> None:
        issue = self.store.get_issue(issue_id)
        if issue is not None:
            self.store.update_issue(issue_id, {"updated_at": timefmt.after(now, issue.get("updated_at"))},
                                    issue["_content_hash"] or model.content_hash(issue))

    def labels(self, issue_id: str) -> list[str]:
        return self.store.labels_of(self.get(issue_id)["id"])

    def label_counts(self) -> list[dict[str, Any]]:
        return [{"label": label, "count": n} for label, n in self.store.label_counts()]

    def add_comment(self, issue_id: str, text: str, author: str | None = None) -> dict[str, Any]:
        if not text or not text.strip():
            raise InvalidInput("comment text cannot be empty")
        with self.write():
            real = self.get(issue_id)["id"]
            now = timefmt.now_utc()
            comment = self.store.add_comment(real, author or self.actor, text, now)
            self.store.add_event(real, "commented", author or self.actor, now, comment=text)
            self.store.mark_dirty([real], now)
            self._touch(real, timefmt.now())  # a newer record is what carries the comment to other clones
        return comment

    def comments(self, issue_id: str) -> list[dict[str, Any]]:
        return self.store.comments_of(self.get(issue_id)["id"])

    def events(self, issue_id: str) -> list[dict[str, Any]]:
        return self.store.events_of(self.get(issue_id)["id"])


class _Write:
    """Transaction wrapper used by every Tracker write (see ``Tracker.write``)."""

    __slots__ = ("tracker", "tx")

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.tx = tracker.store.transaction()

    def __enter__(self) -> Tracker:
        self.tx.__enter__()
        return self.tracker

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        tracker = self.tracker
        try:
            if exc is None and tracker.store.db.depth == 1:
                if tracker._cache_stale:
                    tracker.store.rebuild_blocked_cache()
                elif tracker._cache_seeds:
                    tracker.store.refresh_blocked(sorted(tracker._cache_seeds))
                tracker._cache_stale = False
                tracker._cache_seeds.clear()
        except BaseException as err:
            self.tx.__exit__(type(err), err, None)
            raise
        finally:
            if exc is not None and tracker.store.db.depth == 1:
                tracker._cache_stale = False
                tracker._cache_seeds.clear()
        self.tx.__exit__(exc_type, exc, tb)


class _Batch:
    """State of one create transaction: ID minting, config read once, writes to do in bulk."""

    def __init__(self, tracker: Tracker, prefix: str, size: int) -> None:
        self.tracker = tracker
        self.prefix = prefix
        self.size = size
        self.used: set[str] = set()
        store = tracker.store
        self.min_len = _int_config(store, "min_hash_length", idgen.DEFAULT_MIN_LENGTH)
        self.max_len = _int_config(store, "max_hash_length", idgen.DEFAULT_MAX_LENGTH)
        try:
            self.max_prob = float(store.get_config("max_collision_prob") or idgen.DEFAULT_MAX_COLLISION_PROB)
        except ValueError:
            self.max_prob = idgen.DEFAULT_MAX_COLLISION_PROB
        # Adaptive ID length: the exact count of top-level IDs, or the length every minted ID
        # of this batch gets when the count is known to be past the last threshold that matters
        # (see ``_count``); neither is needed before the first mint (children, explicit IDs).
        self.top_level: int | None = None
        self.length: int | None = None
        self.statuses = tracker.custom_statuses()
        self.types = tracker.custom_types()
        self.events: list[tuple[str, str, str, str | None, str | None, str | None, str]] = []
        self.labels: list[tuple[str, str]] = []
        self.dirty: list[tuple[str, str]] = []  # (issue_id, marked_at), oldest first

    def flush(self) -> None:
        """Write the pending events, labels and dirty marks (one statement each)."""
        store = self.tracker.store
        if self.events:
            store.insert_events(self.events)
            self.events = []
        if self.labels:
            store.add_labels(self.labels)
            self.labels = []
        if self.dirty:
            store.mark_dirty([issue_id for issue_id, _ in self.dirty], self.dirty[-1][1])
            self.dirty = []

    def mint(self, title: str, description: str, now_ns: int) -> str:
        if self.top_level is None and self.length is None:
            self._count()
        length = self.length
        if length is None:
            assert self.top_level is not None
            length = self._adaptive(self.top_level)
            self.top_level += 1
        store = self.tracker.store
        return idgen.mint(self.prefix, title, description, self.tracker.actor, now_ns, length,
                          lambda c: c in self.used or store.issue_exists(c), self.max_len)

    def _adaptive(self, n_top_level: int) -> int:
        return idgen.adaptive_length(n_top_level, self.min_len, self.max_len, self.max_prob)

    def _count(self) -> None:
        """Count the top-level IDs only as far as the lengths of this batch's IDs depend on it.

        The length grows with the count. The count plus the IDs this batch mints is at most
        the largest rowid plus the batch's size (read in O(1)), whose length is the longest any
        of them can get; if at least ``floor`` top-level IDs exist (the smallest count with
        that length), every ID of the batch gets it. So the walk of the ID index stops after
        ``floor`` IDs (a third of 100,000 issues, instead of all), and counts exactly when
        there are fewer.
        """
        bound = self.tracker.store.rowid_bound() + self.size
        longest = self._adaptive(bound)
        floor, hi = 0, bound
        while floor < hi:  # the smallest count with the longest length (lengths never shrink)
            mid = (floor + hi) // 2
            if self._adaptive(mid) >= longest:
                hi = mid
            else:
                floor = mid + 1
        n = self.tracker.store.count_top_level(self.prefix, limit=floor)
        if n >= floor:
            self.length = longest
        else:
            self.top_level = n


def _int_config(store: SqliteStore, key: str, default: int) -> int:
    try:
        return int(store.get_config(key) or default)
    except ValueError:
        return default


def parse_dep_spec(spec: str) -> tuple[str, str]:
    """``"discovered-from:bd-20"`` → (type, id); a bare ID means ``blocks``; ``external:p:c`` is kept whole."""
    spec = spec.strip()
    if spec.startswith("external:"):
        return model.DEP_BLOCKS, spec
    if ":" in spec:
        dep_type, _, target = spec.partition(":")
        dep_type, target = dep_type.strip(), target.strip()
        if target.startswith("external:") or dep_type:
            return model.validate_dep_type(dep_type), target
    return model.DEP_BLOCKS, spec


def reference_pattern(issue_id: str) -> re.Pattern[str]:
    """A mention of ``issue_id`` in free text (not part of a longer ID, not already ``[deleted:…]``)."""
    return re.compile(r"(?<![A-Za-z0-9_.\-\[:])" + re.escape(issue_id) + r"(?![A-Za-z0-9_\-]|\.\d)")


_csv = model.split_csv


def _clean_labels(labels: Iterable[str]) -> list[str]:
    out: list[str] = []
    for label in labels:
        label = label.strip()
        if label and label not in out:
            out.append(label)
    return out


def _one_label(label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise InvalidInput("label cannot be empty")
    return label


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
