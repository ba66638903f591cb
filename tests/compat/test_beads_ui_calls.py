"""Replays the exact ``bd`` command lines of beads-ui and the file reads of beads_viewer (spec §10.5).

beads-ui (mantoni/beads-ui) spawns ``bd`` with ``BEADS_DB`` set to the first ``.beads/*.db``
(``server/bd.js``, ``server/db.js``); its list adapters (``server/list-adapters.js``) parse
stdout only on exit 0, accept an array or a single object, flatten ``epic status``
entries and ``Date.parse`` the timestamps. Its writes (``server/ws.js``) run without
``--json``, check only the exit code, then re-read with ``show ID --json``.

beads_viewer (Dicklesworthstone/beads_viewer, ``pkg/loader``, ``pkg/model``) reads
``.beads/issues.jsonl`` directly into Go structs (``time.Time`` = RFC3339) and validates
each issue (id, title, known status, non-empty type, updated_at >= created_at).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Bd

# ECMAScript Date.parse as V8 implements it for ISO strings: date, 'T', time, optional
# fraction of any length (V8 keeps milliseconds), then 'Z' or a ±hh:mm offset.
ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


def date_parse(value: Any) -> float:
    """Milliseconds since the epoch, like JavaScript's ``Date.parse``; fails on anything else."""
    assert isinstance(value, str), value
    m = ISO.match(value)
    assert m, f"not Date.parse-able / RFC3339: {value!r}"
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    offset = timedelta(0) if tz == "Z" else (1 if tz[0] == "+" else -1) * timedelta(
        hours=int(tz[1:3]), minutes=int(tz[4:6]))
    moment = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss),
                      int(((frac or "") + "000000")[:6]), tzinfo=timezone(offset))
    return moment.timestamp() * 1000


def normalize(value: Any) -> list[dict[str, Any]]:
    """``fetchListForSubscription`` + ``normalizeIssueList``: what the UI keeps from stdout."""
    raw = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out = []
    for item in raw:
        assert isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"], item
        created, updated = date_parse(item["created_at"]), date_parse(item["updated_at"])
        closed = date_parse(item["closed_at"]) if item.get("closed_at") is not None else None
        assert created <= updated
        out.append({**item, "created_at": created, "updated_at": updated, "closed_at": closed})
    return out


class Ui:
    """Runs ``bd`` the way beads-ui's ``runBd`` does: cwd = workspace, BEADS_DB = nearest .beads/*.db."""

    def __init__(self, bd: Bd) -> None:
        self.bd = bd
        dbs = sorted(p for p in (bd.cwd / ".beads").iterdir() if p.is_file() and p.name.endswith(".db"))
        assert [p.name for p in dbs] == ["beads.db"]  # the first alphabetical .db is ours
        self.env = {"BEADS_DB": str(dbs[0])}

    def read(self, *args: str) -> Any:
        """``runBdJson``: exit 0 and ``JSON.parse(stdout || 'null')``."""
        result = self.bd(*args, env=self.env, check=False)
        assert result.returncode == 0, result
        return json.loads(result.stdout or "null")

    def write(self, *args: str) -> None:
        result = self.bd(*args, env=self.env, check=False)
        assert result.returncode == 0, result

    def detail(self, issue_id: str) -> dict[str, Any]:
        """The ``issue-detail`` subscription: ``show ID --json``, array or object."""
        items = normalize(self.read("show", issue_id, "--json"))
        assert [i["id"] for i in items] == [issue_id]
        return items[0]

    def epics(self) -> list[dict[str, Any]]:
        """The ``epics`` subscription, flattened and filtered exactly as list-adapters.js does."""
        raw = self.read("epic", "status", "--json")
        raw = raw if isinstance(raw, list) else []
        flat = []
        for entry in raw:
            assert set(entry) == {"epic", "total_children", "closed_children", "eligible_for_close"}, entry
            assert isinstance(entry["total_children"], int) and isinstance(entry["closed_children"], int)
            assert isinstance(entry["eligible_for_close"], bool)
            e = entry["epic"]
            assert isinstance(e, dict) and e["issue_type"] == "epic"
            flat.append({"id": e["id"], "title": e["title"], "status": e["status"], "created_at": e["created_at"],
                         "updated_at": e["updated_at"], "closed_at": e.get("closed_at"),
                         "deleted_at": e.get("deleted_at"), "total_children": entry["total_children"],
                         "closed_children": entry["closed_children"],
                         "eligible_for_close": entry["eligible_for_close"]})
        return normalize([f for f in flat if f["status"] != "tombstone" and f["deleted_at"] is None])

    def subscriptions(self) -> dict[str, list[dict[str, Any]]]:
        """Every list subscription's exact argv (``mapSubscriptionToBdArgs``)."""
        return {
            "all-issues": normalize(self.read("list", "--json")),
            "epics": self.epics(),
            "blocked-issues": normalize(self.read("blocked", "--json")),
            "ready-issues": normalize(self.read("ready", "--limit", "1000", "--json")),
            "in-progress-issues": normalize(self.read("list", "--json", "--status", "in_progress")),
            "closed-issues": normalize(self.read("list", "--json", "--status", "closed", "--limit", "1000")),
        }

    def create(self, title: str, *flags: str) -> str:
        """``create-issue``: the UI only acks; the new issue is found through the next list refresh."""
        before = {i["id"] for i in self.read("list", "--json", "--status", "all", "--limit", "0")}
        self.write("create", title, *flags)
        new = [i for i in self.read("list", "--json", "--status", "all", "--limit", "0") if i["id"] not in before]
        assert [i["title"] for i in new] == [title]
        return str(new[0]["id"])


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


@pytest.fixture
def ui(bd: Bd) -> Ui:
    return Ui(bd)


def test_empty_workspace_subscriptions(ui: Ui) -> None:
    subs = ui.subscriptions()
    assert all(v == [] for v in subs.values()), subs
    assert ui.read("blocked", "--json") == [] and ui.read("ready", "--limit", "1000", "--json") == []


def test_read_subscriptions_shapes(ui: Ui) -> None:
    epic = ui.create("Release 1", "-t", "epic", "-p", "1", "-d", "ship it")
    child = ui.create("Write docs", "-t", "task", "-p", "2")
    done = ui.create("Fix crash", "-t", "bug", "-p", "0", "-d", "segfault")
    blocker = ui.create("Pick a name", "-t", "chore")
    ui.write("dep", "add", child, epic, "--type", "parent-child")
    ui.write("dep", "add", done, epic, "--type", "parent-child")
    ui.write("dep", "add", child, blocker)
    ui.write("update", blocker, "--status", "in_progress")
    ui.write("update", done, "--status", "closed")

    subs = ui.subscriptions()
    # `list` hides closed issues without --all/--status (lessons §J, v0.42+); the UI reads those
    # through its own closed-issues subscription
    assert sorted(ids(subs["all-issues"])) == sorted([epic, child, blocker])
    assert ids(subs["in-progress-issues"]) == [blocker]
    assert ids(subs["closed-issues"]) == [done]
    closed = subs["closed-issues"][0]
    assert closed["closed_at"] is not None and closed["closed_at"] >= closed["created_at"]
    assert all(i["closed_at"] is None for i in subs["all-issues"])
    assert ids(subs["blocked-issues"]) == [child]
    assert subs["blocked-issues"][0]["blocked_by"] == [blocker]
    assert child not in ids(subs["ready-issues"]) and blocker in ids(subs["ready-issues"])

    [entry] = subs["epics"]
    assert (entry["id"], entry["total_children"], entry["closed_children"], entry["eligible_for_close"]) == (
        epic, 2, 1, False)

    detail = ui.detail(child)
    assert detail["parent"] == epic
    assert {(d["id"], d["dependency_type"]) for d in detail["dependencies"]} == {
        (epic, "parent-child"), (blocker, "blocks")}
    for linked in detail["dependencies"]:
        date_parse(linked["created_at"])
    assert [d["id"] for d in ui.detail(epic)["dependents"]] and ui.detail(epic)["description"] == "ship it"

    ui.write("update", child, "--status", "closed")
    [entry] = ui.epics()
    assert (entry["closed_children"], entry["eligible_for_close"]) == (2, True)


def test_every_write_then_show(ui: Ui) -> None:
    issue = ui.create("Draft title", "-t", "feature", "-p", "3", "-d", "first words")
    other = ui.create("Other")
    shown = ui.detail(issue)
    assert (shown["issue_type"], shown["priority"], shown["description"]) == ("feature", 3, "first words")

    # update-assignee / update-status / update-priority
    ui.write("update", issue, "--assignee", "alice")
    assert ui.detail(issue)["assignee"] == "alice"
    for status in ("in_progress", "closed", "open"):
        ui.write("update", issue, "--status", status)
        shown = ui.detail(issue)
        assert shown["status"] == status
        assert (shown["closed_at"] is not None) == (status == "closed")
    ui.write("update", issue, "--priority", "0")
    assert ui.detail(issue)["priority"] == 0

    # edit-text: title/description/acceptance/notes/design, with the hidden --acceptance-criteria alias
    fields = {"--title": "title", "--description": "description", "--acceptance-criteria": "acceptance_criteria",
              "--notes": "notes", "--design": "design"}
    for flag, key in fields.items():
        text = f"new {key} <b>&</b>\nsecond line"
        ui.write("update", issue, flag, text)
        assert ui.detail(issue)[key] == text
    ui.write("update", issue, "--assignee", "")
    assert "assignee" not in ui.detail(issue)  # unassigning is allowed and empty strings are omitted

    # dep-add / dep-remove, then show the viewed issue (`a`)
    ui.write("dep", "add", issue, other)
    assert [(d["id"], d["dependency_type"]) for d in ui.detail(issue)["dependencies"]] == [(other, "blocks")]
    assert [d["id"] for d in ui.detail(other)["dependents"]] == [issue]
    ui.write("dep", "remove", issue, other)
    assert "dependencies" not in ui.detail(issue) or ui.detail(issue)["dependencies"] == []

    # label-add / label-remove
    ui.write("label", "add", issue, "frontend")
    ui.write("label", "add", issue, "urgent")
    assert ui.detail(issue)["labels"] == ["frontend", "urgent"]
    ui.write("label", "remove", issue, "frontend")
    assert ui.detail(issue)["labels"] == ["urgent"]

    # get-comments / add-comment (newer UIs pass --author, older ones --actor)
    assert ui.read("comments", issue, "--json") == []
    ui.write("comment", issue, "Looks good", "--author", "Ann Author")
    ui.write("comment", issue, "Second thought", "--actor", "Bo Actor")
    comments = ui.read("comments", issue, "--json")
    assert isinstance(comments, list)
    assert [(c["author"], c["text"]) for c in comments] == [("Ann Author", "Looks good"),
                                                            ("Bo Actor", "Second thought")]
    for c in comments:
        assert c["issue_id"] == issue and isinstance(c["id"], int)
        date_parse(c["created_at"])
    assert [c["text"] for c in ui.detail(issue)["comments"]] == ["Looks good", "Second thought"]

    # delete-issue: gone from every list subscription
    ui.write("delete", issue, "--force")
    subs = ui.subscriptions()
    assert all(issue not in ids(items) for items in subs.values()), subs
    assert ids(subs["all-issues"]) == [other]


def test_deleted_epic_leaves_the_epics_view(ui: Ui) -> None:
    keep = ui.create("Kept epic", "-t", "epic")
    gone = ui.create("Dropped epic", "-t", "epic")
    ui.write("delete", gone, "--force")
    raw = ui.read("epic", "status", "--json")
    assert [e["epic"]["id"] for e in raw] == [keep]  # not even a tombstone for the UI to filter
    assert ids(ui.epics()) == [keep]


def test_failed_writes_exit_nonzero_with_a_message(ui: Ui) -> None:
    """The UI relies on exit codes and shows stderr; nothing may be reported as success."""
    issue = ui.create("Real")
    for args in (("update", "test-nope", "--status", "closed"),
                 ("update", issue, "--status", "finished"),
                 ("update", issue, "--priority", "9"),
                 ("create", "Bad", "-t", "story"),
                 ("dep", "add", issue, "test-nope"),
                 ("dep", "add", issue, issue),
                 ("label", "add", "test-nope", "x"),
                 ("comment", "test-nope", "hello", "--author", "A"),
                 ("delete", "test-nope", "--force")):
        result = ui.bd(*args, env=ui.env, check=False)
        assert result.returncode != 0, (args, result)
        assert result.stderr.startswith("Error: "), (args, result)
    for args in (("show", "test-nope", "--json"), ("comments", "test-nope", "--json")):
        result = ui.bd(*args, env=ui.env, check=False)
        assert result.returncode != 0, (args, result)
        assert "test-nope" in result.stderr
    assert ui.detail(issue)["status"] == "open"


# -- beads_viewer: reads .beads/issues.jsonl directly ---------------------------------------------

BV_STATUSES = {"open", "in_progress", "blocked", "deferred", "draft", "pinned", "hooked", "review", "closed",
               "tombstone"}


def go_time(value: Any) -> datetime:
    """Go's ``time.Time`` JSON decoding: RFC3339 with an optional fraction of up to 9 digits."""
    assert isinstance(value, str)
    m = ISO.match(value)
    assert m and len(m.group(7) or "") <= 9, f"not RFC3339 for Go time.Time: {value!r}"
    return datetime.fromtimestamp(date_parse(value) / 1000, UTC)


def viewer_load(beads_dir: Path) -> list[dict[str, Any]]:
    """``FindJSONLPath`` + line-by-line decode + ``Issue.Validate`` of beads_viewer."""
    path = next(beads_dir / n for n in ("issues.jsonl", "beads.jsonl", "beads.base.jsonl")
                if (beads_dir / n).exists())
    assert path.name == "issues.jsonl"
    issues = []
    for line in path.read_text(encoding="utf-8").splitlines():
        assert line and line == line.strip() and "\n" not in line
        issue = json.loads(line)
        assert isinstance(issue, dict)
        assert isinstance(issue["id"], str) and issue["id"]
        assert isinstance(issue["title"], str) and issue["title"]
        assert issue["status"] in BV_STATUSES
        assert isinstance(issue["issue_type"], str) and issue["issue_type"]
        assert isinstance(issue["priority"], int)
        assert go_time(issue["updated_at"]) >= go_time(issue["created_at"])
        for key in ("closed_at", "deleted_at"):
            if key in issue:
                go_time(issue[key])
        assert all(isinstance(label, str) for label in issue.get("labels", []))
        for dep in issue.get("dependencies", []):
            assert dep["issue_id"] == issue["id"] and isinstance(dep["depends_on_id"], str)
            assert isinstance(dep["type"], str) and dep["type"]
            go_time(dep["created_at"])
            assert isinstance(dep["created_by"], str)
        for comment in issue.get("comments", []):
            assert isinstance(comment["text"], str) and isinstance(comment["author"], str)
            go_time(comment["created_at"])
        issues.append(issue)
    return issues


def test_viewer_reads_the_jsonl_after_cli_writes(ui: Ui, bd: Bd) -> None:
    epic = ui.create("Epic", "-t", "epic", "-p", "1")
    task = ui.create("Task", "-d", "do it")
    bug = ui.create("Bug", "-t", "bug")
    gone = ui.create("Gone")
    ui.write("dep", "add", task, epic, "--type", "parent-child")
    ui.write("dep", "add", bug, task)
    ui.write("label", "add", task, "backend")
    ui.write("comment", task, "on it", "--author", "Ann")
    ui.write("update", bug, "--status", "in_progress")
    bd("close", epic, "--reason", "done")
    ui.write("delete", gone, "--force")

    issues = viewer_load(bd.cwd / ".beads")  # no explicit export: auto-flush wrote it
    by_id = {i["id"]: i for i in issues}
    assert [i["id"] for i in issues] == sorted(by_id)  # one line per issue, sorted by id
    assert set(by_id) == {epic, task, bug, gone}
    assert by_id[gone]["status"] == "tombstone"  # tombstones are kept for other clones
    assert by_id[epic]["status"] == "closed" and by_id[epic]["close_reason"] == "done"
    assert by_id[task]["labels"] == ["backend"]
    assert [(d["depends_on_id"], d["type"]) for d in by_id[task]["dependencies"]] == [(epic, "parent-child")]
    assert [(d["depends_on_id"], d["type"]) for d in by_id[bug]["dependencies"]] == [(task, "blocks")]
    assert [(c["author"], c["text"]) for c in by_id[task]["comments"]] == [("Ann", "on it")]
    assert by_id[bug]["status"] == "in_progress" and by_id[task]["description"] == "do it"

    # the viewer and the CLI agree on every live issue
    live = {i["id"]: i for i in bd.json("list", "--status", "all", "--limit", "0")}
    assert set(live) == {epic, task, bug}
    for issue_id, row in live.items():
        for key in ("title", "status", "priority", "issue_type", "created_at", "updated_at"):
            assert row[key] == by_id[issue_id][key], (issue_id, key)


def test_viewer_honours_beads_dir_and_beads_db(bd: Bd, tmp_path: Path) -> None:
    """bv resolves the tracker from BEADS_DB (file -> its directory) or BEADS_DIR; bd writes there."""
    beads_dir = bd.cwd / ".beads"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bd("create", "Via BEADS_DIR", cwd=elsewhere, env={"BEADS_DIR": str(beads_dir)})
    bd("create", "Via BEADS_DB", cwd=elsewhere, env={"BEADS_DB": str(beads_dir / "beads.db")})
    assert sorted(i["title"] for i in viewer_load(Path(str(beads_dir / "beads.db")).parent)) == [
        "Via BEADS_DB", "Via BEADS_DIR"]


def test_the_current_release_command_lines_succeed(ui: Ui) -> None:
    """beads-ui 0.12.6 (npm): ``list --json --tree=false`` (refused before: the UI's issue list stayed
    empty), ``show ID --json --include-dependents``, ``update --type decision``, ``comments add --author``."""
    epic = ui.create("Release 2", "-t", "epic")
    task = ui.create("Write notes", "-t", "task", "-p", "1", "-d", "words")
    ui.write("dep", "add", task, epic)
    ui.write("update", task, "--status", "blocked")
    # server/list-adapters.js mapSubscriptionToBdArgs, every subscription
    subs = {
        "all-issues": ui.read("list", "--json", "--tree=false", "--limit", "0"),
        "epics": ui.read("epic", "status", "--json"),
        "blocked-issues": ui.read("blocked", "--json"),
        "status-blocked-issues": ui.read("list", "--json", "--tree=false", "--status", "blocked", "--limit", "0"),
        "ready-issues": ui.read("ready", "--limit", "1000", "--json"),
        "in-progress-issues": ui.read("list", "--json", "--tree=false", "--status", "in_progress", "--limit", "0"),
        "closed-issues": ui.read("list", "--json", "--tree=false", "--status", "closed", "--limit", "1000"),
    }
    assert sorted(ids(normalize(subs["all-issues"]))) == sorted([epic, task])
    assert ids(normalize(subs["status-blocked-issues"])) == [task]
    assert ids(normalize(subs["blocked-issues"])) == [task]
    assert subs["in-progress-issues"] == [] and subs["closed-issues"] == []
    detail = normalize(ui.read("show", task, "--json", "--include-dependents"))
    assert [d["id"] for d in detail[0]["dependencies"]] == [epic]
    assert [d["id"] for d in normalize(ui.read("show", epic, "--json", "--include-dependents"))[0]["dependents"]] == [
        task]
    # server/ws.js writes
    for issue_type in ("bug", "feature", "task", "epic", "chore", "decision"):
        ui.write("update", task, "--type", issue_type)
        assert ui.detail(task)["issue_type"] == issue_type
    ui.write("comments", "add", task, "hello", "--author", "ui-user")
    assert [(c["author"], c["text"]) for c in ui.read("comments", task, "--json")] == [("ui-user", "hello")]
    # bdui prepends --sandbox unless BDUI_BD_SANDBOX=0 (server/bd.js buildBdArgs)
    assert sorted(ids(normalize(ui.read("--sandbox", "list", "--json", "--tree=false", "--limit", "0")))) == sorted(
        [epic, task])
