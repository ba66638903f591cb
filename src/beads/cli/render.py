"""Text renderers shared by the commands (JSON output needs none: views are JSON-ready).

``visible`` is the one sanitiser for text output: every line a command writes in text
mode passes through it (``Context.out``/``err``), so a title, label or comment holding
terminal escape sequences cannot recolour, retitle or rewrite the user's terminal. JSON
output is left alone: JSON already escapes C0 controls, and its readers want the data.
"""

from __future__ import annotations

import re  # already imported by argparse: free here

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# C0 controls but tab and newline, DEL, C1 controls, bidirectional overrides/isolates
# ("trojan source"), and lone surrogates (bytes of arguments that were not UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` / ``\\uNNNN`` (tab and newline kept)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def issue_line(issue: dict[str, Any]) -> str:
    """``<id> [P<n>] [<type>] <status> @assignee [labels] - <title>`` (bd list)."""
    parts = [issue["id"], f"[P{issue.get('priority', 0)}]", f"[{issue.get('issue_type') or 'task'}]",
             issue.get("status") or "open"]
    if issue.get("assignee"):
        parts.append(f"@{issue['assignee']}")
    if issue.get("labels"):
        parts.append("[" + " ".join(issue["labels"]) + "]")
    return " ".join(parts) + f" - {issue.get('title', '')}"


def issue_details(issue: dict[str, Any]) -> str:
    """The ``bd show`` text block."""
    lines = [f"{issue['id']}: {issue['title']}"]
    lines.append(f"Status: {issue.get('status', '')}")
    lines.append(f"Priority: P{issue.get('priority', 0)}")
    lines.append(f"Type: {issue.get('issue_type', '')}")
    lines.append(f"Created: {_short_time(issue.get('created_at'))}")
    lines.append(f"Updated: {_short_time(issue.get('updated_at'))}")
    if issue.get("closed_at"):
        lines.append(f"Closed: {_short_time(issue['closed_at'])}")
    if issue.get("close_reason"):
        lines.append(f"Close reason: {issue['close_reason']}")
    if issue.get("assignee"):
        lines.append(f"Assignee: {issue['assignee']}")
    if issue.get("external_ref"):
        lines.append(f"External Ref: {issue['external_ref']}")
    if issue.get("parent"):
        lines.append(f"Parent: {issue['parent']}")
    if issue.get("status") == "tombstone":
        lines.append(f"Deleted: {_short_time(issue.get('deleted_at'))} by {issue.get('deleted_by', '')}")
    for key, title in (("description", "Description"), ("design", "Design"), ("notes", "Notes"),
                       ("acceptance_criteria", "Acceptance Criteria")):
        if issue.get(key):
            lines.append("")
            lines.append(f"{title}:")
            lines.append(issue[key])
    if issue.get("labels"):
        lines.append("")
        lines.append(f"Labels: [{' '.join(issue['labels'])}]")
    deps = [d for d in issue.get("dependencies", []) if d.get("dependency_type") != "parent-child"]
    if deps:
        lines.append("")
        lines.append(f"Depends on ({len(deps)}):")
        for d in deps:
            lines.append(f"  → {d['id']}: {d.get('title', '')} [P{d.get('priority', 0)}] ({d.get('status', '')})"
                         + ("" if d["dependency_type"] == "blocks" else f" [{d['dependency_type']}]"))
    groups = (("parent-child", "Children"), ("blocks", "Blocks"), ("related", "Related"),
              ("relates-to", "Related"), ("discovered-from", "Discovered"))
    dependents = issue.get("dependents", [])
    shown: set[int] = set()
    for dep_type, title in groups:
        members = [(n, d) for n, d in enumerate(dependents) if d["dependency_type"] == dep_type and n not in shown]
        if not members:
            continue
        lines.append("")
        lines.append(f"{title} ({len(members)}):")
        for n, d in members:
            shown.add(n)
            lines.append(f"  ← {d['id']}: {d.get('title', '')} [P{d.get('priority', 0)}] ({d.get('status', '')})")
    rest = [d for n, d in enumerate(dependents) if n not in shown]
    if rest:
        lines.append("")
        lines.append(f"Other dependents ({len(rest)}):")
        for d in rest:
            lines.append(f"  ← {d['id']}: {d.get('title', '')} ({d['dependency_type']})")
    comments = issue.get("comments", [])
    if comments:
        lines.append("")
        lines.append(f"Comments ({len(comments)}):")
        for c in comments:
            lines.append(f"  [{c.get('author', '')}] {_short_time(c.get('created_at'))}")
            for text_line in (c.get("text") or "").splitlines() or [""]:
                lines.append(f"    {text_line}")
    return "\n".join(lines)


def _short_time(value: str | None) -> str:
    if not value:
        return ""
    return value[:16].replace("T", " ")


AGENT_LIST_LIMIT = 20


def agent_mode() -> bool:
    """Agent mode (``BD_AGENT_MODE=1``, or ``CLAUDE_CODE`` set by Claude Code): compact text for
    agents -- ``bd list`` prints ``ID: Title`` lines and defaults to 20 issues."""
    import os

    return os.environ.get("BD_AGENT_MODE") == "1" or bool(os.environ.get("CLAUDE_CODE"))
