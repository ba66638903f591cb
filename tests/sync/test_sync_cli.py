"""End to end: the installed `bd` keeps issues.jsonl in step (auto-flush, auto-import, export/import,
--no-db, worktrees, fresh clones)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from jsonl_helpers import dep, file_records, jsonl_text, rec

from beads.sync import jsonl
from conftest import Bd, git


def jsonl_of(repo: Path) -> Path:
    return repo / ".beads" / "issues.jsonl"


def metadata(repo: Path) -> dict[str, str]:
    with sqlite3.connect(repo / ".beads" / "beads.db") as conn:
        return dict(conn.execute("SELECT key, value FROM metadata"))


def new_id(bd: Bd, *args: str) -> str:
    return bd("create", *args, "--silent").stdout.strip()


def test_every_mutation_is_flushed_to_the_jsonl(bd: Bd, repo: Path) -> None:
    a = new_id(bd, "first", "-p", "1")
    b = new_id(bd, "second")
    assert set(file_records(jsonl_of(repo))) == {a, b}
    bd("update", a, "--title", "first, renamed")
    bd("dep", "add", b, a)
    bd("label", "add", a, "urgent")
    bd("comment", a, "looked at it")
    lines = file_records(jsonl_of(repo))
    assert lines[a]["title"] == "first, renamed" and lines[a]["labels"] == ["urgent"]
    assert lines[b]["dependencies"][0]["depends_on_id"] == a
    assert lines[a]["comments"][0]["text"] == "looked at it"
    bd("close", a)
    assert file_records(jsonl_of(repo))[a]["status"] == "closed"
    bd("delete", b, "--force")
    assert file_records(jsonl_of(repo))[b]["status"] == "tombstone"
    meta = metadata(repo)
    assert meta["jsonl_file_hash"] == meta["jsonl_content_hash"]


def test_no_auto_flush_leaves_the_file_alone(bd: Bd, repo: Path) -> None:
    new_id(bd, "first")
    before = jsonl_of(repo).read_bytes()
    bd("create", "quiet", "--no-auto-flush")
    assert jsonl_of(repo).read_bytes() == before


def test_a_line_from_another_clone_is_auto_imported(bd: Bd, repo: Path) -> None:
    new_id(bd, "mine")
    with jsonl_of(repo).open("a", encoding="utf-8") as fh:
        fh.write(jsonl.issue_line(rec("test-theirs", "from another clone")) + "\n")
    ids = [i["id"] for i in bd.json("list")]
    assert "test-theirs" in ids


def test_an_unchanged_file_is_not_imported_again(bd: Bd, repo: Path) -> None:
    new_id(bd, "mine")
    before = metadata(repo)
    result = bd("list", "--json")
    assert result.stderr == "" and metadata(repo) == before


def test_a_conflicted_file_is_refused_with_one_clear_warning(bd: Bd, repo: Path) -> None:
    a = new_id(bd, "mine")
    jsonl_of(repo).write_text(jsonl_of(repo).read_text() + "<<<<<<< HEAD\n" + jsonl_text(rec("test-x"))
                              + "=======\n>>>>>>> theirs\n", encoding="utf-8")
    result = bd("list", "--json")
    assert [i["id"] for i in result.json()] == [a]
    assert result.stderr.count("Warning:") == 1 and "conflict markers" in result.stderr


def test_export_to_stdout_and_to_a_file_with_json_stats(bd: Bd, repo: Path, tmp_path: Path) -> None:
    a = new_id(bd, "open one")
    b = new_id(bd, "closed one")
    bd("close", b)
    out = bd("export")
    assert out.stdout == jsonl_of(repo).read_text(encoding="utf-8")
    assert [json.loads(x)["id"] for x in bd("export", "-s", "open").stdout.splitlines()] == [a]
    target = tmp_path / "all.jsonl"
    result = bd("export", "-o", str(target), "--json")
    assert json.loads(result.stderr) == {"success": True, "exported": 2, "skipped": 0, "total_issues": 2,
                                         "output_file": str(target)}
    assert result.stdout == ""
    assert bd("export", "-f", "csv", check=False).returncode == 1


def test_export_refuses_to_shrink_a_file_unless_forced(bd: Bd, repo: Path, tmp_path: Path) -> None:
    new_id(bd, "one")
    target = tmp_path / "t.jsonl"
    target.write_text(jsonl_text(rec("test-other")), encoding="utf-8")
    result = bd("export", "-o", str(target), check=False)
    assert result.returncode == 1 and "would lose issues" in result.stderr and "test-other" in result.stderr
    bd("export", "-o", str(target), "--force")
    assert "test-other" not in file_records(target)


def test_import_from_a_file_reports_and_flushes(bd: Bd, repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(jsonl_text(rec("test-1", "one"), rec("test-2", "two", dependencies=[dep("test-2", "test-1")])),
                   encoding="utf-8")
    result = bd("import", "-i", str(src))
    assert "Import complete: 2 created, 0 updated" in result.stderr and result.stdout == ""
    assert set(file_records(jsonl_of(repo))) == {"test-1", "test-2"}  # flushed to the workspace file
    assert [i["id"] for i in bd.json("blocked")] == ["test-2"]
    stats = bd("import", "-i", str(src), "--json").json()
    assert (stats["created"], stats["unchanged"]) == (0, 2)


def test_import_reads_stdin_and_supports_dry_run(bd: Bd, repo: Path) -> None:
    text = jsonl_text(rec("test-1"))
    result = bd("import", "--dry-run", input=text)
    assert "Would create 1 new issues" in result.stderr and "Dry-run mode" in result.stderr
    assert bd.json("list") == []
    bd("import", input=text)
    assert [i["id"] for i in bd.json("list")] == ["test-1"]


def test_import_refuses_a_foreign_prefix_and_renames_on_request(bd: Bd, repo: Path) -> None:
    text = jsonl_text(rec("other-1"))
    result = bd("import", input=text, check=False)
    assert result.returncode == 1 and "prefix mismatch" in result.stderr
    result = bd("import", "--rename-on-import", input=text)
    assert "other-1 → test-1" in result.stderr
    assert [i["id"] for i in bd.json("list")] == ["test-1"]


def test_import_refuses_a_corrupt_file_whole(bd: Bd, repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(jsonl_text(rec("test-1")) + '{"id": "test-2", oops\n', encoding="utf-8")
    result = bd("import", "-i", str(src), check=False)
    assert result.returncode == 1 and "line 2" in result.stderr
    assert bd.json("list") == []


# -- --no-db ----------------------------------------------------------------------------------------


def test_no_db_mode_works_on_the_jsonl_alone(repo: Path) -> None:
    beads_dir = repo / ".beads"
    beads_dir.mkdir()
    (beads_dir / "issues.jsonl").write_text(jsonl_text(rec("proj-1", "existing")), encoding="utf-8")
    bd = Bd(repo)
    assert [i["id"] for i in bd.json("list", "--no-db")] == ["proj-1"]
    new = bd("create", "added", "--no-db", "--silent").stdout.strip()
    assert new.startswith("proj-")
    assert set(file_records(beads_dir / "issues.jsonl")) == {"proj-1", new}
    assert not (beads_dir / "beads.db").exists()
    (beads_dir / "config.yaml").write_text("no-db: true\n", encoding="utf-8")
    bd("close", "proj-1")
    assert file_records(beads_dir / "issues.jsonl")["proj-1"]["status"] == "closed"
    assert not (beads_dir / "beads.db").exists()


# -- worktrees and clones -------------------------------------------------------------------------------


def test_commands_in_a_git_worktree_use_the_main_checkouts_beads(bd: Bd, repo: Path, tmp_path: Path) -> None:
    a = new_id(bd, "made in main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "-b", "feature")
    assert (wt / ".git").is_file()
    wbd = Bd(wt)
    assert Path(wbd.json("where")["path"]).resolve() == (repo / ".beads").resolve()
    b = wbd("create", "made in worktree", "--silent").stdout.strip()
    assert set(file_records(jsonl_of(repo))) == {a, b}  # the main checkout's file was flushed
    assert {i["id"] for i in bd.json("list")} == {a, b}


def test_init_in_a_fresh_clone_imports_the_committed_issues(bd: Bd, repo: Path, tmp_path: Path) -> None:
    a = new_id(bd, "shared work")
    bd("label", "add", a, "team")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "issues")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert not (clone / ".beads" / "beads.db").exists()
    cbd = Bd(clone)
    cbd("init", "--quiet")
    shown = cbd.json("show", a)
    assert shown[0]["title"] == "shared work" and shown[0]["labels"] == ["team"]
    assert jsonl_of(clone).read_bytes() == jsonl_of(repo).read_bytes()
