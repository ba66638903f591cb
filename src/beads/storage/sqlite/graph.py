"""Dependency edges, the materialised ``blocked_issues_cache`` and graph walks in SQL.

The blocked set (spec §4) is rebuilt with one recursive statement inside the
transaction of the write that changed it, so ``ready`` is a single indexed query
and never sees a stale cache.
"""

from __future__ import annotations

from beads.model import BLOCKING_STATUSES, DEP_RELATES_TO, DEP_WAITS_FOR, FAILURE_KEYWORDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.storage.sqlite.connection import Database

_BLOCKING = ", ".join(f"'{s}'" for s in BLOCKING_STATUSES)

# The recursive step of a walk reads one row of its queue at a time, but SQLite estimates a
# CTE at a million rows; once ANALYZE has given ``dependencies`` statistics, that estimate
# makes it build a Bloom filter over the whole edge table (a full scan, 15-50 ms at 100,000
# issues) before each walk of a few edges. Wrapping the step's condition on the queue row in
# ``likelihood(..., 1e-6)`` tells the planner the truth (one row), and no filter is built.
# tests/storage/test_query_plans.py checks every walk's plan.
def _one_row(cond: str) -> str:
    return f"likelihood({cond}, 0.000001)"

_FAILURE = " OR ".join(f"lower(blocker.close_reason) LIKE '%{k.replace(chr(39), chr(39) * 2)}%'"
                       for k in FAILURE_KEYWORDS)

# Whether the waits-for edge ``d`` holds its issue back (the fan-out gate, see docs/READY.md).
_WAITS_GATE = """CASE WHEN json_valid(d.metadata) AND json_extract(d.metadata, '$.gate') = 'any-children'
       THEN NOT EXISTS (
         SELECT 1 FROM dependencies c CROSS JOIN issues ci ON ci.id = c.issue_id
          WHERE c.type = 'parent-child' AND ci.status IN ('closed', 'tombstone')
            AND c.depends_on_id = COALESCE(
                  NULLIF(CASE WHEN json_valid(d.metadata) THEN json_extract(d.metadata, '$.spawner_id') END, ''),
                  d.depends_on_id))
       ELSE EXISTS (
         SELECT 1 FROM dependencies c CROSS JOIN issues ci ON ci.id = c.issue_id
          WHERE c.type = 'parent-child' AND ci.status NOT IN ('closed', 'tombstone')
            AND c.depends_on_id = COALESCE(
                  NULLIF(CASE WHEN json_valid(d.metadata) THEN json_extract(d.metadata, '$.spawner_id') END, ''),
                  d.depends_on_id))
       END"""

REBUILD_CACHE_SQL = f"""
INSERT INTO blocked_issues_cache (issue_id)
WITH RECURSIVE
  blocked_directly(issue_id) AS (
    SELECT d.issue_id FROM dependencies d JOIN issues blocker ON blocker.id = d.depends_on_id
     WHERE d.type = 'blocks' AND blocker.status IN ({_BLOCKING})
    UNION
    SELECT d.issue_id FROM dependencies d JOIN issues blocker ON blocker.id = d.depends_on_id
     WHERE d.type = 'conditional-blocks'
       AND (blocker.status != 'closed' OR NOT ({_FAILURE}))
    UNION
    SELECT d.issue_id FROM dependencies d
     WHERE d.type = 'waits-for' AND (
       {_WAITS_GATE})
  ),
  blocked_transitively(issue_id, depth) AS (
    SELECT issue_id, 0 FROM blocked_directly
    UNION
    SELECT d.issue_id, bt.depth + 1
      FROM blocked_transitively bt
      JOIN dependencies d ON d.depends_on_id = bt.issue_id AND d.type = 'parent-child'
     WHERE bt.depth < 50
  )
SELECT DISTINCT issue_id FROM blocked_transitively
"""

# One new blocked root: the issue, if its blocker is open-ish, and its descendants (depth <= 50).
BLOCK_SUBTREE_SQL = f"""
INSERT OR IGNORE INTO blocked_issues_cache (issue_id)
WITH RECURSIVE subtree(issue_id, depth) AS (
    SELECT ?1, 0 WHERE EXISTS (SELECT 1 FROM issues WHERE id = ?2 AND status IN ({_BLOCKING}))
    UNION
    SELECT d.issue_id, s.depth + 1
      FROM subtree s JOIN dependencies d ON d.depends_on_id = s.issue_id AND d.type = 'parent-child'
     WHERE {_one_row("s.depth < 50")}
)
SELECT DISTINCT issue_id FROM subtree
"""

# Whether issue {n} is blocked by one of its own edges (the first part of REBUILD_CACHE_SQL, per issue).
# CROSS JOIN fixes the order: from the issue's few edges to their targets, never from every issue
# of a status (what the planner picks without statistics, and the gate above too).
_DIRECTLY_BLOCKED = f"""(
  EXISTS (SELECT 1 FROM dependencies d CROSS JOIN issues blocker ON blocker.id = d.depends_on_id
           WHERE d.issue_id = {{n}} AND d.type = 'blocks' AND blocker.status IN ({_BLOCKING}))
  OR EXISTS (SELECT 1 FROM dependencies d CROSS JOIN issues blocker ON blocker.id = d.depends_on_id
           WHERE d.issue_id = {{n}} AND d.type = 'conditional-blocks'
             AND (blocker.status != 'closed' OR NOT ({_FAILURE})))
  OR EXISTS (SELECT 1 FROM dependencies d WHERE d.issue_id = {{n}} AND d.type = 'waits-for' AND ({_WAITS_GATE}))
)"""

# The issues whose blockedness may depend on the seeds: the seeds and their parent-child
# descendants, as deep as the rebuild propagates (50 levels).
_AFFECTED = f"""
  affected(id, depth) AS (
    SELECT value, 0 FROM json_each(?1)
    UNION
    SELECT d.issue_id, a.depth + 1
      FROM affected a JOIN dependencies d ON d.depends_on_id = a.id AND d.type = 'parent-child'
     WHERE {_one_row("a.depth < 50")}
  )"""

REFRESH_DELETE_SQL = f"""
WITH RECURSIVE {_AFFECTED}
DELETE FROM blocked_issues_cache WHERE issue_id IN (SELECT id FROM affected)
"""

# An affected issue is blocked when it, or an ancestor at most 50 parent-child levels up, is
# directly blocked: exactly the issues the rebuild's downward propagation reaches.
REFRESH_INSERT_SQL = f"""
INSERT OR IGNORE INTO blocked_issues_cache (issue_id)
WITH RECURSIVE {_AFFECTED},
  up(start, node, depth) AS (
    SELECT id, id, 0 FROM affected
    UNION
    SELECT u.start, d.depends_on_id, u.depth + 1
      FROM up u JOIN dependencies d ON d.issue_id = u.node AND d.type = 'parent-child'
     WHERE {_one_row("u.depth < 50")}
  )
SELECT DISTINCT start FROM up WHERE {_DIRECTLY_BLOCKED.format(n="up.node")}
"""

# The partial index of the waits-for edges (schema M008). Named, because statistics taken while
# it was empty make the planner prefer a full scan of a covering index of all edges instead.
_WAITS_FOR_INDEX = "INDEXED BY idx_dependencies_waits_for"

_ACYCLIC_KEY = "graph_acyclic"  # metadata: "1" while the dependency graph is known to hold no cycle

DEP_COLUMNS = "issue_id, depends_on_id, type, created_at, created_by, metadata, thread_id"
_DEP_KEYS = ("issue_id", "depends_on_id", "type", "created_at", "created_by", "metadata", "thread_id")


def _dep(row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(_DEP_KEYS, row, strict=True))
    d["created_by"] = d["created_by"] or ""
    d["metadata"] = d["metadata"] if d["metadata"] is not None else "{}"
    d["thread_id"] = d["thread_id"] or ""
    return d


class GraphMixin:
    db: Database

    # -- edges ---------------------------------------------------------------------

    def add_dependency(self, dep: dict[str, Any]) -> bool:
        """Insert an edge; False when the same (issue, target, type) already exists.

        The storage does not check for cycles, so the graph is no longer known to be acyclic
        (``Tracker.add_dependency``, which does check, says so again)."""
        self.db.execute("DELETE FROM metadata WHERE key = ?", (_ACYCLIC_KEY,))
        cur = self.db.execute(
            f"INSERT OR IGNORE INTO dependencies ({DEP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (dep["issue_id"], dep["depends_on_id"], dep["type"], dep["created_at"], dep.get("created_by") or "",
             dep.get("metadata") or "{}", dep.get("thread_id") or ""),
        )
        return cur.rowcount > 0

    def add_dependencies(self, deps: list[dict[str, Any]]) -> None:
        """Bulk insert without the graph rules (imports): the graph may now hold a cycle."""
        self.db.execute("DELETE FROM metadata WHERE key = ?", (_ACYCLIC_KEY,))
        self.db.executemany(
            f"INSERT OR IGNORE INTO dependencies ({DEP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(d["issue_id"], d["depends_on_id"], d["type"], d["created_at"], d.get("created_by") or "",
              d.get("metadata") or "{}", d.get("thread_id") or "") for d in deps],
        )

    def remove_dependency(self, issue_id: str, depends_on_id: str, dep_type: str | None = None) -> list[str]:
        """Remove edge(s) issue→target; returns the types removed."""
        if dep_type:
            rows = self.db.all("DELETE FROM dependencies WHERE issue_id = ? AND depends_on_id = ? AND type = ? "
                               "RETURNING type", (issue_id, depends_on_id, dep_type))
        else:
            rows = self.db.all("DELETE FROM dependencies WHERE issue_id = ? AND depends_on_id = ? RETURNING type",
                               (issue_id, depends_on_id))
        return [r[0] for r in rows]

    def remove_all_dependencies_of(self, issue_id: str) -> list[dict[str, Any]]:
        """Remove every edge touching ``issue_id`` (both directions); returns them."""
        rows = self.db.all(f"DELETE FROM dependencies WHERE issue_id = ? OR depends_on_id = ? RETURNING {DEP_COLUMNS}",
                           (issue_id, issue_id))
        return [_dep(r) for r in rows]

    def dependencies_of(self, issue_id: str) -> list[dict[str, Any]]:
        """Edges where ``issue_id`` is the dependent, in creation order."""
        return [_dep(r) for r in self.db.all(
            f"SELECT {DEP_COLUMNS} FROM dependencies WHERE issue_id = ? ORDER BY created_at, depends_on_id, type",
            (issue_id,))]

    def dependents_of(self, issue_id: str) -> list[dict[str, Any]]:
        """Edges pointing at ``issue_id``."""
        return [_dep(r) for r in self.db.all(
            f"SELECT {DEP_COLUMNS} FROM dependencies WHERE depends_on_id = ? ORDER BY created_at, issue_id, type",
            (issue_id,))]

    def all_dependencies(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.db.all(f"SELECT {DEP_COLUMNS} FROM dependencies ORDER BY issue_id, created_at, depends_on_id"):
            dep = _dep(row)
            out.setdefault(dep["issue_id"], []).append(dep)
        return out

    def dependencies_for(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.all(f"SELECT {DEP_COLUMNS} FROM dependencies WHERE issue_id IN ({marks}) "
                                   "ORDER BY issue_id, created_at, depends_on_id", chunk):
                dep = _dep(row)
                out.setdefault(dep["issue_id"], []).append(dep)
        return out

    def edge_triples(self, ids: list[str] | None = None) -> list[tuple[str, str, str]]:
        """``(issue_id, depends_on_id, type)`` of the edges out of ``ids`` (None: every edge), in the
        order ``dependencies_for`` lists them: by issue, then creation. No record decoding: the whole
        table of a 100,000-issue database in a few MB (tree views)."""
        sql = "SELECT issue_id, depends_on_id, type FROM dependencies {} ORDER BY issue_id, created_at, depends_on_id"
        if ids is None:
            return self.db.all(sql.format(""))
        out: list[tuple[str, str, str]] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += self.db.all(sql.format(f"WHERE issue_id IN ({','.join('?' * len(chunk))})"), chunk)
        return out

    def dependency_counts(self, ids: list[str]) -> dict[str, tuple[int, int]]:
        """(dependency_count, dependent_count) over all edge types."""
        out: dict[str, tuple[int, int]] = {i: (0, 0) for i in ids}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for issue_id, n in self.db.all(
                    f"SELECT issue_id, COUNT(*) FROM dependencies WHERE issue_id IN ({marks}) GROUP BY issue_id", chunk):
                out[issue_id] = (n, out[issue_id][1])
            for issue_id, n in self.db.all(
                    f"SELECT depends_on_id, COUNT(*) FROM dependencies WHERE depends_on_id IN ({marks}) "
                    "GROUP BY depends_on_id", chunk):
                out[issue_id] = (out[issue_id][0], n)
        return out

    def parent_of(self, issue_id: str) -> str | None:
        row = self.db.one("SELECT depends_on_id FROM dependencies WHERE issue_id = ? AND type = 'parent-child' "
                          "ORDER BY created_at LIMIT 1", (issue_id,))
        return row[0] if row else None

    def children_of(self, parent_id: str) -> list[str]:
        return [r[0] for r in self.db.all(
            "SELECT issue_id FROM dependencies WHERE depends_on_id = ? AND type = 'parent-child' ORDER BY issue_id",
            (parent_id,))]

    # -- blocked cache ---------------------------------------------------------------

    def rebuild_blocked_cache(self) -> None:
        self.db.execute("DELETE FROM blocked_issues_cache")
        self.db.execute(REBUILD_CACHE_SQL)

    def refresh_blocked(self, seeds: list[str]) -> None:
        """Recompute the cache for ``seeds`` and their descendants only (what a rebuild would
        give them), for a write that can change nothing else: a removed edge, a blocker's status."""
        import json

        arg = json.dumps(sorted(set(seeds)))
        self.db.execute(REFRESH_DELETE_SQL, (arg,))
        self.db.execute(REFRESH_INSERT_SQL, (arg,))

    def blocking_dependents(self, issue_id: str) -> list[str]:
        """Issues that ``issue_id``'s status can block or release (``blocks``, ``conditional-blocks``)."""
        return [r[0] for r in self.db.all(
            "SELECT issue_id FROM dependencies WHERE depends_on_id = ? AND type IN ('blocks', 'conditional-blocks')",
            (issue_id,))]

    def waits_for_sources(self) -> list[str]:
        """Issues held by a ``waits-for`` gate (their gate counts children's statuses)."""
        return [r[0] for r in self.db.all(f"SELECT DISTINCT issue_id FROM dependencies {_WAITS_FOR_INDEX} "
                                          "WHERE type = 'waits-for'")]

    def block_subtree_if_blocker_open(self, issue_id: str, blocker_id: str) -> None:
        """After adding ``issue_id`` blocks-on ``blocker_id``: if the blocker is open-ish, ``issue_id``
        and its parent-child descendants join the cache (what a full rebuild would add)."""
        self.db.execute(BLOCK_SUBTREE_SQL, (issue_id, blocker_id))

    def graph_known_acyclic(self) -> bool:
        """True when a cycle search found none and no edge arrived since without the cycle check."""
        return self.db.one("SELECT 1 FROM metadata WHERE key = ? AND value = '1'", (_ACYCLIC_KEY,)) is not None

    def mark_graph_acyclic(self) -> None:
        self.db.execute("INSERT INTO metadata (key, value) VALUES (?, '1') "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (_ACYCLIC_KEY,))

    def has_edges_of_type(self, dep_type: str) -> bool:
        if dep_type == DEP_WAITS_FOR:  # asked by every write that can change blockedness: one index probe
            return self.db.one(f"SELECT 1 FROM dependencies {_WAITS_FOR_INDEX} WHERE type = 'waits-for' LIMIT 1") \
                is not None
        return self.db.one("SELECT 1 FROM dependencies WHERE type = ? LIMIT 1", (dep_type,)) is not None

    def blocked_ids(self) -> set[str]:
        return {r[0] for r in self.db.all("SELECT issue_id FROM blocked_issues_cache")}

    def is_blocked(self, issue_id: str) -> bool:
        return self.db.one("SELECT 1 FROM blocked_issues_cache WHERE issue_id = ?", (issue_id,)) is not None

    # -- walks -----------------------------------------------------------------------

    def reaches(self, start: str, goal: str) -> bool:
        """Whether following non-``relates-to`` edges from ``start`` reaches ``goal``."""
        row = self.db.one(
            f"""WITH RECURSIVE walk(node) AS (
                 SELECT ?
                 UNION
                 SELECT d.depends_on_id FROM walk JOIN dependencies d ON d.issue_id = walk.node
                  WHERE d.type != ? AND {_one_row("walk.node IS NOT NULL")}
               ) SELECT 1 FROM walk WHERE node = ? LIMIT 1""",
            (start, DEP_RELATES_TO, goal),
        )
        return row is not None

    def edges_reachable_from(self, start: str) -> list[tuple[str, str]]:
        """All non-``relates-to`` edges reachable from ``start`` (for reporting a cycle path)."""
        return [(r[0], r[1]) for r in self.db.all(
            f"""WITH RECURSIVE walk(node) AS (
                 SELECT ?
                 UNION
                 SELECT d.depends_on_id FROM walk JOIN dependencies d ON d.issue_id = walk.node
                  WHERE d.type != ? AND {_one_row("walk.node IS NOT NULL")}
               ) SELECT d.issue_id, d.depends_on_id FROM dependencies d JOIN walk ON d.issue_id = walk.node
                  WHERE d.type != ? ORDER BY d.issue_id, d.depends_on_id""",
            (start, DEP_RELATES_TO, DEP_RELATES_TO))]

    def dependents_closure(self, start: str) -> list[tuple[str, str, str]]:
        """Every non-``relates-to`` edge among ``start`` and all that depends on it, transitively
        (what ``bd graph ID`` draws), found by one walk up the ``depends_on_id`` index."""
        return [(r[0], r[1], r[2]) for r in self.db.all(
            f"""WITH RECURSIVE walk(node) AS (
                 SELECT ?
                 UNION
                 SELECT d.issue_id FROM walk JOIN dependencies d ON d.depends_on_id = walk.node
                  WHERE d.type != ? AND {_one_row("walk.node IS NOT NULL")}
               ) SELECT d.issue_id, d.depends_on_id, d.type FROM dependencies d JOIN walk ON d.depends_on_id = walk.node
                  WHERE d.type != ? ORDER BY d.issue_id, d.depends_on_id""",
            (start, DEP_RELATES_TO, DEP_RELATES_TO))]

    def all_edges(self, *, exclude_types: tuple[str, ...] = (DEP_RELATES_TO,)) -> list[tuple[str, str, str]]:
        marks = ",".join("?" * len(exclude_types)) or "''"
        return [(r[0], r[1], r[2]) for r in self.db.all(
            f"SELECT issue_id, depends_on_id, type FROM dependencies WHERE type NOT IN ({marks}) "
            "ORDER BY issue_id, depends_on_id", list(exclude_types))]

    def graph_nodes(self) -> list[tuple[Any, ...]]:
        """Every live issue as ``(id, title, status, priority, issue_type, assignee, created_at,
        estimated_minutes, pinned, is_template, ephemeral, defer_until)``, in ID order:
        what the graph views and triage need, without decoding whole issues (10,000 in ~15 ms)."""
        return self.db.all(
            "SELECT id, title, status, priority, issue_type, COALESCE(assignee, ''), created_at, "
            "estimated_minutes, COALESCE(pinned, 0), COALESCE(is_template, 0), COALESCE(ephemeral, 0), defer_until "
            "FROM issues WHERE status != 'tombstone' AND deleted_at IS NULL ORDER BY id")

    def descendants_of(self, parent_id: str) -> list[str]:
        return [r[0] for r in self.db.all(
            f"""WITH RECURSIVE tree(id, depth) AS (
                 SELECT issue_id, 1 FROM dependencies WHERE depends_on_id = ? AND type = 'parent-child'
                 UNION
                 SELECT d.issue_id, t.depth + 1 FROM tree t JOIN dependencies d
                   ON d.depends_on_id = t.id AND d.type = 'parent-child' WHERE {_one_row("t.depth < 50")}
               ) SELECT DISTINCT id FROM tree ORDER BY id""", (parent_id,))]
