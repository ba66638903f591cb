"""The daemon's figures (issue 7): export latency, idle CPU, concurrent throughput, write cost at 100,000.

Usage::

    python bench/bench_daemon.py [--idle-seconds 60] [--samples 20] [--clients 8] [--ops 25] [--big 100000]

1. mutation → JSONL on disk: a ``create`` through the socket, then the time until the new
   ID is in ``issues.jsonl`` (default debounce 500 ms; target p95 ≤ debounce + 150 ms); and
   how many exports a burst of 100 creates makes;
2. idle CPU of a daemon over ``--idle-seconds`` (user+system time from /proc, and its
   threads' context switches, i.e. wake-ups; target ≈ 0);
3. ``--clients`` processes each running ``--ops`` writes (``bd q``), through a daemon and
   in direct mode, on a copy of the cached 10,000-issue workspace: operations per second;
4. a write (``bd update <id> --priority N``) through the daemon on a copy of the cached
   ``--big``-issue workspace, as a ratio to ``python -c pass`` run alternately
   (target ≤ 4×), next to the same write in direct mode;
5. ``git``: a burst of 100 creates through a daemon started with ``--auto-commit
   --auto-push`` on a clone of a local bare repository: how many commits it makes, and
   the time from the last create to the last issue being on the remote.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import workspace_gen  # noqa: E402

ENV = dict(os.environ)
ENV.pop("PYTHONDONTWRITEBYTECODE", None)
ENV.pop("BEADS_NO_DAEMON", None)


def bd_path() -> str:
    return shutil.which("bd", path=str(Path(sys.executable).parent)) or "bd"


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env or ENV, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def start_daemon(bd: str, ws: Path, env: dict[str, str] | None = None) -> int:
    run([bd, "daemon", "start"], ws, env)
    return int((ws / ".beads" / "daemon.pid").read_text())


def stop_daemon(bd: str, ws: Path) -> None:
    run([bd, "daemon", "stop"], ws, check=False)


def call(sock_path: Path, operation: str, args: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(sock_path))
        s.sendall((json.dumps({"operation": operation, "args": args, "actor": "bench"}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def small_workspace(bd: str, scratch: Path, name: str) -> Path:
    ws = scratch / name
    ws.mkdir()
    run(["git", "init", "-q"], ws)
    run([bd, "init", "--prefix", "bn", "--quiet"], ws)
    return ws


def export_latency(bd: str, scratch: Path, samples: int) -> None:
    ws = small_workspace(bd, scratch, "latency")
    env = {**ENV, "BEADS_DEBOUNCE_MS": "500"}
    start_daemon(bd, ws, env)
    jsonl = ws / ".beads" / "issues.jsonl"
    times: list[float] = []
    try:
        for i in range(samples):
            t0 = time.perf_counter()
            reply = call(ws / ".beads" / "bd.sock", "create", {"title": f"Latency {i}"})
            issue_id = reply["data"]["id"]
            while True:
                try:
                    if f'"id":"{issue_id}"' in jsonl.read_text():
                        break
                except OSError:
                    pass
                if time.perf_counter() - t0 > 10:
                    raise SystemExit("the export did not happen within 10 s")
                time.sleep(0.002)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        stop_daemon(bd, ws)
    print(f"mutation -> JSONL on disk (debounce 500 ms, {samples} samples): p50 {pct(times, 50):.0f} ms, "
          f"p95 {pct(times, 95):.0f} ms (target p95 <= 650 ms)")


def burst(bd: str, scratch: Path, count: int = 100) -> None:
    ws = small_workspace(bd, scratch, "burst")
    start_daemon(bd, ws, {**ENV, "BEADS_DEBOUNCE_MS": "500"})
    try:
        t0 = time.perf_counter()
        for i in range(count):
            call(ws / ".beads" / "bd.sock", "create", {"title": f"Burst {i}"})
        elapsed = time.perf_counter() - t0
        while True:  # the export of the last mutation counted
            events = call(ws / ".beads" / "bd.sock", "metrics", {})["data"]
            if sum(events["mutations_per_export"]["last"]) >= count or events["exports"] >= 10:
                break
            time.sleep(0.01)
    finally:
        stop_daemon(bd, ws)
    print(f"burst of {count} creates through the socket in {elapsed:.2f} s: {events['exports']} export(s), "
          f"mutations per export {events['mutations_per_export']['last']}")


def git_burst(bd: str, scratch: Path, count: int = 100) -> None:
    remote = scratch / "remote.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], scratch)
    run(["git", "clone", "-q", str(remote), "gitburst"], scratch)
    ws = scratch / "gitburst"
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com")):
        run(["git", "config", key, value], ws)
    run([bd, "init", "--prefix", "bn", "--quiet"], ws)
    run(["git", "add", "-A"], ws)
    run(["git", "commit", "-q", "-m", "init"], ws)
    run(["git", "push", "-q", "-u", "origin", "main"], ws)
    run([bd, "daemon", "start", "--auto-commit", "--auto-push"], ws, {**ENV, "BEADS_DEBOUNCE_MS": "500"})
    try:
        t0 = time.perf_counter()
        last = ""
        for i in range(count):
            last = call(ws / ".beads" / "bd.sock", "create", {"title": f"Git burst {i}"})["data"]["id"]
        t1 = time.perf_counter()
        while f'"id":"{last}"' not in run(["git", "--git-dir", str(remote), "show", "main:.beads/issues.jsonl"],
                                          ws, check=False):
            if time.perf_counter() - t1 > 30:
                raise SystemExit("the push did not happen within 30 s")
            time.sleep(0.02)
        pushed = time.perf_counter() - t1
        commits = run(["git", "log", "--format=%s", "--grep=bd daemon export:"], ws).splitlines()
    finally:
        stop_daemon(bd, ws)
    print(f"auto-commit + auto-push, burst of {count} creates in {t1 - t0:.2f} s (debounce 500 ms): "
          f"{len(commits)} commit(s); last create -> on the remote in {pushed * 1000:.0f} ms")


def cpu_ticks(pid: int) -> tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
    return ticks / os.sysconf("SC_CLK_TCK"), switches


def idle_cpu(bd: str, scratch: Path, seconds: float) -> None:
    ws = small_workspace(bd, scratch, "idle")
    pid = start_daemon(bd, ws)
    try:
        run([bd, "q", "one write, then nothing"], ws)
        time.sleep(1.5)  # let the debounced export run
        cpu0, sw0 = cpu_ticks(pid)
        time.sleep(seconds)
        cpu1, sw1 = cpu_ticks(pid)
    finally:
        stop_daemon(bd, ws)
    print(f"idle daemon over {seconds:g} s: CPU {cpu1 - cpu0:.2f} s ({100 * (cpu1 - cpu0) / seconds:.3f} %), "
          f"{(sw1 - sw0) / seconds:.1f} wake-ups/s (all threads)")


CLIENT = """
import subprocess, sys
bd, n, me = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    done = subprocess.run([bd, "q", f"{me} {i}"], capture_output=True)
    assert done.returncode == 0, done.stderr
"""


def throughput(bd: str, scratch: Path, clients: int, ops: int) -> None:
    root, _, _ = workspace_gen.build(10_000, bd)
    results = {}
    for mode in ("daemon", "direct"):
        ws = workspace_gen.fresh_copy(root, scratch / f"tp-{mode}")
        env = dict(ENV)
        if mode == "daemon":
            start_daemon(bd, ws)
        else:
            env["BEADS_NO_DAEMON"] = "1"
        try:
            run([bd, "q", "warm-up"], ws, env)
            t0 = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, "-c", CLIENT, bd, str(ops), f"c{k}"], cwd=ws, env=env)
                     for k in range(clients)]
            for p in procs:
                if p.wait() != 0:
                    raise SystemExit(f"a {mode} client failed")
            elapsed = time.perf_counter() - t0
        finally:
            if mode == "daemon":
                stop_daemon(bd, ws)
        results[mode] = clients * ops / elapsed
        shutil.rmtree(ws, ignore_errors=True)
    print(f"{clients} clients x {ops} writes on 10,000 issues: daemon {results['daemon']:.0f} ops/s, "
          f"direct {results['direct']:.0f} ops/s ({results['daemon'] / results['direct']:.1f}x)")


def big_write(bd: str, scratch: Path, n: int, runs: int) -> None:
    root, ids, _ = workspace_gen.build(n, bd)
    ws = workspace_gen.fresh_copy(root, scratch / "big")
    plain = ids["plain"]
    start_daemon(bd, ws)

    def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=ws, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}: {done.stderr.decode()}")
        return elapsed

    base, through, direct, direct_base = [], [], [], []
    try:
        for i in range(runs + 1):
            b = timed([sys.executable, "-c", "pass"])
            t = timed([bd, "update", plain, "--priority", str(i % 4)])
            if i:
                base.append(b)
                through.append(t)
        stop_daemon(bd, ws)
        no_daemon = {**ENV, "BEADS_NO_DAEMON": "1"}
        for i in range(min(runs, 5) + 1):
            b = timed([sys.executable, "-c", "pass"])
            t = timed([bd, "update", plain, "--priority", str(i % 4)], no_daemon)
            if i:
                direct_base.append(b)
                direct.append(t)
    finally:
        stop_daemon(bd, ws)
        shutil.rmtree(ws, ignore_errors=True)
    mb, mt = statistics.median(base), statistics.median(through)
    md, mdb = statistics.median(direct), statistics.median(direct_base)
    print(f"write (bd update --priority) on {n:,} issues through the daemon: {mt * 1000:.0f} ms = "
          f"{mt / mb:.2f}x python -c pass ({mb * 1000:.0f} ms) (target <= 4x); "
          f"direct mode: {md * 1000:.0f} ms = {md / mdb:.2f}x")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--idle-seconds", type=float, default=60.0)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--ops", type=int, default=25)
    p.add_argument("--big", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=11)
    p.add_argument("--only", default="latency,git,idle,throughput,big")
    args = p.parse_args(argv)
    import beads

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(beads.__file__).parent)], check=True,
                   stdout=subprocess.DEVNULL)
    bd = bd_path()
    only = set(args.only.split(","))
    scratch = Path(tempfile.mkdtemp(prefix="bd-bench-daemon-"))
    home = scratch / "home"
    home.mkdir()
    ENV["HOME"] = str(home)  # the daemons' registry stays out of the user's
    try:
        if "latency" in only:
            export_latency(bd, scratch, args.samples)
            burst(bd, scratch)
        if "git" in only:
            git_burst(bd, scratch)
        if "idle" in only:
            idle_cpu(bd, scratch, args.idle_seconds)
        if "throughput" in only:
            throughput(bd, scratch, args.clients, args.ops)
        if "big" in only:
            big_write(bd, scratch, args.big, args.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
