"""Who the agent is (issue 8, item 4): the actor chain, ``owner`` from git, and claims that name the holder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from beads.sync import identity
from conftest import Bd, git


def _plain_env() -> dict[str, str]:
    """No actor variables set, and no GIT_AUTHOR_EMAIL: only git's config can answer."""
    return {"BD_ACTOR": "", "BEADS_ACTOR": "", "GIT_AUTHOR_EMAIL": ""}


def test_the_actor_follows_flag_then_bd_actor_then_beads_actor_then_git_then_user(bd: Bd, repo: Path) -> None:
    git(repo, "config", "user.name", "Git Person")
    git(repo, "config", "user.email", "git.person@example.com")
    env = _plain_env()
    created = bd.json("create", "From git", env=env)
    assert created["created_by"] == "Git Person"  # type: ignore[index]
    assert created["owner"] == "git.person@example.com"  # type: ignore[index]
    assert bd.json("create", "Beads actor", env={**env, "BEADS_ACTOR": "mcp-agent"})["created_by"] == "mcp-agent"
    both = {**env, "BEADS_ACTOR": "mcp-agent", "BD_ACTOR": "bd-agent"}
    assert bd.json("create", "BD actor", env=both)["created_by"] == "bd-agent"
    assert bd.json("create", "Flag", "--actor", "flagged", env=both)["created_by"] == "flagged"
    git(repo, "config", "--unset", "user.name")
    assert bd.json("create", "User", env=env)["created_by"] == "tester"  # $USER from conftest


def test_git_author_email_wins_over_the_configured_email_for_the_owner(bd: Bd, repo: Path) -> None:
    git(repo, "config", "user.email", "config@example.com")
    issue = bd.json("create", "Owned", env={"GIT_AUTHOR_EMAIL": "author@example.com"})
    assert issue["owner"] == "author@example.com"  # type: ignore[index]


def test_a_global_gitconfig_with_an_include_is_answered_by_git_itself(bd: Bd, repo: Path, isolated_env: Path) -> None:
    (isolated_env / "extra.inc").write_text("[user]\n\tname = Included Name\n")
    (isolated_env / ".gitconfig").write_text(f"[include]\n\tpath = {isolated_env / 'extra.inc'}\n")
    assert bd.json("create", "Included", env=_plain_env())["created_by"] == "Included Name"


def test_a_claim_of_an_issue_another_agent_holds_names_the_holder(bd: Bd) -> None:
    issue = bd.json("create", "Contested", "--actor", "alice")["id"]  # type: ignore[index]
    bd("update", issue, "--claim", "--actor", "alice")
    refused = bd("update", issue, "--claim", "--actor", "bob", check=False)
    assert refused.returncode != 0
    assert "already claimed by alice" in refused.stderr
    assert bd.json("show", issue)[0]["assignee"] == "alice"  # type: ignore[index]
    bd("update", issue, "--claim", "--actor", "alice")  # the holder may claim again


def test_a_read_command_never_starts_git_for_the_actor(bd: Bd, repo: Path, tmp_path: Path) -> None:
    # a PATH whose git fails loudly: reads (and writes, with plain config files) never call it
    fake = tmp_path / "fakebin"
    fake.mkdir()
    marker = tmp_path / "git-was-run"
    (fake / "git").write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    (fake / "git").chmod(0o755)
    git(repo, "config", "user.name", "Plain Config")
    env = {**_plain_env(), "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    bd("list", "--json", env=env)
    assert bd.json("create", "No git", env=env)["created_by"] == "Plain Config"
    assert not marker.exists()


@pytest.mark.parametrize("text, expected", [
    ("[user]\n\tname = A B\n\temail = a@b.c ; comment\n", {"name": "A B", "email": "a@b.c"}),
    ("[core]\n\tname = no\n[User]\n\tName = Later\n[user \"x\"]\n\tname = sub\n", {"name": "Later"}),
    ("# c\n[user] # c\nname=Tight\n", {"name": "Tight"}),
])
def test_the_config_reader_reads_the_user_section(text: str, expected: dict[str, str]) -> None:
    assert identity.parse_user_section(text) == expected


@pytest.mark.parametrize("text", ['[user]\n\tname = "Quoted"\n', "[include]\n\tpath = x\n",
                                  '[includeIf "gitdir:~/w/"]\n\tpath = x\n', "[user]\n\tname = a \\\n b\n",
                                  "[user] name = inline\n"])
def test_the_config_reader_gives_up_on_syntax_it_does_not_model(text: str) -> None:
    with pytest.raises(identity._Unsafe):
        identity.parse_user_section(text)


def test_only_writes_fall_back_to_git_when_the_config_uses_includes(bd: Bd, repo: Path, tmp_path: Path,
                                                                     isolated_env: Path) -> None:
    (isolated_env / ".gitconfig").write_text("[include]\n\tpath = ~/other.inc\n")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    marker = tmp_path / "git-was-run"
    (fake / "git").write_text(f"#!/bin/sh\necho \"$@\" >> '{marker}'\nexit 1\n")
    (fake / "git").chmod(0o755)
    env = {**_plain_env(), "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    for read in (("list", "--json"), ("ready", "--json"), ("show", "--json", "test-none"), ("stats", "--json")):
        bd(*read, env=env, check=False)
    assert not marker.exists()
    assert bd.json("create", "Fallback", env=env)["created_by"] == "tester"  # git failed: $USER
    assert "config --get user.name" in marker.read_text()
