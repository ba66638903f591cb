"""Every read's SQL is planned without a nested full scan, with and without ``sqlite_stat1``.

A nested scan (a full ``SCAN`` inside a correlated subquery, or as the inner loop of a join)
is quadratic: on 10,000 issues it turned ``bd stats`` into a 30-second command. SQLite's
choice depends on the statistics it has, and a fresh database has none, so the reads are run
twice — once on a database never analysed and once after ``ANALYZE`` on a skewed graph — with
every statement captured and its ``EXPLAIN QUERY PLAN`` checked. Timings belong in bench/.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import pytest

from beads import timefmt
from beads.core.tracker import Tracker
from beads.query import IssueFilter, ReadyFilter


def build(t: Tracker, n: int = 400) -> dict[str, str]:
    """Epics with children, blocks chains, labels, comments, closed and deferred issues."""
    rng = random.Random(3)
    specs: list[dict[str, Any]] = [{"title": f"epic {k}", "issue_type": "epic"} for k in range(n // 40)]
    specs += [{"title": f"issue {k}", "labels": rng.sample(["a", "b", "c", "d"], rng.randint(0, 2)),
               "priority": rng.randint(0, 4)} for k in range(n - len(specs))]
    ids = [i["id"] for i in t.create_many(specs)]
    epics, rest = ids[: n // 40], ids[n // 40:]
    now = timefmt.now()
    deps = [{"issue_id": c, "depends_on_id": rng.choice(epics), "type": "parent-child", "created_at": now}
            for c in rest[: n // 2]]
    deps += [{"issue_id": b, "depends_on_id": a, "type": "blocks", "created_at": now}
             for a, b in zip(rest[::3], rest[1::3], strict=False)]
    with t.store.transaction():
        t.store.add_dependencies(deps)
        t.store.rebuild_blocked_cache()
    for issue_id in rest[::4]:
        t.close(issue_id)
    t.update(rest[5], status="deferred")
    t.add_comment(rest[7], "a comment")
    return {"epic": epics[0], "issue": rest[1], "commented": rest[7]}


def reads(t: Tracker, ids: dict[str, str]) -> list[Callable[[], object]]:
    """Each read the CLI offers, as the library call its command makes."""
    return [
        lambda: t.list(IssueFilter(limit=50, exclude_closed=True)),
        lambda: t.list(IssueFilter(limit=0)),
        lambda: t.list(IssueFilter(limit=50, labels=["a"], labels_any=["b", "c"])),
        lambda: t.list(IssueFilter(limit=50, parent_id=ids["epic"])),
        lambda: t.list(IssueFilter(limit=50, no_labels=True, sort="updated")),
        lambda: t.search("issue 1", IssueFilter(limit=50)),
        lambda: t.count(IssueFilter()),
        *[lambda g=g: t.count(IssueFilter(), g) for g in ("status", "priority", "type", "assignee", "label")],
        lambda: t.show(ids["issue"]),
        lambda: t.show(ids["epic"]),
        *[lambda p=p: t.ready(ReadyFilter(sort_policy=p)) for p in ("hybrid", "priority", "oldest")],
        lambda: t.ready(ReadyFilter(limit=0)),
        lambda: t.ready(ReadyFilter(parent_id=ids["epic"], labels=["a"])),
        lambda: t.blocked(),
        lambda: t.blocked(ids["epic"]),
        lambda: t.blocked_brief(),
        lambda: t.stats(),
        lambda: t.assigned_stats("someone"),
        lambda: t.epic_status(),
        lambda: t.stale(0),
        lambda: t.dep_tree(ids["issue"]),
        lambda: t.dep_tree(ids["epic"], direction="up"),
        lambda: t.find_cycles(),
        lambda: t.store.label_counts(),
        lambda: t.comments(ids["commented"]),
    ]


def nested_scans(conn: Any, sql: str) -> list[str]:
    """Plan lines that read a whole table (or a whole status/priority range) once per row of an
    enclosing loop: inner loops of a join and loops inside correlated subqueries must look rows
    up by an ID (``id``, ``issue_id``, ``depends_on_id``, ``rowid``) or an automatic index."""
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    detail = {r[0]: r[3] for r in rows}
    parent = {r[0]: r[1] for r in rows}
    loops_seen: dict[int, int] = {}  # parent id -> loops already opened under it
    bad = []
    for _, up, _, text in rows:
        if not text.startswith(("SCAN ", "SEARCH ")) or "CONSTANT ROW" in text:
            continue
        ancestors, p = [], up
        while p in detail:
            ancestors.append(detail[p])
            p = parent[p]
        inner = loops_seen.get(up, 0) > 0 or any(a.startswith("CORRELATED") for a in ancestors)
        by_id = re.search(r"\b\w*id=\?", text) or "AUTOMATIC" in text
        if inner and not by_id and not _scans_cte_queue(ancestors):
            bad.append(text)
        loops_seen[up] = loops_seen.get(up, 0) + 1
    return bad


def _scans_cte_queue(ancestors: list[str]) -> bool:
    # the recursive step of a CTE reads its queue one row at a time: not a table scan
    return bool(ancestors) and ancestors[0] in ("RECURSIVE STEP", "SETUP")


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-stat1", "analyzed"])
def test_no_read_plans_a_nested_full_scan(tracker: Tracker, analyzed: bool) -> None:
    ids = build(tracker)
    conn = tracker.store.db.conn
    if analyzed:
        conn.execute("ANALYZE")
    else:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is None
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        for read in reads(tracker, ids):
            read()
    finally:
        conn.set_trace_callback(None)
    selects = {s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))}
    assert len(selects) > 20
    problems = {sql: bad for sql in selects if (bad := nested_scans(conn, sql))}
    assert not problems, "\n\n".join(f"{sql}\n  -> {bad}" for sql, bad in problems.items())


def test_statistics_are_taken_after_the_table_grows_and_not_again_until_it_doubles(tracker: Tracker) -> None:
    conn = tracker.store.db.conn

    def stat1() -> bool:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is not None

    tracker.create_many([{"title": f"small {k}"} for k in range(100)])
    assert not stat1()  # small databases are left alone
    tracker.create_many([{"title": f"big {k}"} for k in range(1000)])
    assert stat1()  # the commit that crossed the threshold analysed
    assert tracker.store.refresh_statistics() is False  # fresh: nothing to do
    tracker.list(IssueFilter(limit=0))
    tracker.stats()
    assert tracker.store.refresh_statistics() is False


def writes(t: Tracker, ids: dict[str, str]) -> list[Callable[[], object]]:
    """The everyday writes whose transactions walk the graph or ask about waits-for gates."""
    child = t.create("child", parent=ids["epic"])["id"]
    a, b = (t.create(title)["id"] for title in ("a", "b"))
    return [
        lambda: t.close(child),
        lambda: t.reopen(child),
        lambda: t.add_dependency(a, b),
        lambda: t.remove_dependency(a, b),
        lambda: t.add_dependency(a, ids["epic"], "parent-child"),
        lambda: t.mark_superseded(a, b),
        lambda: t.create("new child", parent=ids["epic"]),
        lambda: t.delete([b]),
    ]


def bloom_filters_and_edge_scans(conn: Any, sql: str) -> list[str]:
    """Plan lines that read the whole edge table: a Bloom filter is built by a full scan, and a
    ``SCAN`` of ``dependencies`` without an index (or over an index not on the type) is one."""
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    return [r[3] for r in rows if "BLOOM FILTER" in r[3]
            or (re.match(r"SCAN (dependencies|d|c)\b", r[3]) and "idx_dependencies_waits_for" not in r[3])]


def test_no_write_builds_a_bloom_filter_or_scans_the_edges_once_analysed(tracker: Tracker) -> None:
    """With statistics, SQLite estimates a recursive CTE at a million rows and builds a Bloom
    filter over the whole edge table before a walk of a few edges (see ``_one_row`` in
    storage/sqlite/graph.py); and a gate probe without an index scans every edge."""
    ids = build(tracker)
    conn = tracker.store.db.conn
    conn.execute("ANALYZE")
    tracker.store.db.execute("INSERT INTO dependencies (issue_id, depends_on_id, type, created_at) "
                             "VALUES (?, ?, 'waits-for', ?)", (ids["epic"], ids["issue"], timefmt.now()))
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        for write in writes(tracker, ids):
            write()
        assert tracker.store.has_edges_of_type("waits-for")
    finally:
        conn.set_trace_callback(None)
    queries = {s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "DELETE"))}
    walks = [s for s in queries if "RECURSIVE" in s]
    assert len(walks) >= 3  # refresh, subtree block, cycle check
    problems = {sql: bad for sql in queries if (bad := bloom_filters_and_edge_scans(conn, sql))}
    assert not problems, "\n\n".join(f"{sql}\n  -> {bad}" for sql, bad in problems.items())
