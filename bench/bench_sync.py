"""Benchmark the JSONL layer on a synthetic 10,000-issue workspace.

    .venv/bin/python bench/bench_sync.py [--issues 10000] [--repeat 5]

Figures (median of the repeats) and targets:
  import of the JSONL into a fresh database (a fresh clone)   <= 2 s
  full export                                                   <= 0.5 s
  incremental flush after one change                            <= 50 ms
  auto-import check when nothing changed                        <= 2 ms
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import beads  # noqa: E402
from beads import timefmt  # noqa: E402
from beads.sync import auto, export, importer, jsonl  # noqa: E402

TARGETS = {"import": 2.0, "export": 0.5, "flush": 0.050, "check": 0.002}
WORDS = ["agent", "sync", "export", "import", "flush", "merge", "daemon", "ready", "blocked", "epic", "child",
         "label", "comment", "tombstone", "workspace", "database", "file", "line", "hash", "issue", "priority",
         "status", "graph", "cache"]


def synthetic_records(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    base = 1_760_000_000_000_000_000
    records = []
    for i in range(n):
        issue_id = f"bench-{i:05x}"
        created = timefmt.format_ns(base + i * 60_000_000_000, -8 * 3600)
        updated = timefmt.format_ns(base + i * 60_000_000_000 + rng.randrange(10**12), -8 * 3600)
        status = rng.choice(["open", "open", "in_progress", "closed", "closed", "closed", "blocked"])
        r = {"id": issue_id, "title": " ".join(rng.choices(WORDS, k=6)),
             "description": " ".join(rng.choices(WORDS, k=50)), "status": status,
             "priority": rng.randrange(5), "issue_type": rng.choice(["task", "bug", "feature", "epic"]),
             "created_at": created, "created_by": "bench", "updated_at": updated}
        if status == "closed":
            r["closed_at"] = updated
            r["close_reason"] = "Closed"
        if rng.random() < 0.3:
            r["assignee"] = rng.choice(["alice", "bob", "carol"])
        if rng.random() < 0.4:
            r["labels"] = sorted(set(rng.choices(["backend", "frontend", "urgent", "docs", "tests"], k=2)))
        if i and rng.random() < 0.5:
            target = f"bench-{rng.randrange(i):05x}"
            r["dependencies"] = [{"issue_id": issue_id, "depends_on_id": target,
                                  "type": rng.choice(["blocks", "blocks", "related", "parent-child"]),
                                  "created_at": updated, "created_by": "bench"}]
        if rng.random() < 0.1:
            r["comments"] = [{"id": 0, "issue_id": issue_id, "author": "bench", "text": "looked at it",
                              "created_at": "2026-01-01T00:00:00Z"}]
        records.append(r)
    return records


def timed(fn, repeat: int, setup=None) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--issues", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-sync-")
    results: dict[str, list[float]] = {}
    try:
        text = jsonl.render(synthetic_records(args.issues))
        size_mb = len(text.encode()) / 1e6

        def fresh_clone() -> beads.Tracker:
            root = tempfile.mkdtemp(dir=tmp)
            os.makedirs(os.path.join(root, ".beads"))
            with open(os.path.join(root, ".beads", "issues.jsonl"), "w", encoding="utf-8") as fh:
                fh.write(text)
            return beads.init(root, prefix="bench", actor="bench")

        trackers: list[beads.Tracker] = []

        def setup_import() -> None:
            trackers.append(fresh_clone())

        results["import"] = timed(lambda: importer.import_file(trackers[-1], trackers[-1].workspace.jsonl_path),
                                  args.repeat, setup_import)
        t = trackers[-1]
        for other in trackers[:-1]:
            other.disconnect()
        rng = random.Random(2)

        def change_one() -> None:
            t.update(f"bench-{rng.randrange(args.issues):05x}", title=f"changed {rng.random()}")

        def setup_export() -> None:
            change_one()
            with t.store.transaction():  # a full export, not a flush: forget the dirty marks
                t.store.clear_dirty()

        results["export"] = timed(lambda: export.export_jsonl(t), args.repeat, setup_export)
        results["flush"] = timed(lambda: export.flush(t), args.repeat * 4, change_one)
        export.flush(t)
        assert auto.before_command(t) is None
        results["check"] = timed(lambda: auto.before_command(t), args.repeat * 40)
        t.disconnect()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"JSONL layer, {args.issues} issues ({size_mb:.1f} MB JSONL), median of repeats:")
    ok = True
    labels = {"import": "import into a fresh database", "export": "full export",
              "flush": "incremental flush after one change", "check": "auto-import check, nothing changed"}
    for key, samples in results.items():
        med = statistics.median(samples)
        passed = med <= TARGETS[key]
        ok &= passed
        print(f"  {labels[key]:<40} {med * 1000:9.2f} ms  (best {min(samples) * 1000:8.2f} ms, "
              f"target {TARGETS[key] * 1000:g} ms)  {'PASS' if passed else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
