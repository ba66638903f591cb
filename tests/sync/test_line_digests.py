"""Line digests (sync/linescan.py): imports parse only the lines whose digest is not recorded.

The invariant that makes skipping safe: a line whose digest is recorded for its issue brings
nothing when imported. The random walk below checks it directly — after every auto-import that
skipped lines, a full import that parses every line must change nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from pathlib import Path

import pytest
from jsonl_helpers import db_state, rec, ts, workspace

from beads import timefmt
from beads.errors import CorruptJSONL
from beads.sync import auto, export, importer, jsonl, linescan


@pytest.fixture
def t(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setattr(importer, "_DIGESTS_FROM", 0)  # small test files use the digests too
    tracker = workspace(tmp_path)
    yield tracker
    tracker.disconnect()


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The line numbers ``jsonl.parse_line`` was asked to parse."""
    calls: list[int] = []
    real = jsonl.parse_line

    def spy(line: str, number: int, name: str, vocab: object) -> dict:
        calls.append(number)
        return real(line, number, name, vocab)  # type: ignore[arg-type]

    monkeypatch.setattr(jsonl, "parse_line", spy)
    return calls


def path_of(t) -> Path:  # noqa: ANN001
    return Path(t.workspace.jsonl_path)


def recorded(t) -> dict[str, bytes]:  # noqa: ANN001
    return {issue_id: d for d, issue_id in t.store.line_digests().items()}


def file_digests(path: Path) -> dict[str, bytes]:
    out = {}
    for line in path.read_bytes().split(b"\n"):
        if line.strip():
            out[json.loads(line)["id"]] = hashlib.sha256(line).digest()
    return out


def state(t) -> tuple:  # noqa: ANN001
    return db_state(t)[:-1]  # everything an import could change, but the file-state metadata


# -- every write of the file records its lines ------------------------------------------------------


def test_every_write_of_the_file_records_the_digest_of_each_line(t) -> None:  # noqa: ANN001
    a, b = t.create("a"), t.create("b")
    export.flush(t)  # a new file, streamed
    assert recorded(t) == file_digests(path_of(t))
    t.update(a["id"], title="a2")
    export.flush(t)  # splice
    assert recorded(t) == file_digests(path_of(t))
    t.add_label(b["id"], "x")
    export.export_jsonl(t)  # full export
    assert recorded(t) == file_digests(path_of(t))
    # a file another tool wrote (keys reordered, unsorted): the general flush, then an import
    lines = [json.dumps(dict(reversed(list(json.loads(line).items()))))
             for line in path_of(t).read_text(encoding="utf-8").splitlines()]
    path_of(t).write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    t.update(a["id"], priority=0)
    export.flush(t)
    assert recorded(t) == file_digests(path_of(t))


def test_a_hard_delete_forgets_the_digest_of_its_line(t) -> None:  # noqa: ANN001
    a = t.create("a")
    export.flush(t)
    assert a["id"] in recorded(t)
    t.delete([a["id"]], hard=True)
    export.flush(t)
    assert a["id"] not in recorded(t)


# -- what an import parses ---------------------------------------------------------------------------


def test_an_unchanged_copy_is_imported_without_parsing_a_line(t, tmp_path: Path, parsed: list[int]) -> None:  # noqa: ANN001
    for n in range(20):
        t.create(f"issue {n}")
    export.flush(t)
    copy = tmp_path / "copy.jsonl"
    shutil.copyfile(path_of(t), copy)
    before = state(t)
    stats = importer.import_file(t, str(copy))
    assert (stats["created"], stats["updated"], stats["unchanged"]) == (0, 0, 20)
    assert parsed == [] and state(t) == before


def test_only_the_changed_lines_are_parsed_and_they_are_applied(t, parsed: list[int]) -> None:  # noqa: ANN001
    ids = [t.create(f"issue {n}")["id"] for n in range(10)]
    export.flush(t)
    lines = path_of(t).read_text(encoding="utf-8").splitlines()
    obj = json.loads(lines[3])
    obj.update(title="from a peer", updated_at=ts(10**8))  # newer than anything local
    lines[3] = jsonl.dumps(obj)
    lines.append(jsonl.dumps(rec("test-zzz", "new from a peer", at=10**8)))
    path_of(t).write_text("\n".join(lines) + "\n", encoding="utf-8")
    stats = auto.before_command(t)
    assert stats is not None and (stats["created"], stats["updated"], stats["unchanged"]) == (1, 1, 9)
    assert parsed == [4, 11]
    assert t.get(obj["id"])["title"] == "from a peer" and t.get("test-zzz")["title"] == "new from a peer"
    assert recorded(t) == file_digests(path_of(t))  # the lines taken in are recorded too
    assert obj["id"] in ids


def test_a_stale_copy_of_a_line_is_parsed_and_brings_nothing(t, parsed: list[int]) -> None:  # noqa: ANN001
    a = t.create("a")
    export.flush(t)
    old = path_of(t).read_bytes()
    t.update(a["id"], title="a2")
    t.add_label(a["id"], "new")
    export.flush(t)
    path_of(t).write_bytes(old)  # e.g. a checkout of an older commit
    stats = auto.before_command(t)
    assert stats is not None and stats["updated"] == 0 and parsed == [1]
    assert t.get(a["id"])["title"] == "a2" and t.labels(a["id"]) == ["new"]


def test_an_id_on_two_lines_is_parsed_whole_and_the_newer_line_wins(t, parsed: list[int]) -> None:  # noqa: ANN001
    a = t.create("a")
    export.flush(t)
    line = path_of(t).read_text(encoding="utf-8").splitlines()[0]
    newer = json.loads(line)
    newer.update(title="newer", updated_at=ts(10**8))
    path_of(t).write_text(line + "\n" + jsonl.dumps(newer) + "\n", encoding="utf-8")
    auto.before_command(t)
    assert set(parsed) == {1, 2} and t.get(a["id"])["title"] == "newer"


def test_a_bad_line_among_known_lines_refuses_the_file_naming_its_line(t) -> None:  # noqa: ANN001
    for n in range(5):
        t.create(f"issue {n}")
    export.flush(t)
    lines = path_of(t).read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[2])
    bad.update(priority="high", updated_at=ts(10**8))
    lines[2] = jsonl.dumps(bad)
    path_of(t).write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = state(t)
    with pytest.raises(CorruptJSONL, match=r":3: .*priority"):
        importer.import_file(t, str(path_of(t)))
    lines.insert(4, "<<<<<<< HEAD")
    path_of(t).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CorruptJSONL, match=r"conflict markers \(line 5\)"):  # markers are named first
        importer.import_file(t, str(path_of(t)))
    assert state(t) == before


def test_a_digest_from_an_older_database_format_is_never_trusted(t, parsed: list[int]) -> None:  # noqa: ANN001
    a = t.create("a")
    export.flush(t)
    with t.store.transaction():  # what a classic Go bd leaves in export_hashes: a text content hash
        t.store.db.execute("UPDATE export_hashes SET content_hash = 'abc' WHERE issue_id = ?", (a["id"],))
    os.utime(path_of(t), ns=(1, 1))
    path_of(t).write_bytes(path_of(t).read_bytes())
    export.record_file_state(t.store, b"", None)  # forget the file's hash: it must be read
    auto.before_command(t)
    assert parsed == [1]


# -- the invariant, on a random walk ------------------------------------------------------------------


def _full_import_changes_nothing(t, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    before = state(t)
    with monkeypatch.context() as m:
        m.setattr(importer, "_DIGESTS_FROM", 1 << 62)  # no digests: every line parsed and merged
        stats = importer.absorb_file(t, str(path_of(t)), skip_prefix_validation=True, mark_dirty=False)
    assert stats is not None and (stats["created"], stats["updated"]) == (0, 0), stats
    assert state(t) == before


def test_skipped_lines_never_hide_a_change(t, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    rnd = random.Random(int(os.environ.get("BD_DIGEST_SEED", "7")))
    ids: list[str] = []
    history: list[str] = []  # every line the file ever had, to bring stale copies back
    clock = [10**6]

    def peer_line(line: str, newer: bool) -> str:
        obj = json.loads(line)
        clock[0] += 1000
        # a newer line is stamped now, or by a peer whose clock runs up to an hour ahead of ours
        # (our later writes are still stamped after it: timefmt.after)
        ahead = rnd.choice([0, 0, rnd.randrange(3600)]) * 10**9
        obj["updated_at"] = timefmt.format_ns(time.time_ns() + ahead, 0) if newer else ts(-clock[0])
        obj["title"] = f"peer {clock[0]}"
        if rnd.random() < 0.5:
            obj["labels"] = sorted({*obj.get("labels", []), f"p{rnd.randrange(3)}"})
        return jsonl.dumps(obj)

    for step in range(120):
        kind = rnd.random()
        if kind < 0.45 or not ids:  # local writes, usually flushed
            if not ids or rnd.random() < 0.3:
                ids.append(t.create(f"i{step}")["id"])
            else:
                target = rnd.choice(ids)
                choice = rnd.randrange(4)
                if choice == 0:
                    t.update(target, title=f"local {step}")
                elif choice == 1:
                    t.add_label(target, f"l{rnd.randrange(3)}")
                elif choice == 2:
                    for label in t.labels(target):
                        t.remove_label(target, label)
                else:
                    t.update(target, priority=rnd.randrange(5))
            if rnd.random() < 0.8:
                export.flush(t)
        else:  # the file changes behind our back: a peer's newer line, a stale copy, a new issue
            if not path_of(t).exists():
                continue
            lines = path_of(t).read_text(encoding="utf-8").splitlines()
            history.extend(lines)
            k = rnd.randrange(len(lines))
            roll = rnd.random()
            if roll < 0.4:
                lines[k] = peer_line(lines[k], newer=True)
            elif roll < 0.6:
                lines[k] = peer_line(lines[k], newer=False)
            elif roll < 0.8 and history:
                old = json.loads(rnd.choice(history))
                lines = [line for line in lines if json.loads(line)["id"] != old["id"]] + [jsonl.dumps(old)]
            else:
                new = f"test-p{step}"
                lines.append(jsonl.dumps(rec(new, at=clock[0])))
                ids.append(new)
            path_of(t).write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
            auto.before_command(t, warn=lambda text: None)
            _full_import_changes_nothing(t, monkeypatch)
    export.flush(t)
    assert recorded(t) == file_digests(path_of(t))


# -- a file compared with the one this database wrote (linescan.scan_against) -----------------------


def _twin(t, tmp_path: Path, name: str):  # noqa: ANN001, ANN202
    """A copy of the workspace's database (same rows, same recorded digests)."""
    import sqlite3

    import beads

    twin = workspace(tmp_path, name)
    twin.disconnect()
    db = Path(twin.workspace.db_path)
    for extra in ("", "-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    dst = sqlite3.connect(db)
    t.store.db.conn.backup(dst)
    dst.close()
    return beads.open(str(db.parent.parent))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_file_compared_with_ours_imports_exactly_what_a_full_parse_imports(
        t, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:  # noqa: ANN001
    """``bd import -i <file>`` skips the lines equal to lines of the JSONL this database wrote,
    without loading a digest. On a random walk of local writes (flushed or not, hard deletes
    included) and files made from our file or older versions of it (lines changed, newer or
    older, dropped, added, duplicated, blank, unsorted, bad), the database after the import
    equals the database after importing the same file into a copy with every line parsed."""
    rnd = random.Random(int(os.environ.get("BD_DIGEST_SEED", "0")) or seed)
    monkeypatch.setattr(linescan._Ours, "WINDOW", 64)  # lines cross windows
    used: list[bool] = []
    real = linescan.scan_against

    def spy(*args: object, **kwargs: object) -> linescan.Scan | None:
        scan = real(*args, **kwargs)  # type: ignore[arg-type]
        used.append(scan is not None)
        return scan

    monkeypatch.setattr(linescan, "scan_against", spy)
    ids: list[str] = []
    snapshots: list[list[str]] = []
    clock = [10**6]

    def peer(line: str, newer: bool) -> str:
        obj = json.loads(line)
        clock[0] += 1000
        obj["updated_at"] = timefmt.now() if newer else ts(-clock[0])
        obj["title"] = f"peer {clock[0]}" + "!" * rnd.randrange(3)
        if rnd.random() < 0.5:
            obj["labels"] = sorted({*obj.get("labels", []), f"p{rnd.randrange(3)}"})
        return jsonl.dumps(obj)

    for step in range(70):
        for _ in range(rnd.randrange(4)):
            roll = rnd.random()
            live = [i for i in ids if t.store.existing_ids([i])]
            if roll < 0.35 or not live:
                ids.append(t.create(f"i{step}", description="d" * rnd.randrange(40))["id"])
            elif roll < 0.6:
                t.update(rnd.choice(live), title=f"local {step}" + "x" * rnd.randrange(20))
            elif roll < 0.8:
                t.add_label(rnd.choice(live), f"l{rnd.randrange(3)}")
            elif roll < 0.85:
                t.update(rnd.choice(live), priority=rnd.randrange(5))
            else:
                t.delete([rnd.choice(live)], hard=True)
        if rnd.random() < 0.7:
            export.flush(t)
        if not path_of(t).exists():
            continue
        current = path_of(t).read_text(encoding="utf-8").splitlines()
        snapshots.append(current)
        lines = list(rnd.choice(snapshots) if rnd.random() < 0.3 else current)
        out: list[str] = []
        for line in lines:
            roll = rnd.random()
            if roll < 0.06:
                out.append(peer(line, newer=True))
            elif roll < 0.1:
                out.append(peer(line, newer=False))
            elif roll < 0.14:
                continue  # the file lacks a line ours has
            elif roll < 0.16:
                out += [line, peer(line, newer=rnd.random() < 0.5)]  # one ID on two lines
            elif roll < 0.18:
                out += [line, ""]
            else:
                out.append(line)
        for _ in range(rnd.randrange(3)):
            clock[0] += 1
            out.append(jsonl.dumps(rec(f"test-n{step}x{clock[0]}", at=clock[0])))
        if rnd.random() < 0.05 and out:
            bad = json.loads(out[rnd.randrange(len(out))] or jsonl.dumps(rec("test-bad")))
            bad["priority"] = "high"
            out.append(jsonl.dumps(bad))
        if rnd.random() < 0.85:
            out.sort(key=lambda line: line[:40])
        else:
            rnd.shuffle(out)
        incoming = tmp_path / f"in{step}.jsonl"
        incoming.write_text("".join(line + "\n" for line in out), encoding="utf-8")
        monkeypatch.setattr(linescan, "_BLOCK", rnd.choice([61, 500, 1 << 20]))  # blocks end mid-line

        twin = _twin(t, tmp_path, f"twin{step}")
        try:
            with monkeypatch.context() as m:
                m.setattr(importer, "_DIGESTS_FROM", 1 << 62)  # every line parsed
                try:
                    expected: object = importer.import_file(twin, str(incoming))
                except CorruptJSONL as exc:
                    expected = exc.message
            try:
                got: object = importer.import_file(t, str(incoming))
            except CorruptJSONL as exc:
                got = exc.message
            if isinstance(expected, str):
                assert got == expected
            else:
                assert isinstance(got, dict)
                keys = ("created", "updated", "unchanged", "skipped", "warnings")
                assert [got[k] for k in keys] == [expected[k] for k in keys]  # type: ignore[index]
            assert state(t)[:-1] == state(twin)[:-1]
        finally:
            twin.disconnect()
    assert used.count(True) >= 20, used  # the comparison did most of the work
    assert False in used  # and gave way where it does not pay


def test_scan_reads_a_file_bigger_than_one_block(tmp_path: Path) -> None:
    records = [rec(f"test-{n:05d}", "x" * 300) for n in range(5000)]  # ~2 MB: lines cross blocks
    data = jsonl.render(records).encode("utf-8")
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    known = linescan.digest_map(data)
    scan = linescan.scan_file(str(path), None, known)
    assert scan is not None and scan.skipped == 5000 and not scan.records
    assert scan.ids == [r["id"] for r in records] and scan.canonical
    assert scan.sha256 == hashlib.sha256(data).hexdigest()
    del known[hashlib.sha256(data.split(b"\n")[4321]).digest()]
    scan = linescan.scan_file(str(path), None, known)
    assert scan is not None and [r["id"] for r in scan.records] == ["test-04321"]


def test_sync_import_only_reads_a_file_it_wrote_itself_no_further(t, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from beads.sync import gitsync

    for n in range(3):
        t.create(f"issue {n}")
    export.flush(t)
    imported: list[str] = []
    real = importer.absorb_file

    def spy(tracker, path, **opts):  # noqa: ANN001, ANN003, ANN202
        imported.append(path)
        return real(tracker, path, **opts)

    monkeypatch.setattr(importer, "absorb_file", spy)
    report = gitsync.import_only(t, gitsync.SyncOptions(import_only=True), lambda text: None)
    assert imported == [] and report["imported"]["unchanged"] == 3
    os.utime(path_of(t), ns=(1, 1))  # touched, same bytes: still nothing to read
    gitsync.import_only(t, gitsync.SyncOptions(import_only=True), lambda text: None)
    assert imported == []
    line = json.loads(path_of(t).read_text(encoding="utf-8").splitlines()[0])
    line.update(title="edited", updated_at=timefmt.now())
    path_of(t).write_text(jsonl.dumps(line) + "\n" + "\n".join(path_of(t).read_text().splitlines()[1:]) + "\n")
    report = gitsync.import_only(t, gitsync.SyncOptions(import_only=True), lambda text: None)
    assert len(imported) == 1 and report["imported"]["updated"] == 1
