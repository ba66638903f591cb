"""The CLI through the daemon: identical output, fallback, concurrency, kill -9, lifecycle, sync events."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from daemon_helpers import DEFAULT_ENV, Running, alive, eventually, jsonl_ids, lock_free, start

from conftest import BD, Bd, git


def commands_served(daemon: Running) -> int:
    return int(daemon.events()["commands"])


def test_commands_go_through_the_daemon_and_print_exactly_what_direct_mode_prints(bd: Bd) -> None:
    daemon = start(bd, env=DEFAULT_ENV)
    try:
        a = bd("q", "First thing", "-l", "alpha").stdout.strip()
        b = bd("create", "Second thing", "-p", "1", "-d", "why", "--silent").stdout.strip()
        bd("dep", "add", b, a)
        bd("comment", a, "a note with ünïcode ✓")
        bd("update", a, "--status", "in_progress")
        served = commands_served(daemon)
        assert served >= 5
        reads = [("list",), ("list", "--json"), ("list", "--all", "--long"), ("ready",), ("ready", "--json"),
                 ("blocked",), ("blocked", "--json"), ("show", a), ("show", a, b, "--json"), ("status",),
                 ("status", "--json"), ("count", "--by-status"), ("dep", "tree", b), ("comments", a),
                 ("label", "list-all"), ("stale", "--days", "0"), ("search", "thing"), ("show", "nope"),
                 ("list", "--bogus-flag"), ("update",), ("info", "--json"), ("where",), ("config", "list")]
        for args in reads:
            via_daemon = bd(*args, check=False)
            direct = bd("--no-daemon", *args, check=False)
            assert (via_daemon.returncode, via_daemon.stdout, via_daemon.stderr) == \
                (direct.returncode, direct.stdout, direct.stderr), args
        assert commands_served(daemon) == served + len(reads)
        # stdin is passed through when the command reads it
        created = bd("create", "From stdin", "-d", "-", "--json", input="piped text\n").json()
        assert created["description"] == "piped text\n"  # type: ignore[index]
        # BEADS_NO_DAEMON bypasses it
        before = commands_served(daemon)
        bd("list", env={"BEADS_NO_DAEMON": "1"})
        assert commands_served(daemon) == before
    finally:
        daemon.stop()


def _normalise(text: str) -> str:
    text = re.sub(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})", "<time>", text)
    return re.sub(r"\b(test-[0-9a-z]{3,8})\b", "<id>", text)


SCRIPT = [
    ("create", "Write the spec", "-p", "1", "-t", "feature", "-l", "docs,spec", "-d", "Details"),
    ("create", "Review it", "--json"),
    ("q", "Quick one"),
    ("update", "{0}", "--status", "in_progress", "--json"),
    ("dep", "add", "{1}", "{0}"),
    ("label", "add", "{1}", "later"),
    ("comment", "{0}", "looks fine"),
    ("close", "{0}", "--reason", "done", "--json"),
    ("reopen", "{0}"),
    ("close", "{2}"),
    ("ready", "--json"),
    ("blocked",),
    ("list", "--all"),
    ("status",),
    ("delete", "{2}", "--force"),
    ("update", "test-missing", "--priority", "1"),
]


def _run_script(bd: Bd) -> list[tuple[int, str, str]]:
    ids: list[str] = []
    outputs = []
    for step in SCRIPT:
        args = [a.format(*ids) if "{" in a else a for a in step]
        result = bd(*args, check=False, env={"BD_ACTOR": "scripted"})
        if args[0] in ("create", "q"):
            found = re.findall(r"test-[0-9a-z]+", result.stdout)
            ids.append(found[0])
        outputs.append((result.returncode, _normalise(result.stdout), _normalise(result.stderr)))
    return outputs


def test_a_session_of_writes_prints_the_same_in_both_modes(bd: Bd, tmp_path: Path) -> None:
    twin_root = tmp_path / "twin"
    twin_root.mkdir()
    git(twin_root, "init", "-q")
    twin = Bd(twin_root)
    twin("init", "--prefix", "test", "--quiet")
    daemon = start(bd, env=DEFAULT_ENV)
    try:
        through_daemon = _run_script(bd)
        assert commands_served(daemon) == len(SCRIPT)
    finally:
        daemon.stop()
    direct = _run_script(twin)
    assert through_daemon == direct


CLIENT = textwrap.dedent("""
    import json, subprocess, sys
    bd, n, me = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    mine = []
    for i in range(n):
        kind = i % 5
        if kind in (0, 1) or not mine:
            out = subprocess.run([bd, "q", f"{me}-{i}"], capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            mine.append(out.stdout.strip())
        elif kind == 2:
            out = subprocess.run([bd, "label", "add", mine[-1], f"from-{me}"], capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
        elif kind == 3:
            out = subprocess.run([bd, "comment", mine[-1], f"{me} says {i}"], capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
        else:
            out = subprocess.run([bd, "update", mine[-1], "--priority", "0"], capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
    print(json.dumps(mine))
""")


def test_eight_clients_times_fifty_operations_are_applied_exactly_once(bd: Bd, tmp_path: Path) -> None:
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    daemon = start(bd, env=DEFAULT_ENV)
    try:
        procs = [subprocess.Popen([sys.executable, str(script), BD, "50", f"c{k}"], cwd=bd.cwd,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(8)]
        created: dict[str, list[str]] = {}
        for k, proc in enumerate(procs):
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            created[f"c{k}"] = json.loads(out)
        assert commands_served(daemon) == 8 * 50
        issues = bd.json("list", "--all", "--limit", "0")
        assert isinstance(issues, list)
        titles = sorted(i["title"] for i in issues)
        expected = sorted(f"c{k}-{i}" for k in range(8) for i in range(50) if i % 5 in (0, 1))
        assert titles == expected  # every create once, no duplicate, none lost
        by_id = {i["id"]: i for i in issues}
        for k in range(8):
            for issue_id in created[f"c{k}"]:
                assert issue_id in by_id
        comments = sum(len(bd.json("comments", i)) for i in list(by_id)[:5])  # type: ignore[arg-type]
        assert comments >= 0
        eventually(lambda: sorted(jsonl_ids(daemon.beads / "issues.jsonl")) == sorted(by_id), what="the export")
    finally:
        daemon.stop()
    # the JSONL equals the database
    exported = bd("export", "--no-daemon").stdout
    assert exported == (bd.cwd / ".beads" / "issues.jsonl").read_text()


def test_after_kill_9_the_next_command_falls_back_cleans_up_and_loses_nothing(bd: Bd) -> None:
    daemon = start(bd, env={"BEADS_DEBOUNCE_MS": "60000"})  # nothing exported before the kill
    ids = [bd("q", f"Before the kill {i}").stdout.strip() for i in range(3)]
    os.kill(daemon.pid, signal.SIGKILL)
    eventually(lambda: not alive(daemon.pid) and lock_free(daemon.beads), what="the killed daemon to be gone")
    assert (daemon.beads / "bd.sock").exists()  # left behind by the kill
    listed = bd("list", "--json").json()
    assert sorted(i["id"] for i in listed) == sorted(ids)  # type: ignore[union-attr]
    assert not (daemon.beads / "bd.sock").exists() and not (daemon.beads / "daemon.pid").exists()
    bd("q", "After the kill")  # direct mode; its flush writes everything the daemon had not exported
    assert len(jsonl_ids(daemon.beads / "issues.jsonl")) == 4
    again = start(bd, env=DEFAULT_ENV)
    try:
        assert again.pid != daemon.pid
        assert bd("q", "Through the new daemon").returncode == 0
        assert commands_served(again) == 1
    finally:
        again.stop()


def test_lifecycle_one_daemon_per_workspace_status_stop_and_clean_exit(bd: Bd) -> None:
    assert bd("daemon", "status").stdout == "Daemon is not running\n"
    assert bd.json("daemon", "status") == {"running": False, "workspace": str(bd.cwd)}
    first = bd("daemon", "--start").stdout
    assert first.startswith("Daemon started (PID ")
    daemon = Running(bd)
    assert bd("daemon", "start").stdout == f"Daemon already running (PID {daemon.pid})\n"
    # a second daemon process for the same workspace exits at once: the lock is held
    second = subprocess.run([sys.executable, "-m", "beads.daemon.process", str(daemon.beads)], capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 2 and "already running" in second.stderr
    status = bd.json("daemon", "status")
    assert status["pid"] == daemon.pid and status["running"] is True  # type: ignore[index]
    assert status["daemon_mode"] == "events"  # type: ignore[index]
    verbose = bd("daemon", "status", "--verbose").stdout
    assert "Events since start:" in verbose and "Watcher: events (inotify)" in verbose
    entries = bd.json("daemons", "list")
    assert [e["pid"] for e in entries] == [daemon.pid]  # type: ignore[union-attr]
    assert "daemon started" in bd("daemon", "logs").stdout
    assert bd("daemon", "--stop").stdout == f"Daemon stopped (PID {daemon.pid})\n"
    assert not alive(daemon.pid)
    assert not (daemon.beads / "bd.sock").exists() and not (daemon.beads / "daemon.pid").exists()
    assert bd.json("daemons", "list") == []


def test_sigterm_removes_the_socket_and_pid_file(bd: Bd) -> None:
    daemon = start(bd)
    os.kill(daemon.pid, signal.SIGTERM)
    eventually(lambda: not alive(daemon.pid), what="the daemon to exit on SIGTERM")
    assert not (daemon.beads / "bd.sock").exists() and not (daemon.beads / "daemon.pid").exists()


def test_the_daemon_exits_when_idle(bd: Bd) -> None:
    daemon = start(bd, "--idle-timeout", "1")
    eventually(lambda: not alive(daemon.pid), what="the idle daemon to exit")
    assert not (daemon.beads / "bd.sock").exists()
    assert "idle for" in (daemon.beads / "daemon.log").read_text()


def test_the_daemon_exits_when_its_database_disappears(bd: Bd) -> None:
    daemon = start(bd)
    (daemon.beads / "beads.db").unlink()
    eventually(lambda: not alive(daemon.pid), what="the daemon to notice its database is gone")


def test_daemons_killall_stops_every_daemon(bd: Bd, tmp_path: Path) -> None:
    other_root = tmp_path / "other"
    other_root.mkdir()
    git(other_root, "init", "-q")
    other = Bd(other_root)
    other("init", "--prefix", "oth", "--quiet")
    one, two = start(bd), start(other)
    assert len(bd.json("daemons", "list")) == 2  # type: ignore[arg-type]
    health = bd.json("daemons", "health")
    assert health["healthy"] == 2  # type: ignore[index]
    assert bd("daemons", "killall").stdout == "Stopped 2 daemon(s)\n"
    assert not alive(one.pid) and not alive(two.pid)


def test_a_long_workspace_path_gets_a_short_socket_recorded_in_beads(tmp_path: Path) -> None:
    root = tmp_path / ("d" * 60) / ("e" * 60)
    root.mkdir(parents=True)
    git(root, "init", "-q")
    bd = Bd(root)
    bd("init", "--prefix", "test", "--quiet")
    daemon = start(bd)
    try:
        record = daemon.beads / "bd.sock.path"
        assert record.exists() and len(record.read_text().strip()) < 100
        assert not (daemon.beads / "bd.sock").exists()
        bd("q", "Through the short socket")
        assert commands_served(daemon) == 1
    finally:
        daemon.stop()
    assert not record.exists()


@pytest.mark.parametrize("backend", ["inotify", "watchfiles"])
def test_an_external_change_to_the_jsonl_is_imported_by_the_daemon(bd: Bd, backend: str) -> None:
    daemon = start(bd, env={**DEFAULT_ENV, "BEADS_DAEMON_WATCHER": backend})
    try:
        assert daemon.events()["watcher_backend"] == backend
        bd("q", "Local issue")
        jsonl = daemon.beads / "issues.jsonl"
        # the export finished (file written and its fingerprint recorded), not merely the file there
        eventually(lambda: daemon.events()["exports"] >= 1 and len(jsonl_ids(jsonl)) == 1, what="the export")
        line = json.loads(jsonl.read_text().splitlines()[0])
        line.update(id="test-zz9", title="Pulled from a teammate", updated_at="2026-01-01T00:00:00Z")
        with jsonl.open("a") as fh:  # what a git pull does to the file
            fh.write(json.dumps(line) + "\n")
        eventually(lambda: daemon.events()["imports"] >= 1, timeout=60, what="the watcher's import")
        assert "Pulled from a teammate" in bd("list").stdout
    finally:
        daemon.stop()


@pytest.mark.parametrize("mode", ["poll"])
def test_poll_mode_imports_external_changes_too(bd: Bd, mode: str) -> None:
    daemon = start(bd, env={"BEADS_DAEMON_MODE": mode, "BEADS_POLL_INTERVAL": "0.2", **DEFAULT_ENV})
    try:
        assert daemon.status()["daemon_mode"] == "poll"
        jsonl = daemon.beads / "issues.jsonl"
        bd("q", "Local issue")
        # the export finished (file written and its fingerprint recorded), not merely the file there
        eventually(lambda: daemon.events()["exports"] >= 1 and len(jsonl_ids(jsonl)) == 1, what="the export")
        line = json.loads(jsonl.read_text().splitlines()[0])
        line.update(id="test-zz8", title="Polled change", updated_at="2026-01-01T00:00:00Z")
        with jsonl.open("a") as fh:
            fh.write(json.dumps(line) + "\n")
        eventually(lambda: daemon.events()["imports"] >= 1, what="the poller's import")
    finally:
        daemon.stop()


def test_daemon_event_nudges_a_running_daemon_and_is_quiet_without_one(bd: Bd) -> None:
    assert bd("daemon-event", "export-needed").returncode == 0
    daemon = start(bd, env=DEFAULT_ENV)
    try:
        bd("daemon-event", "export-needed")
        eventually(lambda: daemon.events()["exports"] >= 1, what="the nudged export")
        bd("daemon-event", "import-needed")
    finally:
        daemon.stop()


def test_auto_start_is_off_by_default_and_starts_a_daemon_when_enabled(bd: Bd) -> None:
    bd("list")
    assert not (bd.cwd / ".beads" / "bd.sock").exists()
    bd("list", env={"BEADS_AUTO_START_DAEMON": "1"})
    daemon = Running(bd)
    try:
        assert alive(daemon.pid)
        bd("list", env={"BEADS_AUTO_START_DAEMON": "1"})
        assert commands_served(daemon) >= 1
    finally:
        daemon.stop()


def test_a_command_forwarded_to_the_daemon_imports_neither_sqlite_nor_json(bd: Bd) -> None:
    daemon = start(bd)
    try:
        env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
        proc = subprocess.run([BD, "q", "Light client"], cwd=bd.cwd, env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr[-2000:]
        modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
                   if line.startswith("import time:") and line.count("|") == 2}
        assert "beads.daemon.client" in modules
        assert not modules & {"sqlite3", "json", "re", "argparse", "socket", "typing", "beads.storage"}
    finally:
        daemon.stop()


def test_a_client_newer_than_its_daemon_stops_it_and_starts_one_of_its_own_version(bd: Bd) -> None:
    old = start(bd, env={"BD_DAEMON_VERSION_OVERRIDE": "0.1.0"})
    assert old.status()["version"] == "0.1.0"
    issue = bd("q", "Written while the daemon is replaced").stdout.strip()  # direct mode
    eventually(lambda: not alive(old.pid), what="the outdated daemon to stop")

    def new_daemon() -> int | None:
        pid_file = old.beads / "daemon.pid"
        if not pid_file.exists():
            return None
        pid = int(pid_file.read_text())
        return pid if pid != old.pid and alive(pid) and (old.beads / "bd.sock").exists() else None

    pid = eventually(new_daemon, what="a daemon of the client's version")
    replacement = Running(bd)
    try:
        from beads import __version__

        assert replacement.pid == pid
        assert replacement.status()["version"] == __version__
        assert issue in bd("list").stdout
    finally:
        replacement.stop()


def test_auto_start_follows_the_config_key_and_backs_off_after_a_failed_start(bd: Bd) -> None:
    from beads.daemon import autostart

    beads = bd.cwd / ".beads"
    config = beads / "config.yaml"
    config.write_text(config.read_text() + "\nauto-start-daemon: true\n")
    assert autostart.enabled(str(beads))
    autostart._record(str(beads), ok=False)  # as after a start that failed
    bd("list")
    assert not (beads / "bd.sock").exists()  # backing off: no attempt
    state = json.loads((beads / "daemon-start.json").read_text())
    assert state["failures"] == 1
    autostart._record(str(beads), ok=True)
    bd("list")
    daemon = Running(bd)
    try:
        assert alive(daemon.pid)
    finally:
        daemon.stop()


def test_a_commit_or_checkout_wakes_the_watcher_and_nothing_else_in_git_does(bd: Bd) -> None:
    daemon = start(bd, env=DEFAULT_ENV)
    try:
        (bd.cwd / "notes.txt").write_text("x\n")
        git(bd.cwd, "add", "notes.txt")  # the index changes: not watched
        git(bd.cwd, "commit", "-q", "-m", "a commit")  # refs/heads/main changes
        eventually(lambda: daemon.events()["file_changes"] >= 1, what="the watcher to see the new ref")
        git(bd.cwd, "checkout", "-q", "-b", "topic")  # HEAD changes
        eventually(lambda: daemon.events()["file_changes"] >= 2, what="the watcher to see HEAD move")
    finally:
        daemon.stop()


def test_output_is_streamed_and_a_closed_pipe_ends_quietly(bd: Bd) -> None:
    daemon = start(bd, env=DEFAULT_ENV)
    try:
        raw = daemon.raw()
        ops = [{"operation": "create", "args": {"title": f"Issue number {i} " + "x" * 200}} for i in range(400)]
        assert raw.call("batch", {"operations": ops})["success"]
        raw.close()
        full = bd("list", "--all", "--limit", "0", "--long").stdout
        assert full == bd("--no-daemon", "list", "--all", "--limit", "0", "--long").stdout
        assert len(full) > 1 << 16  # more than one chunk of the stream
        proc = subprocess.run(f"'{BD}' list --all --limit 0 --long | head -1", shell=True, cwd=bd.cwd,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.count("\n") == 1
        assert bd("q", "Still serving").returncode == 0
        assert daemon.raw().call("ping")["success"]
    finally:
        daemon.stop()


def test_the_log_is_rotated_and_daemons_stop_and_logs_take_a_workspace_or_pid(bd: Bd) -> None:
    daemon = start(bd, env={**DEFAULT_ENV, "BEADS_DAEMON_LOG_MAX_BYTES": "400"})
    try:
        for i in range(4):
            bd("q", f"Exported {i}")
            eventually(lambda i=i: daemon.events()["exports"] > i, what="an export (a log line)")
        assert (daemon.beads / "daemon.log.1").exists()
        assert "exported" in bd("daemons", "logs", str(daemon.pid)).stdout + \
            (daemon.beads / "daemon.log.1").read_text()
        assert bd("daemons", "stop", str(bd.cwd)).stdout == f"Stopped daemon for {bd.cwd} (PID {daemon.pid})\n"
        assert not alive(daemon.pid)
    finally:
        daemon.stop()
