"""bd on a read-only file system and on an unreadable database: one clear line, never a traceback.

Agents often run in sandboxes whose checkout is mounted read-only. Reads must keep
working there; writes must fail cleanly and change nothing. As root (CI), permission
bits do not stop us, so the tests use the real kernel mechanisms: a read-only bind
mount in a private mount namespace, and a capability set without DAC override.
Without root, plain permissions give the same conditions.

These are direct mode's behaviour (the read-only mount exists only in the client's own
mount namespace, which a daemon does not share): the fixture stops a daemon the suite
may have started (``BD_TEST_DAEMON=1``; stopping flushes its pending export) and every
command runs with ``BEADS_NO_DAEMON=1``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.conftest import BD, Bd

ROOT = os.geteuid() == 0


def _tool_or_fail(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required for this test in CI")
        pytest.skip(f"{name} not available")
    return path


DIRECT = dict(os.environ, BEADS_NO_DAEMON="1")


def run_on_readonly_fs(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `bd args` in direct mode with `project` read-only (bind mount as root, chmod otherwise)."""
    if ROOT:
        unshare = _tool_or_fail("unshare")
        p = shlex.quote(str(project))
        script = (f"mount --bind {p} {p} && mount -o remount,ro,bind {p} {p} && cd {p} && "
                  f"exec {shlex.quote(BD)} {' '.join(shlex.quote(a) for a in args)}")
        return subprocess.run([unshare, "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60,
                              env=DIRECT)
    paths = [project, *project.rglob("*")]
    modes = {path: path.stat().st_mode for path in paths}
    try:
        for path in paths:
            path.chmod(modes[path] & ~0o222)
        return subprocess.run([BD, *args], cwd=project, capture_output=True, text=True, timeout=60, env=DIRECT)
    finally:
        for path in reversed(paths):
            path.chmod(modes[path])


def run_without_file_access(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `bd args` so that permission bits apply even to root."""
    cmd = [BD, *args]
    if ROOT:
        cmd = [_tool_or_fail("setpriv"), "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=60, env=DIRECT)


@pytest.fixture
def project(bd: Bd) -> Path:
    bd("create", "Existing issue", "-p", "1")
    bd("list")  # a clean state: the JSONL is flushed and the WAL checkpointed by close
    bd("daemon", "stop", check=False)  # direct mode from here on (a daemon's pending export is written first)
    return bd.cwd


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


def test_reads_work_on_a_read_only_file_system(project: Path) -> None:
    result = run_on_readonly_fs(project, "list", "--json")
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert [i["title"] for i in json.loads(result.stdout)] == ["Existing issue"]
    ready = run_on_readonly_fs(project, "ready", "--json")
    assert ready.returncode == 0 and len(json.loads(ready.stdout)) == 1


@pytest.mark.parametrize("command", [("create", "New issue"), ("q", "Quick"), ("update", "--claim"),
                                     ("close",), ("label", "add"), ("comment",)])
def test_a_write_on_a_read_only_file_system_is_one_clear_line(project: Path, bd: Bd, command: tuple[str, ...]) -> None:
    issue_id = bd.json("list")[0]["id"]  # type: ignore[index]
    before = (project / ".beads" / "issues.jsonl").read_bytes()
    args = list(command)
    if command[0] in ("update", "close", "comment"):
        args.insert(1, issue_id)
    if command[0] == "label":
        args += [issue_id, "urgent"]
    if command[0] == "comment":
        args.append("hello")
    result = run_on_readonly_fs(project, *args)
    _no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot write to database {project / '.beads' / 'beads.db'}: the file system is read-only"]
    assert (project / ".beads" / "issues.jsonl").read_bytes() == before
    assert len(bd.json("list")) == 1  # type: ignore[arg-type]


def test_a_write_on_a_read_only_file_system_with_json_is_an_error_object(project: Path) -> None:
    result = run_on_readonly_fs(project, "create", "x", "--json")
    assert result.returncode == 1
    assert "read-only" in json.loads(result.stdout)["error"]


def test_an_unreadable_database_is_one_clear_line(project: Path) -> None:
    db = project / ".beads" / "beads.db"
    db.chmod(0)
    try:
        result = run_without_file_access(project, "show", "x")
    finally:
        db.chmod(0o644)
    _no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: cannot open database {db}: unable to open database file"]
