"""Seeded randomized convergence test: three clones of one bare remote, real git, the installed `bd`.

Random writes (create with parents and blockers, field updates, close/reopen, labels, comments,
dependency edges, tombstone deletes) happen on random clones, interleaved with `bd sync` and with a
"human" running plain `git pull` / `git commit` / `git push` through the installed hooks. Then every
clone syncs until nothing moves, and we check:

(a) convergence: every clone's `issues.jsonl` is byte-identical to origin's, and the databases agree
    (`bd list --all`, the tombstones, `bd show` of every issue);
(b) no issue vanishes: every issue ever created is in every clone (matched by identity, not ID:
    clones add children to one parent concurrently, and one of two `P.N` minted twice moves to a new
    number), a tombstone only if some clone deleted it;
(c) no lost update. The oracle is causal, not "last wall-clock write wins": each write carries the
    vector of what its clone knew (knowledge only travels through git: a commit, a successful pull,
    a successful push). A write is *superseded* when a later write to the same field was made by a
    clone that already knew it. The final value of every field must be the value of one of the
    writes nobody superseded (concurrent writes race; any of them may win, `notes` may be joined),
    and when there is exactly one such write, its value exactly. Labels and dependency edges are
    registers per (issue, label) / (issue, target, type) written by add/remove; comments only grow.

Deleted issues are checked only for being tombstones: a delete wins over concurrent edits of the
same issue by design (docs/SYNC.md, "One side a tombstone"), so their other fields are not checked.

Seeds: a few fixed ones by default; `BD_FUZZ_SEEDS=1-40` (ranges and commas) and `BD_FUZZ_STEPS`
run more locally. A failure prints the seed and the operation log.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import BD_DIR, git, run_bd

import beads
from beads import timefmt

N_CLONES = 3
LABELS = ("a", "b", "c", "d")
ASSIGNEES = ("alice", "bob", "carol")
SCALARS = ("title", "description", "priority", "status", "assignee", "notes")
NOTES_SEPARATOR = "\n\n---\n\n"
DEFAULT_SEEDS = (3, 17, 2024)
DEFAULT_STEPS = 45
SYNC_BRANCH = "beads-sync"


def _seeds() -> list[int]:
    raw = os.environ.get("BD_FUZZ_SEEDS", "").strip()
    if not raw:
        return list(DEFAULT_SEEDS)
    out: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if "-" in part[1:]:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def _identity(issue: Any) -> tuple[int, str]:
    """What names one issue on every clone, whatever its ID: (creation instant, creator)."""
    return timefmt.to_ns(issue["created_at"]) or 0, issue.get("created_by") or ""


@pytest.fixture(autouse=True)
def bd_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks and the merge driver call `bd` by name, as they would for a user."""
    monkeypatch.setenv("PATH", BD_DIR + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("BD_HOOK_TIMEOUT", "60")


@dataclass
class Write:
    clone: int
    seq: int
    vc: tuple[int, ...]  # what the clone knew when it wrote (its own entry includes this write)
    value: Any


class FuzzFailure(AssertionError):
    pass


class Fuzz:
    """The clones, the model of who knows what, and the oracle."""

    def __init__(self, tmp: Path, seed: int, mode: str = "main") -> None:
        self.tmp = tmp
        self.seed = seed
        # "sync-branch": `bd init --branch`; the issues travel on SYNC_BRANCH, and a human's git
        # commits, pulls and pushes of main carry no issue knowledge at all
        self.sync_branch = mode == "sync-branch"
        self.init_args = ("--branch", SYNC_BRANCH) if self.sync_branch else ()
        self.rng = random.Random(seed)
        self.remote = tmp / "remote.git"
        self.clones: list[Path] = []
        self.know = [[0] * N_CLONES for _ in range(N_CLONES)]
        self.committed = [[0] * N_CLONES for _ in range(N_CLONES)]
        self.origin = [0] * N_CLONES
        self.seq = [0] * N_CLONES
        self.writes: dict[tuple[Any, ...], list[Write]] = {}
        self.comments: dict[str, set[str]] = {}
        # Issues are modelled by handle (the unique title they were created with), not by ID: two
        # clones that add a child to one parent concurrently both mint `P.N`, and the sync moves one
        # of them to a new number. A clone's rows are matched to handles by identity (creation time
        # and creator), which never changes.
        self.order: list[str] = []  # handles in creation order (targets are picked by position)
        self.creator: dict[str, int] = {}
        self.handle_of: dict[tuple[int, str], str] = {}
        self.deleted: set[str] = set()
        self.counter = 0
        self.log: list[str] = []

    # -- running things -------------------------------------------------------------------------

    def fail(self, message: str) -> FuzzFailure:
        tail = "\n".join(self.log[-80:])
        return FuzzFailure(f"seed {self.seed}: {message}\n--- operation log (last 80) ---\n{tail}")

    def bd(self, c: int, *args: str, ok: bool = True) -> Any:
        proc = run_bd(*args, cwd=self.clones[c], timeout=90)
        if "Traceback" in proc.stderr:
            raise self.fail(f"clone {c}: bd {' '.join(args)} crashed:\n{proc.stderr}")
        if ok and proc.returncode != 0:
            raise self.fail(f"clone {c}: bd {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def git(self, c: int, *args: str) -> Any:
        return git(self.clones[c], *args, check=False)

    def fresh(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}{self.counter}"

    # -- the model --------------------------------------------------------------------------------

    def write(self, c: int, key: tuple[Any, ...], value: Any) -> None:
        self.seq[c] += 1
        self.know[c][c] = self.seq[c]
        self.writes.setdefault(key, []).append(Write(c, self.seq[c], tuple(self.know[c]), value))

    def commit_point(self, c: int) -> None:
        self.committed[c] = list(self.know[c])

    def pulled(self, c: int) -> None:
        self.know[c] = [max(a, b) for a, b in zip(self.know[c], self.origin, strict=True)]
        self.committed[c] = [max(a, b) for a, b in zip(self.committed[c], self.origin, strict=True)]

    def pushed(self, c: int) -> None:
        self.origin = [max(a, b) for a, b in zip(self.origin, self.committed[c], strict=True)]

    @staticmethod
    def maximal(writes: list[Write]) -> list[Write]:
        """The writes no other write to the same key was made in knowledge of."""
        return [w for w in writes
                if not any(o is not w and w.seq <= o.vc[w.clone] for o in writes)]

    # -- set-up -------------------------------------------------------------------------------------

    def setup(self) -> None:
        """Clone 0 runs `bd init` and publishes a few issues; the others clone and `bd init`, which
        imports them. On every third seed the last clone is set up *before* the first issue is
        pushed, so it has a prefix of its own (its directory name) and imports the others leniently."""
        git(self.tmp, "init", "-q", "--bare", "-b", "main", str(self.remote))
        early = self.seed % 3 == 0
        order = [0, N_CLONES - 1, *range(1, N_CLONES - 1)] if early else list(range(N_CLONES))
        self.clones = [self.tmp / f"clone{c}" for c in range(N_CLONES)]
        for c in order:
            path = self.clones[c]
            git(self.tmp, "clone", "-q", str(self.remote), str(path))
            git(path, "config", "pull.rebase", "false")
            if c == 0 and early:
                self.bd(0, "init", "--prefix", "fz", "--quiet", *self.init_args)
                git(path, "add", "-A")
                git(path, "commit", "-q", "-m", "add beads")
                git(path, "push", "-q", "-u", "origin", "main")
            elif c == 0:
                self.bd(0, "init", "--prefix", "fz", "--quiet", *self.init_args)
                git(path, "add", "-A")
                git(path, "commit", "-q", "-m", "add beads")
                git(path, "push", "-q", "-u", "origin", "main")
                # a few issues before the other clones exist, so their init imports something
                for _ in range(3):
                    self.op_create(0, allow_links=False)
                self.op_sync(0)
            else:
                self.bd(c, "init", "--quiet")
                self.know[c] = list(self.origin)
                self.committed[c] = list(self.origin)
                self.log.append(f"clone{c}: git clone + bd init")
            if c == N_CLONES - 1 and early:
                for _ in range(3):
                    self.op_create(0, allow_links=False)
                self.op_sync(0)

    # -- reading a clone ------------------------------------------------------------------------------

    def snapshot(self, c: int) -> dict[str, dict[str, Any]]:
        tracker = beads.open(str(self.clones[c] / ".beads"), readonly=True)
        try:
            store = tracker.store
            out: dict[str, dict[str, Any]] = {}
            issues = store.all_issues()
            handles = {i["id"]: self.handle_of.get(_identity(i)) for i in issues}

            def h(iid: str) -> str:
                return handles.get(iid) or f"?{iid}"  # an issue the model does not know shows up as such

            for issue in issues:
                iid = issue["id"]
                out[h(iid)] = {
                    "id": iid,
                    **{f: issue.get(f) or ("" if f != "priority" else 0) for f in SCALARS},
                    "labels": set(store.labels_of(iid)),
                    "deps": {(h(d["depends_on_id"]), d["type"]) for d in store.dependencies_of(iid)},
                    "incoming": {(h(d["issue_id"]), d["type"]) for d in store.dependents_of(iid)},
                    "comments": [(cm["author"], cm["text"]) for cm in store.comments_of(iid)],
                }
            return out
        finally:
            tracker.disconnect()

    def live(self, c: int, snap: dict[str, dict[str, Any]]) -> list[str]:
        return [i for i in self.order if i in snap and snap[i]["status"] != "tombstone"]

    # -- operations -------------------------------------------------------------------------------

    def op_create(self, c: int, allow_links: bool = True) -> None:
        rng = self.rng
        title = self.fresh("title")
        priority = rng.randint(0, 4)
        args = ["create", title, "--silent", "-p", str(priority)]
        labels = sorted(rng.sample(LABELS, rng.randint(0, 2)))
        for label in labels:
            args += ["-l", label]
        edges: list[tuple[str, str]] = []
        if allow_links:
            snap = self.snapshot(c)
            live = self.live(c, snap)
            # Children under any parent, also one another clone is extending concurrently: both
            # mint the same `parent.N`, and sync must keep both issues (docs/SYNC.md).
            parents = [i for i in live if snap[i]["id"].count(".") < 3]  # max depth 3
            if parents and rng.random() < 0.35:
                parent = rng.choice(parents)
                args += ["--parent", snap[parent]["id"]]
                edges.append((parent, "parent-child"))
            if live and rng.random() < 0.3:
                blocker = rng.choice(live)
                if (blocker, "parent-child") not in edges:
                    args += ["--deps", f"blocks:{snap[blocker]['id']}"]
                    edges.append((blocker, "blocks"))
        proc = self.bd(c, *args)
        iid = proc.stdout.strip()
        self.log.append(f"clone{c}: {' '.join(args)} -> {iid} ({title})")
        tracker = beads.open(str(self.clones[c] / ".beads"), readonly=True)
        try:
            row = tracker.store.get_issue(iid)
        finally:
            tracker.disconnect()
        if row is None or row["title"] != title or _identity(row) in self.handle_of:
            raise self.fail(f"clone {c} created {iid}, but its database does not hold a new issue {title} there")
        iid = title  # the handle
        self.handle_of[_identity(row)] = iid
        self.order.append(iid)
        self.creator[iid] = c
        for f, value in (("title", title), ("description", ""), ("priority", priority), ("status", "open"),
                         ("assignee", ""), ("notes", "")):
            self.write(c, (iid, f), value)
        for label in labels:
            self.write(c, (iid, "label", label), True)
        for target, dep_type in edges:
            self.write(c, (iid, "dep", target, dep_type), True)

    def op_update(self, c: int) -> None:
        rng = self.rng
        snap = self.snapshot(c)
        live = self.live(c, snap)
        if not live:
            return
        iid = rng.choice(live)
        fields = rng.sample(SCALARS, rng.randint(1, 3))
        args = ["update", snap[iid]["id"]]
        changes: list[tuple[str, Any]] = []
        for f in sorted(fields):
            if f == "title":
                value: Any = self.fresh("title")
            elif f == "description":
                value = self.fresh("desc")
            elif f == "notes":
                value = self.fresh("note")
            elif f == "priority":
                value = rng.randint(0, 4)
            elif f == "status":
                value = rng.choice(("open", "in_progress"))
            else:
                value = rng.choice(ASSIGNEES)
            args += [f"--{f}", str(value)]
            changes.append((f, value))
        self.bd(c, *args)
        self.log.append(f"clone{c}: bd {' '.join(args)}")
        for f, value in changes:
            self.write(c, (iid, f), value)

    def op_close_reopen(self, c: int) -> None:
        snap = self.snapshot(c)
        live = self.live(c, snap)
        if not live:
            return
        iid = self.rng.choice(live)
        if snap[iid]["status"] == "closed":
            self.bd(c, "reopen", snap[iid]["id"])
            self.log.append(f"clone{c}: bd reopen {snap[iid]['id']} ({iid})")
            self.write(c, (iid, "status"), "open")
        else:
            self.bd(c, "close", snap[iid]["id"], "--force")
            self.log.append(f"clone{c}: bd close {snap[iid]['id']} ({iid})")
            self.write(c, (iid, "status"), "closed")

    def op_label(self, c: int) -> None:
        snap = self.snapshot(c)
        live = self.live(c, snap)
        if not live:
            return
        iid = self.rng.choice(live)
        label = self.rng.choice(LABELS)
        if label in snap[iid]["labels"]:
            self.bd(c, "label", "remove", snap[iid]["id"], label)
            self.log.append(f"clone{c}: bd label remove {snap[iid]['id']} ({iid}) {label}")
            self.write(c, (iid, "label", label), False)
        else:
            self.bd(c, "label", "add", snap[iid]["id"], label)
            self.log.append(f"clone{c}: bd label add {snap[iid]['id']} ({iid}) {label}")
            self.write(c, (iid, "label", label), True)

    def op_comment(self, c: int) -> None:
        snap = self.snapshot(c)
        live = self.live(c, snap)
        if not live:
            return
        iid = self.rng.choice(live)
        text = self.fresh("comment")
        self.bd(c, "comment", snap[iid]["id"], text)
        self.log.append(f"clone{c}: bd comment {snap[iid]['id']} ({iid}) {text}")
        self.comments.setdefault(iid, set()).add(text)

    def op_dep(self, c: int) -> None:
        snap = self.snapshot(c)
        live = self.live(c, snap)
        edges = [(i, t, ty) for i in live for (t, ty) in sorted(snap[i]["deps"]) if ty == "blocks"]
        if edges and self.rng.random() < 0.4:
            src, dst, _ = self.rng.choice(edges)
            types = sorted(ty for (t, ty) in snap[src]["deps"] if t == dst)
            self.bd(c, "dep", "remove", snap[src]["id"], snap[dst]["id"])
            self.log.append(f"clone{c}: bd dep remove {snap[src]['id']} {snap[dst]['id']} ({src} {dst}: "
                            f"{', '.join(types)})")
            for ty in types:
                self.write(c, (src, "dep", dst, ty), False)
            return
        if len(live) < 2:
            return
        src, dst = self.rng.sample(live, 2)
        names = f"{snap[src]['id']} {snap[dst]['id']} ({src} {dst})"
        proc = self.bd(c, "dep", "add", snap[src]["id"], snap[dst]["id"], ok=False)
        if proc.returncode != 0:
            if "cycle" in proc.stderr or "already exists" in proc.stderr or "already a child" in proc.stderr:
                self.log.append(f"clone{c}: bd dep add {names} refused: {proc.stderr.strip()[:80]}")
                return
            raise self.fail(f"clone {c}: bd dep add {names} failed:\n{proc.stderr}")
        self.log.append(f"clone{c}: bd dep add {names}")
        self.write(c, (src, "dep", dst, "blocks"), True)

    def op_delete(self, c: int) -> None:
        snap = self.snapshot(c)
        live = self.live(c, snap)
        if len(live) < 4:
            return
        iid = self.rng.choice(live)
        self.bd(c, "delete", snap[iid]["id"], "--force")
        self.log.append(f"clone{c}: bd delete {snap[iid]['id']} ({iid})")
        self.deleted.add(iid)
        self.write(c, (iid, "status"), "tombstone")
        for target, ty in snap[iid]["deps"]:
            self.write(c, (iid, "dep", target, ty), False)
        for source, ty in snap[iid]["incoming"]:
            self.write(c, (source, "dep", iid, ty), False)

    def op_sync(self, c: int) -> None:
        proc = self.bd(c, "sync", "--json")
        report = json.loads(proc.stdout)
        self.commit_point(c)
        if report.get("pulled"):
            self.pulled(c)
            self.commit_point(c)
        self.pushed(c)  # pushed, or nothing to push (origin already has it all)
        self.log.append(f"clone{c}: bd sync (committed={bool(report.get('committed'))} "
                        f"merge_resolved={report.get('merge_resolved')} pushed={report.get('pushed')})")
        self.check_clean(c, "after bd sync")

    def op_human(self, c: int) -> None:
        kind = self.rng.choice(("pull", "commit", "push") if self.sync_branch else ("pull", "commit", "commit-all", "push"))
        path = self.clones[c]
        if kind == "pull":
            proc = self.git(c, "pull", "--no-rebase", "-q", "origin", "main")
            ok = proc.returncode == 0
            if not ok:
                if self.git(c, "rev-parse", "-q", "--verify", "MERGE_HEAD").returncode == 0:
                    raise self.fail(f"clone {c}: a human git pull left a conflicted merge:\n{proc.stdout}{proc.stderr}"
                                    f"\n{self.git(c, 'status', '--porcelain').stdout}")
            elif not self.sync_branch:
                self.pulled(c)
        elif kind in ("commit", "commit-all"):
            if kind == "commit":
                code = path / f"code{c}.txt"
                with code.open("a") as fh:
                    fh.write(self.fresh("line") + "\n")
                git(path, "add", code.name)
                proc = self.git(c, "commit", "-q", "-m", "human work")
            else:
                proc = self.git(c, "commit", "-q", "-a", "-m", "human commit -a")
            ok = proc.returncode == 0
            if ok and not self.sync_branch:
                self.commit_point(c)
            if ok:
                self.check_clean(c, f"after a human git {kind}")
        else:
            proc = self.git(c, "push", "-q", "origin", "main")
            ok = proc.returncode == 0
            if ok and not self.sync_branch:
                self.pushed(c)
        self.log.append(f"clone{c}: human git {kind} -> {'ok' if ok else 'refused'}")

    def check_clean(self, c: int, when: str) -> None:
        if self.sync_branch:  # the issues are the sync branch's; the user's branch never gets a bd commit
            subjects = self.git(c, "log", "--format=%s", "HEAD").stdout.splitlines()
            if any(s.startswith("bd ") for s in subjects):
                raise self.fail(f"clone {c}: a bd commit on the working branch {when}")
            return
        status = self.git(c, "status", "--porcelain", "--", ".beads").stdout.strip()
        if status:
            raise self.fail(f"clone {c}: beads files not committed {when}:\n{status}")

    # -- the run ------------------------------------------------------------------------------------

    def run(self, steps: int) -> None:
        self.setup()
        ops = ((self.op_create, 14), (self.op_update, 16), (self.op_close_reopen, 6), (self.op_label, 10),
               (self.op_comment, 6), (self.op_dep, 8), (self.op_delete, 3), (self.op_sync, 17), (self.op_human, 6))
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]
        for _ in range(steps):
            op = self.rng.choices(funcs, weights)[0]
            op(self.rng.randrange(N_CLONES))
        self.quiesce()
        self.check()

    def quiesce(self, rounds: int = 6) -> None:
        self.log.append("--- quiesce ---")
        before = None
        for _ in range(rounds):
            for c in range(N_CLONES):
                self.op_sync(c)
            ref = SYNC_BRANCH if self.sync_branch else "HEAD"
            heads = [self.git(c, "rev-parse", ref).stdout.strip() for c in range(N_CLONES)]
            origin = git(self.remote, "rev-parse", SYNC_BRANCH if self.sync_branch else "main").stdout.strip()
            if heads == before and set(heads) == {origin}:
                return
            before = heads
        raise self.fail(f"the clones did not converge in {rounds} rounds of bd sync")

    # -- the invariants -------------------------------------------------------------------------------

    def check(self) -> None:
        # (a) files: byte-identical everywhere and equal to origin
        ref = SYNC_BRANCH if self.sync_branch else "main"
        origin = git(self.remote, "show", f"{ref}:.beads/issues.jsonl").stdout
        for c in range(N_CLONES):
            text = (self.clones[c] / ".beads" / "issues.jsonl").read_text(encoding="utf-8")
            if text != origin:
                raise self.fail(f"clone {c}'s issues.jsonl differs from origin's")
        # (a) databases: list, tombstones, show of every issue
        views = [self.db_view(c) for c in range(N_CLONES)]
        for c in range(1, N_CLONES):
            if views[c] != views[0]:
                diff = [k for k in views[0] if views[c].get(k) != views[0][k]][:3]
                detail = "\n".join(f"  {k}:\n    clone 0: {views[0][k]}\n    clone {c}: {views[c].get(k)}" for k in diff)
                raise self.fail(f"clone {c}'s database differs from clone 0's:\n{detail}")
        # (b) + (c) on the databases, as plain data
        snaps = [self.snapshot(c) for c in range(N_CLONES)]
        for c in range(N_CLONES):
            if snaps[c] != snaps[0]:
                raise self.fail(f"clone {c}'s database rows differ from clone 0's")
        snap = snaps[0]
        problems: list[str] = []
        for iid in self.order:
            row = snap.get(iid)
            if row is None:
                problems.append(f"{iid} vanished")
                continue
            if iid in self.deleted:
                if row["status"] != "tombstone":
                    problems.append(f"{iid} was deleted but is {row['status']}")
                continue
            if row["status"] == "tombstone":
                problems.append(f"{iid} is a tombstone but nobody deleted it")
                continue
            problems += self.check_issue(iid, row)
        if problems:
            raise self.fail("lost or wrong data:\n  " + "\n  ".join(problems))

    def check_issue(self, iid: str, row: dict[str, Any]) -> list[str]:
        out: list[str] = []
        for f in SCALARS:
            winners = self.maximal(self.writes[(iid, f)])
            values = [w.value for w in winners]
            final = row[f]
            if f == "notes" and len(values) > 1 and isinstance(final, str):
                parts = final.split(NOTES_SEPARATOR)
                if all(p in values for p in parts) and len(set(parts)) == len(parts):
                    continue
            if final not in values:
                expect = values[0] if len(values) == 1 else f"one of {values}"
                out.append(f"{iid}.{f} = {final!r}, expected {expect!r}")
        for kind, current in (("label", {(label,) for label in row["labels"]}), ("dep", row["deps"])):
            keys = {k[2:] for k in self.writes if k[0] == iid and k[1] == kind}
            for extra in sorted(current - keys):
                out.append(f"{iid} has {kind} {extra} that nobody added")
            for key in sorted(keys):
                values = {w.value for w in self.maximal(self.writes[(iid, kind, *key)])}
                present = key in current
                if present not in values:
                    out.append(f"{iid} {kind} {key}: present={present}, expected {sorted(values)} "
                               f"(writes: {[(w.clone, w.seq, w.value) for w in self.writes[(iid, kind, *key)]]})")
        texts = [t for _, t in row["comments"]]
        wanted = self.comments.get(iid, set())
        if sorted(texts) != sorted(wanted):
            out.append(f"{iid} comments {sorted(texts)}, expected {sorted(wanted)}")
        return out

    def db_view(self, c: int) -> dict[str, Any]:
        listed = json.loads(self.bd(c, "list", "--all", "--json", "--limit", "0").stdout)
        tombs = json.loads(self.bd(c, "list", "--status", "tombstone", "--json", "--limit", "0").stdout)
        ids = sorted({i["id"] for i in listed} | {i["id"] for i in tombs})
        shown = json.loads(self.bd(c, "show", *ids, "--json").stdout) if ids else []
        for issue in shown:
            for comment in issue.get("comments") or ():
                comment.pop("id", None)  # each database numbers comments itself (docs/SYNC.md)
        view: dict[str, Any] = {"list": sorted(listed, key=lambda i: i["id"]),
                                "tombstones": sorted(tombs, key=lambda i: i["id"])}
        view.update({f"show {i['id']}": i for i in shown})
        return view


@pytest.mark.parametrize("mode", ["main", "sync-branch"])
@pytest.mark.parametrize("seed", _seeds())
def test_random_operations_on_three_clones_converge_without_losing_writes(tmp_path: Path, seed: int,
                                                                           mode: str) -> None:
    steps = int(os.environ.get("BD_FUZZ_STEPS", DEFAULT_STEPS))
    Fuzz(tmp_path, seed, mode).run(steps)
