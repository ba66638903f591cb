"""Two `bd sync` in one clone serialise; a sync killed with SIGKILL never blocks the next one.

Real git, a real bare remote, the installed `bd`. A sync is held at a chosen point with a git
hook (a real mechanism: git runs it while it holds its index lock) that waits on a FIFO the
test opens when it is done; no sleeps. The random-moment kills pick an instant at random,
then the next `bd sync` must succeed: they run `BD_SYNC_KILLS` times (a few by default).
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_helpers import BD, git, run_bd
from test_sync_fuzz import bd_on_path  # noqa: F401  (autouse: hooks and the merge driver find our bd)
from test_sync_under_load import make_remote, parse_jsonl

KILLS = int(os.environ.get("BD_SYNC_KILLS", "4"))
STARTED: list[subprocess.Popen[str]] = []

GATE_HOOK = """#!/bin/sh
# Test gate: hold this git command (and the bd sync running it) until the test opens the FIFO.
[ -n "$BD_TEST_GATE" ] || exit 0
[ -e "$BD_TEST_GATE.entered" ] && exit 0  # once
if [ -n "$BD_TEST_GATE_MERGE_ONLY" ]; then
    [ -f "$(git rev-parse --git-dir)/MERGE_HEAD" ] || exit 0
fi
: > "$BD_TEST_GATE.entered"
read line < "$BD_TEST_GATE"
exit 0
"""


@pytest.fixture(autouse=True)
def no_sync_left_behind() -> Iterator[None]:
    """A failing test must not leave a sync (or its gate hook, blocked on a FIFO) running."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def wait_for(condition, what: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Bounded polling on a condition (and fail at once if ``proc`` exited meanwhile)."""
    deadline = time.monotonic() + timeout
    done = threading.Event()
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited ({proc.returncode}) first:\n"
                                 f"{proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        done.wait(0.02)


def gate(clone: Path, hook: str, tmp: Path) -> Path:
    """Install the gate as ``hook`` in a hooks directory of the test's own; returns the FIFO."""
    hooks = tmp / f"hooks-{clone.name}"
    hooks.mkdir(exist_ok=True)
    script = hooks / hook
    script.write_text(GATE_HOOK)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    git(clone, "config", "core.hooksPath", str(hooks))
    fifo = tmp / f"gate-{clone.name}"
    if not fifo.exists():
        os.mkfifo(fifo)
    return fifo


def start_sync(clone: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = dict(os.environ)
    full.update(env or {})
    proc = subprocess.Popen([BD, "sync"], cwd=clone, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    STARTED.append(proc)
    return proc


def held_sync(clone: Path, tmp: Path, **env: str) -> tuple[subprocess.Popen[str], Path]:
    """A `bd sync` held by the gate in its pre-commit hook; returns it and the FIFO that releases it."""
    fifo = gate(clone, "pre-commit", tmp)
    proc = start_sync(clone, {"BD_TEST_GATE": str(fifo), **env})
    wait_for(Path(f"{fifo}.entered").exists, "the sync to reach the gate", proc)
    return proc, fifo


def open_gate(fifo: Path) -> None:
    fd = os.open(fifo, os.O_WRONLY)
    os.write(fd, b"go\n")
    os.close(fd)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=180)
    return proc.returncode, out


def create(clone: Path, title: str) -> str:
    proc = run_bd("create", title, "--silent", cwd=clone)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def sync_ok(clone: Path) -> str:
    proc = run_bd("sync", cwd=clone, timeout=180)
    assert proc.returncode == 0, f"bd sync in {clone.name} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stderr


def ids_everywhere(remote: Path, clones: list[Path]) -> dict[str, set[str]]:
    out = {"remote": {r["id"] for r in parse_jsonl(git(remote, "show", "main:.beads/issues.jsonl").stdout)}}
    for c in clones:
        out[f"{c.name} database"] = {r["id"] for r in parse_jsonl(run_bd("export", cwd=c).stdout)}
        out[f"{c.name} JSONL"] = {r["id"] for r in parse_jsonl((c / ".beads/issues.jsonl").read_text())}
    return out


def test_two_syncs_at_once_serialise(tmp_path: Path) -> None:
    remote, [a] = make_remote(tmp_path, ["a"])
    first = create(a, "before both syncs")
    one, fifo = held_sync(a, tmp_path)
    second = create(a, "written while the first sync commits")  # the writer is not held up
    two = start_sync(a)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(two.stdout or ()), daemon=True)
    reader.start()
    wait_for(lambda: any("Waiting for another bd sync" in ln for ln in lines), "the second sync to wait", two)
    open_gate(fifo)
    code_one, out_one = finish(one)
    two.wait(180)
    reader.join(10)
    assert code_one == 0, out_one
    assert two.returncode == 0, "".join(lines)
    for where, ids in ids_everywhere(remote, [a]).items():
        assert {first, second} <= ids, where


def test_a_sync_killed_while_git_holds_the_index_lock_does_not_block_the_next(tmp_path: Path) -> None:
    remote, [a] = make_remote(tmp_path, ["a"])
    issue = create(a, "committed by the sync that dies")
    proc, _ = held_sync(a, tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert (a / ".git" / "index.lock").exists()
    later = create(a, "written after the kill")
    out = sync_ok(a)
    assert "Removed .git/index.lock left by an interrupted bd sync" in out
    for where, ids in ids_everywhere(remote, [a]).items():
        assert {issue, later} <= ids, where


def test_a_sync_killed_mid_merge_is_undone_and_redone_by_the_next(tmp_path: Path) -> None:
    remote, [a, b] = make_remote(tmp_path, ["a", "b"])
    shared = create(a, "edited on both sides")
    sync_ok(a)
    sync_ok(b)
    for clone, title in ((a, "title from a"), (b, "title from b")):
        assert run_bd("update", shared, "--title", title, cwd=clone).returncode == 0
    from_b = create(b, "from b")
    sync_ok(b)
    # A merge driver that gives up leaves git's conflict, so bd sync concludes the merge itself: hold it there.
    git(a, "config", "merge.beads.driver", "false")
    proc, _ = held_sync(a, tmp_path, BD_TEST_GATE_MERGE_ONLY="1")  # held as it concludes the merge
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert (a / ".git" / "MERGE_HEAD").exists()
    later = create(a, "written into the interrupted merge")  # its flush rewrites the merged file
    out = sync_ok(a)
    assert "Undid the merge an interrupted bd sync left in progress" in out
    assert not (a / ".git" / "MERGE_HEAD").exists()
    sync_ok(b)
    for where, ids in ids_everywhere(remote, [a, b]).items():
        assert {shared, from_b, later} <= ids, where


def test_a_merge_the_user_started_is_not_touched(tmp_path: Path) -> None:
    remote, [a, b] = make_remote(tmp_path, ["a", "b"])
    for clone, text in ((a, "a\n"), (b, "b\n")):
        (clone / "code.txt").write_text(text)
        git(clone, "add", "code.txt")
        git(clone, "commit", "-q", "-m", "code")
    git(b, "push", "-q")
    git(a, "pull", "-q", "--no-rebase", check=False)
    assert (a / ".git" / "MERGE_HEAD").exists()
    proc = run_bd("sync", cwd=a)
    assert proc.returncode == 1 and "a git merge is in progress" in proc.stderr
    assert (a / ".git" / "MERGE_HEAD").exists()


def test_syncs_killed_at_random_moments_never_block_the_next(tmp_path: Path) -> None:
    remote, [a, b] = make_remote(tmp_path, ["a", "b"])
    rng = random.Random(int(os.environ.get("BD_SYNC_KILL_SEED", "7")))
    made: set[str] = set()
    started = time.monotonic()
    made.add(create(a, "timing run"))
    sync_ok(a)
    full = time.monotonic() - started
    pause = threading.Event()  # never set: its wait() is the random kill instant, not a synchronisation
    for n in range(KILLS):
        made.add(create(b, f"from b {n}"))
        sync_ok(b)
        made.add(create(a, f"from a {n}"))
        proc = start_sync(a)
        pause.wait(rng.uniform(0, full))
        group = rng.random() < 0.5  # the whole process group, or bd alone (its git runs on)
        try:
            (os.killpg if group else os.kill)(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        killed_output, _ = proc.communicate(timeout=180)
        left = (a / ".git" / "bd-sync.lock").read_text()
        after = run_bd("sync", cwd=a, timeout=180)
        assert after.returncode == 0, (
            f"kill {n} ({'group' if group else 'bd alone'}), the killed sync said:\n{killed_output}\n"
            f"the next one:\n{after.stderr}\nstate: {left!r}\n"
            f"HEAD {git(a, 'rev-parse', 'HEAD').stdout.strip()}, "
            f"MERGE_HEAD {git(a, 'rev-parse', '-q', '--verify', 'MERGE_HEAD', check=False).stdout.strip()}\n"
            f"{git(a, 'status', '--short').stdout}")
        assert "Traceback" not in after.stderr
    sync_ok(b)
    for where, ids in ids_everywhere(remote, [a, b]).items():
        assert made <= ids, f"{where} lacks {sorted(made - ids)}"


def test_a_failed_push_says_truly_whether_the_database_matches_the_jsonl(tmp_path: Path) -> None:
    remote, [a] = make_remote(tmp_path, ["a"])
    issue = create(a, "before")
    hooks = tmp_path / "hooks-push"
    hooks.mkdir()
    script = hooks / "pre-push"
    # An agent writes (and does not flush) while the sync pushes; then the push is refused.
    script.write_text(f'#!/bin/sh\nbd --no-auto-flush update {issue} --title "during the push" >/dev/null 2>&1\n'
                      'exit 1\n')
    script.chmod(0o755)
    git(a, "config", "core.hooksPath", str(hooks))
    proc = run_bd("sync", cwd=a)
    assert proc.returncode == 1 and "git push failed" in proc.stderr, proc.stderr
    assert "the database matches the JSONL" not in proc.stderr
    assert "some database changes are not in the JSONL yet (the next sync writes them)" in proc.stderr
    git(a, "config", "--unset", "core.hooksPath")
    sync_ok(a)
    records = {r["id"]: r for r in parse_jsonl(git(remote, "show", "main:.beads/issues.jsonl").stdout)}
    assert records[issue]["title"] == "during the push"


def test_the_export_lock_is_reentrant_in_a_thread_and_exclusive_across_threads(tmp_path: Path) -> None:
    import fcntl

    from beads.errors import Locked
    from beads.sync.export import FileLock

    outcome: list[str] = []

    def other_thread() -> None:
        try:
            with FileLock(str(tmp_path), timeout=0.05):
                outcome.append("taken")
        except Locked:
            outcome.append("locked")

    with FileLock(str(tmp_path)) as outer:
        with FileLock(str(tmp_path)) as inner:  # sync holds it and calls the flush, which takes it again
            assert inner.fd == outer.fd
        t = threading.Thread(target=other_thread)
        t.start()
        t.join(30)
        assert outcome == ["locked"]
        probe = os.open(tmp_path / "jsonl.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # still held after the inner exit
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    probe = os.open(tmp_path / "jsonl.lock", os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the outermost exit
    finally:
        os.close(probe)
