"""The SQLite implementation of the storage interface: rows in, dicts out.

Business rules (validation, events to record, which edges block) live in
``beads.core``; this class only knows how to read and write them. Graph and query
methods come from the mixins in ``graph.py`` and ``queries.py``.
"""

from __future__ import annotations

import json
import sqlite3

from beads.errors import BdError, InvalidInput
from beads.storage.sqlite.connection import Database
from beads.storage.sqlite.graph import GraphMixin
from beads.storage.sqlite.queries import QueryMixin
from beads.storage.sqlite.rows import (
    INSERT_SQL,
    SELECT_COLUMNS,
    column_name,
    column_value,
    extra_of,
    insert_values,
    row_to_issue,
)
from beads.storage.sqlite.syncdata import SyncMixin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.model import Issue


# metadata key holding an application's schema version: ``extension_version.<namespace>``.
EXTENSION_VERSION_KEY = "extension_version."


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (triggers' inner ``;`` included)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip().strip(";").strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and sqlite3.complete_statement(current + ";"):
        statements.append(current.strip())
    elif current.strip():
        raise InvalidInput(f"incomplete SQL statement in migration: {current.strip()[:60]!r}")
    return statements


# Below this many issues every plan is fast and statistics are not worth a write.
STATISTICS_MIN_ROWS = 1000


class SqliteStore(GraphMixin, QueryMixin, SyncMixin):
    """Storage on one SQLite database (a file, or ``:memory:`` for the in-memory backend)."""

    def __init__(self, path: str, *, readonly: bool = False, busy_timeout_ms: int = 30_000,
                 create: bool = True) -> None:
        self.db = Database(path, readonly=readonly, busy_timeout_ms=busy_timeout_ms, create=create)
        self.path = path

    @classmethod
    def in_memory(cls) -> SqliteStore:
        return cls(":memory:")

    def transaction(self) -> Any:
        return self.db.transaction()

    def on_commit(self, hook: Any) -> None:
        self.db.on_commit(hook)

    def close(self) -> None:
        self.db.close()

    # -- config and metadata ---------------------------------------------------------

    def get_config(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM config WHERE key = ?", (key,))
        return row[0] if row else None

    def set_config(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT INTO config (key, value) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def delete_config(self, key: str) -> bool:
        with self.transaction():
            return self.db.execute("DELETE FROM config WHERE key = ?", (key,)).rowcount > 0

    def all_config(self) -> dict[str, str]:
        return dict(self.db.all("SELECT key, value FROM config ORDER BY key"))

    def get_metadata(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM metadata WHERE key = ?", (key,))
        return row[0] if row else None

    def set_metadata(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT INTO metadata (key, value) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def all_metadata(self) -> dict[str, str]:
        return dict(self.db.all("SELECT key, value FROM metadata ORDER BY key"))

    # -- application (extension) schemas ----------------------------------------------

    def extension_version(self, namespace: str) -> int:
        """The last migration applied for an application's ``namespace`` (0: none)."""
        value = self.get_metadata(EXTENSION_VERSION_KEY + namespace)
        return int(value) if value else 0

    def apply_extension_migration(self, namespace: str, version: int, script: str) -> list[str]:
        """Run one migration's statements inside the caller's transaction and record ``version``.

        Returns the schema objects it created that do not carry the ``<namespace>_`` prefix
        (the caller refuses the migration when there are any).
        """
        before = {row[0] for row in self.db.all("SELECT name FROM sqlite_master")}
        for statement in split_statements(script):
            self.db.execute(statement)
        after = {row[0] for row in self.db.all("SELECT name FROM sqlite_master")}
        self.db.execute("INSERT INTO metadata (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (EXTENSION_VERSION_KEY + namespace, str(version)))
        return sorted(name for name in after - before
                      if not name.startswith(namespace + "_") and not name.startswith("sqlite_autoindex_"))

    # -- issues ----------------------------------------------------------------------

    def issue_exists(self, issue_id: str) -> bool:
        """True for any row with this ID, tombstones included."""
        return self.db.one("SELECT 1 FROM issues WHERE id = ?", (issue_id,)) is not None

    def get_issue(self, issue_id: str) -> Issue | None:
        row = self.db.one(f"SELECT {SELECT_COLUMNS} FROM issues i WHERE i.id = ?", (issue_id,))
        return row_to_issue(row) if row else None

    def get_issues(self, ids: list[str]) -> dict[str, Issue]:
        out: dict[str, Issue] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for row in self.db.all(f"SELECT {SELECT_COLUMNS} FROM issues i WHERE i.id IN ({marks})", chunk):
                issue = row_to_issue(row)
                out[issue["id"]] = issue
        return out

    def all_issues(self, *, include_tombstones: bool = True, include_ephemeral: bool = True) -> list[Issue]:
        where = []
        if not include_tombstones:
            where.append("i.status != 'tombstone'")
        if not include_ephemeral:
            where.append("i.ephemeral = 0")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return [row_to_issue(r) for r in self.db.all(f"SELECT {SELECT_COLUMNS} FROM issues i {clause} ORDER BY i.id")]

    def insert_issue(self, issue: Issue, content_hash: str) -> Issue:
        """Insert one row; returns the issue exactly as ``get_issue`` would now read it."""
        values = insert_values(issue, content_hash)
        self.db.execute(INSERT_SQL, values)
        self.db.on_commit(self.refresh_statistics, once=True)
        return row_to_issue(tuple(values))  # the values are in SELECT_COLUMNS order (source_repo last, unused)

    def insert_issues(self, issues: list[Issue], hashes: list[str]) -> None:
        self.db.executemany(INSERT_SQL, [insert_values(i, h) for i, h in zip(issues, hashes, strict=True)])
        self.db.on_commit(self.refresh_statistics, once=True)

    def refresh_statistics(self) -> bool:
        """``ANALYZE`` (sampled) when the planner's statistics are missing or the issues table has
        doubled since they were taken; True if it ran.

        Called after a commit that inserted issues, never on a read. The queries are written
        to be linear without statistics (tests/storage/test_query_plans.py); statistics let
        SQLite pick the cheaper of two good plans. Best effort: a busy database skips it.
        """
        db = self.db
        rows = self.rowid_bound()
        if rows < STATISTICS_MIN_ROWS:
            return False
        if db.one("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"):
            stat = db.scalar("SELECT stat FROM sqlite_stat1 WHERE tbl = 'issues' LIMIT 1")
            taken = int(str(stat).split()[0]) if stat else 0
            if taken and rows < 2 * taken:
                return False
        try:
            db.execute("PRAGMA analysis_limit = 1000")  # sampled: milliseconds on any size
            db.execute("ANALYZE")
        except BdError:
            return False
        return True

    def update_issue(self, issue_id: str, changes: dict[str, Any], content_hash: str,
                     full_issue: Issue | None = None) -> None:
        """Write ``changes`` (JSON keys) to the row; keys without a column go to extra_json."""
        sets: list[str] = []
        params: list[Any] = []
        extra_changed = False
        for key, value in changes.items():
            try:
                col = column_name(key)
            except KeyError:
                extra_changed = True
                continue
            sets.append(f"{col} = ?")
            params.append(column_value(key, value))
        if extra_changed and full_issue is not None:
            sets.append("extra_json = ?")
            params.append(extra_of(full_issue))
        sets.append("content_hash = ?")
        params.append(content_hash)
        params.append(issue_id)
        self.db.execute(f"UPDATE issues SET {', '.join(sets)} WHERE id = ?", params)

    def delete_issue_row(self, issue_id: str) -> None:
        """Hard delete: the row and everything hanging off it."""
        db = self.db
        db.execute("DELETE FROM dependencies WHERE issue_id = ? OR depends_on_id = ?", (issue_id, issue_id))
        for table in ("labels", "comments", "events", "export_hashes", "blocked_issues_cache",
                      "child_counters"):
            col = "parent_id" if table == "child_counters" else "issue_id"
            db.execute(f"DELETE FROM {table} WHERE {col} = ?", (issue_id,))
        db.execute("DELETE FROM issues WHERE id = ?", (issue_id,))
        # A dirty mark without a row records the deletion until the JSONL export drops the line
        # (a classic Go beads.db may have a foreign key here that refuses it: then it is skipped).
        try:
            db.execute("INSERT INTO dirty_issues (issue_id, marked_at) VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', "
                       "'now')) ON CONFLICT(issue_id) DO UPDATE SET marked_at = excluded.marked_at", (issue_id,))
        except BdError:
            pass

    def rename_issue(self, old_id: str, new_id: str) -> None:
        """Change an issue's ID everywhere it is referenced."""
        db = self.db
        db.execute("PRAGMA defer_foreign_keys = ON")
        db.execute("UPDATE issues SET id = ? WHERE id = ?", (new_id, old_id))
        for table, col in (("dependencies", "issue_id"), ("dependencies", "depends_on_id"), ("labels", "issue_id"),
                           ("comments", "issue_id"), ("events", "issue_id"), ("dirty_issues", "issue_id"),
                           ("export_hashes", "issue_id"), ("blocked_issues_cache", "issue_id"),
                           ("child_counters", "parent_id"), ("compaction_snapshots", "issue_id"),
                           ("issue_snapshots", "issue_id")):
            try:
                db.execute(f"UPDATE OR IGNORE {table} SET {col} = ? WHERE {col} = ?", (new_id, old_id))
            except BdError:
                if table not in ("compaction_snapshots", "issue_snapshots"):
                    raise  # an older database without the snapshot tables is fine

    def count_top_level(self, prefix: str, limit: int = -1) -> int:
        """Issues ``<prefix>-x`` with no '.' after the prefix (drives adaptive ID length), counted
        up to ``limit`` when it is not negative (a walk of the ID index that stops there)."""
        start = prefix + "-"
        # every ID in [prefix-, prefix.) starts with "prefix-": unless the prefix has a dot
        # itself, any dot marks a child, and a plain instr() costs a third of instr(substr())
        params: tuple[str | int, ...] = (start, prefix + ".", limit)
        cond = "instr(id, '.') = 0"
        if "." in prefix:
            cond, params = "instr(substr(id, ?), '.') = 0", (start, prefix + ".", len(start) + 1, limit)
        n = self.db.scalar(f"SELECT COUNT(*) FROM (SELECT 1 FROM issues WHERE id >= ? AND id < ? AND {cond} LIMIT ?)",
                           params)
        return int(n or 0)  # type: ignore[call-overload]

    def rowid_bound(self) -> int:
        """The largest rowid of ``issues``: at least its number of rows, read from the end of the table."""
        return int(self.db.scalar("SELECT COALESCE(MAX(rowid), 0) FROM issues") or 0)  # type: ignore[call-overload]

    def all_ids(self, *, include_tombstones: bool = True) -> list[str]:
        sql = "SELECT id FROM issues" + ("" if include_tombstones else " WHERE status != 'tombstone'")
        return [r[0] for r in self.db.all(sql + " ORDER BY id")]

    def find_ids_containing(self, fragment: str, *, include_tombstones: bool = False) -> list[str]:
        like = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = "SELECT id FROM issues WHERE id LIKE ? ESCAPE '\\'"
        if not include_tombstones:
            sql += " AND status != 'tombstone'"
        return [r[0] for r in self.db.all(sql + " ORDER BY id", (like,))]

    def find_by_external_ref(self, ref: str) -> str | None:
        row = self.db.one("SELECT id FROM issues WHERE external_ref = ?", (ref,))
        return row[0] if row else None

    def find_by_content_hash(self, content_hash: str) -> list[str]:
        return [r[0] for r in self.db.all("SELECT id FROM issues WHERE content_hash = ? ORDER BY id", (content_hash,))]

    def issue_count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM issues") or 0)  # type: ignore[call-overload]

    # -- labels ----------------------------------------------------------------------

    def add_label(self, issue_id: str, label: str) -> bool:
        cur = self.db.execute("INSERT OR IGNORE INTO labels (issue_id, label) VALUES (?, ?)", (issue_id, label))
        return cur.rowcount > 0

    def remove_label(self, issue_id: str, label: str) -> bool:
        cur = self.db.execute("DELETE FROM labels WHERE issue_id = ? AND label = ?", (issue_id, label))
        return cur.rowcount > 0

    def labels_of(self, issue_id: str) -> list[str]:
        return [r[0] for r in self.db.all("SELECT label FROM labels WHERE issue_id = ? ORDER BY label", (issue_id,))]

    def labels_for(self, ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for issue_id, label in self.db.all(
                f"SELECT issue_id, label FROM labels WHERE issue_id IN ({marks}) ORDER BY issue_id, label", chunk
            ):
                out.setdefault(issue_id, []).append(label)
        return out

    def all_labels(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for issue_id, label in self.db.all("SELECT issue_id, label FROM labels ORDER BY issue_id, label"):
            out.setdefault(issue_id, []).append(label)
        return out

    def label_counts(self) -> list[tuple[str, int]]:
        """Issues per label, tombstones not counted. Counting every row from the label index and
        subtracting the (few) tombstones' labels avoids looking up the issue of every label row."""
        dead = dict(self.db.all(
            "SELECT l.label, COUNT(*) FROM issues i CROSS JOIN labels l ON l.issue_id = i.id "
            "WHERE i.status = 'tombstone' GROUP BY l.label"))
        counts = ((r[0], r[1] - dead.get(r[0], 0)) for r in self.db.all(
            "SELECT label, COUNT(*) FROM labels GROUP BY label ORDER BY label"))
        return [(label, n) for label, n in counts if n > 0]

    # -- comments and events -----------------------------------------------------------

    def add_comment(self, issue_id: str, author: str, text: str, created_at: str) -> dict[str, Any]:
        cur = self.db.execute("INSERT INTO comments (issue_id, author, text, created_at) VALUES (?, ?, ?, ?)",
                              (issue_id, author, text, created_at))
        return {"id": cur.lastrowid, "issue_id": issue_id, "author": author, "text": text, "created_at": created_at}

    def set_comment_text(self, comment_id: int, text: str) -> None:
        self.db.execute("UPDATE comments SET text = ? WHERE id = ?", (text, comment_id))

    def add_compaction_snapshot(self, issue_id: str, level: int, snapshot_json: str, created_at: str) -> None:
        self.db.execute("INSERT INTO compaction_snapshots (issue_id, compaction_level, snapshot_json, created_at) "
                        "VALUES (?, ?, ?, ?)", (issue_id, level, snapshot_json, created_at))

    def latest_compaction_snapshot(self, issue_id: str) -> tuple[int, str] | None:
        """``(level, snapshot_json)`` of the issue's newest snapshot (the content before its last compaction)."""
        row = self.db.one("SELECT compaction_level, snapshot_json FROM compaction_snapshots WHERE issue_id = ? "
                          "ORDER BY id DESC LIMIT 1", (issue_id,))
        if row is None:
            return None
        data = row[1]
        return int(row[0]), data.decode("utf-8") if isinstance(data, bytes) else str(data)

    def drop_compaction_snapshot(self, issue_id: str) -> None:
        self.db.execute("DELETE FROM compaction_snapshots WHERE id = (SELECT MAX(id) FROM compaction_snapshots "
                        "WHERE issue_id = ?)", (issue_id,))

    def comments_of(self, issue_id: str) -> list[dict[str, Any]]:
        return self.comments_for([issue_id]).get(issue_id, [])

    def comments_for(self, ids: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        sql = "SELECT id, issue_id, author, text, created_at FROM comments"
        batches: list[list[str] | None] = list(_chunks(ids)) if ids is not None else [None]
        for chunk in batches:
            if chunk is None:
                rows = self.db.all(sql + " ORDER BY issue_id, created_at, id")
            else:
                marks = ",".join("?" * len(chunk))
                rows = self.db.all(sql + f" WHERE issue_id IN ({marks}) ORDER BY issue_id, created_at, id", chunk)
            for cid, issue_id, author, text, created_at in rows:
                out.setdefault(issue_id, []).append(
                    {"id": cid, "issue_id": issue_id, "author": author, "text": text, "created_at": created_at})
        return out

    def add_event(self, issue_id: str, event_type: str, actor: str, created_at: str, *,
                  old_value: str | None = None, new_value: str | None = None, comment: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (issue_id, event_type, actor, old_value, new_value, comment, created_at),
        )

    def insert_events(self, rows: list[tuple[str, str, str, str | None, str | None, str | None, str]]) -> None:
        """Many events in one statement: (issue_id, event_type, actor, old_value, new_value, comment, created_at)."""
        self.db.executemany(
            "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def mutation_mark(self) -> tuple[int, frozenset[str]]:
        """Where the audit trail stands now: the last event id, and the deletions not exported yet."""
        last = self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        gone = self.db.all("SELECT d.issue_id FROM dirty_issues d LEFT JOIN issues i ON i.id = d.issue_id "
                           "WHERE i.id IS NULL")
        return int(last or 0), frozenset(r[0] for r in gone)  # type: ignore[call-overload]

    def changes_since(self, mark: tuple[int, frozenset[str]]) -> list[tuple[str, str, str | None, str | None]]:
        """(issue_id, event_type, title, actor) of each event after ``mark``, then ('id', 'deleted', None,
        None) for each issue deleted outright since (its events went with it)."""
        rows = self.db.all("SELECT e.issue_id, e.event_type, i.title, e.actor FROM events e "
                           "LEFT JOIN issues i ON i.id = e.issue_id WHERE e.id > ? ORDER BY e.id", (mark[0],))
        out = [(r[0], r[1], r[2], r[3]) for r in rows]
        gone = self.db.all("SELECT d.issue_id FROM dirty_issues d LEFT JOIN issues i ON i.id = d.issue_id "
                           "WHERE i.id IS NULL")
        out += [(r[0], "deleted", None, None) for r in gone if r[0] not in mark[1]]
        return out

    def events_of(self, issue_id: str) -> list[dict[str, Any]]:
        cols = ("id", "issue_id", "event_type", "actor", "old_value", "new_value", "comment", "created_at")
        rows = self.db.all(f"SELECT {', '.join(cols)} FROM events WHERE issue_id = ? ORDER BY id", (issue_id,))
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # -- dirty tracking and export hashes -------------------------------------------------

    def mark_dirty(self, ids: list[str] | set[str], marked_at: str) -> None:
        self.db.executemany(
            "INSERT INTO dirty_issues (issue_id, marked_at) VALUES (?, ?) "
            "ON CONFLICT(issue_id) DO UPDATE SET marked_at = excluded.marked_at",
            [(i, marked_at) for i in ids],
        )

    def dirty_ids(self) -> list[str]:
        return [r[0] for r in self.db.all("SELECT issue_id FROM dirty_issues ORDER BY issue_id")]

    def clear_dirty(self, ids: list[str] | None = None, *, marked_before: str | None = None) -> None:
        """Clear dirty marks for ``ids`` (all when None), keeping marks newer than ``marked_before``."""
        if ids is None:
            if marked_before is None:
                self.db.execute("DELETE FROM dirty_issues")
            else:
                self.db.execute("DELETE FROM dirty_issues WHERE marked_at <= ?", (marked_before,))
            return
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            sql = f"DELETE FROM dirty_issues WHERE issue_id IN ({marks})"
            params: list[Any] = list(chunk)
            if marked_before is not None:
                sql += " AND marked_at <= ?"
                params.append(marked_before)
            self.db.execute(sql, params)

    def clear_export_hashes(self) -> None:
        self.db.execute("DELETE FROM export_hashes")

    # -- hierarchical child counters ---------------------------------------------------------

    def next_child_number(self, parent_id: str) -> int:
        row = self.db.one(
            "INSERT INTO child_counters (parent_id, last_child) VALUES (?, 1) "
            "ON CONFLICT(parent_id) DO UPDATE SET last_child = last_child + 1 RETURNING last_child",
            (parent_id,),
        )
        assert row is not None
        return int(row[0])

    def bump_child_counter(self, parent_id: str, at_least: int) -> None:
        self.db.execute(
            "INSERT INTO child_counters (parent_id, last_child) VALUES (?, ?) "
            "ON CONFLICT(parent_id) DO UPDATE SET last_child = MAX(last_child, excluded.last_child)",
            (parent_id, at_least),
        )

    def schema_info(self) -> dict[str, Any]:
        tables = [r[0] for r in self.db.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'stats_cache' ORDER BY name")]  # created on first use (statscache.py): not schema
        return {
            "schema_version": int(self.db.scalar("PRAGMA user_version") or 0),  # type: ignore[call-overload]
            "tables": {t: [r[1] for r in self.db.all(f"PRAGMA table_info('{t}')")] for t in tables},
        }

    # -- raw access for extensions ---------------------------------------------------------

    @property
    def connection(self) -> Any:
        """The underlying ``sqlite3.Connection`` (for applications that add their own tables)."""
        return self.db.conn

    def dumps_json(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _chunks(ids: list[str] | set[str] | None, size: int = 500) -> list[list[str]]:
    items = list(ids or [])
    return [items[i:i + size] for i in range(0, len(items), size)]
