"""`bd sync` while agents write: real git, a real bare remote, the installed `bd` as subprocesses.

Agents are threads that each run `bd` commands in a loop (create, update, label add/remove,
close/reopen) on the issues they created themselves, so the final value of every field is the
one the agent wrote last, whatever the interleaving. Meanwhile `bd sync` runs over and over in
the same clone. The oracle: every sync and every agent command exits 0, and at the end every
acknowledged effect is in the database, in the JSONL and (after a final sync) on the remote.

The same with two clones of one bare remote, agents and a sync loop in each; after a few
convergence syncs both databases hold every acknowledged effect of both clones.

Durations: a few seconds by default; `BD_SYNC_LOAD_SECONDS` and `BD_SYNC_LOAD_WRITERS` run longer
and wider locally. The loops stop on an event, never on a sleep; a run stops early with a
failure as soon as anything fails.
"""

from __future__ import annotations

import json
import os
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import git, run_bd
from test_sync_fuzz import bd_on_path  # noqa: F401  (autouse: hooks and the merge driver find our bd)

SECONDS = float(os.environ.get("BD_SYNC_LOAD_SECONDS", "4"))
WRITERS = int(os.environ.get("BD_SYNC_LOAD_WRITERS", "3"))
MIN_SYNCS = 3  # each sync loop runs at least this many syncs while the agents write
LABELS = ("a", "b", "c")


# -- the agents and the oracle -------------------------------------------------------------------


@dataclass
class Expected:
    title: str
    priority: int
    status: str = "open"
    labels: set[str] = field(default_factory=set)


class Agent(threading.Thread):
    """One agent: `bd` commands in a loop on its own issues, recording what was acknowledged."""

    def __init__(self, clone: Path, name: str, seed: int, stop: threading.Event, failures: list[str]) -> None:
        super().__init__(name=name, daemon=True)
        self.clone = clone
        self.rng = random.Random(seed)
        self.stop = stop
        self.failures = failures
        self.issues: dict[str, Expected] = {}
        self.count = 0
        self.commands = 0

    def bd(self, *args: str) -> str | None:
        proc = run_bd(*args, cwd=self.clone, timeout=120)
        self.commands += 1
        if proc.returncode != 0 or "Traceback" in proc.stderr:
            self.failures.append(f"{self.name}: bd {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
            self.stop.set()
            return None
        return proc.stdout

    def run(self) -> None:
        while not self.stop.is_set():
            self.step()

    def step(self) -> None:
        rng = self.rng
        if len(self.issues) < 2 or rng.random() < 0.2:
            self.count += 1
            title, priority = f"{self.name}-{self.count}", rng.randint(0, 4)
            out = self.bd("create", title, "-p", str(priority), "--silent")
            if out is not None:
                self.issues[out.strip()] = Expected(title, priority)
            return
        iid = rng.choice(sorted(self.issues))
        want = self.issues[iid]
        kind = rng.choice(("update", "label", "label", "status"))
        if kind == "update":
            self.count += 1
            title, priority = f"{self.name}-{self.count}", rng.randint(0, 4)
            if self.bd("update", iid, "--title", title, "-p", str(priority)) is not None:
                want.title, want.priority = title, priority
        elif kind == "label":
            label = rng.choice(LABELS)
            verb = "remove" if label in want.labels else "add"
            if self.bd("label", verb, iid, label) is not None:
                (want.labels.discard if verb == "remove" else want.labels.add)(label)
        elif want.status == "closed":
            if self.bd("reopen", iid) is not None:
                want.status = "open"
        elif self.bd("close", iid) is not None:
            want.status = "closed"


class SyncLoop(threading.Thread):
    """`bd sync` over and over until told to stop; every run must exit 0."""

    def __init__(self, clone: Path, stop: threading.Event, failures: list[str]) -> None:
        super().__init__(name=f"sync-{clone.name}", daemon=True)
        self.clone = clone
        self.stop = stop
        self.failures = failures
        self.runs = 0
        self.enough = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            proc = run_bd("sync", cwd=self.clone, timeout=180)
            self.runs += 1
            if proc.returncode != 0 or "Traceback" in proc.stderr:
                self.failures.append(f"bd sync #{self.runs} in {self.clone.name} exited {proc.returncode}:\n"
                                     f"{proc.stdout}{proc.stderr}")
                self.stop.set()
            if self.runs >= MIN_SYNCS or self.stop.is_set():
                self.enough.set()
        self.enough.set()


def check_records(where: str, records: list[dict[str, Any]], agents: list[Agent]) -> list[str]:
    """Every acknowledged effect of every agent, as found in ``records`` (JSONL/export shape)."""
    by_id = {r["id"]: r for r in records}
    problems: list[str] = []
    for agent in agents:
        for iid, want in agent.issues.items():
            rec = by_id.get(iid)
            if rec is None:
                problems.append(f"{where}: {iid} ({want.title}) is missing")
                continue
            got = (rec.get("title"), rec.get("priority"), rec.get("status"), set(rec.get("labels") or ()))
            if got != (want.title, want.priority, want.status, want.labels):
                problems.append(f"{where}: {iid} is {got}, the last acknowledged writes say "
                                f"{(want.title, want.priority, want.status, want.labels)}")
    return problems


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def clone_records(clone: Path) -> dict[str, list[dict[str, Any]]]:
    """The database (`bd export`) and the JSONL of one clone."""
    proc = run_bd("export", cwd=clone)
    assert proc.returncode == 0, proc.stderr
    return {f"{clone.name} database": parse_jsonl(proc.stdout),
            f"{clone.name} JSONL": parse_jsonl((clone / ".beads" / "issues.jsonl").read_text(encoding="utf-8"))}


def remote_records(remote: Path, ref: str = "main") -> list[dict[str, Any]]:
    return parse_jsonl(git(remote, "show", f"{ref}:.beads/issues.jsonl").stdout)


def sync_ok(clone: Path) -> None:
    proc = run_bd("sync", cwd=clone, timeout=180)
    assert proc.returncode == 0, f"bd sync in {clone.name}: {proc.stdout}{proc.stderr}"


def make_remote(tmp: Path, names: list[str], *init_args: str) -> tuple[Path, list[Path]]:
    """A bare remote and clones of it; the first runs `bd init` and publishes, the others join."""
    remote = tmp / "remote.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(remote))
    clones: list[Path] = []
    for n, name in enumerate(names):
        path = tmp / name
        git(tmp, "clone", "-q", str(remote), str(path))
        if n == 0:
            assert run_bd("init", "--prefix", "ld", "--quiet", *init_args, cwd=path).returncode == 0
            git(path, "add", "-A")
            git(path, "commit", "-q", "-m", "add beads")
            git(path, "push", "-q", "-u", "origin", "main")
        else:
            assert run_bd("init", "--quiet", cwd=path).returncode == 0
        clones.append(path)
    return remote, clones


def run_load(clones: list[Path]) -> tuple[list[Agent], list[SyncLoop], list[str]]:
    """Agents and a sync loop in every clone, for SECONDS and at least MIN_SYNCS syncs each."""
    stop = threading.Event()
    failures: list[str] = []
    agents = [Agent(clone, f"{clone.name}w{i}", 1000 * c + i, stop, failures)
              for c, clone in enumerate(clones) for i in range(WRITERS)]
    loops = [SyncLoop(clone, stop, failures) for clone in clones]
    for t in [*agents, *loops]:
        t.start()
    stop.wait(SECONDS)  # the run's length; a failure ends it early
    for loop in loops:
        loop.enough.wait(120)
    stop.set()
    for t in [*agents, *loops]:
        t.join(180)
        assert not t.is_alive(), f"{t.name} did not stop"
    print(f"{sum(loop.runs for loop in loops)} syncs, {sum(a.commands for a in agents)} agent commands, "
          f"{sum(len(a.issues) for a in agents)} issues")  # shown with -s
    return agents, loops, failures


# -- the tests ------------------------------------------------------------------------------------


def test_sync_while_agents_write_one_clone(tmp_path: Path) -> None:
    remote, [clone] = make_remote(tmp_path, ["c0"])
    agents, loops, failures = run_load([clone])
    assert not failures, "\n".join(failures[:5])
    assert loops[0].runs >= MIN_SYNCS
    assert sum(a.commands for a in agents) > WRITERS  # the agents did write while syncs ran
    sync_ok(clone)
    problems: list[str] = []
    for where, records in clone_records(clone).items():
        problems += check_records(where, records, agents)
    problems += check_records("remote", remote_records(remote), agents)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("branch", [None, "beads-sync"], ids=["main", "sync-branch"])
def test_two_clones_sync_while_agents_write(tmp_path: Path, branch: str | None) -> None:
    remote, clones = make_remote(tmp_path, ["c0", "c1"], *(("--branch", branch) if branch else ()))
    agents, _, failures = run_load(clones)
    assert not failures, "\n".join(failures[:5])
    for clone in [*clones, *clones]:  # converge: a, b, a, b
        sync_ok(clone)
    problems: list[str] = []
    for clone in clones:
        for where, records in clone_records(clone).items():
            problems += check_records(where, records, agents)
    problems += check_records("remote", remote_records(remote, branch or "main"), agents)
    assert not problems, "\n".join(problems[:20])
    heads = {git(c, "rev-parse", branch or "HEAD").stdout for c in clones}
    assert len(heads) == 1, "the clones did not converge"
    if branch:  # and the working branches never got a bd commit
        for c in clones:
            assert not [s for s in git(c, "log", "--format=%s", "HEAD").stdout.splitlines() if s.startswith("bd ")]
