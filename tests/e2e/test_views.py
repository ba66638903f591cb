"""The read views through the real `bd`: ready, blocked, stats, list, search, count, stale.

Issues that must look old (for sort policies, date filters and `stale`) are seeded with
the library on the same workspace, since `bd create` always stamps the current time.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DAY_NS = 86_400 * 1_000_000_000


def _ids(issues: object) -> list[str]:
    assert isinstance(issues, list)
    return [i["id"] for i in issues]


def _create(bd, title: str, *args: str) -> str:  # noqa: ANN001
    return bd("create", title, "--silent", *args).stdout.strip()


def _days_ago(days: float) -> str:
    from beads.timefmt import format_ns

    return format_ns(time.time_ns() - int(days * DAY_NS))


@contextmanager
def library(repo: Path) -> Iterator:
    import beads

    tracker = beads.open(str(repo), actor="tester")
    try:
        yield tracker
    finally:
        tracker.disconnect()


def _seed_old(repo: Path, title: str, days: float, **fields: object) -> str:
    stamp = _days_ago(days)
    with library(repo) as t:
        return t.create(title, created_at=stamp, updated_at=stamp, **fields)["id"]


# -- ready: blocking rules ------------------------------------------------------------------


def test_children_of_a_blocked_parent_are_not_ready_down_the_whole_hierarchy(bd) -> None:  # noqa: ANN001
    blocker = _create(bd, "Design review")
    epic = _create(bd, "Epic", "-t", "epic")
    child = _create(bd, "Child", "--parent", epic)
    grandchild = _create(bd, "Grandchild", "--parent", child)
    bd("dep", "add", epic, blocker)
    ready = _ids(bd.json("ready"))
    assert ready == [blocker]
    # Propagated blockedness keeps them out of ready, but `blocked` lists only direct blocks edges.
    assert _ids(bd.json("blocked")) == [epic]
    bd("close", blocker)
    assert sorted(_ids(bd.json("ready"))) == sorted([epic, child, grandchild])


@pytest.mark.parametrize("status", ["blocked", "deferred", "in_progress"])
def test_a_blocker_that_is_not_closed_keeps_its_dependent_blocked(bd, status: str) -> None:  # noqa: ANN001
    blocker = _create(bd, "Blocker")
    dependent = _create(bd, "Dependent")
    bd("dep", "add", dependent, blocker)
    bd("update", blocker, "--status", status)
    ready = _ids(bd.json("ready"))
    assert dependent not in ready
    assert (blocker in ready) == (status == "in_progress")


def test_issues_marked_blocked_or_deferred_are_not_ready_but_are_listed_as_blocked(bd) -> None:  # noqa: ANN001
    stuck = _create(bd, "Stuck", "-p", "1")
    later = _create(bd, "Later", "-p", "3")
    free = _create(bd, "Free")
    bd("update", stuck, "--status", "blocked")
    bd("update", later, "--status", "deferred")
    assert _ids(bd.json("ready")) == [free]
    blocked = bd.json("blocked")
    assert _ids(blocked) == [stuck, later]
    assert [(b["status"], b["blocked_by_count"], b["blocked_by"]) for b in blocked] == [
        ("blocked", 0, []), ("deferred", 0, [])]


def test_conditional_blocks_unblocks_only_when_the_blocker_failed(bd) -> None:  # noqa: ANN001
    attempt_a = _create(bd, "Attempt A")
    fallback_a = _create(bd, "Fallback A")
    attempt_b = _create(bd, "Attempt B")
    fallback_b = _create(bd, "Fallback B")
    bd("dep", "add", fallback_a, attempt_a, "-t", "conditional-blocks")
    bd("dep", "add", fallback_b, attempt_b, "-t", "conditional-blocks")
    assert not {fallback_a, fallback_b} & set(_ids(bd.json("ready")))
    bd("close", attempt_a, "--reason", "Tests FAILED on CI")
    bd("close", attempt_b, "--reason", "Shipped")
    ready = _ids(bd.json("ready"))
    assert fallback_a in ready
    assert fallback_b not in ready


def test_a_future_defer_date_hides_an_issue_unless_include_deferred(bd) -> None:  # noqa: ANN001
    later = _create(bd, "Later")
    now = _create(bd, "Now")
    bd("update", later, "--defer", "2099-01-01")
    assert _ids(bd.json("ready")) == [now]
    assert sorted(_ids(bd.json("ready", "--include-deferred"))) == sorted([later, now])


# -- ready: ordering, filters, limits ---------------------------------------------------------


@pytest.fixture
def mixed_ages(bd, repo: Path) -> dict[str, str]:  # noqa: ANN001
    """Two issues older than 48 h and two fresh ones, with interleaved priorities."""
    ids = {"old_p3": _seed_old(repo, "old low", 10, priority=3),
           "old_p0": _seed_old(repo, "old urgent", 5, priority=0)}
    ids["new_p2"] = _create(bd, "new medium", "-p", "2")
    ids["new_p1"] = _create(bd, "new high", "-p", "1")
    return ids


def test_hybrid_sort_puts_recent_work_first_by_priority_then_older_work_oldest_first(bd, mixed_ages) -> None:  # noqa: ANN001
    m = mixed_ages
    expected = [m["new_p1"], m["new_p2"], m["old_p3"], m["old_p0"]]
    assert _ids(bd.json("ready")) == expected
    assert _ids(bd.json("ready", "--sort", "hybrid")) == expected


def test_priority_sort_orders_by_priority_then_age(bd, mixed_ages) -> None:  # noqa: ANN001
    m = mixed_ages
    assert _ids(bd.json("ready", "-s", "priority")) == [m["old_p0"], m["new_p1"], m["new_p2"], m["old_p3"]]


def test_oldest_sort_orders_by_creation_time(bd, mixed_ages) -> None:  # noqa: ANN001
    m = mixed_ages
    assert _ids(bd.json("ready", "--sort", "oldest")) == [m["old_p3"], m["old_p0"], m["new_p2"], m["new_p1"]]


def test_an_unknown_sort_policy_is_an_error_naming_the_valid_ones(bd) -> None:  # noqa: ANN001
    result = bd("ready", "--sort", "newest", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: invalid sort policy 'newest'. Valid values: hybrid, priority, oldest"


def test_ready_returns_ten_issues_by_default_and_honours_limit(bd, repo: Path) -> None:  # noqa: ANN001
    with library(repo) as t:
        t.create_many([{"title": f"task {n}"} for n in range(12)])
    assert len(bd.json("ready")) == 10
    assert len(bd.json("ready", "-n", "3")) == 3
    assert len(bd.json("ready", "--limit", "0")) == 12


def test_ready_is_an_empty_array_when_nothing_is_ready(bd) -> None:  # noqa: ANN001
    assert bd("ready", "--json").stdout == "[]\n"
    assert "No open issues" in bd("ready").stdout
    blocker = _create(bd, "Blocker")
    bd("dep", "add", _create(bd, "Waiting"), blocker)
    bd("update", blocker, "--status", "deferred")
    assert "No ready work found (all issues have blocking dependencies)" in bd("ready").stdout


def test_ready_filters_by_priority_assignee_and_unassigned(bd) -> None:  # noqa: ANN001
    mine = _create(bd, "Mine", "-p", "1", "-a", "alice")
    theirs = _create(bd, "Theirs", "-p", "2", "-a", "bob")
    nobody = _create(bd, "Nobody", "-p", "1")
    assert sorted(_ids(bd.json("ready", "-p", "1"))) == sorted([mine, nobody])
    assert _ids(bd.json("ready", "-a", "bob")) == [theirs]
    assert _ids(bd.json("ready", "-u")) == [nobody]
    assert _ids(bd.json("ready", "--unassigned", "--assignee", "alice")) == [nobody]


def test_ready_label_filters_mean_all_of_and_any_of(bd) -> None:  # noqa: ANN001
    both = _create(bd, "Both", "-l", "backend,urgent")
    back = _create(bd, "Back", "-l", "backend")
    front = _create(bd, "Front", "-l", "frontend")
    assert _ids(bd.json("ready", "-l", "backend", "-l", "urgent")) == [both]
    assert _ids(bd.json("ready", "--label", "backend,urgent")) == [both]
    assert sorted(_ids(bd.json("ready", "--label-any", "urgent,frontend"))) == sorted([both, front])
    ready = bd.json("ready", "-l", "backend")
    assert sorted(_ids(ready)) == sorted([both, back])
    assert {i["id"]: i["labels"] for i in ready}[both] == ["backend", "urgent"]


def test_workflow_types_are_hidden_from_ready_unless_asked_for_by_type(bd) -> None:  # noqa: ANN001
    gate = _create(bd, "Wait for CI", "-t", "gate")
    bug = _create(bd, "Crash", "-t", "bug")
    assert _ids(bd.json("ready")) == [bug]
    assert _ids(bd.json("ready", "-t", "gate")) == [gate]
    assert _ids(bd.json("ready", "--type", "bug")) == [bug]


def test_ready_parent_filter_covers_all_descendants(bd) -> None:  # noqa: ANN001
    epic = _create(bd, "Epic", "-t", "epic")
    child = _create(bd, "Child", "--parent", epic)
    grandchild = _create(bd, "Grandchild", "--parent", child)
    _create(bd, "Elsewhere")
    assert sorted(_ids(bd.json("ready", "--parent", epic))) == sorted([child, grandchild])


# -- blocked ------------------------------------------------------------------------------------


def test_blocked_entries_carry_issue_fields_and_the_list_of_open_blockers(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    done = _create(bd, "Done")
    waiting = _create(bd, "Waiting", "-p", "1", "-l", "api")
    for blocker in (a, b, done):
        bd("dep", "add", waiting, blocker)
    bd("close", done)
    [entry] = bd.json("blocked")
    assert entry["id"] == waiting
    assert entry["title"] == "Waiting"
    assert entry["priority"] == 1
    assert entry["labels"] == ["api"]
    assert entry["blocked_by_count"] == 2
    assert sorted(entry["blocked_by"]) == sorted([a, b])
    assert list(entry)[-2:] == ["blocked_by_count", "blocked_by"]


def test_blocked_is_ordered_by_priority_and_filters_by_parent(bd) -> None:  # noqa: ANN001
    epic = _create(bd, "Epic", "-t", "epic")
    inside = _create(bd, "Inside", "--parent", epic, "-p", "3")
    outside = _create(bd, "Outside", "-p", "0")
    blocker = _create(bd, "Blocker")
    bd("dep", "add", inside, blocker)
    bd("dep", "add", outside, blocker)
    assert _ids(bd.json("blocked")) == [outside, inside]
    assert _ids(bd.json("blocked", "--parent", epic)) == [inside]
    assert bd("blocked", "--parent", blocker, "--json").stdout == "[]\n"


def test_blocked_text_names_the_blockers(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    w = _create(bd, "Waiting")
    bd("dep", "add", w, a)
    out = bd("blocked").stdout
    assert "🚫 Blocked issues (1):" in out
    assert f"[P2] {w}: Waiting" in out
    assert f"Blocked by 1 open dependencies: [{a}]" in out


# -- stats ----------------------------------------------------------------------------------------


STAT_KEYS = ["total_issues", "open_issues", "in_progress_issues", "closed_issues", "blocked_issues",
             "deferred_issues", "ready_issues", "tombstone_issues", "pinned_issues", "epics_eligible_for_closure",
             "average_lead_time_hours"]


def test_stats_json_has_the_flat_keys_and_the_same_values_under_summary(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    c = _create(bd, "C")
    d = _create(bd, "D")
    bd("dep", "add", b, a)
    bd("update", c, "--status", "in_progress")
    bd("close", d)
    stats = bd.json("stats")
    assert list(stats) == [*STAT_KEYS, "summary"]
    assert stats["summary"] == {k: stats[k] for k in STAT_KEYS}
    assert {k: stats[k] for k in STAT_KEYS[:7]} == {
        "total_issues": 4, "open_issues": 2, "in_progress_issues": 1, "closed_issues": 1, "blocked_issues": 1,
        "deferred_issues": 0, "ready_issues": 2}  # A and C (in progress): what `bd ready` lists
    assert stats["ready_issues"] == len(bd.json("ready", "--limit", "0"))
    assert stats["average_lead_time_hours"] >= 0
    assert bd.json("status") == stats


def test_stats_assigned_counts_only_the_actors_issues(bd) -> None:  # noqa: ANN001
    _create(bd, "Mine", "-a", "alice")
    _create(bd, "Theirs", "-a", "bob")
    stats = bd.json("status", "--assigned", "--actor", "alice")
    assert (stats["total_issues"], stats["open_issues"], stats["ready_issues"]) == (1, 1, 1)


def test_stats_text_is_a_readable_overview(bd) -> None:  # noqa: ANN001
    _create(bd, "A")
    out = bd("stats").stdout
    assert "📊 Issue Database Status" in out
    assert "Total Issues:           1" in out
    assert "Ready to Work:          1" in out


# -- list -------------------------------------------------------------------------------------------


def test_list_hides_closed_issues_unless_all_or_a_status_is_given(bd) -> None:  # noqa: ANN001
    open_id = _create(bd, "Open")
    closed_id = _create(bd, "Closed")
    bd("close", closed_id)
    assert _ids(bd.json("list")) == [open_id]
    assert sorted(_ids(bd.json("list", "--all"))) == sorted([open_id, closed_id])
    assert _ids(bd.json("list", "--status", "closed")) == [closed_id]
    assert sorted(_ids(bd.json("list", "-s", "all"))) == sorted([open_id, closed_id])


def test_list_hides_tombstones_unless_asked_for_by_status(bd, repo: Path) -> None:  # noqa: ANN001
    keep = _create(bd, "Keep")
    gone = _create(bd, "Gone")
    with library(repo) as t:
        t.delete([gone])
    assert _ids(bd.json("list", "--all")) == [keep]
    assert _ids(bd.json("list", "--status", "all")) == [keep]
    [tomb] = bd.json("list", "--status", "tombstone")
    assert (tomb["id"], tomb["status"]) == (gone, "tombstone")


def test_list_returns_fifty_issues_by_default_and_hints_on_stderr(bd, repo: Path) -> None:  # noqa: ANN001
    with library(repo) as t:
        t.create_many([{"title": f"task {n}"} for n in range(55)])
    assert len(bd.json("list")) == 50
    assert len(bd.json("list", "-n", "0")) == 55
    assert len(bd.json("list", "--limit", "7")) == 7
    result = bd("list")
    assert len(result.stdout.splitlines()) == 50
    assert "Showing 50 issues (use --limit 0 for all)" in result.stderr


def test_list_json_carries_labels_and_dependency_counts(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A", "-l", "x,y")
    b = _create(bd, "B")
    c = _create(bd, "C")
    bd("dep", "add", b, a)
    bd("dep", "add", c, a, "-t", "related")
    items = {i["id"]: i for i in bd.json("list")}
    assert items[a]["labels"] == ["x", "y"]
    assert (items[a]["dependency_count"], items[a]["dependent_count"]) == (0, 2)
    assert (items[b]["dependency_count"], items[b]["dependent_count"]) == (1, 0)
    assert "labels" not in items[b]
    assert list(items[a])[-2:] == ["dependency_count", "dependent_count"]


def test_list_orders_by_priority_then_newest_and_sort_flags_change_it(bd) -> None:  # noqa: ANN001
    first = _create(bd, "b first", "-p", "2")
    second = _create(bd, "a second", "-p", "2")
    urgent = _create(bd, "c urgent", "-p", "0")
    assert _ids(bd.json("list")) == [urgent, second, first]
    assert _ids(bd.json("list", "--sort", "title")) == [second, first, urgent]
    assert _ids(bd.json("list", "--sort", "title", "-r")) == [urgent, first, second]
    assert _ids(bd.json("list", "--sort", "created")) == [urgent, second, first]
    result = bd("list", "--sort", "bogus", check=False)
    assert result.returncode == 1
    assert "invalid sort field 'bogus'" in result.stderr


def test_list_label_filters_are_all_of_repeatable_and_comma_separated(bd) -> None:  # noqa: ANN001
    both = _create(bd, "Both", "-l", "a,b")
    only_a = _create(bd, "Only a", "-l", "a")
    none = _create(bd, "None")
    assert _ids(bd.json("list", "--label", "a", "--label", "b")) == [both]
    assert _ids(bd.json("list", "-l", "a,b")) == [both]
    assert sorted(_ids(bd.json("list", "--label-any", "b", "--label-any", "a"))) == sorted([both, only_a])
    assert _ids(bd.json("list", "--no-labels")) == [none]


def test_list_text_and_field_filters(bd) -> None:  # noqa: ANN001
    a = _create(bd, "Parser crash", "-d", "segfault in lexer", "-a", "alice", "-p", "0")
    b = _create(bd, "Docs typo", "-p", "3")
    bd("update", b, "--notes", "see the style guide")
    assert _ids(bd.json("list", "--title", "crash")) == [a]
    assert _ids(bd.json("list", "--title-contains", "TYPO")) == [b]
    assert _ids(bd.json("list", "--desc-contains", "lexer")) == [a]
    assert _ids(bd.json("list", "--notes-contains", "style")) == [b]
    assert _ids(bd.json("list", "--empty-description")) == [b]
    assert _ids(bd.json("list", "--no-assignee")) == [b]
    assert _ids(bd.json("list", "-a", "alice")) == [a]
    assert _ids(bd.json("list", "--id", f"{b}, {a}")) == [a, b]
    assert _ids(bd.json("list", "-p", "P3")) == [b]
    assert _ids(bd.json("list", "--priority-min", "1", "--priority-max", "4")) == [b]
    assert _ids(bd.json("list", "-t", "bug")) == []


def test_list_date_filters_compare_against_the_given_day(bd, repo: Path) -> None:  # noqa: ANN001
    old = _seed_old(repo, "Old", 400)
    new = _create(bd, "New")
    cutoff = _days_ago(30)[:10]
    assert _ids(bd.json("list", "--created-after", cutoff)) == [new]
    assert _ids(bd.json("list", "--created-before", cutoff)) == [old]
    assert _ids(bd.json("list", "--updated-before", cutoff)) == [old]
    bd("close", new)
    assert _ids(bd.json("list", "--all", "--closed-after", cutoff)) == [new]
    result = bd("list", "--created-after", "last tuesday", check=False)
    assert result.returncode == 1
    assert "--created-after" in result.stderr


def test_list_parent_shows_direct_children_only(bd) -> None:  # noqa: ANN001
    epic = _create(bd, "Epic", "-t", "epic")
    child = _create(bd, "Child", "--parent", epic)
    _create(bd, "Grandchild", "--parent", child)
    assert _ids(bd.json("list", "--parent", epic)) == [child]


def test_list_pinned_and_template_issues(bd, repo: Path) -> None:  # noqa: ANN001
    plain = _create(bd, "Plain")
    pinned = _create(bd, "Pinned")
    template = _create(bd, "Template")
    with library(repo) as t:
        t.update(pinned, pinned=True)
        t.update(template, is_template=True)
    assert sorted(_ids(bd.json("list"))) == sorted([plain, pinned])
    assert _ids(bd.json("list", "--pinned")) == [pinned]
    assert _ids(bd.json("list", "--no-pinned")) == [plain]
    assert template in _ids(bd.json("list", "--include-templates"))
    assert bd("list", "--pinned", "--no-pinned", check=False).returncode == 1


def test_list_text_line_shows_priority_type_status_assignee_and_labels(bd) -> None:  # noqa: ANN001
    a = _create(bd, "Fix it", "-p", "1", "-t", "bug", "-a", "alice", "-l", "b,a")
    assert bd("list").stdout == f"○ {a} [● P1] [bug] @alice [a b] - Fix it\n"  # v0.47 layout
    long_out = bd("list", "--long").stdout
    assert f"{a} [● P1] [bug] open\n  Fix it\n  Assignee: alice\n  Labels: [a b]\n" in long_out


def test_list_format_digraph_and_dot_print_the_edges_between_listed_issues(bd) -> None:  # noqa: ANN001
    a = _create(bd, "A")
    b = _create(bd, "B")
    bd("dep", "add", b, a)
    assert bd("list", "--format", "digraph").stdout == f"{b} {a}\n"
    assert bd("list", "--format", "{{.IssueID}} -{{.Type}}-> {{.DependsOnID}}").stdout == f"{b} -blocks-> {a}\n"
    dot = bd("list", "--format", "dot").stdout
    assert dot.startswith("digraph dependencies {\n")
    assert f'"{b}" -> "{a}" [label="blocks", color=red, style=bold];' in dot


# -- search ---------------------------------------------------------------------------------------


def test_search_matches_title_description_and_id_including_closed(bd) -> None:  # noqa: ANN001
    a = _create(bd, "Login fails", "-d", "the OAuth token expires")
    b = _create(bd, "Unrelated")
    bd("close", a)
    assert _ids(bd.json("search", "oauth")) == [a]
    assert _ids(bd.json("search", "login")) == [a]
    assert _ids(bd.json("search", b.split("-", 1)[1])) == [b]
    assert bd.json("search", "--query", "fails", "--status", "open") == []
    [hit] = bd.json("search", "login")
    assert "dependency_count" in hit
    result = bd("search", check=False)
    assert result.returncode == 1
    assert "search query is required" in result.stderr


def test_search_text_output_counts_the_matches(bd) -> None:  # noqa: ANN001
    a = _create(bd, "Login fails")
    out = bd("search", "login").stdout
    assert out.splitlines() == ["Found 1 issues matching 'login':", f"{a} [P2] [task] open - Login fails"]
    assert bd("search", "nothing-like-this").stdout.strip() == "No issues found matching 'nothing-like-this'"


# -- count ----------------------------------------------------------------------------------------


@pytest.fixture
def counted(bd) -> list[str]:  # noqa: ANN001
    ids = [_create(bd, "A", "-p", "1", "-t", "bug", "-a", "alice", "-l", "api,ui"),
           _create(bd, "B", "-p", "1", "-l", "api"),
           _create(bd, "C", "-p", "3")]
    bd("close", ids[2])
    return ids


def test_count_counts_every_live_issue_by_default(bd, counted) -> None:  # noqa: ANN001
    assert bd.json("count") == {"count": 3}
    assert bd("count").stdout == "3\n"
    assert bd.json("count", "--status", "open") == {"count": 2}
    assert bd.json("count", "-l", "api", "--label", "ui") == {"count": 1}


@pytest.mark.parametrize(("flag", "groups"), [
    ("--by-status", [("closed", 1), ("open", 2)]),
    ("--by-priority", [("P1", 2), ("P3", 1)]),
    ("--by-type", [("bug", 1), ("task", 2)]),
    ("--by-assignee", [("(unassigned)", 2), ("alice", 1)]),
    ("--by-label", [("(no labels)", 1), ("api", 2), ("ui", 1)]),
])
def test_count_groups_use_the_originals_names_sorted(bd, counted, flag: str, groups) -> None:  # noqa: ANN001
    result = bd.json("count", flag)
    assert result == {"total": 3, "groups": [{"group": g, "count": n} for g, n in groups]}


def test_count_refuses_two_groupings_and_prints_groups_as_text(bd, counted) -> None:  # noqa: ANN001
    result = bd("count", "--by-status", "--by-type", check=False)
    assert result.returncode == 1
    assert "only one --by-* flag can be specified" in result.stderr
    assert bd("count", "--by-status").stdout == "Total: 3\n\nclosed: 1\nopen: 2\n"


# -- stale ----------------------------------------------------------------------------------------


def test_stale_lists_open_issues_not_updated_for_n_days_oldest_first(bd, repo: Path) -> None:  # noqa: ANN001
    older = _seed_old(repo, "Older", 90)
    old = _seed_old(repo, "Old", 40)
    closed = _seed_old(repo, "Closed long ago", 100, status="closed")
    recent = _seed_old(repo, "Recent", 3)
    assert _ids(bd.json("stale")) == [older, old]
    assert _ids(bd.json("stale", "-d", "2")) == [older, old, recent]
    assert _ids(bd.json("stale", "--days", "60")) == [older]
    assert _ids(bd.json("stale", "-n", "1")) == [older]
    assert closed not in _ids(bd.json("stale", "-d", "0"))
    out = bd("stale").stdout
    assert "Stale issues (2 not updated in 30+ days):" in out
    assert "Last updated: 90 days ago" in out


def test_stale_filters_by_status_and_rejects_other_statuses(bd, repo: Path) -> None:  # noqa: ANN001
    old = _seed_old(repo, "Old", 40)
    assert bd.json("stale", "-s", "in_progress") == []
    assert _ids(bd.json("stale", "--status", "open")) == [old]
    result = bd("stale", "-s", "closed", check=False)
    assert result.returncode == 1
    assert "invalid status 'closed'. Valid values: open, in_progress, blocked, deferred" in result.stderr
    assert bd("stale", "--json", "-d", "1000").stdout == "[]\n"


# -- start-up cost ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ready", "list", "blocked", "count", "stats"])
def test_read_views_keep_heavy_modules_off_the_start_up_path(bd, repo: Path, command: str) -> None:  # noqa: ANN001
    import subprocess
    import sys

    _create(bd, "Something")
    code = ("import sys\nfrom beads.cli.main import main\nrc = main(sys.argv[1:])\n"
            "heavy = sorted({'typing', 'dataclasses', 'asyncio', 'yaml', 'subprocess'} & set(sys.modules))\n"
            "sys.stderr.write(repr(heavy))\nsys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code, command, "--json"], cwd=repo, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "[]"
