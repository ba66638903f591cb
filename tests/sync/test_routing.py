"""Routing rules for new issues (``beads.sync.routing``): role from the push URL, target from config."""

from __future__ import annotations

from pathlib import Path

import pytest

from beads.sync import routing
from conftest import git


@pytest.mark.parametrize("url, role", [
    ("git@github.com:owner/repo.git", "maintainer"),
    ("ssh://git@example.com/repo.git", "maintainer"),
    ("https://token@github.com/owner/repo.git", "maintainer"),
    ("https://github.com/fork/repo.git", "contributor"),
    ("/srv/git/repo.git", "contributor"),
])
def test_the_role_is_guessed_from_the_push_url_as_the_original(url: str, role: str) -> None:
    assert routing.role_from_url(url) == role


def test_detect_role_prefers_git_config_then_the_push_url(repo: Path) -> None:
    assert routing.detect_role(str(repo)) == "contributor"  # no origin
    git(repo, "remote", "add", "origin", "https://github.com/fork/repo.git")
    git(repo, "remote", "set-url", "--push", "origin", "git@github.com:fork/repo.git")
    assert routing.detect_role(str(repo)) == "maintainer"  # the push URL, not the fetch URL
    git(repo, "config", "beads.role", "contributor")
    assert routing.detect_role(str(repo)) == "contributor"


def never() -> str:
    raise AssertionError("the role is only looked up when it decides")


@pytest.mark.parametrize("settings, role, override, expected", [
    ({}, never, None, "."),
    ({"routing.mode": "auto"}, never, None, "."),
    ({"routing.mode": "auto", "routing.contributor": "~/p"}, lambda: "contributor", None, "~/p"),
    ({"routing.mode": "auto", "routing.contributor": "~/p"}, lambda: "maintainer", None, "."),
    ({"routing.mode": "auto", "routing.contributor": "~/p", "routing.default": "d"}, lambda: "maintainer", None,
     "d"),
    ({"routing.mode": "auto", "routing.maintainer": "m"}, lambda: "maintainer", None, "m"),
    ({"routing.default": "d"}, never, None, "d"),
    ({"routing.mode": "explicit", "routing.contributor": "~/p"}, never, None, "."),
    ({"routing.mode": "auto", "routing.contributor": "~/p"}, never, "elsewhere", "elsewhere"),
])
def test_target_follows_the_originals_rules(settings: dict, role, override: str | None,  # noqa: ANN001
                                            expected: str) -> None:
    assert routing.target(settings, role, override) == expected


def test_expand_resolves_home_relative_paths_and_a_beads_directory(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert routing.expand("~/.beads-planning", "/x") == str(tmp_path / "home" / ".beads-planning")
    assert routing.expand("../plan/.beads", str(tmp_path / "proj")) == str(tmp_path / "plan")
