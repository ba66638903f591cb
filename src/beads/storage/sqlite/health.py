"""Read-only probes ``bd doctor`` runs on a database (integrity, schema version, dangling edges, old
tombstones) and the one ``bd prime`` adds. Kept apart from the store so the hot path never loads them."""

from __future__ import annotations

import sqlite3

from beads.storage.sqlite.connection import readonly_uri

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.storage.sqlite.store import SqliteStore


def peek_user_version(db_path: str) -> int | None:
    """``PRAGMA user_version`` of a database file without opening a store (which would migrate
    it); None when the file cannot be read as SQLite."""
    try:
        conn = sqlite3.connect(readonly_uri(db_path), uri=True, timeout=5.0)
    except sqlite3.Error:
        return None
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def quick_check(db_path: str, limit: int = 20) -> list[str]:
    """``PRAGMA quick_check`` problems (empty when the file is sound); opened read-only."""
    try:
        conn = sqlite3.connect(readonly_uri(db_path), uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return [str(exc)]
    try:
        rows = conn.execute(f"PRAGMA quick_check({int(limit)})").fetchall()
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        conn.close()
    found = [str(r[0]) for r in rows]
    return [] if found == ["ok"] else found


def orphaned_dependencies(store: SqliteStore) -> list[dict[str, Any]]:
    """Edges whose target is no issue here and not an ``external:`` reference."""
    rows = store.db.all(
        "SELECT d.issue_id, d.depends_on_id, d.type FROM dependencies d "
        "LEFT JOIN issues i ON i.id = d.depends_on_id "
        "WHERE i.id IS NULL AND d.depends_on_id NOT LIKE 'external:%' ORDER BY d.issue_id, d.depends_on_id")
    return [{"issue_id": r[0], "depends_on_id": r[1], "type": r[2]} for r in rows]


def tombstones_deleted_before(store: SqliteStore, cutoff: str) -> list[str]:
    """IDs of tombstones whose ``deleted_at`` is older than ``cutoff`` (an RFC 3339 text)."""
    rows = store.db.all(
        "SELECT id FROM issues WHERE status = 'tombstone' AND deleted_at IS NOT NULL AND deleted_at != '' "
        "AND julianday(deleted_at) < julianday(?) ORDER BY id", (cutoff,))
    return [r[0] for r in rows]


def in_progress_of(store: SqliteStore, assignee: str, limit: int = 3) -> list[tuple[str, str]]:
    """(id, title) of ``assignee``'s issues in progress, most urgent first (``bd prime``). Searched by
    the assignee index (``+status`` keeps SQLite off the status index, which at 100,000 issues means
    sorting every issue in progress to find an agent's few)."""
    rows = store.db.all(
        "SELECT id, title FROM issues WHERE assignee = ? AND +status = 'in_progress' AND is_template = 0 "
        "ORDER BY priority ASC, created_at DESC LIMIT ?", (assignee, int(limit)))
    return [(str(r[0]), str(r[1])) for r in rows]
