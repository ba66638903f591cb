"""Maintenance commands through the real ``bd``: duplicates, orphans, admin cleanup."""

from __future__ import annotations

import json

from conftest import Bd, git


def test_duplicates_are_found_kept_by_references_and_merged(bd: Bd) -> None:
    a = bd("q", "Same").stdout.strip()
    b = bd("q", "Same").stdout.strip()
    bd("create", "Pointer", "-d", f"see {b}, and {b} again")
    closed = bd("q", "Closed twin").stdout.strip()
    bd("q", "Closed twin")
    bd("close", closed)  # an open and a closed issue are not duplicates (status is part of the content)
    doc = bd.json("duplicates")
    assert doc["duplicate_groups"] == 1  # type: ignore[index]
    [group] = doc["groups"]  # type: ignore[index]
    assert group["suggested_target"] == b and group["suggested_sources"] == [a]  # the most referenced is kept
    assert {i["id"]: i["references"] for i in group["issues"]} == {a: 0, b: 2}
    assert group["suggested_action"] == f"bd close {a} && bd dep add {a} {b} --type related"
    preview = bd.json("duplicates", "--dry-run")
    assert "merge_commands" in preview and "merge_results" not in preview  # type: ignore[operator]
    assert bd.json("show", a)[0]["status"] == "open"  # type: ignore[index]
    merged = bd.json("duplicates", "--auto-merge")
    assert merged["merge_results"] == [{"target": b, "sources": [a], "closed": [a], "linked": [a],  # type: ignore[index]
                                        "errors": []}]
    shown = bd.json("show", a)[0]  # type: ignore[index]
    assert shown["status"] == "closed" and shown["close_reason"] == f"Duplicate of {b}"
    assert [(d["id"], d["dependency_type"]) for d in shown["dependencies"]] == [(b, "related")]
    assert bd.json("duplicates") == {"duplicate_groups": 0, "groups": []}
    assert bd("duplicates").stdout.strip() == "No duplicates found!"


def test_orphans_are_open_issues_named_in_commit_subjects(bd: Bd) -> None:
    done = bd("q", "Done in code").stdout.strip()
    still = bd("q", "Not started").stdout.strip()
    closed = bd("q", "Closed already").stdout.strip()
    bd("close", closed)
    assert bd.json("orphans") == []
    git(bd.cwd, "add", "-A")
    git(bd.cwd, "commit", "-q", "-m", f"Implement it ({done}) and ({closed})")
    [orphan] = bd.json("orphans")  # type: ignore[misc]
    assert (orphan["issue_id"], orphan["title"], orphan["status"]) == (done, "Done in code", "open")
    assert orphan["latest_commit_message"] == f"Implement it ({done}) and ({closed})"
    text = bd("orphans", "--details").stdout
    assert f"1. {done}: Done in code" in text and "Latest commit:" in text
    assert bd("orphans", "--fix", input="n\n").stdout.strip().endswith("Canceled.")
    assert bd.json("show", done)[0]["status"] == "open"  # type: ignore[index]
    bd("orphans", "--fix", input="\n")  # Enter means yes
    assert bd.json("show", done)[0]["status"] == "closed"  # type: ignore[index]
    assert bd.json("show", still)[0]["status"] == "open"  # type: ignore[index]
    assert bd("orphans").stdout.strip() == "✓ No orphaned issues found"


def test_admin_cleanup_previews_refuses_without_force_and_deletes(bd: Bd) -> None:
    old = bd("q", "Old").stdout.strip()
    keep = bd("q", "Open").stdout.strip()
    other = bd("q", "Also done").stdout.strip()
    bd("close", old, other)
    refused = bd("admin", "cleanup", check=False)
    assert refused.returncode == 1 and "Use --force to confirm or --dry-run to preview" in refused.stderr
    assert bd("admin", "cleanup", "--older-than", "30").stdout.strip() == (
        "No closed issues older than 30 days to delete")
    assert bd.json("admin", "cleanup", "--older-than", "30") == {"deleted_count": 0,
                                                                 "message": "No closed issues to delete",
                                                                 "filter": "older than 30 days"}
    preview = bd("admin", "cleanup", "--dry-run").stdout
    assert "Found 2 closed issue(s)" in preview and "DRY RUN" in preview
    assert len(bd.json("list", "--status", "closed")) == 2  # type: ignore[arg-type]
    result = bd.json("cleanup", "--force")  # the hidden top-level alias
    assert sorted(result["deleted"]) == sorted([old, other])  # type: ignore[index]
    assert [i["id"] for i in bd.json("list", "--all")] == [keep]  # type: ignore[union-attr]


def test_compact_analyze_apply_restore_without_any_api_key(bd: Bd, tmp_path) -> None:  # noqa: ANN001
    long = "The original long text. " * 40
    issue = bd.json("create", "Old work", "-d", long, "--notes", "some notes")["id"]  # type: ignore[index]
    bd("close", issue)
    assert bd.json("compact", "--analyze") == []  # closed today: not a tier 1 candidate yet
    [one] = bd.json("compact", "--analyze", "--id", issue)  # type: ignore[misc]
    assert (one["description"], one["notes"], one["size_bytes"]) == (long, "some notes", len(long) + 10)
    summary = tmp_path / "summary.txt"
    summary.write_text("Short summary.", encoding="utf-8")
    refused = bd("compact", "--apply", "--id", issue, "--summary", str(summary), check=False)
    assert refused.returncode == 1 and "closed less than 30 days ago" in refused.stderr
    result = bd.json("compact", "--apply", "--id", issue, "--summary", str(summary), "--force")
    assert result["compacted_size"] == 14 and result["original_size"] == len(long) + 10  # type: ignore[index]
    shown = bd.json("show", issue)[0]  # type: ignore[index]
    assert (shown["description"], shown.get("notes"), shown["compaction_level"]) == ("Short summary.", None, 1)
    assert shown["original_size"] == len(long) + 10 and shown["compacted_at"]
    assert "Tier 1 compaction" in shown["comments"][0]["text"]
    bd("sync", "--flush-only")  # through a daemon (BD_TEST_DAEMON=1) the export follows the reply
    line = next(x for x in (bd.cwd / ".beads" / "issues.jsonl").read_text().splitlines() if issue in x)
    assert '"compaction_level":1' in line  # the JSONL carries it to other clones
    restored = bd.json("restore", issue)
    assert restored["description"] == long and restored["notes"] == "some notes"  # type: ignore[index]
    assert "compaction_level" not in restored  # type: ignore[operator]
    again = bd("restore", issue, check=False)
    assert again.returncode == 1 and "no compaction snapshot" in again.stderr
    assert bd.json("compact", "--stats") == {"tier1": {"candidates": 0, "total_size": 0},
                                             "tier2": {"candidates": 0, "total_size": 0}}
    assert bd("compact", check=False).returncode == 1
    auto = bd("compact", "--auto", check=False)
    assert auto.returncode == 1 and "API key" in auto.stderr


def test_compact_prune_removes_expired_tombstones_everywhere(bd: Bd) -> None:
    gone = bd("q", "Gone").stdout.strip()
    kept = bd("q", "Kept").stdout.strip()
    bd("delete", gone, "--force")
    assert bd.json("compact", "--prune")["pruned_count"] == 0  # type: ignore[index]
    preview = bd.json("admin", "compact", "--prune", "--older-than", "0", "--dry-run")
    assert preview["would_prune"] == [gone]  # type: ignore[index]
    assert bd.json("admin", "compact", "--prune", "--older-than", "0")["pruned"] == [gone]  # type: ignore[index]
    bd("sync", "--flush-only")  # through a daemon (BD_TEST_DAEMON=1) the export follows the reply
    text = (bd.cwd / ".beads" / "issues.jsonl").read_text()
    assert gone not in text and kept in text
    assert bd("show", gone, check=False).returncode == 1


def test_rename_prefix_rewrites_ids_edges_text_and_the_jsonl(bd: Bd) -> None:
    a = bd("q", "First").stdout.strip()
    b = bd.json("create", f"Second, after {a}", "-d", f"needs {a}; not bold-{a}")["id"]  # type: ignore[index]
    bd("dep", "add", b, a)
    bd("comment", a, f"see {b}")
    preview = bd.json("rename-prefix", "proj", "--dry-run")
    assert preview["issues"] == 2 and preview["dry_run"] is True  # type: ignore[index]
    assert bd.json("show", a)[0]["id"] == a  # type: ignore[index]
    bad = bd("rename-prefix", "Bad_Prefix", check=False)
    assert bad.returncode == 1 and "invalid prefix" in bad.stderr
    bd("rename-prefix", "proj")
    na, nb = a.replace("test-", "proj-"), b.replace("test-", "proj-")
    shown = bd.json("show", nb)[0]  # type: ignore[index]
    assert shown["title"] == f"Second, after {na}"
    assert shown["description"] == f"needs {na}; not bold-{a}"  # only whole references change
    assert [d["id"] for d in shown["dependencies"]] == [na]
    assert bd.json("comments", na)[0]["text"] == f"see {nb}"  # type: ignore[index]
    assert bd("show", a, check=False).returncode == 1
    bd("sync", "--flush-only")  # through a daemon (BD_TEST_DAEMON=1) the export follows the reply
    lines = (bd.cwd / ".beads" / "issues.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted([na, nb])
    assert bd("q", "Third").stdout.startswith("proj-")


def test_admin_reset_previews_then_removes_beads_and_its_hooks(bd: Bd) -> None:
    bd("hooks", "install")
    preview = bd.json("admin", "reset")
    kinds = [i["type"] for i in preview["items"]]  # type: ignore[index]
    assert preview["dry_run"] is True and "directory" in kinds and "hook" in kinds  # type: ignore[index]
    assert (bd.cwd / ".beads").is_dir()
    done = bd.json("admin", "reset", "--force")
    assert done["reset"] is True  # type: ignore[index]
    assert not (bd.cwd / ".beads").exists()
    assert not (bd.cwd / ".git" / "hooks" / "pre-commit").exists()
