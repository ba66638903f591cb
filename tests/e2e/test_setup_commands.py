"""init, config, version, where and info through the real `bd` entry point."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import Bd, git


def test_init_creates_the_beads_directory_with_its_files(repo: Path) -> None:
    result = Bd(repo)("init", "--prefix", "proj")
    assert "initialized successfully" in result.stdout
    beads = repo / ".beads"
    for name in ("beads.db", ".gitignore", "metadata.json", "config.yaml", "interactions.jsonl"):
        assert (beads / name).exists(), name
    assert json.loads((beads / "metadata.json").read_text()) == {"database": "beads.db", "jsonl_export": "issues.jsonl"}
    ignore = (beads / ".gitignore").read_text().splitlines()
    for line in ("*.db", "*.db-wal", "*.db-shm", "daemon.lock", "bd.sock", "!issues.jsonl", "!metadata.json"):
        assert line in ignore
    con = sqlite3.connect(beads / "beads.db")
    try:
        assert con.execute("SELECT value FROM config WHERE key = 'issue_prefix'").fetchone() == ("proj",)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        keys = {k for (k,) in con.execute("SELECT key FROM metadata")}
    finally:
        con.close()
    assert {"bd_version", "repo_id", "clone_id"} <= keys


def test_init_uses_the_directory_name_as_prefix_by_default(tmp_path: Path) -> None:
    project = tmp_path / "My Project"
    project.mkdir()
    git(project, "init", "-q")
    Bd(project)("init", "--quiet")
    issue = Bd(project).json("create", "first")
    assert issue["id"].startswith("my-project-")  # type: ignore[index]


def test_init_quiet_prints_nothing_and_json_describes_the_workspace(repo: Path, tmp_path: Path) -> None:
    assert Bd(repo)("init", "--prefix", "q", "--quiet").stdout == ""
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    data = Bd(other).json("init", "--prefix", "js")
    assert data["status"] == "initialized" and data["prefix"] == "js"  # type: ignore[index]


def test_init_twice_refuses_and_force_keeps_the_existing_issues_and_prefix(bd: Bd) -> None:
    issue = bd.json("create", "keep me")
    again = bd("init", "--prefix", "other", "--quiet", check=False)
    assert again.returncode == 1 and "already initialized" in again.stderr and "--force" in again.stderr
    bd("init", "--prefix", "other", "--quiet", "--force")
    assert bd.json("show", issue["id"])[0]["title"] == "keep me"  # type: ignore[index]
    assert bd.json("config", "get", "issue_prefix")["value"] == "test"  # type: ignore[index]


def test_init_rejects_an_invalid_prefix(repo: Path) -> None:
    result = Bd(repo)("init", "--prefix", "bad prefix!", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: invalid prefix")


def test_version_prints_text_and_json(bd: Bd) -> None:
    assert bd("version").stdout.startswith("bd version ")
    data = bd.json("version")
    assert set(data) == {"version", "build"}  # type: ignore[arg-type]
    assert bd("--version").stdout.startswith("bd version ")


def test_version_works_outside_any_workspace(tmp_path: Path) -> None:
    assert Bd(tmp_path)("version").stdout.startswith("bd version ")


def test_config_set_get_list_unset_round_trip_in_the_database(bd: Bd) -> None:
    assert bd.json("config", "set", "status.custom", "review,qa") == {"key": "status.custom", "value": "review,qa"}
    assert bd("config", "get", "status.custom").stdout.strip() == "review,qa"
    assert bd.json("config", "list")["status.custom"] == "review,qa"  # type: ignore[index]
    bd("config", "unset", "status.custom")
    assert bd("config", "get", "status.custom").stdout.strip() == "status.custom (not set)"


def test_config_custom_statuses_are_accepted_after_being_configured(bd: Bd) -> None:
    issue = bd.json("create", "x")
    assert bd("update", issue["id"], "--status", "review", check=False).returncode == 1  # type: ignore[index]
    bd("config", "set", "status.custom", "review")
    assert bd.json("update", issue["id"], "--status", "review")[0]["status"] == "review"  # type: ignore[index]


def test_config_yaml_only_keys_are_written_to_config_yaml_keeping_comments(bd: Bd) -> None:
    data = bd.json("config", "set", "actor", "robot")
    assert data == {"key": "actor", "value": "robot", "location": "config.yaml"}
    text = (bd.cwd / ".beads" / "config.yaml").read_text()
    assert "actor: robot" in text and "# Beads Configuration File" in text
    assert bd.json("config", "get", "actor")["value"] == "robot"  # type: ignore[index]
    # the configured actor is used for new issues (no --actor, no BD_ACTOR)
    assert bd.json("create", "by robot")["created_by"] == "robot"  # type: ignore[index]
    bd("config", "unset", "actor")
    assert "actor: robot" not in (bd.cwd / ".beads" / "config.yaml").read_text()


def test_actor_flag_wins_over_environment_and_config(bd: Bd) -> None:
    bd("config", "set", "actor", "from-config")
    env = {"BD_ACTOR": "from-env"}
    assert bd.json("create", "a", env=env)["created_by"] == "from-env"  # type: ignore[index]
    assert bd.json("create", "b", "--actor", "from-flag", env=env)["created_by"] == "from-flag"  # type: ignore[index]


def test_config_without_action_is_a_usage_error(bd: Bd) -> None:
    result = bd("config", check=False)
    assert result.returncode == 1 and result.stderr.startswith("Error:")


def test_where_reports_the_workspace_database_and_prefix(bd: Bd) -> None:
    data = bd.json("where")
    beads = (bd.cwd / ".beads").resolve()
    assert Path(data["path"]).resolve() == beads  # type: ignore[index]
    assert data["prefix"] == "test"  # type: ignore[index]
    assert Path(data["database_path"]).resolve() == beads / "beads.db"  # type: ignore[index]


def test_where_from_a_subdirectory_finds_the_workspace_above(bd: Bd) -> None:
    sub = bd.cwd / "src" / "deep"
    sub.mkdir(parents=True)
    data = Bd(sub).json("where")
    assert Path(data["path"]).resolve() == (bd.cwd / ".beads").resolve()  # type: ignore[index]


def test_where_follows_a_redirect(bd: Bd, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    git(other, "init", "-q")
    (other / ".beads").mkdir()
    (other / ".beads" / "redirect").write_text("# shared tracker\n" + str(bd.cwd / ".beads") + "\n")
    data = Bd(other).json("where")
    assert Path(data["path"]).resolve() == (bd.cwd / ".beads").resolve()  # type: ignore[index]
    assert Path(data["redirected_from"]).resolve() == (other / ".beads").resolve()  # type: ignore[index]
    issue = Bd(other).json("create", "via redirect")
    assert bd.json("show", issue["id"])[0]["title"] == "via redirect"  # type: ignore[index]


def test_beads_dir_and_beads_db_environment_variables_select_the_workspace(bd: Bd, tmp_path: Path) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    beads = str(bd.cwd / ".beads")
    assert Bd(elsewhere).json("where", env={"BEADS_DIR": beads})["prefix"] == "test"  # type: ignore[index]
    db = str(bd.cwd / ".beads" / "beads.db")
    assert Bd(elsewhere).json("where", env={"BEADS_DB": db})["prefix"] == "test"  # type: ignore[index]
    assert Bd(elsewhere).json("where", "--db", db)["prefix"] == "test"  # type: ignore[index]


def test_info_reports_paths_counts_and_schema(bd: Bd) -> None:
    bd("create", "one")
    data = bd.json("info", "--schema")
    assert data["issue_count"] == 1 and data["config"] == {"issue_prefix": "test"}  # type: ignore[index]
    tables = data["schema"]["tables"]  # type: ignore[index]
    for table in ("issues", "dependencies", "labels", "comments", "events", "config", "metadata", "dirty_issues",
                  "blocked_issues_cache", "child_counters"):
        assert table in tables
    assert "Beads Database Information" in bd("info").stdout


def test_help_lists_the_command_groups_and_unknown_commands_fail(tmp_path: Path) -> None:
    runner = Bd(tmp_path)
    text = runner("--help").stdout
    for heading in ("Working With Issues", "Views & Reports", "Dependencies & Structure", "Sync & Data"):
        assert heading in text
    result = runner("frobnicate", check=False)
    assert result.returncode == 1 and 'unknown command "frobnicate"' in result.stderr


def test_hidden_aliases_new_and_stats_work(bd: Bd) -> None:
    assert bd.json("new", "via alias")["title"] == "via alias"  # type: ignore[index]
    assert bd.json("stats")["total_issues"] == 1  # type: ignore[index]


def test_init_records_the_prefix_in_config_yaml_for_clones(repo: Path, tmp_path: Path) -> None:
    Bd(repo)("init", "--prefix", "shared", "--quiet")
    assert 'issue-prefix: shared' in (repo / ".beads" / "config.yaml").read_text()
    git(repo, "add", ".beads")
    git(repo, "commit", "-qm", "add beads")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    Bd(clone)("init", "--quiet")  # no issues pushed yet: the prefix comes from config.yaml
    assert Bd(clone).json("create", "from the clone")["id"].startswith("shared-")  # type: ignore[index]


def test_an_explicit_prefix_wins_over_the_recorded_one(repo: Path) -> None:
    (repo / ".beads").mkdir()
    (repo / ".beads" / "config.yaml").write_text('issue-prefix: "recorded"\n')
    Bd(repo)("init", "--prefix", "explicit", "--quiet")
    assert Bd(repo).json("create", "x")["id"].startswith("explicit-")  # type: ignore[index]
    assert "issue-prefix: explicit" in (repo / ".beads" / "config.yaml").read_text()  # mirrors the database
