"""End-to-end: create, q, show, update, close, reopen and delete through the installed ``bd``.

Each test runs the real entry point as a subprocess in a fresh workspace (prefix
``test``), checks the text or ``--json`` output and exit status, and reads the
result back (``bd show --json`` or the library) to prove what was stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import Bd

import beads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# The shared runner already asserts that no command prints a traceback.
Checked = Bd


def make(bd: Checked, title: str, *flags: str) -> str:
    return bd("create", title, "-d", "why", "--silent", *flags).stdout.strip()


def show(bd: Checked, issue_id: str) -> dict[str, Any]:
    items = bd.json("show", issue_id)
    assert isinstance(items, list) and len(items) == 1
    return items[0]


def open_db(bd: Checked) -> beads.Tracker:
    return beads.open(str(bd.cwd))


# -- create -----------------------------------------------------------------------------------


def test_create_prints_the_confirmation_block_scripts_grep_for(bd: Checked) -> None:
    result = bd("create", "Fix the login bug", "-d", "users cannot log in", "-p", "1")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✓ Created issue: test-")
    assert lines[1:] == ["  Title: Fix the login bug", "  Priority: P1", "  Status: open"]


def test_create_json_is_the_single_new_issue_as_inserted(bd: Checked) -> None:
    issue = bd.json("create", "Add search", "-d", "full text", "-t", "feature", "-a", "alice", "-l", "ui")
    assert isinstance(issue, dict)
    assert issue["id"].startswith("test-")
    assert list(issue)[:2] == ["id", "title"]
    assert issue["status"] == "open"
    assert issue["issue_type"] == "feature"
    assert issue["assignee"] == "alice"
    assert issue["created_by"] == "tester"
    assert "labels" not in issue  # the original returns the row as inserted
    assert show(bd, issue["id"])["labels"] == ["ui"]


def test_create_defaults_to_priority_two_and_type_task(bd: Checked) -> None:
    issue = bd.json("create", "Plain", "-d", "x")
    assert issue["priority"] == 2
    assert issue["issue_type"] == "task"


@pytest.mark.parametrize("flag, expected", [("0", 0), ("P0", 0), ("p3", 3), ("4", 4)])
def test_create_accepts_numeric_and_p_prefixed_priorities(bd: Checked, flag: str, expected: int) -> None:
    assert bd.json("create", "Prio", "-d", "x", "-p", flag)["priority"] == expected


def test_create_silent_prints_only_the_new_id(bd: Checked) -> None:
    result = bd("create", "Quiet one", "--silent")
    assert result.stdout.count("\n") == 1
    issue_id = result.stdout.strip()
    assert show(bd, issue_id)["title"] == "Quiet one"
    assert result.stderr == ""  # --silent also drops the missing-description nudge


def test_q_prints_only_the_id_and_takes_priority_type_and_labels(bd: Checked) -> None:
    issue_id = bd("q", "Quick", "capture", "-p", "1", "-t", "bug", "-l", "a,b").stdout.strip()
    issue = show(bd, issue_id)
    assert issue["title"] == "Quick capture"
    assert (issue["priority"], issue["issue_type"], issue["labels"]) == (1, "bug", ["a", "b"])


def test_create_without_description_warns_on_stderr_only(bd: Checked) -> None:
    result = bd("create", "No context")
    assert "without description" in result.stderr
    assert "✓ Created issue" in result.stdout


def test_create_reads_the_description_from_stdin_with_dash(bd: Checked) -> None:
    issue = bd.json("create", "From stdin", "-d", "-", input="piped\ntext\n")
    assert issue["description"] == "piped\ntext\n"


def test_create_reads_the_description_from_a_body_file(bd: Checked, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("from a file")
    assert bd.json("create", "Body file", "--body-file", str(body))["description"] == "from a file"


def test_create_title_flag_and_positional_title_must_agree(bd: Checked) -> None:
    assert bd.json("create", "--title", "Flag title", "-d", "x")["title"] == "Flag title"
    result = bd("create", "One", "--title", "Two", check=False)
    assert result.returncode == 1
    assert "cannot specify different titles" in result.stderr


def test_create_with_parent_mints_numbered_children_and_a_parent_child_edge(bd: Checked) -> None:
    epic = make(bd, "Epic", "-t", "epic")
    first = make(bd, "Child one", "--parent", epic)
    second = make(bd, "Child two", "--parent", epic)
    assert (first, second) == (f"{epic}.1", f"{epic}.2")
    child = show(bd, first)
    assert child["parent"] == epic
    assert [(d["id"], d["dependency_type"]) for d in child["dependencies"]] == [(epic, "parent-child")]
    parent = show(bd, epic)
    assert sorted(d["id"] for d in parent["dependents"]) == [first, second]
    assert all(d["dependency_type"] == "parent-child" for d in parent["dependents"])


def test_create_with_deps_adds_typed_edges_and_bare_ids_block(bd: Checked) -> None:
    a = make(bd, "Source")
    b = make(bd, "Blocker")
    c = make(bd, "Found later", "--deps", f"discovered-from:{a},{b}")
    deps = {d["id"]: d["dependency_type"] for d in show(bd, c)["dependencies"]}
    assert deps == {a: "discovered-from", b: "blocks"}


def test_create_with_waits_for_records_the_gate_in_edge_metadata(bd: Checked) -> None:
    spawner = make(bd, "Spawner")
    waiter = make(bd, "Waiter", "--waits-for", spawner, "--waits-for-gate", "any-children")
    with open_db(bd) as t:
        [edge] = t.store.dependencies_of(waiter)
    assert (edge["depends_on_id"], edge["type"]) == (spawner, "waits-for")
    assert json.loads(edge["metadata"]) == {"gate": "any-children"}


def test_create_labels_flag_accepts_commas_and_repeats(bd: Checked) -> None:
    issue_id = make(bd, "Labelled", "-l", "b,a", "--label", "c")
    assert show(bd, issue_id)["labels"] == ["a", "b", "c"]


def test_create_with_explicit_id_uses_it(bd: Checked) -> None:
    assert make(bd, "Chosen", "--id", "test-42") == "test-42"
    assert show(bd, "test-42")["title"] == "Chosen"


def test_create_with_explicit_id_of_another_prefix_needs_force(bd: Checked) -> None:
    result = bd("create", "Foreign", "--id", "other-1", check=False)
    assert result.returncode == 1
    assert "prefix mismatch" in result.stderr
    assert make(bd, "Foreign", "--id", "other-1", "--force") == "other-1"


def test_create_refuses_an_explicit_id_without_a_dash(bd: Checked) -> None:
    result = bd("create", "Bad id", "--id", "nodash", check=False)
    assert result.returncode == 1
    assert "must contain a '-'" in result.stderr


def test_create_refuses_id_and_parent_together(bd: Checked) -> None:
    parent = make(bd, "Parent")
    result = bd("create", "Both", "--id", "test-x", "--parent", parent, check=False)
    assert result.returncode == 1
    assert "cannot specify both --id and --parent" in result.stderr


def test_create_refuses_a_duplicate_explicit_id(bd: Checked) -> None:
    make(bd, "First", "--id", "test-dup")
    result = bd("create", "Second", "--id", "test-dup", check=False)
    assert result.returncode == 1
    assert "already exists" in result.stderr


# -- create -f (markdown) ------------------------------------------------------------------------

PLAN = """\
# Sprint plan (ignored: only ## headings start issues)

## Build the parser
Reads the input
line by line.

### Priority
P1

### Type
feature

### Design
Hand-written, no regex soup.

### Acceptance Criteria
- parses every sample

### Assignee
alice

### Labels
parser, core infra

## Wire it up
### Description
Call the parser from the CLI.

### Dependencies
test-base, related:test-other
"""


def test_create_from_markdown_creates_every_issue_with_its_sections(bd: Checked, tmp_path: Path) -> None:
    make(bd, "Base", "--id", "test-base")
    make(bd, "Other", "--id", "test-other")
    plan = tmp_path / "plan.md"
    plan.write_text(PLAN)
    created = bd.json("create", "-f", str(plan))
    assert [i["title"] for i in created] == ["Build the parser", "Wire it up"]
    first = show(bd, created[0]["id"])
    assert first["description"] == "Reads the input\nline by line."
    assert (first["priority"], first["issue_type"], first["assignee"]) == (1, "feature", "alice")
    assert first["design"] == "Hand-written, no regex soup."
    assert first["acceptance_criteria"] == "- parses every sample"
    assert first["labels"] == ["core", "infra", "parser"]
    second = show(bd, created[1]["id"])
    assert (second["priority"], second["issue_type"]) == (2, "task")
    assert second["description"] == "Call the parser from the CLI."
    assert {d["id"]: d["dependency_type"] for d in second["dependencies"]} == {
        "test-base": "blocks", "test-other": "related"}


def test_create_from_markdown_text_lists_each_created_issue(bd: Checked, tmp_path: Path) -> None:
    plan = tmp_path / "two.md"
    plan.write_text("## One\n### Priority\n0\n## Two\n### Type\nbug\n")
    lines = bd("create", "-f", str(plan)).stdout.splitlines()
    assert lines[0] == f"✓ Created 2 issues from {plan}:"
    assert lines[1].startswith("  test-") and lines[1].endswith(": One [P0, task]")
    assert lines[2].endswith(": Two [P2, bug]")


def test_create_from_markdown_is_all_or_nothing(bd: Checked, tmp_path: Path) -> None:
    plan = tmp_path / "broken.md"
    plan.write_text("## Fine\n\n## Points nowhere\n### Dependencies\ntest-missing\n")
    result = bd("create", "-f", str(plan), check=False)
    assert result.returncode == 1
    assert 'no issue found matching "test-missing"' in result.stderr
    assert "nothing was created" in result.stderr
    with open_db(bd) as t:
        assert t.store.all_ids() == []


def test_create_from_markdown_warns_about_an_unknown_type_and_uses_task(bd: Checked, tmp_path: Path) -> None:
    plan = tmp_path / "odd.md"
    plan.write_text("## Odd\n### Type\nspaceship\n")
    result = bd("create", "-f", str(plan), "--json")
    assert "invalid issue type 'spaceship'" in result.stderr
    assert result.json()[0]["issue_type"] == "task"


def test_create_from_markdown_refuses_other_file_types(bd: Checked, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("## Title\n")
    result = bd("create", "-f", str(notes), check=False)
    assert result.returncode == 1
    assert "only .md and .markdown" in result.stderr


def test_create_from_markdown_without_headings_is_an_error(bd: Checked, tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("just prose\n")
    result = bd("create", "-f", str(empty), check=False)
    assert result.returncode == 1
    assert "no issues found" in result.stderr


def test_create_from_markdown_dry_run_creates_nothing(bd: Checked, tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("## Maybe\n### Priority\n1\n")
    lines = bd("create", "-f", str(plan), "--dry-run").stdout.splitlines()
    assert lines == [f"Would create 1 issues from {plan}:", "  Maybe [P1, task]"]
    assert bd.json("create", "-f", str(plan), "--dry-run")[0]["title"] == "Maybe"
    with open_db(bd) as t:
        assert t.store.all_ids() == []


# -- show -------------------------------------------------------------------------------------------


def test_show_json_is_an_array_with_relations_comments_and_parent(bd: Checked) -> None:
    epic = make(bd, "Epic", "-t", "epic")
    blocker = make(bd, "Blocker")
    child = make(bd, "Child", "--parent", epic, "--deps", blocker, "-l", "x")
    waiting = make(bd, "Waiting", "--deps", child)
    bd("comment", child, "looks good", "--author", "rev")
    issue = show(bd, child)
    assert issue["parent"] == epic
    assert issue["labels"] == ["x"]
    deps = {d["id"]: d["dependency_type"] for d in issue["dependencies"]}
    assert deps == {epic: "parent-child", blocker: "blocks"}
    assert all("title" in d and "status" in d for d in issue["dependencies"])  # full issues, not edges
    assert [(d["id"], d["dependency_type"]) for d in issue["dependents"]] == [(waiting, "blocks")]
    assert [(c["author"], c["text"]) for c in issue["comments"]] == [("rev", "looks good")]


def test_show_json_omits_empty_relations_and_parent(bd: Checked) -> None:
    issue = show(bd, make(bd, "Alone"))
    for key in ("labels", "dependencies", "dependents", "comments", "parent"):
        assert key not in issue


def test_show_text_lists_fields_and_sections(bd: Checked) -> None:
    blocker = make(bd, "Blocker")
    issue_id = bd("create", "Readable", "-d", "The description", "-p", "1", "-a", "bob", "-l", "ui",
                  "--deps", blocker, "--silent").stdout.strip()
    text = bd("show", issue_id, env={"NO_COLOR": "1"}).stdout
    # the original's v0.47 layout: header, metadata, then sections
    assert text.startswith(f"\n○ {issue_id} · Readable   [● P1 · OPEN]\nOwner: tester · Assignee: bob · Type: task\n")
    for fragment in ("DESCRIPTION\nThe description", "LABELS: ui", f"DEPENDS ON\n  → ○ {blocker}: Blocker ● P2"):
        assert fragment in text


def test_show_resolves_a_partial_id(bd: Checked) -> None:
    make(bd, "Partial", "--id", "test-zq7k")
    assert show(bd, "zq7k")["id"] == "test-zq7k"
    assert show(bd, "q7")["id"] == "test-zq7k"


def test_show_several_ids_skips_missing_ones_and_exits_zero(bd: Checked) -> None:
    a = make(bd, "A")
    b = make(bd, "B")
    result = bd("show", a, "test-nope", b, "--json")
    assert [i["id"] for i in result.json()] == [a, b]
    assert 'Error fetching test-nope: no issue found matching "test-nope"' in result.stderr


def test_show_exits_one_when_every_id_is_missing(bd: Checked) -> None:
    result = bd("show", "test-nope1", "test-nope2", check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("no issue found matching") == 2


# -- update -----------------------------------------------------------------------------------------


def test_update_changes_fields_and_prints_an_array_of_issues(bd: Checked) -> None:
    issue_id = make(bd, "Before")
    updated = bd.json("update", issue_id, "--title", "After", "-p", "P0", "-t", "bug", "-a", "carol",
                      "--notes", "n", "--design", "d", "--acceptance-criteria", "ac", "-e", "30",
                      "--external-ref", "gh-7", "-d", "new desc")
    assert isinstance(updated, list) and len(updated) == 1
    stored = show(bd, issue_id)
    assert stored["title"] == "After"
    assert (stored["priority"], stored["issue_type"], stored["assignee"]) == (0, "bug", "carol")
    assert (stored["notes"], stored["design"], stored["acceptance_criteria"]) == ("n", "d", "ac")
    assert (stored["estimated_minutes"], stored["external_ref"], stored["description"]) == (30, "gh-7", "new desc")
    assert stored["updated_at"] >= stored["created_at"]


def test_update_text_confirms_each_issue(bd: Checked) -> None:
    a, b = make(bd, "A"), make(bd, "B")
    result = bd("update", a, b, "-s", "in_progress")
    assert result.stdout.splitlines() == [f"✓ Updated issue: {a}", f"✓ Updated issue: {b}"]
    assert show(bd, b)["status"] == "in_progress"


def test_update_without_changes_says_so(bd: Checked) -> None:
    issue_id = make(bd, "Static")
    result = bd("update", issue_id)
    assert result.stdout.strip() == "No updates specified"


def test_claim_succeeds_once_then_fails_for_another_actor(bd: Checked) -> None:
    issue_id = make(bd, "Contended")
    claimed = bd.json("update", issue_id, "--claim")[0]
    assert (claimed["assignee"], claimed["status"]) == ("tester", "in_progress")
    result = bd("update", issue_id, "--claim", "--actor", "bob", check=False)
    assert result.returncode == 1
    assert "already claimed by tester" in result.stderr
    assert show(bd, issue_id)["assignee"] == "tester"


def test_claim_by_an_actor_from_the_environment(bd: Checked) -> None:
    issue_id = make(bd, "Env actor")
    bd("update", issue_id, "--claim", env={"BD_ACTOR": "agent-7"})
    assert show(bd, issue_id)["assignee"] == "agent-7"


def test_update_edits_labels(bd: Checked) -> None:
    issue_id = make(bd, "Labels", "-l", "a,b")
    bd("update", issue_id, "--add-label", "c", "--remove-label", "a")
    assert show(bd, issue_id)["labels"] == ["b", "c"]
    bd("update", issue_id, "--set-labels", "x,y")
    assert show(bd, issue_id)["labels"] == ["x", "y"]


def test_update_parent_reparents_and_an_empty_parent_removes_it(bd: Checked) -> None:
    old, new = make(bd, "Old", "-t", "epic"), make(bd, "New", "-t", "epic")
    child = make(bd, "Child", "--parent", old)
    bd("update", child, "--parent", new)
    assert show(bd, child)["parent"] == new
    assert "dependents" not in show(bd, old)
    bd("update", child, "--parent", "")
    assert "parent" not in show(bd, child)


def test_update_to_closed_sets_closed_at_and_back_to_open_clears_it(bd: Checked) -> None:
    issue_id = make(bd, "Round trip")
    bd("close", issue_id, "-r", "done")
    closed = show(bd, issue_id)
    assert closed["closed_at"] and closed["close_reason"] == "done"
    bd("update", issue_id, "-s", "open")
    reopened = show(bd, issue_id)
    assert reopened["status"] == "open"
    assert "closed_at" not in reopened and "close_reason" not in reopened
    bd("update", issue_id, "-s", "closed")
    assert show(bd, issue_id)["closed_at"]


def test_update_refuses_status_tombstone(bd: Checked) -> None:
    issue_id = make(bd, "Keep me")
    result = bd("update", issue_id, "-s", "tombstone", check=False)
    assert result.returncode == 1
    assert "use 'bd delete' instead" in result.stderr


def test_update_several_ids_continues_past_failures(bd: Checked) -> None:
    a, b = make(bd, "A"), make(bd, "B")
    result = bd("update", a, "test-nope", b, "-p", "1", "--json")
    assert result.returncode == 0
    assert [i["id"] for i in result.json()] == [a, b]
    assert "Error updating test-nope" in result.stderr
    assert show(bd, b)["priority"] == 1


def test_update_exits_one_when_every_id_fails(bd: Checked) -> None:
    result = bd("update", "test-nope1", "test-nope2", "-p", "1", "--json", check=False)
    assert result.returncode == 1
    assert "error" in result.json()


# -- close / reopen ----------------------------------------------------------------------------------


def test_close_defaults_the_reason_to_closed(bd: Checked) -> None:
    issue_id = make(bd, "Finish me")
    result = bd("close", issue_id)
    assert result.stdout.strip() == f"✓ Closed {issue_id}: Closed"
    stored = show(bd, issue_id)
    assert (stored["status"], stored["close_reason"]) == ("closed", "Closed")
    assert stored["closed_at"]


def test_close_json_is_an_array_of_closed_issues_with_the_reason(bd: Checked) -> None:
    a, b = make(bd, "A"), make(bd, "B")
    closed = bd.json("close", a, b, "--resolution", "shipped")
    assert [(i["id"], i["status"], i["close_reason"]) for i in closed] == [
        (a, "closed", "shipped"), (b, "closed", "shipped")]


def test_close_suggest_next_reports_what_the_close_unblocked(bd: Checked) -> None:
    blocker = make(bd, "Blocker")
    waiting = make(bd, "Waiting", "--deps", blocker)
    result = bd.json("close", blocker, "--suggest-next")
    assert [i["id"] for i in result["closed"]] == [blocker]
    assert [i["id"] for i in result["unblocked"]] == [waiting]


def test_close_suggest_next_text_lists_newly_unblocked_issues(bd: Checked) -> None:
    blocker = make(bd, "Blocker")
    waiting = make(bd, "Waiting", "--deps", blocker)
    text = bd("close", blocker, "--suggest-next").stdout
    assert "Newly unblocked:" in text
    assert f'{waiting} "Waiting" (P2)' in text


def test_close_suggest_next_with_nothing_unblocked_prints_the_plain_array(bd: Checked) -> None:
    issue_id = make(bd, "Lonely")
    assert [i["id"] for i in bd.json("close", issue_id, "--suggest-next")] == [issue_id]


def test_close_suggest_next_takes_a_single_issue(bd: Checked) -> None:
    a, b = make(bd, "A"), make(bd, "B")
    result = bd("close", a, b, "--suggest-next", check=False)
    assert result.returncode == 1
    assert "only works when closing a single issue" in result.stderr
    assert show(bd, a)["status"] == "open"


def test_close_several_ids_reports_failures_and_closes_the_rest(bd: Checked) -> None:
    a = make(bd, "A")
    result = bd("close", "test-nope", a)
    assert result.returncode == 0
    assert "Error closing test-nope" in result.stderr
    assert show(bd, a)["status"] == "closed"


def test_reopen_clears_closed_at_and_the_reason(bd: Checked) -> None:
    issue_id = make(bd, "Again")
    bd("close", issue_id, "-r", "premature")
    result = bd("reopen", issue_id, "-r", "not done")
    assert result.stdout.strip() == f"↻ Reopened {issue_id}: not done"
    stored = show(bd, issue_id)
    assert stored["status"] == "open"
    assert "closed_at" not in stored and "close_reason" not in stored


def test_reopen_json_is_an_array(bd: Checked) -> None:
    issue_id = make(bd, "Again")
    bd("close", issue_id)
    assert [i["status"] for i in bd.json("reopen", issue_id)] == ["open"]


# -- delete -------------------------------------------------------------------------------------------


def test_delete_without_force_previews_and_changes_nothing(bd: Checked) -> None:
    target = make(bd, "Doomed")
    dependent = bd("create", "Mentions it", "-d", f"see {target} first", "--deps", target,
                   "--silent").stdout.strip()
    before = show(bd, dependent)
    result = bd("delete", target)
    assert result.returncode == 0
    out = result.stdout
    assert "DELETE PREVIEW" in out
    assert f"{target}: Doomed" in out
    assert f"{dependent} → {target} (inbound)" in out
    assert "Connected issues where text references will be updated:" in out
    assert f"To proceed, run: bd delete {target} --force" in out
    assert show(bd, target)["status"] == "open"
    assert show(bd, dependent) == before


def test_delete_dry_run_json_describes_the_plan(bd: Checked) -> None:
    target = make(bd, "Doomed")
    dependent = bd("create", "Mentions", "-d", f"after {target}", "--deps", target, "--silent").stdout.strip()
    plan = bd.json("delete", target, "--dry-run", "--force")
    assert plan["dry_run"] is True
    assert plan["issues"] == [target]
    assert plan["dependencies_removed"] == 1
    assert plan["orphaned_issues"] == [dependent]
    assert plan["references_to_update"] == [dependent]
    assert show(bd, target)["status"] == "open"


def test_delete_force_tombstones_removes_edges_and_rewrites_references(bd: Checked) -> None:
    target = make(bd, "Doomed", "-t", "bug")
    dependent = bd("create", "Mentions", "-d", f"blocked on {target}; not {target}.1 or {target}x",
                   "--deps", target, "--silent").stdout.strip()
    result = bd.json("delete", target, "--force")
    assert result == {"deleted": target, "dependencies_removed": 1, "references_updated": 1}
    tomb = show(bd, target)
    assert tomb["status"] == "tombstone"
    assert tomb["deleted_by"] == "tester"
    assert tomb["delete_reason"] == "manual delete"
    assert tomb["original_type"] == "bug"
    assert tomb["deleted_at"] and "closed_at" not in tomb
    survivor = show(bd, dependent)
    assert survivor["description"] == f"blocked on [deleted:{target}]; not {target}.1 or {target}x"
    assert "dependencies" not in survivor


def test_delete_force_text_reports_what_was_removed(bd: Checked) -> None:
    target = make(bd, "Doomed")
    lines = bd("delete", target, "--force").stdout.splitlines()
    assert lines == [f"✓ Deleted {target}", "  Removed 0 dependency link(s)",
                     "  Updated text references in 0 issue(s)"]


def test_delete_several_ids_reports_the_batch_shape(bd: Checked) -> None:
    a, b = make(bd, "A", "-l", "x"), make(bd, "B")
    keeper = make(bd, "Keeper", "--deps", a)
    result = bd.json("delete", a, b, "--force")
    assert list(result) == ["deleted", "deleted_count", "dependencies_removed", "labels_removed",
                            "events_removed", "references_updated", "orphaned_issues"]
    assert result["deleted"] == [a, b]
    assert result["deleted_count"] == 2
    assert result["dependencies_removed"] == 1
    assert result["orphaned_issues"] == [keeper]
    assert show(bd, b)["delete_reason"] == "batch delete"


def test_delete_cascade_also_deletes_issues_that_depend_on_the_target(bd: Checked) -> None:
    root = make(bd, "Root")
    mid = make(bd, "Mid", "--deps", root)
    leaf = make(bd, "Leaf", "--deps", mid)
    other = make(bd, "Unrelated")
    preview = bd("delete", root, "--cascade").stdout
    assert "Cascade mode enabled" in preview
    assert show(bd, leaf)["status"] == "open"
    result = bd.json("delete", root, "--cascade", "--force")
    assert sorted(result["deleted"]) == sorted([root, mid, leaf])
    for issue_id in (root, mid, leaf):
        assert show(bd, issue_id)["status"] == "tombstone"
    assert show(bd, other)["status"] == "open"


def test_delete_hard_removes_the_rows(bd: Checked) -> None:
    target = make(bd, "Gone", "-l", "x")
    bd("comment", target, "a note")
    bd("delete", target, "--hard", "--force")
    result = bd("show", target, check=False)
    assert result.returncode == 1
    assert "no issue found matching" in result.stderr
    with open_db(bd) as t:
        assert not t.store.issue_exists(target)


def test_delete_reads_ids_from_a_file(bd: Checked, tmp_path: Path) -> None:
    a, b = make(bd, "A"), make(bd, "B")
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# to delete\n{a}\n\n{b}\n")
    result = bd.json("delete", "--from-file", str(listing), "--force")
    assert result["deleted"] == [a, b]


def test_delete_refuses_an_issue_that_is_already_deleted(bd: Checked) -> None:
    target = make(bd, "Once")
    bd("delete", target, "--force")
    result = bd("delete", target, "--force", check=False)
    assert result.returncode == 1
    assert "already deleted" in result.stderr


def test_delete_without_ids_is_an_error(bd: Checked) -> None:
    result = bd("delete", "--force", check=False)
    assert result.returncode == 1
    assert "no issue IDs provided" in result.stderr


def test_deleted_issue_is_not_matched_by_partial_ids(bd: Checked) -> None:
    make(bd, "Tomb", "--id", "test-tmb1")
    bd("delete", "test-tmb1", "--force")
    result = bd("show", "mb1", check=False)
    assert result.returncode == 1
    assert 'no issue found matching "mb1"' in result.stderr
    assert show(bd, "test-tmb1")["status"] == "tombstone"  # the exact ID still shows the tombstone

