"""Maintenance commands through the real ``bd``: duplicates, orphans, admin cleanup."""

from __future__ import annotations

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
