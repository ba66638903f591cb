"""Figures kept in the database until a write can change them (``bd stats``, ``bd epic status``).

Counting ready and blocked work reads every open issue and every blocking edge: a few hundred
milliseconds on 100,000 issues, for a summary agents ask for again and again between writes.
The result is kept in ``stats_cache`` (a row per kind of figures: ``stats``, the children counts of
``epic status``) and dropped by triggers on every change of its
inputs — issue rows (the columns the figures read), dependencies, the blocked cache — so any
writer, this code or another tool, invalidates it inside its own transaction. A read stores what
it computed only if nothing was committed since its snapshot began (the write is refused
otherwise: SQLite's ``SQLITE_BUSY_SNAPSHOT``), and never waits for a lock to do so. The ready
count depends on the clock (``defer_until``), so each entry also carries the moment the next
deferral ends, after which it is computed again.

The table and triggers are created by the first read that stores figures, so a database that
never answered ``bd stats`` pays nothing on its writes (an import into a fresh database).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.storage.sqlite.connection import Database

# The issue columns the figures read (statistics, count_ready, count_blocked); the id for renames.
_ISSUE_COLUMNS = "id, status, pinned, ephemeral, is_template, issue_type, defer_until, closed_at, created_at"
_DROP = "BEGIN DELETE FROM stats_cache; END"

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS stats_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, valid_until REAL)",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_issue_insert AFTER INSERT ON issues {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_issue_delete AFTER DELETE ON issues {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_issue_update AFTER UPDATE OF {_ISSUE_COLUMNS} ON issues {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_dep_insert AFTER INSERT ON dependencies {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_dep_delete AFTER DELETE ON dependencies {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_dep_update AFTER UPDATE ON dependencies {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_blocked_insert AFTER INSERT ON blocked_issues_cache {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_blocked_delete AFTER DELETE ON blocked_issues_cache {_DROP}",
    f"CREATE TRIGGER IF NOT EXISTS stats_cache_blocked_update AFTER UPDATE ON blocked_issues_cache {_DROP}",
]

def cached_stats(db: Database, key: str) -> dict[str, Any] | None:
    """The figures kept under ``key``, if any and not expired (call inside the read snapshot that
    uses them)."""
    try:
        row = db.conn.execute("SELECT value, valid_until FROM stats_cache WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # no table yet (never stored), or unreadable: compute
        return None
    if row is None or (row[1] is not None and time.time() >= row[1]):
        return None
    value: dict[str, Any] = json.loads(row[0])
    return value


def keep_stats(db: Database, key: str, stats: dict[str, Any], valid_until: float | None) -> bool:
    """Store ``stats`` computed in the current transaction's snapshot (see ``keep_if_current``)."""
    writes: list[tuple[str, tuple[Any, ...]]] = [(statement, ()) for statement in SCHEMA]
    writes.append(("INSERT OR REPLACE INTO stats_cache (key, value, valid_until) VALUES (?, ?, ?)",
                   (key, json.dumps(stats), valid_until)))
    return keep_if_current(db, writes)


def keep_if_current(db: Database, writes: list[tuple[str, tuple[Any, ...]]]) -> bool:
    """Run ``writes`` (what a read derived) if the current transaction's snapshot is still the
    newest state; False (nothing written) when another connection committed since it began, holds
    the write lock, or the database is read-only. Never waits, never ends the caller's transaction."""
    conn = db.conn
    if db.readonly or not conn.in_transaction:
        return False
    # An upgrade from a read transaction never waits: SQLite refuses it at once (SQLITE_BUSY) while
    # another connection holds the write lock, and with SQLITE_BUSY_SNAPSHOT once one has committed.
    try:
        conn.execute("SAVEPOINT keep_derived")
        for sql, params in writes:
            conn.execute(sql, params)
        conn.execute("RELEASE keep_derived")
        return True
    except sqlite3.Error:  # busy, stale snapshot, read-only file...: keep nothing
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK TO keep_derived")
            conn.execute("RELEASE keep_derived")
        return False
