"""Helpers for the JSONL-layer tests: library workspaces and record builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import beads
from beads import timefmt

BASE_NS = 1_767_000_000_000_000_000  # 2025-12-29


def ts(offset_s: float = 0) -> str:
    """A fixed, distinct timestamp (RFC3339 with offset) ``offset_s`` seconds after the base."""
    return timefmt.format_ns(BASE_NS + int(offset_s * 1_000_000_000), -8 * 3600)


def rec(issue_id: str, title: str | None = None, *, at: float = 0, **fields: Any) -> dict[str, Any]:
    """An issue record as a JSONL line carries it."""
    out: dict[str, Any] = {"id": issue_id, "title": title or f"title of {issue_id}", "status": "open",
                           "priority": 2, "issue_type": "task", "created_at": ts(0), "updated_at": ts(at)}
    out.update(fields)
    if out["status"] == "closed" and "closed_at" not in out:
        out["closed_at"] = out["updated_at"]
    return out


def dep(src: str, dst: str, dep_type: str = "blocks", at: float = 0) -> dict[str, Any]:
    return {"issue_id": src, "depends_on_id": dst, "type": dep_type, "created_at": ts(at), "created_by": "tester"}


def jsonl_text(*records: dict[str, Any]) -> str:
    from beads.sync.jsonl import render

    return render(list(records))


def workspace(tmp: Path, name: str = "ws", prefix: str = "test") -> beads.Tracker:
    root = tmp / name
    root.mkdir(parents=True, exist_ok=True)
    return beads.init(str(root), prefix=prefix, actor="tester")


def file_records(path: str | Path) -> dict[str, dict[str, Any]]:
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            out[obj["id"]] = obj
    return out


def db_state(tracker: beads.Tracker) -> tuple:
    """Everything an import could change, for "nothing changed" assertions."""
    store = tracker.store
    return (
        [{k: v for k, v in i.items() if k != "_content_hash"} for i in store.all_issues()],
        store.all_labels(), store.all_dependencies(), store.comments_for(None),
        sorted(store.dirty_ids()), store.all_metadata(),
    )
