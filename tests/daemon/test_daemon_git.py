"""The daemon's git work on real repositories: --auto-commit, --auto-push, --auto-pull, and `bd sync` beside it.

Each test has a bare "remote" and one or two clones of it, each initialised with `bd`
and pushed; the daemon is the real one on a real socket, and every wait is bounded.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import Running, eventually, start

from conftest import Bd, git

FAST = {"BEADS_DEBOUNCE_MS": "100"}


def _clone(remote: Path, where: Path, *, init: bool) -> Bd:
    git(where.parent, "clone", "-q", str(remote), where.name)
    git(where, "config", "user.name", "Tester")
    git(where, "config", "user.email", "tester@example.com")
    bd = Bd(where)
    if init:
        bd("init", "--prefix", "test", "--quiet")
        git(where, "add", "-A")
        git(where, "commit", "-q", "-m", "init")
        git(where, "push", "-q", "-u", "origin", "main")
    else:
        bd("init", "--prefix", "test", "--quiet")  # the clone's database, from the JSONL git brought
    return bd


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(path))
    return path


@pytest.fixture
def clone(remote: Path, tmp_path: Path) -> Bd:
    return _clone(remote, tmp_path / "a", init=True)


def _head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).stdout.strip()


def _ids_at(repo: Path, ref: str) -> set[str]:
    text = git(repo, "show", f"{ref}:.beads/issues.jsonl", check=False).stdout
    return {json.loads(line)["id"] for line in text.splitlines() if line.strip()}


def _commits(repo: Path, grep: str) -> list[str]:
    return git(repo, "log", "--format=%s", f"--grep={grep}").stdout.splitlines()


def _git_status(daemon: Running) -> dict[str, Any]:
    return daemon.status()["git"]


def test_a_burst_of_writes_makes_one_commit_which_auto_push_pushes(clone: Bd, remote: Path) -> None:
    daemon = start(clone, "--auto-commit", "--auto-push", env={"BEADS_DEBOUNCE_MS": "300"})
    try:
        raw = daemon.raw()
        created = raw.call("batch", {"operations": [{"operation": "create", "args": {"title": f"burst {i}"}}
                                                    for i in range(10)]})
        assert created["success"], created
        for i in range(10):  # and ten more, one request each, as fast as they come
            assert raw.call("create", {"title": f"single {i}"})["success"]
        raw.close()
        ids = {i["id"] for i in clone.json("list", "--limit", "0")}  # type: ignore[union-attr]
        assert len(ids) == 20
        eventually(lambda: _ids_at(remote, "main") == ids, what="the pushed JSONL to hold every issue")
        assert _head(clone.cwd) == _head(remote, "main")
        commits = _commits(clone.cwd, "bd daemon export:")
        assert 1 <= len(commits) <= 3, commits  # one per quiet period, not one per write
        status = daemon.status()
        assert status["auto_commit"] and status["auto_push"] and not status["auto_pull"]
        assert status["git"]["commits"] == len(commits) and status["git"]["pushes"] >= 1
        assert status["git"]["last_commit"] and status["git"]["last_push"] and status["git"]["failures"] == 0
        assert git(clone.cwd, "status", "--porcelain", ".beads/issues.jsonl").stdout == ""
        text = clone("daemon", "status").stdout
        assert "Auto-Commit: yes" in text and "Auto-Push: yes" in text and "Last commit: 20" in text
    finally:
        daemon.stop()


def test_without_the_flags_the_daemon_does_no_git_work_and_the_config_keys_turn_it_on(clone: Bd) -> None:
    daemon = start(clone, env=FAST)
    before = _head(clone.cwd)
    try:
        clone("create", "Not committed")
        eventually(lambda: daemon.events()["exports"] >= 1, what="the export")
        status = daemon.status()
        assert status["git"] is None and not status["auto_commit"]
        assert _head(clone.cwd) == before
    finally:
        daemon.stop()
    clone("config", "set", "daemon.auto_commit", "true")
    daemon = start(clone, env=FAST)
    try:
        assert daemon.status()["auto_commit"] and not daemon.status()["auto_push"]
        clone("create", "Committed")
        eventually(lambda: _commits(clone.cwd, "bd daemon export:"), what="the daemon's commit")
        assert "Committed" in git(clone.cwd, "show", "HEAD:.beads/issues.jsonl").stdout
        assert _head(clone.cwd, "origin/main") == before  # no auto-push: nothing pushed
    finally:
        daemon.stop()


def test_a_commit_still_owed_at_shutdown_is_made_before_the_daemon_exits(clone: Bd) -> None:
    daemon = start(clone, "--auto-commit", env={"BEADS_DEBOUNCE_MS": "5000"})
    clone("create", "Last words")
    daemon.stop()  # long before the debounce: the export and its commit are made on the way out
    assert "Last words" in git(clone.cwd, "show", "HEAD:.beads/issues.jsonl").stdout
    assert _commits(clone.cwd, "bd daemon export:")


def test_auto_pull_merges_what_another_clone_pushed_on_a_nudge_and_on_its_timer(remote: Path, clone: Bd,
                                                                            tmp_path: Path) -> None:
    other = _clone(remote, tmp_path / "b", init=False)
    daemon = start(clone, "--auto-pull", "--auto-push", env=FAST)  # timer: 30 s, longer than this test
    try:
        other("create", "From the other clone")
        other("sync")
        clone("daemon-event", "import-needed")  # what the post-merge/post-checkout hooks send
        eventually(lambda: any(i["title"] == "From the other clone" for i in clone.json("list")),  # type: ignore[union-attr]
                   what="the pulled issue in bd list")
        git_status = eventually(lambda: (s := _git_status(daemon)) and s["pulls"] >= 1 and s, what="a pull")
        assert git_status["last_pull"] and git_status["failures"] == 0
        assert _commits(clone.cwd, "bd daemon sync:") or _head(clone.cwd) == _head(remote, "main")
    finally:
        daemon.stop()
    daemon = start(clone, "--auto-pull", env={**FAST, "BD_REMOTE_SYNC_INTERVAL": "0.3s"})
    try:
        assert daemon.status()["remote_sync_interval"] == "0.3s"
        other("create", "Second from the other clone")
        other("sync")
        eventually(lambda: any(i["title"] == "Second from the other clone"
                               for i in clone.json("list")),  # type: ignore[union-attr]
                   what="the issue the timer's pull brought")
    finally:
        daemon.stop()


def test_bd_sync_and_the_daemons_auto_commit_at_the_same_time_never_fail_and_lose_nothing(clone: Bd,
                                                                                       remote: Path) -> None:
    """`bd sync` stays direct and holds the daemon's git work off (the sync lock): neither fails."""
    daemon = start(clone, "--auto-commit", "--auto-push", env={"BEADS_DEBOUNCE_MS": "30"})
    failures: list[str] = []
    created: list[str] = []
    lock = threading.Lock()
    go = threading.Event()

    def writer(n: int) -> None:
        go.wait(10)
        for i in range(12):
            result = clone("create", f"writer {n} issue {i}", "--silent", check=False)
            with lock:
                if result.returncode:
                    failures.append(f"create: {result!r}")
                else:
                    created.append(result.stdout.strip())

    def syncer() -> None:
        go.wait(10)
        for _ in range(6):
            result = clone("sync", check=False)
            if result.returncode:
                with lock:
                    failures.append(f"sync: {result!r}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)] + [threading.Thread(target=syncer)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(300)
    try:
        assert failures == []
        assert len(created) == 36 and all(created)
        final = clone("sync")  # whatever the last round left, then everything is in git and pushed
        assert final.returncode == 0
        ids = set(created)
        assert {i["id"] for i in clone.json("list", "--limit", "0")} == ids  # type: ignore[union-attr]
        eventually(lambda: _ids_at(clone.cwd, "HEAD") == ids and _ids_at(remote, "main") == ids,
                   what="every issue committed and pushed")
        # the daemon took part: it ran its git work or was held off by a sync (which one wins each
        # race, and so whether its rounds found anything left to commit, depends on the machine's load)
        eventually(lambda: _git_status(daemon)["syncs"] + _git_status(daemon)["deferred"] >= 1,
                   what="the daemon's git work")
        git_status = _git_status(daemon)
        print("daemon git work:", git_status)
        assert git_status["failures"] == 0, git_status
        assert git(clone.cwd, "status", "--porcelain").stdout.strip() == ""
        assert git(clone.cwd, "log", "--merges", "--oneline").stdout == ""  # one clone: nothing to merge
    finally:
        daemon.stop()


def test_while_a_bd_sync_holds_the_sync_lock_the_daemon_waits_its_turn_then_commits(clone: Bd) -> None:
    import fcntl
    import os

    daemon = start(clone, "--auto-commit", env=FAST)
    before = _head(clone.cwd)
    fd = os.open(clone.cwd / ".git" / "bd-sync.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a running `bd sync` holds
        clone("create", "Written during a sync")
        eventually(lambda: _git_status(daemon)["deferred"] >= 1, what="the daemon to put its commit off")
        assert _head(clone.cwd) == before and _git_status(daemon)["commits"] == 0
        assert clone.json("list")[0]["title"] == "Written during a sync"  # type: ignore[index]
    finally:
        os.close(fd)  # the sync ends
    try:
        eventually(lambda: _commits(clone.cwd, "bd daemon export:"), what="the daemon's commit after the sync")
        assert "Written during a sync" in git(clone.cwd, "show", "HEAD:.beads/issues.jsonl").stdout
        assert _git_status(daemon)["failures"] == 0
    finally:
        daemon.stop()


def test_in_sync_branch_mode_the_daemons_commits_and_pushes_go_to_the_sync_branch(clone: Bd, remote: Path) -> None:
    clone("config", "set", "sync.branch", "beads-sync")
    main_before, head_before = _head(remote, "main"), _head(clone.cwd)
    daemon = start(clone, "--auto-commit", "--auto-push", env=FAST)
    try:
        iid = clone("create", "Through the daemon", "--silent").stdout.strip()
        eventually(lambda: iid in _ids_at(remote, "beads-sync"), what="the sync branch to carry the issue")
        assert "bd daemon export:" in git(remote, "log", "-1", "--format=%s", "beads-sync").stdout
        assert _head(remote, "main") == main_before and _head(clone.cwd) == head_before
        assert _commits(clone.cwd, "bd daemon") == []
        assert _git_status(daemon)["pushes"] >= 1 and _git_status(daemon)["failures"] == 0
        assert daemon.status()["auto_pull"]  # on by default with a sync branch (spec §9.1)
    finally:
        daemon.stop()
    clone("config", "set", "daemon.auto_pull", "false")
    daemon = start(clone, env=FAST)
    try:
        assert not daemon.status()["auto_pull"]
    finally:
        daemon.stop()
