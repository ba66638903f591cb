"""Agents' front doors (issue 8, item 5): ``bd onboard``, ``bd prime``, ``bd quickstart``, ``bd setup`` and
agent mode, run as the real ``bd`` in real git repositories."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BD, Bd, git


def stats(bd: Bd) -> dict:
    return bd.json("stats")  # type: ignore[return-value]


# -- prime ------------------------------------------------------------------------------------------


def test_prime_fits_in_2_kb_and_shows_live_counts(bd: Bd) -> None:
    a = bd("q", "First").stdout.strip()
    b = bd("q", "Second").stdout.strip()
    bd("q", "Third")
    bd("dep", "add", b, a)
    bd("update", a, "--claim")
    out = bd("prime")
    assert out.stderr == "" and out.returncode == 0
    assert len(out.stdout.encode()) < 2048
    s = stats(bd)
    assert (f"Now: {s['ready_issues']} ready, {s['in_progress_issues']} in progress, "
            f"{s['blocked_issues']} blocked, {s['open_issues']} open.") in out.stdout
    assert s["blocked_issues"] == 1 and s["in_progress_issues"] == 1
    assert f"Yours in progress: {a} First" in out.stdout  # the actor is $USER=tester, who claimed it
    for variant in (("--full",), ("--mcp",), ("--stealth",), ("--full", "--stealth")):
        assert len(bd("prime", *variant).stdout.encode()) < 2048


def test_prime_outside_a_workspace_prints_nothing_and_exits_0(tmp_path: Path) -> None:
    result = Bd(tmp_path)("prime")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_prime_never_writes_to_stderr_even_with_a_broken_database(bd: Bd, repo: Path) -> None:
    (repo / ".beads" / "beads.db").write_bytes(b"this is not a database" * 100)
    result = bd("prime", check=False)
    assert result.returncode == 0 and result.stderr == ""


def test_prime_without_a_remote_asks_only_for_a_flush_and_with_one_for_the_whole_protocol(bd: Bd,
                                                                                          repo: Path) -> None:
    local = bd("prime").stdout
    assert "bd sync --flush-only" in local and "git push" not in local
    git(repo, "remote", "add", "origin", "https://example.invalid/repo.git")
    full = bd("prime").stdout
    assert "bd sync " in full and "git push" in full and "--flush-only" not in full
    assert "git push" not in bd("prime", "--stealth").stdout
    bd("config", "set", "no-push", "true")
    assert "git push " not in bd("prime").stdout


def test_prime_switches_to_the_short_mcp_form_when_a_beads_mcp_server_is_configured(
        bd: Bd, isolated_env: Path) -> None:
    full = bd("prime").stdout
    (isolated_env / ".claude").mkdir()
    (isolated_env / ".claude" / "settings.json").write_text(json.dumps({"mcpServers": {"beads": {"command": "x"}}}))
    short = bd("prime").stdout
    assert "MCP" in short and len(short) < len(full) / 2
    assert bd("prime", "--full").stdout == full
    assert bd("prime", "--mcp").stdout == short


def test_prime_prints_a_custom_prime_md_unless_exporting(bd: Bd, repo: Path) -> None:
    (repo / ".beads" / "PRIME.md").write_text("Our own workflow.\n")
    assert bd("prime").stdout == "Our own workflow.\n"
    assert "bd workflow context" in bd("prime", "--export").stdout


# -- onboard and quickstart -------------------------------------------------------------------------


def test_onboard_prints_the_agents_md_snippet_between_markers(tmp_path: Path) -> None:
    out = Bd(tmp_path)("onboard").stdout
    body = out.split("--- BEGIN AGENTS.MD CONTENT ---\n")[1].split("--- END AGENTS.MD CONTENT ---")[0]
    assert "bd prime" in body and "bd ready" in body and "bd close" in body


def quickstart_commands(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if re.match(r"^\s+(bd |[A-Z]+=\$\(bd )", line)]


def test_every_command_the_quickstart_shows_runs_as_written(repo: Path) -> None:
    text = Bd(repo)("quickstart").stdout
    commands = quickstart_commands(text)
    assert commands[0] == "bd init" and len(commands) >= 15
    script = "set -e\n" + "\n".join(commands) + "\n"
    env = dict(os.environ, PATH=f"{Path(BD).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["sh", "-c", script], cwd=repo, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    issues = Bd(repo).json("list", "--all")
    by_title = {i["title"]: i for i in issues}  # type: ignore[union-attr]
    assert by_title["Design the storage layer"]["status"] == "closed"
    assert by_title["Write the migrations"]["id"] in [i["id"] for i in Bd(repo).json("ready")]  # type: ignore[union-attr]


# -- setup ------------------------------------------------------------------------------------------


USER_SETTINGS = {
    "model": "opus",
    "hooks": {
        "SessionStart": [{"matcher": "", "hooks": [{"type": "command", "command": "echo hello"}]}],
        "PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./lint.sh"}]}],
    },
}


def test_setup_claude_twice_keeps_the_users_hooks_and_adds_ours_once(tmp_path: Path, isolated_env: Path) -> None:
    settings = isolated_env / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(USER_SETTINGS, indent=2))
    bd = Bd(tmp_path)
    assert bd("setup", "claude", "--check", check=False).returncode == 1
    bd("setup", "claude")
    after_first = settings.read_text()
    bd("setup", "claude")
    assert settings.read_text() == after_first
    data = json.loads(after_first)
    assert data["model"] == "opus"
    assert data["hooks"]["PostToolUse"] == USER_SETTINGS["hooks"]["PostToolUse"]
    start = [h["command"] for e in data["hooks"]["SessionStart"] for h in e["hooks"]]
    assert start == ["echo hello", "bd prime"]
    assert [h["command"] for e in data["hooks"]["PreCompact"] for h in e["hooks"]] == ["bd prime"]
    assert bd("setup", "claude", "--check").returncode == 0
    bd("setup", "claude", "--remove")
    assert json.loads(settings.read_text()) == USER_SETTINGS
    assert bd("setup", "claude", "--check", check=False).returncode == 1


def test_setup_claude_project_writes_the_local_settings_with_stealth_hooks(tmp_path: Path,
                                                                          isolated_env: Path) -> None:
    result = Bd(tmp_path).json("setup", "claude", "--project", "--stealth")
    path = tmp_path / ".claude" / "settings.local.json"
    assert result["paths"] == [str(path)] and result["changed"] is True  # type: ignore[index]
    data = json.loads(path.read_text())
    assert data["hooks"]["SessionStart"][0]["hooks"][0]["command"] == "bd prime --stealth"
    assert not (isolated_env / ".claude").exists()
    assert Bd(tmp_path)("setup", "claude", "--check").returncode == 0


def test_setup_refuses_a_settings_file_that_is_not_json(tmp_path: Path, isolated_env: Path) -> None:
    settings = isolated_env / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{ not json")
    result = Bd(tmp_path)("setup", "claude", check=False)
    assert result.returncode == 1 and "not valid JSON" in result.stderr
    assert settings.read_text() == "{ not json"


def test_setup_gemini_registers_session_start_and_pre_compress(tmp_path: Path, isolated_env: Path) -> None:
    Bd(tmp_path)("setup", "gemini")
    hooks = json.loads((isolated_env / ".gemini" / "settings.json").read_text())["hooks"]
    assert set(hooks) == {"SessionStart", "PreCompress"}


def test_setup_cursor_writes_its_rules_and_never_overwrites_a_foreign_file(tmp_path: Path) -> None:
    bd = Bd(tmp_path)
    bd("setup", "cursor")
    rules = tmp_path / ".cursor" / "rules" / "beads.mdc"
    assert "bd ready" in rules.read_text()
    assert bd.json("setup", "cursor")["changed"] is False  # type: ignore[index]
    bd("setup", "cursor", "--remove")
    assert not rules.exists()
    rules.write_text("my own rules\n")
    result = bd("setup", "cursor", check=False)
    assert result.returncode == 1 and rules.read_text() == "my own rules\n"


@pytest.mark.parametrize("recipe", ["codex", "factory"])
def test_setup_codex_and_factory_add_a_marked_section_to_agents_md(tmp_path: Path, recipe: str) -> None:
    agents = tmp_path / "AGENTS.md"
    agents.write_text("# Our project\n\nBuild with make.\n")
    bd = Bd(tmp_path)
    bd("setup", recipe)
    bd("setup", recipe)
    text = agents.read_text()
    assert text.startswith("# Our project\n\nBuild with make.\n") and text.count("BEGIN BEADS INTEGRATION") == 1
    assert bd("setup", recipe, "--check").returncode == 0
    bd("setup", recipe, "--remove")
    assert agents.read_text() == "# Our project\n\nBuild with make.\n"


def test_setup_aider_adds_a_read_entry_and_keeps_the_users_config(tmp_path: Path) -> None:
    conf = tmp_path / ".aider.conf.yml"
    conf.write_text("model: sonnet\n")
    bd = Bd(tmp_path)
    bd("setup", "aider")
    bd("setup", "aider")
    text = conf.read_text()
    assert text.startswith("model: sonnet\n") and text.count(".aider/BEADS.md") == 1
    assert (tmp_path / ".aider" / "BEADS.md").exists()
    assert bd("setup", "aider", "--check").returncode == 0
    bd("setup", "aider", "--remove")
    assert conf.read_text() == "model: sonnet\n" and not (tmp_path / ".aider" / "BEADS.md").exists()


def test_setup_rejects_an_unknown_recipe(tmp_path: Path) -> None:
    result = Bd(tmp_path)("setup", "emacs", check=False)
    assert result.returncode == 1 and "unknown recipe" in result.stderr


# -- agent mode ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{"BD_AGENT_MODE": "1"}, {"CLAUDE_CODE": "1"}])
def test_agent_mode_lists_20_issues_as_id_and_title_lines(bd: Bd, env: dict[str, str]) -> None:
    for n in range(25):
        bd("q", f"Issue {n}")
    lines = bd("list", env=env).stdout.splitlines()
    assert len(lines) == 20 and all(re.fullmatch(r"test-[0-9a-z.]+: Issue \d+", x) for x in lines), lines
    assert len(bd("list", "--limit", "0", env=env).stdout.splitlines()) == 25
    assert len(bd.json("list", env=env)) == 20  # type: ignore[arg-type]
    assert len(bd.json("list", env={"BD_AGENT_MODE": "", "CLAUDE_CODE": ""})) == 25  # type: ignore[arg-type]
