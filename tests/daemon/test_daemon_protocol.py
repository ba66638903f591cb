"""The wire protocol on a real socket of a real daemon (spec §9.2): checks, operations, batch, beads-mcp."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import DEFAULT_ENV, Running, eventually, jsonl_ids, start

from conftest import Bd


@pytest.fixture
def daemon(bd: Bd) -> Iterator[Running]:
    running = start(bd, env=DEFAULT_ENV)
    try:
        yield running
    finally:
        running.stop()


def test_the_socket_is_private_to_its_user(daemon: Running) -> None:
    mode = os.stat(daemon.socket).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


def test_every_malformed_request_gets_an_error_and_the_daemon_keeps_serving(daemon: Running) -> None:
    raw = daemon.raw()
    bad_lines = [
        b"this is not json\n",
        b"[1, 2, 3]\n",
        b'{"args": {}}\n',
        b'{"operation": 42}\n',
        b'{"operation": "ping", "args": [1]}\n',
        b'{"operation": "ping", "actor": 7}\n',
        b'{"operation": "no_such_operation"}\n',
        b'{"operation": "create", "args": {"title": 12}}\n',
        b'{"operation": "create", "args": {}}\n',
        b'{"operation": "show", "args": {"id": "test-nope"}}\n',
        b'{"operation": "batch", "args": {"operations": "x"}}\n',
        b'{"operation": "exec", "args": {"argv": "list"}}\n',
        b"\xff\xfe\n",
    ]
    for line in bad_lines:
        response = raw.send_bytes(line)
        assert response["success"] is False, line
        assert response["error"], line
    huge = b'{"operation": "ping", "args": {"pad": "' + b"x" * (5 << 20) + b'"}}\n'
    response = raw.send_bytes(huge)
    assert response["success"] is False and "too large" in response["error"]
    response = raw.call("list", expected_db="/somewhere/else.db")
    assert response["success"] is False and "database mismatch" in response["error"]
    response = raw.call("list", client_version="99.0.0")
    assert response["success"] is False and "version" in response["error"]
    response = raw.call("health", client_version="99.0.0")
    assert response["success"] is True and response["data"]["compatible"] is False
    # the same connection, and a new one, still work
    assert raw.call("ping")["data"]["message"] == "pong"
    other = daemon.raw()
    assert other.call("ping")["success"] is True
    other.close()
    raw.close()
    assert daemon.events()["errors"] >= len(bad_lines) + 3


def test_operations_record_the_calling_clients_actor(daemon: Running) -> None:
    raw = daemon.raw()
    created = raw.call("create", {"title": "From an agent", "priority": 1, "labels": ["x"]}, actor="agent-7")
    assert created["success"], created
    issue = created["data"]
    assert issue["created_by"] == "agent-7"
    comment = raw.call("comment_add", {"id": issue["id"], "text": "hello"}, actor="agent-7")
    assert comment["success"], comment
    listed = raw.call("comment_list", {"id": issue["id"]})["data"]
    assert listed[0]["author"] == "agent-7"
    raw.close()


def test_the_issue_operations_of_the_protocol(daemon: Running) -> None:
    raw = daemon.raw()
    a = raw.call("create", {"title": "Parent work", "issue_type": "epic"})["data"]
    b = raw.call("create", {"title": "Child work", "priority": 0})["data"]
    assert raw.call("dep_add", {"from_id": b["id"], "to_id": a["id"], "dep_type": "blocks"})["success"]
    blocked = raw.call("blocked")["data"]
    assert [x["id"] for x in blocked] == [b["id"]]
    ready = raw.call("ready")["data"]
    assert [x["id"] for x in ready] == [a["id"]]
    assert raw.call("label_add", {"id": b["id"], "label": "urgent"})["success"]
    updated = raw.call("update", {"id": b["id"], "status": "in_progress", "assignee": "me"})["data"]
    assert updated["status"] == "in_progress" and updated["assignee"] == "me"
    shown = raw.call("show", {"id": b["id"]})["data"]
    assert shown["labels"] == ["urgent"]
    assert raw.call("resolve_id", {"id": b["id"].split("-", 1)[1]})["data"] == b["id"]
    assert raw.call("count")["data"]["count"] == 2
    closed = raw.call("close", {"id": a["id"], "reason": "done"})["data"]
    assert closed["status"] == "closed"
    stats = raw.call("stats")["data"]
    assert stats["total_issues"] == 2 and stats["closed_issues"] == 1
    assert raw.call("dep_tree", {"id": b["id"]})["success"]
    assert raw.call("stale", {"days": 1})["success"]
    assert raw.call("epic_status")["success"]
    assert raw.call("dep_remove", {"from_id": b["id"], "to_id": a["id"]})["success"]
    assert raw.call("label_remove", {"id": b["id"], "label": "urgent"})["success"]
    mutations = raw.call("get_mutations", {"since": 0})["data"]
    assert {m["issue_id"] for m in mutations} >= {a["id"], b["id"]}
    deleted = raw.call("delete", {"ids": [a["id"]], "force": True})
    assert deleted["success"], deleted
    status = raw.call("status")["data"]
    assert status["pid"] == daemon.pid and status["database_path"].endswith("beads.db")
    raw.close()


def test_a_batch_applies_all_or_nothing(daemon: Running) -> None:
    raw = daemon.raw()
    bad = raw.call("batch", {"operations": [
        {"operation": "create", "args": {"title": "One"}},
        {"operation": "create", "args": {"title": "Two"}},
        {"operation": "update", "args": {"id": "test-missing", "priority": 1}},
    ]})
    assert bad["success"] is False and "nothing was applied" in bad["error"]
    assert raw.call("count")["data"]["count"] == 0
    good = raw.call("batch", {"operations": [
        {"operation": "create", "args": {"title": "One"}},
        {"operation": "create", "args": {"title": "Two", "labels": ["b"]}},
    ]})
    assert good["success"], good
    results = good["data"]["results"]
    assert [r["success"] for r in results] == [True, True]
    assert raw.call("count")["data"]["count"] == 2
    raw.close()
    ids = sorted(r["data"]["id"] for r in results)
    eventually(lambda: sorted(jsonl_ids(daemon.beads / "issues.jsonl")) == ids, what="the batch's export")


def test_a_burst_of_100_mutations_makes_a_handful_of_exports(bd: Bd) -> None:
    daemon = start(bd, env={"BEADS_DEBOUNCE_MS": "300"})
    try:
        raw = daemon.raw()
        for i in range(100):
            assert raw.call("create", {"title": f"Burst {i}"})["success"]
        raw.close()
        eventually(lambda: len(jsonl_ids(daemon.beads / "issues.jsonl")) == 100, what="the burst's export")
        events = daemon.events()
        assert events["mutations"] == 100
        assert 1 <= events["exports"] <= 10, events
    finally:
        daemon.stop()


def test_beads_mcp_daemon_client_works_against_our_daemon(daemon: Running) -> None:
    from beads_mcp.bd_daemon_client import BdDaemonClient
    from beads_mcp.models import (
        CloseIssueParams,
        CreateIssueParams,
        ListIssuesParams,
        ReadyWorkParams,
        ShowIssueParams,
        UpdateIssueParams,
    )

    client = BdDaemonClient(working_dir=str(daemon.bd.cwd), actor="mcp-agent")

    async def scenario() -> None:
        assert await client.is_daemon_running()
        health = await client.health()
        assert health["status"] == "healthy"
        first = await client.create(CreateIssueParams(title="Via MCP", description="d", priority=1,
                                                      labels=["mcp"]))
        second = await client.create(CreateIssueParams(title="Blocked via MCP", deps=[first.id]))
        listed = await client.list_issues(ListIssuesParams())
        assert {i.id for i in listed} == {first.id, second.id}
        ready = await client.ready(ReadyWorkParams())
        assert [i.id for i in ready] == [first.id]
        updated = await client.update(UpdateIssueParams(issue_id=first.id, status="in_progress", notes="n"))
        assert updated.status == "in_progress"
        closed = await client.close(CloseIssueParams(issue_id=first.id, reason="finished"))
        assert closed[0].status == "closed"
        ready = await client.ready(ReadyWorkParams())
        assert [i.id for i in ready] == [second.id]
        shown = await client.show(ShowIssueParams(issue_id=second.id))
        assert shown.id == second.id
        stats = await client.stats()
        assert stats.total_issues == 2

    asyncio.run(scenario())
    shown = daemon.bd.json("show", daemon.bd.json("list", "--all")[0]["id"])  # type: ignore[index]
    assert shown[0]["created_by"] == "mcp-agent"  # type: ignore[index]


def test_a_client_newer_than_the_daemon_is_refused_and_health_says_so(daemon: Running) -> None:
    raw = daemon.raw()
    assert raw.call("create", {"title": "x"}, client_version="1.0.0")["success"] is False
    assert raw.call("create", {"title": "x"}, client_version="0.1.0")["success"] is True
    assert raw.call("ping", client_version="1.0.0")["success"] is True
    raw.close()


def test_export_and_import_operations(daemon: Running, tmp_path: Path) -> None:
    raw = daemon.raw()
    raw.call("create", {"title": "Exported"})
    out = tmp_path / "out.jsonl"
    assert raw.call("export", {"jsonl_path": str(out)})["success"]
    assert len(out.read_text().splitlines()) == 1
    assert raw.call("export")["success"]  # the workspace JSONL, flushed now
    assert len(jsonl_ids(daemon.beads / "issues.jsonl")) == 1
    record = json.loads(out.read_text())
    record["title"] = "Imported change"
    record["updated_at"] = "2099-01-01T00:00:00Z"
    out.write_text(json.dumps(record) + "\n")
    assert raw.call("import", {"jsonl_path": str(out)})["success"]
    assert raw.call("show", {"id": record["id"]})["data"]["title"] == "Imported change"
    raw.close()


def test_get_mutations_names_the_issues_each_mutation_touched(daemon: Running, bd: Bd) -> None:
    raw = daemon.raw()
    a = raw.call("create", {"title": "Alpha", "labels": ["x"]}, actor="alice")["data"]
    start_ms = raw.call("get_mutations", {"since": 0})["data"][-1]["timestamp"]
    assert raw.call("get_mutations", {"since": 0})["data"] == [
        {"type": "create", "issue_id": a["id"], "title": "Alpha", "actor": "alice", "timestamp": start_ms}]
    # a command through the CLI (the `exec` path) is tracked the same way, issue by issue
    b_id = bd("create", "Beta", "--silent").stdout.strip()
    bd("update", a["id"], b_id, "--priority", "0")
    bd("comment", b_id, "hello")
    bd("close", a["id"])
    bd("dep", "add", b_id, a["id"])
    bd("delete", b_id, "--force")
    assert raw.call("batch", {"operations": [{"operation": "create", "args": {"title": "In a batch"}},
                                             {"operation": "update", "args": {"id": "test-nope", "priority": 1}}]}
                    )["success"] is False  # rolled back: no mutation recorded
    feed = raw.call("get_mutations", {"since": 0})["data"]
    got = [(m["type"], m["issue_id"]) for m in feed]
    assert got == [("create", a["id"]), ("create", b_id), ("update", a["id"]), ("update", b_id),
                   ("comment", b_id), ("status", a["id"]), ("update", b_id), ("delete", b_id)], got
    assert all(m["timestamp"] >= start_ms for m in feed)
    assert feed[3]["title"] == "Beta" and feed[-1]["title"] == "Beta"  # a deleted issue stays a tombstone
    later = raw.call("get_mutations", {"since": feed[-1]["timestamp"]})["data"]
    assert later == []
    raw.close()
