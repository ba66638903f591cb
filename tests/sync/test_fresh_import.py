"""Import into an empty database (``sync/freshimport.py``): streamed in chunks, and the same result
as the general merge path, table by table and byte for byte in ``issues.jsonl``."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from jsonl_helpers import dep, jsonl_text, rec, ts, workspace
from sync_helpers import run_bd

from beads.errors import BdError
from beads.sync import export, freshimport, jsonl
from beads.sync.importer import import_file
from conftest import shared_data_file

# metadata that names this file or this moment, not the data
_VOLATILE_META = {"clone_id", "repo_id", "last_import_time", "jsonl_stat", "jsonl_canonical_stat", "jsonl_complete_stat",
                  "jsonl_written_stat"}


def _records(n: int, *, numbered_comments: bool = True, unknown_keys: bool = True) -> list[dict[str, Any]]:
    """``n`` top-level issues with children, every kind of field and relation."""
    rng = random.Random(n)
    out: list[dict[str, Any]] = []
    comment_id = 100
    for i in range(1, n + 1):
        issue_id = f"test-{i:04d}"
        fields: dict[str, Any] = {"description": "words " * rng.randint(0, 30), "priority": rng.randint(0, 4)}
        if i % 3 == 0:
            fields["labels"] = sorted({f"area-{rng.randint(1, 9)}" for _ in range(rng.randint(1, 3))})
        if i % 4 == 0 and i > 1:
            fields["dependencies"] = [dep(issue_id, f"test-{rng.randint(1, i - 1):04d}", at=i),
                                      dep(issue_id, "external:other:thing", "related", at=i + 1)]
        if i % 5 == 0:
            comments = []
            for who in ("alice", "bob"):
                comment_id += 1
                comments.append({"id": comment_id if numbered_comments or who == "alice" else None,
                                 "issue_id": issue_id, "author": who, "text": f"note {i} by {who}",
                                 "created_at": ts(i)})
            fields["comments"] = comments
        if i % 7 == 0:
            fields.update(status="closed", close_reason="done")
        if i % 11 == 0:
            fields.update(assignee="carol", external_ref=f"gh-{i}", estimated_minutes=30)
        if i % 13 == 0:
            fields.update(quality_score=0.5 if i % 2 else 1.0)
            if unknown_keys:
                fields.update(x_newer_tool={"kept": [1, 2]})
        if i % 17 == 0:
            fields.update(ephemeral=True)
        if i % 19 == 0:
            fields.update(status="tombstone", deleted_at=ts(i + 5), deleted_by="dave", delete_reason="dup")
        if i % 23 == 0:
            fields.update(design="<b>&</b>\u2028 é", notes="tab\there", pinned=True)
        out.append(rec(issue_id, f"issue {i} ünïcode", at=i, **fields))
        if i % 6 == 0:
            child = f"{issue_id}.{rng.randint(1, 3)}"
            out.append(rec(child, at=i, dependencies=[dep(child, issue_id, "parent-child", at=i)]))
    return out


def _canonical_text(records: list[dict[str, Any]]) -> str:
    return jsonl_text(*records)


def _loose_text(records: list[dict[str, Any]]) -> str:
    """Valid lines that are not canonical (spaces, key order): the flush writes the file."""
    return "".join(json.dumps(dict(reversed(list(r.items())))) + "\n" for r in records)


def _shuffled_text(records: list[dict[str, Any]]) -> str:
    lines = _canonical_text(records).splitlines(keepends=True)
    random.Random(7).shuffle(lines)
    return "".join(lines)


def _dump(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db_path)
    try:
        out = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            cols = [d[0] for d in conn.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
            if table == "metadata":
                rows = [r for r in rows if r[0] not in _VOLATILE_META]
            if table == "schema_migrations":  # when the workspace was created
                rows = [r[:2] for r in rows]
            if table == "export_hashes":  # line digests, stamped with the moment they were recorded
                at = cols.index("exported_at")
                rows = [r[:at] + ("T",) + r[at + 1:] for r in rows]
            if table == "events":  # stamped with the moment of the import
                at = cols.index("created_at")
                rows = [r[:at] + ("T",) + r[at + 1:] for r in rows]
            out[table] = sorted(rows, key=repr)
        out["indexes"] = sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall(),
                                key=repr)
        return out
    finally:
        conn.close()


def _import(tmp_path: Path, name: str, source: Path, *, fresh: bool, monkeypatch: pytest.MonkeyPatch,
            existing_file: bool = False, prefix: str = "test", **opts: Any) -> tuple[Any, bytes | None, dict[str, Any]]:
    """Import ``source`` into a new workspace by one path, then flush as a command's end does."""
    monkeypatch.setattr(freshimport, "MIN_BYTES", 0 if fresh else 1 << 60)
    taken: list[bool] = []
    original = freshimport.import_new

    def spy(*args: Any, **kw: Any) -> Any:
        result = original(*args, **kw)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(freshimport, "import_new", spy)
    t = workspace(tmp_path, name, prefix)
    jsonl_path = Path(t.workspace.jsonl_path)
    if existing_file:
        jsonl_path.write_text("")
    written_by_import = False
    try:
        try:
            outcome: Any = import_file(t, str(source), **opts)
        except BdError as exc:
            outcome = ("error", type(exc).__name__, exc.message)
        else:
            written_by_import = jsonl_path.exists() and not existing_file
            export.flush(t)
            assert not t.store.dirty_marks()
            with t.store.read_snapshot():
                assert jsonl_path.read_bytes() == jsonl.render(jsonl.export_records(t.store)).encode()
        data = jsonl_path.read_bytes() if jsonl_path.exists() else None
        state = _dump(Path(t.workspace.beads_dir) / "beads.db")
        state["fresh path taken"] = [tuple(taken)]
        state["file written by the import"] = [(written_by_import,)]
        return outcome, data, state
    finally:
        t.disconnect()


@pytest.mark.parametrize("layout", ["canonical", "unknown keys", "loose", "shuffled", "unnumbered comments",
                                    "existing file"])
def test_a_chunked_import_gives_what_the_general_path_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            layout: str) -> None:
    records = _records(700, numbered_comments=layout != "unnumbered comments", unknown_keys=layout != "canonical")
    text = _loose_text(records) if layout == "loose" else (
        _shuffled_text(records) if layout == "shuffled" else _canonical_text(records))
    source = tmp_path / "in.jsonl"
    source.write_text(text, encoding="utf-8")
    monkeypatch.setattr("beads.sync.recordmerge.CHUNK", 97)  # the general path drops and rebuilds the indexes too
    monkeypatch.setattr(freshimport, "_CHUNK", 89)  # many chunks
    existing = layout == "existing file"
    fast = _import(tmp_path, "fast", source, fresh=True, monkeypatch=monkeypatch, existing_file=existing)
    general = _import(tmp_path, "general", source, fresh=False, monkeypatch=monkeypatch, existing_file=existing)
    assert fast[2].pop("fresh path taken") == [(True,)]
    assert general[2].pop("fresh path taken") == [(False,)]
    assert fast[2].pop("file written by the import") == [(layout == "canonical",)]
    assert general[2].pop("file written by the import") == [(False,)]
    assert fast[0] == general[0]
    assert fast[1] == general[1]
    assert fast[2] == general[2]
    if layout == "canonical":  # the lines read are the file written
        wisps = {r["id"] for r in records if r.get("ephemeral")}
        kept = [line for line in text.splitlines(keepends=True) if json.loads(line)["id"] not in wisps]
        assert fast[1] == "".join(kept).encode()


def test_the_file_is_written_from_the_lines_read_when_they_are_canonical(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "in.jsonl"
    plain = [{k: v for k, v in r.items() if k != "x_newer_tool"} for r in _records(300) if not r.get("ephemeral")]
    source.write_text(_canonical_text(plain), encoding="utf-8")
    monkeypatch.setattr(freshimport, "MIN_BYTES", 0)
    t = workspace(tmp_path)
    try:
        stats = import_file(t, str(source))
        path = Path(t.workspace.jsonl_path)
        # before any flush: in place, recorded as the database's complete, canonical file
        assert path.read_bytes() == source.read_bytes()
        assert stats["created"] == len(jsonl.line_ids(source.read_text()))
        assert not t.store.dirty_marks()
        assert export.flush(t) is False
        assert not list(path.parent.glob("issues.jsonl.tmp.*"))
    finally:
        t.disconnect()


@pytest.mark.parametrize("case", ["duplicate id", "other prefix", "external_ref twice", "strict orphan",
                                  "comment id twice", "bad record", "conflict marker", "invalid utf-8"])
def test_what_the_general_path_treats_specially_is_left_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              case: str) -> None:
    records = _records(120)
    opts: dict[str, Any] = {}
    if case == "duplicate id":
        records.append({**records[3], "title": "a later copy", "updated_at": ts(10**5)})
    elif case == "other prefix":
        records.append(rec("other-1"))
    elif case == "external_ref twice":
        records.append(rec("test-9999", external_ref="gh-11"))
    elif case == "strict orphan":
        records.append(rec("test-7777.1"))
        opts["orphan_handling"] = "strict"
    elif case == "comment id twice":
        records.append(rec("test-9998", comments=[{**records[4]["comments"][0], "issue_id": "test-9998",
                                                   "text": "again"}]))
    data = _canonical_text(records).encode()
    if case == "bad record":
        data += b'{"id":"test-9997","title":"x","priority":"high"}\n'
    elif case == "conflict marker":
        data += b"<<<<<<< HEAD\n"
    elif case == "invalid utf-8":
        data += b'{"id":"test-9996","title":"\xff"}\n'
    source = tmp_path / "in.jsonl"
    source.write_bytes(data)
    monkeypatch.setattr(freshimport, "_CHUNK", 50)  # the second use lands in a later chunk
    fast = _import(tmp_path, "fast", source, fresh=True, monkeypatch=monkeypatch, **opts)
    general = _import(tmp_path, "general", source, fresh=False, monkeypatch=monkeypatch, **opts)
    for side in (fast, general):
        assert side[2].pop("fresh path taken") == [(False,)]
        assert side[2].pop("file written by the import") == [(False,)]
    assert fast == general


def test_a_bad_record_at_the_end_of_a_big_file_leaves_nothing(bd: Any, repo: Path, tmp_path: Path) -> None:
    """Streamed in chunks, the import has inserted most of the file when it meets the bad line:
    the rollback leaves the database empty, and no issues.jsonl (nor a temp file) appears."""
    records = [rec(f"test-{i:05d}", description="d" * 400, labels=["x"]) for i in range(1, 3001)]
    text = _canonical_text(records) + '{"id":"test-99999","title":"last","priority":"high"}\n'
    source = tmp_path / "big.jsonl"
    source.write_text(text, encoding="utf-8")
    assert source.stat().st_size > freshimport.MIN_BYTES
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    result = run_bd("import", "-i", str(source), cwd=repo)
    assert result.returncode != 0
    assert "3001" in result.stderr and "test-99999" in result.stderr and "priority" in result.stderr
    assert "Traceback" not in result.stderr
    assert bd.json("count")["count"] == 0
    beads_dir = repo / ".beads"
    assert not (beads_dir / "issues.jsonl").exists()
    assert not list(beads_dir.glob("issues.jsonl.tmp.*"))
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest
    # and the same file without its bad line imports whole, written back byte for byte
    source.write_text(_canonical_text(records), encoding="utf-8")
    bd("import", "-i", str(source))
    assert bd.json("count")["count"] == 3000
    assert (beads_dir / "issues.jsonl").read_bytes() == source.read_bytes()


@pytest.mark.parametrize("line", [
    '{"id":"test-1","title":"t","status":"open","priority":2,"issue_type":"task","created_at":"2025-01-01T00:00:00Z",'
    '"updated_at":"2025-01-01T00:00:00Z","labels":["a","a"]}',
    '{"id":"test-1","title":"t","status":"open","priority":2,"issue_type":"task","created_at":"2025-01-01T00:00:00Z",'
    '"updated_at":"2025-01-01T00:00:00Z","comments":[{"id":1,"issue_id":"test-1","author":"a","text":"x",'
    '"created_at":"2025-01-01T00:00:00Z"},{"id":2,"issue_id":"test-1","author":"a","text":"x ",'
    '"created_at":"2025-01-01T00:00:00Z"}]}',
    '{"id":"test-1","title":"t","status":"open","priority":2,"issue_type":"task","created_at":"2025-01-01T00:00:00Z",'
    '"updated_at":"2025-01-01T00:00:00Z","dependencies":[{"issue_id":"test-1","depends_on_id":"test-2",'
    '"type":"blocks","created_at":""}]}',
    '{"id":"test-1","title":"t","status":"open","priority":2,"issue_type":"task","created_at":"2025-01-01T00:00:00Z",'
    '"updated_at":"2025-01-01T00:00:00Z","x_unknown":1}',
    '{"id":"test-1","title":"t","priority":2,"status":"open","issue_type":"task","created_at":"2025-01-01T00:00:00Z",'
    '"updated_at":"2025-01-01T00:00:00Z"}',
])
def test_lines_the_database_would_write_differently_are_not_canonical(line: str) -> None:
    assert not jsonl.is_canonical_line(jsonl.parse_line(line, 1, "x", None), line)


def test_a_canonical_line_is_recognised() -> None:
    line = jsonl.issue_line(rec("test-1", labels=["a", "b"], dependencies=[dep("test-1", "test-2")]))
    assert jsonl.is_canonical_line(jsonl.parse_line(line, 1, "x", None), line)


def test_a_file_another_process_wrote_meanwhile_is_kept_and_gets_the_issues(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    plain = [{k: v for k, v in r.items() if k != "x_newer_tool"} for r in _records(200) if not r.get("ephemeral")]
    source = tmp_path / "in.jsonl"
    source.write_text(_canonical_text(plain), encoding="utf-8")
    monkeypatch.setattr(freshimport, "MIN_BYTES", 0)
    t = workspace(tmp_path)
    path = Path(t.workspace.jsonl_path)
    original = freshimport._Reader.install

    def late_writer(self: Any, *args: Any) -> bool:
        path.write_text("")  # another process's flush, between our commit and our rename
        return original(self, *args)

    monkeypatch.setattr(freshimport._Reader, "install", late_writer)
    try:
        stats = import_file(t, str(source))
        assert stats["created"] == len(plain)
        assert path.read_text() == "" and len(t.store.dirty_marks()) == len(plain)
        assert not list(path.parent.glob("issues.jsonl.tmp.*"))
        export.flush(t)
        assert path.read_bytes() == source.read_bytes()
        assert not t.store.dirty_marks()
    finally:
        t.disconnect()


def test_without_fork_the_same_work_runs_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(300, unknown_keys=False)
    source = tmp_path / "in.jsonl"
    source.write_text(_canonical_text(records), encoding="utf-8")
    monkeypatch.setattr(freshimport, "_CHUNK", 70)
    forked = _import(tmp_path, "forked", source, fresh=True, monkeypatch=monkeypatch)
    monkeypatch.delattr(freshimport.os, "fork")
    here = _import(tmp_path, "here", source, fresh=True, monkeypatch=monkeypatch)
    assert here[2]["fresh path taken"] == [(True,)] and here[2]["file written by the import"] == [(True,)]
    assert forked == here


def test_the_original_tools_file_takes_the_streamed_path_with_the_same_result(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1.9 MB issues.jsonl written by the original bd: its lines are canonical, so the new file is
    the lines read; the database is the general path's (but for the sampled planner statistics)."""
    source = shared_data_file("beads-v0.47.0-issues.jsonl")
    prefix = jsonl.line_ids(source.read_text(encoding="utf-8"))[0].rpartition("-")[0]
    fast = _import(tmp_path, "fast", source, fresh=True, monkeypatch=monkeypatch, prefix=prefix)
    general = _import(tmp_path, "general", source, fresh=False, monkeypatch=monkeypatch, prefix=prefix)
    assert fast[2].pop("fresh path taken") == [(True,)] and fast[2].pop("file written by the import") == [(True,)]
    general[2].pop("fresh path taken")
    general[2].pop("file written by the import")
    for side in (fast, general):
        side[2].pop("sqlite_stat1", None)  # ANALYZE's sampled estimates depend on the page layout
    assert fast == general
    assert fast[1] == source.read_bytes()


def test_a_process_with_other_threads_never_forks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    records = _records(300, unknown_keys=False)
    source = tmp_path / "in.jsonl"
    source.write_text(_canonical_text(records), encoding="utf-8")
    monkeypatch.setattr(freshimport, "_CHUNK", 70)

    def no_fork() -> int:
        raise AssertionError("forked with other threads running")

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        monkeypatch.setattr(freshimport.os, "fork", no_fork)
        here = _import(tmp_path, "threaded", source, fresh=True, monkeypatch=monkeypatch)
    finally:
        stop.set()
        other.join(timeout=10)
    assert here[2]["fresh path taken"] == [(True,)]
