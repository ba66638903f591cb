"""``bd doctor`` (spec §10.2) on a real workspace with real git: each seeded fault is found, ``--fix --yes``
repairs it, ``--dry-run`` and a missing terminal change nothing, and a healthy workspace reports ok.

``bd doctor`` always runs directly, and these tests seed daemon files and locks themselves: a daemon
the suite may have started (``BD_TEST_DAEMON=1``) is stopped first, its pending export written."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from beads import __version__
from conftest import Bd


@pytest.fixture(autouse=True)
def no_daemon(bd: Bd) -> None:
    bd("daemon", "stop", check=False)


def doctor(bd: Bd, *flags: str) -> tuple[int, dict[str, dict], dict]:
    result = bd("doctor", "--json", *flags, check=False)
    doc = json.loads(result.stdout)
    assert result.returncode == (0 if doc["overall_ok"] else 1), result
    return result.returncode, {c["name"]: c for c in doc["checks"]}, doc


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def test_a_healthy_workspace_reports_every_check_ok(bd: Bd, repo: Path) -> None:
    bd("create", "Healthy")
    rc, checks, doc = doctor(bd)
    assert rc == 0 and doc["overall_ok"] is True
    assert {c["status"] for c in checks.values()} == {"ok"}, checks
    assert doc["path"] == str(repo) and doc["cli_version"] == __version__
    for name in ("Installation", "Database Integrity", "Schema Compatibility", "DB-JSONL Sync", "JSONL Integrity",
                 "Git Hooks", "Git Merge Driver", "Gitignore", "Daemon Health", "Dependency Cycles",
                 "Orphaned Dependencies", "Expired Tombstones", "Git Locks"):
        assert name in checks
    text = bd("doctor").stdout
    assert "✓ Installation" in text and "0 error(s)" in text


def test_a_stale_socket_and_pid_file_are_found_and_removed(bd: Bd, repo: Path) -> None:
    beads = repo / ".beads"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(beads / "bd.sock"))
    sock.close()  # the file stays; nobody answers on it
    (beads / "daemon.pid").write_text(f"{dead_pid()}\n")
    rc, checks, _ = doctor(bd)
    assert rc == 1 and checks["Daemon Health"]["status"] == "error"
    assert "bd.sock" in checks["Daemon Health"]["message"] and "daemon.pid" in checks["Daemon Health"]["message"]
    rc, checks, doc = doctor(bd, "--fix", "--yes")
    assert rc == 0 and checks["Daemon Health"]["status"] == "ok", doc
    assert not (beads / "bd.sock").exists() and not (beads / "daemon.pid").exists()


def test_a_socket_a_live_process_answers_on_is_not_stale(bd: Bd, repo: Path) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(repo / ".beads" / "bd.sock"))
    server.listen(4)
    try:
        _, checks, _ = doctor(bd, "--fix", "--yes")
        assert checks["Daemon Health"]["status"] == "ok"
        assert (repo / ".beads" / "bd.sock").exists()
    finally:
        server.close()


def test_a_daemon_of_another_version_is_reported_outdated(bd: Bd, repo: Path) -> None:
    import fcntl

    lock = repo / ".beads" / "daemon.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "version": "0.0.1"}))
    fd = os.open(lock, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running daemon holds it
    try:
        _, checks, _ = doctor(bd)
        assert checks["Daemon Health"]["status"] == "warning"
        assert "0.0.1" in checks["Daemon Health"]["message"] and "fix" in checks["Daemon Health"]
    finally:
        os.close(fd)


def test_a_missing_hook_is_found_and_installed_again(bd: Bd, repo: Path) -> None:
    (repo / ".git" / "hooks" / "pre-commit").unlink()
    rc, checks, _ = doctor(bd)
    assert checks["Git Hooks"]["status"] == "warning" and "pre-commit" in checks["Git Hooks"]["message"]
    _, checks, _ = doctor(bd, "--fix", "--yes")
    assert checks["Git Hooks"]["status"] == "ok"
    assert "bd" in (repo / ".git" / "hooks" / "pre-commit").read_text()


def test_a_missing_merge_driver_is_registered_again(bd: Bd, repo: Path) -> None:
    subprocess.run(["git", "config", "--unset", "merge.beads.driver"], cwd=repo, check=True, timeout=60)
    _, checks, _ = doctor(bd)
    assert checks["Git Merge Driver"]["status"] == "warning"
    _, checks, _ = doctor(bd, "--fix", "--yes")
    assert checks["Git Merge Driver"]["status"] == "ok"


def test_a_jsonl_behind_the_database_is_found_and_flushed(bd: Bd, repo: Path) -> None:
    bd("create", "Flushed")
    issue = bd.json("create", "Not flushed", "--no-auto-flush")["id"]  # type: ignore[index]
    jsonl = repo / ".beads" / "issues.jsonl"
    assert issue not in jsonl.read_text()
    _, checks, _ = doctor(bd)
    assert checks["DB-JSONL Sync"]["status"] == "warning"
    assert "not in the JSONL" in checks["DB-JSONL Sync"]["message"]
    _, checks, _ = doctor(bd, "--fix", "--yes")
    assert checks["DB-JSONL Sync"]["status"] == "ok"
    assert issue in jsonl.read_text()


def test_an_orphaned_dependency_is_found_and_removed(bd: Bd, repo: Path) -> None:
    issue = bd.json("create", "Has a dangling edge")["id"]  # type: ignore[index]
    conn = sqlite3.connect(repo / ".beads" / "beads.db")
    with conn:
        conn.execute("INSERT INTO dependencies (issue_id, depends_on_id, type, created_at) "
                     "VALUES (?, 'test-gone', 'blocks', '2026-01-01T00:00:00Z'), "
                     "(?, 'external:other:cap', 'blocks', '2026-01-01T00:00:00Z')", (issue, issue))
    conn.close()
    _, checks, _ = doctor(bd)
    orphan = checks["Orphaned Dependencies"]
    assert orphan["status"] == "warning" and "test-gone" in orphan["detail"] and "external" not in orphan["detail"]
    _, checks, _ = doctor(bd, "--fix", "--yes")
    assert checks["Orphaned Dependencies"]["status"] == "ok" and checks["DB-JSONL Sync"]["status"] == "ok"
    line = next(json.loads(x) for x in (repo / ".beads" / "issues.jsonl").read_text().splitlines() if issue in x)
    assert [d["depends_on_id"] for d in line["dependencies"]] == ["external:other:cap"]


def test_an_invalid_jsonl_record_is_found_and_set_aside(bd: Bd, repo: Path) -> None:
    bd("create", "Good one")
    jsonl = repo / ".beads" / "issues.jsonl"
    good = json.loads(jsonl.read_text().splitlines()[0])
    newcomer = dict(good, id="test-new1", title="Arrived with the bad line")
    bad = dict(good, id="test-bad1", priority="high")
    with jsonl.open("a") as fh:
        fh.write(json.dumps(newcomer) + "\n" + json.dumps(bad) + "\n{not json\n")
    rc, checks, _ = doctor(bd)
    integrity = checks["JSONL Integrity"]
    assert rc == 1 and integrity["status"] == "error" and "2 bad line(s)" in integrity["message"]
    assert "priority" in integrity["detail"] and "invalid JSON" in integrity["detail"]
    rc, checks, doc = doctor(bd, "--fix", "--yes")
    assert rc == 0 and checks["JSONL Integrity"]["status"] == "ok", doc
    assert checks["DB-JSONL Sync"]["status"] == "ok"
    assert "test-new1" in jsonl.read_text() and "test-bad1" not in jsonl.read_text()
    rejected = (repo / ".beads" / "issues.jsonl.rejected").read_text()
    assert "test-bad1" in rejected and "{not json" in rejected
    assert bd.json("show", "test-new1")[0]["title"] == "Arrived with the bad line"  # type: ignore[index]


def test_conflict_markers_and_duplicate_ids_are_reported(bd: Bd, repo: Path) -> None:
    bd("create", "One")
    jsonl = repo / ".beads" / "issues.jsonl"
    line = jsonl.read_text().splitlines()[0]
    jsonl.write_text(f"<<<<<<< HEAD\n{line}\n=======\n{line}\n>>>>>>> theirs\n")
    _, checks, _ = doctor(bd)
    detail = checks["JSONL Integrity"]["detail"]
    assert "conflict marker" in detail and "duplicate id" in detail
    _, checks, _ = doctor(bd, "--fix", "--yes")
    assert checks["JSONL Integrity"]["status"] == "ok"
    assert "<<<<<<<" not in jsonl.read_text()


def test_a_leftover_index_lock_is_found_and_removed(bd: Bd, repo: Path) -> None:
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    rc, checks, _ = doctor(bd)
    assert rc == 1 and checks["Git Locks"]["status"] == "error"
    _, checks, _ = doctor(bd, "--fix", "--yes")
    assert checks["Git Locks"]["status"] == "ok" and not lock.exists()


def test_a_missing_gitignore_pattern_is_added(bd: Bd, repo: Path) -> None:
    gi = repo / ".beads" / ".gitignore"
    gi.write_text("\n".join(line for line in gi.read_text().splitlines() if line.strip() != "*.db") + "\n")
    _, checks, _ = doctor(bd)
    assert checks["Gitignore"]["status"] == "warning" and "*.db" in checks["Gitignore"]["detail"]
    _, checks, _ = doctor(bd, "--fix", "--yes")
    assert checks["Gitignore"]["status"] == "ok" and "*.db" in gi.read_text().split()


def test_dry_run_and_no_terminal_only_describe_the_fixes(bd: Bd, repo: Path) -> None:
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    rc, _, doc = doctor(bd, "--fix", "--dry-run")
    assert rc == 1 and lock.exists()
    assert doc["fixes"] == [{"name": "Git Locks", "fix": "remove it", "applied": False}]
    text = bd("doctor", "--fix", "--dry-run", check=False).stdout
    assert "Would fix Git Locks: remove it" in text
    result = bd("doctor", "--fix", check=False)  # stdin is not a terminal here: nothing is applied
    assert result.returncode == 1 and lock.exists() and "--yes" in result.stderr


def test_dependency_cycles_are_errors_without_an_automatic_fix(bd: Bd, repo: Path) -> None:
    a = bd.json("create", "A")["id"]  # type: ignore[index]
    b = bd.json("create", "B")["id"]  # type: ignore[index]
    bd("dep", "add", a, b)
    conn = sqlite3.connect(repo / ".beads" / "beads.db")
    with conn:
        conn.execute("INSERT INTO dependencies (issue_id, depends_on_id, type, created_at) "
                     "VALUES (?, ?, 'blocks', '2026-01-01T00:00:00Z')", (b, a))
    conn.close()
    rc, checks, _ = doctor(bd)
    assert rc == 1 and checks["Dependency Cycles"]["status"] == "error"
    assert "bd dep remove" in checks["Dependency Cycles"]["fix"]


def test_outside_a_workspace_installation_is_the_error(tmp_path: Path) -> None:
    result = Bd(tmp_path)("doctor", "--json", check=False)
    doc = json.loads(result.stdout)
    assert result.returncode == 1 and doc["checks"][0]["name"] == "Installation"
    assert doc["checks"][0]["status"] == "error" and "bd init" in doc["checks"][0]["fix"]


@pytest.mark.parametrize("where", ["path", "cwd"])
def test_doctor_takes_the_project_path_as_an_argument(bd: Bd, repo: Path, tmp_path: Path, where: str) -> None:
    runner = Bd(tmp_path) if where == "path" else bd
    args = ("doctor", "--json", str(repo)) if where == "path" else ("doctor", "--json")
    assert runner(*args).json()["path"] == str(repo)  # type: ignore[index]


def test_expired_tombstones_are_found_and_purged(bd: Bd, repo: Path) -> None:
    old = bd.json("create", "Deleted long ago")["id"]  # type: ignore[index]
    recent = bd.json("create", "Deleted today")["id"]  # type: ignore[index]
    bd("delete", old, recent, "--force")
    conn = sqlite3.connect(repo / ".beads" / "beads.db")
    with conn:
        conn.execute("UPDATE issues SET deleted_at = '2020-01-01T00:00:00Z' WHERE id = ?", (old,))
    conn.close()
    _, checks, _ = doctor(bd)
    assert checks["Expired Tombstones"]["status"] == "warning" and checks["Expired Tombstones"]["detail"] == old
    _, checks, doc = doctor(bd, "--fix", "--yes")
    assert checks["Expired Tombstones"]["status"] == "ok" and checks["DB-JSONL Sync"]["status"] == "ok", doc
    text = (repo / ".beads" / "issues.jsonl").read_text()
    assert old not in text and recent in text


@pytest.mark.parametrize("answer, removed", [("y", True), ("n", False)])
def test_fix_asks_on_a_terminal_and_applies_only_after_a_yes(bd: Bd, repo: Path, answer: str,
                                                             removed: bool) -> None:
    import pty
    import select

    from conftest import BD

    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    master, slave = pty.openpty()
    proc = subprocess.Popen([BD, "doctor", "--fix"], cwd=repo, stdin=slave, stderr=slave, stdout=subprocess.PIPE,
                            text=True)
    os.close(slave)
    seen = b""
    try:
        while b"[y/N]" not in seen:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, f"no prompt: {seen!r}"
            seen += os.read(master, 4096)
        assert b"Git Locks: remove it" in seen
        os.write(master, f"{answer}\n".encode())
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        os.close(master)
    assert lock.exists() is not removed
    assert (proc.returncode == 0) is removed
    assert ("Fixed Git Locks" in out) is removed


def test_a_corrupt_database_is_set_aside_and_rebuilt_from_the_jsonl(bd: Bd, repo: Path) -> None:
    first = bd.json("create", "Survives", "-l", "keep")["id"]  # type: ignore[index]
    second = bd.json("create", "Also survives")["id"]  # type: ignore[index]
    bd("dep", "add", second, first)
    db = repo / ".beads" / "beads.db"
    db.write_bytes(b"not a database" * 1000)
    rc, checks, _ = doctor(bd)
    assert rc == 1 and checks["Database Integrity"]["status"] == "error"
    assert checks["Orphaned Dependencies"]["status"] == "warning"  # skipped, not crashed
    rc, checks, doc = doctor(bd, "--fix", "--yes")
    assert rc == 0 and {c["status"] for c in checks.values()} == {"ok"}, doc
    assert [f for f in doc["fixes"] if f["name"] == "Database Integrity"][0]["applied"] is True
    assert len(list((repo / ".beads").glob("beads.db.corrupt-*"))) == 1
    shown = bd.json("show", second)[0]  # type: ignore[index]
    assert shown["title"] == "Also survives" and [d["id"] for d in shown["dependencies"]] == [first]
    assert bd.json("show", first)[0]["labels"] == ["keep"]  # type: ignore[index]
