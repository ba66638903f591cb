"""One bad record never poisons the workspace (issue 6, requirement 3).

Every record read from a JSONL is judged by ``model.record_problem``, the CLI's rules. The
table below holds one bad record per kind: a wrong type for every field of the model, unknown
status and type, bad IDs, bad nested shapes, self-dependency, own parent, bad timestamps and
priorities. The validator is checked against all of them directly; representative kinds then
arrive through each boundary with the real ``bd``: auto-import (reads work, writes land in the
database with one warning and leave the foreign file alone), ``bd import -i``, ``bd sync`` from
a peer through a bare remote (the pull is undone) and the merge driver (exit 2).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from sync_helpers import BD_DIR, bd_ok, git, run_bd

from beads import model
from beads.errors import CorruptJSONL
from beads.sync import jsonl

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-02T00:00:00Z"
BAD_ID = "test-bad"


def good(issue_id: str = BAD_ID, **fields: object) -> dict:
    rec: dict = {"id": issue_id, "title": "A title", "status": "open", "priority": 2, "issue_type": "task",
                 "created_at": T0, "updated_at": T0}
    rec.update(fields)
    return rec


def dep(target: str, dep_type: object = "blocks", **fields: object) -> dict:
    return {"issue_id": BAD_ID, "depends_on_id": target, "type": dep_type, "created_at": T0, **fields}


def comment(**fields: object) -> dict:
    return {"id": 1, "issue_id": BAD_ID, "author": "a", "text": "hi", "created_at": T0, **fields}


# A value of the wrong type for each kind of field (s/S string, i/I int, n nullable, b bool, l list, o object).
WRONG_BY_KIND = {"s": 7, "S": ["x"], "i": "3", "I": "3", "b": "yes", "l": "x", "o": "x"}
WRONG_NULLABLE = {"estimated_minutes": "ten", "closed_at": 5, "due_at": True, "defer_until": [], "external_ref": 9,
                  "compacted_at": "soon", "compacted_at_commit": 1, "deleted_at": {}, "quality_score": "high",
                  "last_activity": 3}

# (case name, the bad record, the field the message must name)
CASES: list[tuple[str, dict, str]] = []
for _name, _kind in model.FIELDS:
    if _name == "id":
        continue
    _wrong = WRONG_NULLABLE[_name] if _kind == "n" else WRONG_BY_KIND[_kind]
    CASES.append((f"type-{_name}", good(**{_name: _wrong}), _name))
CASES += [
    ("status-unknown", good(status="wip"), "status"),
    ("status-number", good(status=1), "status"),
    ("type-unknown", good(issue_type="story"), "issue_type"),
    ("agent-state-unknown", good(agent_state="sleepy"), "agent_state"),
    ("title-missing", {k: v for k, v in good().items() if k != "title"}, "title"),
    ("title-blank", good(title="   "), "title"),
    ("title-too-long", good(title="x" * 501), "title"),
    ("priority-5", good(priority=5), "priority"),
    ("priority-minus-1", good(priority=-1), "priority"),
    ("priority-true", good(priority=True), "priority"),
    ("priority-string-1", good(priority="1"), "priority"),
    ("priority-1.5", good(priority=1.5), "priority"),
    ("priority-word", good(priority="high"), "priority"),
    ("estimate-negative", good(estimated_minutes=-5), "estimated_minutes"),
    ("estimate-huge", good(estimated_minutes=2**64), "estimated_minutes"),
    ("estimate-bool", good(estimated_minutes=False), "estimated_minutes"),
    ("score-bool", good(quality_score=True), "quality_score"),
    ("created-at-words", good(created_at="yesterday"), "created_at"),
    ("updated-at-month-13", good(updated_at="2026-13-01T00:00:00Z"), "updated_at"),
    ("closed-at-hour-25", good(status="closed", closed_at="2026-01-01T25:00:00Z"), "closed_at"),
    ("due-at-number", good(due_at=20260101), "due_at"),
    ("id-space", good("test bad"), "id"),
    ("id-tab", good("test-\tbad"), "id"),
    ("id-newline", good("test-bad\n"), "id"),
    ("id-slash", good("test/bad"), "id"),
    ("id-dotdot", good("test-..bad"), "id"),
    ("id-traversal", good("../test-bad"), "id"),
    ("id-escape", good("test-\x1b[31mbad"), "id"),
    ("id-nul", good("test-\x00bad"), "id"),
    ("id-too-long", good("test-" + "a" * 200), "id"),
    ("id-leading-dash", good("-test-bad"), "id"),
    ("id-unicode-space", good("test-\u00a0bad"), "id"),
    ("labels-string", good(labels="urgent"), "labels"),
    ("labels-number-item", good(labels=["ok", 3]), "labels"),
    ("labels-blank-item", good(labels=["ok", " "]), "labels"),
    ("labels-object", good(labels={"a": 1}), "labels"),
    ("deps-object", good(dependencies={"depends_on_id": "test-x"}), "dependencies"),
    ("deps-string-item", good(dependencies=["test-x"]), "dependencies"),
    ("deps-missing-target", good(dependencies=[{"type": "blocks"}]), "dependencies"),
    ("deps-bad-target", good(dependencies=[dep("test x")]), "dependencies"),
    ("deps-type-number", good(dependencies=[dep("test-x", 3)]), "dependencies"),
    ("deps-type-too-long", good(dependencies=[dep("test-x", "t" * 51)]), "dependencies"),
    ("deps-other-owner", good(dependencies=[dep("test-x", issue_id="test-other")]), "dependencies"),
    ("deps-bad-created-at", good(dependencies=[dep("test-x", created_at="noon")]), "dependencies"),
    ("deps-metadata-object", good(dependencies=[dep("test-x", metadata={"gate": "all"})]), "dependencies"),
    ("deps-self", good(dependencies=[dep(BAD_ID)]), "dependencies"),
    ("deps-own-parent", good(dependencies=[dep(BAD_ID, "parent-child")]), "dependencies"),
    ("deps-descendant-parent", good(dependencies=[dep(BAD_ID + ".1", "parent-child")]), "dependencies"),
    ("comments-string", good(comments="hello"), "comments"),
    ("comments-string-item", good(comments=["hello"]), "comments"),
    ("comments-id-string", good(comments=[comment(id="1")]), "comments"),
    ("comments-id-bool", good(comments=[comment(id=True)]), "comments"),
    ("comments-other-owner", good(comments=[comment(issue_id="test-other")]), "comments"),
    ("comments-text-number", good(comments=[comment(text=5)]), "comments"),
    ("comments-bad-created-at", good(comments=[comment(created_at="later")]), "comments"),
    ("waiters-number-item", good(waiters=["a", 1]), "waiters"),
    ("bonded-from-string-item", good(bonded_from=["x"]), "bonded_from"),
]


def line_of(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False)


# Lines json.dumps cannot produce from a dict: a lone surrogate escape, a non-finite number.
RAW_CASES = [
    ("title-lone-surrogate", '{"id":"test-bad","title":"x\\ud800y","status":"open","priority":1}', "title"),
    ("extra-lone-surrogate", '{"id":"test-bad","title":"x","x_new":["\\udfff"],"priority":1}', "x_new"),
    ("score-nan", '{"id":"test-bad","title":"x","quality_score":NaN,"priority":1}', "quality_score"),
    ("score-infinity", '{"id":"test-bad","title":"x","quality_score":Infinity,"priority":1}', "quality_score"),
]
ALL_LINES = [(name, line_of(rec), field) for name, rec, field in CASES] + RAW_CASES


# -- the validator, exhaustively ------------------------------------------------------------------


def test_every_field_of_the_model_has_a_wrong_type_case() -> None:
    covered = {field for name, _, field in CASES if name.startswith("type-")}
    assert covered == {name for name, _ in model.FIELDS} - {"id"}


def test_a_record_using_every_field_correctly_is_accepted() -> None:
    """The table cannot pass by refusing everything: each field with a value of its type is fine."""
    full = good(description="d", design="d", acceptance_criteria="a", notes="n", assignee="me", owner="o",
                estimated_minutes=30, created_by="me", status="closed", closed_at=T1, close_reason="done",
                closed_by_session="s", due_at=T1, defer_until=T1, external_ref="gh-1", source_system="gh",
                compaction_level=1, compacted_at=T1, compacted_at_commit="abc", original_size=10,
                labels=["a", "b"], dependencies=[dep("test-x"), dep("external:proj:cap"),
                                                  dep("test-p", "parent-child", created_by="me", metadata="{}",
                                                      thread_id="t")],
                comments=[comment(), {"text": "minimal"}], deleted_at=None, deleted_by="", delete_reason="", original_type="",
                sender="s", ephemeral=False, pinned=True, is_template=False,
                bonded_from=[{"proto_id": "p", "bond_type": "b"}], creator={"name": "n"},
                validations=[{"outcome": "ok"}], quality_score=0.5, crystallizes=True, await_type="gh",
                await_id="1", timeout=1000, waiters=["w"], holder="h", source_formula="f", source_location="l",
                hook_bead="h", role_bead="r", agent_state="idle", last_activity=T1, role_type="r", rig="r",
                mol_type="m", work_type="w", event_kind="e", actor="a", target="t", payload="p",
                x_newer_tool={"kept": [1, 2]})
    assert {name for name, _ in model.FIELDS} <= set(full)
    assert model.record_problem(full) is None
    assert jsonl.parse_jsonl(line_of(full) + "\n", "f.jsonl")[0]["x_newer_tool"] == {"kept": [1, 2]}


@pytest.mark.parametrize(("line", "field"), [(line, field) for _, line, field in ALL_LINES],
                         ids=[name for name, _, _ in ALL_LINES])
def test_a_bad_record_refuses_the_file_naming_line_id_and_field(line: str, field: str) -> None:
    text = line_of(good("test-ok")) + "\n" + line + "\n"
    with pytest.raises(CorruptJSONL) as info:
        jsonl.parse_jsonl(text, "issues.jsonl")
    message = info.value.message
    assert "\n" not in message
    assert message.startswith("issues.jsonl:2: ")
    head, _, problem = message.partition(": ")[2].partition(": ")
    assert problem.startswith(field), message
    if field != "id":
        assert head == BAD_ID
    assert "Error" not in message and "Traceback" not in message


@pytest.mark.parametrize(("name", "line"), [(name, line) for name, line, _ in ALL_LINES],
                         ids=[name for name, _, _ in ALL_LINES])
def test_the_merge_driver_parser_refuses_the_same_lines(name: str, line: str) -> None:
    from beads.sync.merge import parse_records

    records, problems = parse_records((line_of(good("test-ok")) + "\n" + line + "\n").encode(), "theirs")
    assert [r["id"] for r in records] == ["test-ok"]
    assert [p.line_no for p in problems] == [2]


def test_custom_statuses_and_types_come_from_the_vocabulary() -> None:
    rec = good(status="review", issue_type="story")
    assert model.record_problem(rec) is not None
    assert model.record_problem(rec, model.Vocab(["review"], ["story"])) is None
    assert model.record_problem(rec, model.Vocab(["review"], [])) == (
        'issue_type must be a known issue type (built-in or types.custom), got "story"')


def test_nulls_legacy_shapes_and_tombstones_stay_accepted() -> None:
    # null is the zero value (as Go reads it); old files omit status, type, priority; tombstones may lack a title
    assert model.record_problem({"id": "bd-1", "title": "t", "status": None, "priority": None, "labels": None,
                                 "closed_at": None, "description": None}) is None
    assert model.record_problem({"id": "bd-1", "title": "t"}) is None
    assert model.record_problem({"id": "bd-1", "status": "tombstone", "deleted_at": T0}) is None
    assert model.record_problem(good(created_at="2025-01-02 03:04:05.5-08:00", updated_at="2025-01-02")) is None


def test_the_cli_refuses_the_same_ids(tmp_path: Path) -> None:
    import beads
    from beads.errors import InvalidInput

    (tmp_path / "lib").mkdir()
    tracker = beads.init(str(tmp_path / "lib"), prefix="test", actor="tester")
    try:
        for bad in ("test-a/b", "test-a..b", "test-a b", "test-\x1b"):
            with pytest.raises(InvalidInput, match="invalid ID format"):
                tracker.create("t", id=bad)
    finally:
        tracker.disconnect()


def test_import_records_applies_the_rules_to_records_from_any_source(tmp_path: Path) -> None:
    import beads
    from beads.errors import InvalidInput
    from beads.sync.importer import import_records

    (tmp_path / "lib").mkdir()
    tracker = beads.init(str(tmp_path / "lib"), prefix="test", actor="tester")
    try:
        with pytest.raises(InvalidInput, match="cannot import test-bad: labels"):
            import_records(tracker, [good("test-ok"), good(labels="x")])
        assert tracker.store.all_ids() == []
    finally:
        tracker.disconnect()


# -- end to end: the real `bd` ----------------------------------------------------------------------

# One kind of each sort, for the paths that cost real processes.
E2E = {name: line for name, line, _ in ALL_LINES if name in (
    "priority-word", "priority-true", "status-unknown", "type-unknown", "id-slash", "id-space",
    "labels-string", "deps-string-item", "deps-self", "deps-own-parent", "comments-other-owner",
    "created-at-words", "type-title", "title-lone-surrogate")}
E2E_FIELD = {name: field for name, _, field in ALL_LINES}


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hooks and the merge driver call `bd` by name."""
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))


def db_ids(ws: Path) -> set[str]:
    with sqlite3.connect(f"file:{ws / '.beads' / 'beads.db'}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT id FROM issues")}


def db_title(ws: Path, issue_id: str) -> str:
    with sqlite3.connect(f"file:{ws / '.beads' / 'beads.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT title FROM issues WHERE id = ?", (issue_id,)).fetchone()[0]


def init_workspace(path: Path) -> tuple[Path, str]:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    bd_ok("init", "--prefix", "test", "--quiet", cwd=path)
    first = bd_ok("create", "first", "--silent", cwd=path).stdout.strip()
    return path, first


def poison(jsonl_path: Path, bad_line: str, existing: str) -> bytes:
    """Edit an existing issue's title (a valid change) and append the bad line: the file is refused whole."""
    lines = jsonl_path.read_text(encoding="utf-8").splitlines()
    edited = [line.replace('"title":"first"', '"title":"edited by hand"') if existing in line else line
              for line in lines]
    jsonl_path.write_text("\n".join(edited + [bad_line]) + "\n", encoding="utf-8")
    return jsonl_path.read_bytes()


def assert_names_the_record(text: str, name: str) -> None:
    assert "issues.jsonl:2: " in text, text
    assert E2E_FIELD[name] in text, text
    if E2E_FIELD[name] != "id":
        assert f": {BAD_ID}: " in text, text


@pytest.mark.parametrize("name", sorted(E2E))
def test_auto_import_refuses_the_file_but_reads_and_writes_work(tmp_path: Path, name: str) -> None:
    ws, first = init_workspace(tmp_path / "ws")
    path = ws / ".beads" / "issues.jsonl"
    before = poison(path, E2E[name], first)

    read = run_bd("list", "--json", cwd=ws)
    assert read.returncode == 0, read.stderr
    assert [i["id"] for i in json.loads(read.stdout)] == [first]
    assert read.stderr.count("\n") == 1, read.stderr
    assert_names_the_record(read.stderr, name)

    write = run_bd("create", "second", "--silent", cwd=ws)
    assert write.returncode == 0, write.stderr
    second = write.stdout.strip()
    (warning,) = write.stderr.splitlines()
    assert "was not updated" in warning
    assert_names_the_record(warning, name)
    assert "Traceback" not in write.stderr and "Error:" not in write.stderr

    assert path.read_bytes() == before  # the foreign file, byte for byte
    assert db_ids(ws) == {first, second}  # nothing of the bad file, the write landed
    assert db_title(ws, first) == "first"


def test_once_the_file_is_fixed_the_next_command_imports_it_and_flushes_the_held_writes(tmp_path: Path) -> None:
    ws, first = init_workspace(tmp_path / "ws")
    path = ws / ".beads" / "issues.jsonl"
    poison(path, E2E["priority-word"], first)
    second = bd_ok("create", "second", "--silent", cwd=ws).stdout.strip()
    path.write_text(path.read_text().replace('"priority": "high"', '"priority": 1'))
    fixed = run_bd("list", "--json", cwd=ws)
    assert fixed.returncode == 0 and fixed.stderr == ""
    assert {i["id"] for i in json.loads(fixed.stdout)} == {first, second, BAD_ID}
    bd_ok("update", first, "--notes", "flush now", cwd=ws)
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    assert sorted(ids) == sorted([first, second, BAD_ID])


@pytest.mark.parametrize("name", sorted(E2E))
def test_bd_import_refuses_the_file_with_one_line(tmp_path: Path, name: str) -> None:
    ws, first = init_workspace(tmp_path / "ws")
    other = tmp_path / "issues.jsonl"
    other.write_text(json.dumps(good("test-ok")) + "\n" + E2E[name] + "\n", encoding="utf-8")
    proc = run_bd("import", "-i", str(other), cwd=ws)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith("Error: ")
    assert_names_the_record(line, name)
    assert db_ids(ws) == {first}  # not even the good line


def test_a_custom_status_from_config_is_imported(tmp_path: Path) -> None:
    ws, first = init_workspace(tmp_path / "ws")
    bd_ok("config", "set", "status.custom", "review", cwd=ws)
    other = tmp_path / "issues.jsonl"
    other.write_text(json.dumps(good(status="review")) + "\n", encoding="utf-8")
    bd_ok("import", "-i", str(other), cwd=ws)
    assert db_ids(ws) == {first, BAD_ID}


# -- bd sync from a peer through a bare remote ------------------------------------------------------


def two_clones(tmp_path: Path) -> tuple[Path, Path, str]:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    a = tmp_path / "a"
    git(tmp_path, "clone", "-q", str(remote), str(a))
    bd_ok("init", "--prefix", "test", "--quiet", cwd=a)
    first = bd_ok("create", "first", "--silent", cwd=a).stdout.strip()
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "add beads")
    git(a, "push", "-q", "-u", "origin", "main")
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(b))
    bd_ok("init", "--prefix", "test", "--quiet", cwd=b)
    return a, b, first


def push_bad_line(peer: Path, bad_line: str, *, also_edit: str | None = None) -> str:
    """The peer commits a hand-edited JSONL with the bad record (bypassing bd) and pushes it."""
    path = peer / ".beads" / "issues.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    if also_edit:
        lines = [line.replace('"title":"first"', f'"title":"{also_edit}"') for line in lines]
    path.write_text("\n".join(lines + [bad_line]) + "\n", encoding="utf-8")
    git(peer, "commit", "-q", "--no-verify", "-am", "hand edit")
    git(peer, "push", "-q", "--no-verify", "origin", "main")
    return git(peer, "rev-parse", "--short", "HEAD").stdout.strip()


SYNC_CASES = ("priority-word", "id-slash", "deps-self", "status-unknown", "title-lone-surrogate")


@pytest.mark.parametrize("name", SYNC_CASES)
def test_bd_sync_undoes_a_pull_that_brings_a_bad_record(tmp_path: Path, name: str) -> None:
    a, b, first = two_clones(tmp_path)
    bd_ok("sync", cwd=b)
    bad_commit = push_bad_line(a, E2E[name])  # b has nothing new: the pull is a fast-forward
    jsonl_b = b / ".beads" / "issues.jsonl"
    head, data, ids = git(b, "rev-parse", "HEAD").stdout, jsonl_b.read_bytes(), db_ids(b)

    proc = run_bd("sync", cwd=b)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert "the pull was undone" in error
    assert f"{bad_commit}:.beads/issues.jsonl:2: " in error, error
    assert E2E_FIELD[name] in error
    assert git(b, "rev-parse", "HEAD").stdout == head
    assert not (b / ".git" / "MERGE_HEAD").exists()
    assert git(b, "status", "--porcelain", "--untracked-files=no").stdout == ""
    assert jsonl_b.read_bytes() == data and db_ids(b) == ids
    # reads and writes still work on the database
    assert bd_ok("list", "--json", cwd=b).returncode == 0
    bd_ok("create", "still works", "--silent", cwd=b)


def test_bd_sync_undoes_a_conflicting_pull_resolved_through_the_merge_driver(tmp_path: Path) -> None:
    a, b, first = two_clones(tmp_path)
    bd_ok("sync", cwd=b)
    bad_commit = push_bad_line(a, E2E["priority-word"], also_edit="theirs")
    bd_ok("update", first, "--title", "ours", cwd=b)  # both sides change the file: a real merge
    bd_ok("sync", "--no-pull", "--no-push", cwd=b)
    head, data = git(b, "rev-parse", "HEAD").stdout, (b / ".beads" / "issues.jsonl").read_bytes()
    proc = run_bd("sync", cwd=b)
    assert proc.returncode == 1, proc.stderr
    assert "the pull was undone" in proc.stderr and f"{bad_commit}:.beads/issues.jsonl:2: " in proc.stderr
    assert git(b, "rev-parse", "HEAD").stdout == head
    assert not (b / ".git" / "MERGE_HEAD").exists()
    assert (b / ".beads" / "issues.jsonl").read_bytes() == data
    assert db_title(b, first) == "ours" and BAD_ID not in db_ids(b)


# -- the merge driver ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(E2E))
@pytest.mark.parametrize("side", ["ours", "theirs"])
def test_bd_merge_exits_2_on_a_bad_record_and_never_merges_it(tmp_path: Path, name: str, side: str) -> None:
    base = tmp_path / "base"
    base.write_text(json.dumps(good("test-ok")) + "\n")
    clean = json.dumps(good("test-ok", title="edited", updated_at=T1)) + "\n"
    dirty = clean + E2E[name] + "\n"
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.write_text(dirty if side == "ours" else clean)
    theirs.write_text(dirty if side == "theirs" else clean)
    proc = run_bd("merge", str(ours), str(base), str(ours), str(theirs), cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("Error: bd merge: ") and "line 2" in line and E2E_FIELD[name] in line
    assert "Traceback" not in proc.stderr
    merged = ours.read_text()
    assert "<<<<<<< " in merged  # every reader refuses it until someone looks
    with pytest.raises(CorruptJSONL):
        jsonl.read_jsonl(str(ours))


@pytest.mark.parametrize("garbage", [b"{broken\n", b"\xff\xfe\n", b"[1,2]\n", b'"x"\n', b"\x00\x00\n",
                                     b'{"id": 5}\n', b'{"title": "no id"}\n'])
def test_bd_merge_exits_2_on_unparsable_input(tmp_path: Path, garbage: bytes) -> None:
    ok = (json.dumps(good("test-ok")) + "\n").encode()
    files = {n: tmp_path / n for n in ("base", "ours", "theirs")}
    files["base"].write_bytes(ok)
    files["ours"].write_bytes(ok)
    files["theirs"].write_bytes(ok + garbage)
    proc = run_bd("merge", str(files["ours"]), str(files["base"]), str(files["ours"]), str(files["theirs"]),
                  cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


def test_bd_merge_ignores_a_bad_base_record_with_a_warning(tmp_path: Path) -> None:
    files = {n: tmp_path / n for n in ("base", "ours", "theirs")}
    files["base"].write_text(json.dumps(good("test-ok", labels="oops")) + "\n")
    files["ours"].write_text(json.dumps(good("test-ok", labels=["a"])) + "\n")
    files["theirs"].write_text(json.dumps(good("test-ok", labels=["b"])) + "\n")
    proc = run_bd("merge", str(files["ours"]), str(files["base"]), str(files["ours"]), str(files["theirs"]),
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(files["ours"].read_text())["labels"] == ["a", "b"]
