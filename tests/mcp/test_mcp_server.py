"""``bd mcp`` driven by the MCP SDK's own client over stdio: the real server subprocess, real workspaces."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from conftest import BD, Bd, git

try:
    from mcp import ClientSession, StdioServerParameters, stdio_client
except ImportError:  # pragma: no cover - the `test` extra installs it
    if os.environ.get("CI"):
        raise
    pytest.skip("the mcp SDK is not installed (pip install -e '.[test]')", allow_module_level=True)


def init_workspace(path: Path, prefix: str) -> Bd:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    runner = Bd(path)
    runner("init", "--prefix", prefix, "--quiet")
    return runner


class Session:
    """One MCP client session; ``call`` returns (is_error, decoded payload)."""

    def __init__(self, session: ClientSession) -> None:
        self.s = session

    async def call(self, name: str, **args: Any) -> tuple[bool, Any]:
        result = await self.s.call_tool(name, args)
        text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
        try:
            payload = json.loads(text)
        except ValueError:
            payload = text
        return bool(result.is_error), payload

    async def ok(self, name: str, **args: Any) -> Any:
        is_error, payload = await self.call(name, **args)
        assert not is_error, (name, args, payload)
        return payload


def run_session(cwd: Path, body: Any) -> Any:
    params = StdioServerParameters(command=BD, args=["mcp"], cwd=str(cwd),
                                   env={"BD_ACTOR": "agent-1", "PATH": os.environ.get("PATH", "")})

    async def main() -> Any:
        with anyio.fail_after(120):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await body(Session(session))

    return anyio.run(main)


def test_the_whole_workflow_across_two_workspaces(tmp_path: Path) -> None:
    one = init_workspace(tmp_path / "one", "one")
    two = init_workspace(tmp_path / "two", "two")

    async def body(s: Session) -> dict[str, Any]:
        tools = (await s.s.list_tools()).tools
        names = {t.name for t in tools}
        assert names >= {"ready", "list", "show", "create", "claim", "update", "close", "reopen", "dep", "stats",
                         "blocked", "context", "discover_tools", "get_tool_info"}
        size = len(json.dumps([t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools],
                              separators=(",", ":")))
        catalogue = await s.ok("discover_tools")
        assert set(catalogue["tools"]) == names
        info = await s.ok("get_tool_info", tool_name="ready")
        assert "limit" in info["parameters"] and "workspace_root" in info["parameters"]
        quick = await s.s.read_resource("beads://quickstart")
        assert "ready()" in quick.contents[0].text

        assert "Context set" in await s.ok("context", workspace_root=str(one.cwd))
        epic = (await s.ok("create", title="Release 1", issue_type="epic", priority=1))["id"]
        first = (await s.ok("create", title="Design", deps=[f"parent-child:{epic}"]))["id"]
        second = (await s.ok("create", title="Build", description="x" * 500, priority=1,
                             deps=[first, f"parent-child:{epic}"]))["id"]
        assert epic.startswith("one-") and first.startswith("one-")
        ready = [i["id"] for i in await s.ok("ready")]
        assert first in ready and second not in ready
        blocked = await s.ok("blocked", brief=True)
        assert [(b["id"], b["blocked_by"]) for b in blocked] == [(second, [first])]

        claimed = await s.ok("claim", issue_id=first, brief=False)
        assert (claimed["status"], claimed["assignee"]) == ("in_progress", "agent-1")
        assert (await s.ok("close", issue_id=first, reason="designed")) == [
            {"id": first, "action": "closed", "message": "designed"}]
        ready = await s.ok("ready", fields=["id", "description"], max_description_length=10)
        assert {"id": second, "description": "x" * 10 + "..."} in ready  # the next task became ready
        shown = await s.ok("show", issue_id=second, brief_deps=True)
        assert {(d["id"], d["dependency_type"]) for d in shown["dependencies"]} == {
            (first, "blocks"), (epic, "parent-child")}

        # the second workspace, per call, in the same server
        other = (await s.ok("create", title="Elsewhere", workspace_root=str(two.cwd)))["id"]
        assert other.startswith("two-")
        assert [i["id"] for i in await s.ok("list", workspace_root=str(two.cwd))] == [other]
        assert other not in [i["id"] for i in await s.ok("list")]  # the context is still `one`
        stats = await s.ok("stats", workspace_root=str(two.cwd))
        assert (stats["total_issues"], stats["ready_issues"]) == (1, 1)

        await s.ok("update", issue_id=other, priority=0, notes="n", workspace_root=str(two.cwd))
        await s.ok("dep", issue_id=second, depends_on_id=epic, dep_type="related")
        reopened = await s.ok("reopen", issue_ids=[first])
        assert reopened == [{"id": first, "action": "reopened"}]
        return {"tool_list_bytes": size}

    out = run_session(tmp_path, body)
    assert out["tool_list_bytes"] < 3072, out
    # every write was flushed to each workspace's JSONL by the barrier
    assert len((one.cwd / ".beads" / "issues.jsonl").read_text().splitlines()) == 3
    assert "Elsewhere" in (two.cwd / ".beads" / "issues.jsonl").read_text()
    assert one.json("show", "--json", *[i["id"] for i in one.json("list")])  # the CLI sees the same data
    assert [i["assignee"] for i in one.json("list", "--status", "open") if i["title"] == "Design"] == ["agent-1"]


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", "bad")

    async def body(s: Session) -> None:
        await s.ok("context", workspace_root=str(ws.cwd))
        for name, args, words in (
            ("show", {}, "missing required"),
            ("show", {"issue_id": "bad-nope"}, "bad-nope"),
            ("ready", {"limit": "ten"}, "must be int"),
            ("ready", {"bogus": 1}, "unknown argument"),
            ("create", {"title": "x", "priority": 9}, "priority"),
            ("list", {"fields": ["nope"]}, "invalid field"),
            ("list", {"status": "weird"}, "status"),
            ("dep", {"issue_id": "bad-a", "depends_on_id": "bad-b"}, "bad-a"),
            ("context", {"action": "explode"}, "unknown action"),
            ("ready", {"workspace_root": str(tmp_path / "missing")}, "not a directory"),
            ("get_tool_info", {"tool_name": "nope"}, "unknown tool"),
            ("nope", {}, "unknown tool"),
        ):
            is_error, text = await s.call(name, **args)
            assert is_error and words in str(text), (name, args, text)
        a = (await s.ok("create", title="A"))["id"]
        b = (await s.ok("create", title="B", deps=[a]))["id"]
        is_error, text = await s.call("dep", issue_id=a, depends_on_id=b)
        assert is_error and "cycle" in text.lower()
        await s.ok("claim", issue_id=a)
        assert [i["id"] for i in await s.ok("list", status="in_progress")] == [a]

    run_session(tmp_path, body)


def test_context_init_creates_a_workspace_and_the_cli_sees_it(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()

    async def body(s: Session) -> None:
        assert "Database: not found" in await s.ok("context", workspace_root=str(fresh))
        assert "Prefix: fr" in await s.ok("context", action="init", prefix="fr")
        is_error, text = await s.call("context", action="init")
        assert is_error and "already initialized" in text
        created = await s.ok("create", title="First", brief=False)
        assert created["id"].startswith("fr-") and created["title"] == "First"

    run_session(tmp_path, body)
    assert [i["title"] for i in Bd(fresh).json("list")] == ["First"]


def test_the_cli_without_the_sdk_names_the_extra(tmp_path: Path, bd: Bd) -> None:
    env = {"PYTHONPATH": str(tmp_path)}
    (tmp_path / "mcp").mkdir()
    (tmp_path / "mcp" / "__init__.py").write_text("raise ImportError('no sdk here', name='mcp')\n")
    result = bd("mcp", env=env, check=False)
    assert result.returncode == 1 and "beads-py[mcp]" in result.stderr
