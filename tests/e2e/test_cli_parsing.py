"""Commands as the docs write them: flags anywhere on the line (cobra style), ``bd help``, full ``--help``."""

from __future__ import annotations

import pytest

from conftest import Bd


def test_flags_after_and_between_positionals(bd: Bd) -> None:
    a = bd("create", "A", "--silent").stdout.strip()
    b = bd("create", "B", "--silent").stdout.strip()
    bd("dep", "add", a, "--type", "discovered-from", b)
    assert [(d["id"], d["dependency_type"]) for d in bd.json("show", a)[0]["dependencies"]] == [
        (b, "discovered-from")]
    bd("comments", "add", a, "-a", "bob", "some text")
    assert [(c["author"], c["text"]) for c in bd.json("comments", a)] == [("bob", "some text")]
    bd("update", a, "--priority", "0", b, "--assignee", "carol")
    got = {i["id"]: i for i in bd.json("show", a, b)}
    assert (got[a]["priority"], got[b]["priority"], got[b]["assignee"]) == (0, 0, "carol")
    closed = bd("close", a, "--reason", "done", b, "--json").json()
    assert [(i["id"], i["close_reason"]) for i in closed] == [(a, "done"), (b, "done")]
    # a global flag between positionals too
    assert [i["id"] for i in bd("reopen", a, "--json", b).json()] == [a, b]


def test_double_dash_still_ends_the_flags(bd: Bd) -> None:
    issue = bd("create", "--json", "--", "-starts with a dash").json()
    assert issue["title"] == "-starts with a dash"


def test_bd_help_command(bd: Bd) -> None:
    top = bd("help").stdout
    assert "Working With Issues" in top and "ready" in top
    assert bd("help", "ready").stdout == bd("ready", "--help").stdout
    assert bd("help", "dep", "add").stdout == bd("dep", "add", "--help").stdout
    assert bd("help", "stats").stdout == bd("status", "--help").stdout
    bad = bd("help", "nope", check=False)
    assert bad.returncode == 1 and "unknown help topic" in bad.stderr


def _option_strings(command: str) -> list[tuple[list[str], str]]:
    """Every (sub)parser of ``command`` with its visible option strings."""
    import argparse

    from beads.cli.main import build_parser

    parser = build_parser(command)
    out: list[tuple[list[str], str]] = []

    def walk(p: argparse.ArgumentParser, words: list[str]) -> None:
        opts = [s for a in p._actions if a.option_strings and a.help != argparse.SUPPRESS for s in a.option_strings]
        out.append((words, " ".join(opts)))
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    if sub is not p:
                        walk(sub, [*words, name])

    walk(parser, [])
    return [(w, o) for w, o in out if w and w[0] == command]


@pytest.mark.parametrize("command", ["create", "update", "list", "ready", "dep", "init", "close", "comments",
                                     "sync", "daemon"])
def test_command_help_lists_every_flag(bd: Bd, command: str) -> None:
    for words, opts in _option_strings(command):
        text = bd(*words, "--help").stdout
        for opt in opts.split():
            assert opt in text, (words, opt)
