"""The splice flush of a big JSONL writes over a spare copy instead of a new file.

Replacing a 55 MB file costs, besides writing it, allocating the new file and freeing the old
one (~40 ms). The flush keeps the version it replaces as ``issues.jsonl.db-spare`` and writes
the next version over it (docs/PERFORMANCE.md). These tests prove by inode numbers, not by
timing, that the spare is taken, and that it never is when anything else could see it: a
reader still holding that version, a second name for it, a .gitignore that would not hide it.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from jsonl_helpers import workspace

from beads import fileio
from beads.sync import export, spare


@pytest.fixture
def t(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setattr(spare, "SPARE_MIN_BYTES", 0)  # a few issues stand in for 100,000
    tracker = workspace(tmp_path)
    yield tracker
    tracker.disconnect()


def live(t) -> Path:  # noqa: ANN001
    return Path(t.workspace.jsonl_path)


def spare_of(t) -> Path:  # noqa: ANN001
    return Path(t.workspace.jsonl_path + spare.SPARE_SUFFIX)


def ino(path: Path) -> int:
    return os.stat(path).st_ino


def full_export(t) -> str:  # noqa: ANN001
    out = io.StringIO()
    export.export_jsonl(t, stream=out)
    return out.getvalue()


def splice(t, issue_id: str, title: str) -> None:  # noqa: ANN001
    """One write and its flush, which must take the splice path and write the file."""
    t.update(issue_id, title=title)
    fp = export.fingerprint(os.stat(live(t)))
    assert t.store.get_metadata(export.KEY_CANONICAL) == fp  # the splice path applies
    assert export.flush(t) is True
    assert live(t).read_text() == full_export(t)


@pytest.fixture
def ids(t) -> list[str]:  # noqa: ANN001
    created = [t.create(f"issue {i}")["id"] for i in range(20)]
    export.flush(t)  # the first flush writes the file in full
    return created


def test_each_splice_writes_over_the_version_before_last_and_keeps_the_one_it_replaces(t, ids) -> None:  # noqa: ANN001
    first, first_bytes = ino(live(t)), live(t).read_bytes()
    splice(t, ids[3], "one")
    assert ino(spare_of(t)) == first and spare_of(t).read_bytes() == first_bytes  # kept, not freed
    second, second_bytes = ino(live(t)), live(t).read_bytes()
    splice(t, ids[9], "two")
    assert ino(live(t)) == first  # the spare's inode was written over: nothing allocated
    assert ino(spare_of(t)) == second and spare_of(t).read_bytes() == second_bytes
    splice(t, ids[15], "three")
    assert ino(live(t)) == second and ino(spare_of(t)) == first
    assert os.stat(live(t)).st_nlink == 1 and os.stat(spare_of(t)).st_nlink == 1
    assert not [p for p in live(t).parent.iterdir() if ".tmp." in p.name]


def test_the_spare_is_ignored_by_git(t, ids) -> None:  # noqa: ANN001
    splice(t, ids[0], "kept")
    root = live(t).parent.parent
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(spare_of(t))], cwd=root)
    assert ignored.returncode == 0
    assert subprocess.run(["git", "check-ignore", "-q", str(live(t))], cwd=root).returncode == 1


def test_a_reader_still_holding_the_spare_keeps_its_bytes(t, ids) -> None:  # noqa: ANN001
    splice(t, ids[1], "one")
    with open(live(t), "rb") as reader:  # e.g. git hashing the file while agents write
        held, held_ino = reader.read(10), os.fstat(reader.fileno()).st_ino
        splice(t, ids[2], "two")  # the version the reader holds becomes the spare
        assert ino(spare_of(t)) == held_ino
        version = spare_of(t).read_bytes()
        splice(t, ids[3], "three")  # must not write over it: a new file instead
        assert ino(live(t)) != held_ino
        reader.seek(0)
        assert reader.read() == version and version.startswith(held)
    splice(t, ids[4], "four")  # once nobody holds a spare, it is taken again
    assert ino(spare_of(t)) != held_ino


def test_a_spare_with_a_second_name_is_never_written(t, ids) -> None:  # noqa: ANN001
    splice(t, ids[1], "one")
    backup = live(t).parent.parent / "backup.jsonl"
    os.link(spare_of(t), backup)
    before = backup.read_bytes()
    splice(t, ids[2], "two")
    assert backup.read_bytes() == before and ino(live(t)) != ino(backup)


def test_a_spare_that_is_the_target_itself_is_dropped(tmp_path: Path) -> None:
    """What a flush killed between keeping the spare and renaming leaves: two names, one file."""
    target, spare_path = tmp_path / "issues.jsonl", tmp_path / "issues.jsonl.db-spare"
    target.write_bytes(b"old\n")
    os.link(target, spare_path)
    fileio.replace_reusing(str(target), str(spare_path), lambda fd, _: fileio.write_all(fd, b"new\n"), keep_spare=True)
    assert target.read_bytes() == b"new\n" and spare_path.read_bytes() == b"old\n"
    assert os.stat(target).st_nlink == 1 and os.stat(spare_path).st_nlink == 1
    assert ino(target) != ino(spare_path)


def test_a_failed_write_leaves_the_target_and_no_temp_file(tmp_path: Path) -> None:
    target, spare_path = tmp_path / "issues.jsonl", tmp_path / "issues.jsonl.db-spare"
    target.write_bytes(b"current\n")
    spare_path.write_bytes(b"older\n")

    def produce(fd: int, _: object) -> None:
        fileio.write_all(fd, b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        fileio.replace_reusing(str(target), str(spare_path), produce, keep_spare=True)
    assert target.read_bytes() == b"current\n" and sorted(p.name for p in tmp_path.iterdir()) == ["issues.jsonl"]


def test_no_spare_where_the_gitignore_would_not_hide_it(t, ids) -> None:  # noqa: ANN001
    gitignore = live(t).parent / ".gitignore"
    gitignore.write_text("".join(ln + "\n" for ln in gitignore.read_text().splitlines() if ln != "*.db?*"))
    splice(t, ids[1], "one")
    splice(t, ids[2], "two")
    assert not spare_of(t).exists()


@pytest.mark.parametrize("kind", ["directory", "symlink"])
def test_a_spare_that_is_not_a_regular_file_is_left_alone(t, ids, tmp_path: Path, kind: str) -> None:  # noqa: ANN001
    target = tmp_path / "elsewhere"
    target.write_text("not ours\n")
    if kind == "directory":
        spare_of(t).mkdir()
    else:
        spare_of(t).symlink_to(target)
    splice(t, ids[1], "one")
    splice(t, ids[2], "two")
    assert target.read_text() == "not ours\n"
    assert spare_of(t).is_dir() if kind == "directory" else spare_of(t).is_symlink()


def dirtied() -> int:
    """Bytes this process has handed to the page cache for writing (pages it dirtied)."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["write_bytes"])


def flush_dirtying(t, issue_id: str, title: str) -> int:  # noqa: ANN001
    """``splice``, returning the bytes the flush alone dirtied (its metadata commit included)."""
    t.update(issue_id, title=title)
    before = dirtied()
    assert export.flush(t) is True
    written = dirtied() - before
    assert live(t).read_text() == full_export(t)
    return written


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux task I/O accounting")
def test_ranges_the_spare_already_holds_in_place_are_not_written(t) -> None:  # noqa: ANN001
    made = sorted(i["id"] for i in t.create_many([{"title": f"issue {k}"} for k in range(3000)]))
    export.flush(t)
    size = os.stat(live(t)).st_size
    splice(t, made[-1], "last, edited")  # the spare now holds the version before
    # over the spare, which differs only in the last lines: the rest is left where it is
    assert flush_dirtying(t, made[-2], "second to last, edited") < size // 10
    # a longer first line moves every later byte: written in full (and so the measure works)
    assert flush_dirtying(t, made[0], "first, and much longer than it was: every later byte moves") > size * 9 // 10
    # the spare predates that shift: every byte after the first line differs from it
    assert flush_dirtying(t, made[-3], "third to last") > size * 9 // 10


def test_random_splices_over_the_spare_always_write_what_a_full_export_writes(t) -> None:  # noqa: ANN001
    import random

    rng = random.Random(7)
    made = [i["id"] for i in t.create_many([{"title": f"issue {k}"} for k in range(200)])]
    export.flush(t)
    for step in range(40):
        action = rng.choice(["title", "title", "create", "delete", "label"])
        if action == "title":
            t.update(rng.choice(made), title="t" * rng.randint(1, 40))
        elif action == "create":
            made.append(t.create(f"new {step}")["id"])
        elif action == "delete":
            t.delete([made.pop(rng.randrange(len(made)))], hard=True)
        else:
            t.add_label(rng.choice(made), f"l{step}")
        export.flush(t)
        assert live(t).read_text() == full_export(t), f"step {step}: {action}"
    assert spare_of(t).exists()


def test_the_file_view_reads_like_the_bytes_it_stands_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from beads.sync import jsonl

    monkeypatch.setattr(spare.FileView, "BLOCK", 7)  # many block edges in a small file
    rng = random.Random(3)
    data = bytes(rng.choice(b'ab"\n') for _ in range(300))
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        view = spare.FileView(fd, len(data))
        assert len(view) == len(data)
        for _ in range(500):
            a, b = rng.randint(-5, 310), rng.randint(-5, 310)
            sub = rng.choice([b"\n", b'"'])
            assert view[a:b] == data[a:b]
            assert view.find(sub, a) == data.find(sub, max(a, 0))
            assert view.rfind(sub, max(a, 0), b if b >= 0 else 0) == data.rfind(sub, max(a, 0), b if b >= 0 else 0)
        lines = b"".join(b'{"id":"t-%03d","x":%d}\n' % (k, k) for k in range(0, 200, 3))
        path.write_bytes(lines)
        view = spare.FileView(fd, len(lines))
        changes = {"t-003": None, "t-004": '{"id":"t-004"}', "t-150": '{"id":"t-150","x":0}', "t-999": "{}"}
        assert jsonl.splice(view, changes) == jsonl.splice(lines, changes)
    finally:
        os.close(fd)
