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
    """``bd list``'s line in the original's v0.47 layout:
    ``<glyph> [📌 ]<id> [● P<n>] [<type>] @assignee [labels] - <title>`` (glyphs: docs/GRAPH.md)."""
    from beads.cli.style import STATUS_ICONS

    status = issue.get("status") or "open"
    parts = [STATUS_ICONS.get(status, "?"), ("📌 " if issue.get("pinned") else "") + issue["id"],
             f"[● P{issue.get('priority', 0)}]", f"[{issue.get('issue_type') or 'task'}]"]
    if issue.get("assignee"):
        parts.append(f"@{issue['assignee']}")
    if issue.get("labels"):
        parts.append("[" + " ".join(issue["labels"]) + "]")
    return " ".join(parts) + f" - {issue.get('title', '')}"


def search_line(issue: dict[str, Any]) -> str:
    """``bd search``'s line (unchanged in v0.47): ``<id> [P<n>] [<type>] <status> @assignee [labels] - <title>``."""
    parts = [issue["id"], f"[P{issue.get('priority', 0)}]", f"[{issue.get('issue_type') or 'task'}]",
             issue.get("status") or "open"]
    if issue.get("assignee"):
        parts.append(f"@{issue['assignee']}")
    if issue.get("labels"):
        parts.append("[" + " ".join(issue["labels"]) + "]")
    return " ".join(parts) + f" - {issue.get('title', '')}"


AGENT_LIST_LIMIT = 20


def agent_mode() -> bool:
    """Agent mode (``BD_AGENT_MODE=1``, or ``CLAUDE_CODE`` set by Claude Code): compact text for
    agents -- ``bd list`` prints ``ID: Title`` lines and defaults to 20 issues."""
    import os

    return os.environ.get("BD_AGENT_MODE") == "1" or bool(os.environ.get("CLAUDE_CODE"))
