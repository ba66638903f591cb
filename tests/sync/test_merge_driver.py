"""The 3-way JSONL merge: field rules, record rules, properties, `bd merge`, and a real `git merge`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_helpers import BD, git, write_jsonl

from beads.sync.merge import NOTES_SEPARATOR, format_line, merge3, merge_issue
from beads.timefmt import to_ns

NOW = to_ns("2026-01-15T12:00:00Z")
T0 = "2026-01-01T00:00:00Z"


def ts(day: int, hour: int = 0) -> str:
    return f"2026-01-{day:02d}T{hour:02d}:00:00Z"


def issue(issue_id: str = "t-1", **fields: object) -> dict:
    rec = {"id": issue_id, "title": "Title", "status": "open", "priority": 2, "issue_type": "task",
           "created_at": T0, "updated_at": T0}
    rec.update(fields)
    return rec


def merge_one(base: dict | None, left: dict | None, right: dict | None) -> dict | None:
    return merge_issue(base, left, right, now_ns=NOW)


# -- field rules -------------------------------------------------------------------------------


def test_a_field_changed_on_one_side_takes_that_side() -> None:
    base = issue(assignee="ann")
    left = issue(assignee="bob", updated_at=ts(2))
    right = issue(assignee="ann", design="new design", updated_at=ts(3))
    merged = merge_one(base, left, right)
    assert merged["assignee"] == "bob"
    assert merged["design"] == "new design"


def test_title_changed_on_both_sides_takes_the_later_update() -> None:
    base = issue(title="old", description="d")
    left = issue(title="left title", description="left d", updated_at=ts(5))
    right = issue(title="right title", description="right d", updated_at=ts(3))
    merged = merge_one(base, left, right)
    assert (merged["title"], merged["description"]) == ("left title", "left d")
    merged = merge_one(base, right | {"updated_at": ts(6)}, left)
    assert merged["title"] == "right title"


def test_notes_changed_on_both_sides_are_concatenated_left_first() -> None:
    merged = merge_one(issue(notes="n"), issue(notes="left", updated_at=ts(2)), issue(notes="right", updated_at=ts(3)))
    assert merged["notes"] == "left" + NOTES_SEPARATOR + "right"


def test_notes_cleared_on_one_side_and_changed_on_the_other_keeps_the_text() -> None:
    merged = merge_one(issue(notes="n"), issue(notes="", updated_at=ts(2)), issue(notes="more", updated_at=ts(3)))
    assert merged["notes"] == "more"


def test_closed_wins_when_both_sides_changed_the_status() -> None:
    left = issue(status="closed", closed_at=ts(2), updated_at=ts(2))
    right = issue(status="in_progress", updated_at=ts(3))
    merged = merge_one(issue(), left, right)
    assert merged["status"] == "closed"
    assert merged["closed_at"] == ts(2)


def test_a_reopen_on_one_side_survives_an_untouched_closed_other_side() -> None:
    closed = issue(status="closed", closed_at=ts(1), close_reason="done", updated_at=ts(1))
    reopened = issue(status="open", updated_at=ts(4))
    merged = merge_one(closed, reopened, closed)
    assert merged["status"] == "open"
    assert "closed_at" not in merged
    assert "close_reason" not in merged


def test_closed_at_is_the_later_close_when_both_closed() -> None:
    left = issue(status="closed", closed_at=ts(2), updated_at=ts(2))
    right = issue(status="closed", closed_at=ts(3), updated_at=ts(3))
    assert merge_one(issue(), left, right)["closed_at"] == ts(3)


@pytest.mark.parametrize(("lp", "rp", "expected"), [(1, 3, 1), (3, 1, 1), (0, 3, 3), (4, 0, 4)])
def test_priority_changed_on_both_sides_prefers_set_then_more_urgent(lp: int, rp: int, expected: int) -> None:
    merged = merge_one(issue(priority=2), issue(priority=lp, updated_at=ts(2)), issue(priority=rp, updated_at=ts(3)))
    assert merged["priority"] == expected


def test_updated_at_is_the_later_of_both_sides() -> None:
    merged = merge_one(issue(), issue(title="x", updated_at=ts(9)), issue(updated_at=ts(3)))
    assert merged["updated_at"] == ts(9)


def test_a_merged_revision_is_newer_than_both_sides() -> None:
    """Both sides changed different fields: the result is neither, so it must win every newer-wins import."""
    left = issue(assignee="bob", updated_at=ts(5))
    right = issue(priority=0, updated_at=ts(5))
    merged = merge_one(issue(), left, right)
    assert (merged["assignee"], merged["priority"]) == ("bob", 0)
    assert to_ns(merged["updated_at"]) > to_ns(ts(5))


def test_labels_merge_as_sets_with_removals() -> None:
    base = issue(labels=["a", "b", "c"])
    left = issue(labels=["a", "c", "l"], updated_at=ts(2))  # removed b, added l
    right = issue(labels=["a", "b", "r"], updated_at=ts(3))  # removed c, added r
    assert merge_one(base, left, right)["labels"] == ["a", "l", "r"]


def dep(src: str, dst: str, kind: str = "blocks", at: str = T0) -> dict:
    return {"issue_id": src, "depends_on_id": dst, "type": kind, "created_at": at}


def test_dependencies_are_a_union_minus_those_either_side_removed() -> None:
    base = issue(dependencies=[dep("t-1", "t-2"), dep("t-1", "t-3")])
    left = issue(dependencies=[dep("t-1", "t-2"), dep("t-1", "t-4", at=ts(2))], updated_at=ts(2))
    right = issue(dependencies=[dep("t-1", "t-3"), dep("t-1", "t-5", "related", at=ts(3))], updated_at=ts(3))
    merged = merge_one(base, left, right)
    assert [(d["depends_on_id"], d["type"]) for d in merged["dependencies"]] == [("t-4", "blocks"),
                                                                                ("t-5", "related")]


def comment(text: str, at: str, author: str = "ann", cid: int = 1) -> dict:
    return {"id": cid, "issue_id": "t-1", "author": author, "text": text, "created_at": at}


def test_comments_are_a_union_without_duplicates() -> None:
    shared = comment("hello", ts(1))
    left = issue(comments=[shared, comment("from left", ts(2), cid=2)], updated_at=ts(2))
    right = issue(comments=[comment("hello", ts(1), cid=7), comment("from right", ts(3), "bob", 2)], updated_at=ts(3))
    merged = merge_one(issue(comments=[shared]), left, right)
    assert [c["text"] for c in merged["comments"]] == ["hello", "from left", "from right"]


def test_unknown_fields_are_kept_and_merged_like_any_other() -> None:
    base = issue(x_team="core", x_meta={"a": 1})
    left = issue(x_team="core", x_meta={"a": 2}, x_left_only=True, updated_at=ts(2))
    right = issue(x_team="web", x_meta={"a": 1}, x_right_only=[1, 2], updated_at=ts(3))
    merged = merge_one(base, left, right)
    assert merged["x_team"] == "web"
    assert merged["x_meta"] == {"a": 2}
    assert merged["x_left_only"] is True
    assert merged["x_right_only"] == [1, 2]


def test_known_fields_without_merge_rules_are_kept() -> None:
    left = issue(acceptance_criteria="ac", estimated_minutes=30, external_ref="gh-1", updated_at=ts(2))
    right = issue(assignee="bob", pinned=True, updated_at=ts(3))
    merged = merge_one(issue(), left, right)
    assert (merged["acceptance_criteria"], merged["estimated_minutes"], merged["external_ref"]) == ("ac", 30, "gh-1")
    assert (merged["assignee"], merged["pinned"]) == ("bob", True)


def test_an_absent_empty_field_is_the_same_as_an_empty_one() -> None:
    """Older files wrote "description":""; newer ones omit it. That is no change."""
    base = issue(description="")
    left = {k: v for k, v in issue(updated_at=ts(2)).items()}
    right = issue(description="written", updated_at=ts(1))
    assert merge_one(base, left, right)["description"] == "written"


# -- record rules ---------------------------------------------------------------------------------


def tomb(issue_id: str = "t-1", deleted: str = ts(10), deleted_by: str = "ann") -> dict:
    return issue(issue_id, status="tombstone", deleted_at=deleted, deleted_by=deleted_by,
                 delete_reason="manual delete", original_type="task", updated_at=deleted)


def test_a_tombstone_beats_a_live_edit() -> None:
    merged = merge_one(issue(), tomb(), issue(title="edited", updated_at=ts(12)))
    assert merged["status"] == "tombstone"
    assert merged["deleted_at"] == ts(10)
    assert to_ns(merged["updated_at"]) > to_ns(ts(12))  # so every clone's import accepts it


def test_an_expired_tombstone_loses_to_the_live_side() -> None:
    old = tomb(deleted="2025-11-01T00:00:00Z")
    live = issue(title="still here", updated_at=ts(2))
    assert merge_one(issue(), live, old)["title"] == "still here"


def test_two_tombstones_keep_the_later_deletion() -> None:
    merged = merge_one(issue(), tomb(deleted=ts(3), deleted_by="ann"), tomb(deleted=ts(4), deleted_by="bob"))
    assert merged["deleted_by"] == "bob"


def test_deleted_on_one_side_and_untouched_on_the_other_is_dropped() -> None:
    assert merge_one(issue(), None, issue()) is None
    assert merge_one(issue(), issue(), None) is None


def test_deleted_on_one_side_but_modified_on_the_other_is_kept() -> None:
    assert merge_one(issue(), None, issue(title="edited", updated_at=ts(2)))["title"] == "edited"
    assert merge_one(issue(), issue(labels=["x"], updated_at=ts(2)), None)["labels"] == ["x"]


def test_a_tombstone_on_one_side_survives_removal_on_the_other() -> None:
    assert merge_one(issue(), tomb(), None)["status"] == "tombstone"


def test_added_on_both_sides_merges_with_an_empty_base() -> None:
    left = issue(title="left", labels=["a"], notes="ln", updated_at=ts(2))
    right = issue(title="right", labels=["b"], notes="rn", updated_at=ts(3))
    merged = merge_one(None, left, right)
    assert merged["title"] == "right"
    assert merged["labels"] == ["a", "b"]
    assert merged["notes"] == "ln" + NOTES_SEPARATOR + "rn"


def test_a_base_with_another_identity_is_not_a_base() -> None:
    """The ID was re-used for a new issue: the old base must not make the new one 'deleted'."""
    base = issue(created_at="2025-06-01T00:00:00Z")
    new = issue(title="new issue", created_at=ts(5), updated_at=ts(5))
    assert merge_one(base, new, None)["title"] == "new issue"


def test_identity_compares_timestamps_not_their_spelling() -> None:
    base = issue(title="old", created_at="2026-01-01T01:00:00+01:00")
    left = issue(title="new", updated_at=ts(2))
    right = issue(title="old", created_at="2026-01-01T01:00:00+01:00", updated_at=ts(3))
    assert merge_one(base, left, right)["title"] == "new"  # right did not touch the title


def test_merge3_sorts_by_id_and_reports_records_without_ids() -> None:
    merged, conflicts = merge3([], [issue("t-b"), {"title": "no id"}], [issue("t-a")], now_ns=NOW)
    assert [r["id"] for r in merged] == ["t-a", "t-b"]
    assert len(conflicts) == 1 and "without an id" in conflicts[0].reason


def test_duplicate_lines_on_one_side_are_folded_together() -> None:
    older = issue(labels=["a"], updated_at=ts(2))
    newer = issue(title="newer", labels=["b"], updated_at=ts(3))
    merged, conflicts = merge3([], [older, newer], [], now_ns=NOW)
    assert not conflicts
    assert merged[0]["title"] == "newer" and merged[0]["labels"] == ["a", "b"]


# -- properties --------------------------------------------------------------------------------------

IDS = [f"t-{c}" for c in "abcdefgh"]
LABELS = ["bug", "ui", "p1", "later"]
STATUSES = ["open", "in_progress", "blocked", "closed"]


@st.composite
def base_record(draw: st.DrawFn, issue_id: str) -> dict:
    rec = issue(issue_id, title=draw(st.sampled_from(["a", "b", "c"])), priority=draw(st.integers(0, 4)),
                status=draw(st.sampled_from(STATUSES)), labels=sorted(draw(st.sets(st.sampled_from(LABELS)))),
                x_custom={"n": draw(st.integers(0, 3))}, updated_at=ts(1, draw(st.integers(0, 5))))
    deps = draw(st.sets(st.sampled_from(IDS)))
    rec["dependencies"] = [dep(issue_id, d) for d in sorted(deps) if d != issue_id]
    if rec["status"] == "closed":
        rec["closed_at"] = rec["updated_at"]
    if draw(st.booleans()):
        rec["notes"] = draw(st.sampled_from(["n1", "n2"]))
    return rec


@st.composite
def edited(draw: st.DrawFn, rec: dict, hour: int, side: str) -> dict | None:
    """One side's version of a base record: unchanged, edited, tombstoned or removed."""
    action = draw(st.sampled_from(["keep", "edit", "edit", "tombstone", "remove"]))
    if action == "keep":
        return dict(rec)
    if action == "remove":
        return None
    new = json.loads(json.dumps(rec))
    new["updated_at"] = ts(5, hour)
    if action == "tombstone":
        new.update(status="tombstone", deleted_at=new["updated_at"], deleted_by=side)
        new.pop("closed_at", None)
        return new
    for field in draw(st.sets(st.sampled_from(["title", "priority", "status", "labels", "notes", "x_custom",
                                                "deps", "comments", "x_side"]), min_size=1)):
        if field == "title":
            new["title"] = draw(st.sampled_from(["a", "b", "c", f"{side}-title"]))
        elif field == "priority":
            new["priority"] = draw(st.integers(0, 4))
        elif field == "status":
            new["status"] = draw(st.sampled_from(STATUSES))
            if new["status"] == "closed":
                new["closed_at"] = new["updated_at"]
            else:
                new.pop("closed_at", None)
        elif field == "labels":
            new["labels"] = sorted(draw(st.sets(st.sampled_from(LABELS))))
        elif field == "notes":
            new["notes"] = draw(st.sampled_from(["", "n1", f"{side} note"]))
        elif field == "x_custom":
            new["x_custom"] = {"n": draw(st.integers(0, 3)), "by": side}
        elif field == "deps":
            targets = draw(st.sets(st.sampled_from(IDS)))
            new["dependencies"] = [dep(new["id"], d) for d in sorted(targets) if d != new["id"]]
        elif field == "comments":
            new["comments"] = (new.get("comments") or []) + [comment(f"{side} says", new["updated_at"], side)]
        elif field == "x_side":
            new[f"x_{side}"] = draw(st.integers(0, 9))
    return new


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[dict], list[dict], list[dict]]:
    """A base and two concurrent edits. Left edits at even hours, right at odd: no timestamp ties."""
    base_ids = draw(st.lists(st.sampled_from(IDS), unique=True, max_size=5))
    base = [draw(base_record(i)) for i in base_ids]
    sides: list[list[dict]] = []
    for side, parity in (("left", 0), ("right", 1)):
        out = []
        for rec in base:
            version = draw(edited(rec, 2 * draw(st.integers(0, 10)) + parity, side))
            if version is not None:
                out.append(version)
        for new_id in draw(st.lists(st.sampled_from([i for i in IDS if i not in base_ids] or ["t-z"]),
                                    unique=True, max_size=2)):
            rec = draw(base_record(new_id))
            rec.update(created_at=ts(2), updated_at=ts(6, 2 * draw(st.integers(0, 10)) + parity))
            rec[f"x_{side}"] = 1
            out.append(rec)
        sides.append(draw(st.permutations(out)))
    return base, sides[0], sides[1]


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


@PROPERTY
@given(scenario())
def test_merge_is_deterministic_and_independent_of_line_order(case: tuple) -> None:
    base, left, right = case
    first = merge3(base, left, right, now_ns=NOW)
    again = merge3(list(reversed(base)), list(reversed(left)), list(reversed(right)), now_ns=NOW)
    assert first == again
    lines = [format_line(r) for r in first[0]]
    assert lines == sorted(lines, key=lambda line: json.loads(line)["id"])


def symmetric_view(rec: dict) -> dict:
    """What the merge decides symmetrically (notes concatenation order is left-first by design)."""
    return {
        "status": rec.get("status"), "priority": rec.get("priority"), "title": rec.get("title"),
        "updated_at": rec.get("updated_at"), "labels": sorted(rec.get("labels") or []),
        "deps": sorted((d["depends_on_id"], d["type"]) for d in rec.get("dependencies") or []),
        "comments": sorted((c["author"], c["text"]) for c in rec.get("comments") or []),
        "x_custom": rec.get("x_custom"), "x_left": rec.get("x_left"), "x_right": rec.get("x_right"),
    }


@PROPERTY
@given(scenario())
def test_merge_is_commutative_where_the_rules_are_symmetric(case: tuple) -> None:
    base, left, right = case
    lr, _ = merge3(base, left, right, now_ns=NOW)
    rl, _ = merge3(base, right, left, now_ns=NOW)
    assert [r["id"] for r in lr] == [r["id"] for r in rl]
    for a, b in zip(lr, rl, strict=True):
        assert symmetric_view(a) == symmetric_view(b)


def unchanged(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@PROPERTY
@given(scenario())
def test_merge_never_drops_an_issue_unless_deleted_on_one_side_and_untouched_on_the_other(case: tuple) -> None:
    base, left, right = case
    merged = by_id(merge3(base, left, right, now_ns=NOW)[0])
    b, lft, rgt = by_id(base), by_id(left), by_id(right)
    for issue_id in set(lft) | set(rgt):
        if issue_id in merged:
            continue
        present = lft.get(issue_id) or rgt.get(issue_id)
        other_deleted = issue_id not in lft or issue_id not in rgt
        assert other_deleted and issue_id in b and unchanged(present, b[issue_id]), issue_id


@PROPERTY
@given(scenario())
def test_merge_keeps_unknown_fields(case: tuple) -> None:
    base, left, right = case
    merged = by_id(merge3(base, left, right, now_ns=NOW)[0])
    lft, rgt = by_id(left), by_id(right)
    for issue_id, rec in merged.items():
        assert "x_custom" in rec
        sides = [s for s in (lft.get(issue_id), rgt.get(issue_id)) if s is not None]
        live = [s for s in sides if s["status"] != "tombstone"]
        if len(live) == len(sides):  # a live merge: every side's extra field survives
            for s in sides:
                for key in ("x_left", "x_right"):
                    if key in s:
                        assert key in rec, (issue_id, key)
        else:  # a whole-record decision: the winner arrives with all its fields
            winner = next(s for s in sides if s["status"] == rec["status"])
            assert set(winner) <= set(rec)


@PROPERTY
@given(scenario())
def test_merging_with_an_untouched_side_gives_the_other_side(case: tuple) -> None:
    base, left, _ = case
    merged, conflicts = merge3(base, left, base, now_ns=NOW)
    assert not conflicts
    assert merged == sorted((dict(r) for r in left), key=lambda r: r["id"])


@PROPERTY
@given(scenario())
def test_merged_lines_are_canonical_json(case: tuple) -> None:
    base, left, right = case
    for rec in merge3(base, left, right, now_ns=NOW)[0]:
        line = format_line(rec)
        assert "\n" not in line
        assert json.loads(line)["id"] == rec["id"]


# -- `bd merge` through the real entry point ------------------------------------------------------------


def run_bd(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BD, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_bd_merge_exits_0_and_writes_the_merged_file(tmp_path: Path) -> None:
    base = write_jsonl(tmp_path / "base", [issue(labels=["a"])])
    left = write_jsonl(tmp_path / "left", [issue(labels=["a", "l"], updated_at=ts(2))])
    right = write_jsonl(tmp_path / "right", [issue(labels=["a", "r"], x_new="kept", updated_at=ts(3))])
    proc = run_bd("merge", str(left), str(base), str(left), str(right), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (line,) = left.read_text().splitlines()
    rec = json.loads(line)
    assert rec["labels"] == ["a", "l", "r"] and rec["x_new"] == "kept"
    assert list(rec)[:3] == ["id", "title", "status"]


def test_bd_merge_with_a_missing_base_merges_as_added_on_both_sides(tmp_path: Path) -> None:
    left = write_jsonl(tmp_path / "left", [issue("t-1")])
    right = write_jsonl(tmp_path / "right", [issue("t-2")])
    proc = run_bd("merge", str(tmp_path / "out"), str(tmp_path / "absent"), str(left), str(right), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["id"] for x in (tmp_path / "out").read_text().splitlines()] == ["t-1", "t-2"]


def test_bd_merge_exits_2_on_unparsable_lines_and_keeps_them_between_markers(tmp_path: Path) -> None:
    left = write_jsonl(tmp_path / "left", json.dumps(issue("t-1")) + "\n{broken\n")
    right = write_jsonl(tmp_path / "right", [issue("t-2")])
    proc = run_bd("merge", str(tmp_path / "out"), str(tmp_path / "absent"), str(left), str(right), cwd=tmp_path)
    assert proc.returncode == 2
    assert "bad line 2 in left" in proc.stderr
    text = (tmp_path / "out").read_text()
    assert '"id":"t-1"' in text and '"id":"t-2"' in text
    assert "<<<<<<< " in text and "{broken" in text


def test_bd_merge_exits_2_when_an_input_is_missing(tmp_path: Path) -> None:
    left = write_jsonl(tmp_path / "left", [issue()])
    proc = run_bd("merge", str(tmp_path / "out"), str(left), str(left), str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "nope" in proc.stderr
    assert not (tmp_path / "out").exists()


# -- a real `git merge` through the registered driver -------------------------------------------------------


@pytest.fixture
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.path.dirname(BD) + os.pathsep + os.environ.get("PATH", ""))


def test_git_merge_of_two_branches_editing_the_same_issue_resolves_through_the_driver(
        repo: Path, bd_on_path: None) -> None:
    subprocess.run([BD, "init", "--prefix", "t", "--quiet", "--skip-hooks"], cwd=repo, check=True, timeout=60)
    assert git(repo, "config", "merge.beads.driver").stdout.strip() == "bd merge %A %O %A %B"
    assert ".beads/issues.jsonl merge=beads" in (repo / ".gitattributes").read_text()
    jsonl = repo / ".beads" / "issues.jsonl"
    write_jsonl(jsonl, [issue("t-1", labels=["a"]), issue("t-2")])
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    write_jsonl(jsonl, [issue("t-1", labels=["a", "feature"], title="feature title", updated_at=ts(3)),
                        issue("t-2")])
    git(repo, "commit", "-q", "-am", "feature edit")
    git(repo, "checkout", "-q", "main")
    write_jsonl(jsonl, [issue("t-1", labels=["a", "main"], priority=0, x_main="yes", updated_at=ts(2)),
                        issue("t-2"), issue("t-3", title="new on main")])
    git(repo, "commit", "-q", "-am", "main edit")
    result = git(repo, "merge", "--no-edit", "feature", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    records = by_id([json.loads(x) for x in jsonl.read_text().splitlines()])
    assert set(records) == {"t-1", "t-2", "t-3"}
    t1 = records["t-1"]
    assert (t1["title"], t1["priority"], t1["x_main"]) == ("feature title", 0, "yes")
    assert t1["labels"] == ["a", "feature", "main"]
    assert not git(repo, "status", "--porcelain").stdout.strip()


def test_without_bd_on_path_git_reports_a_conflict_instead_of_losing_data(repo: Path) -> None:
    git(repo, "config", "merge.beads.driver", "bd-missing-binary merge %A %O %A %B")
    (repo / ".gitattributes").write_text("issues.jsonl merge=beads\n")
    jsonl = repo / "issues.jsonl"
    write_jsonl(jsonl, [issue("t-1")])
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "other")
    write_jsonl(jsonl, [issue("t-1", title="other", updated_at=ts(2))])
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    write_jsonl(jsonl, [issue("t-1", title="main", updated_at=ts(3))])
    git(repo, "commit", "-q", "-am", "main")
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode != 0
    assert "issues.jsonl" in git(repo, "diff", "--name-only", "--diff-filter=U").stdout


def test_merge_module_has_no_heavy_imports() -> None:
    code = "import sys, beads.sync.merge; print(','.join(sorted(m for m in ('typing_extensions','hypothesis','yaml') if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


# -- concurrent child creation: both clones mint the same `P.N` ---------------------------------------


@st.composite
def child_race(draw: st.DrawFn) -> tuple[list[dict], list[dict], list[dict]]:
    """A parent with some children in base; each side adds children from its own counter (so both
    mint the same numbers), grandchildren under them, and issues blocked by them."""
    parent = issue("t-p", title="parent")
    shared = draw(st.integers(0, 2))
    base = [parent] + [issue(f"t-p.{n}", title=f"base-{n}", dependencies=[dep(f"t-p.{n}", "t-p", "parent-child")])
                       for n in range(1, shared + 1)]
    sides = []
    for side, parity in (("left", 0), ("right", 1)):
        out = [dict(r) for r in base]
        for k in range(draw(st.integers(0, 3))):
            n = shared + 1 + k
            at = ts(3 + k, 2 * draw(st.integers(0, 10)) + parity)
            child = f"t-p.{n}"
            out.append(issue(child, title=f"{side}-{n}", created_at=at, updated_at=at,
                             dependencies=[dep(child, "t-p", "parent-child")]))
            if draw(st.booleans()):
                kid = f"{child}.1"
                out.append(issue(kid, title=f"{side}-{n}-kid", created_at=at, updated_at=at, created_by=side,
                                 dependencies=[dep(kid, child, "parent-child")]))
            if draw(st.booleans()):
                blocked = f"t-{side}{n}"
                out.append(issue(blocked, title=f"{side}-blocked-by-{n}", created_at=at, updated_at=at,
                                 dependencies=[dep(blocked, child)]))
        sides.append(draw(st.permutations(out)))
    return base, sides[0], sides[1]


@PROPERTY
@given(child_race())
def test_concurrent_children_on_both_sides_never_lose_an_issue(case: tuple) -> None:
    base, left, right = case
    merged, conflicts = merge3(base, left, right, now_ns=NOW)
    assert not conflicts
    assert merge3(list(reversed(base)), list(reversed(left)), list(reversed(right)), now_ns=NOW)[0] == merged
    ids = [r["id"] for r in merged]
    assert len(ids) == len(set(ids))
    titles = {r["title"]: r for r in merged}
    assert len(titles) == len(merged)  # no two records folded into one
    assert set(titles) == {r["title"] for r in left} | {r["title"] for r in right}
    for side in (left, right):
        old_title = {r["id"]: r["title"] for r in side}
        for r in side:
            now = titles[r["title"]]
            for d_old, d_new in zip(r.get("dependencies") or [], now.get("dependencies") or [], strict=True):
                # every edge still points at the same issue, wherever it went
                assert titles[old_title[d_old["depends_on_id"]]]["id"] == d_new["depends_on_id"]
                assert d_new["issue_id"] == now["id"]
                if d_new["type"] == "parent-child":  # the id prefix is the parent
                    assert now["id"].rpartition(".")[0] == d_new["depends_on_id"]
    for r in right:  # theirs never moves
        assert titles[r["title"]]["id"] == r["id"]


@pytest.mark.parametrize("dirname", ["plain", "odd ?#% name"])
def test_the_driver_accepts_the_workspaces_custom_statuses_read_from_its_database(tmp_path: Path,
                                                                                   dirname: str) -> None:
    """The driver reads the custom statuses from the database config (a read-only peek, also
    from a path with characters a SQLite URI must escape); without them the line is refused."""
    from sync_helpers import run_bd

    ws = tmp_path / dirname
    ws.mkdir()
    assert run_bd("init", "--prefix", "t", "-q", cwd=ws).returncode == 0
    base = issue(updated_at=ts(1))
    left = issue(status="review", updated_at=ts(2))
    right = issue(title="Right", updated_at=ts(1))
    files = [write_jsonl(ws / name, [rec]) for name, rec in (("base.jsonl", base), ("left.jsonl", left),
                                                              ("right.jsonl", right))]
    out = ws / "out.jsonl"
    args = ("merge", str(out), str(files[0]), str(files[1]), str(files[2]))
    refused = run_bd(*args, cwd=ws)
    assert refused.returncode == 2 and "review" in refused.stderr
    assert run_bd("config", "set", "status.custom", "review,qa", cwd=ws).returncode == 0
    merged = run_bd(*args, cwd=ws)
    assert merged.returncode == 0, merged.stderr
    rec = json.loads(out.read_text(encoding="utf-8"))
    assert (rec["status"], rec["title"]) == ("review", "Right")
