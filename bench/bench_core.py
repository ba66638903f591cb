"""Core benchmarks: command latency and memory, ready/cache/batch/cycle-check costs.

Usage::

    python bench/bench_core.py [--n 10000] [--runs 15] [--keep]

Builds a synthetic workspace of ``--n`` issues and as many dependencies through the
library (one transaction), then measures the figures below and prints one table with
PASS/MISS against each target. Standard library and ``beads`` only. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import beads
from beads import timefmt
from beads.core.tracker import Tracker
from beads.errors import CycleError
from beads.query import ReadyFilter

LABELS = [f"area-{n}" for n in range(12)] + ["urgent", "backend", "frontend", "docs", "tech-debt"]
TYPES = ["task"] * 6 + ["bug"] * 3 + ["feature"] * 2 + ["chore"]


# -- building workspaces ---------------------------------------------------------------------


def build_workspace(root: Path, n: int, seed: int = 7) -> tuple[float, str]:
    """``n`` issues + ``n`` dependencies in one transaction; returns (seconds, an issue ID for ``show``)."""
    rng = random.Random(seed)
    tracker = beads.init(str(root), prefix="bench", actor="bench")
    epics = max(1, n // 50)
    specs = []
    for i in range(n):
        specs.append({
            "title": f"Synthetic issue {i}: {rng.choice(['fix', 'add', 'refactor', 'document'])} "
                     f"{rng.choice(['parser', 'cache', 'sync', 'cli', 'daemon'])}",
            "description": "Generated for benchmarking. " * rng.randint(1, 6),
            "priority": rng.choice([0, 1, 1, 2, 2, 2, 3, 4]),
            "issue_type": "epic" if i < epics else rng.choice(TYPES),
            "assignee": rng.choice(["", "", "alice", "bob", "carol"]),
            "labels": rng.sample(LABELS, rng.randint(0, 2)),
        })
    start = time.perf_counter()
    with tracker.write():
        ids = [issue["id"] for issue in tracker.create_many(specs)]
        edges = set()
        while len(edges) < n:
            a, b = sorted(rng.sample(range(n), 2))  # newer -> older: never a cycle
            src, dst = ids[b], ids[a]
            if a < epics and b >= epics and rng.random() < 0.4:
                dep_type = "parent-child"
            else:
                dep_type = rng.choice(["blocks"] * 6 + ["related"] * 2 + ["discovered-from"])
            if (src, dst) not in edges:
                edges.add((src, dst))
                tracker.add_dependency(src, dst, dep_type)
        for issue_id in rng.sample(ids[epics:], n // 3):
            tracker.close(issue_id, "done")
        for issue_id in rng.sample(ids[epics:], n // 10):
            if tracker.store.get_issue(issue_id)["status"] == "open":  # type: ignore[index]
                tracker.update(issue_id, status="in_progress")
    elapsed = time.perf_counter() - start
    show_id = ids[epics + 1]
    tracker.disconnect()
    return elapsed, show_id


def build_chain(root: Path, length: int) -> tuple[Tracker, list[str]]:
    """``c0 ← c1 ← … ← c(length-1)``: each issue depends on the previous one.

    The edges go in through the storage in bulk: adding them one by one through the
    Tracker would cycle-check each against the growing chain (quadratic set-up).
    """
    tracker = beads.init(str(root), prefix="chain", actor="bench")
    ids = [i["id"] for i in tracker.create_many([{"title": f"link {k}"} for k in range(length)])]
    now = timefmt.now()
    with tracker.store.transaction():
        tracker.store.add_dependencies([{"issue_id": nxt, "depends_on_id": prev, "type": "blocks", "created_at": now}
                                        for prev, nxt in zip(ids, ids[1:], strict=False)])
        tracker.store.rebuild_blocked_cache()
    return tracker, ids


def timed(fn: Callable[[], object], undo: Callable[[], object], runs: int) -> float:
    """Median wall seconds of ``fn()``; ``undo()`` (untimed) restores the state after each run."""
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        undo()
    return statistics.median(walls)


# Runs one command and reports (wall seconds, peak RSS KiB, exit status). A small separate
# process does the spawning: a child's peak RSS counts the memory of the process that forked
# it until it execs, so spawning from this (large) benchmark process would inflate it.
SPAWNER = """
import os, resource, sys, time
null = os.open(os.devnull, os.O_WRONLY)
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)])
_, status = os.waitpid(pid, 0)
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def median_child(argv: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    """Median wall time and peak RSS (KiB) of ``argv`` over ``runs`` runs (after one warm-up)."""
    times, peak = [], 0
    for n in range(runs + 1):
        out = subprocess.run([sys.executable, "-c", SPAWNER, *argv], cwd=cwd, capture_output=True, text=True,
                             check=True).stdout.split()
        elapsed, rss, status = float(out[0]), int(out[1]), int(out[2])
        if status != 0:
            raise SystemExit(f"benchmark command failed ({status}): {' '.join(argv)}")
        if n:
            times.append(elapsed)
            peak = max(peak, rss)
    return statistics.median(times), peak


def median_call(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median wall, median CPU) seconds of ``fn()``."""
    fn()
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


# -- the report --------------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.misses = 0

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        self.misses += ok is False
        self.rows.append((name, value, target, verdict))

    def print(self) -> None:
        widths = [max(len(r[i]) for r in [("measure", "value", "target", ""), *self.rows]) for i in range(4)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        print(line.format("measure", "value", "target", "").rstrip())
        print("  ".join("-" * w for w in widths))
        for row in self.rows:
            print(line.format(*row).rstrip())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="issues (and dependencies) in the workspace")
    parser.add_argument("--runs", type=int, default=15, help="runs per command (median reported)")
    parser.add_argument("--chain", type=int, default=5_000, help="length of the cycle-check chain")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspaces")
    args = parser.parse_args(argv)
    runs = max(15, args.runs)

    bindir = Path(sys.executable).parent
    bd = shutil.which("bd", path=str(bindir)) or shutil.which("bd")
    if not bd:
        raise SystemExit("bd is not installed next to this Python (run scripts/install.sh)")
    # bd runs from bytecode when installed (scripts/install.sh); make sure it is current
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(beads.__file__).parent)], check=True,
                   stdout=subprocess.DEVNULL)
    tmp = Path(tempfile.mkdtemp(prefix="bd-bench-"))
    os.environ.setdefault("BD_ACTOR", "bench")
    report = Report()
    try:
        ws = tmp / "workspace"
        ws.mkdir()
        print(f"building {args.n} issues + {args.n} dependencies in {ws} ...", file=sys.stderr)
        build_s, show_id = build_workspace(ws, args.n)
        report.add(f"build: {args.n} issues + {args.n} deps, one transaction", ms(build_s))
        # one write through the CLI, so the JSONL exists and reads take the no-change fast path
        subprocess.run([bd, "update", show_id, "--notes", "benchmark"], cwd=ws, check=True,
                       stdout=subprocess.DEVNULL)

        # -- command latency and memory
        base, base_rss = median_child([sys.executable, "-c", "pass"], ws, runs)
        report.add("python -c pass (same venv)", ms(base))
        peak_rss = 0
        for label, cmd in (("bd ready --json", ["ready", "--json"]), ("bd list --json", ["list", "--json"]),
                           (f"bd show {show_id} --json", ["show", show_id, "--json"])):
            wall, rss = median_child([bd, *cmd], ws, runs)
            peak_rss = max(peak_rss, rss)
            ratio = wall / base
            report.add(label, f"{ms(wall)} = {ratio:.1f}x python", "<= 4.0x", ratio <= 4.0)
        report.add("peak RSS of those commands", f"{peak_rss / 1024:.1f} MB (python: {base_rss / 1024:.1f})",
                   "<= 40 MB", peak_rss / 1024 <= 40)

        # -- in-process figures on the big workspace
        tracker = beads.open(str(ws / ".beads"), actor="bench")
        ready_wall, _ = median_call(lambda: tracker.ready(ReadyFilter()), 200)
        report.add("in-process ready (limit 10)", ms(ready_wall), "<= 1 ms", ready_wall <= 0.001)

        def rebuild() -> None:
            with tracker.store.transaction():
                tracker.store.rebuild_blocked_cache()

        rebuild_wall, rebuild_cpu = median_call(rebuild, 31)
        report.add("blocked-cache full rebuild", f"{ms(rebuild_wall)} (cpu {ms(rebuild_cpu)})", "<= 25 ms",
                   rebuild_wall <= 0.025)
        tracker.disconnect()

        # -- batch creation in a fresh workspace each time
        batch_walls, batch_cpus = [], []
        for k in range(7):
            root = tmp / f"batch{k}"
            root.mkdir()
            t = beads.init(str(root), prefix="b", actor="bench")
            specs = [{"title": f"batch issue {i}", "description": "created in one batch", "priority": i % 5,
                      "labels": ["batch"] if i % 4 == 0 else []} for i in range(1000)]
            c0, t0 = time.process_time(), time.perf_counter()
            t.create_many(specs)
            batch_walls.append(time.perf_counter() - t0)
            batch_cpus.append(time.process_time() - c0)
            t.disconnect()
        batch_wall = statistics.median(batch_walls)
        report.add("create_many: 1,000 issues", f"{ms(batch_wall)} (cpu {ms(statistics.median(batch_cpus))})",
                   "<= 100 ms", batch_wall <= 0.100)

        # -- dependency add with its cycle check over a long chain (the original's
        #    BenchmarkCycleDetection_Linear_5000: chain head -> a new unconnected issue)
        chain, ids = build_chain(tmp / "chain", args.chain)
        new = chain.create("new unconnected issue")["id"]
        head, tail = ids[0], ids[-1]
        dep_wall = timed(lambda: chain.add_dependency(head, new), lambda: chain.remove_dependency(head, new), 15)
        report.add(f"add dependency + cycle check ({args.chain}-issue chain)", ms(dep_wall), "<= 10 ms",
                   dep_wall <= 0.010)
        # informational: an edge whose check must walk the whole chain, and a refused cycle
        walker = chain.create("depends on the tail, has a dependent")["id"]
        chain.add_dependency(chain.create("dependent")["id"], walker)
        walk_wall = timed(lambda: chain.add_dependency(walker, tail), lambda: chain.remove_dependency(walker, tail), 7)
        report.add("  edge whose check walks the whole chain", ms(walk_wall))

        def refuse() -> None:
            try:
                chain.add_dependency(head, tail)
            except CycleError:
                return
            raise AssertionError("the cycle was not refused")

        report.add("  refused cycle (walk + path in the message)", ms(timed(refuse, lambda: None, 5)))
        chain.disconnect()
    finally:
        if args.keep:
            print(f"workspaces kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    report.print()
    print(f"\n{report.misses} target(s) missed" if report.misses else "\nall targets met")
    return 1 if report.misses else 0


if __name__ == "__main__":
    sys.exit(main())
