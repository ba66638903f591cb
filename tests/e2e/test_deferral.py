"""``bd defer`` / ``bd undefer``, date flags in every form, and the date filters of ``bd list``."""

from __future__ import annotations

from beads.timefmt import to_ns
from conftest import Bd


def ids(items: object) -> list[str]:
    return [i["id"] for i in items]  # type: ignore[attr-defined, index]


def test_defer_hides_from_ready_and_undefer_brings_back(bd: Bd) -> None:
    a = bd("q", "Later").stdout.strip()
    b = bd("q", "Now").stdout.strip()
    out = bd("defer", a).stdout
    assert out.strip() == f"* Deferred {a}"
    assert ids(bd.json("ready")) == [b]
    assert bd.json("show", a)[0]["status"] == "deferred"  # type: ignore[index]
    assert a in ids(bd.json("list"))  # still listed
    [back] = bd.json("undefer", a)  # type: ignore[misc]
    assert back["status"] == "open" and "defer_until" not in back
    assert sorted(ids(bd.json("ready"))) == sorted([a, b])
    assert bd("undefer", a).stdout.strip() == f"* Undeferred {a} (now open)"


def test_defer_until_takes_relative_dates_and_refuses_impossible_ones(bd: Bd) -> None:
    a = bd("q", "Later").stdout.strip()
    [issue] = bd.json("defer", a, "--until", "+2w")  # type: ignore[misc]
    assert issue["status"] == "deferred"
    days = ((to_ns(issue["defer_until"]) or 0) - (to_ns(issue["updated_at"]) or 0)) / 86_400e9
    assert 13.9 < days < 14.1
    bad = bd("defer", a, "--until", "2026-02-30", check=False)
    assert bad.returncode == 1 and "invalid --until: invalid date '2026-02-30': no such day" in bad.stderr
    several = bd.json("defer", a, bd("q", "Other").stdout.strip(), "--until", "next monday")
    assert len(several) == 2  # type: ignore[arg-type]
    missing = bd("defer", "test-nope", check=False)
    assert missing.returncode == 1


def test_create_and_update_take_every_date_form(bd: Bd) -> None:
    issue = bd.json("create", "Dated", "--due", "tomorrow", "--defer", "+6h")
    assert issue["due_at"] and issue["defer_until"]  # type: ignore[index]
    for value in ("2030-01-15", "2030-01-15T10:00:00Z", "+1d", "next friday", "in 3 days"):
        bd("update", issue["id"], "--due", value)  # type: ignore[index]
    bad = bd("update", issue["id"], "--due", "2030-04-31", check=False)  # type: ignore[index]
    assert bad.returncode == 1 and "no such day" in bad.stderr
    bd("update", issue["id"], "--due", "")  # type: ignore[index]
    assert "due_at" not in bd.json("show", issue["id"])[0]  # type: ignore[index]


def test_list_date_filters(bd: Bd) -> None:
    late = bd.json("create", "Late", "--due", "2020-01-01")["id"]  # type: ignore[index]
    soon = bd.json("create", "Soon", "--due", "+1d")["id"]  # type: ignore[index]
    shelved = bd.json("create", "Shelved", "--defer", "+3d")["id"]  # type: ignore[index]
    plain = bd("q", "Plain").stdout.strip()
    assert ids(bd.json("list", "--overdue")) == [late]
    assert sorted(ids(bd.json("list", "--due-before", "+2d"))) == sorted([late, soon])
    assert ids(bd.json("list", "--due-after", "today")) == [soon]
    assert ids(bd.json("list", "--deferred")) == [shelved]
    assert ids(bd.json("list", "--defer-after", "+2d", "--defer-before", "+1w")) == [shelved]
    assert ids(bd.json("list", "--defer-before", "tomorrow")) == []
    assert plain not in ids(bd.json("list", "--due-before", "+10y"))
    bd("close", late)
    assert ids(bd.json("list", "--overdue", "--all")) == []  # a closed issue is not overdue
    bad = bd("list", "--due-before", "someday", check=False)
    assert bad.returncode == 1 and "parsing --due-before: cannot parse time 'someday'" in bad.stderr


def test_epic_json_matches_the_original(bd: Bd) -> None:
    epic = bd("q", "Epic", "-t", "epic").stdout.strip()
    kid = bd("q", "Kid").stdout.strip()
    bd("dep", "add", kid, epic, "-t", "parent-child")
    [entry] = bd.json("epic", "status")  # type: ignore[misc]
    assert list(entry) == ["epic", "total_children", "closed_children", "eligible_for_close"]
    assert (entry["total_children"], entry["closed_children"], entry["eligible_for_close"]) == (1, 0, False)
    assert bd.json("epic", "status", "--eligible-only") == []
    assert bd.json("epic", "close-eligible") == [] and bd.json("epic", "close-eligible", "--dry-run") == []
    bd("close", kid)
    [entry] = bd.json("epic", "status", "--eligible-only")  # type: ignore[misc]
    assert entry["eligible_for_close"] is True and entry["epic"]["id"] == epic
    assert bd.json("epic", "close-eligible", "--dry-run") == [entry]
    assert bd.json("epic", "close-eligible") == {"closed": [epic], "count": 1}
    assert bd.json("show", epic)[0]["close_reason"] == "All children completed"  # type: ignore[index]
