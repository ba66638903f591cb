"""``bd show`` text in the original's v0.47 layout, and its ``--short | --refs | --thread`` views.

A header line (status glyph, ID, type badge, title, priority badge, STATUS), a metadata block,
then one section per kind of content (DESCRIPTION … COMMENTS); colour on a terminal only.
"""

from __future__ import annotations

from beads.cli.render import visible
from beads.cli.style import STATUS_ICONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.cli.context import Context

# The order in which --refs lists link types (then any others, by name).
REF_ORDER = ("until", "caused-by", "validates", "blocks", "parent-child", "relates-to", "tracks", "discovered-from",
             "related", "supersedes", "duplicates", "replies-to", "approved-by", "authored-by", "assigned-to")
REF_ICONS = {"until": "⏳", "caused-by": "⚡", "validates": "✅", "blocks": "🚫", "parent-child": "↳",
             "relates-to": "↔", "related": "↔", "tracks": "👁", "discovered-from": "◊", "supersedes": "⬆",
             "duplicates": "🔄", "replies-to": "💬", "approved-by": "👍", "authored-by": "✏", "assigned-to": "👤"}


def run(ctx: Context) -> int:
    from beads.cli import style
    from beads.cli.cmd_issues import finish_each, for_each_id

    args = ctx.args
    tracker = ctx.tracker()
    p = style.painter(ctx)
    if args.thread:
        return _thread(ctx, p)
    results, failures = for_each_id(ctx, args.ids, tracker.show, "fetching", None)
    if args.refs:
        refs = {r["id"]: r.get("dependents", []) for r in results}
        if ctx.json:
            return finish_each(ctx, results, failures, refs)
        lines: list[str] = []
        for issue_id, items in refs.items():
            lines += _ref_lines(p, issue_id, items)
        style.write(ctx, lines)
        return finish_each(ctx, results, failures, refs)
    if ctx.json:  # --short changes only the text
        return finish_each(ctx, results, failures, results)
    style.write(ctx, [p.pretty_issue(r) for r in results])
    return finish_each(ctx, results, failures, results)


def _ref_lines(p: Any, issue_id: str, refs: list[dict[str, Any]]) -> list[str]:
    if not refs:
        return ["", f"{p.accent(visible(issue_id))}: No references found"]
    lines = ["", f"{p.accent('📎')} References to {visible(issue_id)}:"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for ref in refs:
        groups.setdefault(ref["dependency_type"], []).append(ref)
    order = [t for t in REF_ORDER if t in groups] + sorted(t for t in groups if t not in REF_ORDER)
    for dep_type in order:
        items = groups[dep_type]
        lines += ["", f"  {REF_ICONS.get(dep_type, '→')} {visible(dep_type)} ({len(items)}):"]
        for ref in items:
            status, rid, title = ref.get("status", ""), visible(ref["id"]), visible(ref.get("title", ""))
            tag = f"[P{ref.get('priority', 0)} - {status}]"
            if status == "closed":
                lines.append(f"    {p.muted(rid)}: {p.muted(title)} {p.muted(tag)}")
            else:
                lines.append(f"    {p.status_text(status, rid)}: {title} {tag}")
    lines.append("")
    return lines


def _thread(ctx: Context, p: Any) -> int:
    from beads.cli import style
    from beads.core.insight import message_thread

    root, messages, parent = message_thread(ctx.tracker(), ctx.args.ids[0])
    if ctx.json:
        ctx.emit(messages)
        return 0
    title = next((m.get("title", "") for m in messages if m["id"] == root), "")
    lines = ["", f"{p.accent('📬')} Thread: {visible(title)}", "─" * 66]
    for msg in messages:
        depth, up = 0, parent.get(msg["id"])
        while up is not None and depth < 5:
            depth += 1
            up = parent.get(up)
        indent = "  " * depth
        icon = "✓" if msg.get("status") == "closed" else "📧"
        when = (msg.get("created_at") or "")[:16].replace("T", " ")
        lines.append(f"{indent}{icon} {p.accent(visible(msg['id']))} {p.muted(when)}")
        lines.append(f"{indent}  From: {visible(msg.get('sender', ''))}  To: {visible(msg.get('assignee', ''))}")
        if msg["id"] in parent:
            lines.append(f"{indent}  Re: {visible(parent[msg['id']])}")
        lines.append(f"{indent}  {p.muted('Subject')}: {visible(msg.get('title', ''))}")
        for text in (msg.get("description") or "").split("\n") if msg.get("description") else []:
            lines.append(f"{indent}  {visible(text)}")
        lines.append("")
    lines += [f"Total: {len(messages)} messages in thread", ""]
    style.write(ctx, lines)
    return 0


# -- the default text of bd show (v0.47 layout) --------------------------------------------------

_DEPENDENT_GROUPS = (("parent-child", "CHILDREN", "↳"), ("blocks", "BLOCKS", "←"), ("related", "RELATED", "↔"),
                     ("discovered-from", "DISCOVERED", "◊"))


def show_lines(p: Any, issues: list[dict[str, Any]]) -> list[str]:
    """``bd show`` text: a header, a metadata block, then one section per kind of content."""
    lines: list[str] = []
    for n, issue in enumerate(issues):
        if n:
            lines += ["", p.muted("─" * 60)]
        lines += ["", _header(p, issue), *_metadata(p, issue)]
        level = issue.get("compaction_level") or 0
        original = issue.get("original_size") or 0
        if level and original:
            current = sum(len((issue.get(k) or "").encode()) for k in ("description", "design", "notes",
                                                                       "acceptance_criteria"))
            if original > current:
                lines += ["", f"📊 {original} → {current} bytes ({(original - current) * 100 / original:.0f}% reduction)"]
        for key, title in (("description", "DESCRIPTION"), ("design", "DESIGN"), ("notes", "NOTES"),
                           ("acceptance_criteria", "ACCEPTANCE CRITERIA")):
            if issue.get(key):
                lines += ["", p.bold(title), visible(issue[key])]
        if issue.get("labels"):
            lines += ["", f"{p.bold('LABELS:')} {visible(', '.join(issue['labels']))}"]
        if issue.get("dependencies"):
            lines += ["", p.bold("DEPENDS ON"), *(_link(p, "→", d, badge=False) for d in issue["dependencies"])]
        dependents = issue.get("dependents") or []
        known = {t for t, _, _ in _DEPENDENT_GROUPS}
        for dep_type, title, arrow in _DEPENDENT_GROUPS:
            members = [d for d in dependents if d["dependency_type"] == dep_type
                       or (dep_type == "related" and d["dependency_type"] == "relates-to")
                       or (dep_type == "blocks" and d["dependency_type"] not in known | {"relates-to"})]
            if members:
                lines += ["", p.bold(title), *(_link(p, arrow, d, badge=True) for d in members)]
        if issue.get("comments"):
            lines += ["", p.bold("COMMENTS")]
            for c in issue["comments"]:
                lines.append(f"  {p.muted((c.get('created_at') or '')[:10])} {visible(c.get('author') or '')}")
                lines += [f"    {visible(t)}" for t in (c.get("text") or "").split("\n")]
    lines.append("")
    return lines


def _header(p: Any, issue: dict[str, Any]) -> str:
    status = issue.get("status") or "open"
    badge = {"epic": " " + p.paint("[EPIC]", "epic"), "bug": " " + p.paint("[BUG]", "bug")}.get(
        issue.get("issue_type") or "", "")
    tier = {1: " 🗜️", 2: " 📦"}.get(issue.get("compaction_level") or 0, "")
    return (f"{p.status_icon(status)} {p.accent(visible(issue['id']))}{badge} · {visible(issue.get('title', ''))}"
            f"{tier}   [{p.priority(issue.get('priority', 0))} · {p.status_text(status, status.upper())}]")


def _metadata(p: Any, issue: dict[str, Any]) -> list[str]:
    who = []
    if issue.get("created_by"):
        who.append(f"Owner: {visible(issue['created_by'])}")
    if issue.get("assignee"):
        who.append(f"Assignee: {visible(issue['assignee'])}")
    issue_type = issue.get("issue_type") or "task"
    who.append(f"Type: {p.issue_type(visible(issue_type))}")
    when = [f"Created: {(issue.get('created_at') or '')[:10]}", f"Updated: {(issue.get('updated_at') or '')[:10]}"]
    if issue.get("due_at"):
        when.append(f"Due: {issue['due_at'][:10]}")
    if issue.get("defer_until"):
        when.append(f"Deferred: {issue['defer_until'][:10]}")
    lines = [" · ".join(who), " · ".join(when)]
    if issue.get("status") == "closed" and issue.get("close_reason"):
        lines.append(p.muted(f"Close reason: {visible(issue['close_reason'])}"))
    if issue.get("external_ref"):
        lines.append(f"External: {visible(issue['external_ref'])}")
    if issue.get("status") == "tombstone":
        lines.append(p.muted(f"Deleted: {(issue.get('deleted_at') or '')[:10]} by {visible(issue.get('deleted_by') or '')}"))
    return lines


def _link(p: Any, arrow: str, dep: dict[str, Any], *, badge: bool) -> str:
    status = dep.get("status") or "open"
    icon = STATUS_ICONS.get(status, "?")
    dep_id, title = visible(dep["id"]), visible(dep.get("title", ""))
    priority = dep.get("priority", 0)
    if status == "closed":
        return f"  {arrow} {icon} {p.muted(dep_id)}: {p.muted(title)} {p.muted(f'● P{priority}')}"
    kind = ""
    if badge and dep.get("issue_type") in ("epic", "bug"):
        kind = p.paint(f"({dep['issue_type'].upper()})", dep["issue_type"]) + " "
    return f"  {arrow} {icon} {p.status_text(status, dep_id)}: {kind}{title} {p.priority(priority)}"
