"""Readable text output: status glyphs, priority badges, colour only where a person reads it.

The layout follows the original's v0.47 ``--pretty`` / ``--tree`` / ``show --short`` lines
(``○ bd-1 ● P1 [bug] Title``). Colour is decided once per stream: never with ``NO_COLOR``
or ``CLICOLOR=0``, always with ``CLICOLOR_FORCE``, otherwise only on a terminal — so a pipe,
a file or an agent's capture gets plain text with the same glyphs. Through the daemon the
client's terminal counts: the client sets ``BD_STDOUT_TTY=1`` for the command it forwards.

User text is passed through ``visible`` *before* it is painted: the escape sequences added
here are the only ones that reach the terminal. Lines are written with ``write``, which
bypasses ``Context.out``'s sanitiser (it would escape our own colours).
"""

from __future__ import annotations

import os

from beads.cli.render import visible

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, TextIO

    from beads.cli.context import Context

STATUS_ICONS = {"open": "○", "in_progress": "◐", "blocked": "●", "closed": "✓", "deferred": "❄", "pinned": "📌"}
LEGEND = "Status: ○ open  ◐ in_progress  ● blocked  ✓ closed  ❄ deferred"

# 24-bit foregrounds (the original's ayu palette, dark variants)
_RGB = {
    "pass": (194, 217, 76), "warn": (255, 180, 84), "fail": (240, 113, 120), "muted": (108, 118, 128),
    "accent": (89, 194, 255), "in_progress": (255, 180, 84), "closed": (128, 144, 160), "blocked": (242, 109, 120),
    "pinned": (210, 166, 255), "hooked": (89, 194, 255), "p0": (240, 113, 120), "p1": (255, 143, 64),
    "p2": (230, 180, 80), "bug": (242, 109, 120), "epic": (210, 166, 255),
}
_STATUS_STYLE = {"in_progress": "in_progress", "blocked": "blocked", "closed": "closed", "deferred": "muted",
                 "pinned": "pinned", "hooked": "hooked"}


def use_color(stream: TextIO) -> bool:
    """The original's rule (``ui.ShouldUseColor``): NO_COLOR, CLICOLOR=0, CLICOLOR_FORCE, else a tty."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("CLICOLOR") == "0":
        return False
    if os.environ.get("CLICOLOR_FORCE"):
        return True
    if os.environ.get("BD_STDOUT_TTY") == "1":  # run by the daemon for a client writing to a terminal
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Painter:
    """Paints already-sanitised text, or leaves it alone when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def paint(self, text: str, style: str | None, *, bold: bool = False) -> str:
        if not self.color or (style is None and not bold) or not text:
            return text
        codes = ["1"] if bold else []
        if style is not None:
            r, g, b = _RGB[style]
            codes.append(f"38;2;{r};{g};{b}")
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"

    def bold(self, text: str) -> str:
        return self.paint(text, None, bold=True)

    def muted(self, text: str) -> str:
        return self.paint(text, "muted")

    def accent(self, text: str) -> str:
        return self.paint(text, "accent")

    def status_icon(self, status: str) -> str:
        icon = STATUS_ICONS.get(status, "?")
        return icon if status == "open" else self.paint(icon, _STATUS_STYLE.get(status))

    def status_text(self, status: str, text: str) -> str:
        return self.paint(text, _STATUS_STYLE.get(status))

    def priority(self, priority: int) -> str:
        """``● P<n>``: red and bold for P0, orange P1, gold P2, plain P3/P4."""
        label = f"● P{priority}"
        if priority == 0:
            return self.paint(label, "p0", bold=True)
        return self.paint(label, {1: "p1", 2: "p2"}.get(priority))

    def issue_type(self, issue_type: str) -> str:
        return self.paint(issue_type, issue_type if issue_type in ("bug", "epic") else None)

    def pretty_issue(self, issue: dict[str, Any]) -> str:
        """``STATUS_ICON ID ● P<n> [type] Title``; a closed issue's line is muted throughout."""
        status = issue.get("status") or "open"
        issue_id, title = visible(issue["id"]), visible(issue.get("title", ""))
        priority = issue.get("priority", 0)
        issue_type = visible(issue.get("issue_type") or "task")
        if status == "closed":
            return (f"{self.status_icon(status)} {self.muted(issue_id)} {self.muted(f'● P{priority}')} "
                    f"{self.muted(issue_type)}{self.muted(' ' + title)}")
        badge = f"{self.paint(f'[{issue_type}]', issue_type)} " if issue_type in ("bug", "epic") else ""
        return f"{self.status_icon(status)} {issue_id} {self.priority(priority)} {badge}{title}"


def painter(ctx: Context) -> Painter:
    return Painter(use_color(ctx.stdout))


def write(ctx: Context, lines: list[str]) -> None:
    """Write lines whose user text was sanitised when they were built (see the module doc)."""
    if lines:
        ctx.stdout.write("\n".join(lines) + "\n")


def write_all(ctx: Context, lines: Iterable[str], batch: int = 4096) -> None:
    """``write`` for lines made as they are written: a few thousand at a time, never all at once."""
    out: list[str] = []
    for line in lines:
        out.append(line)
        if len(out) >= batch:
            ctx.stdout.write("\n".join(out) + "\n")
            out.clear()
    if out:
        ctx.stdout.write("\n".join(out) + "\n")


def issue_tree(issues: list[dict[str, Any]], edges: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[str]]]:
    """Roots and children for ``--tree``: a child is an issue with a ``parent-child`` edge (or any edge
    to an epic) to another listed issue, else a dotted ID (``bd-1.2``) whose parent is listed.

    Each issue appears once (under its first parent), so the tree has no repeats and no loops.
    """
    by_id = {i["id"]: i for i in issues}
    parent: dict[str, str] = {}
    for edge in edges:
        child, up = edge["issue_id"], edge["depends_on_id"]
        if child in parent or child not in by_id or up not in by_id or child == up:
            continue
        if edge["type"] == "parent-child" or by_id[up].get("issue_type") == "epic":
            parent[child] = up
    for issue in issues:
        iid = issue["id"]
        if iid not in parent and "." in iid and iid.rsplit(".", 1)[0] in by_id:
            parent[iid] = iid.rsplit(".", 1)[0]
    # an issue on a parent loop would never be reached from a root: it becomes a root itself.
    # Each issue is walked once (a 10,000-deep chain is 10,000 steps, not 50 million).
    settled: set[str] = set()  # known to reach a root
    for start in list(parent):
        path: list[str] = []
        on_path: set[str] = set()
        node: str | None = start
        while node is not None and node not in settled and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = parent.get(node)
        if node is not None and node in on_path:  # walked into a loop: the first issue met on it
            del parent[node]  # becomes a root, the rest of the loop hangs below it
        settled.update(path)
    children: dict[str, list[str]] = {}
    for issue in issues:
        up = parent.get(issue["id"])
        if up is not None:
            children.setdefault(up, []).append(issue["id"])
    for kids in children.values():
        kids.sort(key=lambda k: by_id[k].get("priority", 0))  # stable: listing order within a priority
    return [i["id"] for i in issues if i["id"] not in parent], children


PRETTY_KEYS = ("id", "title", "status", "priority", "issue_type")  # what ``pretty_issue`` and the tree read


def pretty_list(p: Painter, issues: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[str]:
    """``bd list --pretty`` / ``--tree`` / ``bd ready --pretty``: the tree, a rule, totals and the legend."""
    if not issues:
        return ["No issues found."]
    by_id = {i["id"]: i for i in issues}
    roots, children = issue_tree(issues, edges)
    lines: list[str] = []

    for root in roots:
        lines.append(p.pretty_issue(by_id[root]))
        # depth-first, iteratively: a 10,000-deep parent chain must not hit the recursion limit
        stack: list[tuple[list[str], int, str]] = [(children.get(root, []), 0, "")]
        while stack:
            kids, n, prefix = stack.pop()
            if n >= len(kids):
                continue
            last = n == len(kids) - 1
            stack.append((kids, n + 1, prefix))
            lines.append(f"{prefix}{'└── ' if last else '├── '}{p.pretty_issue(by_id[kids[n]])}")
            stack.append((children.get(kids[n], []), 0, prefix + ("    " if last else "│   ")))
    opened = sum(1 for i in issues if i.get("status") == "open")
    working = sum(1 for i in issues if i.get("status") == "in_progress")
    lines += ["", "-" * 80, f"Total: {len(issues)} issues ({opened} open, {working} in progress)", "", LEGEND]
    return lines
