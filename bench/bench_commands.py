"""Every ``bd`` command on big workspaces, as a ratio to ``python -c pass`` measured side by side.

Usage::

    python bench/bench_commands.py [--sizes 10000,100000] [--only list,ready] [--runs 7]

For each size a synthetic workspace (``workspace_gen.py``, cached under /tmp) is copied to a
scratch directory; each row runs the installed ``bd`` as a subprocess ``--runs`` times, each
run right after a run of ``python -c pass`` from the same interpreter, so that both see the
same machine load and the ratio of their medians stays meaningful on a shared machine. Writes
run against that copy with an untimed step before each run that restores a comparable state
(reopen before ``close``, remove before ``label add``, ...). Big outputs are compared with
``reference_dump.py`` (stdlib ``sqlite3`` + ``json``), which must print the same bytes. See
bench/README.md for the targets.
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
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import workspace_gen  # noqa: E402

HERE = Path(__file__).parent
REFERENCE = HERE / "reference_dump.py"

# targets: (ratio at 10,000, ratio at 100,000) per kind; big outputs are ratios to the reference,
# git-bound commands to the same git commands run by hand (GIT_FLOOR)
TARGETS = {"read": (4.0, 5.0), "write": (6.0, 12.0), "big": (1.2, 1.2), "git": (2.5, 1.2)}
# whole-graph analyses have absolute targets (issue 9: beads_viewer's robot triage takes ~0.9-1.5 s at 10K)
MS_TARGETS = {"ms": (1000.0, 10_000.0)}
# What `bd sync` with one change cannot avoid: git hashing and compressing the JSONL, the commit,
# the fetch, and the push (git deltifies the new blob against the old one, and the remote stores
# it). The fewest git commands a person would type; `bd sync` runs them plus its own checks.
GIT_FLOOR = (
    "import subprocess, sys\n"
    "for argv in (['add', '--', '.beads/issues.jsonl'], ['commit', '-q', '-m', 'ref', '--', '.beads/issues.jsonl'],\n"
    "             ['fetch', '-q', 'origin'], ['push', '-q', 'origin', 'HEAD']):\n"
    "    subprocess.run(['git', *argv], check=True)\n"
)
RSS_LIMIT_MB = 60.0


@dataclass
class Row:
    name: str                      # what the table shows
    argv: list[str]                # bd arguments; {plain}, {epic}, ... are replaced by IDs
    kind: str = "read"             # read | write | big | git
    before: list[str] | None = None  # untimed bd arguments run before each timed run
    cwd: str = ""                  # "" = the workspace; "fresh" = a new empty git directory per run
    ref: str = ""                  # big outputs: the reference_dump.py mode
    alternate: list[list[str]] = field(default_factory=list)  # timed argv cycled over runs
    env: dict[str, str] = field(default_factory=dict)  # set for bd's runs (through /usr/bin/env, ~1 ms)


def rows() -> list[Row]:
    """Every command of the CLI (beads.cli.commands.COMMANDS), reads then writes."""
    r = [
        Row("--help", ["--help"]),
        Row("version", ["version"]),
        Row("where", ["where"]),
        Row("info", ["info"]),
        Row("info --json", ["info", "--json"]),
        Row("status", ["status"]),
        Row("stats --json", ["stats", "--json"]),
        Row("show --json", ["show", "{plain}", "--json"]),
        Row("show (epic)", ["show", "{epic}"]),
        Row("list", ["list"]),
        Row("list --json", ["list", "--json"]),
        Row("search --json", ["search", "parser", "--json"]),
        Row("count", ["count"]),
        Row("count --by-status", ["count", "--by-status"]),
        Row("stale --json", ["stale", "--json"]),
        Row("label list", ["label", "list", "{plain}"]),
        Row("label list-all", ["label", "list-all"]),
        Row("comments", ["comments", "{commented}"]),
        Row("ready", ["ready"]),
        Row("ready --json", ["ready", "--json"]),
        Row("epic status --json", ["epic", "status", "--json"]),
        Row("dep list", ["dep", "list", "{chained}"]),
        Row("dep tree", ["dep", "tree", "{chained}"]),
        Row("dep cycles", ["dep", "cycles"]),
        Row("list --pretty", ["list", "--pretty"]),
        Row("list --pretty --all --limit 0", ["list", "--pretty", "--all", "--limit", "0"], "ms"),
        Row("ready --pretty", ["ready", "--pretty"]),
        Row("show --short", ["show", "{plain}", "--short"]),
        Row("graph (epic)", ["graph", "{epic}"]),
        Row("graph --all --format dot", ["graph", "--all", "--format", "dot"], "ms"),
        Row("graph --all --json", ["graph", "--all", "--json"], "ms"),
        Row("triage --json", ["triage", "--json"], "ms"),
        Row("triage --brief", ["triage", "--brief"], "ms"),
        Row("config get", ["config", "get", "issue_prefix"]),
        Row("config list", ["config", "list"]),
        Row("hooks list", ["hooks", "list"]),
        Row("sync --dry-run", ["sync", "--dry-run"]),
        Row("sync --status", ["sync", "--status"]),
        Row("sync --check (every line validated)", ["sync", "--check"], "info"),
        Row("prime", ["prime"]),
        Row("onboard", ["onboard"]),
        Row("quickstart", ["quickstart"]),
        Row("setup --list", ["setup", "--list"]),
        Row("doctor --json (every check; no target)", ["doctor", "--json"], "info"),
        Row("list --all --limit 0 --json", ["list", "--all", "--limit", "0", "--json"], "big", ref="list"),
        Row("blocked --json", ["blocked", "--json"], "big", ref="blocked"),
        Row("export", ["export"], "big", ref="export"),
        Row("blocked (text)", ["blocked"], "big", ref="blocked-text"),
        # writes
        Row("create", ["create", "Bench issue", "-d", "made by the benchmark", "-q"], "write"),
        Row("q", ["q", "Quick bench issue"], "write"),
        Row("update -p", ["update", "{plain}", "-p", "1"], "write", alternate=[["update", "{plain}", "-p", "3"]]),
        Row("close", ["close", "{plain}"], "write", before=["reopen", "{plain}"]),
        Row("reopen", ["reopen", "{plain}"], "write", before=["close", "{plain}"]),
        Row("label add", ["label", "add", "{plain}", "benchlabel"], "write",
            before=["label", "remove", "{plain}", "benchlabel"]),
        Row("label remove", ["label", "remove", "{plain}", "benchlabel"], "write",
            before=["label", "add", "{plain}", "benchlabel"]),
        Row("comment", ["comment", "{plain}", "a benchmark comment"], "write"),
        Row("comments add", ["comments", "add", "{plain}", "another benchmark comment"], "write"),
        Row("dep add", ["dep", "add", "{plain}", "{other}"], "write", before=["dep", "remove", "{plain}", "{other}"]),
        Row("dep remove", ["dep", "remove", "{plain}", "{other}"], "write", before=["dep", "add", "{plain}", "{other}"]),
        Row("relate", ["relate", "{plain}", "{other}"], "write", before=["unrelate", "{plain}", "{other}"]),
        Row("unrelate", ["unrelate", "{plain}", "{other}"], "write", before=["relate", "{plain}", "{other}"]),
        Row("duplicate", ["duplicate", "{plain}", "--of", "{other}"], "write", before=["reopen", "{plain}"]),
        Row("supersede", ["supersede", "{plain}", "--with", "{other}"], "write", before=["reopen", "{plain}"]),
        Row("delete --force", ["delete", "{victim}", "--force"], "write"),
        Row("epic close-eligible", ["epic", "close-eligible"], "write"),
        Row("config set", ["config", "set", "bench.key", "1"], "write", alternate=[["config", "set", "bench.key", "2"]]),
        Row("config unset", ["config", "unset", "bench.key"], "write", before=["config", "set", "bench.key", "1"]),
        Row("hooks install", ["hooks", "install"], "write", before=["hooks", "uninstall"]),
        Row("hooks uninstall", ["hooks", "uninstall"], "write", before=["hooks", "install"]),
        Row("import (unchanged file)", ["import", "-i", "{jsonl_copy}"], "write"),
        Row("sync --flush-only (nothing to do)", ["sync", "--flush-only"], "write"),
        Row("sync --import-only", ["sync", "--import-only"], "write"),
        Row("sync --squash (one change)", ["sync", "--squash"], "write", before=["update", "{other}", "--notes", "{counter}"]),
        Row("sync (one change, local remote)", ["sync", "-m", "bench"], "git",
            before=["update", "{other}", "--notes", "{counter}"]),
        Row("sync, sync branch (one change, local remote)", ["sync", "-m", "bench"], "git",
            before=["update", "{other}", "--notes", "{counter}"], env={"BEADS_SYNC_BRANCH": "bench-sync"}),
        Row("merge (driver, 2 edits)", ["merge", "{merge_out}", "{merge_base}", "{merge_left}", "{merge_right}"],
            "write"),
        Row("init", ["init", "--prefix", "fresh", "-q"], "write", cwd="fresh"),
    ]
    return r


# One spawner process runs a whole row: a child's peak RSS counts the memory of the process
# that forked it until it execs, so spawning from this benchmark process would inflate it.
# Input (argv[1], JSON): a list of [label, argv, cwd]; label "untimed" steps are run and not timed.
SPAWNER = r"""
import json, os, signal, sys, time
null = os.open(os.devnull, os.O_WRONLY)
limit = float(sys.argv[2])
child = 0
def kill(signum, frame):
    os.kill(child, signal.SIGKILL)
signal.signal(signal.SIGALRM, kill)
out = []
for label, argv, cwd in json.loads(sys.argv[1]):
    start = time.perf_counter()
    child = os.posix_spawn(argv[0], argv, os.environ,
                           file_actions=[(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)])
    if limit:
        signal.setitimer(signal.ITIMER_REAL, limit)
    _, status, usage = os.wait4(child, 0)  # this step's own peak (and its children's: git)
    signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    out.append([label, elapsed, "timeout" if code == -signal.SIGKILL else code, usage.ru_maxrss])
    if code == -signal.SIGKILL:
        break  # the rest of the row would time out too
print(json.dumps(out))
"""


@dataclass
class Result:
    name: str
    kind: str
    wall: float            # median seconds of bd
    base: float            # median seconds of python -c pass (or of the reference) in the same loop
    rss_mb: float
    note: str = ""
    ref_rss_mb: float = 0.0  # git rows: the reference's peak (git's own)


class Bench:
    def __init__(self, bd: str, ws: Path, ids: dict[str, str], runs: int, scratch: Path, timeout: float) -> None:
        self.bd, self.ws, self.ids, self.runs, self.scratch = bd, ws, ids, runs, scratch
        self.timeout = timeout
        self.counter = 0
        self.victims: list[str] = []

    def fill(self, argv: list[str]) -> list[str]:
        self.counter += 1
        values = {**self.ids, "counter": f"bench note {self.counter}",
                  "victim": self.victims.pop() if self.victims and "{victim}" in argv else "",
                  "jsonl_copy": str(self.scratch / "import-copy.jsonl"),
                  **{f"merge_{k}": str(self.scratch / f"merge-{k}.jsonl") for k in ("out", "base", "left", "right")}}
        return [a.format(**values) if "{" in a else a for a in argv]

    def prepare(self, selected: list[Row]) -> None:
        """Side files and issues some rows need (untimed)."""
        names = {r.name for r in selected}
        jsonl = self.ws / ".beads" / "issues.jsonl"
        if "import (unchanged file)" in names:
            shutil.copyfile(jsonl, self.scratch / "import-copy.jsonl")
        if "merge (driver, 2 edits)" in names:
            lines = jsonl.read_text(encoding="utf-8").splitlines(keepends=True)
            (self.scratch / "merge-base.jsonl").write_text("".join(lines), encoding="utf-8")
            left, right = list(lines), list(lines)
            left[1] = left[1].replace('"priority":', '"notes":"left edit","priority":', 1)
            right[-2] = right[-2].replace('"priority":', '"notes":"right edit","priority":', 1)
            (self.scratch / "merge-left.jsonl").write_text("".join(left), encoding="utf-8")
            (self.scratch / "merge-right.jsonl").write_text("".join(right), encoding="utf-8")
        if "delete --force" in names:
            for k in range(self.runs + 1):
                out = self.run_bd(["q", f"victim {k}"], capture=True)
                self.victims.append(out.strip())
        if any(n.startswith("sync") and "local remote" in n for n in names) and not (self.scratch / "remote.git").exists():
            subprocess.run(["git", "init", "-q", "--bare", str(self.scratch / "remote.git")], check=True)
            subprocess.run(["git", "remote", "add", "origin", str(self.scratch / "remote.git")], cwd=self.ws, check=True)
            subprocess.run(["git", "add", "-A"], cwd=self.ws, check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["git", "commit", "-qm", "bench state"], cwd=self.ws, check=False, stdout=subprocess.DEVNULL)
            subprocess.run(["git", "push", "-q", "-u", "origin", "HEAD"], cwd=self.ws, check=True,
                           stderr=subprocess.DEVNULL)

    def run_bd(self, argv: list[str], *, capture: bool = False) -> str:
        done = subprocess.run([self.bd, *self.fill(argv)], cwd=self.ws, capture_output=True, text=True)
        if capture and done.returncode != 0:
            raise SystemExit(f"setup command failed: bd {' '.join(argv)}: {done.stderr.strip()}")
        return done.stdout

    def measure(self, row: Row) -> Result:
        base_argv = [sys.executable, "-c", "pass"]
        if row.ref:
            base_argv = [sys.executable, str(REFERENCE), row.ref, str(self.ws / ".beads" / "beads.db")]
        elif row.kind == "git":
            base_argv = [sys.executable, "-c", GIT_FLOOR]
        plan: list[list[object]] = []
        cycle = [row.argv, *row.alternate]
        for n in range(self.runs + 1):  # run 0 warms the caches and is dropped
            cwd = str(self.ws)
            if row.cwd == "fresh":
                fresh = self.scratch / f"fresh{n}"
                fresh.mkdir()
                subprocess.run(["git", "init", "-q"], cwd=fresh, check=True)
                cwd = str(fresh)
            if row.before:
                plan.append(["untimed", [self.bd, *self.fill(row.before)], cwd])
            plan.append([f"base{n}", base_argv, cwd])
            if row.before and row.kind == "git":  # the reference committed that change: make another
                plan.append(["untimed", [self.bd, *self.fill(row.before)], cwd])
            via_env = ["/usr/bin/env", *(f"{k}={v}" for k, v in row.env.items())] if row.env else []
            plan.append([f"bd{n}", [*via_env, self.bd, *self.fill(cycle[n % len(cycle)])], cwd])
        steps = self.spawn(plan)
        if any(st[2] == "timeout" for st in steps):
            base = [st[1] for st in steps if st[0].startswith("base")]
            return Result(row.name, row.kind, self.timeout, statistics.median(base) if base else 0.0,
                          max(st[3] for st in steps) / 1024, f"TIMEOUT (> {self.timeout:g} s)")
        bd_times = [s[1] for s in steps if s[0].startswith("bd") and s[0] != "bd0"]
        base_times = [s[1] for s in steps if s[0].startswith("base") and s[0] != "base0"]
        failed = [s for s in steps if s[0].startswith("bd") and s[2] != 0]
        note = f"exit {failed[0][2]}" if failed else ""
        # bd's own peak (with the git it runs), not the reference's; the warm-up run is left out
        # like its time (the first command on a fresh copy of a workspace is not a typical one)
        rss = max(s[3] for s in steps if s[0].startswith("bd") and s[0] != "bd0") / 1024
        res = Result(row.name, row.kind, statistics.median(bd_times), statistics.median(base_times), rss, note)
        if row.kind == "git":  # git's own peak (pack-objects) is in both: the limit applies to what bd adds
            res.ref_rss_mb = max(s[3] for s in steps if s[0].startswith("base") and s[0] != "base0") / 1024
        return res

    def spawn(self, plan: list[list[object]]) -> list[list]:
        # consecutive steps with the same directory share one spawner started there
        groups: list[list[list[object]]] = []
        for step in plan:
            if groups and groups[-1][0][2] == step[2]:
                groups[-1].append(step)
            else:
                groups.append([step])
        out: list[list] = []
        for group in groups:
            payload = json.dumps([[label, argv, ""] for label, argv, _ in group])
            done = subprocess.run([sys.executable, "-c", SPAWNER, payload, str(self.timeout)],
                                  cwd=str(group[0][2]), capture_output=True, text=True, check=True)
            out.extend(json.loads(done.stdout))
            if out and out[-1][2] == "timeout":
                break
        return out

    def same_bytes(self, row: Row) -> bool:
        """The reference prints exactly what ``bd`` prints (checked once, untimed)."""
        mine = subprocess.run([self.bd, *row.argv], cwd=self.ws, capture_output=True, check=True).stdout
        ref = subprocess.run([sys.executable, str(REFERENCE), row.ref, str(self.ws / ".beads" / "beads.db")],
                             cwd=self.ws, capture_output=True, check=True).stdout
        return mine == ref


def run_size(bd: str, n: int, selected: list[Row], runs: int, rebuild: bool, keep: bool,
             timeout: float) -> list[Result]:
    print(f"[{n}] workspace ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    root, ids, import_s = workspace_gen.build(n, bd, rebuild=rebuild)
    scratch = Path(tempfile.mkdtemp(prefix=f"bd-bench-{n}-"))
    results: list[Result] = []
    try:
        ws = workspace_gen.fresh_copy(root, scratch / "ws")
        print(f"[{n}] ready in {time.perf_counter() - t0:.1f} s: {ws}", file=sys.stderr, flush=True)
        if import_s is not None:
            results.append(Result(f"(build) import of {n} issues into a fresh DB", "info", import_s, 0, 0))
        bench = Bench(bd, ws, ids, runs, scratch, timeout)
        bench.prepare(selected)
        for row in selected:
            print(f"[{n}] {row.name} ...", file=sys.stderr, flush=True)
            res = bench.measure(row)
            if row.ref and not res.note and not bench.same_bytes(row):
                res.note = (res.note + " OUTPUT DIFFERS from reference").strip()
            results.append(res)
    finally:
        if keep:
            print(f"[{n}] kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


def verdict(res: Result, n: int) -> tuple[str, str, bool | None]:
    """(ratio text, target text, ok) for one result."""
    if res.kind == "info":
        return "", "", None
    if res.kind in MS_TARGETS:
        budget = MS_TARGETS[res.kind][0 if n <= 10_000 else 1]
        ok = res.wall * 1000 <= budget and not res.note
        return f"{res.wall * 1000:.0f} ms", f"<= {budget:g} ms", ok
    ratio = res.wall / res.base if res.base else 0.0
    limit = TARGETS[res.kind][0 if n <= 10_000 else 1]
    unit = {"big": "x ref", "git": "x git"}.get(res.kind, "x py")
    ok = ratio <= limit and not res.note
    return f"{ratio:.2f}{unit}", f"<= {limit:g}", ok


def print_table(n: int, results: list[Result]) -> int:
    rows_out = [("command", f"{n:,} ms", "ratio", "target", "RSS MB", "")]
    misses = 0
    for res in results:
        ratio, target, ok = verdict(res, n)
        misses += ok is False
        mark = "" if ok is None else ("PASS" if ok else "MISS")
        rows_out.append((res.name, f"{res.wall * 1000:.1f}", ratio, target,
                         f"{res.rss_mb:.1f}" if res.rss_mb else "", (mark + " " + res.note).strip()))
    base = [r.base for r in results if r.kind in ("read", "write")]
    # a git row's peak is git's (the reference shows the same); what bd adds over it counts
    peak = max((r.rss_mb - r.ref_rss_mb if r.ref_rss_mb else r.rss_mb for r in results), default=0.0)
    widths = [max(len(r[i]) for r in rows_out) for i in range(6)]
    print()
    for k, row in enumerate(rows_out):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    if base:
        print(f"python -c pass: median {statistics.median(base) * 1000:.1f} ms (measured next to each row)")
    rss_ok = n < 100_000 or peak <= RSS_LIMIT_MB
    misses += not rss_ok
    for r in results:
        if r.ref_rss_mb:
            print(f"{r.name}: peak RSS {r.rss_mb:.1f} MB with git, the same git commands by hand {r.ref_rss_mb:.1f} MB")
    print(f"peak RSS of any command: {peak:.1f} MB" + ("" if n < 100_000 else
          f" (target <= {RSS_LIMIT_MB:g} MB: {'PASS' if rss_ok else 'MISS'})"))
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated workspace sizes")
    parser.add_argument("--only", default="", help="comma-separated rows: a row is kept when its name starts "
                                                 "with one of these (e.g. list,ready,'sync --flush')")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per row (median reported)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds before a command is killed and its row reported as TIMEOUT (0 = none)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached workspaces")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    parser.add_argument("--list", action="store_true", help="print the row names and exit")
    args = parser.parse_args(argv)
    all_rows = rows()
    if args.list:
        print("\n".join(r.name for r in all_rows))
        return 0
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    selected = [r for r in all_rows if not wanted or any(r.name.startswith(w) for w in wanted)]
    if not selected:
        raise SystemExit(f"no row matches --only {args.only!r} (see --list)")
    bd = shutil.which("bd", path=str(Path(sys.executable).parent))
    if not bd:
        raise SystemExit("bd is not installed next to this Python (run scripts/install.sh)")
    import beads

    # bd runs from bytecode when installed (scripts/install.sh); make sure it is current
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(beads.__file__).parent)], check=True,
                   stdout=subprocess.DEVNULL)
    os.environ["BD_ACTOR"] = "bench"
    misses = 0
    for n in (int(s) for s in args.sizes.split(",")):
        results = run_size(bd, n, selected, max(1, args.runs), args.rebuild, args.keep, args.timeout)
        misses += print_table(n, results)
    print(f"\n{misses} target(s) missed" if misses else "\nall targets met")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
