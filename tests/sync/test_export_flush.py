"""Export and flush: guards, incremental flushes, atomic writes, the lock, auto-import."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jsonl_helpers import db_state, file_records, jsonl_text, rec, workspace

from beads.errors import SyncError
from beads.sync import auto, export, jsonl
from beads.sync.importer import import_records


@pytest.fixture
def t(tmp_path: Path):  # noqa: ANN201
    tracker = workspace(tmp_path)
    yield tracker
    tracker.disconnect()


def jsonl_path(t) -> Path:  # noqa: ANN001
    return Path(t.workspace.jsonl_path)


# -- full export ------------------------------------------------------------------------------


def test_export_writes_every_issue_sorted_with_tombstones_but_not_wisps(t) -> None:  # noqa: ANN001
    t.create("b"), t.create("a"), t.create("wisp", ephemeral=True)
    gone = t.create("gone")
    t.delete([gone["id"]])
    stats = export.export_jsonl(t)
    lines = file_records(jsonl_path(t))
    assert stats == {"success": True, "exported": 3, "skipped": 0, "total_issues": 3,
                     "output_file": str(jsonl_path(t))}
    assert list(lines) == sorted(lines) and lines[gone["id"]]["status"] == "tombstone"
    assert all(r["title"] != "wisp" for r in lines.values())
    assert t.store.dirty_ids() == []  # exported marks are cleared
    assert oct(jsonl_path(t).stat().st_mode & 0o777) == "0o644"


def test_an_empty_database_never_overwrites_a_nonempty_file(t) -> None:  # noqa: ANN001
    jsonl_path(t).write_text(jsonl_text(rec("test-1"), rec("test-2")), encoding="utf-8")
    before = jsonl_path(t).read_bytes()
    with pytest.raises(SyncError, match="would lose issues") as err:
        export.export_jsonl(t)
    assert "test-1" in err.value.message and jsonl_path(t).read_bytes() == before


def test_a_stale_database_never_shrinks_the_file_unless_forced(t) -> None:  # noqa: ANN001
    a = t.create("kept")
    export.export_jsonl(t)
    extra = json.loads(jsonl.issue_line(rec("test-zzz", "from another clone")))
    with jsonl_path(t).open("a", encoding="utf-8") as fh:
        fh.write(jsonl.issue_line(extra) + "\n")
    with pytest.raises(SyncError, match="test-zzz"):
        export.export_jsonl(t)
    export.export_jsonl(t, force=True)
    assert list(file_records(jsonl_path(t))) == [a["id"]]


def test_deletions_made_here_explain_a_shrink(t) -> None:  # noqa: ANN001
    a, b = t.create("a"), t.create("b")
    export.export_jsonl(t)
    t.delete([b["id"]], hard=True)
    export.export_jsonl(t)
    assert list(file_records(jsonl_path(t))) == [a["id"]]
    assert t.store.dirty_ids() == []


def test_export_to_another_file_is_private_and_leaves_dirty_marks(t, tmp_path: Path) -> None:  # noqa: ANN001
    t.create("a")
    out = tmp_path / "out.jsonl"
    export.export_jsonl(t, str(out))
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert len(t.store.dirty_ids()) == 1 and "jsonl_file_hash" not in t.store.all_metadata()


def test_a_conflicted_target_is_not_overwritten_without_force(t) -> None:  # noqa: ANN001
    t.create("a")
    jsonl_path(t).write_text("<<<<<<< HEAD\n=======\n>>>>>>> x\n", encoding="utf-8")
    with pytest.raises(SyncError, match="not valid JSONL"):
        export.export_jsonl(t)
    export.export_jsonl(t, force=True)
    assert len(file_records(jsonl_path(t))) == 1


# -- flush -------------------------------------------------------------------------------------------


def test_flush_replaces_only_the_dirty_lines(t) -> None:  # noqa: ANN001
    a, b = t.create("a"), t.create("b")
    assert export.flush(t) is True
    odd = jsonl_path(t).read_text(encoding="utf-8").replace(f'{{"id":"{a["id"]}",', f'{{ "id":"{a["id"]}",')
    jsonl_path(t).write_text(odd, encoding="utf-8")
    export.record_file_state(t.store, jsonl_path(t).read_bytes(), jsonl_path(t).stat())  # "we wrote that"
    t.update(b["id"], title="b2")
    assert export.flush(t) is True
    text = jsonl_path(t).read_text(encoding="utf-8")
    assert f'{{ "id":"{a["id"]}",' in text  # untouched line kept byte for byte
    assert file_records(jsonl_path(t))[b["id"]]["title"] == "b2"
    assert export.flush(t) is False  # nothing dirty: nothing written


def test_flush_with_nothing_and_no_file_creates_nothing(t) -> None:  # noqa: ANN001
    assert export.flush(t) is False and not jsonl_path(t).exists()


def test_flush_merges_a_file_changed_behind_its_back(t) -> None:  # noqa: ANN001
    a = t.create("a")
    export.flush(t)
    with jsonl_path(t).open("a", encoding="utf-8") as fh:  # another clone's issue arrives via git
        fh.write(jsonl.issue_line(rec("test-zzz", "theirs")) + "\n")
    t.update(a["id"], title="mine")
    export.flush(t)
    lines = file_records(jsonl_path(t))
    assert lines[a["id"]]["title"] == "mine" and lines["test-zzz"]["title"] == "theirs"
    assert t.store.get_issue("test-zzz") is not None


def test_flush_refuses_a_conflicted_file_and_keeps_the_marks(t) -> None:  # noqa: ANN001
    t.create("a")
    export.flush(t)
    t.create("b")
    jsonl_path(t).write_text(jsonl_path(t).read_text() + "<<<<<<< HEAD\n", encoding="utf-8")
    with pytest.raises(SyncError, match="conflict"):
        export.flush(t)
    assert len(t.store.dirty_ids()) == 1


def test_flush_recreates_a_missing_file_in_full(t) -> None:  # noqa: ANN001
    t.create("a"), t.create("b")
    export.flush(t)
    jsonl_path(t).unlink()
    assert export.flush(t) is True and len(file_records(jsonl_path(t))) == 2


def test_a_mark_made_after_the_snapshot_survives_the_export(t) -> None:  # noqa: ANN001
    a = t.create("a")
    marks = t.store.dirty_marks()
    t.update(a["id"], title="again")  # re-marked with a newer time
    with t.store.transaction():
        t.store.clear_dirty_marks(marks)
    assert t.store.dirty_ids() == [a["id"]]


# -- auto-import -------------------------------------------------------------------------------


def test_auto_import_does_nothing_when_the_file_is_unchanged(t) -> None:  # noqa: ANN001
    t.create("a")
    export.flush(t)
    before = db_state(t)
    assert auto.before_command(t) is None
    assert db_state(t) == before


def test_auto_import_takes_in_a_line_appended_by_another_clone(t) -> None:  # noqa: ANN001
    t.create("a")
    export.flush(t)
    with jsonl_path(t).open("a", encoding="utf-8") as fh:
        fh.write(jsonl.issue_line(rec("test-new", "from bob")) + "\n")
    stats = auto.before_command(t)
    assert stats is not None and stats["created"] == 1
    assert t.store.get_issue("test-new")["title"] == "from bob"
    assert auto.before_command(t) is None  # recorded: the next command does not import again


def test_a_touched_but_identical_file_is_not_imported(t) -> None:  # noqa: ANN001
    t.create("a")
    export.flush(t)
    os.utime(jsonl_path(t), ns=(1, 1))
    assert auto.before_command(t) is None
    assert t.store.get_metadata("jsonl_stat") == export.fingerprint(jsonl_path(t).stat())


def test_auto_import_refuses_a_conflicted_file_with_one_warning(t) -> None:  # noqa: ANN001
    t.create("a")
    export.flush(t)
    jsonl_path(t).write_text(jsonl_path(t).read_text() + "=======\n", encoding="utf-8")
    before = db_state(t)
    warnings: list[str] = []
    assert auto.before_command(t, warnings.append) is None
    assert len(warnings) == 1 and "conflict" in warnings[0] and db_state(t) == before


def test_auto_import_pushes_back_local_wins_at_once(t) -> None:  # noqa: ANN001
    a = t.create("a")
    export.flush(t)
    stale = file_records(jsonl_path(t))[a["id"]]
    t.update(a["id"], title="newer here")
    export.flush(t)
    stale["title"] = "older there"
    jsonl_path(t).write_text(jsonl.issue_line(stale) + "\n", encoding="utf-8")
    auto.before_command(t)
    assert file_records(jsonl_path(t))[a["id"]]["title"] == "newer here"


def _stale_flush_in_place(t) -> tuple[str, bytes]:  # noqa: ANN001
    """A label, an edge and a field that are in the file, then removed here after it was written,
    and a new file (another process's flush from before the removals) renamed into place but not
    yet recorded: the window an auto-import used to read."""
    a, b = t.create("a", assignee="al"), t.create("b")
    t.add_label(a["id"], "gone")
    t.add_dependency(a["id"], b["id"])
    export.flush(t)
    stale = jsonl_path(t).read_bytes() + (jsonl.issue_line(rec("test-zzz", "theirs")) + "\n").encode()
    t.remove_label(a["id"], "gone")
    t.remove_dependency(a["id"], b["id"])
    t.update(a["id"], assignee="")
    export.write_atomic(str(jsonl_path(t)), stale)
    return a["id"], stale


def test_auto_import_of_a_stale_flush_undoes_no_removal(t) -> None:  # noqa: ANN001
    a, _ = _stale_flush_in_place(t)
    stats = auto.before_command(t)
    assert stats is not None and stats["created"] == 1  # what is new in the file still lands
    assert t.store.labels_of(a) == [] and t.store.dependencies_of(a) == []
    assert t.store.get_issue(a)["assignee"] == ""
    assert "gone" not in json.dumps(file_records(jsonl_path(t))[a])  # and the file got our copy back


def test_auto_import_decides_under_the_export_lock(t, tmp_path: Path) -> None:  # noqa: ANN001
    """While another process holds the lock (its flush renamed a file but has not recorded it),
    an auto-import waits, and then finds the file recorded: it imports nothing."""
    import threading

    import beads

    a, _ = _stale_flush_in_place(t)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, t.workspace.beads_dir], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        results: list[object] = []
        waiter = threading.Thread(target=lambda: results.append(_auto_import_in_thread(beads, t.workspace.beads_dir)))
        waiter.start()
        # what the lock holder's flush does next: write the database's state and record it
        with t.store.read_snapshot():
            data = jsonl.render(jsonl.export_records(t.store)).encode()
        export.record_file_state(t.store, data, export.write_atomic(str(jsonl_path(t)), data))
        holder.communicate("release\n", timeout=60)
        waiter.join(60)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert results == [None]
    assert t.store.labels_of(a) == [] and t.store.get_issue("test-zzz") is None


HOLD_LOCK = """
import sys
from beads.sync.export import FileLock
with FileLock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def _auto_import_in_thread(beads, root: str) -> object:  # noqa: ANN001
    tracker = beads.open(root)  # a connection of its own, as another bd process has
    try:
        return auto.before_command(tracker)
    finally:
        tracker.disconnect()


def test_the_fast_path_fingerprint_matches_the_exporters(t) -> None:  # noqa: ANN001
    t.create("a")
    export.flush(t)
    st = jsonl_path(t).stat()
    assert t.store.get_metadata("jsonl_stat") == f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"


# -- processes: atomicity and the lock ---------------------------------------------------------------

def _big_workspace(tmp_path: Path, n: int = 3000):  # noqa: ANN202
    t = workspace(tmp_path, "big")
    import_records(t, [rec(f"test-{i:05d}", "x" * (i % 400), description="y" * 300) for i in range(n)])
    export.export_jsonl(t)
    return t


CHILD = """
import sys, beads
from beads.sync import export, jsonl
t = beads.open(sys.argv[1])
path = t.workspace.jsonl_path
if sys.argv[2] == "export":
    print("ready", flush=True)
    n = 0
    while True:  # every round changes an issue, so every export really writes a new file
        n += 1
        t.update("test-00001", title=f"round {n}")
        export.export_jsonl(t, force=True)
else:  # the write primitive alone, so that most kills land in the middle of a write
    versions = []
    for title in ("one", "two"):
        t.update("test-00001", title=title)
        versions.append(jsonl.render(jsonl.export_records(t.store)).encode())
    print("ready", flush=True)
    while True:
        for data in versions:
            export.write_atomic(path, data)
"""


@pytest.mark.parametrize("mode", ["export", "write"])
def test_a_killed_exporter_leaves_the_old_or_the_new_file_never_a_torn_one(tmp_path: Path, mode: str) -> None:
    t = _big_workspace(tmp_path)
    path = jsonl_path(t)
    expected = len(file_records(path))
    rng = random.Random(7)
    for _ in range(10):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path.parent.parent), mode],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        records = jsonl.read_jsonl(str(path))  # parses: every line whole
        assert len(records) == expected
    # the next export cleans the temp files the killed children left behind
    export.export_jsonl(t, force=True)
    assert [p.name for p in path.parent.iterdir() if ".tmp." in p.name] == []
    t.disconnect()


WRITER = """
import sys, beads
from beads.sync import export
t = beads.open(sys.argv[1])
for i in range(int(sys.argv[2])):
    t.create(f"{sys.argv[3]} {i}")
    export.flush(t)
"""


def test_concurrent_flushes_from_several_processes_never_interleave(tmp_path: Path) -> None:
    t = workspace(tmp_path, "shared")
    root = str(Path(t.workspace.beads_dir).parent)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, root, "15", f"w{k}"]) for k in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    # no final flush here: the writers' own flushes must have left every issue in the file exactly
    # once (two unlocked read-modify-write flushes would drop one another's lines)
    records = jsonl.read_jsonl(str(jsonl_path(t)))
    assert len(records) == 60 and len({r["id"] for r in records}) == 60
    assert t.store.dirty_ids() == []
    t.disconnect()


def test_an_unwritable_target_is_a_clear_error(t, tmp_path: Path) -> None:  # noqa: ANN001
    t.create("a")
    with pytest.raises(SyncError, match="cannot write"):
        export.export_jsonl(t, str(tmp_path / "no" / "such" / "dir" / "out.jsonl"))


def test_a_debouncer_flushes_once_when_closed(t) -> None:  # noqa: ANN001
    import beads

    root = str(Path(t.workspace.beads_dir).parent)
    opened: list[int] = []

    def open_tracker():  # noqa: ANN202
        opened.append(1)
        return beads.open(root)

    debouncer = auto.Debouncer(open_tracker, delay=3600)
    a = t.create("a")
    debouncer.touch()
    debouncer.touch()
    assert not jsonl_path(t).exists()  # nothing yet: the timer is an hour away
    debouncer.close()
    assert opened == [1] and a["id"] in file_records(jsonl_path(t))


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5.0), ("500ms", 0.5), ("2m", 120.0), ("", 30.0),
                                               ("soon", 5.0), ("1.5", 1.5)])
def test_flush_debounce_durations(text: str, seconds: float) -> None:
    assert auto.debounce_seconds(text) == seconds
