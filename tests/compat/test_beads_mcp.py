"""beads-mcp, the official MCP server (PyPI ``beads-mcp``, spec §10.4), drives our installed ``bd``.

Nothing here is replicated: each test calls beads-mcp's REAL CLI client class
(``beads_mcp.bd_client.BdCliClient``), which shells out to ``bd <args> --json`` with
cwd = the workspace, and validates our output with its REAL pydantic models. The
pinned release (``test`` extra) is the one that shipped with bd v0.40/v0.41; its client
and models are unchanged from 0.39.1 to 0.47.0. Its FastMCP server is never started.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import BD, Bd

try:
    from beads_mcp import bd_client, models
except ImportError:  # pragma: no cover - the `test` extra installs it
    if os.environ.get("CI"):
        raise
    pytest.skip("beads-mcp not installed (pip install -e '.[test]')", allow_module_level=True)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture
def client(bd: Bd, monkeypatch: pytest.MonkeyPatch) -> bd_client.BdCliClient:
    """beads-mcp's CLI client pointed at our binary and the temp workspace, as its env config does."""
    monkeypatch.setenv("BEADS_PATH", BD)
    monkeypatch.setenv("BEADS_WORKING_DIR", str(bd.cwd))
    monkeypatch.setenv("BEADS_ACTOR", "mcp-agent")
    for var in ("BEADS_DIR", "BEADS_DB", "BEADS_NO_AUTO_FLUSH", "BEADS_NO_AUTO_IMPORT"):
        monkeypatch.delenv(var, raising=False)
    c = bd_client.create_bd_client(prefer_daemon=True, working_dir=str(bd.cwd))
    # no daemon socket in the workspace, so beads-mcp falls back to the CLI client cleanly
    assert isinstance(c, bd_client.BdCliClient)
    assert not (bd.cwd / ".beads" / "bd.sock").exists()
    assert c.bd_path == BD and c.working_dir == str(bd.cwd) and c.actor == "mcp-agent"
    return c


def test_version_check_accepts_our_bd(client: bd_client.BdCliClient) -> None:
    run(client._check_version())  # parses `bd version` text, needs >= 0.9.0


def test_every_operation_round_trips(client: bd_client.BdCliClient, bd: Bd) -> None:
    m = models
    a = run(client.create(m.CreateIssueParams(
        title="Design the API", description="why", design="how", acceptance="done when", external_ref="gh-7",
        priority=1, issue_type="feature", assignee="alice", labels=["api", "v1"])))
    assert isinstance(a, m.Issue)
    assert (a.title, a.priority, a.issue_type, a.status, a.assignee) == ("Design the API", 1, "feature", "open", "alice")
    assert (a.description, a.design, a.acceptance_criteria, a.external_ref) == ("why", "how", "done when", "gh-7")
    assert bd.json("label", "list", a.id) == ["api", "v1"]

    b = run(client.create(m.CreateIssueParams(title="Implement it", deps=[a.id])))
    epic = run(client.create(m.CreateIssueParams(title="Release", issue_type="epic", priority=0)))
    bug = run(client.create(m.CreateIssueParams(title="Crash", issue_type="bug", id="test-fixed1")))
    assert bug.id == "test-fixed1"

    # dep add: beads-mcp runs `bd dep add A B --type T` without --json and only checks the exit code
    assert run(client.add_dependency(m.AddDependencyParams(
        issue_id=b.id, depends_on_id=epic.id, dep_type="parent-child"))) is None
    run(client.add_dependency(m.AddDependencyParams(issue_id=bug.id, depends_on_id=a.id, dep_type="related")))
    run(client.add_dependency(m.AddDependencyParams(issue_id=bug.id, depends_on_id=b.id,
                                                    dep_type="discovered-from")))

    ready = run(client.ready(m.ReadyWorkParams(limit=50)))
    assert all(isinstance(i, m.Issue) for i in ready)
    assert b.id not in {i.id for i in ready} and a.id in {i.id for i in ready}
    assert [i.id for i in run(client.ready(m.ReadyWorkParams(assignee="alice", labels=["api"])))] == [a.id]
    assert [i.id for i in run(client.ready(m.ReadyWorkParams(parent_id=epic.id)))] == []
    assert {i.id for i in run(client.ready(m.ReadyWorkParams(unassigned=True, sort_policy="oldest",
                                                             labels_any=["api", "zzz"])))} == set()

    listed = run(client.list_issues())
    assert {i.id for i in listed} == {a.id, b.id, epic.id, bug.id}
    got = {i.id: i for i in listed}
    assert got[a.id].labels == ["api", "v1"] and got[a.id].dependent_count == 2
    assert got[b.id].dependency_count == 2 and got[b.id].dependent_count == 1
    assert [i.id for i in run(client.list_issues(m.ListIssuesParams(issue_type="bug")))] == [bug.id]
    assert [i.id for i in run(client.list_issues(m.ListIssuesParams(query="Crash", priority=2)))] == [bug.id]
    assert {i.id for i in run(client.list_issues(m.ListIssuesParams(unassigned=True, limit=2)))} <= {
        b.id, epic.id, bug.id}
    assert [i.id for i in run(client.list_issues(m.ListIssuesParams(labels_any=["v1"])))] == [a.id]

    shown = run(client.show(m.ShowIssueParams(issue_id=b.id)))
    assert isinstance(shown, m.Issue) and shown.id == b.id
    assert {(d.id, d.dependency_type) for d in shown.dependencies} == {(a.id, "blocks"), (epic.id, "parent-child")}
    assert [(d.id, d.dependency_type) for d in shown.dependents] == [(bug.id, "discovered-from")]
    assert all(isinstance(d, m.LinkedIssue) and d.created_at for d in shown.dependencies)

    blocked = run(client.blocked())
    assert [(i.id, i.blocked_by, i.blocked_by_count) for i in blocked] == [(b.id, [a.id], 1)]
    assert all(isinstance(i, m.BlockedIssue) for i in blocked)
    assert [i.id for i in run(client.blocked(m.BlockedParams(parent_id=epic.id)))] == [b.id]

    stats = run(client.stats())
    assert isinstance(stats, m.Stats)
    assert (stats.total_issues, stats.open_issues, stats.blocked_issues, stats.ready_issues) == (4, 4, 1, 3)

    updated = run(client.update(m.UpdateIssueParams(
        issue_id=a.id, status="in_progress", priority=0, assignee="bob", title="Design the API v2",
        description="new why", design="new how", acceptance_criteria="new done", notes="halfway",
        external_ref="gh-8")))
    assert isinstance(updated, m.Issue)
    assert (updated.status, updated.priority, updated.assignee, updated.title) == (
        "in_progress", 0, "bob", "Design the API v2")
    assert (updated.description, updated.design, updated.acceptance_criteria, updated.notes,
            updated.external_ref) == ("new why", "new how", "new done", "halfway", "gh-8")
    assert updated.labels == ["api", "v1"]  # update --json populates labels (spec §7.5)

    closed = run(client.close(m.CloseIssueParams(issue_id=a.id)))
    assert [(i.id, i.status) for i in closed] == [(a.id, "closed")] and closed[0].closed_at is not None
    assert bd.json("show", a.id)[0]["close_reason"] == "Completed"  # beads-mcp's default reason
    assert b.id in {i.id for i in run(client.ready())}  # its blocker is closed
    assert [i.id for i in run(client.list_issues(m.ListIssuesParams(status="closed")))] == [a.id]

    reopened = run(client.reopen(m.ReopenIssueParams(issue_ids=[a.id], reason="not done")))
    assert [(i.id, i.status, i.closed_at) for i in reopened] == [(a.id, "open", None)]
    run(client.close(m.CloseIssueParams(issue_id=a.id, reason="Shipped")))
    run(client.close(m.CloseIssueParams(issue_id=bug.id)))
    both = run(client.reopen(m.ReopenIssueParams(issue_ids=[a.id, bug.id])))
    assert [i.id for i in both] == [a.id, bug.id]

    stats = run(client.stats())
    assert (stats.total_issues, stats.closed_issues, stats.in_progress_issues) == (4, 0, 0)

    # the writes went through our auto-flush: the JSONL agrees with what beads-mcp saw
    assert (bd.cwd / ".beads" / "issues.jsonl").read_text().count("\n") == 4


def test_errors_surface_as_bd_command_errors(client: bd_client.BdCliClient) -> None:
    m = models
    with pytest.raises(bd_client.BdCommandError) as err:
        run(client.show(m.ShowIssueParams(issue_id="test-nope")))
    assert "test-nope" in str(err.value)
    with pytest.raises(bd_client.BdCommandError):
        run(client.update(m.UpdateIssueParams(issue_id="test-nope", status="open")))
    with pytest.raises(bd_client.BdCommandError):
        run(client.close(m.CloseIssueParams(issue_id="test-nope")))
    with pytest.raises(bd_client.BdCommandError):
        run(client.add_dependency(m.AddDependencyParams(issue_id="test-nope", depends_on_id="test-nope2")))


def test_empty_workspace_reads(client: bd_client.BdCliClient) -> None:
    assert run(client.ready()) == []
    assert run(client.list_issues()) == []
    assert run(client.blocked()) == []
    stats = run(client.stats())
    assert stats.total_issues == 0 and stats.average_lead_time_hours == 0


def test_show_with_external_and_closed_dependencies_validates(client: bd_client.BdCliClient, bd: Bd) -> None:
    """Every element of ``dependencies`` must be a full issue: an external ref is not listed there."""
    a = bd("create", "Needs another project", "--silent").stdout.strip()
    b = bd("create", "Done already", "--silent").stdout.strip()
    bd("dep", "add", a, "external:other:auth")
    bd("dep", "add", a, b)
    bd("close", b)
    shown = run(client.show(models.ShowIssueParams(issue_id=a)))
    assert [(d.id, d.status) for d in shown.dependencies] == [(b, "closed")]
    # the external edge still blocks (spec §4) and is reported by `blocked`
    assert [(i.id, i.blocked_by) for i in run(client.blocked())] == [(a, ["external:other:auth"])]


def test_beads_dir_routing_from_elsewhere(bd: Bd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With BEADS_DIR set, beads-mcp may run bd from any directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("BEADS_PATH", BD)
    client = bd_client.BdCliClient(beads_dir=str(bd.cwd / ".beads"), working_dir=str(elsewhere))
    created = run(client.create(models.CreateIssueParams(title="Routed")))
    assert [i["id"] for i in bd.json("list")] == [created.id]
    assert run(client.show(models.ShowIssueParams(issue_id=created.id))).title == "Routed"


def test_hermetic_beads_db_setup_outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """beads-mcp's own test set-up: ``BEADS_DB=/tmp/x.db bd init --prefix test`` outside any repository,
    then every command with that ``BEADS_DB``; the whole workflow through its CLI client."""
    m = models
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    db = tmp_path / "hermetic" / "x.db"
    monkeypatch.delenv("BEADS_DIR", raising=False)
    monkeypatch.delenv("BEADS_WORKING_DIR", raising=False)
    # its fixture runs the shell line first (its config then insists that BEADS_DB exists)
    Bd(nowhere)("init", "--prefix", "test", env={"BEADS_DB": str(db)})
    assert db.is_file() and not (nowhere / ".beads").exists()
    monkeypatch.setenv("BEADS_PATH", BD)
    monkeypatch.setenv("BEADS_DB", str(db))
    monkeypatch.setenv("BEADS_ACTOR", "mcp-agent")
    client = bd_client.BdCliClient(beads_db=str(db), working_dir=str(nowhere))
    with pytest.raises(bd_client.BdCommandError) as again:  # its init tool on an existing one: refused
        run(client.init(m.InitParams(prefix="test")))
    assert "already initialized" in str(again.value)

    epic = run(client.create(m.CreateIssueParams(title="Ship it", issue_type="epic", priority=1)))
    first = run(client.create(m.CreateIssueParams(title="First step", priority=1)))
    second = run(client.create(m.CreateIssueParams(title="Second step", deps=[first.id])))
    for child in (first, second):
        run(client.add_dependency(m.AddDependencyParams(issue_id=child.id, depends_on_id=epic.id,
                                                        dep_type="parent-child")))
    assert all(i.id.startswith("test-") for i in (epic, first, second))
    ready = {i.id for i in run(client.ready(m.ReadyWorkParams()))}
    assert first.id in ready and second.id not in ready
    claimed = run(client.update(m.UpdateIssueParams(issue_id=first.id, status="in_progress", assignee="mcp-agent")))
    assert (claimed.status, claimed.assignee) == ("in_progress", "mcp-agent")
    run(client.close(m.CloseIssueParams(issue_id=first.id, reason="done")))
    assert second.id in {i.id for i in run(client.ready(m.ReadyWorkParams()))}
    stats = run(client.stats())
    assert (stats.total_issues, stats.closed_issues) == (3, 1)
    assert [i.id for i in run(client.list_issues(m.ListIssuesParams(status="closed")))] == [first.id]


def test_quickstart_resource_text(client: bd_client.BdCliClient) -> None:
    """beads-mcp's ``beads://quickstart`` resource is ``bd quickstart``'s output."""
    text = run(client.quickstart())
    assert "bd ready" in text and "bd create" in text
