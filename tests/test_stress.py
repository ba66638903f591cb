"""Many writers at once on one workspace (lessons F): every write lands exactly once.

Sixteen OS processes (and, separately, threads with one Tracker each) create issues and
add dependencies at the same time. Afterwards every issue and edge is present, no ID is
duplicated, no writer failed, and the blocked cache equals a fresh rebuild. Writers are
released together through a pipe or a barrier; nothing sleeps.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import beads
from beads.core.tracker import Tracker

PROCESSES = 16
PER_PROCESS = 50
TIMEOUT = 180
ROUNDS = 2
BD = shutil.which("bd", path=str(Path(sys.executable).parent)) or "bd"

# One writer: waits for "go" on stdin, then creates issues one transaction at a time. Each new
# issue depends on the writer's previous issue and on a random issue that existed before it was
# created, so edges always point from newer to older issues and can never form a cycle.
WORKER = r"""
import json, random, sys
import beads

workspace, worker, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
tracker = beads.open(workspace, actor=f"writer-{worker}")
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.readline()
created, edges, closed = [], [], []
for n in range(count):
    earlier = tracker.store.all_ids()
    deps = []
    if created:
        deps.append(("blocks", created[-1]))
    if earlier and rng.random() < 0.5:
        deps.append((rng.choice(["blocks", "related", "discovered-from"]), rng.choice(earlier)))
    deps = list(dict.fromkeys(deps))
    if rng.random() < 0.5:
        issue = tracker.create(f"writer {worker} issue {n}", description=f"seed {seed}", dependencies=deps)
    else:
        issue = tracker.create(f"writer {worker} issue {n}", description=f"seed {seed}")
        for dep_type, target in deps:
            tracker.add_dependency(issue["id"], target, dep_type)
    created.append(issue["id"])
    edges.extend([issue["id"], target, dep_type] for dep_type, target in deps)
    if earlier and rng.random() < 0.1:
        victim = rng.choice(created)
        if victim not in closed:
            tracker.close(victim, "done")
            closed.append(victim)
tracker.disconnect()
json.dump({"created": created, "edges": edges, "closed": closed}, sys.stdout)
"""


def init_workspace(root: Path) -> str:
    root.mkdir()
    tracker = beads.init(str(root), prefix="st", actor="setup")
    tracker.disconnect()
    return str(root / ".beads")


def check_workspace(beads_dir: str, created: list[str], edges: list[tuple[str, str, str]],
                    closed: list[str]) -> None:
    tracker = beads.open(beads_dir)
    store = tracker.store
    ids = store.all_ids()
    assert len(created) == len(set(created)), "a writer was handed an ID twice"
    assert sorted(created) == ids
    stored_edges = set(store.all_edges(exclude_types=()))
    missing = [e for e in edges if tuple(e) not in stored_edges]
    assert missing == []
    assert len(stored_edges) == len({tuple(e) for e in edges})
    assert sorted(i for i in ids if store.get_issue(i)["status"] == "closed") == sorted(closed)  # type: ignore
    cached = store.blocked_ids()
    with store.transaction():
        store.rebuild_blocked_cache()
        assert store.blocked_ids() == cached, "blocked cache differs from a fresh rebuild"
    assert tracker.find_cycles() == []
    tracker.disconnect()


def test_sixteen_processes_writing_at_once_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    beads_dir = init_workspace(tmp_path / "ws")
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, beads_dir, str(w), str(PER_PROCESS), str(1000 + w)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(PROCESSES)]
    try:
        for proc in procs:  # every writer has opened the workspace before any starts
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n", proc.stderr.read()  # type: ignore
        for proc in procs:
            proc.stdin.write("go\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        results = [proc.communicate(timeout=TIMEOUT) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    failures = [(p.returncode, err[-1500:]) for p, (_, err) in zip(procs, results, strict=True) if p.returncode]
    assert failures == []
    reports = [json.loads(out) for out, _ in results]
    created = [i for r in reports for i in r["created"]]
    assert len(created) == PROCESSES * PER_PROCESS == 800
    check_workspace(beads_dir, created, [tuple(e) for r in reports for e in r["edges"]],
                    [i for r in reports for i in r["closed"]])


def test_threads_with_a_tracker_each_writing_at_once_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    beads_dir = init_workspace(tmp_path / "ws")
    threads_n, per_thread = 8, 40
    barrier = threading.Barrier(threads_n, timeout=TIMEOUT)
    created: list[str] = []
    edges: list[tuple[str, str, str]] = []
    closed: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        rng = random.Random(n)
        tracker: Tracker = beads.open(beads_dir, actor=f"thread-{n}")
        mine: list[str] = []
        try:
            barrier.wait()
            for k in range(per_thread):
                earlier = tracker.store.all_ids()
                deps = [("blocks", mine[-1])] if mine else []
                if earlier:
                    deps.append(("related", rng.choice(earlier)))
                deps = list(dict.fromkeys(deps))
                issue = tracker.create(f"thread {n} issue {k}", dependencies=deps)
                mine.append(issue["id"])
                with lock:
                    created.append(issue["id"])
                    edges.extend((issue["id"], target, t) for t, target in deps)
                if k % 10 == 9:
                    tracker.close(mine[-2])
                    with lock:
                        closed.append(mine[-2])
        except BaseException as exc:  # reported below, in the test's thread
            with lock:
                errors.append(exc)
        finally:
            tracker.disconnect()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(TIMEOUT)
    assert not any(th.is_alive() for th in threads), "a writer thread hung"
    assert errors == []
    assert len(created) == threads_n * per_thread
    check_workspace(beads_dir, created, edges, closed)


def test_concurrent_bd_commands_all_succeed_and_every_issue_lands(repo: Path) -> None:
    env = dict(os.environ, BD_ACTOR="stress")
    subprocess.run([BD, "init", "--prefix", "cli", "--quiet"], cwd=repo, env=env, check=True, timeout=60,
                   capture_output=True)
    created: list[str] = []
    previous: list[str] = []
    for round_no in range(ROUNDS):
        procs = []
        for w in range(PROCESSES):
            args = [BD, "create", f"round {round_no} writer {w}", "--json"]
            if previous:
                args += ["--deps", previous[w]]
            procs.append(subprocess.Popen(args, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
        assert [(p.returncode, err) for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode] == []
        previous = [json.loads(out)["id"] for out, _ in outputs]
        created.extend(previous)
    assert len(set(created)) == ROUNDS * PROCESSES
    listed = json.loads(subprocess.run([BD, "list", "--json", "--limit", "0"], cwd=repo, env=env,
                                       capture_output=True, text=True, timeout=60, check=True).stdout)
    assert sorted(i["id"] for i in listed) == sorted(created)
    blocked = {i["id"] for i in json.loads(subprocess.run([BD, "blocked", "--json"], cwd=repo, env=env,
                                                          capture_output=True, text=True, timeout=60,
                                                          check=True).stdout)}
    assert blocked == set(created[PROCESSES:])
