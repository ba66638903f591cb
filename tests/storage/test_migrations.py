"""Schema compatibility (spec §3): the original's table and column names, and upgrading a classic ``beads.db``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import beads
from beads.query import ReadyFilter
from beads.storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from beads.storage.sqlite.store import SqliteStore

# Spec §3 (v0.40 schema + v0.47 columns): table -> columns a classic tool may read.
ORIGINAL_COLUMNS: dict[str, list[str]] = {
    "issues": [
        "id", "content_hash", "title", "description", "design", "acceptance_criteria", "notes", "status",
        "priority", "issue_type", "assignee", "estimated_minutes", "created_at", "created_by", "updated_at",
        "closed_at", "external_ref", "compaction_level", "compacted_at", "compacted_at_commit", "original_size",
        "source_repo", "close_reason", "deleted_at", "deleted_by", "delete_reason", "original_type", "sender",
        "ephemeral", "pinned", "is_template", "await_type", "await_id", "timeout_ns", "waiters", "hook_bead",
        "role_bead", "agent_state", "last_activity", "role_type", "rig",
        # v0.47
        "owner", "closed_by_session", "due_at", "defer_until", "source_system", "quality_score", "crystallizes",
        "mol_type", "work_type", "event_kind", "actor", "target", "payload",
    ],
    "dependencies": ["issue_id", "depends_on_id", "type", "created_at", "created_by", "metadata", "thread_id"],
    "labels": ["issue_id", "label"],
    "comments": ["id", "issue_id", "author", "text", "created_at"],
    "events": ["id", "issue_id", "event_type", "actor", "old_value", "new_value", "comment", "created_at"],
    "config": ["key", "value"],
    "metadata": ["key", "value"],
    "dirty_issues": ["issue_id", "marked_at"],
    "export_hashes": ["issue_id", "content_hash", "exported_at"],
    "child_counters": ["parent_id", "last_child"],
    "blocked_issues_cache": ["issue_id"],
    "issue_snapshots": ["id", "issue_id", "snapshot_time", "compaction_level", "original_size", "compressed_size",
                        "original_content", "archived_events"],
    "compaction_snapshots": ["issue_id", "compaction_level", "snapshot_json", "created_at"],
    "repo_mtimes": ["repo_path", "jsonl_path", "mtime_ns", "last_checked"],
}

ORIGINAL_INDEXES = [
    "idx_issues_status", "idx_issues_priority", "idx_issues_assignee", "idx_issues_created_at",
    "idx_issues_external_ref_unique", "idx_dependencies_issue", "idx_dependencies_depends_on",
    "idx_dependencies_depends_on_type", "idx_dependencies_depends_on_type_issue", "idx_labels_label",
    "idx_comments_issue", "idx_events_issue", "idx_dirty_issues_marked_at", "idx_snapshots_issue",
    "idx_comp_snap_issue_level_created", "idx_repo_mtimes_checked",
]

# A minimal classic issues table: v0.30-era columns only (no owner, no extra_json, no v0.40+ fields).
MINIMAL_CLASSIC = """
CREATE TABLE issues (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL CHECK(length(title) <= 500),
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    priority INTEGER NOT NULL DEFAULT 2,
    issue_type TEXT NOT NULL DEFAULT 'task',
    assignee TEXT,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    closed_at DATETIME
);
INSERT INTO issues (id, title, description, priority, created_at, updated_at)
    VALUES ('bd-a1', 'Old issue', 'from the Go days', 1, '2025-01-01 10:00:00', '2025-01-01 10:00:00');
INSERT INTO issues (id, title, status, created_at, updated_at, closed_at)
    VALUES ('bd-b2', 'Old closed', 'closed', '2025-01-01 10:00:00', '2025-01-02 10:00:00', '2025-01-02 10:00:00');
"""

# The rest of a pre-edge-metadata classic database: edges without metadata/thread_id, labels, config.
CLASSIC_REST = """
CREATE TABLE dependencies (
    issue_id TEXT NOT NULL,
    depends_on_id TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'blocks',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by TEXT NOT NULL,
    PRIMARY KEY (issue_id, depends_on_id),
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);
CREATE TABLE labels (issue_id TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY (issue_id, label));
CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE dirty_issues (
    issue_id TEXT PRIMARY KEY,
    marked_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);
INSERT INTO issues (id, title, created_at, updated_at) VALUES ('bd-c3', 'Waiting', '2025-01-03 10:00:00',
    '2025-01-03 10:00:00');
INSERT INTO dependencies (issue_id, depends_on_id, type, created_at, created_by)
    VALUES ('bd-c3', 'bd-a1', 'blocks', '2025-01-03 10:00:00', 'alice');
INSERT INTO labels VALUES ('bd-a1', 'legacy');
INSERT INTO config VALUES ('issue_prefix', 'bd');
"""


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]


def classic_db(path: Path, *scripts: str) -> str:
    conn = sqlite3.connect(path)
    conn.executescript("".join(scripts))
    conn.commit()
    conn.close()
    return str(path)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    store = SqliteStore(str(tmp_path / "beads.db"))
    store.close()
    conn = sqlite3.connect(tmp_path / "beads.db")
    yield conn
    conn.close()


@pytest.mark.parametrize("table", sorted(ORIGINAL_COLUMNS))
def test_a_new_database_has_the_originals_table_with_its_column_names(fresh: sqlite3.Connection,
                                                                       table: str) -> None:
    have = columns(fresh, table)
    assert have, f"table {table} is missing"
    assert [c for c in ORIGINAL_COLUMNS[table] if c not in have] == []


def test_the_issues_table_keeps_the_originals_constraints(fresh: sqlite3.Connection) -> None:
    sql = fresh.execute("SELECT sql FROM sqlite_master WHERE name = 'issues'").fetchone()[0]
    assert "CHECK(length(title) <= 500)" in sql
    assert "status NOT IN ('closed', 'tombstone') AND closed_at IS NULL" in sql
    dep_pk = [r[1] for r in sorted(fresh.execute("PRAGMA table_info(dependencies)"), key=lambda r: r[5]) if r[5]]
    assert dep_pk == ["issue_id", "depends_on_id", "type"]


def test_a_new_database_has_the_originals_indexes_and_legacy_views(fresh: sqlite3.Connection) -> None:
    names = {r[0] for r in fresh.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'view')")}
    assert [i for i in ORIGINAL_INDEXES if i not in names] == []
    assert {"ready_issues", "blocked_issues"} <= names


def test_migrations_are_numbered_and_recorded_with_user_version(fresh: sqlite3.Connection) -> None:
    assert fresh.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    names = [name for name, _ in MIGRATIONS]
    assert names == sorted(names)
    assert all(name.startswith(f"m{n:03d}_") for n, name in enumerate(names, start=1))
    recorded = fresh.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert recorded == list(enumerate(names, start=1))


def test_a_minimal_classic_database_is_upgraded_by_opening_it(tmp_path: Path) -> None:
    path = classic_db(tmp_path / "beads.db", MINIMAL_CLASSIC)
    store = SqliteStore(path, create=False)
    conn = store.connection
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    have = columns(conn, "issues")
    assert {"owner", "extra_json", "content_hash", "pinned", "defer_until"} <= set(have)
    for table in ORIGINAL_COLUMNS:
        assert columns(conn, table), f"{table} was not created"
    old = store.get_issue("bd-a1")
    assert old is not None
    assert (old["title"], old["description"], old["priority"], old["owner"], old["pinned"]) == (
        "Old issue", "from the Go days", 1, "", False)
    store.close()


def test_an_upgraded_classic_database_works_for_every_use_case(tmp_path: Path) -> None:
    path = classic_db(tmp_path / "beads.db", MINIMAL_CLASSIC)
    tracker = beads.Tracker(SqliteStore(path, create=False), actor="tester")
    tracker.set_config("issue_prefix", "bd")
    tracker.update("bd-a1", owner="carol", notes="n")
    new = tracker.create("New issue", dependencies=["bd-a1"])
    assert tracker.get("bd-a1")["owner"] == "carol"
    assert [i["id"] for i in tracker.ready(ReadyFilter(limit=0))] == ["bd-a1"]
    tracker.close("bd-a1")
    assert new["id"] in [i["id"] for i in tracker.ready(ReadyFilter(limit=0))]
    tracker.reopen("bd-b2")
    assert tracker.get("bd-b2")["closed_at"] is None
    tracker.disconnect()


def test_upgrading_keeps_classic_edges_labels_and_config_and_fills_the_blocked_cache(tmp_path: Path) -> None:
    path = classic_db(tmp_path / "beads.db", MINIMAL_CLASSIC, CLASSIC_REST)
    store = SqliteStore(path, create=False)
    assert store.get_config("issue_prefix") == "bd"
    assert store.get_config("compaction_enabled") == "false"  # defaults added alongside
    assert store.labels_of("bd-a1") == ["legacy"]
    (edge,) = store.dependencies_of("bd-c3")
    assert (edge["depends_on_id"], edge["type"], edge["created_by"], edge["metadata"]) == ("bd-a1", "blocks",
                                                                                         "alice", "{}")
    assert store.blocked_ids() == {"bd-c3"}
    assert [i["id"] for i in store.ready_issues(ReadyFilter(limit=0))] == ["bd-a1"]
    store.close()


def test_an_upgraded_database_is_not_migrated_again(tmp_path: Path) -> None:
    path = classic_db(tmp_path / "beads.db", MINIMAL_CLASSIC)
    SqliteStore(path, create=False).close()
    conn = sqlite3.connect(path)
    before = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    conn.execute("DELETE FROM config WHERE key = 'compact_model'")
    conn.commit()
    conn.close()
    store = SqliteStore(path, create=False)
    assert store.get_config("compact_model") is None
    assert store.connection.execute("SELECT version, applied_at FROM schema_migrations").fetchall() == before
    store.close()


def test_a_database_from_a_newer_schema_is_opened_as_it_is(tmp_path: Path) -> None:
    path = str(tmp_path / "beads.db")
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.execute("CREATE TABLE future_table (x)")
    conn.commit()
    conn.close()
    store = SqliteStore(path, create=False)
    assert store.schema_info()["schema_version"] == SCHEMA_VERSION + 5
    assert "future_table" in store.schema_info()["tables"]
    store.close()


def test_a_read_only_open_of_a_classic_database_refuses_to_upgrade_it(tmp_path: Path) -> None:
    from beads.errors import ReadOnly

    path = classic_db(tmp_path / "beads.db", MINIMAL_CLASSIC)
    with pytest.raises(ReadOnly, match="schema upgrade"):
        SqliteStore(path, readonly=True, create=False)
    conn = sqlite3.connect(path)
    assert "owner" not in columns(conn, "issues")
    conn.close()
