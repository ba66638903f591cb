"""The orchestrator's tables, as numbered migrations applied with ``Tracker.migrate("orch", ...)``.

Every row that concerns an issue references ``issues(id)`` with ``ON DELETE CASCADE`` (a hard
delete of the issue takes its attempts, events, artifacts and approvals along) and ``ON UPDATE
CASCADE`` (an import that renames an issue keeps them attached). A run only *points* at its
current issue, so deleting that issue clears the pointer instead of deleting the run.
Never edit a migration once released: append a new one.
"""

NAMESPACE = "orch"

V1 = """
CREATE TABLE orch_runs (
    id TEXT PRIMARY KEY,
    goal TEXT NOT NULL DEFAULT '',
    repo_path TEXT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'crashed', 'stopped')),
    summary TEXT NOT NULL DEFAULT '',
    cycle_count INTEGER NOT NULL DEFAULT 0,
    replan_count INTEGER NOT NULL DEFAULT 0,
    current_issue_id TEXT REFERENCES issues(id) ON DELETE SET NULL ON UPDATE CASCADE,
    config_json TEXT NOT NULL DEFAULT '{}',
    pid INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX orch_runs_status ON orch_runs(status, created_at);

CREATE TABLE orch_agent_state (
    run_id TEXT NOT NULL REFERENCES orch_runs(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    session_id TEXT,
    turns INTEGER NOT NULL DEFAULT 0,
    rotation_count INTEGER NOT NULL DEFAULT 0,
    last_prompt_path TEXT,
    last_response_path TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, role)
);

CREATE TABLE orch_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES orch_runs(id) ON DELETE CASCADE,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE ON UPDATE CASCADE,
    number INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timeout', 'interrupted',
                                           'awaiting_approval', 'rejected')),
    exit_code INTEGER,
    summary TEXT NOT NULL DEFAULT '',
    blocker_signature TEXT,
    output TEXT NOT NULL DEFAULT '',
    result_json TEXT NOT NULL DEFAULT '{}',
    started_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (issue_id, number)
);
CREATE INDEX orch_attempts_run ON orch_attempts(run_id, id);
CREATE INDEX orch_attempts_signature ON orch_attempts(issue_id, blocker_signature);

CREATE TABLE orch_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES orch_runs(id) ON DELETE CASCADE,
    issue_id TEXT REFERENCES issues(id) ON DELETE CASCADE ON UPDATE CASCADE,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    payload_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX orch_events_run ON orch_events(run_id, id);
CREATE INDEX orch_events_issue ON orch_events(issue_id);

CREATE TABLE orch_artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    attempt_id INTEGER NOT NULL REFERENCES orch_attempts(id) ON DELETE CASCADE,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE ON UPDATE CASCADE,
    path TEXT NOT NULL,
    metadata_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX orch_artifacts_attempt ON orch_artifacts(attempt_id);
CREATE INDEX orch_artifacts_issue ON orch_artifacts(issue_id);

CREATE TABLE orch_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES orch_runs(id) ON DELETE CASCADE,
    run_status TEXT NOT NULL,
    state_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX orch_checkpoints_run ON orch_checkpoints(run_id, id);

CREATE TABLE orch_approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES orch_runs(id) ON DELETE CASCADE,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE ON UPDATE CASCADE,
    attempt_id INTEGER REFERENCES orch_attempts(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('pending', 'approved', 'rejected')),
    rationale TEXT NOT NULL DEFAULT '',
    payload_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX orch_approvals_issue ON orch_approvals(issue_id, verdict);
CREATE INDEX orch_approvals_run ON orch_approvals(run_id, verdict);
"""

# v2: the per-kind view of the event log that `status` and the docs' queries use.
V2 = """
CREATE INDEX orch_events_kind ON orch_events(run_id, kind);
"""

MIGRATIONS = [V1, V2]
