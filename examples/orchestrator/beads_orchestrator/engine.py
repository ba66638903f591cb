"""The orchestrator: claim ready work, run the agent on it, record everything, resume after a crash.

Each step is one transaction on the workspace database: the tracker change (claim, close,
block, release, discovered issues) and the run store's rows (attempt, events, checkpoint)
commit together or not at all. The only thing outside a transaction is the agent command
itself; a crash while it runs leaves the issue ``in_progress`` for this run's actor and the
attempt ``running``, which is exactly what ``resume`` looks for.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import beads
from beads import IssueFilter, ReadyFilter
from beads.errors import Conflict, InvalidInput, NotFound
from beads_orchestrator.agent import AgentResult, clean_env, run_agent
from beads_orchestrator.store import RunStore


@dataclass
class Config:
    agent_cmd: str
    timeout: float = 600.0
    max_attempts: int = 3
    require_approval: bool = False
    max_issues: int = 0  # 0: until no ready work is left
    labels: list[str] = field(default_factory=list)
    pass_env: list[str] = field(default_factory=list)
    transcripts: str | None = None  # directory for each turn's prompt and response


def actor_for(run_id: str) -> str:
    return f"bd-orch/{run_id}"


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Orchestrator:
    def __init__(self, tracker: beads.Tracker, run_id: str, config: Config) -> None:
        self.tracker = tracker
        self.store = RunStore(tracker)
        self.run_id = run_id
        self.config = config
        self.handled = 0

    # -- starting and resuming ------------------------------------------------------------------

    @classmethod
    def start(cls, tracker: beads.Tracker, config: Config, *, goal: str = "", run_id: str | None = None
              ) -> Orchestrator:
        run_id = run_id or "run-" + secrets.token_hex(4)
        tracker.actor = actor_for(run_id)
        store = RunStore(tracker)
        store.ensure_schema()
        repo = tracker.workspace.root if tracker.workspace else os.getcwd()
        with tracker.write():
            store.create_run(run_id, goal=goal, repo_path=repo, actor=tracker.actor, config=asdict(config),
                             pid=os.getpid())
            store.event(run_id, "run_started", goal, payload={"config": asdict(config)})
            store.checkpoint(run_id, {"step": "started"})
        return cls(tracker, run_id, config)

    @classmethod
    def resume(cls, tracker: beads.Tracker, run_id: str, *, force: bool = False) -> tuple[Orchestrator, list[str]]:
        """Take over a run after a crash: its ``in_progress`` issues go back to the queue."""
        store = RunStore(tracker)
        store.ensure_schema()
        run = store.run(run_id)
        if run is None:
            raise NotFound(f"no run {run_id}")
        if run["status"] == "running" and pid_alive(run["pid"]) and run["pid"] != os.getpid() and not force:
            raise Conflict(f"run {run_id} is still running (pid {run['pid']})", hint="use --force if it is not")
        tracker.actor = run["actor"]
        config = Config(**json.loads(run["config_json"]))
        with tracker.write():
            interrupted = store.interrupt_running_attempts(run_id)
            requeued = []
            for issue in tracker.list(IssueFilter(statuses=["in_progress"], assignee=run["actor"])):
                if store.pending_approval(issue["id"]):
                    continue  # finished work waiting for a verdict: keep it
                tracker.update(issue["id"], status="open", assignee="")
                requeued.append(issue["id"])
                store.event(run_id, "requeued", "left in progress by the crashed run", issue_id=issue["id"])
            store.update_run(run_id, status="running", pid=os.getpid(), current_issue_id=None)
            store.event(run_id, "run_resumed", f"requeued {len(requeued)}",
                        payload={"requeued": requeued, "interrupted_attempts": [a["id"] for a in interrupted]})
            store.checkpoint(run_id, {"step": "resumed", "requeued": requeued})
        return cls(tracker, run_id, config), requeued

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        try:
            while not self.config.max_issues or self.handled < self.config.max_issues:
                issue = self.claim()
                if issue is None:
                    break
                self.work(issue)
                self.handled += 1
        except BaseException as err:
            self._mark("crashed" if not isinstance(err, KeyboardInterrupt) else "stopped", repr(err))
            raise
        return self._mark("done", f"handled {self.handled} issue(s)")

    def _mark(self, status: str, summary: str) -> dict[str, Any]:
        store = self.store
        with self.tracker.write():
            store.update_run(self.run_id, status=status, summary=summary, current_issue_id=None)
            store.event(self.run_id, f"run_{status}", summary)
            store.checkpoint(self.run_id, {"step": status, "handled": self.handled})
        return {"run_id": self.run_id, "status": status, "handled": self.handled,
                "attempts": store.attempt_counts(self.run_id)}

    def claim(self) -> dict[str, Any] | None:
        """One transaction: take the next ready issue (library rules), count a cycle, checkpoint."""
        tracker, store = self.tracker, self.store
        filt = ReadyFilter(labels=list(self.config.labels), sort_policy="priority")
        with tracker.write():
            issue = tracker.claim_next(filt, skip=lambda i: i.get("issue_type") == "epic")
            if issue is None:
                return None
            cycle = store.next_cycle(self.run_id, issue["id"])
            store.event(self.run_id, "claimed", issue["title"], issue_id=issue["id"],
                        payload={"priority": issue["priority"], "cycle": cycle})
            store.checkpoint(self.run_id, {"step": "claimed", "issue": issue["id"], "cycle": cycle})
        return issue

    def work(self, issue: dict[str, Any]) -> None:
        tracker, store, run_id, issue_id = self.tracker, self.store, self.run_id, issue["id"]
        with tracker.write():
            attempt_id, number = store.start_attempt(run_id, issue_id)
            store.event(run_id, "attempt_started", f"attempt {number}", issue_id=issue_id,
                        payload={"attempt": number})
            store.checkpoint(run_id, {"step": "running", "issue": issue_id, "attempt": number})
        payload = tracker.show(issue_id)
        env = clean_env({"ORCH_RUN_ID": run_id, "ORCH_ISSUE_ID": issue_id, "ORCH_ATTEMPT": str(number)},
                        self.config.pass_env)
        repo = store.run(run_id)["repo_path"]
        result = run_agent(self.config.agent_cmd, payload, cwd=repo, timeout=self.config.timeout, env=env)
        prompt_path, response_path = self._transcripts(issue_id, number, payload, result)
        with tracker.write():
            store.record_turn(run_id, "worker", f"{run_id}/{issue_id}", prompt_path, response_path)
            self._record(issue, attempt_id, number, result)
            store.update_run(run_id, current_issue_id=None)
            store.checkpoint(run_id, {"step": "recorded", "issue": issue_id, "attempt": number,
                                      "handled": self.handled + 1})

    def _record(self, issue: dict[str, Any], attempt_id: int, number: int, result: AgentResult) -> None:
        tracker, store, run_id, issue_id = self.tracker, self.store, self.run_id, issue["id"]
        discovered: list[str] = []
        if result.discovered:
            specs = [_discovered_spec(item, issue) for item in result.discovered]
            discovered = [created["id"] for created in tracker.create_many(specs)]
            store.event(run_id, "discovered", f"{len(discovered)} new issue(s)", issue_id=issue_id,
                        source="agent", payload={"ids": discovered})
        for artifact in result.artifacts:
            store.add_artifact(attempt_id, issue_id, artifact["path"], artifact["metadata"])
        outcome = {"discovered": discovered, "artifacts": [a["path"] for a in result.artifacts]}
        if result.ok:
            status = "awaiting_approval" if self.config.require_approval else "succeeded"
            store.finish_attempt(attempt_id, status=status, exit_code=0, summary=result.summary, signature=None,
                                 output=result.output(), result=outcome)
            if self.config.require_approval:
                store.request_approval(run_id, issue_id, attempt_id, {"summary": result.summary})
                store.event(run_id, "approval_requested", result.summary, issue_id=issue_id)
            else:
                tracker.close(issue_id, result.summary)
                store.event(run_id, "closed", result.summary, issue_id=issue_id, source="agent",
                            payload={"attempt": number})
            return
        signature = result.signature or "unknown"
        store.finish_attempt(attempt_id, status="timeout" if result.timed_out else "failed",
                             exit_code=result.exit_code, summary=result.summary, signature=signature,
                             output=result.output(), result=outcome)
        store.event(run_id, "attempt_failed", signature, issue_id=issue_id, source="agent",
                    payload={"attempt": number, "exit_code": result.exit_code})
        self._after_failure(issue_id, signature)

    def _after_failure(self, issue_id: str, signature: str) -> None:
        """Block after ``max_attempts`` attempts with one signature; otherwise back to the queue."""
        tracker, store, run_id = self.tracker, self.store, self.run_id
        same = store.same_signature_count(issue_id, signature)
        if same >= self.config.max_attempts:
            tracker.update(issue_id, status="blocked")
            tracker.add_comment(issue_id, f"bd-orch: blocked after {same} attempts failing with the same "
                                          f"signature: {signature}", author=tracker.actor)
            store.event(run_id, "blocked", signature, issue_id=issue_id, payload={"attempts": same})
        else:
            tracker.update(issue_id, status="open", assignee="")
            store.event(run_id, "released", f"{same}/{self.config.max_attempts} with this signature",
                        issue_id=issue_id)

    def _transcripts(self, issue_id: str, number: int, payload: dict[str, Any], result: AgentResult
                     ) -> tuple[str | None, str | None]:
        if not self.config.transcripts:
            return None, None
        folder = os.path.join(self.config.transcripts, self.run_id)
        os.makedirs(folder, exist_ok=True)
        prompt = os.path.join(folder, f"{issue_id}-{number}.in.json")
        response = os.path.join(folder, f"{issue_id}-{number}.out.txt")
        with open(prompt, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)
        with open(response, "w", encoding="utf-8") as fh:
            fh.write(result.output())
        return prompt, response


def _discovered_spec(item: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    spec = {k: item[k] for k in ("title", "description", "priority", "issue_type", "labels") if k in item}
    spec.setdefault("title", "Untitled discovered work")
    spec.setdefault("priority", parent.get("priority", 2))
    spec["dependencies"] = [("discovered-from", parent["id"])]
    return spec


# -- approvals ------------------------------------------------------------------------------------


def decide(tracker: beads.Tracker, issue_id: str, verdict: str, rationale: str = "", source: str = "cli"
           ) -> dict[str, Any]:
    """Record ``approved`` (close the issue with the attempt's summary) or ``rejected`` (requeue it)."""
    store = RunStore(tracker)
    store.ensure_schema()
    issue_id = tracker.resolve_id(issue_id)
    with tracker.write():
        pending = store.pending_approval(issue_id)
        if pending is None:
            raise NotFound(f"no pending approval for {issue_id}")
        run_id, attempt = pending["run_id"], store.attempt(pending["attempt_id"])
        store.decide(pending["id"], verdict, rationale, source)
        store.event(run_id, verdict, rationale, issue_id=issue_id, source=source)
        if verdict == "approved":
            store.set_attempt_status(attempt["id"], "succeeded")
            tracker.close(issue_id, attempt["summary"] or "Approved")
            store.event(run_id, "closed", attempt["summary"], issue_id=issue_id, source=source)
        else:
            store.set_attempt_status(attempt["id"], "rejected", signature="rejected: " + rationale[:100])
            if rationale:
                tracker.add_comment(issue_id, f"bd-orch: rejected: {rationale}", author=source)
            config = Config(**json.loads(store.run(run_id)["config_json"]))
            orch = Orchestrator(tracker, run_id, config)
            orch._after_failure(issue_id, "rejected: " + rationale[:100])
        store.checkpoint(run_id, {"step": verdict, "issue": issue_id})
    return {"issue_id": issue_id, "verdict": verdict, "status": tracker.get(issue_id)["status"]}


# -- planning ---------------------------------------------------------------------------------------


def plan(tracker: beads.Tracker, spec: dict[str, Any]) -> dict[str, Any]:
    """An epic with its tasks and their dependencies, in one transaction (all or nothing).

    ``spec``: ``{"epic": {"title": ..., ...}, "tasks": [{"key": "a", "title": ..., "deps": ["b"]}, ...]}``.
    """
    tasks = spec.get("tasks") or []
    keys = [task.get("key") or str(n) for n, task in enumerate(tasks, start=1)]
    if len(set(keys)) != len(keys):
        raise InvalidInput("task keys must be unique")
    with tracker.write():
        epic_fields = {k: v for k, v in (spec.get("epic") or {}).items() if k != "title"}
        epic = tracker.create((spec.get("epic") or {}).get("title") or "Plan", issue_type="epic", **epic_fields)
        specs = [{**{k: v for k, v in task.items() if k not in ("key", "deps")}, "parent": epic["id"]}
                 for task in tasks]
        created = tracker.create_many(specs)
        ids = dict(zip(keys, [issue["id"] for issue in created], strict=True))
        for key, task in zip(keys, tasks, strict=True):
            for dep in task.get("deps") or []:
                if dep not in ids:
                    raise InvalidInput(f"task {key} depends on unknown task {dep}")
                tracker.add_dependency(ids[key], ids[dep])
    return {"epic": epic["id"], "tasks": ids}
