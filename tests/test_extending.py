"""docs/EXTENDING.md, executed: every ``python`` block runs in order, then its results are checked.

Keeping the guide's code in the test (rather than a copy of it) means the two cannot drift.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "EXTENDING.md"


def code_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)


@pytest.fixture
def guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, str]:
    """Run the guide in an empty directory; returns its namespace and what it printed."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "extending_guide"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for n, block in enumerate(code_blocks(), start=1):
            exec(compile(block, f"{DOC.name} block {n}", "exec"), namespace)  # noqa: S102
    return namespace, out.getvalue()


def test_the_guide_has_code_for_every_use_case() -> None:
    code = "\n".join(code_blocks())
    for needle in ("beads.init(", "beads.open(", "tracker.create(", "tracker.create_many(", "tracker.write()",
                   "tracker.update(", "tracker.close(", "tracker.add_dependency(", "ReadyFilter(",
                   "tracker.store.connection", "REFERENCES issues(id)", "JOIN issues", "tracker.migrate(",
                   "claim_next("):
        assert needle in code, needle


def test_the_guide_runs_and_creates_what_it_says(guide: tuple[dict, str], tmp_path: Path) -> None:
    ns, printed = guide
    import beads

    with beads.open(str(tmp_path / "myproject")) as t:
        epic, parse, store = ns["epic"]["id"], ns["parse"]["id"], ns["store"]["id"]
        assert (parse, store) == (f"{epic}.1", f"{epic}.2")
        assert t.get(parse)["status"] == "closed"
        assert t.get(store)["status"] == "in_progress"
        assert t.labels(store) == ["backend", "database"]
        assert [i["id"] for i in ns["batch"]][0] == "app-docs"
        assert t.labels(ns["batch"][1]["id"]) == ["docs"]
        assert [c["text"] for c in t.comments(ns["batch"][1]["id"])] == ["Needs a native speaker"]
        edges = t.store.all_edges(exclude_types=())
        assert (ns["batch"][0]["id"], ns["batch"][1]["id"], "blocks") not in edges  # the cycle was refused
        assert (ns["review"]["id"], store, "blocks") in edges
    assert "cycle cannot add dependency: would create a cycle" in printed
    assert "refused:" in printed


def test_the_guides_ready_and_blocked_output_follows_the_graph(guide: tuple[dict, str]) -> None:
    ns, printed = guide
    review, store = ns["review"]["id"], ns["store"]["id"]
    assert ns["waiting"][review] == [store]
    assert f"{store} 1 Store the parsed rows" in printed  # ready, by priority, backend label
    assert review not in [line.split()[0] for line in printed.splitlines() if line.startswith("app-")
                          and "Review the storage code" in line]


def test_the_guides_own_table_joins_with_issues_and_cascades(guide: tuple[dict, str], tmp_path: Path) -> None:
    ns, _ = guide
    parse, store = ns["parse"]["id"], ns["store"]["id"]
    assert [(r[0], r[3]) for r in ns["rows"]] == [(store, 120), (parse, 45)]
    assert ns["backend_minutes"] == 165
    conn = sqlite3.connect(tmp_path / "myproject" / ".beads" / "beads.db")
    conn.execute("PRAGMA foreign_keys = ON")
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'myapp_time_entries'").fetchone()[0]
    assert "REFERENCES issues(id) ON DELETE CASCADE ON UPDATE CASCADE" in sql
    conn.close()

    import beads

    with beads.open(str(tmp_path / "myproject")) as t:
        with t.store.transaction():  # an import renaming an issue keeps the rows attached
            t.store.rename_issue(store, "app-renamed")
        count = "SELECT COUNT(*) FROM myapp_time_entries WHERE issue_id = ?"
        assert t.store.connection.execute(count, ("app-renamed",)).fetchone()[0] == 2
        t.delete([parse])  # a tombstone keeps its rows
        assert t.store.connection.execute(count, (parse,)).fetchone()[0] == 1
        t.delete([parse], hard=True)  # a purge takes them along
        assert t.store.connection.execute(count, (parse,)).fetchone()[0] == 0


def test_the_guides_last_step_exports_to_the_jsonl(guide: tuple[dict, str], tmp_path: Path) -> None:
    ns, _ = guide
    jsonl = tmp_path / "myproject" / ".beads" / "issues.jsonl"
    ids = [json.loads(line)["id"] for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert ns["store"]["id"] in ids and "app-docs" in ids
    assert "myapp" not in jsonl.read_text(encoding="utf-8")


def test_the_guides_migrations_and_claim_next_do_what_it_says(guide: tuple[dict, str], tmp_path: Path) -> None:
    ns, printed = guide
    assert "2 2" in printed.splitlines()
    taken = ns["taken"]
    assert taken is not None and taken["id"] == ns["proofread"]["id"] and taken["assignee"] == "worker-1"
    import beads

    with beads.open(str(tmp_path / "myproject")) as t:
        assert t.migrate("myapp", ns["MYAPP_MIGRATIONS"]) == 2
        columns = [r[1] for r in t.store.connection.execute("PRAGMA table_info(myapp_reviews)")]
        assert columns == ["id", "issue_id", "reviewer", "verdict", "note"]
        assert t.get(taken["id"])["status"] == "in_progress"
