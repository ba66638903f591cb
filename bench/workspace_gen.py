"""Synthetic workspaces for the command benchmarks, built once per size and cached under /tmp.

A generator writes a realistic ``issues.jsonl`` (mostly open issues, some closed, in progress
and deferred; epics with parent-child children; chains of ``blocks`` edges; ``related`` and
``discovered-from`` links; labels; comments) and the real ``bd import`` loads it into a fresh
database, so the workspace is what a user who cloned a big repository would have. The result is
cached under ``/tmp/bd-bench-cache/<GENERATOR_VERSION>-<n>`` and copied for each benchmark run,
so reruns skip the build. Bump ``GENERATOR_VERSION`` whenever the generated data changes.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from beads.sync.jsonl import issue_line

GENERATOR_VERSION = "g1"
CACHE = Path(os.environ.get("BD_BENCH_CACHE", "/tmp/bd-bench-cache"))
LABELS = [f"area-{n}" for n in range(12)] + ["urgent", "backend", "frontend", "docs", "tech-debt"]
TYPES = ["task"] * 6 + ["bug"] * 3 + ["feature"] * 2 + ["chore"]
WORDS = ["fix", "add", "refactor", "document", "parser", "cache", "sync", "cli", "daemon", "index", "export"]
PREFIX = "bench"


def _stamp(minute: int) -> str:
    day, rest = divmod(minute, 24 * 60)
    month, mday = divmod(day, 28)
    year, month = divmod(month, 12)
    return f"{2024 + year:04d}-{month + 1:02d}-{mday + 1:02d}T{rest // 60:02d}:{rest % 60:02d}:00.000000000Z"


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out.rjust(4, "0")


class Generated:
    """The records plus a few IDs the benchmark commands need."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.epic = ""          # an epic with children
        self.plain = ""         # an open issue with no edges, comments: show/update/close target
        self.other = ""         # another open issue without edges: dep/relate partner
        self.commented = ""     # an issue with comments
        self.chained = ""       # an issue in the middle of a blocks chain (dep tree)


def generate(n: int, seed: int = 7) -> Generated:
    """``n`` issue records in the JSONL format (sorted by ID)."""
    rng = random.Random(seed)
    gen = Generated()
    epics = max(1, n // 100)
    plain_ids: list[str] = []
    comment_id = 0
    minute = 0
    records: dict[str, dict[str, Any]] = {}

    def new(issue_id: str, *, epic: bool = False) -> dict[str, Any]:
        nonlocal minute
        minute += 1
        created = _stamp(minute)
        roll = rng.random()
        status = ("closed" if roll < 0.25 else "in_progress" if roll < 0.35 else
                  "deferred" if roll < 0.37 else "open")
        if epic:
            status = "closed" if roll < 0.1 else "open"
        rec: dict[str, Any] = {
            "id": issue_id,
            "title": f"Synthetic issue {len(records)}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
            "description": "Generated for benchmarking. " * rng.randint(1, 6),
            "status": status,
            "priority": rng.choice([0, 1, 1, 2, 2, 2, 3, 4]),
            "issue_type": "epic" if epic else rng.choice(TYPES),
            "assignee": rng.choice(["", "", "alice", "bob", "carol"]),
            "created_at": created, "created_by": "bench", "updated_at": created,
            "labels": sorted(rng.sample(LABELS, rng.randint(0, 2))),
            "dependencies": [],
        }
        if status == "closed":
            rec["closed_at"] = created
            rec["close_reason"] = "done"
        if status == "open" and rng.random() < 0.03:
            rec["defer_until"] = "2099-01-01T00:00:00Z"
        records[issue_id] = rec
        return rec

    def edge(rec: dict[str, Any], target: str, dep_type: str) -> None:
        rec["dependencies"].append({"issue_id": rec["id"], "depends_on_id": target, "type": dep_type,
                                    "created_at": rec["created_at"], "created_by": "bench"})

    serial = 0
    epic_ids = []
    for _ in range(epics):
        serial += 1
        epic = new(f"{PREFIX}-{_b36(serial)}", epic=True)
        epic_ids.append(epic["id"])
    # children: about 40% of all issues live under an epic
    children = int(n * 0.4)
    per_epic = [0] * epics
    for _ in range(children):
        e = rng.randrange(epics)
        per_epic[e] += 1
        child = new(f"{epic_ids[e]}.{per_epic[e]}")
        edge(child, epic_ids[e], "parent-child")
    while len(records) < n:
        serial += 1
        rec = new(f"{PREFIX}-{_b36(serial)}")
        plain_ids.append(rec["id"])
    ids = sorted(records)
    # chains of blocks edges (newer -> older, so never a cycle), plus related / discovered-from
    order = sorted(records, key=lambda i: records[i]["created_at"])
    pos = {issue_id: k for k, issue_id in enumerate(order)}
    for _ in range(n // 12):
        length = rng.randint(2, 6)
        start = rng.randrange(len(order) - length * 40)
        chain = sorted({order[start + rng.randrange(1, 40) * k] for k in range(1, length + 1)}, key=pos.get)
        for older, newer in zip(chain, chain[1:], strict=False):
            edge(records[newer], older, "blocks")
    for _ in range(n // 10):
        a, b = sorted(rng.sample(range(len(order)), 2))
        edge(records[order[b]], order[a], rng.choice(["related", "discovered-from"]))
    for issue_id in rng.sample(ids, n // 5):
        rec = records[issue_id]
        rec["comments"] = []
        for _ in range(rng.randint(1, 3)):
            comment_id += 1
            rec["comments"].append({"id": comment_id, "issue_id": issue_id, "author": rng.choice(["alice", "bob"]),
                                    "text": "A comment generated for benchmarking.", "created_at": rec["created_at"]})
    # dedupe edges (two chains can share a pair)
    for rec in records.values():
        seen: set[str] = set()
        rec["dependencies"] = [d for d in rec["dependencies"]
                               if not (d["depends_on_id"] in seen or seen.add(d["depends_on_id"]))]  # type: ignore[func-returns-value]
    untouched = [i for i in plain_ids if records[i]["status"] == "open" and not records[i]["dependencies"]
                 and "comments" not in records[i] and "defer_until" not in records[i]]
    targets = {d["depends_on_id"] for r in records.values() for d in r["dependencies"]}
    untouched = [i for i in untouched if i not in targets]
    gen.plain, gen.other = untouched[len(untouched) // 2], untouched[len(untouched) // 3]
    gen.epic = next(e for e in epic_ids if records[e]["status"] == "open")
    gen.commented = next(i for i in ids if "comments" in records[i])
    gen.chained = next(r["id"] for r in records.values()
                       if any(d["type"] == "blocks" for d in r["dependencies"]) and r["id"] in targets)
    gen.records = [records[i] for i in ids]
    return gen


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(issue_line(rec) + "\n")


def build(n: int, bd: str, *, rebuild: bool = False) -> tuple[Path, dict[str, str], float | None]:
    """The cached workspace for ``n`` issues: (its root, named IDs, import seconds if built now)."""
    root = CACHE / f"{GENERATOR_VERSION}-{n}"
    ids_file = root / "bench-ids.txt"
    if ids_file.exists() and not rebuild:
        ids = dict(line.split("=", 1) for line in ids_file.read_text().split())
        return root, ids, None
    shutil.rmtree(root, ignore_errors=True)
    gen = generate(n)
    work = root.with_name(root.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "BD_ACTOR": "bench"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "config", "user.email", "bench@example.com"], cwd=work, check=True)
    subprocess.run(["git", "config", "user.name", "bench"], cwd=work, check=True)
    subprocess.run([bd, "init", "--prefix", PREFIX, "-q"], cwd=work, check=True, env=env,
                   stdout=subprocess.DEVNULL)
    source = work / "generated.jsonl"
    write_jsonl(source, gen.records)
    start = time.perf_counter()
    subprocess.run([bd, "import", "-i", str(source)], cwd=work, check=True, env=env, stdout=subprocess.DEVNULL)
    import_s = time.perf_counter() - start
    source.unlink()
    # one write through the CLI, so issues.jsonl is ours and current: reads take their real path
    subprocess.run([bd, "update", gen.plain, "--notes", "benchmark"], cwd=work, check=True, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "bench workspace"], cwd=work, check=True)
    ids = {"plain": gen.plain, "other": gen.other, "epic": gen.epic, "commented": gen.commented,
           "chained": gen.chained}
    (work / "bench-ids.txt").write_text("".join(f"{k}={v}\n" for k, v in ids.items()))
    work.rename(root)
    return root, ids, import_s


def fresh_copy(root: Path, dest: Path) -> Path:
    """A private copy of a cached workspace (writes must not touch the cache)."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(root, dest, symlinks=True)
    return dest
