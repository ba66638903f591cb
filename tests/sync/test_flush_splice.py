"""The splice flush and the idle ``sync --flush-only``: cheap, and still never fooled.

The flush of a file this database wrote itself is spliced without reading, hashing or
scanning the rest of the file (docs/PERFORMANCE.md). These tests hold it to the same
results as a full export, and check that the claims it relies on (the recorded stat, the
"canonical" and "complete" marks) lapse as soon as anything else touches the file.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from jsonl_helpers import file_records, jsonl_text, rec, workspace

from beads.sync import auto, export, gitsync


@pytest.fixture
def t(tmp_path: Path):  # noqa: ANN201
    tracker = workspace(tmp_path)
    yield tracker
    tracker.disconnect()


def path_of(t) -> Path:  # noqa: ANN001
    return Path(t.workspace.jsonl_path)


def full_export(t) -> str:  # noqa: ANN001
    out = io.StringIO()
    export.export_jsonl(t, stream=out)
    return out.getvalue()


def meta(t, key: str) -> str:  # noqa: ANN001
    return t.store.get_metadata(key) or ""


def spliced(t) -> bool:  # noqa: ANN001
    """Whether the next flush may splice: the recorded stat is the file's, and it is known canonical."""
    fp = export.fingerprint(os.stat(path_of(t)))
    return meta(t, export.KEY_STAT) == fp == meta(t, export.KEY_CANONICAL)


def test_spliced_flushes_write_exactly_what_a_full_export_writes(t) -> None:  # noqa: ANN001
    ids = [t.create(f"issue {i}")["id"] for i in range(30)]
    export.flush(t)
    assert spliced(t)
    t.update(ids[3], title="renamed")
    t.add_label(ids[7], "x")
    t.add_dependency(ids[9], ids[2])
    t.add_comment(ids[11], "hello")
    t.delete([ids[12]])
    t.delete([ids[13]], hard=True)
    t.create("a new one")
    assert export.flush(t) is True
    assert path_of(t).read_text() == full_export(t)
    assert spliced(t) and t.store.dirty_ids() == []
    assert meta(t, export.KEY_FILE_HASH) == ""  # not computed: the stat is what is trusted


def test_a_flush_with_nothing_new_rewrites_nothing(t) -> None:  # noqa: ANN001
    a = t.create("a")["id"]
    export.flush(t)
    before = os.stat(path_of(t))
    t.store.mark_dirty([a], "2030-01-01T00:00:00Z")  # dirty, but its line is already right
    assert export.flush(t) is False
    assert export.fingerprint(os.stat(path_of(t))) == export.fingerprint(before)
    assert t.store.dirty_ids() == []


def test_a_touched_file_is_imported_rather_than_trusted_after_a_splice(t) -> None:  # noqa: ANN001
    a = t.create("a")["id"]
    export.flush(t)
    t.update(a, title="spliced")
    export.flush(t)
    os.utime(path_of(t), ns=(1, 1))  # same bytes, new stat: the hash is unknown, so compare by import
    assert not spliced(t)
    stats = auto.before_command(t)
    assert stats is not None and stats["created"] == 0 and stats["updated"] == 0
    assert t.get(a)["title"] == "spliced" and t.store.dirty_ids() == []
    assert export.flush(t) is False and path_of(t).read_text() == full_export(t)


def test_a_foreign_edit_after_a_splice_is_imported_before_the_next_splice(t) -> None:  # noqa: ANN001
    a = t.create("a")["id"]
    b = t.create("b")["id"]
    export.flush(t)
    t.update(a, title="mine")
    export.flush(t)
    lines = path_of(t).read_text().splitlines()
    lines.append(jsonl_text(rec("test-zzz", "from another clone")).strip())
    path_of(t).write_text("\n".join(lines) + "\n")
    t.update(b, title="also mine")  # no auto-import here: the flush must take the foreign line in
    export.flush(t)
    records = file_records(path_of(t))
    assert records["test-zzz"]["title"] == "from another clone"
    assert records[a]["title"] == "mine" and records[b]["title"] == "also mine"
    assert t.get("test-zzz")["title"] == "from another clone"


def test_a_file_other_tools_wrote_is_never_spliced(t) -> None:  # noqa: ANN001
    other = [{"title": r["title"], **r} for r in (rec("test-2", "two"), rec("test-1", "one"))]
    foreign = json.dumps(other[0])
    path_of(t).write_text("".join(json.dumps(r) + "\n" for r in other))  # another key order, unsorted
    auto.before_command(t)
    assert not spliced(t)
    t.update("test-1", title="uno")
    export.flush(t)  # the general path: sorted, the other line kept byte for byte
    assert path_of(t).read_text().splitlines()[1] == foreign and not spliced(t)
    assert file_records(path_of(t))["test-1"]["title"] == "uno"
    export.export_jsonl(t)  # our own bytes from now on
    assert path_of(t).read_text() == full_export(t) and spliced(t)


def test_idle_flush_only_trusts_the_recorded_stat_and_its_claims_lapse(t) -> None:  # noqa: ANN001
    ids = [t.create(f"issue {i}")["id"] for i in range(5)]
    export.export_jsonl(t)
    opts = gitsync.SyncOptions(flush_only=True)
    before = export.fingerprint(os.stat(path_of(t)))
    report = gitsync.sync(t, opts)
    assert report["imported"] is None and report["exported"] is False
    assert export.fingerprint(os.stat(path_of(t))) == before
    # Someone drops a line (and so changes the stat): the file now lacks an issue that is not
    # dirty. The "complete" claim lapses with the stat, and the sync restores the line.
    lines = [ln for ln in path_of(t).read_text().splitlines() if ids[2] not in ln]
    path_of(t).write_text("\n".join(lines) + "\n")
    report = gitsync.sync(t, opts)
    assert report["exported"] is True and ids[2] in file_records(path_of(t))
    assert path_of(t).read_text() == full_export(t)
    assert meta(t, export.KEY_COMPLETE) == export.fingerprint(os.stat(path_of(t)))
