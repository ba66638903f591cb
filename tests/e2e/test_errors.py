"""End-to-end: every way a command can fail says so in one clear line, never a traceback.

Text mode: ``Error: <msg>`` on stderr (plus an optional ``Hint:``), exit 1, nothing on
stdout. ``--json``: ``{"error": <msg>}`` on stdout, exit 1 (spec §6.2).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.conftest import Bd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# The shared runner already asserts that no command prints a traceback.
Checked = Bd


def make(bd: Checked, title: str, *flags: str) -> str:
    return bd("create", title, "-d", "why", "--silent", *flags).stdout.strip()


def fails(bd: Checked, *args: str) -> Any:
    """Run a command that must fail in text mode: exit 1, no stdout, an ``Error:`` line."""
    result = bd(*args, check=False)
    assert result.returncode == 1, result
    assert result.stdout == "", result
    assert result.stderr.startswith("Error: "), result
    return result


def fails_json(bd: Checked, *args: str) -> str:
    """Run a command that must fail with ``--json``: exit 1 and ``{"error": msg}`` on stdout."""
    result = bd(*args, "--json", check=False)
    assert result.returncode == 1, result
    payload = json.loads(result.stdout)
    assert list(payload) == ["error"], payload
    return payload["error"]


# -- unknown and ambiguous IDs ----------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ("show", "test-nope"),
    ("update", "test-nope", "-p", "1"),
    ("close", "test-nope"),
    ("reopen", "test-nope"),
    ("delete", "test-nope"),
    ("delete", "test-nope", "--force"),
    ("label", "add", "test-nope", "x"),
    ("label", "list", "test-nope"),
    ("comments", "test-nope"),
    ("comment", "test-nope", "hello"),
    ("create", "child", "--parent", "test-nope"),
    ("create", "dependent", "--deps", "test-nope"),
])
def test_an_unknown_id_is_reported_with_the_original_message(bd: Checked, command: tuple[str, ...]) -> None:
    result = fails(bd, *command)
    assert result.stderr.splitlines()[0] == 'Error: no issue found matching "test-nope"'


def test_an_unknown_id_with_json_is_an_error_object_on_stdout(bd: Checked) -> None:
    assert fails_json(bd, "show", "test-nope") == 'no issue found matching "test-nope"'
    assert fails_json(bd, "update", "test-nope", "-p", "1") == 'no issue found matching "test-nope"'
    assert fails_json(bd, "close", "test-nope") == 'no issue found matching "test-nope"'


def test_an_ambiguous_partial_id_names_every_match(bd: Checked) -> None:
    make(bd, "One", "--id", "test-ab12")
    make(bd, "Two", "--id", "test-ab34")
    result = fails(bd, "show", "ab")
    assert result.stderr.strip() == 'Error: ambiguous ID "ab" matches 2 issues: [test-ab12 test-ab34]'
    assert fails_json(bd, "update", "ab", "-p", "1").startswith('ambiguous ID "ab" matches 2 issues')


# -- invalid input -------------------------------------------------------------------------------------

PRIORITY_ERROR = 'invalid priority "high" (expected 0-4 or P0-P4, not words like high/medium/low)'


def test_a_word_priority_is_refused_on_create_and_update(bd: Checked) -> None:
    assert fails(bd, "create", "x", "-p", "high").stderr.strip() == f"Error: {PRIORITY_ERROR}"
    issue_id = make(bd, "Target")
    assert fails(bd, "update", issue_id, "-p", "high").stderr.strip() == f"Error: {PRIORITY_ERROR}"
    assert fails_json(bd, "create", "x", "-p", "high") == PRIORITY_ERROR


@pytest.mark.parametrize("value", ["5", "-1", "P7", "urgent"])
def test_out_of_range_priorities_are_refused(bd: Checked, value: str) -> None:
    fails(bd, "create", "x", "-p", value)


def test_a_title_over_500_characters_is_refused(bd: Checked) -> None:
    result = fails(bd, "create", "x" * 501)
    assert "title must be 500 characters or less" in result.stderr
    bd("create", "y" * 500, "--silent")  # the limit itself is fine
    issue_id = make(bd, "short")
    assert "500 characters" in fails_json(bd, "update", issue_id, "--title", "z" * 501)


def test_an_unknown_status_or_type_is_refused(bd: Checked) -> None:
    issue_id = make(bd, "Target")
    assert "invalid status" in fails(bd, "update", issue_id, "-s", "finished").stderr
    assert "invalid issue type" in fails(bd, "create", "x", "-t", "story").stderr


def test_a_dependency_cycle_is_refused_and_nothing_changes(bd: Checked) -> None:
    parent = make(bd, "Parent")
    child = make(bd, "Child", "--parent", parent)
    result = fails(bd, "update", parent, "--parent", child)
    assert "would create a cycle" in result.stderr
    assert "parent" not in bd.json("show", parent)[0]


def test_an_empty_title_is_refused(bd: Checked) -> None:
    assert "title is required" in fails(bd, "create").stderr


# -- workspace and database problems -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [("show", "test-1"), ("create", "x"), ("update", "test-1", "-p", "1"),
                                     ("label", "list-all"), ("comments", "test-1"), ("delete", "test-1")])
def test_a_missing_workspace_says_no_database_and_hints_at_bd_init(bd: Checked, tmp_path: Path,
                                                                     command: tuple[str, ...]) -> None:
    nowhere = tmp_path / "nowhere"  # not inside the fixture's repo, and HOME is isolated
    nowhere.mkdir()
    result = bd(*command, cwd=nowhere, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: no beads database found"
    assert lines[1].startswith("Hint: ") and "bd init" in lines[1]


def test_a_missing_workspace_with_json_is_an_error_object(bd: Checked, tmp_path: Path) -> None:
    result = bd("show", "test-1", "--json", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"error": "no beads database found"}


def _corrupt(repo: Path) -> Path:
    db = repo / ".beads" / "beads.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a sqlite database, just garbage " * 100)
    return db


@pytest.mark.parametrize("command", [("show", "test-1"), ("create", "x", "-d", "y"), ("label", "list-all"),
                                     ("delete", "test-1", "--force"), ("comment", "test-1", "hi")])
def test_a_corrupt_database_is_one_clear_line(bd: Checked, command: tuple[str, ...]) -> None:
    db = _corrupt(bd.cwd)
    result = fails(bd, *command)
    assert result.stderr.count("\n") == 1
    assert str(db) in result.stderr
    assert "unreadable or corrupt" in result.stderr


def test_a_corrupt_database_with_json_is_an_error_object(bd: Checked) -> None:
    _corrupt(bd.cwd)
    assert "unreadable or corrupt" in fails_json(bd, "show", "test-1")


# unreadable database and read-only file system: see test_readonly_filesystem.py


def test_a_database_directory_instead_of_a_file_is_one_clear_line(bd: Checked) -> None:
    db = bd.cwd / ".beads" / "beads.db"
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.mkdir()
    try:
        result = fails(bd, "show", "test-1")
        assert result.stderr.count("\n") == 1
    finally:
        shutil.rmtree(db)


# -- read-only mode ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, operation", [
    (("create", "x", "-d", "y"), "create"),
    (("q", "x"), "create"),
    (("update", "{id}", "-p", "1"), "update"),
    (("close", "{id}"), "close"),
    (("reopen", "{id}"), "reopen"),
    (("delete", "{id}", "--force"), "delete"),
    (("label", "remove", "{id}", "x"), "label remove"),
    (("comments", "add", "{id}", "hi"), "comment add"),
])
def test_readonly_refuses_every_write(bd: Checked, command: tuple[str, ...], operation: str) -> None:
    issue_id = make(bd, "Target", "-l", "x")
    before = bd.json("show", issue_id)
    args = [a.replace("{id}", issue_id) for a in command]
    result = fails(bd, *args, "--readonly")
    assert result.stderr.strip() == f"Error: operation '{operation}' is not allowed in read-only mode"
    assert bd.json("show", issue_id) == before
    assert len(bd.json("label", "list-all")) == 1


def test_readonly_refusal_with_json_is_an_error_object(bd: Checked) -> None:
    assert fails_json(bd, "create", "x", "--readonly") == "operation 'create' is not allowed in read-only mode"


def test_readonly_still_allows_reads_and_delete_previews(bd: Checked) -> None:
    issue_id = make(bd, "Target")
    assert bd.json("show", issue_id, "--readonly")[0]["id"] == issue_id
    assert "DELETE PREVIEW" in bd("delete", issue_id, "--readonly").stdout
    assert bd.json("comments", issue_id, "--readonly") == []
