"""Read queries: list/search/count with filters, ready work, blocked issues, statistics.

Each is one SQL statement over indexed columns plus, for the returned page only,
a labels lookup; blockedness comes from the materialised cache.
"""

from __future__ import annotations

import math
import time

from beads.model import BLOCKING_STATUSES, READY_HIDDEN_TYPES, READY_STATUSES
from beads.storage.sqlite.rows import SELECT_COLUMNS, row_to_issue
from beads.storage.sqlite.syncdata import row_to_sparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from beads.model import Issue
    from beads.query import IssueFilter, ReadyFilter
    from beads.storage.sqlite.connection import Database

_BLOCKING = ", ".join(f"'{s}'" for s in BLOCKING_STATUSES)

_SORT_COLUMNS = {
    "priority": "i.priority", "created": "i.created_at", "updated": "i.updated_at", "closed": "i.closed_at",
    "status": "i.status", "id": "i.id", "title": "i.title", "type": "i.issue_type", "assignee": "i.assignee",
}
SORT_KEYS = tuple(_SORT_COLUMNS)

_DESCENDANTS = """i.id IN (WITH RECURSIVE tree(id, depth) AS (
    SELECT issue_id, 1 FROM dependencies WHERE depends_on_id = ? AND type = 'parent-child'
    UNION
    SELECT d.issue_id, t.depth + 1 FROM tree t JOIN dependencies d
      ON d.depends_on_id = t.id AND d.type = 'parent-child' WHERE t.depth < 50
  ) SELECT id FROM tree)"""


# The live `blocks` targets of issue ``i`` (what ``bd blocked`` lists). The LEFT JOIN keeps the
# edge as the outer loop whatever the statistics say.
_BLOCKERS = f"""SELECT {{what}} FROM dependencies d LEFT JOIN issues t ON t.id = d.depends_on_id
   WHERE d.issue_id = i.id AND d.type = 'blocks'
     AND (t.status IN ({_BLOCKING}) OR d.depends_on_id LIKE 'external:%')"""
_BLOCKED_STATUS = "i.pinned = 0 AND i.status IN ('open', 'in_progress', 'blocked', 'deferred', 'hooked')"
_BLOCKED_WHERE = f"""{_BLOCKED_STATUS}
     AND (i.status IN ('blocked', 'deferred') OR EXISTS ({_BLOCKERS.format(what="1")}))"""
# The same set for the whole workspace: the IDs with a live blocker are collected once instead of
# probing the edges of every open issue and reading its targets' rows (twice as slow on 100,000
# issues). The open-ish IDs come from the status index, each probing its `blocks` dependents: one
# probe per open-ish issue rather than one per status per `blocks` edge (a quarter faster).
_BLOCKED_WHERE_ALL = f"""{_BLOCKED_STATUS}
     AND (i.status IN ('blocked', 'deferred') OR i.id IN (
       SELECT d.issue_id FROM issues t INDEXED BY idx_issues_status
         CROSS JOIN dependencies d INDEXED BY idx_dependencies_depends_on_type_issue
           ON d.depends_on_id = t.id AND d.type = 'blocks'
        WHERE t.status IN ({_BLOCKING})
       UNION ALL
       SELECT issue_id FROM dependencies WHERE type = 'blocks' AND depends_on_id LIKE 'external:%'))"""
# The parent-child children of epic ``e``: edges first (CROSS JOIN fixes the order), then each child
# by its primary key; callers add a condition on ``+c.status`` (unary + keeps the status index out).
_CHILDREN = """dependencies d CROSS JOIN issues c ON c.id = d.issue_id
    WHERE d.depends_on_id = e.id AND d.type = 'parent-child'"""

# The children of epic ``i`` with a given status (callers add ``c.status = ...``), probed in the
# (status, id) index: no child row is read.
_CHILD_STATUS = """dependencies d CROSS JOIN issues c INDEXED BY idx_issues_status ON c.id = d.issue_id
    WHERE d.depends_on_id = i.id AND d.type = 'parent-child'"""


def _blocked_sql(columns: str, extra: str) -> str:
    """The ``bd blocked`` rows (``columns`` plus the sorted-later blocker IDs), in listing order."""
    return f"""SELECT {columns}, ({_BLOCKERS.format(what="group_concat(d.depends_on_id, ',')")}) AS blockers
        FROM issues i WHERE {_BLOCKED_WHERE + extra if extra else _BLOCKED_WHERE_ALL} ORDER BY i.priority ASC, i.created_at ASC, i.id"""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _in(values: list[Any] | tuple[Any, ...]) -> str:
    return ",".join("?" * len(values))


def _labels_clause(where: list[str], params: list[Any], labels: list[str], labels_any: list[str]) -> None:
    for label in labels:
        where.append("EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.id AND l.label = ?)")
        params.append(label)
    if labels_any:
        where.append(f"EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.id AND l.label IN ({_in(labels_any)}))")
        params.extend(labels_any)


def _time_clause(where: list[str], params: list[Any], column: str, after: str | None, before: str | None) -> None:
    if after:
        where.append(f"julianday({column}) > julianday(?)")
        params.append(after)
    if before:
        where.append(f"julianday({column}) < julianday(?)")
        params.append(before)


def issue_where(f: IssueFilter) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    statuses = f.statuses
    if statuses and "all" not in statuses:
        where.append(f"i.status IN ({_in(statuses)})")
        params.extend(statuses)
    else:
        if not f.include_tombstones:
            where.append("i.status != 'tombstone'")
        if f.exclude_closed and not statuses:
            where.append("i.status != 'closed'")
    if f.priority is not None:
        where.append("i.priority = ?")
        params.append(f.priority)
    if f.priority_min is not None:
        where.append("i.priority >= ?")
        params.append(f.priority_min)
    if f.priority_max is not None:
        where.append("i.priority <= ?")
        params.append(f.priority_max)
    if f.issue_types:
        where.append(f"i.issue_type IN ({_in(f.issue_types)})")
        params.extend(f.issue_types)
    if f.assignee is not None:
        where.append("i.assignee = ?")
        params.append(f.assignee)
    if f.no_assignee:
        where.append("(i.assignee IS NULL OR i.assignee = '')")
    _labels_clause(where, params, f.labels, f.labels_any)
    if f.no_labels:
        where.append("NOT EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.id)")
    if f.ids is not None:
        where.append(f"i.id IN ({_in(f.ids)})" if f.ids else "0")
        params.extend(f.ids)
    if f.query:
        where.append("(i.title LIKE ? ESCAPE '\\' OR i.description LIKE ? ESCAPE '\\' OR i.id LIKE ? ESCAPE '\\')")
        params.extend([_like(f.query)] * 3)
    for column, text in (("i.title", f.title_contains), ("i.description", f.description_contains),
                         ("i.notes", f.notes_contains)):
        if text:
            where.append(f"{column} LIKE ? ESCAPE '\\'")
            params.append(_like(text))
    _time_clause(where, params, "i.created_at", f.created_after, f.created_before)
    _time_clause(where, params, "i.updated_at", f.updated_after, f.updated_before)
    _time_clause(where, params, "i.closed_at", f.closed_after, f.closed_before)
    _time_clause(where, params, "i.due_at", f.due_after, f.due_before)
    _time_clause(where, params, "i.defer_until", f.defer_after, f.defer_before)
    if f.deferred:
        where.append("i.defer_until IS NOT NULL AND i.defer_until != ''")
    if f.overdue:
        where.append("i.due_at IS NOT NULL AND i.due_at != '' AND julianday(i.due_at) < julianday('now') "
                     "AND i.status NOT IN ('closed', 'tombstone')")
    if f.empty_description:
        where.append("(i.description IS NULL OR trim(i.description) = '')")
    if f.pinned is True:
        where.append("i.pinned = 1")
    elif f.pinned is False:
        where.append("i.pinned = 0")
    if not f.include_templates:
        where.append("i.is_template = 0")
    if not f.include_ephemeral:
        where.append("i.ephemeral = 0")
    if f.parent_id:
        where.append("i.id IN (SELECT issue_id FROM dependencies WHERE depends_on_id = ? AND type = 'parent-child')")
        params.append(f.parent_id)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def _ready_filters(f: ReadyFilter) -> tuple[list[str], list[Any]]:
    """Every ready condition except status and ordering."""
    where = ["i.pinned = 0", "i.ephemeral = 0", "i.is_template = 0",
             "NOT EXISTS (SELECT 1 FROM blocked_issues_cache b WHERE b.issue_id = i.id)"]
    params: list[Any] = []
    if f.issue_type:
        where.append("i.issue_type = ?")
        params.append(f.issue_type)
    else:
        where.append(f"i.issue_type NOT IN ({_in(READY_HIDDEN_TYPES)})")
        params.extend(READY_HIDDEN_TYPES)
    if f.priority is not None:
        where.append("i.priority = ?")
        params.append(f.priority)
    if f.assignee:
        where.append("i.assignee = ?")
        params.append(f.assignee)
    if f.unassigned:
        where.append("(i.assignee IS NULL OR i.assignee = '')")
    _labels_clause(where, params, f.labels, f.labels_any)
    if f.parent_id:
        where.append(_DESCENDANTS)
        params.append(f.parent_id)
    if not f.include_deferred:
        where.append("(i.defer_until IS NULL OR i.defer_until = '' OR julianday(i.defer_until) <= julianday('now'))")
    return where, params


# ORDER BY of each sort policy over all candidates; hybrid takes the recency cutoff twice.
_READY_ORDER = {
    "priority": "i.priority ASC, i.created_at ASC, i.id",
    "oldest": "i.created_at ASC, i.id",
    "hybrid": "CASE WHEN julianday(i.created_at) >= ? THEN 0 ELSE 1 END, "
              "CASE WHEN julianday(i.created_at) >= ? THEN i.priority END, i.created_at ASC, i.id",
}


def _recent_cutoff() -> float:
    """The Julian day 48 hours ago (the hybrid policy's "recent")."""
    return (time.time() - 48 * 3600) / 86400.0 + 2440587.5


def _date_floor(cutoff: float) -> str:
    """A ``YYYY-MM-DD`` no timestamp at or after ``cutoff`` sorts below, whatever its UTC offset."""
    return time.strftime("%Y-%m-%d", time.gmtime((cutoff - 2440587.5) * 86400.0 - 86400))


def _date_after(unix: float) -> str:
    """The ``YYYY-MM-DD`` two days after ``unix`` (UTC): every timestamp of an instant up to ``unix``
    sorts below it as text, whatever its UTC offset (at most 14 hours; SQLite refuses larger ones).
    Years before 1000 come out unpadded or negative: a bound above, or below, every real timestamp,
    as their instants are."""
    try:
        return time.strftime("%Y-%m-%d", time.gmtime(unix + 2 * 86400))
    except (OverflowError, OSError, ValueError):  # before any instant a timestamp can hold
        return ""


def _priority_key(issue: Issue) -> tuple[int, str, str]:
    return issue["priority"], issue["created_at"] or "", issue["id"]


class QueryMixin:
    db: Database

    def list_issues(self, f: IssueFilter) -> list[Issue]:
        return [issue for chunk in self.list_issue_chunks(f) for issue in chunk]

    def list_issue_chunks(self, f: IssueFilter, *, sparse: bool = False) -> Iterator[list[Issue]]:
        """``list_issues`` read from the cursor a few hundred rows at a time; ``sparse`` gives each
        issue in its wire form (``row_to_sparse``: struct order, empties omitted)."""
        where, params = issue_where(f)
        if f.sort:
            col = _SORT_COLUMNS[f.sort]
            direction = "DESC" if f.sort in ("created", "updated", "closed") else "ASC"
            if f.reverse:
                direction = "ASC" if direction == "DESC" else "DESC"
            order = f"{col} {direction}, i.id ASC"
        else:
            order = "i.priority DESC, i.created_at ASC" if f.reverse else "i.priority ASC, i.created_at DESC"
        sql = f"SELECT {SELECT_COLUMNS} FROM issues i{where} ORDER BY {order}"
        if f.limit:
            sql += " LIMIT ?"
            params.append(f.limit)
        convert = row_to_sparse if sparse else row_to_issue
        for rows in self.db.chunks(sql, params):
            yield [convert(r) for r in rows]

    def count_issues(self, f: IssueFilter, group_by: str | None = None) -> list[tuple[str, int]]:
        where, params = issue_where(f)
        if group_by is None:
            return [("", int(self.db.scalar(f"SELECT COUNT(*) FROM issues i{where}", params) or 0))]  # type: ignore
        if group_by == "label":
            sql = (f"SELECT l.label, COUNT(DISTINCT i.id) FROM issues i JOIN labels l ON l.issue_id = i.id{where} "
                   "GROUP BY l.label ORDER BY l.label")
        else:
            col = {"status": "i.status", "priority": "i.priority", "type": "i.issue_type",
                   "assignee": "COALESCE(i.assignee, '')"}[group_by]
            sql = f"SELECT {col}, COUNT(*) FROM issues i{where} GROUP BY {col} ORDER BY {col}"
        return [(str(g), int(n)) for g, n in self.db.all(sql, params)]

    def ready_issues(self, f: ReadyFilter) -> list[Issue]:
        """Spec §4 GetReadyWork: unblocked open work in the filter's sort policy.

        With a limit (the CLI's default is 10) each policy walks an index in its sort order
        and stops after ``limit`` matches instead of sorting every candidate; ``limit=0``
        sorts them all (and is the reference the fast paths are tested against).
        """
        where, params = _ready_filters(f)
        statuses = [f.status] if f.status else list(READY_STATUSES)
        limit = int(f.limit or 0)
        if not limit:
            policy = f.sort_policy if f.sort_policy in _READY_ORDER else "hybrid"
            return self._ready_query(where + [f"i.status IN ({_in(statuses)})"], [*params, *statuses],
                                     _READY_ORDER[policy], 0,
                                     extra_params=[_recent_cutoff()] * 2 if policy == "hybrid" else [])
        if f.sort_policy == "oldest":
            return self._ready_query(where + [f"+i.status IN ({_in(statuses)})"], [*params, *statuses],
                                     "i.created_at ASC, i.id", limit, index="idx_issues_created_at")
        if f.sort_policy == "priority":
            return self._ready_by_priority(where, params, statuses, limit)
        return self._ready_hybrid(where, params, statuses, limit)

    def _ready_query(self, where: list[str], params: list[Any], order: str, limit: int, *,
                     index: str | None = None, extra_params: list[Any] | None = None) -> list[Issue]:
        indexed = f" INDEXED BY {index}" if index else ""
        sql = f"SELECT {SELECT_COLUMNS} FROM issues i{indexed} WHERE {' AND '.join(where)} ORDER BY {order}"
        params = [*params, *(extra_params or [])]
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [row_to_issue(r) for r in self.db.all(sql, params)]

    def _ready_by_priority(self, where: list[str], params: list[Any], statuses: list[str],
                           limit: int) -> list[Issue]:
        """Top ``limit`` by (priority, created_at, id): one index walk per status, then a merge."""
        found: list[Issue] = []
        for status in statuses:
            found += self._ready_query(where + ["i.status = ?"], [*params, status],
                                       "i.priority ASC, i.created_at ASC, i.id", limit,
                                       index="idx_issues_status_priority")
        found.sort(key=_priority_key)
        return found[:limit]

    def _ready_hybrid(self, where: list[str], params: list[Any], statuses: list[str],
                      limit: int) -> list[Issue]:
        """Issues created in the last 48 h by priority, then older ones oldest first.

        The recent part is found either through the created_at index (when few issues are
        recent, the usual case) or by walking the priority index (when many are).
        """
        cutoff = _recent_cutoff()
        recent = where + ["julianday(i.created_at) >= ?"]
        if self._many_recent(limit, cutoff):
            found = self._ready_by_priority(recent, [*params, cutoff], statuses, limit)
        else:
            found = self._ready_query(
                recent + ["i.created_at >= ?", f"+i.status IN ({_in(statuses)})"],
                [*params, cutoff, _date_floor(cutoff), *statuses],
                "i.priority ASC, i.created_at ASC, i.id", limit, index="idx_issues_created_at")
        if len(found) < limit:
            found += self._ready_query(
                where + ["COALESCE(julianday(i.created_at) >= ?, 0) = 0", f"+i.status IN ({_in(statuses)})"],
                [*params, cutoff, *statuses], "i.created_at ASC, i.id", limit - len(found),
                index="idx_issues_created_at")
        return found

    def _many_recent(self, limit: int, cutoff: float) -> bool:
        """Whether more than ~sqrt(limit * issues) issues may be recent (decides the hybrid plan)."""
        total = int(self.db.scalar("SELECT COALESCE(MAX(rowid), 0) FROM issues") or 0)  # type: ignore
        probe = max(100, math.isqrt(limit * max(total, 1)))
        row = self.db.one("SELECT created_at >= ? FROM issues INDEXED BY idx_issues_created_at "
                          "ORDER BY created_at DESC LIMIT 1 OFFSET ?", (_date_floor(cutoff), probe))
        return bool(row and row[0])

    def blocked_issues(self, parent_id: str | None = None) -> list[tuple[Issue, list[str]]]:
        """Spec §4 GetBlockedIssues: status blocked/deferred, or a live `blocks` target, or an external one."""
        return [item for chunk in self.blocked_issue_chunks(parent_id) for item in chunk]

    def blocked_issue_chunks(self, parent_id: str | None = None) -> Iterator[list[tuple[Issue, list[str]]]]:
        """``blocked_issues`` read from the cursor a few hundred rows at a time."""
        extra, params = (" AND " + _DESCENDANTS, [parent_id]) if parent_id else ("", [])
        for rows in self.db.chunks(_blocked_sql(SELECT_COLUMNS, extra), params):
            yield [(row_to_issue(row), sorted(row[-1].split(",")) if row[-1] else []) for row in rows]

    def blocked_brief_chunks(self, parent_id: str | None = None) -> Iterator[list[tuple[int, str, str, list[str]]]]:
        """``blocked_issue_chunks`` as (priority, id, title, blockers) only: what the text listing
        prints, without decoding whole rows (the costly part on 100,000 issues)."""
        extra, params = (" AND " + _DESCENDANTS, [parent_id]) if parent_id else ("", [])
        for rows in self.db.chunks(_blocked_sql("i.priority, i.id, i.title", extra), params):
            yield [(r[0], r[1], r[2], sorted(r[3].split(",")) if r[3] else []) for r in rows]

    def count_blocked(self) -> int:
        """``len(blocked_issues())`` without reading the issues."""
        return int(self.db.scalar(f"SELECT COUNT(*) FROM issues i WHERE {_BLOCKED_WHERE_ALL}") or 0)  # type: ignore

    def count_ready(self, f: ReadyFilter) -> int:
        """``len(ready_issues(f))`` with ``f.limit`` ignored: the same conditions, counted."""
        where, params = _ready_filters(f)
        statuses = [f.status] if f.status else list(READY_STATUSES)
        where.append(f"i.status IN ({_in(statuses)})")
        sql = f"SELECT COUNT(*) FROM issues i WHERE {' AND '.join(where)}"
        return int(self.db.scalar(sql, [*params, *statuses]) or 0)  # type: ignore

    def cached_stats(self, key: str = "stats") -> dict[str, Any] | None:
        """The figures ``keep_stats`` kept under ``key``, unless a write or the clock made them stale."""
        from beads.storage.sqlite.statscache import cached_stats

        return cached_stats(self.db, key)

    def keep_stats(self, stats: dict[str, Any], valid_until: float | None, key: str = "stats") -> bool:
        """Keep ``stats``, computed in the current read snapshot, if that snapshot is still the newest."""
        from beads.storage.sqlite.statscache import keep_stats

        return keep_stats(self.db, key, stats, valid_until)

    def keep_graph_acyclic(self) -> bool:
        """Record that a cycle search over the current read snapshot found none (``graph_acyclic``),
        if that snapshot is still the newest state: a read may keep what it learnt."""
        from beads.storage.sqlite.graph import _ACYCLIC_KEY
        from beads.storage.sqlite.statscache import keep_if_current

        return keep_if_current(self.db, [("INSERT INTO metadata (key, value) VALUES (?, '1') "
                                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (_ACYCLIC_KEY,))])

    def ready_valid_until(self) -> float | None:
        """When the next ``defer_until`` in the future passes (Unix seconds), or None: until then
        ``count_ready`` cannot change without a write. Ask before counting, in the same snapshot."""
        day = self.db.scalar(f"""SELECT MIN(julianday(defer_until)) FROM issues
            WHERE status IN ({_in(READY_STATUSES)}) AND julianday(defer_until) > julianday('now')""",
                             list(READY_STATUSES))
        return None if day is None else (float(day) - 2440587.5) * 86400.0  # type: ignore[arg-type]

    def statistics(self) -> dict[str, Any]:
        """Counts for ``bd status``; ``ready_issues``/``blocked_issues`` are the caller's (same rules as
        ``ready``/``blocked``). Every query is planned to be linear without ``sqlite_stat1``."""
        db = self.db
        counts = dict(db.all("SELECT status, COUNT(*) FROM issues GROUP BY status"))
        total = sum(n for s, n in counts.items() if s != "tombstone")
        lead = db.scalar("""SELECT AVG((julianday(closed_at) - julianday(created_at)) * 24.0) FROM issues
            WHERE closed_at IS NOT NULL AND status = 'closed'""")
        # CROSS JOIN keeps the edge as the outer loop: without statistics SQLite may otherwise
        # scan the children by status for every epic (quadratic)
        epics = db.scalar(f"""SELECT COUNT(*) FROM issues e WHERE e.issue_type = 'epic'
            AND e.status NOT IN ('closed', 'tombstone')
            AND EXISTS (SELECT 1 FROM dependencies d WHERE d.depends_on_id = e.id AND d.type = 'parent-child')
            AND NOT EXISTS (SELECT 1 FROM {_CHILDREN} AND +c.status NOT IN ('closed', 'tombstone'))""")
        pinned = db.scalar("SELECT COUNT(*) FROM issues WHERE pinned = 1 AND status != 'tombstone'")
        return {
            "total_issues": total,
            "open_issues": counts.get("open", 0),
            "in_progress_issues": counts.get("in_progress", 0),
            "closed_issues": counts.get("closed", 0),
            "blocked_issues": 0,
            "deferred_issues": counts.get("deferred", 0),
            "ready_issues": 0,
            "tombstone_issues": counts.get("tombstone", 0),
            "pinned_issues": int(pinned or 0),  # type: ignore[call-overload]
            "epics_eligible_for_closure": int(epics or 0),  # type: ignore[call-overload]
            "average_lead_time_hours": round(float(lead or 0.0), 6),  # type: ignore[arg-type]
            "_by_status": counts,
        }

    def stale_issues(self, days: int, status: str | None, limit: int) -> list[Issue]:
        """Open issues not updated for ``days``, least recently updated first (by instant, then id).

        Walks the ``updated_at`` index instead of computing every row's instant: the text order of
        timestamps is their time order up to their UTC offsets (at most 14 hours), so every row
        updated before instant ``t`` sorts below the date two days after ``t``. The first ``limit``
        stale rows in text order bound the answer's last instant; only the rows below that bound
        are sorted by instant."""
        where = "i.status NOT IN ('closed', 'tombstone') AND julianday(i.updated_at) < julianday('now', ?)"
        params: list[Any] = [f"-{int(days)} days"]
        if status:
            where += " AND i.status = ?"
            params.append(status)
        below = _date_after(time.time() - int(days) * 86400.0)
        if limit:
            found = self.db.all(f"SELECT julianday(i.updated_at) FROM issues i INDEXED BY idx_issues_updated_at "
                                f"WHERE i.updated_at < ? AND {where} ORDER BY i.updated_at LIMIT ?",
                                [below, *params, limit])
            if len(found) == limit:  # the answer ends at or before the latest of these
                last = max(r[0] for r in found)
                below = min(below, _date_after((last - 2440587.5) * 86400.0))
                where += " AND julianday(i.updated_at) <= ?"
                params.append(last)
        sql = (f"SELECT {SELECT_COLUMNS} FROM issues i INDEXED BY idx_issues_updated_at WHERE i.updated_at < ? "
               f"AND {where} ORDER BY julianday(i.updated_at) ASC, i.id")
        params.insert(0, below)
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [row_to_issue(r) for r in self.db.all(sql, params)]

    def epic_progress(self) -> list[tuple[dict[str, Any], int, int]]:
        """Each open epic (neither closed nor a tombstone) in its wire form (``row_to_sparse``),
        with (total children, closed children), by priority then ID.

        The counts are kept (``stats_cache``) until a write changes a status, a type or an edge;
        the epics' rows are always read."""
        with self.read_snapshot():  # type: ignore[attr-defined]
            counts = self.cached_stats("epic_progress")
            if counts is None:
                counts = {r[0]: (int(r[1]), int(r[2])) for r in self.db.all(_EPIC_COUNTS_SQL)}
                self.keep_stats(counts, None, "epic_progress")
            rows = self.db.all(f"SELECT {SELECT_COLUMNS} FROM issues i WHERE {_LIVE_EPIC} "
                               "AND i.status != 'closed' ORDER BY i.priority, i.id")
        out = []
        for row in rows:
            epic = row_to_sparse(row)
            total, closed = counts.get(epic["id"], (0, 0))
            out.append((epic, total, closed))
        return out


_LIVE_EPIC = "i.issue_type = 'epic' AND i.status != 'tombstone'"
# The children's statuses come from the (status, id) index alone, never from their rows:
# total = edges - tombstoned children (an edge's child always exists: foreign key).
_EPIC_COUNTS_SQL = f"""SELECT i.id,
    (SELECT COUNT(*) FROM dependencies d WHERE d.depends_on_id = i.id AND d.type = 'parent-child')
      - (SELECT COUNT(*) FROM {_CHILD_STATUS} AND c.status = 'tombstone'),
    (SELECT COUNT(*) FROM {_CHILD_STATUS} AND c.status = 'closed')
    FROM issues i WHERE {_LIVE_EPIC}"""
