"""examples/orchestrator (``bd-orch``), end to end: real orchestrator processes, a real agent command.

The agent is a small Python script whose behaviour depends on the issue it is given: ``ok``
succeeds, ``fail`` fails the same way every time, ``discover`` reports new work, and ``crash``
announces itself (a marker file naming its orchestrator) and then waits forever on a FIFO, so
that the test can SIGKILL that orchestrator mid-run and then ``resume`` it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import beads

BD_ORCH = Path(sys.executable).parent / "bd-orch"
EXTENDING = Path(__file__).resolve().parents[2] / "docs" / "EXTENDING.md"

AGENT = r'''
import json, os, sys
issue = json.load(sys.stdin)
title = issue["title"]
with open(LOG, "a") as log:
    log.write(json.dumps({"id": issue["id"], "title": title, "env": sorted(os.environ)}) + "\n")
if title.startswith("fail"):
    print("working on " + title)
    print(f"error: cannot build module {os.getpid()}", file=sys.stderr)
    sys.exit(2)
if title.startswith("slow"):
    open(FIFO).read()
if title.startswith("crash") and not os.path.exists(MARKER):
    with open(MARKER + ".tmp", "w") as fh:
        fh.write(str(os.getppid()))
    os.rename(MARKER + ".tmp", MARKER)
    open(FIFO).read()  # blocks until the orchestrator (and this process) is killed
if title.startswith("discover"):
    print(json.dumps({"type": "discovered", "title": "found while doing " + title, "labels": ["found"]}))
print(json.dumps({"type": "artifact", "path": "out/" + issue["id"] + ".txt", "metadata": {"lines": 1}}))
print(json.dumps({"type": "summary", "text": "did " + title}))
'''


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    beads.init(str(root), prefix="w", actor="tester").disconnect()
    fifo = tmp_path / "never"
    os.mkfifo(fifo)
    script = AGENT.replace("LOG", repr(str(tmp_path / "agent.log")), 1)
    script = script.replace("FIFO", repr(str(fifo))).replace("MARKER", repr(str(tmp_path / "crash.marker")))
    (tmp_path / "agent.py").write_text(script)
    return root


def agent_cmd(tmp_path: Path) -> str:
    return f"{sys.executable} -S -I {tmp_path / 'agent.py'}"


def agent_log(tmp_path: Path) -> list[dict]:
    path = tmp_path / "agent.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def orch(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(BD_ORCH), *args], cwd=root, capture_output=True, text=True, timeout=120)
    assert not check or proc.returncode == 0, proc
    return proc


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BD_ORCH), *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def wait_for(condition, what: str, timeout: float = 60) -> None:  # noqa: ANN001
    """Bounded polling on an event (a file the agent writes), never a fixed sleep."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        tick.wait(0.02)


def rows(root: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(root / ".beads" / "beads.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_two_orchestrators_a_crash_and_a_resume_handle_every_issue_exactly_once(workspace: Path,
                                                                                tmp_path: Path) -> None:
    kinds = ["ok"] * 30 + ["fail"] * 10 + ["discover"] * 9 + ["crash"]
    with beads.open(str(workspace), actor="tester") as tracker:
        created = tracker.create_many([{"title": f"{kind} {n}", "priority": n % 5 if kind != "crash" else 2}
                                       for n, kind in enumerate(kinds)])
    original = {issue["id"]: issue["title"] for issue in created}
    common = ["--agent-cmd", agent_cmd(tmp_path), "--max-attempts", "2", "--timeout", "60", "--json"]
    procs = {"run-a": start(workspace, "run", "--run-id", "run-a", *common),
             "run-b": start(workspace, "run", "--run-id", "run-b", *common)}
    marker = tmp_path / "crash.marker"
    try:
        wait_for(marker.exists, "the crash agent's marker")
        victim_pid = int(marker.read_text())
        victim = next(run for run, proc in procs.items() if proc.pid == victim_pid)
        os.killpg(victim_pid, signal.SIGKILL)  # the orchestrator and its agent, mid-run
        procs[victim].wait(30)
        survivor = next(run for run in procs if run != victim)
        out, err = procs[survivor].communicate(timeout=120)
        assert procs[survivor].returncode == 0, err
        assert json.loads(out)["status"] == "done"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
    crash_id = next(i for i, t in original.items() if t.startswith("crash"))
    assert rows(workspace, "SELECT status, assignee FROM issues WHERE id = ?", (crash_id,)) == [
        ("in_progress", f"bd-orch/{victim}")]
    crashed = json.loads(orch(workspace, "status", victim, "--json").stdout)
    assert (crashed["run"]["status"], crashed["run"]["alive"]) == ("running", False)  # as the crash left it
    assert [a["status"] for a in crashed["attempts"]][-1] == "running"
    assert "its process is gone" in orch(workspace, "status", victim).stdout

    resumed = json.loads(orch(workspace, "resume", victim, "--json").stdout)
    assert resumed["requeued"] == [crash_id] and resumed["status"] == "done"

    with beads.open(str(workspace)) as tracker:
        everything = {i["id"]: i for i in tracker.list(beads.IssueFilter(statuses=["all"]))}
        discovered = {i: v for i, v in everything.items() if i not in original}
        edges = tracker.store.all_edges(exclude_types=())
        closed_events = Counter(i for i in everything for e in tracker.events(i) if e["event_type"] == "closed")
        comments = {i: [c["text"] for c in tracker.comments(i)] for i, t in original.items() if t.startswith("fail")}

    # every issue handled exactly once: closed once, or blocked with its reason
    assert len(discovered) == 9
    for issue_id, issue in everything.items():
        if issue["title"].startswith("fail"):
            assert issue["status"] == "blocked", issue
            assert closed_events[issue_id] == 0
            assert any("cannot build module <n>" in c and "2 attempts" in c for c in comments[issue_id])
        else:
            assert issue["status"] == "closed", issue
            assert closed_events[issue_id] == 1, issue_id
            assert issue["close_reason"] == "did " + issue["title"]
    # discovered ones linked to where they were found
    sources = {t: i for i, t in original.items()}
    for issue_id, issue in discovered.items():
        source = sources[issue["title"].removeprefix("found while doing ")]
        assert (issue_id, source, "discovered-from") in edges
        assert issue["labels"] == ["found"]

    # the agent ran once per issue, twice per failing one, and the crashed attempt once more
    runs_per_issue = Counter(entry["id"] for entry in agent_log(tmp_path))
    for issue_id, title in {**original, **{i: v["title"] for i, v in discovered.items()}}.items():
        expected = 2 if title.startswith(("fail", "crash")) else 1
        assert runs_per_issue[issue_id] == expected, (issue_id, title)

    # attempts: one success per closed issue, two identical failures per blocked one, one interruption
    attempts = Counter((issue, status) for issue, status in rows(workspace, "SELECT issue_id, status FROM orch_attempts"))
    assert attempts[(crash_id, "interrupted")] == 1 and attempts[(crash_id, "succeeded")] == 1
    assert sum(n for (_, status), n in attempts.items() if status == "succeeded") == 40 + 9
    assert sum(n for (_, status), n in attempts.items() if status == "failed") == 20
    assert sum(attempts.values()) == 49 + 20 + 1
    signatures = rows(workspace, "SELECT DISTINCT blocker_signature FROM orch_attempts WHERE status = 'failed'")
    assert signatures == [("exit 2: error: cannot build module <n>",)]
    assert rows(workspace, "SELECT COUNT(*) FROM orch_artifacts")[0][0] == 49

    # a complete event log: every attempt claimed and started once, each run started and done
    events = rows(workspace, "SELECT run_id, issue_id, kind FROM orch_events ORDER BY id")
    kinds_per_issue = Counter((issue, kind) for _, issue, kind in events if issue)
    for issue_id, title in everything.items():
        n = 2 if title["title"].startswith(("fail", "crash")) else 1
        assert kinds_per_issue[(issue_id, "claimed")] == n and kinds_per_issue[(issue_id, "attempt_started")] == n
        assert kinds_per_issue[(issue_id, "closed")] + kinds_per_issue[(issue_id, "blocked")] == 1
    assert kinds_per_issue[(crash_id, "requeued")] == 1
    for run in procs:
        run_kinds = [kind for run_id, _, kind in events if run_id == run]
        assert run_kinds[0] == "run_started" and run_kinds[-1] == "run_done"
        assert run_kinds.count("run_done") == 1
    victim_kinds = [kind for run_id, _, kind in events if run_id == victim]
    assert victim_kinds.count("run_resumed") == 1
    checkpoints = rows(workspace, "SELECT run_id, run_status, state_json FROM orch_checkpoints ORDER BY id")
    last = {run: (status, json.loads(state)) for run, status, state in checkpoints}
    assert {run: (status, state["step"]) for run, (status, state) in last.items()} == {
        "run-a": ("done", "done"), "run-b": ("done", "done")}
    exported = {r["id"]: r["status"] for r in map(json.loads, (workspace / ".beads" / "issues.jsonl").open())}
    assert exported == {i: v["status"] for i, v in everything.items()}  # shared through the JSONL too
    runs = {r["id"]: r for r in json.loads(orch(workspace, "runs", "--json").stdout)}
    assert runs["run-a"]["succeeded"] + runs["run-b"]["succeeded"] == 49
    assert runs["run-a"]["succeeded"] > 0 and runs["run-b"]["succeeded"] > 0


def test_approval_gate_plan_timeout_status_and_a_clean_environment(workspace: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEADS_SECRET", "s3cret")
    plan = {"epic": {"title": "Release", "priority": 1},
            "tasks": [{"key": "build", "title": "ok build"}, {"key": "test", "title": "ok test", "deps": ["build"]},
                      {"key": "ship", "title": "slow ship", "deps": ["test"]}]}
    bad = {"epic": {"title": "Broken"}, "tasks": [{"key": "a", "title": "a", "deps": ["nope"]}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert "unknown task nope" in orch(workspace, "plan", "--file", str(tmp_path / "bad.json"), check=False).stderr
    assert rows(workspace, "SELECT COUNT(*) FROM issues")[0][0] == 0  # one transaction: nothing created
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    made = json.loads(orch(workspace, "plan", "--file", str(tmp_path / "plan.json"), "--json").stdout)
    epic, ids = made["epic"], made["tasks"]
    assert ids == {"build": f"{epic}.1", "test": f"{epic}.2", "ship": f"{epic}.3"}
    assert sorted(rows(workspace, "SELECT issue_id, depends_on_id, type FROM dependencies")) == sorted([
        (ids["build"], epic, "parent-child"), (ids["test"], epic, "parent-child"), (ids["ship"], epic, "parent-child"),
        (ids["test"], ids["build"], "blocks"), (ids["ship"], ids["test"], "blocks")])

    gated = ["--agent-cmd", agent_cmd(tmp_path), "--require-approval", "--json", "--timeout", "30"]
    first = json.loads(orch(workspace, "run", "--run-id", "gate-1", *gated).stdout)
    assert first["attempts"] == {"awaiting_approval": 1}  # build done, held; test still waits for it
    assert rows(workspace, "SELECT status FROM issues WHERE id = ?", (ids["build"],)) == [("in_progress",)]
    status = json.loads(orch(workspace, "status", "gate-1", "--json").stdout)
    assert [p["issue_id"] for p in status["pending_approvals"]] == [ids["build"]]
    assert "awaiting approval" in orch(workspace, "status", "gate-1").stdout
    orch(workspace, "approve", ids["build"], "--reason", "looks good", "--by", "reviewer")
    assert rows(workspace, "SELECT status, close_reason FROM issues WHERE id = ?", (ids["build"],)) == [
        ("closed", "did ok build")]

    second = json.loads(orch(workspace, "run", "--run-id", "gate-2", *gated).stdout)
    assert second["attempts"] == {"awaiting_approval": 1}
    orch(workspace, "reject", ids["test"], "--reason", "missing edge cases")
    assert rows(workspace, "SELECT status, assignee FROM issues WHERE id = ?", (ids["test"],)) == [("open", "")]
    assert rows(workspace, "SELECT verdict, rationale, source FROM orch_approvals ORDER BY id") == [
        ("approved", "looks good", "reviewer"), ("rejected", "missing edge cases", "cli")]
    third = json.loads(orch(workspace, "run", "--run-id", "gate-3", "--agent-cmd", agent_cmd(tmp_path), "--json",
                            "--timeout", "0.5", "--max-attempts", "1").stdout)
    assert third["attempts"] == {"succeeded": 1, "timeout": 1}  # test closes; ship hangs and times out
    assert rows(workspace, "SELECT status FROM issues WHERE id IN (?, ?) ORDER BY id", (ids["test"], ids["ship"])) == [
        ("closed",), ("blocked",)]
    assert rows(workspace, "SELECT blocker_signature FROM orch_attempts WHERE issue_id = ?", (ids["ship"],)) == [
        ("timeout after 0.5s",)]
    assert rows(workspace, "SELECT status FROM issues WHERE id = ?", (epic,)) == [("open",)]  # epics are not work

    env = {name for entry in agent_log(tmp_path) for name in entry["env"]}
    assert "BEADS_SECRET" not in env and "ORCH_ISSUE_ID" in env and "PATH" in env
    runs = orch(workspace, "runs").stdout
    assert all(run in runs for run in ("gate-1", "gate-2", "gate-3"))
    assert orch(workspace, "resume", "gate-3", check=False).returncode == 0  # a finished run: nothing to requeue


def test_schema_cascades_from_issues_and_a_hard_delete_takes_the_rows_along(workspace: Path, tmp_path: Path) -> None:
    with beads.open(str(workspace), actor="tester") as tracker:
        a, b = (i["id"] for i in tracker.create_many([{"title": "discover a"}, {"title": "ok b"}]))
    orch(workspace, "run", "--run-id", "r1", "--agent-cmd", agent_cmd(tmp_path), "--require-approval")
    tables = [name for (name,) in rows(workspace, "SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                                                  "LIKE 'orch%' ORDER BY name")]
    assert tables == ["orch_agent_state", "orch_approvals", "orch_artifacts", "orch_attempts", "orch_checkpoints",
                      "orch_events", "orch_runs"]
    for table in tables:
        for fk in rows(workspace, f"PRAGMA foreign_key_list({table})"):
            if fk[2] == "issues":
                assert fk[6] in ("CASCADE", "SET NULL") and fk[5] == "CASCADE", (table, fk)
    assert rows(workspace, "SELECT value FROM metadata WHERE key = 'extension_version.orch'") == [("2",)]
    assert len(rows(workspace, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'orch_%'")) >= 10

    def count(issue_id: str) -> int:
        return sum(rows(workspace, f"SELECT COUNT(*) FROM {t} WHERE issue_id = ?", (issue_id,))[0][0]
                   for t in ("orch_attempts", "orch_events", "orch_artifacts", "orch_approvals"))

    assert count(a) > 0 and count(b) > 0
    with beads.open(str(workspace), actor="tester") as tracker:
        tracker.delete([a], hard=True, cascade=True)
    assert count(a) == 0 and count(b) > 0
    assert rows(workspace, "SELECT COUNT(*) FROM orch_runs WHERE id = 'r1'") == [(1,)]


def test_the_guides_sql_over_the_orchestrator_tables_runs(workspace: Path, tmp_path: Path) -> None:
    """docs/EXTENDING.md's queries joining orch_* with issues, on a real run's rows."""
    with beads.open(str(workspace), actor="tester") as tracker:
        tracker.create_many([{"title": "discover a"}, {"title": "fail b", "labels": ["infra"]}])
    orch(workspace, "run", "--run-id", "r1", "--agent-cmd", agent_cmd(tmp_path), "--max-attempts", "1",
         "--require-approval")
    guide = EXTENDING.read_text(encoding="utf-8").split("## A complete application")[1]
    queries = re.findall(r"^```sql\n(.*?)^```", guide, flags=re.S | re.M)
    assert len(queries) == 4
    per_run, blocked, discovered, waiting = (rows(workspace, q) for q in queries)
    assert per_run == [("r1", "done", 3, 0, 1)]  # closing is held for approval
    assert [(r[1], r[2], r[3], r[4]) for r in blocked] == [("fail b", "exit 2: error: cannot build module <n>", 1,
                                                            "infra")]
    assert [(r[0], r[3], r[4]) for r in discovered] == [("r1", "found while doing discover a", "in_progress")]
    assert sorted(r[1] for r in waiting) == ["discover a", "found while doing discover a"]
