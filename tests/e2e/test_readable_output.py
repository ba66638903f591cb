"""Readable text output through the real ``bd``: --pretty/--tree lists, show --short/--refs/--thread,
colour only on request or on a terminal, type aliases, ``bd graph`` in every format, ``bd triage``."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from conftest import BD, Bd, shared_data_file

PLAIN = {"NO_COLOR": "1"}


@pytest.fixture
def work(bd: Bd) -> dict[str, str]:
    """An epic with two children (one blocking the other), a P0 bug blocked by a child, a closed task."""
    ids = {}
    for name, flags in (("epic", ["-t", "epic", "-p", "1"]), ("design", []), ("build", ["-t", "feat"]),
                        ("docs", ["-t", "bug", "-p", "0"]), ("done", [])):
        ids[name] = bd("q", name.capitalize(), *flags).stdout.strip()
    bd("dep", "add", ids["design"], ids["epic"], "-t", "parent-child")
    bd("dep", "add", ids["build"], ids["epic"], "-t", "parent-child")
    bd("dep", "add", ids["build"], ids["design"])
    bd("dep", "add", ids["docs"], ids["build"])
    bd("close", ids["done"])
    return ids


def test_list_pretty_draws_the_parent_child_tree_with_glyphs_and_badges(bd: Bd, work: dict[str, str]) -> None:
    out = bd("list", "--pretty", "--all", env=PLAIN).stdout
    e, d, b, docs, done = (work[k] for k in ("epic", "design", "build", "docs", "done"))
    # children under their parent by priority, then in listing order (newest first)
    assert out.splitlines()[:6] == [
        f"○ {docs} ● P0 [bug] Docs",
        f"○ {e} ● P1 [epic] Epic",
        f"├── ○ {b} ● P2 Build",
        f"└── ○ {d} ● P2 Design",
        f"✓ {done} ● P2 task Done",
        "",
    ]
    assert out.splitlines()[-4:] == ["-" * 80, "Total: 5 issues (4 open, 0 in progress)", "",
                                     "Status: ○ open  ◐ in_progress  ● blocked  ✓ closed  ❄ deferred"]
    assert "\x1b" not in out
    assert bd("list", "--tree", "--all", env=PLAIN).stdout == out


def test_explicit_false_and_true_forms_are_accepted_as_tools_pass_them(bd: Bd, work: dict[str, str]) -> None:
    plain = bd("list").stdout
    for flag in ("--tree=false", "--pretty=false", "--tree=0", "--pretty=False"):
        assert bd("list", flag).stdout == plain
    assert bd("list", "--tree=true", env=PLAIN).stdout == bd("list", "--pretty", env=PLAIN).stdout
    assert bd("ready", "--pretty=false").stdout == bd("ready").stdout
    bad = bd("list", "--tree=maybe", check=False)
    assert bad.returncode == 1 and "--tree" in bad.stderr and "maybe" in bad.stderr


def test_ready_pretty_lists_only_ready_work(bd: Bd, work: dict[str, str]) -> None:
    out = bd("ready", "--pretty", env=PLAIN).stdout
    assert out.splitlines()[:2] == [f"○ {work['epic']} ● P1 [epic] Epic", f"└── ○ {work['design']} ● P2 Design"]
    assert "Total: 2 issues (2 open, 0 in progress)" in out


def test_colour_is_used_on_a_terminal_or_when_forced_and_never_with_no_color(bd: Bd, work: dict[str, str]) -> None:
    forced = bd("list", "--pretty", env={"CLICOLOR_FORCE": "1"}).stdout
    assert "\x1b[1;38;2;240;113;120m● P0\x1b[0m" in forced  # P0: bold red
    assert "\x1b" not in bd("list", "--pretty", env={"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}).stdout
    assert "\x1b" not in bd("list", "--pretty").stdout  # piped
    # on a real terminal
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CLICOLOR_FORCE")}
    proc = subprocess.run([BD, "list", "--pretty"], cwd=bd.cwd, stdout=follower, stderr=subprocess.PIPE, env=env,
                          timeout=60)
    os.close(follower)
    data = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(leader)
    assert proc.returncode == 0 and b"\x1b[" in data


def test_escape_sequences_in_titles_are_shown_not_obeyed_even_in_colour(bd: Bd) -> None:
    bd("q", "evil \x1b]0;pwned\x07 title")
    out = bd("list", "--pretty", env={"CLICOLOR_FORCE": "1"}).stdout
    assert "\x1b]0;" not in out and "\\x1b]0;pwned\\x07" in out


def test_show_text_has_the_v047_header_metadata_and_sections(bd: Bd, work: dict[str, str]) -> None:
    bd("comment", work["epic"], "first words\nsecond line")
    bd("update", work["epic"], "-d", "Ship it", "--notes", "carefully", "--add-label", "ui")
    out = bd("show", work["epic"], work["done"], env=PLAIN).stdout
    e, d, b = work["epic"], work["design"], work["build"]
    epic_part, done_part = out.split("─" * 60)
    assert epic_part.splitlines()[:4] == ["", f"○ {e} [EPIC] · Epic   [● P1 · OPEN]",
                                          "Owner: tester · Type: epic", epic_part.splitlines()[3]]
    assert epic_part.splitlines()[3].startswith("Created: 20") and " · Updated: 20" in epic_part
    for section in ("DESCRIPTION\nShip it", "NOTES\ncarefully", "LABELS: ui",
                    f"CHILDREN\n  ↳ ○ {d}: Design ● P2\n  ↳ ○ {b}: Build ● P2",  # in edge order
                    "COMMENTS\n", "    first words\n    second line"):
        assert section in epic_part, section
    assert f"✓ {work['done']} · Done   [● P2 · CLOSED]" in done_part and "Close reason: Closed" in done_part
    coloured = bd("show", work["docs"], env={"CLICOLOR_FORCE": "1"}).stdout
    assert "\x1b[1;38;2;240;113;120m● P0\x1b[0m" in coloured and "[BUG]" in coloured


def test_show_short_refs_and_json(bd: Bd, work: dict[str, str]) -> None:
    short = bd("show", work["docs"], work["done"], "--short", env=PLAIN).stdout
    assert short.splitlines() == [f"○ {work['docs']} ● P0 [bug] Docs", f"✓ {work['done']} ● P2 task Done"]
    refs = bd("show", work["epic"], "--refs", env=PLAIN).stdout
    assert f"📎 References to {work['epic']}:" in refs and "↳ parent-child (2):" in refs
    assert f"    {work['design']}: Design [P2 - open]" in refs
    none = bd("show", work["docs"], "--refs", env=PLAIN).stdout
    assert f"{work['docs']}: No references found" in none
    doc = bd.json("show", work["build"], "--refs")
    assert list(doc) == [work["build"]] and [r["id"] for r in doc[work["build"]]] == [work["docs"]]
    assert doc[work["build"]][0]["dependency_type"] == "blocks"
    assert bd.json("show", work["docs"], "--short") == bd.json("show", work["docs"])


def test_show_thread_follows_replies_both_ways(bd: Bd) -> None:
    first = bd("q", "Hello", "-t", "message").stdout.strip()
    reply = bd("q", "Re: Hello", "-t", "message").stdout.strip()
    again = bd("q", "Re: Re: Hello", "-t", "message").stdout.strip()
    bd("dep", "add", reply, first, "-t", "replies-to")
    bd("dep", "add", again, reply, "-t", "replies-to")
    out = bd("show", reply, "--thread", env=PLAIN).stdout
    assert "📬 Thread: Hello" in out and "Total: 3 messages in thread" in out
    assert f"    Re: {reply}" in out  # the second reply is indented twice
    assert [m["id"] for m in bd.json("show", again, "--thread")] == [first, reply, again]


def test_type_aliases_are_accepted_wherever_a_type_is(bd: Bd) -> None:
    mr = bd("q", "Merge me", "-t", "mr").stdout.strip()
    feat = bd("create", "A feature", "-t", "feat", "--json").json()
    assert feat["issue_type"] == "feature"  # type: ignore[index]
    assert bd.json("show", mr)[0]["issue_type"] == "merge-request"
    assert [i["id"] for i in bd.json("list", "-t", "mr")] == [mr]
    assert [i["id"] for i in bd.json("list", "--type", "FEAT")] == [feat["id"]]  # type: ignore[index]
    bd("update", mr, "-t", "mol")
    assert bd.json("show", mr)[0]["issue_type"] == "molecule"
    assert [i["id"] for i in bd.json("ready", "-t", "mol")] == [mr]
    assert bd.json("count", "-t", "feat") == {"count": 1}
    assert bd("q", "x", "-t", "nonsense", check=False).returncode == 1


def test_graph_boxes_compact_dot_mermaid_and_json(bd: Bd, work: dict[str, str]) -> None:
    e, d, b, docs = (work[k] for k in ("epic", "design", "build", "docs"))
    out = bd("graph", e, env=PLAIN).stdout
    assert f"📊 Dependency graph for {e}:" in out
    assert out.index("Layer 0 (ready)") < out.index(d) < out.index("Layer 1") < out.index(b) < out.index("Layer 2")
    assert out.index("Layer 2") < out.index(docs)
    assert "blocks:1 needs:1" in out and "Total: 4 issues across 3 layers" in out
    assert "Dependencies: 2 blocking relationships" in out
    compact = bd("graph", e, "--compact", env=PLAIN).stdout
    assert f"└── ○ {docs} ● P0 [bug] Docs" in compact and "LAYER 1" in compact
    dot = bd("graph", e, "--format", "dot").stdout
    assert dot.startswith("digraph beads {") and f'"{d}" -> "{b}" [color="red"];' in dot
    mermaid = bd("graph", e, "--format", "mermaid").stdout.splitlines()
    assert mermaid[0] == "flowchart TD" and any(f"○ {d}: Design" in line for line in mermaid)
    doc = bd.json("graph", e)
    assert doc["root"]["id"] == e and sorted(i["id"] for i in doc["issues"]) == sorted([e, d, b, docs])
    layout = doc["layout"]
    assert layout["RootID"] == e and layout["MaxLayer"] == 2
    assert layout["Nodes"][docs]["Layer"] == 2 and layout["Nodes"][docs]["DependsOn"] == [b]
    assert layout["Nodes"][d]["DependsOn"] is None
    assert bd.json("graph", e, "--format", "json") == doc


def test_graph_all_groups_open_work_and_refuses_bad_arguments(bd: Bd, work: dict[str, str]) -> None:
    lone = bd("q", "Lone").stdout.strip()
    out = bd("graph", "--all", env=PLAIN).stdout
    assert out.index(f"Dependency graph for {work['epic']}") < out.index("─" * 60) < out.index(
        f"Dependency graph for {lone}")
    assert work["done"] not in out
    graphs = bd.json("graph", "--all")
    assert [g["root"]["id"] for g in graphs] == [work["epic"], lone]
    for args, message in ((("graph",), "issue ID required"), (("graph", "--all", lone), "cannot specify issue ID"),
                          (("graph", lone, "--format", "svg"), "invalid --format")):
        result = bd(*args, check=False)
        assert result.returncode == 1 and message in result.stderr
    assert bd("graph", "--all", cwd=bd.cwd, check=False).returncode == 0


def test_triage_json_brief_and_text(bd: Bd, work: dict[str, str]) -> None:
    report = bd.json("triage")
    assert [r["id"] for r in report["recommendations"]] == [work["design"], work["epic"]]
    top = report["recommendations"][0]
    assert (top["unblocks"], top["unblocks_now"], top["depth"]) == (2, [work["build"]], 2)
    assert set(report) == {"summary", "recommendations", "quick_wins", "top_blockers", "parallel_tracks",
                           "warnings"}
    brief = bd("triage", "--brief", "--json")
    assert len(brief.stdout.encode()) <= 2048 and json.loads(brief.stdout)["next"][0]["id"] == work["design"]
    text = bd("triage", "--brief").stdout
    assert len(text.encode()) <= 2048 and text.startswith("Triage: 2 ready, 2 blocked")
    full = bd("triage", env=PLAIN).stdout
    assert f"1. ○ {work['design']} ● P2 Design" in full and "Top blockers" in full


@pytest.mark.parametrize("name", ["beads-v0.47.0-issues.jsonl", "beads-v0.20.1-beads.jsonl"])
def test_the_real_shared_graphs_triage_and_render(repo: Path, name: str) -> None:
    source = shared_data_file(name)
    bd = Bd(repo)
    bd("init", "--prefix", "bd", "--quiet")
    bd("import", "-i", str(source))
    report = bd.json("triage")
    assert report["summary"]["open_issues"] > 0 and report["recommendations"]  # type: ignore[index]
    ranks = [r["rank"] for r in report["recommendations"]]  # type: ignore[index]
    assert ranks == list(range(1, len(ranks) + 1))
    assert bd.json("triage") == report
    assert len(bd("triage", "--brief", "--json").stdout.encode()) <= 2048
    assert len(bd("triage", "--brief").stdout.encode()) <= 2048
    for fmt in ("ascii", "dot", "mermaid"):
        out = bd("graph", "--all", "--format", fmt).stdout
        assert out.strip()
    assert "Total:" in bd("graph", "--all", env=PLAIN).stdout
    assert isinstance(bd.json("graph", "--all"), list)
    assert bd("list", "--pretty", "--all", "--limit", "0").stdout.rstrip().endswith("❄ deferred")
