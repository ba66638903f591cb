"""An agent's working loop through the real `bd`: plan an epic, take ready work, close, repeat."""

from __future__ import annotations


def _ids(issues: object) -> list[str]:
    assert isinstance(issues, list)
    return [i["id"] for i in issues]


def _create(bd, title: str, *args: str) -> str:  # noqa: ANN001
    return bd("create", title, "--silent", *args).stdout.strip()


def _chained_epic(bd) -> tuple[str, list[str]]:  # noqa: ANN001
    """An epic with three sub-tasks, each blocked by the previous one."""
    epic = _create(bd, "Ship the importer", "-t", "epic", "-p", "1")
    tasks = [_create(bd, f"Step {n}", "--parent", epic, "-p", "2") for n in (1, 2, 3)]
    bd("dep", "add", tasks[1], tasks[0])
    bd("dep", "add", tasks[2], tasks[1], "-t", "blocks")
    return epic, tasks


def test_subtasks_created_with_parent_get_hierarchical_ids(bd) -> None:  # noqa: ANN001
    epic, tasks = _chained_epic(bd)
    assert tasks == [f"{epic}.1", f"{epic}.2", f"{epic}.3"]
    shown = bd.json("show", tasks[0])[0]
    assert shown["parent"] == epic


def test_only_the_unblocked_subtask_and_the_open_epic_are_ready(bd) -> None:  # noqa: ANN001
    epic, tasks = _chained_epic(bd)
    ready = _ids(bd.json("ready"))
    # An open parent does not block its children, and the epic itself has no blockers.
    assert sorted(ready) == sorted([epic, tasks[0]])


def test_closing_each_step_makes_the_next_one_ready(bd) -> None:  # noqa: ANN001
    epic, tasks = _chained_epic(bd)
    for n, task in enumerate(tasks):
        ready = _ids(bd.json("ready"))
        assert task in ready
        assert not set(tasks[n + 1:]) & set(ready)
        closed = bd.json("close", task, "--reason", "done")
        assert closed[0]["status"] == "closed"
    assert _ids(bd.json("ready")) == [epic]


def test_blocked_shows_each_waiting_step_with_its_blocker(bd) -> None:  # noqa: ANN001
    _, tasks = _chained_epic(bd)
    blocked = bd.json("blocked")
    assert {b["id"]: b["blocked_by"] for b in blocked} == {tasks[1]: [tasks[0]], tasks[2]: [tasks[1]]}
    bd("close", tasks[0])
    assert _ids(bd.json("blocked")) == [tasks[2]]


def test_a_dependency_that_would_create_a_cycle_is_refused_with_the_path(bd) -> None:  # noqa: ANN001
    _, tasks = _chained_epic(bd)
    before = bd.json("list", "--all")
    result = bd("dep", "add", tasks[0], tasks[2], check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"Error: cannot add dependency: would create a cycle ({tasks[0]} → {tasks[2]} → {tasks[1]} → {tasks[0]})")
    assert bd.json("list", "--all") == before


def test_a_refused_cycle_reports_a_json_error_when_asked_for_json(bd) -> None:  # noqa: ANN001
    _, tasks = _chained_epic(bd)
    before = bd.json("list", "--all")
    result = bd("dep", "add", tasks[0], tasks[1], "--json", check=False)
    assert result.returncode == 1
    assert "would create a cycle" in result.json()["error"]  # type: ignore[index]
    assert bd.json("list", "--all") == before
    assert bd.json("dep", "cycles") == []


def test_the_epic_becomes_eligible_for_closure_when_all_steps_are_closed(bd) -> None:  # noqa: ANN001
    epic, tasks = _chained_epic(bd)
    status = bd.json("epic", "status")
    assert status == [{"epic": status[0]["epic"], "total_children": 3, "closed_children": 0,
                       "eligible_for_close": False}]
    assert status[0]["epic"]["id"] == epic
    bd("close", *tasks)
    status = bd.json("epic", "status", "--eligible-only")
    assert [(s["epic"]["id"], s["closed_children"], s["eligible_for_close"]) for s in status] == [(epic, 3, True)]
    assert bd.json("stats")["epics_eligible_for_closure"] == 1


def test_close_eligible_closes_finished_epics_and_dry_run_changes_nothing(bd) -> None:  # noqa: ANN001
    epic, tasks = _chained_epic(bd)
    bd("close", *tasks)
    preview = bd.json("epic", "close-eligible", "--dry-run")
    assert [p["epic"]["id"] for p in preview] == [epic]
    assert bd.json("show", epic)[0]["status"] == "open"
    assert bd.json("epic", "close-eligible") == {"closed": [epic], "count": 1}
    shown = bd.json("show", epic)[0]
    assert (shown["status"], shown["close_reason"]) == ("closed", "All children completed")
    assert bd.json("epic", "status") == []
    assert bd("epic", "close-eligible").stdout.strip() == "No epics eligible for closure"


def test_ready_text_output_numbers_the_work_with_priority_and_type(bd) -> None:  # noqa: ANN001
    epic, tasks = _chained_epic(bd)
    out = bd("ready").stdout
    assert "📋 Ready work (2 issues with no blockers):" in out
    assert f"1. [● P1] [epic] {epic}: Ship the importer" in out
    assert f"2. [● P2] [task] {tasks[0]}: Step 1" in out
