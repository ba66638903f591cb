"""Write-command and import benchmarks: every write as a ratio to ``python -c pass``.

Usage::

    python bench/bench_writes.py [--n 10000] [--runs 7] [--import-n 100000] [--only create,close]

Builds (once, cached under ``/tmp/bd-bench-writes-<n>``) a workspace of ``--n`` issues with
as many dependencies through the library, writes its ``issues.jsonl`` with one CLI call, then
times each write command of the installed ``bd`` as a subprocess, interleaved with
``python -c pass`` so that both see the same machine load. ``--import-n`` also times
``bd import`` of a file with that many issues into a freshly initialised workspace and
reports its peak RSS. Standard library and ``beads`` only. See docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_core import build_workspace  # noqa: E402

BIN = Path(sys.executable).parent
BD = str(BIN / "bd")
BD_CMD = [BD]  # --src replaces it: the same interpreter running another checkout's sources
ENV = {**os.environ, "BD_ACTOR": "bench", "NO_COLOR": "1"}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)

# Peak RSS of one child, measured in a small spawner so our own memory is not counted.
_SPAWN = ("import resource,subprocess,sys,time;t=time.perf_counter();"
          "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
          "e=time.perf_counter()-t;"
          "print(r.returncode,e,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
          "repr(r.stderr.decode(errors='replace')[-300:]))")


def run(cmd: list[str], cwd: Path, check: bool = True) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of ``cmd``; exits on failure."""
    out = subprocess.run([sys.executable, "-c", _SPAWN, *cmd], cwd=cwd, env=ENV, capture_output=True,
                         text=True).stdout.split(" ", 3)
    code, elapsed, rss = int(out[0]), float(out[1]), int(out[2])
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: {out[3]}")
    return elapsed, rss


def workspace(n: int, fresh: bool) -> Path:
    root = Path(f"/tmp/bd-bench-writes-{n}")
    if fresh and root.exists():
        shutil.rmtree(root)
    if not (root / ".beads" / "issues.jsonl").exists():
        if root.exists():
            shutil.rmtree(root)
        root.mkdir()
        print(f"building {n} issues in {root} ...", flush=True)
        secs, _ = build_workspace(root, n)
        run([BD, "export"], root)
        print(f"  built in {secs:.1f} s", flush=True)
    return root


def new_issue(root: Path, title: str) -> str:
    return json.loads(run([*BD_CMD, "create", title, "--json"], root))["id"]


def scenarios(root: Path) -> list[tuple[str, Callable[[], list[str]]]]:
    """(name, setup returning the argv to time) per write; setup runs untimed before each sample."""
    a = new_issue(root, "bench target a")
    b = new_issue(root, "bench target b")
    small = root / "small.jsonl"
    if not small.exists():
        rows = [{"id": f"bench-imp{i}", "title": f"imported {i}", "status": "open", "priority": 2,
                 "issue_type": "task", "created_at": "2026-01-01T00:00:00Z",
                 "updated_at": "2026-01-01T00:00:00Z"} for i in range(5)]
        small.write_text("".join(json.dumps(r) + "\n" for r in rows))
    state = {"round": 0}

    def bump(argv: list[str]) -> Callable[[], list[str]]:
        return lambda: argv

    def imp() -> list[str]:
        state["round"] += 1  # a newer updated_at each time, so the import has work to do
        rows = [json.loads(line) for line in small.read_text().splitlines()]
        for r in rows:
            r["updated_at"] = f"2026-01-01T00:{state['round'] // 60:02d}:{state['round'] % 60:02d}Z"
        small.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return [*BD_CMD, "import", "-i", str(small)]

    def delete() -> list[str]:
        return [*BD_CMD, "delete", new_issue(root, "to delete"), "--force"]

    return [
        ("create", bump([*BD_CMD, "create", "bench created", "-p", "2"])),
        ("q", bump([*BD_CMD, "q", "bench quick"])),
        ("update set", bump([*BD_CMD, "update", a, "--assignee", "alice"])),
        ("update clear", bump([*BD_CMD, "update", a, "--assignee", ""])),
        ("update status", bump([*BD_CMD, "update", a, "--status", "in_progress"])),
        ("close", bump([*BD_CMD, "close", a])),
        ("reopen", bump([*BD_CMD, "reopen", a])),
        ("label add", bump([*BD_CMD, "label", "add", a, "bench-label"])),
        ("label remove", bump([*BD_CMD, "label", "remove", a, "bench-label"])),
        ("dep add", bump([*BD_CMD, "dep", "add", a, b])),
        ("dep remove", bump([*BD_CMD, "dep", "remove", a, b])),
        ("comments add", bump([*BD_CMD, "comments", "add", a, "a bench comment"])),
        ("delete", delete),
        ("import (5 issues)", imp),
        ("sync --flush-only (idle)", bump([*BD_CMD, "sync", "--flush-only"])),
    ]


def bench_writes(root: Path, runs: int, only: set[str] | None) -> list[tuple[str, float, float, int]]:
    floor: list[float] = []
    samples: dict[str, list[float]] = {}
    rss: dict[str, int] = {}
    todo = [(name, setup) for name, setup in scenarios(root) if not only or name.split()[0] in only]
    for _ in range(runs):
        for name, setup in todo:
            argv = setup()
            floor.append(timed([sys.executable, "-c", "pass"], root)[0])
            secs, kib = timed(argv, root)
            samples.setdefault(name, []).append(secs)
            rss[name] = max(rss.get(name, 0), kib)
    base = statistics.median(floor)
    rows = [("python -c pass", base, 1.0, 0)]
    for name, _ in todo:
        med = statistics.median(samples[name])
        rows.append((name, med, med / base, rss[name]))
    return rows


def bench_import(n: int) -> tuple[float, int]:
    """``bd import`` of an ``n``-issue file into a fresh workspace: (seconds, peak RSS KiB)."""
    src = workspace(n, fresh=False) / ".beads" / "issues.jsonl"
    with tempfile.TemporaryDirectory(prefix="bd-bench-import-") as tmp:
        dest = Path(tmp)
        run([*BD_CMD, "init", "--prefix", "bench", "--quiet"], dest)
        return timed([*BD_CMD, "import", "-i", str(src)], dest)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--fresh", action="store_true", help="rebuild the cached workspace")
    ap.add_argument("--only", default="", help="comma-separated first words of the rows to run")
    ap.add_argument("--import-n", type=int, default=0, help="also time an import of this many issues")
    ap.add_argument("--src", help="run bd from this source tree instead (e.g. an export of main, for before/after)")
    args = ap.parse_args()
    if args.src:
        BD_CMD[:] = [sys.executable, "-c", f"import sys; sys.path.insert(0, {args.src!r}); "
                     "from beads.cli.main import entry; entry()"]
    import compileall

    compileall.compile_dir(str(Path(__import__("beads").__file__).parent), quiet=1)
    root = workspace(args.n, args.fresh)
    only = {w.strip() for w in args.only.split(",") if w.strip()} or None
    target = 6.0 if args.n <= 10_000 else 12.0
    print(f"\n{args.n} issues, median of {args.runs} (target ≤ {target:g}×)")
    print(f"{'command':<28} {'ms':>8} {'ratio':>7} {'RSS MB':>7}")
    missed = 0
    for name, secs, ratio, kib in bench_writes(root, args.runs, only):
        flag = "" if name.startswith("python") or ratio <= target else "  MISS"
        missed += bool(flag)
        print(f"{name:<28} {secs * 1000:8.1f} {ratio:6.1f}× {kib / 1024:7.1f}{flag}")
    if args.import_n:
        start = time.perf_counter()
        secs, kib = bench_import(args.import_n)
        del start
        flag = "" if secs <= 10 else "  MISS"
        print(f"\nimport of {args.import_n} issues into a fresh DB: {secs:.2f} s, peak RSS {kib / 1024:.0f} MB{flag}")
        missed += bool(flag)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
