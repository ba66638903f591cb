"""The merge driver's streaming path against the in-memory merge: the same bytes, the same problems.

``merge_stream`` copies lines identical in all three files and merges only the ids that differ;
every test here writes canonical files (as ``bd export`` does) and checks that the streamed
output is byte for byte what ``merge_bytes`` (which parses everything) produces, with buffer
sizes small enough that lines straddle every refill.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_helpers import bd_ok, git, run_bd
from test_merge_driver import NOW, scenario

from beads.sync import merge_stream
from beads.sync.merge import collides, format_line, merge_bytes, merge_files, merge_in_memory
from beads.sync.merge_stream import Unstreamable, merge_streams

T0 = "2026-01-01T00:00:00Z"
# Each example writes four files through fsync: a short run in CI, BD_MERGE_EXAMPLES=2000 for a long one.
PROPERTY = settings(max_examples=int(os.environ.get("BD_MERGE_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def ts(day: int, hour: int = 0) -> str:
    return f"2026-01-{day:02d}T{hour:02d}:00:00Z"


def issue(issue_id: str, **fields: object) -> dict:
    rec = {"id": issue_id, "title": f"Title of {issue_id}", "status": "open", "priority": 2, "issue_type": "task",
           "created_at": T0, "updated_at": T0, "labels": ["a", "b"],
           "description": "A description long enough to make lines cross small buffers. " * 2}
    rec.update(fields)
    return rec


def canonical(records: list[dict]) -> bytes:
    """The file ``bd export`` writes for these records: sorted by id, one canonical line each."""
    return "".join(format_line(r) + "\n" for r in sorted(records, key=lambda r: r["id"])).encode()


def many(n: int = 60) -> list[dict]:
    return [issue(f"t-{k:03d}") for k in range(n)]


@contextmanager
def chunk_size(size: int) -> Iterator[None]:
    saved = merge_stream.CHUNK
    merge_stream.CHUNK = size
    try:
        yield
    finally:
        merge_stream.CHUNK = saved


def streamed(base: bytes | None, left: bytes, right: bytes, chunk: int = 256) -> tuple[bytes, list[str], list[str]]:
    """(output, conflicts, base problems) of the streaming path alone; raises ``Unstreamable``."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {name: Path(tmp, name) for name in ("base", "left", "right", "out")}
        if base is not None:
            files["base"].write_bytes(base)
        files["left"].write_bytes(left)
        files["right"].write_bytes(right)
        with chunk_size(chunk):
            done = merge_streams(str(files["out"]), str(files["base"]), str(files["left"]), str(files["right"]),
                                 now_ns=NOW)
        problems = done.left_problems + done.right_problems
        conflicts = [f"bad line {p.line_no} in {p.side}: {p.error}" for p in problems]
        return files["out"].read_bytes(), conflicts, [str(p) for p in done.base_problems]


def in_memory(base: bytes | None, left: bytes, right: bytes) -> tuple[bytes, list[str], list[str]]:
    text, conflicts, base_problems = merge_in_memory(base or b"", left, right, now_ns=NOW)
    return text.encode("utf-8", "surrogateescape"), [c.reason for c in conflicts], [str(p) for p in base_problems]


def assert_same(base: bytes | None, left: bytes, right: bytes, chunk: int = 256) -> bytes:
    fast = streamed(base, left, right, chunk)
    full = in_memory(base, left, right)
    assert fast[:2] == full[:2]
    text, conflicts, _ = merge_bytes(base or b"", left, right, now_ns=NOW)  # bd sync's merge: streamed too
    assert (text.encode("utf-8", "surrogateescape"), [c.reason for c in conflicts]) == full[:2]
    return fast[0]


def edit(records: list[dict], issue_id: str, **fields: object) -> list[dict]:
    return [dict(r, **fields) if r["id"] == issue_id else r for r in records]


def drop(records: list[dict], issue_id: str) -> list[dict]:
    return [r for r in records if r["id"] != issue_id]


# -- the fast paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [64, 300, 1 << 20])
def test_identical_files_are_copied_byte_for_byte(chunk: int) -> None:
    data = canonical(many())
    assert assert_same(data, data, data, chunk) == data


@pytest.mark.parametrize("where", [0, 1, 30, 58, 59])
def test_edits_on_one_side_each_are_merged_as_in_memory(where: int) -> None:
    base = many()
    left = edit(base, f"t-{where:03d}", title="left edit", updated_at=ts(2))
    right = edit(base, f"t-{59 - where:03d}", notes="right edit", updated_at=ts(3))
    out = assert_same(canonical(base), canonical(left), canonical(right))
    assert b"left edit" in out and b"right edit" in out


def test_an_edit_on_one_side_older_than_base_is_merged_as_in_memory() -> None:
    base = edit(many(), "t-010", updated_at=ts(5))
    right = edit(base, "t-010", title="edited with a stale clock", updated_at=ts(4))
    assert_same(canonical(base), canonical(base), canonical(right))


def test_the_same_issue_edited_on_both_sides_is_merged_field_by_field() -> None:
    base = many()
    left = edit(base, "t-020", title="left title", labels=["a", "b", "l"], notes="from left", updated_at=ts(2))
    right = edit(base, "t-020", priority=0, labels=["b", "r"], notes="from right", updated_at=ts(3))
    out = assert_same(canonical(base), canonical(left), canonical(right))
    merged = next(json.loads(line) for line in out.splitlines() if b'"t-020"' in line)
    assert merged["labels"] == ["b", "l", "r"] and merged["priority"] == 0 and merged["title"] == "left title"


def test_the_same_edit_on_both_sides_is_taken_once() -> None:
    base = many()
    both = edit(base, "t-005", title="same", updated_at=ts(2))
    assert_same(canonical(base), canonical(both), canonical(both))


def test_deletions_and_tombstones_are_merged_as_in_memory() -> None:
    base = many()
    tomb = {"status": "tombstone", "deleted_at": ts(4), "deleted_by": "ann", "updated_at": ts(4)}
    left = drop(edit(base, "t-030", **tomb), "t-001")  # t-001 deleted, untouched on the right: dropped
    left = drop(left, "t-002")  # t-002 deleted, edited on the right: kept
    right = edit(edit(base, "t-002", title="still wanted", updated_at=ts(3)), "t-030", title="edited", updated_at=ts(5))
    out = assert_same(canonical(base), canonical(left), canonical(right))
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert "t-001" not in ids and "t-002" in ids
    assert b'"status":"tombstone"' in out


def test_ids_present_on_one_side_only_are_kept() -> None:
    base = many()
    left = [*base, issue("a-first", created_at=ts(2)), issue("t-015.1", created_at=ts(2))]
    right = [*base, issue("z-last", created_at=ts(2)), issue("t-040.1", created_at=ts(2))]
    out = assert_same(canonical(base), canonical(left), canonical(right))
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert {"a-first", "t-015.1", "z-last", "t-040.1"} <= set(ids) and ids == sorted(ids)


def test_a_missing_base_merges_everything_as_added() -> None:
    left = many(20)
    right = edit(many(25), "t-003", title="right", updated_at=ts(2))
    assert_same(None, canonical(left), canonical(right))


def test_a_long_line_a_blank_line_and_a_last_line_without_newline() -> None:
    base = edit(many(), "t-007", description="x" * 5000)
    data = canonical(base).replace(b"\n", b"\n\n", 3)[:-1]
    left = canonical(edit(base, "t-050", title="left", updated_at=ts(2))).replace(b"\n", b"\n\n", 3)
    assert_same(data, left, data, chunk=128)


# -- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_bad_record_on_one_side_is_never_merged(side: str) -> None:
    base = many()
    bad = edit(base, "t-012", priority="high", updated_at=ts(2))
    good = edit(base, "t-040", title="fine", updated_at=ts(3))
    left, right = (bad, good) if side == "left" else (good, bad)
    out, conflicts, _ = streamed(canonical(base), canonical(left), canonical(right))
    assert conflicts == [f"bad line 13 in {side}: t-012: priority must be an integer 0-4, got \"high\""]
    assert out.count(b'"id":"t-012"') == 1 and b"<<<<<<< bd merge" in out  # only between the markers
    assert_same(canonical(base), canonical(left), canonical(right))


def test_a_bad_base_line_is_a_warning_when_it_is_read() -> None:
    base = edit(many(), "t-009", priority="high")
    left = edit(base, "t-009", priority=1, updated_at=ts(2))
    right = edit(base, "t-009", priority=3, updated_at=ts(3))
    fast = streamed(canonical(base), canonical(left), canonical(right))
    assert fast == in_memory(canonical(base), canonical(left), canonical(right))
    assert fast[2] == ["base:10: t-009: priority must be an integer 0-4, got \"high\""]


def test_a_line_identical_in_all_three_is_kept_as_it_is_without_validation() -> None:
    """The documented difference (docs/SYNC.md): nobody changed it, the import validates it later."""
    odd = b'{"id":"t-500","status":"open","title":"keys out of order","priority":"high"}\n'
    data = canonical(many()) + odd
    out, conflicts, _ = streamed(data, data, data)
    assert out == data and conflicts == []


def test_bd_merge_streams_and_exits_2_on_a_bad_record(tmp_path: Path) -> None:
    base = many()
    files = {n: tmp_path / n for n in ("base", "ours", "theirs")}
    files["base"].write_bytes(canonical(base))
    files["ours"].write_bytes(canonical(edit(base, "t-001", status="nonsense", updated_at=ts(2))))
    files["theirs"].write_bytes(canonical(edit(base, "t-002", title="fine", updated_at=ts(2))))
    proc = run_bd("merge", str(files["ours"]), str(files["base"]), str(files["ours"]), str(files["theirs"]),
                  cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("Error: bd merge: bad line 2 in left: t-001: ") and "status" in line


def test_bd_merge_reads_the_workspace_vocabulary_when_a_record_needs_it(tmp_path: Path) -> None:
    """The vocabulary is read lazily (only when a changed line is validated), but it is read."""
    ws = tmp_path / "ws"
    ws.mkdir()
    git(ws, "init", "-q", "-b", "main")
    bd_ok("init", "--prefix", "test", "--quiet", cwd=ws)
    bd_ok("config", "set", "status.custom", "review", cwd=ws)
    base = many()
    files = {n: tmp_path / n for n in ("base", "ours", "theirs")}
    for cwd, code in ((ws, 0), (tmp_path, 2)):  # in the workspace "review" is a status; elsewhere not
        files["base"].write_bytes(canonical(base))
        files["ours"].write_bytes(canonical(edit(base, "t-001", status="review", updated_at=ts(2))))
        files["theirs"].write_bytes(canonical(edit(base, "t-002", title="fine", updated_at=ts(2))))
        proc = run_bd("merge", str(files["ours"]), str(files["base"]), str(files["ours"]), str(files["theirs"]),
                      cwd=cwd)
        assert proc.returncode == code, proc.stderr
    assert b'"status":"review"' in files["ours"].read_bytes()


# -- falling back to the in-memory merge ----------------------------------------------------------


@pytest.mark.parametrize("name, mangle", [
    ("unsorted", lambda data: b"".join(sorted(data.splitlines(keepends=True), reverse=True))),
    ("duplicate", lambda data: data + data.splitlines(keepends=True)[3]),
    ("not canonical", lambda data: data.replace(b'{"id":"t-004"', b'{"id": "t-004"')),
    ("crlf", lambda data: data.replace(b"\n", b"\r\n")),
])
def test_files_the_stream_cannot_merge_fall_back_to_the_in_memory_merge(tmp_path: Path, name: str,
                                                                        mangle: object) -> None:
    base = many()
    left = mangle(canonical(edit(base, "t-004", title="left", updated_at=ts(2))))  # type: ignore[operator]
    right = canonical(edit(base, "t-040", title="right", updated_at=ts(3)))
    with pytest.raises(Unstreamable):
        streamed(canonical(base), left, right)
    files = {n: tmp_path / n for n in ("base", "left", "right")}
    for n, data in (("base", canonical(base)), ("left", left), ("right", right)):
        files[n].write_bytes(data)
    out = tmp_path / "out"
    merge_files(str(out), str(files["base"]), str(files["left"]), str(files["right"]), now_ns=NOW)
    assert out.read_bytes() == in_memory(canonical(base), left, right)[0]
    assert merge_bytes(canonical(base), left, right, now_ns=NOW)[0].encode() == out.read_bytes()
    assert b"left" in out.read_bytes() and b"right" in out.read_bytes()


def test_an_id_two_clones_gave_to_different_issues_falls_back_and_renames(tmp_path: Path) -> None:
    base = many()
    left = [*base, issue("t-001.1", created_at=ts(2), created_by="ann")]
    right = [*base, issue("t-001.1", created_at=ts(3), created_by="bob")]
    with pytest.raises(Unstreamable):
        streamed(canonical(base), canonical(left), canonical(right))
    paths = []
    for n, recs in (("base", base), ("left", left), ("right", right)):
        (tmp_path / n).write_bytes(canonical(recs))
        paths.append(str(tmp_path / n))
    renamed: dict[str, str] = {}
    merge_files(str(tmp_path / "out"), *paths, now_ns=NOW, renamed=renamed)
    assert renamed == {"t-001.1": "t-001.2"}


# -- properties: random edits give the same bytes both ways ---------------------------------------


@PROPERTY
@given(scenario(), st.sampled_from([32, 100, 1 << 20]))
def test_streaming_gives_the_in_memory_bytes_for_any_scenario(case: tuple, chunk: int) -> None:
    base, left, right = (canonical(x) for x in case)
    try:
        assert_same(base, left, right, chunk)
    except Unstreamable:
        lft, rgt = ({r["id"]: r for r in side} for side in case[1:])
        assert any(collides(lft[i], rgt[i]) for i in lft.keys() & rgt.keys())


def random_side(rng: random.Random, base: list[dict], name: str, hour: int) -> list[dict]:
    out = []
    for rec in base:
        roll = rng.random()
        if roll < 0.85:
            out.append(rec)
        elif roll < 0.9:
            continue  # deleted
        elif roll < 0.93:
            out.append(dict(rec, status="tombstone", deleted_at=ts(6, hour), deleted_by=name, updated_at=ts(6, hour)))
        else:
            out.append(dict(rec, title=rng.choice(["x", "y", name]), labels=sorted(rng.sample("abcd", 2)),
                            priority=rng.randint(0, 4), notes=rng.choice(["", name]), updated_at=ts(6, hour)))
    for k in range(rng.randint(0, 3)):
        out.append(issue(f"t-{rng.randint(0, 200):03d}.{name}{k}", created_at=ts(2), updated_at=ts(6, hour)))
    return out


@PROPERTY
@given(st.integers(0, 2**32), st.integers(0, 150), st.sampled_from([48, 200, 1000, 1 << 20]))
def test_streaming_gives_the_in_memory_bytes_for_random_edits_of_big_files(seed: int, n: int, chunk: int) -> None:
    rng = random.Random(seed)
    base = many(n)
    left, right = random_side(rng, base, "l", 2), random_side(rng, base, "r", 3)
    assert_same(canonical(base), canonical(left), canonical(right), chunk)
