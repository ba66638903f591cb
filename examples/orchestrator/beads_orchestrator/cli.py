"""``bd-orch``: the command line of the orchestrator example.

    bd-orch run --agent-cmd "python3 agent.py" [--max-attempts 3] [--timeout 600] [--require-approval]
    bd-orch resume RUN_ID             after a crash: requeue the run's in-progress issues and go on
    bd-orch status [RUN_ID] [--json]  state, recent events and attempts of a run (default: the latest)
    bd-orch runs [--json]             every run
    bd-orch approve|reject ISSUE [--reason TEXT]
    bd-orch plan --file tasks.json    an epic with tasks and dependencies, in one transaction
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import beads
from beads.errors import BdError, NotFound
from beads_orchestrator.engine import Config, Orchestrator, decide, pid_alive, plan
from beads_orchestrator.store import RunStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bd-orch", description="Run an agent command over a beads workspace's "
                                     "ready work, recording every step in the workspace database.")
    parser.add_argument("--db", help="the beads database (default: found like bd does)")
    parser.add_argument("-C", "--dir", dest="path", help="start the workspace search here (default: cwd)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start a run: claim ready issues one by one until none is left")
    run.add_argument("--agent-cmd", required=True, help="command run per issue (issue JSON on stdin)")
    run.add_argument("--goal", default="", help="what this run is for (recorded)")
    run.add_argument("--timeout", type=float, default=600.0, help="seconds per agent invocation (600)")
    run.add_argument("--max-attempts", type=int, default=3,
                     help="attempts failing with one blocker signature before the issue is blocked (3)")
    run.add_argument("--max-issues", type=int, default=0, help="stop after this many issues (0: no limit)")
    run.add_argument("--label", action="append", default=[], help="only issues with this label (repeatable)")
    run.add_argument("--pass-env", action="append", default=[], help="pass this variable to the agent")
    run.add_argument("--require-approval", action="store_true", help="hold closing until approve/reject")
    run.add_argument("--transcripts", help="keep each turn's prompt and response in this directory")
    run.add_argument("--run-id", help="the run's ID (default: generated)")
    run.add_argument("--json", action="store_true")

    resume = sub.add_parser("resume", help="continue a crashed run (its in-progress issues are requeued)")
    resume.add_argument("run_id")
    resume.add_argument("--force", action="store_true", help="even if the run's process seems alive")
    resume.add_argument("--json", action="store_true")

    status = sub.add_parser("status", help="a run's state, recent events and attempts")
    status.add_argument("run_id", nargs="?")
    status.add_argument("--events", type=int, default=20, help="how many recent events (20)")
    status.add_argument("--json", action="store_true")

    runs = sub.add_parser("runs", help="list runs")
    runs.add_argument("--json", action="store_true")

    for verdict in ("approve", "reject"):
        gate = sub.add_parser(verdict, help=f"{verdict} the finished work held for approval on an issue")
        gate.add_argument("issue_id")
        gate.add_argument("--reason", default="")
        gate.add_argument("--by", default="cli", help="who decides (recorded as the approval's source)")
        gate.add_argument("--json", action="store_true")

    planner = sub.add_parser("plan", help="create an epic with tasks and dependencies from a JSON file")
    planner.add_argument("--file", required=True)
    planner.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with beads.open(args.path, db=args.db) as tracker:
            status = COMMANDS[args.command](tracker, args)
            if args.command not in ("status", "runs"):
                _flush(tracker)
            return status
    except BdError as err:
        if getattr(args, "json", False):
            print(json.dumps(err.to_dict()), file=sys.stderr)
        else:
            print(f"Error: {err}" + (f"\nHint: {err.hint}" if err.hint else ""), file=sys.stderr)
        return 1


def _flush(tracker: beads.Tracker) -> None:
    """Share the run's issue changes through issues.jsonl, as bd does after a write (a failure is a warning)."""
    try:
        beads.flush(tracker)
    except BdError as err:
        print(f"Warning: could not export to issues.jsonl: {err}", file=sys.stderr)


def cmd_run(tracker: beads.Tracker, args: argparse.Namespace) -> int:
    config = Config(agent_cmd=args.agent_cmd, timeout=args.timeout, max_attempts=args.max_attempts,
                    require_approval=args.require_approval, max_issues=args.max_issues, labels=args.label,
                    pass_env=args.pass_env, transcripts=args.transcripts)
    orch = Orchestrator.start(tracker, config, goal=args.goal, run_id=args.run_id)
    if not args.json:
        print(f"run {orch.run_id} started (actor {tracker.actor})", flush=True)
    return _finish(orch.run(), args)


def cmd_resume(tracker: beads.Tracker, args: argparse.Namespace) -> int:
    orch, requeued = Orchestrator.resume(tracker, args.run_id, force=args.force)
    if not args.json:
        print(f"run {orch.run_id} resumed; requeued: {' '.join(requeued) or 'nothing'}", flush=True)
    result = orch.run()
    result["requeued"] = requeued
    return _finish(result, args)


def _finish(result: dict[str, Any], args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(result))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result["attempts"].items())) or "no attempts"
        print(f"run {result['run_id']} {result['status']}: {result['handled']} issue(s) handled ({counts})")
    return 0


def cmd_status(tracker: beads.Tracker, args: argparse.Namespace) -> int:
    store = RunStore(tracker)
    store.ensure_schema()
    run_id = args.run_id or store.latest_run_id()
    run = store.run(run_id) if run_id else None
    if run is None:
        raise NotFound(f"no run {run_id}" if run_id else "no runs yet")
    checkpoint = store.last_checkpoint(run_id)
    run["alive"] = run["status"] != "running" or pid_alive(run["pid"])
    report = {"run": run, "attempt_counts": store.attempt_counts(run_id),
              "checkpoint": checkpoint and {**checkpoint, "state": json.loads(checkpoint["state_json"])},
              "pending_approvals": store.pending_approvals(run_id),
              "events": store.events(run_id, args.events), "attempts": store.attempts(run_id, args.events)}
    if args.json:
        print(json.dumps(report))
        return 0
    state = run["status"] if run["alive"] else "running, but its process is gone (bd-orch resume)"
    print(f"run {run['id']}  {state}  actor {run['actor']}  cycles {run['cycle_count']}"
          f"  current {run['current_issue_id'] or '-'}")
    if run["goal"]:
        print(f"goal: {run['goal']}")
    print("attempts: " + (", ".join(f"{k} {v}" for k, v in sorted(report["attempt_counts"].items())) or "none"))
    for pending in report["pending_approvals"]:
        print(f"awaiting approval: {pending['issue_id']}  {pending['title']}  ({pending['summary']})")
    print("recent attempts:")
    for a in report["attempts"]:
        print(f"  {a['issue_id']} #{a['number']} {a['status']:<17} {a['summary'] or a['blocker_signature'] or ''}")
    print("recent events:")
    for e in report["events"]:
        print(f"  {e['created_at']} {e['kind']:<18} {e['issue_id'] or '':<12} {e['message']}")
    return 0


def cmd_runs(tracker: beads.Tracker, args: argparse.Namespace) -> int:
    store = RunStore(tracker)
    store.ensure_schema()
    rows = store.runs()
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        print(f"{r['id']}  {r['status']:<8} cycles {r['cycle_count']:<4} succeeded {r['succeeded']:<4}"
              f" blocked {r['blocked']:<4} {r['created_at']}  {r['goal']}")
    if not rows:
        print("no runs yet")
    return 0


def cmd_gate(tracker: beads.Tracker, args: argparse.Namespace) -> int:
    verdict = "approved" if args.command == "approve" else "rejected"
    result = decide(tracker, args.issue_id, verdict, args.reason, source=args.by)
    print(json.dumps(result) if args.json else f"{result['issue_id']} {verdict} (now {result['status']})")
    return 0


def cmd_plan(tracker: beads.Tracker, args: argparse.Namespace) -> int:
    with open(args.file, encoding="utf-8") as fh:
        spec = json.load(fh)
    result = plan(tracker, spec)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"epic {result['epic']}: " + " ".join(f"{k}={v}" for k, v in result["tasks"].items()))
    return 0


COMMANDS = {"run": cmd_run, "resume": cmd_resume, "status": cmd_status, "runs": cmd_runs,
            "approve": cmd_gate, "reject": cmd_gate, "plan": cmd_plan}
