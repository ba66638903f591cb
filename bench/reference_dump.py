"""The floor for big outputs: the fewest lines of stdlib Python that print what ``bd`` prints.

Usage::

    python bench/reference_dump.py list|blocked|blocked-text|export path/to/beads.db

``list`` = ``bd list --all --limit 0 --json``, ``blocked`` = ``bd blocked --json``,
``blocked-text`` = ``bd blocked`` (one entry of three lines per blocked issue), ``export``
= ``bd export``. No ``beads`` import: ``sqlite3`` + ``json`` only, one query per relation,
written for the benchmark workspaces (``workspace_gen.py``: no unknown keys, no wisps, no
external dependencies), so it is a fair lower bound for the same bytes, not a second
implementation. ``bench_commands.py`` checks that the bytes are equal before timing it.
"""

import json
import sqlite3
import sys

# (json key, column, omit rule): S never omitted, s omitted when "", n omitted when NULL,
# i omitted when 0, b omitted when false; in the original's struct order
COLS = [("id", "id", "S"), ("title", "title", "S"), ("description", "description", "s"),
        ("design", "design", "s"), ("acceptance_criteria", "acceptance_criteria", "s"), ("notes", "notes", "s"),
        ("status", "status", "s"), ("priority", "priority", "S"), ("issue_type", "issue_type", "s"),
        ("assignee", "assignee", "s"), ("owner", "owner", "s"), ("estimated_minutes", "estimated_minutes", "n"),
        ("created_at", "created_at", "S"), ("created_by", "created_by", "s"), ("updated_at", "updated_at", "S"),
        ("closed_at", "closed_at", "n"), ("close_reason", "close_reason", "s"),
        ("closed_by_session", "closed_by_session", "s"), ("due_at", "due_at", "n"),
        ("defer_until", "defer_until", "n"), ("external_ref", "external_ref", "n"),
        ("source_system", "source_system", "s"), ("compaction_level", "compaction_level", "i"),
        ("compacted_at", "compacted_at", "n"), ("compacted_at_commit", "compacted_at_commit", "n"),
        ("original_size", "original_size", "i")]
TAIL = [("deleted_at", "deleted_at", "n"), ("deleted_by", "deleted_by", "s"),
        ("delete_reason", "delete_reason", "s"), ("original_type", "original_type", "s"),
        ("sender", "sender", "s"), ("ephemeral", "ephemeral", "b"), ("pinned", "pinned", "b"),
        ("is_template", "is_template", "b")]
SELECT = ", ".join(c for _, c, _ in COLS + TAIL)
BLOCKING = "'open', 'in_progress', 'blocked', 'deferred', 'hooked'"


def wire(row, labels, relations=None):
    out = {}
    for (key, _, rule), value in zip(COLS, row, strict=False):
        if rule == "S" or (rule == "n" and value is not None) or (rule in "si" and value):
            out[key] = value
    if labels:
        out["labels"] = labels
    if relations:
        out.update(relations)
    for (key, _, rule), value in zip(TAIL, row[len(COLS):], strict=False):
        if rule == "b":
            if value:
                out[key] = True
        elif (rule == "n" and value is not None) or (rule == "s" and value):
            out[key] = value
    return out


def go_escape(text):
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                     ("\u2029", "\\u2029")):
        if raw in text:
            text = text.replace(raw, esc)
    return text


def grouped(db, sql):
    out = {}
    for row in db.execute(sql):
        out.setdefault(row[0], []).append(row[1:])
    return out


def pretty_array(items, write):
    """``json.dumps(list, indent=2)`` written one element at a time."""
    encode = json.JSONEncoder(ensure_ascii=False, indent=2).encode
    first = True
    for item in items:
        write(("[\n  " if first else ",\n  ") + go_escape(encode(item)).replace("\n", "\n  "))
        first = False
    write("[]\n" if first else "\n]\n")


def dump_list(db, write):
    labels = {k: [v[0] for v in vs] for k, vs in grouped(db, "SELECT issue_id, label FROM labels ORDER BY issue_id, label").items()}
    deps = dict(db.execute("SELECT issue_id, COUNT(*) FROM dependencies GROUP BY issue_id"))
    dependents = dict(db.execute("SELECT depends_on_id, COUNT(*) FROM dependencies GROUP BY depends_on_id"))
    rows = db.execute(f"SELECT {SELECT} FROM issues WHERE status != 'tombstone' AND is_template = 0 "
                      "AND ephemeral = 0 ORDER BY priority ASC, created_at DESC")
    pretty_array(({**wire(r, labels.get(r[0])), "dependency_count": deps.get(r[0], 0),
                   "dependent_count": dependents.get(r[0], 0)} for r in rows), write)


def dump_blocked(db, write):
    labels = {k: [v[0] for v in vs] for k, vs in grouped(db, "SELECT issue_id, label FROM labels ORDER BY issue_id, label").items()}
    blockers = live_blockers(db)
    rows = db.execute(f"SELECT {SELECT} FROM issues WHERE pinned = 0 AND status IN ({BLOCKING}) "
                      "ORDER BY priority ASC, created_at ASC, id")
    pretty_array(({**wire(r, labels.get(r[0])), "blocked_by_count": len(blockers.get(r[0], ())),
                   "blocked_by": blockers.get(r[0], [])}
                  for r in rows if r[0] in blockers or r[6] in ("blocked", "deferred")), write)


def live_blockers(db):
    return {k: sorted(v[0] for v in vs) for k, vs in grouped(db, f"""
        SELECT d.issue_id, d.depends_on_id FROM dependencies d JOIN issues t ON t.id = d.depends_on_id
         WHERE d.type = 'blocks' AND t.status IN ({BLOCKING})""").items()}


def dump_blocked_text(db, write):
    blockers = live_blockers(db)
    rows = db.execute(f"SELECT priority, id, title, status FROM issues WHERE pinned = 0 AND status IN ({BLOCKING}) "
                      "ORDER BY priority ASC, created_at ASC, id")
    found = [(p, i, t, blockers.get(i, [])) for p, i, t, s in rows if i in blockers or s in ("blocked", "deferred")]
    if not found:
        write("\n✨ No blocked issues\n\n")
        return
    lines = [f"\n🚫 Blocked issues ({len(found)}):\n"]
    for priority, issue_id, title, ids in found:
        lines.append(f"[P{priority}] {issue_id}: {title}\n  Blocked by {len(ids)} open dependencies: [{' '.join(ids)}]\n")
    write("\n".join(lines) + "\n")


def dump_export(db, write):
    labels = {k: [v[0] for v in vs] for k, vs in grouped(db, "SELECT issue_id, label FROM labels ORDER BY issue_id, label").items()}
    deps = grouped(db, "SELECT issue_id, depends_on_id, type, created_at, created_by FROM dependencies "
                       "ORDER BY issue_id, created_at, depends_on_id, type")
    comments = grouped(db, "SELECT issue_id, id, author, text, created_at FROM comments ORDER BY issue_id, created_at, id")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for r in db.execute(f"SELECT {SELECT} FROM issues WHERE ephemeral = 0 ORDER BY id"):
        issue_id = r[0]
        rel = {}
        if issue_id in deps:
            rel["dependencies"] = [{"issue_id": issue_id, "depends_on_id": d, "type": t, "created_at": c,
                                    **({"created_by": b} if b else {})} for d, t, c, b in deps[issue_id]]
        if issue_id in comments:
            rel["comments"] = [{"id": i, "issue_id": issue_id, "author": a, "text": t, "created_at": c}
                               for i, a, t, c in comments[issue_id]]
        write(go_escape(dumps(wire(r, labels.get(issue_id), rel))) + "\n")


def main():
    mode, path = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = sys.stdout
    {"list": dump_list, "blocked": dump_blocked, "blocked-text": dump_blocked_text, "export": dump_export}[mode](db, out.write)
    out.flush()


main()
