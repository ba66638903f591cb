"""End-to-end: ``bd label …``, ``bd comments``, ``bd comments add`` and ``bd comment``.

Shapes follow the original (spec §7.1); beads-ui relies on ``bd comment ID TEXT
--author NAME`` and ``bd comments ID --json``.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Bd

TYPE_CHECKING = False
if TYPE_CHECKING:
    pass


# The shared runner already asserts that no command prints a traceback.
Checked = Bd


def make(bd: Checked, title: str, *flags: str) -> str:
    return bd("create", title, "-d", "why", "--silent", *flags).stdout.strip()


def labels_of(bd: Checked, issue_id: str) -> list[str]:
    return bd.json("label", "list", issue_id)


# -- label add / remove ----------------------------------------------------------------------------


def test_label_add_to_several_issues_reports_one_status_object_each(bd: Checked) -> None:
    a, b = make(bd, "A"), make(bd, "B")
    result = bd.json("label", "add", a, b, "urgent")
    assert result == [{"status": "added", "issue_id": a, "label": "urgent"},
                      {"status": "added", "issue_id": b, "label": "urgent"}]
    assert labels_of(bd, a) == ["urgent"] and labels_of(bd, b) == ["urgent"]


def test_label_add_text_confirms_each_issue(bd: Checked) -> None:
    a = make(bd, "A")
    assert bd("label", "add", a, "ui").stdout.strip() == f"✓ Added label 'ui' to {a}"


def test_label_add_resolves_partial_ids_and_reports_the_full_id(bd: Checked) -> None:
    make(bd, "Short", "--id", "test-k9x2")
    assert bd.json("label", "add", "k9x2", "p")[0]["issue_id"] == "test-k9x2"


def test_label_add_is_idempotent(bd: Checked) -> None:
    a = make(bd, "A", "-l", "dup")
    bd("label", "add", a, "dup")
    assert labels_of(bd, a) == ["dup"]


def test_label_add_continues_past_a_missing_issue(bd: Checked) -> None:
    a = make(bd, "A")
    result = bd("label", "add", "test-nope", a, "x", "--json")
    assert result.returncode == 0
    assert [r["issue_id"] for r in result.json()] == [a]
    assert 'Error adding label to test-nope: no issue found matching "test-nope"' in result.stderr


def test_label_add_exits_one_when_every_issue_is_missing(bd: Checked) -> None:
    result = bd("label", "add", "test-nope1", "test-nope2", "x", check=False)
    assert result.returncode == 1
    assert result.stderr.count("no issue found matching") == 2


def test_label_remove_reports_removed_and_drops_the_label(bd: Checked) -> None:
    a = make(bd, "A", "-l", "keep,drop")
    assert bd.json("label", "remove", a, "drop") == [{"status": "removed", "issue_id": a, "label": "drop"}]
    assert labels_of(bd, a) == ["keep"]
    assert bd("label", "remove", a, "keep").stdout.strip() == f"✓ Removed label 'keep' from {a}"


def test_label_add_needs_an_issue_and_a_label(bd: Checked) -> None:
    result = bd("label", "add", "urgent", check=False)
    assert result.returncode != 0


def test_label_without_a_subcommand_prints_usage_and_fails(bd: Checked) -> None:
    result = bd("label", check=False)
    assert result.returncode == 1
    assert "usage: bd label" in result.stderr


# -- label list / list-all ----------------------------------------------------------------------------


def test_label_list_json_is_a_sorted_array_of_names(bd: Checked) -> None:
    a = make(bd, "A", "-l", "zeta,alpha")
    assert labels_of(bd, a) == ["alpha", "zeta"]


def test_label_list_of_an_unlabelled_issue_is_an_empty_array(bd: Checked) -> None:
    a = make(bd, "A")
    assert labels_of(bd, a) == []
    assert bd("label", "list", a).stdout.strip() == f"{a} has no labels"


def test_label_list_text_shows_each_label(bd: Checked) -> None:
    a = make(bd, "A", "-l", "x,y")
    lines = bd("label", "list", a).stdout.splitlines()
    assert lines == [f"🏷 Labels for {a}:", "  - x", "  - y"]


def test_label_list_all_counts_issues_per_label_sorted_by_name(bd: Checked) -> None:
    make(bd, "A", "-l", "ui,bug")
    make(bd, "B", "-l", "ui")
    assert bd.json("label", "list-all") == [{"label": "bug", "count": 1}, {"label": "ui", "count": 2}]
    text = bd("label", "list-all").stdout.splitlines()
    assert text == ["🏷 All labels (2 unique):", "  bug  (1 issues)", "  ui   (2 issues)"]


def test_label_list_all_ignores_deleted_issues(bd: Checked) -> None:
    a = make(bd, "A", "-l", "gone")
    make(bd, "B", "-l", "kept")
    bd("delete", a, "--force")
    assert bd.json("label", "list-all") == [{"label": "kept", "count": 1}]


def test_label_list_all_with_no_labels_is_an_empty_array(bd: Checked) -> None:
    assert bd.json("label", "list-all") == []
    assert bd("label", "list-all").stdout.strip() == "No labels found in database"


def test_label_writes_are_refused_in_readonly_mode(bd: Checked) -> None:
    a = make(bd, "A")
    result = bd("label", "add", a, "x", "--readonly", check=False)
    assert result.returncode == 1
    assert "operation 'label add' is not allowed in read-only mode" in result.stderr
    assert labels_of(bd, a) == []


# -- comments -------------------------------------------------------------------------------------------


def test_comment_with_author_then_comments_json_as_beads_ui_uses_them(bd: Checked) -> None:
    a = make(bd, "Discussed")
    assert bd("comment", a, "Looks right to me", "--author", "reviewer").stdout.strip() == f"Comment added to {a}"
    comments = bd.json("comments", a)
    assert len(comments) == 1
    comment = comments[0]
    assert list(comment) == ["id", "issue_id", "author", "text", "created_at"]
    assert (comment["issue_id"], comment["author"], comment["text"]) == (a, "reviewer", "Looks right to me")
    assert isinstance(comment["id"], int)


def test_comment_author_defaults_to_the_actor(bd: Checked) -> None:
    a = make(bd, "A")
    bd("comment", a, "mine")
    bd("comment", a, "theirs", "--actor", "agent-2")
    assert [c["author"] for c in bd.json("comments", a)] == ["tester", "agent-2"]


def test_comments_add_json_returns_the_new_comment(bd: Checked) -> None:
    a = make(bd, "A")
    comment = bd.json("comments", "add", a, "first", "note", "-a", "me")
    assert (comment["author"], comment["text"], comment["issue_id"]) == ("me", "first note", a)


def test_comments_add_reads_the_text_from_a_file(bd: Checked, tmp_path: Path) -> None:
    a = make(bd, "A")
    note = tmp_path / "note.txt"
    note.write_text("multi\nline note\n")
    bd("comments", "add", a, "-f", str(note))
    assert bd.json("comments", a)[0]["text"] == "multi\nline note\n"


def test_comments_are_listed_oldest_first_in_text(bd: Checked) -> None:
    a = make(bd, "A")
    bd("comment", a, "one", "-a", "x")
    bd("comment", a, "two", "-a", "y")
    lines = [ln for ln in bd("comments", a).stdout.splitlines() if ln]
    assert lines[0] == f"Comments on {a}:"
    assert lines[1].startswith("[x] one at ") and lines[2].startswith("[y] two at ")


def test_comments_of_an_issue_without_any_is_an_empty_array(bd: Checked) -> None:
    a = make(bd, "A")
    assert bd.json("comments", a) == []
    assert bd("comments", a).stdout.strip() == f"No comments on {a}"


def test_comment_shows_up_in_show_json(bd: Checked) -> None:
    a = make(bd, "A")
    bd("comment", a, "visible")
    assert [c["text"] for c in bd.json("show", a)[0]["comments"]] == ["visible"]


def test_comment_without_text_is_an_error(bd: Checked) -> None:
    a = make(bd, "A")
    result = bd("comment", a, check=False)
    assert result.returncode == 1
    assert "comment text required" in result.stderr


def test_comment_on_an_unknown_issue_is_a_json_error(bd: Checked) -> None:
    result = bd("comment", "test-nope", "hi", "--json", check=False)
    assert result.returncode == 1
    assert result.json() == {"error": 'no issue found matching "test-nope"'}


def test_comments_listing_rejects_extra_arguments(bd: Checked) -> None:
    a = make(bd, "A")
    result = bd("comments", a, "stray text", check=False)
    assert result.returncode == 1
    assert "bd comments add" in result.stderr
    assert bd.json("comments", a) == []


def test_comment_is_refused_in_readonly_mode(bd: Checked) -> None:
    a = make(bd, "A")
    result = bd("comment", a, "x", "--readonly", check=False)
    assert result.returncode == 1
    assert "not allowed in read-only mode" in result.stderr
