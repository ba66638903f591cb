"""The run store: the orchestrator's rows in the workspace database, next to the issues.

Plain SQL on the tracker's connection (``tracker.store.connection``). Every write method
expects to be called inside ``tracker.write()``, so that a step's rows commit together with
the tracker changes of the same step (claim, close, block, discovered issues) or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import beads
from beads_orchestrator.schema import MIGRATIONS, NAMESPACE


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class RunStore:
    def __init__(self, tracker: beads.Tracker) -> None:
        self.tracker = tracker
        self.conn: sqlite3.Connection = tracker.store.connection

    def ensure_schema(self) -> int:
        return self.tracker.migrate(NAMESPACE, MIGRATIONS)

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        return _rows(self.conn.execute(sql, params))

    # -- runs -------------------------------------------------------------------------------

    def create_run(self, run_id: str, *, goal: str, repo_path: str, actor: str, config: dict[str, Any],
                   pid: int) -> None:
        stamp = now()
        self.conn.execute(
            "INSERT INTO orch_runs (id, goal, repo_path, actor, status, config_json, pid, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            (run_id, goal, repo_path, actor, json.dumps(config), pid, stamp, stamp))

    def run(self, run_id: str) -> dict[str, Any] | None:
        found = self.query("SELECT * FROM orch_runs WHERE id = ?", (run_id,))
        return found[0] if found else None

    def latest_run_id(self) -> str | None:
        found = self.query("SELECT id FROM orch_runs ORDER BY created_at DESC, rowid DESC LIMIT 1")
        return found[0]["id"] if found else None

    def update_run(self, run_id: str, **fields: Any) -> None:
        names = sorted(fields)
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.conn.execute(f"UPDATE orch_runs SET {assignments}, updated_at = ? WHERE id = ?",
                          [fields[n] for n in names] + [now(), run_id])

    def next_cycle(self, run_id: str, issue_id: str) -> int:
        self.conn.execute("UPDATE orch_runs SET cycle_count = cycle_count + 1, current_issue_id = ?,"
                          " updated_at = ? WHERE id = ?", (issue_id, now(), run_id))
        return int(self.conn.execute("SELECT cycle_count FROM orch_runs WHERE id = ?", (run_id,)).fetchone()[0])

    def runs(self) -> list[dict[str, Any]]:
        """Every run with what it achieved, joined with the issues its attempts touched."""
        return self.query("""
            SELECT r.id, r.goal, r.status, r.actor, r.cycle_count, r.created_at, r.updated_at,
                   COUNT(DISTINCT CASE WHEN a.status = 'succeeded' THEN a.issue_id END) AS succeeded,
                   COUNT(DISTINCT CASE WHEN i.status = 'blocked' AND a.status IN ('failed', 'timeout')
                                       THEN a.issue_id END) AS blocked,
                   COUNT(a.id) AS attempts
              FROM orch_runs r
              LEFT JOIN orch_attempts a ON a.run_id = r.id
              LEFT JOIN issues i ON i.id = a.issue_id
             GROUP BY r.id ORDER BY r.created_at, r.rowid""")

    # -- events and checkpoints ---------------------------------------------------------------

    def event(self, run_id: str, kind: str, message: str = "", *, issue_id: str | None = None,
              source: str = "orchestrator", payload: dict[str, Any] | None = None) -> None:
        self.conn.execute(
            "INSERT INTO orch_events (run_id, issue_id, source, kind, message, payload_json, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, issue_id, source, kind, message, json.dumps(payload or {}), now()))

    def checkpoint(self, run_id: str, state: dict[str, Any]) -> None:
        status = self.conn.execute("SELECT status FROM orch_runs WHERE id = ?", (run_id,)).fetchone()[0]
        self.conn.execute("INSERT INTO orch_checkpoints (run_id, run_status, state_json, created_at)"
                          " VALUES (?, ?, ?, ?)", (run_id, status, json.dumps(state, sort_keys=True), now()))

    def last_checkpoint(self, run_id: str) -> dict[str, Any] | None:
        found = self.query("SELECT * FROM orch_checkpoints WHERE run_id = ? ORDER BY id DESC LIMIT 1", (run_id,))
        return found[0] if found else None

    def events(self, run_id: str, limit: int = 0) -> list[dict[str, Any]]:
        sql = "SELECT * FROM orch_events WHERE run_id = ? ORDER BY id DESC"
        rows = self.query(sql + (" LIMIT ?" if limit else ""), (run_id, limit) if limit else (run_id,))
        return rows[::-1]

    # -- attempts, artifacts, agent state -----------------------------------------------------

    def start_attempt(self, run_id: str, issue_id: str) -> tuple[int, int]:
        number = int(self.conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM orch_attempts WHERE issue_id = ?",
                                       (issue_id,)).fetchone()[0])
        cursor = self.conn.execute(
            "INSERT INTO orch_attempts (run_id, issue_id, number, status, started_at) VALUES (?, ?, ?, 'running', ?)",
            (run_id, issue_id, number, now()))
        return int(cursor.lastrowid or 0), number

    def finish_attempt(self, attempt_id: int, *, status: str, exit_code: int | None, summary: str,
                       signature: str | None, output: str, result: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE orch_attempts SET status = ?, exit_code = ?, summary = ?, blocker_signature = ?, output = ?,"
            " result_json = ?, finished_at = ? WHERE id = ?",
            (status, exit_code, summary, signature, output, json.dumps(result), now(), attempt_id))

    def set_attempt_status(self, attempt_id: int, status: str, *, signature: str | None = None) -> None:
        self.conn.execute("UPDATE orch_attempts SET status = ?, blocker_signature = COALESCE(?, blocker_signature),"
                          " finished_at = COALESCE(finished_at, ?) WHERE id = ?", (status, signature, now(), attempt_id))

    def attempt(self, attempt_id: int) -> dict[str, Any]:
        return self.query("SELECT * FROM orch_attempts WHERE id = ?", (attempt_id,))[0]

    def same_signature_count(self, issue_id: str, signature: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM orch_attempts WHERE issue_id = ? AND blocker_signature = ?",
                                     (issue_id, signature)).fetchone()[0])

    def interrupt_running_attempts(self, run_id: str) -> list[dict[str, Any]]:
        running = self.query("SELECT id, issue_id, number FROM orch_attempts WHERE run_id = ? AND status = 'running'",
                             (run_id,))
        self.conn.execute("UPDATE orch_attempts SET status = 'interrupted', finished_at = ?"
                          " WHERE run_id = ? AND status = 'running'", (now(), run_id))
        return running

    def attempts(self, run_id: str, limit: int = 0) -> list[dict[str, Any]]:
        """A run's attempts with their issue's current title and status (a join with ``issues``)."""
        sql = ("SELECT a.id, a.issue_id, i.title, i.status AS issue_status, a.number, a.status, a.exit_code,"
               " a.summary, a.blocker_signature, a.started_at, a.finished_at"
               " FROM orch_attempts a JOIN issues i ON i.id = a.issue_id WHERE a.run_id = ? ORDER BY a.id DESC")
        rows = self.query(sql + (" LIMIT ?" if limit else ""), (run_id, limit) if limit else (run_id,))
        return rows[::-1]

    def add_artifact(self, attempt_id: int, issue_id: str, path: str, metadata: dict[str, Any]) -> None:
        self.conn.execute("INSERT INTO orch_artifacts (attempt_id, issue_id, path, metadata_json, created_at)"
                          " VALUES (?, ?, ?, ?, ?)", (attempt_id, issue_id, path, json.dumps(metadata), now()))

    def record_turn(self, run_id: str, role: str, session_id: str, prompt_path: str | None,
                    response_path: str | None) -> None:
        self.conn.execute("""
            INSERT INTO orch_agent_state (run_id, role, session_id, turns, last_prompt_path, last_response_path,
                                          updated_at)
            VALUES (?, ?, ?, 1, ?, ?, ?)
            ON CONFLICT (run_id, role) DO UPDATE SET
                rotation_count = rotation_count + (session_id IS NOT excluded.session_id),
                session_id = excluded.session_id, turns = turns + 1,
                last_prompt_path = excluded.last_prompt_path, last_response_path = excluded.last_response_path,
                updated_at = excluded.updated_at""",
            (run_id, role, session_id, prompt_path, response_path, now()))

    # -- approvals ----------------------------------------------------------------------------

    def request_approval(self, run_id: str, issue_id: str, attempt_id: int, payload: dict[str, Any]) -> None:
        self.conn.execute("INSERT INTO orch_approvals (run_id, issue_id, attempt_id, source, verdict, payload_json,"
                          " created_at) VALUES (?, ?, ?, 'orchestrator', 'pending', ?, ?)",
                          (run_id, issue_id, attempt_id, json.dumps(payload), now()))

    def pending_approval(self, issue_id: str) -> dict[str, Any] | None:
        found = self.query("SELECT * FROM orch_approvals WHERE issue_id = ? AND verdict = 'pending'"
                           " ORDER BY id DESC LIMIT 1", (issue_id,))
        return found[0] if found else None

    def pending_approvals(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT p.id, p.run_id, p.issue_id, i.title, p.created_at, a.summary FROM orch_approvals p"
               " JOIN issues i ON i.id = p.issue_id LEFT JOIN orch_attempts a ON a.id = p.attempt_id"
               " WHERE p.verdict = 'pending'")
        if run_id:
            return self.query(sql + " AND p.run_id = ? ORDER BY p.id", (run_id,))
        return self.query(sql + " ORDER BY p.id")

    def decide(self, approval_id: int, verdict: str, rationale: str, source: str) -> None:
        self.conn.execute("UPDATE orch_approvals SET verdict = ?, rationale = ?, source = ?, decided_at = ?"
                          " WHERE id = ?", (verdict, rationale, source, now(), approval_id))

    def attempt_counts(self, run_id: str) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM orch_attempts WHERE run_id = ? GROUP BY status",
                                 (run_id,)).fetchall()
        return {status: count for status, count in rows}
