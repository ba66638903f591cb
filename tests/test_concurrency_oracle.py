"""Black-box concurrency oracle: agents running the real `bd` at once in one workspace undo nothing.

Eight workers (``BD_ORACLE_WORKERS``) each run `bd` commands one after another in one git
workspace for ``BD_ORACLE_SECONDS`` (20 s by default; run it longer locally), so eight `bd`
processes are alive at any moment: create, update (a field set and a field cleared), close,
reopen, label add and remove, dep add and remove, comment, delete (tombstone) and
``delete --hard``, mixed with reads (show, list, ready) whose auto-import is where effects used
to be undone (issue 6, point 1).

The final state is determinable because every key has one owner: a worker alone mutates the
fields, labels, outgoing edges and deletion of the issues it created, so what its last
acknowledged command (exit 0) left is what must hold. Workers meet on shared *anchor* issues
(never deleted): everyone links to them and comments on them (comments only add), and everyone
reads everyone's issues. At the end, with auto-import off so the checks only observe, the
database (``bd show --json``, ``bd list --all``, ``bd export``) and ``issues.jsonl`` must both
hold exactly the expected state, the file must equal ``bd export``, and no command may have
failed or printed a lock error or a traceback. A mismatch prints the commands that touched the
key, with their worker, sequence number and start/end times.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import BD

SECONDS = float(os.environ.get("BD_ORACLE_SECONDS", "20"))
WORKERS = int(os.environ.get("BD_ORACLE_WORKERS", "8"))
SEED = int(os.environ.get("BD_ORACLE_SEED", str(random.randrange(1 << 30))))
ANCHORS = 4
LABELS = ("red", "green", "blue", "urgent")
FORBIDDEN = ("locked", "Traceback", "auto-import", "auto-flush", "not updated", "Exception")
CMD_TIMEOUT = 120


@dataclass
class Expected:
    """What the owner's acknowledged commands left on one issue."""

    id: str
    title: str
    priority: int
    status: str = "open"
    assignee: str = ""
    notes: str = ""
    labels: set[str] = field(default_factory=set)
    deps: set[tuple[str, str]] = field(default_factory=set)  # (depends_on_id, type)
    comments: set[str] = field(default_factory=set)
    deleted: str = ""  # "", "soft" (tombstone) or "hard" (gone)


@dataclass
class Shared:
    """State every worker sees: anchors, all IDs (for reads), the log and the problems found."""

    repo: Path
    anchors: dict[str, Expected]
    lock: threading.Lock = field(default_factory=threading.Lock)
    all_ids: list[str] = field(default_factory=list)
    log: list[tuple[str, int, float, float, list[str], int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    bad_stderr: list[str] = field(default_factory=list)
    commands: int = 0


class Worker:
    def __init__(self, n: int, shared: Shared, deadline: float) -> None:
        self.n = n
        self.name = f"w{n}"
        self.shared = shared
        self.deadline = deadline
        self.rng = random.Random(SEED * 100 + n)
        self.env = dict(os.environ, BD_ACTOR=self.name)
        self.mine: dict[str, Expected] = {}
        self.order: list[str] = []  # own issues in creation order: edges go from newer to older only
        self.focus: str | None = None  # the issue the next operation works on (None: a random one)
        self.seq = 0

    # -- running bd --------------------------------------------------------------------------

    def bd(self, *args: str, read: bool = False) -> subprocess.CompletedProcess[str] | None:
        """Run one bd command; a write must succeed (None and a recorded failure otherwise)."""
        self.seq += 1
        start = time.monotonic()
        proc = subprocess.run([BD, *args], cwd=self.shared.repo, env=self.env, capture_output=True, text=True,
                              timeout=CMD_TIMEOUT)
        end = time.monotonic()
        ok = proc.returncode == 0 or (read and "no issue found" in proc.stderr)
        with self.shared.lock:
            self.shared.commands += 1
            self.shared.log.append((self.name, self.seq, start, end, list(args), proc.returncode))
            if any(word in proc.stderr for word in FORBIDDEN):
                self.shared.bad_stderr.append(f"{self.name}#{self.seq} bd {' '.join(args)}: {proc.stderr.strip()}")
            if not ok:
                self.shared.failures.append(f"{self.name}#{self.seq} bd {' '.join(args)} exited "
                                            f"{proc.returncode}: {proc.stderr.strip()}")
        return proc if proc.returncode == 0 else None

    # -- the workload ------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.cover()
            while time.monotonic() < self.deadline and not self.shared.failures:
                self.step()
        except Exception as exc:  # surfaced by the test's thread
            with self.shared.lock:
                self.shared.failures.append(f"{self.name}: {type(exc).__name__}: {exc}")

    def live(self) -> list[str]:
        return [i for i in self.order if not self.mine[i].deleted]

    def pick(self) -> Expected:
        return self.mine[self.focus or self.rng.choice(self.live())]

    def cover(self) -> None:
        """Every kind of effect once, whatever the duration: removals, clears, both deletes."""
        for _ in range(4):
            self.create()
        if len(self.order) < 4:
            return  # the failure is recorded
        first, second, third, fourth = self.order[:4]
        self.focus = first
        for op in (self.set_field, self.clear_field, self.close_or_reopen, self.close_or_reopen, self.comment):
            op()
        self.label("red")
        self.label("red")
        self.focus = second
        self.dep(first)
        self.dep(first)
        self.focus = third
        self.delete_soft()
        self.focus = fourth
        self.delete_hard()
        self.focus = None

    def step(self) -> None:
        live = self.live()
        # Few issues per worker, many removals and many reads: reads are where an auto-import
        # used to undo removals, and a small set of keys toggled often makes that visible.
        ops: list[tuple[float, Any]] = [(4 if len(live) < 4 else 0.3, self.create), (7, self.read)]
        if live:
            ops += [(2, self.set_field), (1.5, self.clear_field), (1.5, self.close_or_reopen),
                    (4, self.label), (3, self.dep), (1.5, self.comment), (0.5, self.delete_soft),
                    (0.7, self.delete_hard)]
        weights, funcs = zip(*ops, strict=True)
        self.rng.choices(funcs, weights)[0]()

    def create(self) -> None:
        title = f"{self.name} issue {self.seq}"
        priority = self.rng.randrange(5)
        args = ["create", title, "-d", "oracle", "-p", str(priority), "--json"]
        assignee = self.rng.choice(["", "alice", "bob"])
        if assignee:
            args += ["-a", assignee]
        proc = self.bd(*args)
        if proc is None:
            return
        issue_id = json.loads(proc.stdout)["id"]
        self.mine[issue_id] = Expected(issue_id, title, priority, assignee=assignee)
        self.order.append(issue_id)
        with self.shared.lock:
            self.shared.all_ids.append(issue_id)

    def read(self) -> None:
        kind = self.rng.random()
        if kind < 0.5:
            with self.shared.lock:
                target = self.rng.choice(self.shared.all_ids or list(self.shared.anchors))
            self.bd("show", target, "--json", read=True)
        elif kind < 0.8:
            self.bd("list", "--json", read=True)
        else:
            self.bd("ready", "--json", read=True)

    def set_field(self) -> None:
        exp = self.pick()
        which = self.rng.choice(["title", "priority", "assignee", "notes", "status"])
        value = f"{which} {self.name}#{self.seq + 1}"
        if which == "priority":
            value = str(self.rng.randrange(5))
        elif which == "assignee":
            value = self.rng.choice(["alice", "bob", "carol"])
        elif which == "status":
            value = "in_progress" if exp.status != "in_progress" else "open"
        if self.bd("update", exp.id, f"--{which}", value) is None:
            return
        if which == "priority":
            exp.priority = int(value)
        else:
            setattr(exp, which, value)

    def clear_field(self) -> None:
        exp = self.pick()
        which = self.rng.choice(["assignee", "notes"])
        if self.bd("update", exp.id, f"--{which}", "") is not None:
            setattr(exp, which, "")

    def close_or_reopen(self) -> None:
        exp = self.pick()
        if exp.status == "closed":
            if self.bd("reopen", exp.id) is not None:
                exp.status = "open"
        elif self.bd("close", exp.id, "--reason", "done") is not None:
            exp.status = "closed"

    def label(self, label: str | None = None) -> None:
        exp = self.pick()
        label = label or self.rng.choice(LABELS)
        if label in exp.labels:
            if self.bd("label", "remove", exp.id, label) is not None:
                exp.labels.discard(label)
        elif self.bd("label", "add", exp.id, label) is not None:
            exp.labels.add(label)

    def dep(self, target: str | None = None) -> None:
        """Toggle an edge: to ``target`` when given, else remove one or add a random one."""
        live = self.live()
        exp = self.pick()
        existing = {d[0]: d for d in exp.deps}
        if target is None and exp.deps and self.rng.random() < 0.45:
            target = self.rng.choice(sorted(existing))
        if target is not None and target in existing:
            if self.bd("dep", "remove", exp.id, target) is not None:
                exp.deps.discard(existing[target])
            return
        if target is not None:
            dep_type = "related"
        else:
            older = live[:live.index(exp.id)]  # edges from newer to older issues only: never a cycle
            candidates = [(a, t) for a in self.shared.anchors for t in ("blocks", "related")]
            target, dep_type = self.rng.choice(candidates + [(i, "related") for i in older])
            if target in existing:
                return
        if self.bd("dep", "add", exp.id, target, "-t", dep_type) is not None:
            exp.deps.add((target, dep_type))

    def comment(self) -> None:
        text = f"comment {self.name}#{self.seq + 1}"
        on_anchor = self.focus is None and self.rng.random() < 0.4
        exp = self.shared.anchors[self.rng.choice(list(self.shared.anchors))] if on_anchor else self.pick()
        if self.bd("comments", "add", exp.id, text) is not None:
            with self.shared.lock:
                exp.comments.add(text)

    def delete_soft(self) -> None:
        self._delete([])

    def delete_hard(self) -> None:
        self._delete(["--hard"])

    def _delete(self, extra: list[str]) -> None:
        exp = self.pick()
        if self.bd("delete", exp.id, "--force", *extra) is None:
            return
        exp.deleted = "hard" if extra else "soft"
        exp.status = "tombstone"
        exp.deps = set()
        for other in self.mine.values():  # only our own issues have edges to our issues
            other.deps = {d for d in other.deps if d[0] != exp.id}


# -- checking -----------------------------------------------------------------------------------


def observe(repo: Path, *args: str) -> str:
    """A bd command that only looks (no auto-import, so the checks cannot repair anything)."""
    proc = subprocess.run([BD, "--no-auto-import", *args], cwd=repo, capture_output=True, text=True,
                          timeout=CMD_TIMEOUT)
    assert proc.returncode == 0, f"bd {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def db_records(repo: Path, ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 50):
        for rec in json.loads(observe(repo, "show", *ids[start:start + 50], "--json")):
            out[rec["id"]] = {
                **rec,
                "labels": rec.get("labels") or [],
                "deps": {(d["id"], d["dependency_type"]) for d in rec.get("dependencies") or []},
                "comments": {c["text"] for c in rec.get("comments") or []},
            }
    return out


def file_records(text: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        rec = json.loads(line)
        out[rec["id"]] = {
            **rec,
            "labels": rec.get("labels") or [],
            "deps": {(d["depends_on_id"], d["type"]) for d in rec.get("dependencies") or []},
            "comments": {c["text"] for c in rec.get("comments") or []},
        }
    return out


def differences(where: str, exp: Expected, got: dict[str, Any] | None) -> list[str]:
    if exp.deleted == "hard":
        return [] if got is None else [f"{where}: {exp.id} was hard-deleted but is back ({got.get('status')})"]
    if got is None:
        return [f"{where}: {exp.id} is missing"]
    wanted = {"status": exp.status, "labels": sorted(exp.labels)}
    if exp.deleted != "soft":
        wanted |= {"title": exp.title, "priority": exp.priority, "assignee": exp.assignee, "notes": exp.notes,
                   "deps": exp.deps, "comments": exp.comments}
    found = {"status": got.get("status"), "labels": sorted(got["labels"]), "title": got.get("title"),
             "priority": got.get("priority"), "assignee": got.get("assignee") or "", "notes": got.get("notes") or "",
             "deps": got["deps"], "comments": got["comments"]}
    if exp.deleted == "soft":
        wanted.pop("labels")
    return [f"{where}: {exp.id} {key} is {found[key]!r}, expected {value!r}"
            for key, value in wanted.items() if found[key] != value]


def history(shared: Shared, issue_id: str) -> str:
    rows = [f"    {w}#{seq} {start:.3f}-{end:.3f} rc={rc} bd {' '.join(args)}"
            for w, seq, start, end, args, rc in shared.log if issue_id in args]
    return "\n".join(rows[-12:])


def test_concurrent_agents_never_undo_an_acknowledged_effect(repo: Path) -> None:
    run_oracle(repo, SECONDS, daemon=False)


def test_concurrent_agents_through_a_daemon_never_undo_an_acknowledged_effect(repo: Path) -> None:
    """The same oracle with every command going through one daemon (issue 7), stopped before the checks
    (stopping writes its pending export)."""
    run_oracle(repo, float(os.environ.get("BD_ORACLE_DAEMON_SECONDS", "10")), daemon=True)


def run_oracle(repo: Path, seconds: float, *, daemon: bool) -> None:
    subprocess.run([BD, "init", "--prefix", "orc", "--quiet"], cwd=repo, check=True, capture_output=True,
                   timeout=CMD_TIMEOUT)
    if daemon:
        subprocess.run([BD, "daemon", "start"], cwd=repo, check=True, capture_output=True, timeout=CMD_TIMEOUT)
    try:
        shared, workers, anchors, context = _run_workers(repo, seconds)
    finally:
        if daemon:
            stopped = subprocess.run([BD, "daemon", "stop"], cwd=repo, capture_output=True, text=True,
                                     timeout=CMD_TIMEOUT)
    if daemon:
        assert stopped.stdout.startswith("Daemon stopped"), stopped
        assert not (repo / ".beads" / "bd.sock").exists()
    _check(repo, shared, workers, anchors, context)


def _run_workers(repo: Path, seconds: float) -> tuple[Shared, list[Worker], dict[str, Expected], str]:
    anchors: dict[str, Expected] = {}
    for n in range(ANCHORS):
        out = subprocess.run([BD, "create", f"anchor {n}", "-d", "shared", "-p", "2", "--json"], cwd=repo,
                             check=True, capture_output=True, text=True, timeout=CMD_TIMEOUT).stdout
        issue_id = json.loads(out)["id"]
        anchors[issue_id] = Expected(issue_id, f"anchor {n}", 2)
    shared = Shared(repo, anchors)
    deadline = time.monotonic() + seconds
    workers = [Worker(n, shared, deadline) for n in range(WORKERS)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(seconds + 10 * CMD_TIMEOUT)
    assert not any(th.is_alive() for th in threads), "a worker hung"
    context = f"seed {SEED}, {shared.commands} commands, {WORKERS} workers, {seconds} s"
    assert shared.failures == [], context
    assert shared.bad_stderr == [], context
    return shared, workers, anchors, context


def _check(repo: Path, shared: Shared, workers: list[Worker], anchors: dict[str, Expected], context: str) -> None:

    expected = {**anchors, **{i: e for w in workers for i, e in w.mine.items()}}
    jsonl = (repo / ".beads" / "issues.jsonl").read_text(encoding="utf-8")
    in_file = file_records(jsonl)
    present = [i for i, e in expected.items() if e.deleted != "hard"]
    in_db = db_records(repo, present)
    exported = observe(repo, "export")
    listed = {r["id"] for r in json.loads(observe(repo, "list", "--all", "--limit", "0", "--json"))}
    in_export = file_records(exported)

    problems: list[str] = []
    for issue_id, exp in sorted(expected.items()):
        found = differences("db", exp, in_db.get(issue_id) if exp.deleted != "hard" else in_export.get(issue_id))
        found += differences("jsonl", exp, in_file.get(issue_id))
        if exp.deleted == "hard" and issue_id in listed:
            found.append(f"db: {issue_id} was hard-deleted but bd list shows it")
        if found:
            problems.append("\n".join(found) + "\n" + history(shared, issue_id))
    strangers = sorted(set(in_export) - set(expected))
    assert strangers == [], f"issues nobody created: {strangers} ({context})"
    assert problems == [], f"{len(problems)} issue(s) lost acknowledged effects ({context}):\n" + "\n".join(problems)
    assert jsonl == exported, f"issues.jsonl differs from bd export ({context})"
    assert sum(1 for e in expected.values() if e.deleted == "hard") >= WORKERS, context  # cover() ran
    print(f"oracle: {context}")
