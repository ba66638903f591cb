"""The tools in-process (``beads.mcp.tools.Service``, no SDK): shaping, no-db workspaces, schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beads.errors import InvalidInput
from beads.mcp.tools import TOOLS, Service, check_args, input_schema, tool_info
from conftest import Bd, git


def test_compaction_projection_and_counts(bd: Bd) -> None:
    service = Service(root=str(bd.cwd), actor="tester")
    first = service.call("create", {"title": "root"})["id"]
    for n in range(24):
        service.call("create", {"title": f"child {n}", "deps": [first]})
    listed = service.call("list", {"limit": 0})
    assert listed["compacted"] and listed["total_count"] == 25 and len(listed["preview"]) == 5
    ready = service.call("ready", {"fields": ["id", "dependent_count"]})
    assert ready == [{"id": first, "dependent_count": 24}]
    assert service.call("ready", {"brief": True}) == [{"id": first, "title": "root", "status": "open",
                                                       "priority": 2}]
    # every write reached the JSONL through the barrier's flush
    assert len((bd.cwd / ".beads" / "issues.jsonl").read_text().splitlines()) == 25


def test_a_no_db_workspace_is_served_through_its_jsonl(tmp_path: Path) -> None:
    ws = tmp_path / "nodb"
    ws.mkdir()
    git(ws, "init", "-q")
    Bd(ws)("init", "--no-db", "--prefix", "nd", "--quiet")
    service = Service(actor="tester")
    made = service.call("create", {"title": "in the jsonl", "workspace_root": str(ws)})
    assert made["id"].startswith("nd-")
    assert json.loads((ws / ".beads" / "issues.jsonl").read_text())["title"] == "in the jsonl"
    assert not list((ws / ".beads").glob("*.db"))


def test_schemas_and_argument_checks() -> None:
    for name in TOOLS:
        schema = input_schema(name)
        full = input_schema(name, full=True)
        assert set(schema["properties"]) <= set(full["properties"]) == set(TOOLS[name][1])
        assert set(tool_info(name)["parameters"]) == set(TOOLS[name][1])
    assert "workspace_root" not in input_schema("ready")["properties"]
    assert check_args("ready", {"limit": 3, "workspace_root": None}) == {"limit": 3}
    for bad in ({"limit": True}, {"labels": "x"}, {"labels": [1]}, {"zzz": 1}):
        with pytest.raises(InvalidInput):
            check_args("ready", bad)
