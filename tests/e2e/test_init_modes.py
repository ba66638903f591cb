"""``bd init`` as agents and tools call it (spec §7.10): --db/BEADS_DB, refusal to re-initialise,
--no-db, --setup-exclude, --from-jsonl, .beads/README.md."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Bd, git


def test_beads_db_outside_any_repository_is_the_hermetic_setup(tmp_path: Path) -> None:
    """beads-mcp's own tests: ``BEADS_DB=/tmp/x.db bd init --prefix test``, then commands with it."""
    where = tmp_path / "nowhere"
    where.mkdir()
    db = tmp_path / "dbs" / "x.db"
    env = {"BEADS_DB": str(db)}
    run = Bd(where)
    run("init", "--prefix", "test", env=env)
    assert db.is_file() and not (where / ".beads").exists()
    issue = run.json("create", "hermetic", "-d", "why", env=env)
    assert issue["id"].startswith("test-")  # type: ignore[index]
    assert [i["id"] for i in run.json("ready", env=env)] == [issue["id"]]  # type: ignore[index]
    again = run("init", "--prefix", "test", env=env, check=False)
    assert again.returncode == 1 and "already initialized" in again.stderr


def test_db_flag_puts_the_database_there(repo: Path) -> None:
    run = Bd(repo)
    run("--db", "custom/place.db", "init", "--prefix", "cd", "--quiet")
    assert (repo / "custom" / "place.db").is_file()
    assert [i["title"] for i in [run.json("--db", "custom/place.db", "create", "x")]] == ["x"]


def test_no_db_writes_the_jsonl_and_config_but_no_database(repo: Path) -> None:
    run = Bd(repo)
    run("init", "--no-db", "--prefix", "nd", "--quiet")
    beads = repo / ".beads"
    assert (beads / "issues.jsonl").read_text() == ""
    config = (beads / "config.yaml").read_text()
    assert "\nno-db: true" in config and "issue-prefix: nd" in config
    assert not list(beads.glob("*.db")) and (beads / "README.md").is_file()
    created = run.json("create", "jsonl only")
    assert created["id"].startswith("nd-")  # type: ignore[index]
    assert json.loads((beads / "issues.jsonl").read_text())["title"] == "jsonl only"
    assert not list(beads.glob("*.db"))
    assert run("init", "--no-db", check=False).returncode == 1


def test_readme_and_force(bd: Bd) -> None:
    readme = bd.cwd / ".beads" / "README.md"
    assert "bd ready" in readme.read_text()
    readme.write_text("my own notes\n")
    bd("init", "--force", "--quiet")
    assert readme.read_text() == "my own notes\n"  # never overwritten


def test_setup_exclude_hides_beads_but_keeps_the_hooks(repo: Path) -> None:
    Bd(repo)("init", "--prefix", "ex", "--quiet", "--setup-exclude")
    assert "/.beads/" in (repo / ".git" / "info" / "exclude").read_text()
    assert (repo / ".git" / "hooks" / "pre-commit").exists()
    assert ".beads" not in git(repo, "status", "--porcelain").stdout


def test_from_jsonl_imports_the_working_tree_file(repo: Path, tmp_path: Path) -> None:
    src = Bd(repo)
    src("init", "--prefix", "fj", "--quiet")
    a = src.json("create", "carried over")
    jsonl = (repo / ".beads" / "issues.jsonl").read_text()
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / ".beads").mkdir()
    (other / ".beads" / "issues.jsonl").write_text(jsonl)
    dst = Bd(other)
    dst("init", "--from-jsonl", "--quiet")
    assert [i["id"] for i in dst.json("list")] == [a["id"]]  # type: ignore[index]
    assert dst.json("config", "get", "issue_prefix")["value"] == "fj"  # type: ignore[index]
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = Bd(empty)("init", "--from-jsonl", check=False)
    assert bad.returncode == 1 and "--from-jsonl" in bad.stderr
