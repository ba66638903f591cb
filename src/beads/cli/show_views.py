"""``bd show --short | --refs | --thread``: the original's compact views of issues (v0.47 layout).

Kept apart from ``cmd_issues`` so the plain ``show`` path loads nothing more.
"""

from __future__ import annotations

from beads.cli.render import visible

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
