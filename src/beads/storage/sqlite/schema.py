"""Schema and numbered migrations for ``beads.db``.

Table and column names are the original's (spec §3) so that tools and extensions
written against a classic ``beads.db`` keep working. Migrations are appended to
``MIGRATIONS`` and never edited; each runs in the same transaction as the row that
records it in ``schema_migrations``. ``PRAGMA user_version`` mirrors the count so the
hot path checks one integer instead of reading tables.
"""

from __future__ import annotations

M001_INITIAL = """
CREATE TABLE IF NOT EXISTS issues (
    id TEXT PRIMARY KEY,
    content_hash TEXT,
    title TEXT NOT NULL CHECK(length(title) <= 500),
    description TEXT NOT NULL DEFAULT '',
    design TEXT NOT NULL DEFAULT '',
    acceptance_criteria TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    priority INTEGER NOT NULL DEFAULT 2 CHECK(priority >= 0 AND priority <= 4),
    issue_type TEXT NOT NULL DEFAULT 'task',
    assignee TEXT,
    owner TEXT DEFAULT '',
    estimated_minutes INTEGER,
    created_at DATETIME NOT NULL,
    created_by TEXT DEFAULT '',
    updated_at DATETIME NOT NULL,
    closed_at DATETIME,
    close_reason TEXT DEFAULT '',
    closed_by_session TEXT DEFAULT '',
    due_at DATETIME,
    defer_until DATETIME,
    external_ref TEXT,
    source_system TEXT DEFAULT '',
    compaction_level INTEGER DEFAULT 0,
    compacted_at DATETIME,
    compacted_at_commit TEXT,
    original_size INTEGER,
    source_repo TEXT DEFAULT '',
    deleted_at DATETIME,
    deleted_by TEXT DEFAULT '',
    delete_reason TEXT DEFAULT '',
    original_type TEXT DEFAULT '',
    sender TEXT DEFAULT '',
    ephemeral INTEGER DEFAULT 0,
    pinned INTEGER DEFAULT 0,
    is_template INTEGER DEFAULT 0,
    crystallizes INTEGER DEFAULT 0,
    quality_score REAL,
    await_type TEXT DEFAULT '',
    await_id TEXT DEFAULT '',
    timeout_ns INTEGER DEFAULT 0,
    waiters TEXT DEFAULT '',
    hook_bead TEXT DEFAULT '',
    role_bead TEXT DEFAULT '',
    agent_state TEXT DEFAULT '',
    last_activity DATETIME,
    role_type TEXT DEFAULT '',
    rig TEXT DEFAULT '',
    mol_type TEXT DEFAULT '',
    work_type TEXT DEFAULT '',
    event_kind TEXT DEFAULT '',
    actor TEXT DEFAULT '',
    target TEXT DEFAULT '',
    payload TEXT DEFAULT '',
    extra_json TEXT DEFAULT '',
    CHECK (
        (status = 'closed' AND closed_at IS NOT NULL) OR
        (status = 'tombstone') OR
        (status NOT IN ('closed', 'tombstone') AND closed_at IS NULL)
    )
);
CREATE INDEX IF NOT EXISTS idx_issues_status ON issues(status);
CREATE INDEX IF NOT EXISTS idx_issues_priority ON issues(priority);
CREATE INDEX IF NOT EXISTS idx_issues_assignee ON issues(assignee);
CREATE INDEX IF NOT EXISTS idx_issues_created_at ON issues(created_at);
CREATE INDEX IF NOT EXISTS idx_issues_updated_at ON issues(updated_at);
CREATE INDEX IF NOT EXISTS idx_issues_status_priority ON issues(status, priority, created_at);
CREATE INDEX IF NOT EXISTS idx_issues_content_hash ON issues(content_hash);
CREATE UNIQUE INDEX IF NOT EXISTS idx_issues_external_ref_unique ON issues(external_ref)
    WHERE external_ref IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_issues_deleted_at ON issues(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_issues_ephemeral ON issues(ephemeral) WHERE ephemeral = 1;
CREATE INDEX IF NOT EXISTS idx_issues_pinned ON issues(pinned) WHERE pinned = 1;
CREATE INDEX IF NOT EXISTS idx_issues_is_template ON issues(is_template) WHERE is_template = 1;

CREATE TABLE IF NOT EXISTS dependencies (
    issue_id TEXT NOT NULL,
    depends_on_id TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'blocks',
    created_at DATETIME NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    metadata TEXT DEFAULT '{}',
    thread_id TEXT DEFAULT '',
    PRIMARY KEY (issue_id, depends_on_id, type),
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_dependencies_issue ON dependencies(issue_id);
CREATE INDEX IF NOT EXISTS idx_dependencies_depends_on ON dependencies(depends_on_id);
CREATE INDEX IF NOT EXISTS idx_dependencies_depends_on_type ON dependencies(depends_on_id, type);
CREATE INDEX IF NOT EXISTS idx_dependencies_depends_on_type_issue ON dependencies(depends_on_id, type, issue_id);
CREATE INDEX IF NOT EXISTS idx_dependencies_issue_type ON dependencies(issue_id, type);
CREATE INDEX IF NOT EXISTS idx_dependencies_thread ON dependencies(thread_id) WHERE thread_id != '';

CREATE TABLE IF NOT EXISTS labels (
    issue_id TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (issue_id, label),
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_labels_label ON labels(label);
CREATE INDEX IF NOT EXISTS idx_labels_label_issue ON labels(label, issue_id);

CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_comments_issue ON comments(issue_id);
CREATE INDEX IF NOT EXISTS idx_comments_created_at ON comments(created_at);

CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    actor TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    comment TEXT,
    created_at DATETIME NOT NULL,
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_events_issue ON events(issue_id);
CREATE INDEX IF NOT EXISTS idx_events_created_at ON events(created_at);

CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS dirty_issues (
    issue_id TEXT PRIMARY KEY,
    marked_at DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_dirty_issues_marked_at ON dirty_issues(marked_at);

CREATE TABLE IF NOT EXISTS export_hashes (
    issue_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    exported_at DATETIME NOT NULL
);

CREATE TABLE IF NOT EXISTS child_counters (
    parent_id TEXT PRIMARY KEY,
    last_child INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (parent_id) REFERENCES issues(id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS blocked_issues_cache (
    issue_id TEXT NOT NULL,
    PRIMARY KEY (issue_id),
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS compaction_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL,
    compaction_level INTEGER NOT NULL,
    snapshot_json BLOB NOT NULL,
    created_at DATETIME NOT NULL,
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS repo_mtimes (
    repo_path TEXT PRIMARY KEY,
    jsonl_path TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    last_checked DATETIME NOT NULL
);

INSERT OR IGNORE INTO config (key, value) VALUES
    ('compaction_enabled', 'false'),
    ('compact_tier1_days', '30'),
    ('compact_tier1_dep_levels', '2'),
    ('compact_tier2_days', '90'),
    ('compact_tier2_dep_levels', '5'),
    ('compact_tier2_commits', '100'),
    ('compact_model', 'claude-3-5-haiku-20241022'),
    ('compact_batch_size', '50'),
    ('compact_parallel_workers', '5'),
    ('auto_compact_enabled', 'false');
"""

M002_LEGACY_VIEWS = """
CREATE VIEW IF NOT EXISTS ready_issues AS
    SELECT i.* FROM issues i
    WHERE i.status = 'open'
      AND NOT EXISTS (SELECT 1 FROM blocked_issues_cache b WHERE b.issue_id = i.id);
CREATE VIEW IF NOT EXISTS blocked_issues AS
    SELECT i.*, COUNT(d.depends_on_id) AS blocked_by_count
    FROM issues i
    JOIN dependencies d ON i.id = d.issue_id
    JOIN issues blocker ON d.depends_on_id = blocker.id
    WHERE i.status IN ('open', 'in_progress', 'blocked', 'deferred', 'hooked')
      AND d.type = 'blocks'
      AND blocker.status IN ('open', 'in_progress', 'blocked', 'deferred', 'hooked')
    GROUP BY i.id;
"""

# The original's remaining compaction/hydration table and indexes (spec §3), so that every
# table a classic tool expects is present.
M003_ISSUE_SNAPSHOTS = """
CREATE TABLE IF NOT EXISTS issue_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL,
    snapshot_time DATETIME NOT NULL,
    compaction_level INTEGER NOT NULL,
    original_size INTEGER NOT NULL,
    compressed_size INTEGER NOT NULL,
    original_content TEXT NOT NULL,
    archived_events TEXT,
    FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_snapshots_issue ON issue_snapshots(issue_id);
CREATE INDEX IF NOT EXISTS idx_snapshots_level ON issue_snapshots(compaction_level);
CREATE INDEX IF NOT EXISTS idx_comp_snap_issue_level_created
    ON compaction_snapshots(issue_id, compaction_level, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_repo_mtimes_checked ON repo_mtimes(last_checked);
"""

# `bd list` sorts by priority, newest first: with created_at in the index (descending) the
# default page is read in index order and the scan stops after --limit rows.
M004_PRIORITY_CREATED_INDEX = """
DROP INDEX IF EXISTS idx_issues_priority;
CREATE INDEX IF NOT EXISTS idx_issues_priority ON issues(priority, created_at DESC);
"""

# The blocked-cache rebuild joins every blocking edge with its target's status: with the id
# in the status index that join is answered from the index alone (about twice as fast).
M005_STATUS_ID_INDEX = """
DROP INDEX IF EXISTS idx_issues_status;
CREATE INDEX IF NOT EXISTS idx_issues_status ON issues(status, id);
"""

# `epic status` and the stats' "epics eligible" read the epics only: without this index they
# scan every issue row (descriptions included) to find the few epics.
M006_ISSUE_TYPE_INDEX = """
CREATE INDEX IF NOT EXISTS idx_issues_issue_type ON issues(issue_type);
"""

# `stats`/`status`/`info` count ready and blocked issues and average the lead time over whole
# status ranges: with every column those counts test in one index they read the index alone,
# never the issue rows (descriptions included), which made them 5-7x slower on 100,000 issues.
M007_STATUS_COVERING_INDEX = """
CREATE INDEX IF NOT EXISTS idx_issues_status_cover ON issues(
    status, pinned, ephemeral, is_template, issue_type, defer_until, closed_at, created_at, id);
"""

# Every write that can change blockedness asks whether any waits-for gate exists (most
# workspaces have none) and which issues they hold: without an index on the type, each
# question scanned the whole edge table (15-70 ms at 100,000 issues). A partial index holds
# the waits-for edges only, so it costs nothing where there are none.
M008_WAITS_FOR_INDEX = """
CREATE INDEX IF NOT EXISTS idx_dependencies_waits_for ON dependencies(issue_id) WHERE type = 'waits-for';
"""

# (name, sql) in order; the position + 1 is the migration number.
MIGRATIONS: list[tuple[str, str]] = [
    ("m001_initial", M001_INITIAL),
    ("m002_legacy_views", M002_LEGACY_VIEWS),
    ("m003_issue_snapshots", M003_ISSUE_SNAPSHOTS),
    ("m004_priority_created_index", M004_PRIORITY_CREATED_INDEX),
    ("m005_status_id_index", M005_STATUS_ID_INDEX),
    ("m006_issue_type_index", M006_ISSUE_TYPE_INDEX),
    ("m007_status_covering_index", M007_STATUS_COVERING_INDEX),
    ("m008_waits_for_index", M008_WAITS_FOR_INDEX),
]

SCHEMA_VERSION = len(MIGRATIONS)
